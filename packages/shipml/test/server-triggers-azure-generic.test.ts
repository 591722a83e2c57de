/** The Azure DevOps and generic webhook triggers, through the registry. */
import { describe, expect, it } from 'vitest';
import {
  azureDelivery,
  fixture,
  genericDelivery,
  openWebhook,
  testApp,
} from './helpers/webhooks.js';

const app = testApp;
const webhook = openWebhook;
const SECRET = 'webhook-secret-0123456789';
const SHA = '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c';

describe('azure trigger', () => {
  interface Sample {
    eventType: string;
    resource: {
      refUpdates: Array<{ name: string; oldObjectId: string; newObjectId: string }>;
      pushedBy?: { displayName?: string; uniqueName?: string };
    };
  }
  const sample = () => JSON.parse(fixture('azure-git-push.json')) as Sample;
  const opts = {
    type: 'azure',
    username: 'shipml',
    password: 'hook-password-42',
    tags: false,
  } as const;

  it("queues a run per updated branch from Azure DevOps' documented git.push sample", async () => {
    const trigger = await webhook(opts, { ...app, branches: ['master'] });
    const verdict = trigger.receive(azureDelivery('shipml', 'hook-password-42', sample()));
    expect(verdict).toEqual({
      result: 'accepted',
      deliveryId: '03c164c2-8912-4d5e-8009-3707d5f83734',
      requests: [
        {
          kind: 'run',
          cause: {
            trigger: 'commit',
            source: 'azure',
            deliveryId: '03c164c2-8912-4d5e-8009-3707d5f83734',
            pusher: 'Jamal Hartnett',
          },
          branch: 'master',
          commit: '33b55f7cb7e7e245323987634f960cf4a6e6bc74',
        },
      ],
    });
  });

  it('rejects wrong, missing and malformed credentials with 401 before reading the body', async () => {
    const trigger = await webhook(opts, { ...app, branches: ['master'] });
    for (const authorization of [
      undefined,
      'Basic ' + Buffer.from('shipml:wrong').toString('base64'),
      'Basic ' + Buffer.from('other:hook-password-42').toString('base64'),
      'Bearer hook-password-42',
      'Basic !!!',
    ]) {
      const verdict = trigger.receive({
        headers: { authorization },
        body: Buffer.from('{garbage'),
      });
      expect(verdict).toEqual({
        result: 'rejected',
        status: 401,
        reason: 'missing or wrong credentials',
      });
    }
  });

  it('checks a custom header instead, case-insensitively by name', async () => {
    const trigger = await webhook(
      { type: 'azure', header: 'X-Shipml-Token', headerValue: 'tok-123456', tags: false },
      { ...app, branches: ['master'] },
    );
    const body = Buffer.from(fixture('azure-git-push.json'));
    expect(trigger.receive({ headers: { 'x-shipml-token': 'tok-123456' }, body })).toMatchObject({
      result: 'accepted',
    });
    expect(trigger.receive({ headers: { 'x-shipml-token': 'tok-1234567' }, body })).toMatchObject({
      status: 401,
    });
    expect(trigger.receive({ headers: {}, body })).toMatchObject({ status: 401 });
  });

  it('ignores deletions, unbuilt branches, tags and other events; several ref updates make several runs', async () => {
    const trigger = await webhook(opts, { ...app, branches: ['master', 'dev'] });
    const send = (payload: unknown) =>
      trigger.receive(azureDelivery('shipml', 'hook-password-42', payload));
    const event = sample();
    event.resource.refUpdates = [
      { name: 'refs/heads/master', oldObjectId: 'a'.repeat(40), newObjectId: '0'.repeat(40) },
      { name: 'refs/heads/dev', oldObjectId: 'a'.repeat(40), newObjectId: 'b'.repeat(40) },
      { name: 'refs/heads/other', oldObjectId: 'a'.repeat(40), newObjectId: 'c'.repeat(40) },
      { name: 'refs/tags/v2', oldObjectId: '0'.repeat(40), newObjectId: 'd'.repeat(40) },
    ];
    expect(send(event)).toMatchObject({
      result: 'accepted',
      requests: [{ branch: 'dev', commit: 'b'.repeat(40) }],
    });
    event.resource.refUpdates = event.resource.refUpdates.slice(0, 1);
    expect(send(event)).toEqual({
      result: 'ignored',
      deliveryId: '03c164c2-8912-4d5e-8009-3707d5f83734',
      reason: 'refs/heads/master deleted',
    });
    expect(send({ ...sample(), eventType: 'git.pullrequest.created' })).toMatchObject({
      result: 'ignored',
    });
    expect(send({ ...sample(), resource: { refUpdates: 'no' } })).toMatchObject({
      result: 'rejected',
      status: 400,
    });
    expect(send('[1,2')).toMatchObject({ result: 'rejected', status: 400 });
    const noName = sample();
    noName.resource.pushedBy = { uniqueName: 'Windows Live ID\\jamal@example.com' };
    expect(send(noName)).toMatchObject({ requests: [{ cause: { pusher: 'jamal' } }] });
  });
});

