/**
 * `shipml server` end to end on real parts: a bare git repository, the test registry, the
 * SQLite store, the HTTP API on 127.0.0.1. A signed GitHub push builds the pushed commit; the
 * API's answers, errors and tokens; coalescing; live logs with resume; the OpenAPI document
 * against an independent validator; no secret in any answer, log or metric.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
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
  HOOK: 'hook-secret-8d1f0c2b',
  APP: 'app-secret-5e7a9c31',
};

let root: string;
let repo: TestRepo;
let srv: RunningService;
let admin: string;
let reader: string;

const config = (bare: string) => `
dataDir: ${root}/data
worker: { slots: 1, leaseSeconds: 10 }
apps:
  - name: tiny
    repository: ${bare}
    release: manual
    env: { GREETING: hello }
    secrets: { APP_TOKEN: "\${APP_SECRET}" }
    triggers:
      - type: github
        secret: \${HOOK_SECRET}
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-srv-'));
  repo = await testRepo(
    join(root, 'repo'),
    // The command asks for the secret by name: the container runner passes nothing else.
    tinyApp({
      test: 'echo "token is $APP_TOKEN"; sleep 1',
      testEnv: { APP_TOKEN: '${APP_TOKEN}' },
    }),
  );
  srv = await startService(config(repo.bare), {
    ...process.env,
    HOOK_SECRET: SECRETS.HOOK,
    APP_SECRET: SECRETS.APP,
  });
  admin = await srv.token('admin');
  reader = await srv.token('read');
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  await rm(root, { recursive: true, force: true });
});

function push(commit: string, id: string, secret = SECRETS.HOOK, ref = 'refs/heads/main') {
  const body = JSON.stringify({
    ref,
    before: '0'.repeat(40),
    after: commit,
    deleted: false,
    pusher: { name: 'octocat' },
  });
  return fetch(`${srv.url}/hooks/tiny/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-hub-signature-256': signHmacSha256(secret, Buffer.from(body)),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
}

async function api<T = Record<string, unknown>>(
  path: string,
  token = admin,
  init: RequestInit = {},
) {
  const res = await fetch(`${srv.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as T };
}

type Run = {
  id: string;
  status: string;
  commit?: string;
  cause: { trigger: string; pusher?: string; deliveryId?: string };
  report?: { image?: { reference: string } };
  supersededBy?: string;
};

const finished = (id: string) =>
  eventually(
    async () => {
      const { body } = await api<Run>(`/api/v1/runs/${id}`, reader);
      return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(body.status)
        ? body
        : undefined;
    },
    `run ${id} to finish`,
    90_000,
  );

describe('shipml server', () => {
  it('builds the commit a signed GitHub push names, once per delivery id', async () => {
    const commit = await repo.commit({ 'README.md': 'v2\n' });
    const res = await push(commit, 'delivery-1');
    expect(res.status).toBe(202);
    const { runs } = (await res.json()) as { runs: string[] };
    expect(runs).toHaveLength(1);

    const again = await push(commit, 'delivery-1');
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ result: 'duplicate' });

    const run = await finished(runs[0]!);
    expect(run).toMatchObject({
      status: 'succeeded',
      commit,
      cause: { trigger: 'commit', pusher: 'octocat', deliveryId: 'delivery-1' },
    });
    expect(run.report?.image?.reference).toMatch(/@sha256:[0-9a-f]{64}$/);
    const list = await api<{ runs: Run[] }>('/api/v1/runs?app=tiny&limit=50', reader);
    expect(list.body.runs.filter((r) => r.cause.deliveryId === 'delivery-1')).toHaveLength(1);
  }, 120_000);

  it('rejects what is not a proper delivery, queueing nothing', async () => {
    const before = (await api<{ runs: Run[] }>('/api/v1/runs?limit=500', reader)).body.runs.length;
    const commit = await repo.commit({ 'README.md': 'v3\n' });
    expect((await push(commit, 'bad-sig', 'not-the-secret')).status).toBe(401);
    const unsigned = await fetch(`${srv.url}/hooks/tiny/github`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-github-event': 'push' },
    });
    expect(unsigned.status).toBe(401);
    const unknown = await fetch(`${srv.url}/hooks/nosuch/github`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    const big = await fetch(`${srv.url}/hooks/tiny/github`, {
      method: 'POST',
      body: 'x'.repeat(1024 * 1024 + 1),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.status).toBe(413);
    const malformed = '{"ref": "refs/heads/main", "after": ';
    const bad = await fetch(`${srv.url}/hooks/tiny/github`, {
      method: 'POST',
      body: malformed,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'malformed-1',
        'x-hub-signature-256': signHmacSha256(SECRETS.HOOK, Buffer.from(malformed)),
      },
    });
    expect(bad.status).toBe(400);
    const after = (await api<{ runs: Run[] }>('/api/v1/runs?limit=500', reader)).body.runs.length;
    expect(after).toBe(before);
    const deliveries = await api<{ deliveries: Array<{ result: string; detail: string }> }>(
      '/api/v1/deliveries?app=tiny',
      reader,
    );
    expect(
      deliveries.body.deliveries.filter((d) => d.result === 'rejected').length,
    ).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(deliveries.body)).not.toContain(SECRETS.HOOK);
  }, 60_000);

  it('answers 401 without a valid token and 403 for a read token on an admin call', async () => {
    const none = await fetch(`${srv.url}/api/v1/runs`);
    expect(none.status).toBe(401);
    expect((await api('/api/v1/runs', 'shipml_aaaaaaaaaaaa_' + 'x'.repeat(43))).status).toBe(401);
    const expired = await srv.token('admin', {
      expiresInDays: 1,
      now: new Date(Date.now() - 2 * 86_400_000),
    });
    expect((await api('/api/v1/runs', expired)).status).toBe(401);
    const forbidden = await api('/api/v1/apps/tiny/runs', reader, { method: 'POST', body: '{}' });
    expect(forbidden.status).toBe(403);
    expect(
      (await api('/api/v1/apps/nosuch/runs', admin, { method: 'POST', body: '{}' })).status,
    ).toBe(404);
    expect(
      (await api('/api/v1/apps/tiny/runs', admin, { method: 'POST', body: '{"commit": 12' }))
        .status,
    ).toBe(400);
    expect(
      (await api('/api/v1/apps/tiny/runs', admin, { method: 'POST', body: '{"commit": "abc"}' }))
        .status,
    ).toBe(400);
    expect((await api('/api/v1/runs/nosuch', reader)).status).toBe(404);
  });

  it('coalesces a burst of pushes into one running and one queued run with the newest commit', async () => {
    const commits: string[] = [];
    for (let i = 0; i < 5; i++) commits.push(await repo.commit({ 'burst.txt': `${i}\n` }));
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await push(commits[i % 5]!, `burst-${i}`);
      expect(res.status).toBe(202);
      ids.push(...((await res.json()) as { runs: string[] }).runs);
    }
    const last = ids.at(-1)!;
    await finished(last);
    const runs = await Promise.all(
      ids.map(async (id) => (await api<Run>(`/api/v1/runs/${id}`, reader)).body),
    );
    const built = runs.filter((r) => r.status !== 'superseded');
    expect(built.length).toBeLessThanOrEqual(2);
    expect(runs.find((r) => r.id === last)!.commit).toBe(commits[4]);
    for (const r of runs.filter((x) => x.status === 'superseded'))
      expect(r.supersededBy).toBeTruthy();
  }, 180_000);

  it("streams a run's log as server-sent events and resumes after Last-Event-ID", async () => {
    const sseCommit = await repo.commit({ 'sse.txt': 'new code: a run that builds and tests\n' });
    const { body } = await api<{ run: Run }>('/api/v1/apps/tiny/runs', admin, {
      method: 'POST',
      body: '{"reason":"sse"}',
    });
    const id = body.run.id;
    await finished(id);
    const read = async (lastEventId?: string) => {
      const res = await fetch(`${srv.url}/api/v1/runs/${id}/events`, {
        headers: {
          authorization: `Bearer ${reader}`,
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        signal: AbortSignal.timeout(20_000),
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      return res.text();
    };
    const all = await read();
    const seqs = [...all.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(all).toMatch(/event: end\ndata: \{"status":"succeeded"/);
    const resumed = await read(String(seqs[2]));
    expect([...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))[0]).toBe(seqs[3]);
    const text = await (
      await fetch(`${srv.url}/api/v1/runs/${id}/log.txt`, {
        headers: { authorization: `Bearer ${reader}` },
      })
    ).text();
    expect(text).toContain(`checking out ${sseCommit.slice(0, 12)}`);
    expect(text).toContain('token is ***');
  }, 120_000);

  it('serves an OpenAPI 3.1 document an independent validator accepts', async () => {
    const doc = (await (await fetch(`${srv.url}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/runs', '/api/v1/runs/{id}', '/api/v1/apps/{app}/runs']),
    );
  });

  it('shows no planted secret in any answer, log, run log or metric', async () => {
    const answers = [
      await api('/api/v1/apps', reader),
      await api('/api/v1/apps/tiny', reader),
      await api('/api/v1/runs?limit=500', reader),
      await api('/api/v1/deliveries', reader),
    ].map((a) => JSON.stringify(a.body));
    const runs = (await api<{ runs: Run[] }>('/api/v1/runs?limit=20', reader)).body.runs;
    for (const r of runs)
      answers.push(
        await (
          await fetch(`${srv.url}/api/v1/runs/${r.id}/log.txt`, {
            headers: { authorization: `Bearer ${reader}` },
          })
        ).text(),
      );
    answers.push(await (await fetch(`${srv.url}/metrics`)).text());
    answers.push(srv.logs.join('\n'));
    const everything = answers.join('\n');
    expect(everything).toContain('APP_TOKEN'); // the secret's name is shown, its value never
    for (const secret of [SECRETS.HOOK, SECRETS.APP, admin, reader])
      expect(everything).not.toContain(secret);
  });
});
