/**
 * Fuzzes the service's HTTP face through fastify's inject (the real router, body parser,
 * error handler, store and triggers; no sockets, so 10,000 inputs fit in seconds): every
 * webhook endpoint (POST /hooks/APP/github|azure|generic) and every route of the API's route
 * table, with generated params, queries, bodies, headers and tokens. No input crashes the
 * server or gets a 5xx; every answer ≥ 400 is JSON with an error code; no answer quotes a
 * secret.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redactor } from '../src/core/redact.js';
import { apiRoutes, httpServer } from '../src/server/api/http.js';
import { createToken } from '../src/server/api/tokens.js';
import { parseServerConfig } from '../src/server/config/load.js';
import { Service } from '../src/server/service.js';
import { signHmacSha256 } from '../src/server/triggers/verify.js';
import { testRepo, tinyApp, type TestRepo } from './helpers/server.js';

const RUNS = 10_000;
const SECRETS = {
  GITHUB: 'fuzz-gh-secret-2b7e151628aed2a6',
  GENERIC: 'fuzz-generic-secret-abf71588',
  AZURE: 'fuzz-azure-password-09cf4f3c',
  APP: 'fuzz-app-secret-762e7160f38b',
};

let root: string;
let repo: TestRepo;
let service: Service;
let http: FastifyInstance;
let admin: string;
let reader: string;
let commit: string;
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-fuzz-http-'));
  repo = await testRepo(join(root, 'repo'), tinyApp());
  commit = await repo.commit({ 'x.txt': 'x\n' });
  const env = {
    ...process.env,
    GH: SECRETS.GITHUB,
    GEN: SECRETS.GENERIC,
    AZ: SECRETS.AZURE,
    APP_SECRET: SECRETS.APP,
  };
  const file = join(root, 'shipml-server.yaml');
  const loaded = parseServerConfig(
    `
dataDir: ${root}/data
apps:
  - name: tiny
    repository: ${repo.bare}
    release: manual
    secrets: { APP_TOKEN: "\${APP_SECRET}" }
    triggers:
      - { type: github, secret: "\${GH}" }
      - { type: generic, secret: "\${GEN}" }
      - { type: azure, username: hook, password: "\${AZ}" }
`,
    file,
    env,
  );
  // No worker: accepted deliveries queue runs and stay queued (the fuzz tests the front).
  service = await Service.open({
    loaded,
    env,
    redactor: new Redactor(),
    log: (line) => logs.push(line),
    worker: false,
    watches: false,
  });
  http = await httpServer(service, '0.0.0-fuzz');
  await http.ready();
  admin = (await createToken(service.store, { scope: 'admin', name: 'fuzz-admin' })).token;
  reader = (await createToken(service.store, { scope: 'read', name: 'fuzz-read' })).token;
}, 60_000);

afterAll(async () => {
  await http?.close();
  await service?.stop();
  await rm(root, { recursive: true, force: true });
});

type Answer = { statusCode: number; headers: Record<string, unknown>; body: string };

/** What every answer must be, whatever was sent. */
function expectProper(res: Answer, what: string): void {
  if (res.statusCode >= 500) throw new Error(`${what} → ${res.statusCode}: ${res.body}`);
  for (const secret of [...Object.values(SECRETS), admin, reader])
    if (res.body.includes(secret)) throw new Error(`${what}: the answer quotes a secret`);
  if (res.statusCode < 400) return;
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
  if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string')
    throw new Error(`${what} → ${res.statusCode} without an error code: ${res.body}`);
}

