/**
 * Planted secrets stay out of everything the service shows when things go wrong: a run whose
 * test prints the app's secret and fails, a repository URL with a password that cannot be
 * fetched, webhooks rejected with the secret in their headers and bodies, tokens refused.
 * Looked for in every API answer, the server's log, every run log, /metrics and the store's
 * database file itself (secrets are never stored).
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHmacSha256 } from '../src/server/triggers/verify.js';
import {
  eventually,
  startService,
  testRepo,
  tinyApp,
  type RunningService,
  type TestRepo,
} from './helpers/server.js';

const SECRETS = {
  HOOK: 'hook-secret-f00d4a11b2',
  GENERIC: 'generic-secret-77aa19c0d3',
  APP: 'app-secret-c0ffee5e7a',
  REPO_PASSWORD: 'repo-pw-9b1d2e3f4a',
};

let root: string;
let repo: TestRepo;
let srv: RunningService;
let admin: string;
let reader: string;

type Run = { id: string; status: string; error?: string };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-faults-secrets-'));
  // The test prints the secret (plain, on stdout and stderr, inside a longer word) and fails.
  repo = await testRepo(
    join(root, 'repo'),
    tinyApp({
      test: 'echo "leaking $APP_TOKEN"; echo "x${APP_TOKEN}y" >&2; echo "failing on purpose"; exit 3',
    }),
  );
  srv = await startService(
    `
dataDir: ${root}/data
worker: { slots: 2, leaseSeconds: 10 }
apps:
  - name: leaky
    repository: ${repo.bare}
    release: manual
    # The host runner: this test is about the service (processes, leases, redaction), and its
    # commands print what they were given; the container runner's containment is
    # runner-container-hostile.test.ts.
    runner: host
    secrets: { APP_TOKEN: "\${APP_SECRET}" }
    triggers:
      - { type: github, secret: "\${HOOK_SECRET}" }
  - name: unreachable
    repository: "http://deploy:\${REPO_PASSWORD}@127.0.0.1:1/nowhere.git"
    release: manual
    # The host runner: this test is about the service (processes, leases, redaction), and its
    # commands print what they were given; the container runner's containment is
    # runner-container-hostile.test.ts.
    runner: host
    triggers:
      - { type: generic, secret: "\${GENERIC_SECRET}" }
`,
    {
      ...process.env,
      HOOK_SECRET: SECRETS.HOOK,
      GENERIC_SECRET: SECRETS.GENERIC,
      APP_SECRET: SECRETS.APP,
      REPO_PASSWORD: SECRETS.REPO_PASSWORD,
    },
  );
  admin = await srv.token('admin');
  reader = await srv.token('read');
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  await rm(root, { recursive: true, force: true });
});

const get = async (path: string, token = reader) => {
  const res = await fetch(`${srv.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
};

const trigger = async (app: string) => {
  const res = await fetch(`${srv.url}/api/v1/apps/${app}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(10_000),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { run: Run }).run.id;
};

const finished = (id: string) =>
  eventually(
    async () => {
      const run = JSON.parse((await get(`/api/v1/runs/${id}`)).text) as Run;
      return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(run.status)
        ? run
        : undefined;
    },
    `run ${id} to finish`,
    90_000,
  );

const hook = (app: string, type: string, headers: Record<string, string>, body: string) =>
  fetch(`${srv.url}/hooks/${app}/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });

describe('secrets when things fail', () => {
  it('a failing run that prints the secret, an unreachable repository with a password, rejected webhooks: no secret anywhere', async () => {
    const leaky = await trigger('leaky');
    const unreachable = await trigger('unreachable');
    const [failedRun, fetchFailed] = await Promise.all([finished(leaky), finished(unreachable)]);
    expect(failedRun.status).toBe('failed');
    expect(fetchFailed.status).toBe('failed');
    // The failure is explained (without the password).
    expect(fetchFailed.error).toMatch(/127\.0\.0\.1:1/);

    // Webhooks that carry the secret where it does not belong, all rejected.
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: SECRETS.HOOK,
      secret: SECRETS.HOOK,
    });
    const rejected = [
      await hook(
        'leaky',
        'github',
        {
          'x-github-event': 'push',
          'x-github-delivery': 'r1',
          'x-hub-signature-256': `sha256=${SECRETS.HOOK}`,
        },
        body,
      ),
      await hook(
        'leaky',
        'github',
        {
          'x-github-event': 'push',
          'x-github-delivery': SECRETS.HOOK,
          'x-hub-signature-256': signHmacSha256('wrong', Buffer.from(body)),
        },
        body,
      ),
      await hook(
        'unreachable',
        'generic',
        { 'x-shipml-delivery': 'g1', 'x-shipml-signature': SECRETS.GENERIC },
        body,
      ),
      // Signed properly but malformed: the reason names the field, not its value.
      await hook(
        'unreachable',
        'generic',
        {
          'x-shipml-delivery': 'g2',
          'x-shipml-signature': signHmacSha256(SECRETS.GENERIC, Buffer.from(body)),
        },
        body,
      ),
    ];
    expect(rejected.map((r) => r.status)).toEqual([401, 401, 401, 400]);
    const answers = await Promise.all(rejected.map((r) => r.text()));

    // Tokens refused: a read token on an admin call, a garbled one, and a token sent where a
    // webhook secret belongs.
    const forbidden = await fetch(`${srv.url}/api/v1/runs/${leaky}/rerun`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(forbidden.status).toBe(403);
    answers.push(await forbidden.text());
    const garbled = await get('/api/v1/runs', `${admin}x`);
    expect(garbled.status).toBe(401);
    answers.push(garbled.text);
    const tokenAsSignature = await hook(
      'leaky',
      'github',
      { 'x-github-event': 'push', 'x-github-delivery': 'r3', 'x-hub-signature-256': admin },
      '{}',
    );
    expect(tokenAsSignature.status).toBe(401);
    answers.push(await tokenAsSignature.text());

    for (const path of [
      '/api/v1/apps',
      '/api/v1/apps/leaky',
      '/api/v1/apps/unreachable',
      '/api/v1/apps/unreachable/models',
      '/api/v1/runs?limit=500',
      '/api/v1/deliveries?limit=500',
      `/api/v1/runs/${leaky}`,
      `/api/v1/runs/${unreachable}`,
      `/api/v1/runs/${leaky}/log?limit=5000`,
      `/api/v1/runs/${unreachable}/log?limit=5000`,
      `/api/v1/runs/${leaky}/log.txt`,
      `/api/v1/runs/${unreachable}/log.txt`,
      `/api/v1/runs/${leaky}/events`,
    ])
      answers.push((await get(path)).text);
    answers.push(await (await fetch(`${srv.url}/metrics`)).text());
    const log = srv.logs.join('\n');
    const runLog = (await get(`/api/v1/runs/${leaky}/log.txt`)).text;

    // The failures happened and were recorded where people look (else the test proves nothing).
    expect(runLog).toContain('leaking ***');
    expect(runLog).toContain('failing on purpose');
    expect(log).toMatch(/leaky: github webhook rejected \(401\)/);
    expect(log).toMatch(/unreachable: generic webhook rejected \(400\)/);

    // The database holds no secret either (WAL included: recent writes are there).
    const dataDir = join(root, 'data');
    const dbFiles = (await readdir(dataDir, { recursive: true })).filter((f) =>
      /\.(db|sqlite)(-wal)?$|-wal$/.test(f),
    );
    expect(dbFiles.length).toBeGreaterThan(0);
    const database = (await Promise.all(dbFiles.map((f) => readFile(join(dataDir, f))))).map((b) =>
      b.toString('latin1'),
    );

    const everything = [...answers, log, ...database].join('\n');
    for (const [name, secret] of Object.entries({ ...SECRETS, admin, reader }))
      for (const form of [
        secret,
        encodeURIComponent(secret),
        Buffer.from(secret).toString('base64'),
      ])
        expect(everything.includes(form), `${name} shows`).toBe(false);
  }, 150_000);
});
