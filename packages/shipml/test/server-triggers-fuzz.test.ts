/**
 * Fuzzes every webhook trigger's `receive` (fast-check): generated deliveries and mutations
 * of valid signed ones. It never throws, answers only the documented verdicts, rejects
 * anything whose signature does not match with 401, and never echoes the secret.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  openTrigger,
  TriggerConfigSchema,
  type TriggerConfig,
} from '../src/server/triggers/registry.js';
import {
  isWebhook,
  type WebhookDelivery,
  type WebhookTrigger,
  type WebhookVerdict,
} from '../src/server/triggers/types.js';
import { signHmacSha256 } from '../src/server/triggers/verify.js';
import { azureDelivery, fixture, genericDelivery, githubDelivery } from './helpers/webhooks.js';

const SECRET = 'fuzz-secret-d41d8cd98f00b204';
const PASSWORD = 'fuzz-password-9e107d9d372bb682';
const RUNS = 10_000;
const LIMIT_MS = 60_000;
const app = {
  name: 'digits',
  repository: '/srv/digits.git',
  branches: ['main', 'master', 'release/*'],
};

async function open(config: TriggerConfig): Promise<WebhookTrigger> {
  const t = await openTrigger(TriggerConfigSchema.parse(config), app);
  if (!isWebhook(t)) throw new Error('not a webhook');
  return t;
}

/** The documented verdict shapes, and nothing secret in them. */
function expectDocumented(verdict: WebhookVerdict): void {
  const text = JSON.stringify(verdict);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(PASSWORD);
  switch (verdict.result) {
    case 'rejected':
      expect([400, 401]).toContain(verdict.status);
      expect(typeof verdict.reason).toBe('string');
      expect(verdict.reason.length).toBeLessThan(600);
      break;
    case 'pong':
    case 'ignored':
      expect(['string', 'undefined']).toContain(typeof verdict.deliveryId);
      break;
    case 'accepted':
      expect(verdict.deliveryId.length).toBeGreaterThan(0);
      expect(verdict.requests.length).toBeGreaterThan(0);
      for (const r of verdict.requests) {
        expect(r.kind).toBe('run');
        expect(r.commit).toMatch(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/);
      }
      break;
    default:
      throw new Error(`undocumented verdict ${text}`);
  }
}

const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constant(undefined));
/** Each header: usually its valid value (first), sometimes another realistic one, sometimes noise. */
const REALISTIC: Record<string, string[]> = {
  'x-github-event': ['push', 'ping', 'issues'],
  'x-github-delivery': ['72d3162e-cc78-11e3-81ab-4c9367dc0958', ''],
  'x-shipml-delivery': ['d-1', ' ', 'x'.repeat(201)],
  'content-type': ['application/json', 'application/x-www-form-urlencoded'],
};
const headers = (names: string[]) =>
  fc.record(
    Object.fromEntries(
      names.map((n) => {
        const [good, ...others] = REALISTIC[n] ?? [];
        if (good === undefined) return [n, headerValue];
        return [
          n,
          fc.oneof(
            { weight: 6, arbitrary: fc.constant(good) },
            { weight: 2, arbitrary: fc.constantFrom(...others) },
            { weight: 1, arbitrary: headerValue },
          ),
        ];
      }),
    ),
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string | undefined>>;
const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
const ref = fc.oneof(
  { weight: 3, arbitrary: fc.constant('refs/heads/main') },
  fc.constantFrom(
    'refs/heads/main',
    'refs/heads/release/1',
    'refs/heads/dev',
    'refs/tags/v1',
    'refs/pull/1/head',
  ),
  fc.string({ maxLength: 40 }),
);
/** Bodies shaped like a sender's (with `only`, just those keys), so signed ones reach every branch of the code. */
const shaped = (only?: string[]) =>
  fc
    .record({
      ref,
      branch: fc.oneof(fc.constantFrom('main', 'dev', 'release/2'), fc.string({ maxLength: 20 })),
      after: fc.oneof(hex40, fc.constant('0'.repeat(40)), fc.string({ maxLength: 41 })),
      commit: fc.oneof(hex40, fc.constant('0'.repeat(40)), fc.string({ maxLength: 41 })),
      deleted: fc.boolean(),
      model: fc.oneof(
        fc.constantFrom('digits@1', 'digits', '@1', 'Bad@1'),
        fc.string({ maxLength: 20 }),
      ),
      pusher: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.record({ name: fc.string({ maxLength: 20 }) }),
      ),
      id: fc.oneof(fc.uuid(), fc.string({ maxLength: 10 })),
      eventType: fc.constantFrom('git.push', 'git.pullrequest.created', ''),
      resource: fc.record(
        {
          refUpdates: fc.array(
            fc.record({ name: ref, newObjectId: fc.oneof(hex40, fc.constant('0'.repeat(40))) }),
            { maxLength: 4 },
          ),
          pushedBy: fc.record(
            { displayName: fc.string({ maxLength: 20 }), uniqueName: fc.string({ maxLength: 20 }) },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
    })
    // Each key present three times in four: bodies near the valid ones, and every subset.
    .chain((o) =>
      fc
        .array(fc.nat(3), { minLength: 12, maxLength: 12 })
        .map((keep) =>
          Object.fromEntries(
            Object.entries(o).filter(([k], i) => keep[i] !== 0 && (!only || only.includes(k))),
          ),
        ),
    )
    .map((o) => Buffer.from(JSON.stringify(o)));
const bodyOf = (only?: string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: shaped(only) },
    fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
    fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)),
    fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
  );