const noise = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '%00', '%ZZ', '{}', 'null', '-1', '1e309'),
);
const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
const ref = fc.oneof(
  fc.constantFrom('refs/heads/main', 'refs/heads/other', 'refs/tags/v1', 'refs/pull/1/head'),
  noise,
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

/**
 * A GitHub push: a well-formed one of a watched branch (so 202 is common enough that 10,000
 * runs always reach it), or one whose fields are each sometimes missing or noise.
 */
const githubPayload = fc.oneof(
  fc.record({
    ref: fc.constant('refs/heads/main'),
    before: hex40,
    after: fc.constant('@COMMIT@'),
    deleted: fc.constant(false),
    pusher: fc.record({ name: noise }),
  }),
  fc.record(
    {
      ref,
      before: fc.oneof(hex40, fc.constant('0'.repeat(40)), noise),
      after: fc.oneof(fc.constant('@COMMIT@'), hex40, fc.constant('0'.repeat(40)), noise, anyJson),
      deleted: fc.oneof(fc.boolean(), anyJson),
      pusher: fc.oneof(fc.record({ name: noise }), anyJson),
      zen: noise,
    },
    { requiredKeys: [] },
  ),
);
const genericPayload = fc.oneof(
  fc.record({
    ref: fc.constant('refs/heads/main'),
    commit: fc.constant('@COMMIT@'),
    pusher: noise,
  }),
  fc.record({ branch: fc.constantFrom('main', 'other'), commit: hex40 }),
  fc.record(
    {
      ref,
      branch: fc.oneof(fc.constant('main'), noise),
      commit: fc.oneof(fc.constant('@COMMIT@'), hex40, noise, anyJson),
      model: fc.oneof(fc.constant('digits@1.0.0'), noise),
      pusher: noise,
      extra: anyJson,
    },
    { requiredKeys: [] },
  ),
);
const azurePush = fc.record({
  id: fc.uuid(),
  eventType: fc.constant('git.push'),
  resource: fc.record({
    refUpdates: fc.array(
      fc.record({
        name: fc.constantFrom('refs/heads/main', 'refs/heads/other', 'refs/tags/v1'),
        oldObjectId: hex40,
        newObjectId: fc.oneof(fc.constant('@COMMIT@'), fc.constant('0'.repeat(40))),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    pushedBy: fc.record({ displayName: noise }),
  }),
});
const azureAny = fc.record(
  {
    id: fc.oneof(fc.uuid(), noise),
    eventType: fc.oneof(fc.constantFrom('git.push', 'git.pullrequest.created'), noise),
    resource: fc.oneof(
      fc.record(
        {
          refUpdates: fc.oneof(
            fc.array(
              fc.record(
                {
                  name: ref,
                  oldObjectId: fc.oneof(hex40, noise),
                  newObjectId: fc.oneof(hex40, fc.constant('@COMMIT@'), noise),
                },
                { requiredKeys: [] },
              ),
              { maxLength: 4 },
            ),
            anyJson,
          ),
          pushedBy: fc.oneof(fc.record({ displayName: noise, uniqueName: noise }), anyJson),
        },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
  },
  { requiredKeys: [] },
);
const azurePayload = fc.oneof(azurePush, azureAny);

/** Body bytes: a payload as JSON, other JSON, truncated JSON, or raw bytes. */
const body = (payload: fc.Arbitrary<unknown>) =>
  fc
    .oneof(
      { weight: 4, arbitrary: payload.map((p) => JSON.stringify(p)) },
      { weight: 1, arbitrary: anyJson.map((j) => JSON.stringify(j)) },
      {
        weight: 1,
        arbitrary: payload.chain((p) => {
          const s = JSON.stringify(p);
          return fc.nat(s.length).map((n) => s.slice(0, n));
        }),
      },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      },
    )
    .map((s) => s.replaceAll('"@COMMIT@"', JSON.stringify(commit)));

const header = (good: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: good },
    { weight: 1, arbitrary: noise },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

type Sign = (raw: string) => Record<string, string | undefined>;

interface HookCase {
  type: 'github' | 'generic' | 'azure';
  payload: fc.Arbitrary<unknown>;
  headers: fc.Arbitrary<Sign>;
}

const signature = (secret: string) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constant((raw: string) => signHmacSha256(secret, Buffer.from(raw, 'latin1'))),
    },
    {
      weight: 1,
      arbitrary: fc.constant((raw: string) => signHmacSha256('wrong', Buffer.from(raw, 'latin1'))),
    },
    { weight: 1, arbitrary: noise.map((n) => () => n) },
    { weight: 1, arbitrary: fc.constant(() => undefined) },
  );

const HOOKS: HookCase[] = [
  {
    type: 'github',
    payload: githubPayload,
    headers: fc
      .tuple(
        signature(SECRETS.GITHUB),
        header(fc.constantFrom('push', 'ping', 'issues')),
        header(fc.uuid()),
        header(fc.constant('application/json')),
      )
      .map(([sign, event, id, type]) => (raw: string) => ({
        'x-hub-signature-256': sign(raw),
        'x-github-event': event,
        'x-github-delivery': id,
        'content-type': type,
      })),
  },
  {
    type: 'generic',
    payload: genericPayload,
    headers: fc
      .tuple(signature(SECRETS.GENERIC), header(fc.uuid()), header(fc.constant('application/json')))
      .map(([sign, id, type]) => (raw: string) => ({
        'x-shipml-signature': sign(raw),
        'x-shipml-delivery': id,
        'content-type': type,
      })),
  },
  {
    type: 'azure',
    payload: azurePayload,
    headers: fc
      .tuple(
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.constant(
              `Basic ${Buffer.from(`hook:${SECRETS.AZURE}`).toString('base64')}`,
            ),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(noise, noise)
              .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
          },
          { weight: 1, arbitrary: noise },
        ),
        header(fc.constant('application/json; charset=utf-8')),
      )
      .map(([auth, type]) => () => ({ authorization: auth, 'content-type': type })),
  },
];

/** Header values an HTTP client could send (inject rejects others before the server sees them). */
function sendable(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(v)) out[k] = v;
  return out;
}

