/** The trigger registry (schema derived from it) and the GitHub push webhook. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import {
  TriggerConfigSchema,
  TriggerListSchema,
  triggers,
} from '../src/server/triggers/registry.js';
import type { WebhookTrigger } from '../src/server/triggers/types.js';
import { verifyHmacSha256 } from '../src/server/triggers/verify.js';
import { expectRegistryMatchesFolders } from './helpers/registry.js';
import { fixture, githubDelivery, openWebhook, testApp } from './helpers/webhooks.js';

const app = testApp;
const SECRET = 'webhook-secret-0123456789';
const SHA = '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c';

const webhook = openWebhook;

describe('trigger registry', () => {
  it('lists exactly the trigger folders, each with the files every back end has', async () => {
    await expectRegistryMatchesFolders(
      triggers,
      new URL('../src/server/triggers/', import.meta.url),
      ['descriptor.ts', 'index.ts', 'schema.ts', 'README.md'],
    );
  });

  it('derives the triggers: schema from the registry, one member per back end', () => {
    const members = TriggerConfigSchema.options.map((o) => o.shape.type.value);
    expect(members).toEqual([...triggers.ids]);
    const examples = triggers.all.map((d) => d.example);
    expect(examples.every((e) => e.startsWith('- type: '))).toBe(true);
  });

  it('validates each entry with its back end options, naming the option', () => {
    const bad = (entry: unknown) => {
      const parsed = TriggerListSchema.safeParse([entry]);
      return parsed.success
        ? 'ok'
        : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad({ type: 'gitlab' })).toMatch(/^0\.type: .*github.*schedule/);
    expect(bad({ type: 'github' })).toMatch(/^0\.secret:/);
    expect(bad({ type: 'github', secret: 's', bogus: 1 })).toMatch(/bogus/);
    expect(bad({ type: 'azure', username: 'u' })).toMatch(/either username and password/);
    expect(
      bad({ type: 'azure', username: 'u', password: 'p', header: 'X-A', headerValue: 'v' }),
    ).toMatch(/either/);
    expect(bad({ type: 'azure', header: 'X-Token', headerValue: 'v' })).toBe('ok');
    expect(bad({ type: 'schedule', cron: '61 * * * *' })).toBe(
      '0.cron: invalid cron expression: Invalid value for minute: 61',
    );
    expect(bad({ type: 'schedule', cron: '0 2 * * *', timezone: 'Mars/Olympus' })).toMatch(
      /^0\.timezone: unknown time zone/,
    );
    expect(bad({ type: 'schedule', cron: '0 2 * * *', timezone: 'Europe/Berlin' })).toBe('ok');
    expect(bad({ type: 'poll', intervalSeconds: 0 })).toMatch(/^0\.intervalSeconds/);
    expect(TriggerListSchema.parse([{ type: 'poll' }, { type: 'model-watch' }])).toEqual([
      { type: 'poll', intervalSeconds: 60, tags: false },
      { type: 'model-watch', intervalSeconds: 30 },
    ]);
  });

  it('allows one trigger of each type, and several schedules with distinct ids', () => {
    const issues = (list: unknown[]) => {
      const parsed = TriggerListSchema.safeParse(list);
      return parsed.success
        ? []
        : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues([{ type: 'poll' }, { type: 'poll' }])).toEqual([
      '1.type: a second poll trigger: one of each type per app',
    ]);
    expect(
      issues([
        { type: 'schedule', cron: '0 2 * * *' },
        { type: 'schedule', cron: '0 3 * * 1', action: 'run' },
      ]),
    ).toEqual([]);
    expect(
      issues([
        { type: 'schedule', cron: '0 2 * * *', id: 'nightly' },
        { type: 'schedule', cron: '0 3 * * *', id: 'nightly' },
      ]),
    ).toEqual(['1.id: a second schedule with id nightly: give each schedule its own id']);
  });

  it('declares the secret options, and refuses an unknown type naming the valid ones', () => {
    expect(triggers.get('github').secretOptions).toEqual(['secret']);
    expect(triggers.get('azure').secretOptions).toEqual(['password', 'headerValue']);
    expect(() => triggers.get('gitlab', 'apps.digits.triggers[0].type')).toThrow(ConfigError);
    expect(() => triggers.get('gitlab')).toThrow(
      'expected one of github, azure, generic, poll, model-watch, schedule',
    );
  });
});

describe('github trigger', () => {
  it("verifies GitHub's documented example signature", () => {
    const body = Buffer.from('Hello, World!');
    const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(verifyHmacSha256("It's a Secret to Everybody", body, documented)).toBe(true);
    expect(
      verifyHmacSha256("It's a Secret to Everybody", Buffer.from('Hello, World?'), documented),
    ).toBe(false);
    expect(verifyHmacSha256("It's a secret to everybody", body, documented)).toBe(false);
    expect(verifyHmacSha256("It's a Secret to Everybody", body, documented.slice(0, -2))).toBe(
      false,
    );
    expect(
      verifyHmacSha256("It's a Secret to Everybody", body, documented.replace('sha256=', 'sha1=')),
    ).toBe(false);
    expect(verifyHmacSha256("It's a Secret to Everybody", body, undefined)).toBe(false);
  });

  it('queues a run of the pushed commit with the delivery id and the pusher', async () => {
    const trigger = await webhook({ type: 'github', secret: SECRET, tags: false });
    const verdict = trigger.receive(githubDelivery(SECRET, fixture('github-push.json')));
    expect(verdict).toEqual({
      result: 'accepted',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      requests: [
        {
          kind: 'run',
          cause: {
            trigger: 'commit',
            source: 'github',
            deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
            pusher: 'octocat',
          },
          branch: 'main',
          commit: SHA,
        },
      ],
    });
    expect(JSON.stringify(verdict)).not.toContain('octocat@github.com');
  });

  it('answers ping, ignores other events, and checks the signature before anything', async () => {
    const trigger = await webhook({ type: 'github', secret: SECRET, tags: false });
    expect(trigger.receive(githubDelivery(SECRET, { zen: 'Keep it simple.' }, 'ping'))).toEqual({
      result: 'pong',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    });
    expect(trigger.receive(githubDelivery(SECRET, { action: 'opened' }, 'issues'))).toMatchObject({
      result: 'ignored',
      reason: 'event issues starts nothing',
    });
    // A malformed body with a wrong signature is 401, not 400: nothing is parsed unsigned.
    const forged = githubDelivery('not-the-secret', '{not json');
    expect(trigger.receive(forged)).toEqual({
      result: 'rejected',
      status: 401,
      reason: 'missing or wrong X-Hub-Signature-256',
    });
    const unsigned = githubDelivery(SECRET, fixture('github-push.json'));
    delete (unsigned.headers as Record<string, string | undefined>)['x-hub-signature-256'];
    expect(trigger.receive(unsigned)).toMatchObject({ result: 'rejected', status: 401 });
    expect(trigger.receive(githubDelivery(SECRET, '{not json'))).toMatchObject({
      result: 'rejected',
      status: 400,
    });
    expect(
      trigger.receive(githubDelivery(SECRET, { ref: 'refs/heads/main', after: 'xyz' })),
    ).toEqual({
      result: 'rejected',
      status: 400,
      reason: expect.stringMatching(/^malformed push payload: after: /) as unknown,
    });
  });

  it('filters branches with globs and ignores deletions, tags unless configured, other refs', async () => {
    const push = (ref: string, extra: object = {}) => ({
      ...(JSON.parse(fixture('github-push.json')) as object),
      ref,
      ...extra,
    });
    const plain = await webhook(
      { type: 'github', secret: SECRET, tags: false },
      { ...app, branches: ['main', 'release/*'] },
    );
    const verdict = (t: WebhookTrigger, payload: unknown) =>
      t.receive(githubDelivery(SECRET, payload));
    expect(verdict(plain, push('refs/heads/release/1.2'))).toMatchObject({
      result: 'accepted',
      requests: [{ branch: 'release/1.2' }],
    });
    expect(verdict(plain, push('refs/heads/release/1.2/hotfix'))).toMatchObject({
      result: 'ignored',
    });
    expect(verdict(plain, push('refs/heads/feature'))).toMatchObject({
      result: 'ignored',
      reason: 'branch feature is not built (branches: main, release/*)',
    });
    expect(
      verdict(plain, push('refs/heads/main', { deleted: true, after: '0'.repeat(40) })),
    ).toMatchObject({
      result: 'ignored',
      reason: 'refs/heads/main was deleted',
    });
    expect(verdict(plain, push('refs/tags/v1.0.0'))).toMatchObject({
      result: 'ignored',
      reason: 'tag v1.0.0 (tags are off)',
    });
    expect(verdict(plain, push('refs/pull/1/head'))).toMatchObject({ result: 'ignored' });

    const tagged = await webhook({
      type: 'github',
      secret: SECRET,
      tags: true,
      branches: ['feature/**'],
    });
    expect(verdict(tagged, push('refs/tags/v1.0.0'))).toMatchObject({
      result: 'accepted',
      requests: [{ branch: undefined, commit: SHA, cause: { detail: 'tag v1.0.0' } }],
    });
    expect(verdict(tagged, push('refs/heads/feature/a/b'))).toMatchObject({ result: 'accepted' });
    expect(verdict(tagged, push('refs/heads/main'))).toMatchObject({ result: 'ignored' });
    expect(
      verdict(tagged, push('refs/tags/v1.0.0', { deleted: true, after: '0'.repeat(40) })),
    ).toMatchObject({ result: 'ignored' });
  });

  it('reads the form-encoded payload GitHub sends with content type x-www-form-urlencoded', async () => {
    const trigger = await webhook({ type: 'github', secret: SECRET, tags: false });
    const body = Buffer.from(`payload=${encodeURIComponent(fixture('github-push.json'))}`);
    const delivery = {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-github-delivery': 'form-1',
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      body,
    };
    expect(trigger.receive(delivery)).toMatchObject({
      result: 'accepted',
      requests: [{ commit: SHA }],
    });
  });

  it('requires a delivery id for a push (the idempotency key)', async () => {
    const trigger = await webhook({ type: 'github', secret: SECRET, tags: false });
    const delivery = githubDelivery(SECRET, fixture('github-push.json'), 'push', '');
    expect(trigger.receive(delivery)).toEqual({
      result: 'rejected',
      status: 400,
      reason: 'missing X-GitHub-Delivery',
    });
  });
});