/** Mutations of a valid delivery: a body byte, a signature character, a header dropped or changed. */
function mutated(
  valid: WebhookDelivery,
): fc.Arbitrary<{ delivery: WebhookDelivery; signatureBroken: boolean }> {
  const names = Object.keys(valid.headers);
  return fc.oneof(
    fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }).map(({ at, xor }) => {
      const b = Buffer.from(valid.body);
      if (b.length > 0) b[at % b.length] = b[at % b.length]! ^ xor;
      return { delivery: { headers: valid.headers, body: b }, signatureBroken: b.length > 0 };
    }),
    fc.record({ name: fc.constantFrom(...names), value: headerValue }).map(({ name, value }) => ({
      delivery: { headers: { ...valid.headers, [name]: value }, body: valid.body },
      signatureBroken: false,
    })),
    fc.record({ cut: fc.nat() }).map(({ cut }) => ({
      delivery: {
        headers: valid.headers,
        body: valid.body.subarray(0, cut % (valid.body.length + 1)),
      },
      signatureBroken: cut % (valid.body.length + 1) !== valid.body.length,
    })),
  );
}

const cases: Array<{
  name: string;
  config: TriggerConfig;
  headerNames: string[];
  valid: () => WebhookDelivery;
  credentialHeaders: string[];
  body: fc.Arbitrary<Buffer>;
}> = [
  {
    name: 'github',
    config: { type: 'github', secret: SECRET, tags: true },
    headerNames: ['x-hub-signature-256', 'x-github-event', 'x-github-delivery', 'content-type'],
    valid: () => githubDelivery(SECRET, fixture('github-push.json')),
    credentialHeaders: ['x-hub-signature-256'],
    body: bodyOf(),
  },
  {
    name: 'azure',
    config: { type: 'azure', username: 'shipml', password: PASSWORD, tags: true },
    headerNames: ['authorization', 'content-type'],
    valid: () => azureDelivery('shipml', PASSWORD, fixture('azure-git-push.json')),
    credentialHeaders: ['authorization'],
    body: bodyOf(),
  },
  {
    name: 'generic',
    config: { type: 'generic', secret: SECRET, tags: true },
    headerNames: ['x-shipml-signature', 'x-shipml-delivery'],
    valid: () =>
      genericDelivery(SECRET, { branch: 'main', commit: 'a'.repeat(40), model: 'digits@1' }),
    credentialHeaders: ['x-shipml-signature'],
    body: bodyOf(['ref', 'branch', 'commit', 'model', 'pusher']),
  },
];

describe.each(cases)(
  'fuzzing the $name webhook',
  ({ config, headerNames, valid, credentialHeaders, body }) => {
    it(`survives ${RUNS} generated deliveries with only documented verdicts`, async () => {
      const trigger = await open(config);
      const started = Date.now();
      fc.assert(
        fc.property(headers(headerNames), body, (h, b) => {
          const verdict = trigger.receive({ headers: h, body: b });
          expectDocumented(verdict);
          // Random bytes never carry a valid signature or the credentials.
          expect(verdict.result).toBe('rejected');
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: true },
      );
      expect(Date.now() - started).toBeLessThan(LIMIT_MS);
    });

    it(`survives ${RUNS} correctly signed deliveries of generated bodies`, async () => {
      const trigger = await open(config);
      const seen = new Map<string, number>();
      fc.assert(
        fc.property(headers(headerNames), body, (h, b) => {
          const verdict = trigger.receive(sign(config, h, b));
          expectDocumented(verdict);
          const key = verdict.result === 'rejected' ? `rejected ${verdict.status}` : verdict.result;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: true },
      );
      // The generated bodies reach past the signature check into every outcome.
      expect([...seen.keys()]).toEqual(
        expect.arrayContaining(['accepted', 'ignored', 'rejected 400']),
      );
      expect(seen.get('rejected 401')).toBeUndefined();
    });

    it(`rejects mutated valid deliveries: ${RUNS} mutations`, async () => {
      const trigger = await open(config);
      const delivery = valid();
      expect(trigger.receive(delivery).result).toBe('accepted');
      fc.assert(
        fc.property(mutated(delivery), ({ delivery: d, signatureBroken }) => {
          const verdict = trigger.receive(d);
          expectDocumented(verdict);
          const credentialsTouched = credentialHeaders.some(
            (n) => d.headers[n] !== delivery.headers[n],
          );
          // Azure's credentials do not cover the body; the signed hooks' do.
          if ((signatureBroken && config.type !== 'azure') || credentialsTouched)
            expect(verdict).toMatchObject({ result: 'rejected', status: 401 });
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: true },
      );
    });
  },
);

/** The same headers with valid credentials for `b`. */
function sign(
  config: TriggerConfig,
  h: Record<string, string | undefined>,
  b: Buffer,
): WebhookDelivery {
  if (config.type === 'github')
    return { headers: { ...h, 'x-hub-signature-256': signHmacSha256(SECRET, b) }, body: b };
  if (config.type === 'generic')
    return { headers: { ...h, 'x-shipml-signature': signHmacSha256(SECRET, b) }, body: b };
  return {
    headers: { ...h, authorization: azureDelivery('shipml', PASSWORD, '').headers.authorization },
    body: b,
  };
}