describe('fuzzing the webhook endpoints over the HTTP stack', () => {
  for (const hook of HOOKS)
    it(`POST /hooks/APP/${hook.type}: ${RUNS} generated deliveries, no 5xx, errors as JSON`, async () => {
      const started = Date.now();
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 8, arbitrary: fc.constant('tiny') },
            { weight: 1, arbitrary: noise.map(encodeURIComponent) },
          ),
          body(hook.payload),
          hook.headers,
          async (app, raw, headers) => {
            const res = await http.inject({
              method: 'POST',
              url: `/hooks/${app}/${hook.type}`,
              headers: sendable(headers(raw)),
              payload: Buffer.from(raw, 'latin1'),
            });
            seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
            expectProper(res, `POST /hooks/${app}/${hook.type}`);
          },
        ),
        { numRuns: RUNS },
      );
      if (process.env.DEBUG_FUZZ) console.log(hook.type, Object.fromEntries(seen));
      // The generators reach every answer a sender can get, not only rejections.
      for (const status of [200, 202, 400, 401]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(100_000);
    }, 120_000);
});

describe('fuzzing the API over the HTTP stack', () => {
  it(`every route of the route table: ${RUNS} generated requests, no 5xx, errors as JSON`, async () => {
    const routes = apiRoutes(service);
    const known = (await service.store.listRuns({ limit: 5 })).runs.map((r) => r.id);
    const token = fc.oneof(
      fc.constant(() => `Bearer ${admin}`),
      fc.constant(() => `Bearer ${reader}`),
      fc.constant(() => `Bearer shipml_aaaaaaaaaaaa_${'x'.repeat(43)}`),
      fc.constant(() => `Basic ${Buffer.from('a:b').toString('base64')}`),
      noise.map((n) => () => `Bearer ${n}`),
      fc.constant(() => undefined),
    );
    const param = fc.oneof(
      fc.constantFrom('tiny', 'nosuch', ...known),
      noise.map(encodeURIComponent),
    );
    const query = fc.dictionary(
      fc.constantFrom('app', 'status', 'kind', 'branch', 'limit', 'before', 'after', 'x'),
      fc.oneof(
        fc.constantFrom('tiny', 'queued', 'run', 'main', '1', '0', '500', '501', '-3', '1.5'),
        noise,
      ),
      { maxKeys: 4 },
    );
    const bodyOf = fc.oneof(
      fc
        .record(
          {
            branch: fc.oneof(fc.constant('main'), noise),
            commit: fc.oneof(hex40, noise),
            model: noise,
            release: fc.oneof(fc.constant('127.0.0.1:5000/x@sha256:' + 'a'.repeat(64)), noise),
            reason: noise,
            version: fc.oneof(fc.constant('1.0.0'), noise),
            channel: noise,
            revision: fc.oneof(fc.integer({ min: -2, max: 5 }), anyJson),
          },
          { requiredKeys: [] },
        )
        .map((b) => JSON.stringify(b)),
      anyJson.map((j) => JSON.stringify(j)),
      noise,
      fc.constant(''),
    );
    const seen = new Map<number, number>();
    const started = Date.now();
    // The routes that ask git, the target or a model store for an existing app are slower:
    // they are generated less often so 10,000 inputs stay within the time bound.
    const slow = new Set(['getApp', 'listModels', 'promoteModel', 'rollback']);
    const routeArb = fc.oneof(
      ...routes.map((r) => ({
        weight: slow.has(r.operationId) ? 1 : 6,
        arbitrary: fc.constant(r),
      })),
      { weight: 2, arbitrary: fc.constantFrom('log.txt', 'events') },
    );
    await fc.assert(
      fc.asyncProperty(
        routeArb,
        param,
        query,
        bodyOf,
        token,
        fc.constantFrom('application/json', 'text/plain', undefined),
        async (route, p, q, b, auth, type) => {
          const slowApp = typeof route !== 'string' && slow.has(route.operationId) && p === 'tiny';
          let method: string;
          let path: string;
          if (typeof route === 'string') {
            method = 'GET';
            // A live stream of a run that is still queued lasts until the run ends: the
            // events endpoint is fuzzed with ids of no run (and bad tokens) only.
            path = `/api/v1/runs/${route === 'events' && known.includes(p) ? 'nosuch' : p}/${route}`;
          } else {
            method = route.method;
            path = route.path.replace(/\{\w+\}/g, p);
          }
          const res = await http.inject({
            method: method as 'GET',
            url: path,
            query: q,
            headers: sendable({ authorization: auth(), 'content-type': type }),
            ...(method === 'GET' ? {} : { payload: b }),
          });
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
          expectProper(res, `${method} ${path}${slowApp ? ' (asks git and the target)' : ''}`);
        },
      ),
      { numRuns: RUNS },
    );
    for (const status of [200, 202, 400, 401, 403, 404])
      expect(seen.get(status) ?? 0, `status ${status} reached`).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(100_000);
    // Nothing unexpected reached the server's log either (a 5xx would have; none happened).
    expect(logs.filter((l) => l.startsWith('http:'))).toEqual([]);
  }, 120_000);
});