describe('generic trigger', () => {
  const opts = { type: 'generic', secret: SECRET, tags: false } as const;

  it('queues the commit of a signed hook, with the model it names', async () => {
    const trigger = await webhook(opts);
    const verdict = trigger.receive(
      genericDelivery(
        SECRET,
        { branch: 'main', commit: SHA.toUpperCase(), model: 'digits@1.2.0', pusher: 'ci' },
        'build-77',
      ),
    );
    expect(verdict).toEqual({
      result: 'accepted',
      deliveryId: 'build-77',
      requests: [
        {
          kind: 'run',
          cause: { trigger: 'commit', source: 'generic', deliveryId: 'build-77', pusher: 'ci' },
          branch: 'main',
          commit: SHA,
          modelRef: 'digits@1.2.0',
        },
      ],
    });
    expect(
      trigger.receive(genericDelivery(SECRET, { ref: 'refs/heads/main', commit: SHA })),
    ).toMatchObject({ result: 'accepted' });
  });

  it('rejects bad signatures (401), missing delivery ids and malformed bodies (400)', async () => {
    const trigger = await webhook(opts);
    const good = genericDelivery(SECRET, { branch: 'main', commit: SHA });
    expect(
      trigger.receive({ ...good, body: Buffer.concat([good.body, Buffer.from(' ')]) }),
    ).toMatchObject({ status: 401 });
    expect(
      trigger.receive({
        headers: { ...good.headers, 'x-shipml-delivery': undefined },
        body: good.body,
      }),
    ).toMatchObject({ status: 400 });
    for (const body of [
      { branch: 'main' },
      { branch: 'main', ref: 'refs/heads/main', commit: SHA },
      { branch: 'main', commit: SHA, model: 'digits' },
      { branch: 'main', commit: SHA, extra: true },
      [],
    ])
      expect(trigger.receive(genericDelivery(SECRET, body)), JSON.stringify(body)).toMatchObject({
        result: 'rejected',
        status: 400,
      });
    expect(trigger.receive(genericDelivery(SECRET, { branch: 'dev', commit: SHA }))).toMatchObject({
      result: 'ignored',
    });
    expect(
      trigger.receive(genericDelivery(SECRET, { ref: 'refs/tags/v1', commit: SHA })),
    ).toMatchObject({ result: 'ignored' });
  });
});

describe('generic trigger README', () => {
  it("signs like the README's openssl line, so scripts can call it", async () => {
    const { execFileSync } = await import('node:child_process');
    const body = JSON.stringify({ branch: 'main', commit: SHA, pusher: 'script' });
    const sig = execFileSync(
      'sh',
      [
        '-c',
        `printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SHIPML_HOOK_SECRET" | sed 's/^.*= //'`,
      ],
      { env: { ...process.env, BODY: body, SHIPML_HOOK_SECRET: SECRET } },
    )
      .toString()
      .trim();
    const trigger = await webhook({ type: 'generic', secret: SECRET, tags: false });
    const verdict = trigger.receive({
      headers: { 'x-shipml-signature': `sha256=${sig}`, 'x-shipml-delivery': 'script-1' },
      body: Buffer.from(body),
    });
    expect(verdict).toMatchObject({
      result: 'accepted',
      requests: [{ commit: SHA, cause: { pusher: 'script' } }],
    });
  });
});
