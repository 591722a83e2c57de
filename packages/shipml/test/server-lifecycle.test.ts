/**
 * The service's life cycle on real parts: a build that releases on success goes live on the
 * Docker Engine (the API says what is live, rolls it back); a nightly-style schedule releases
 * the newest good build and fires once with two servers on one database; cancel through the
 * API ends the running command's whole process tree.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../src/deploy/docker/target.js';
import { dockerDeploySection } from './helpers/docker-deploy.js';
import { freePort } from './helpers/ports.js';
import {
  eventually,
  startService,
  testRepo,
  tinyApp,
  type RunningService,
  type TestRepo,
} from './helpers/server.js';
import { required } from './services.js';

let root: string;
let repo: TestRepo;
let port: number;
const started: RunningService[] = [];
const app = `srvlife-${Math.random().toString(36).slice(2, 7)}`;

type Run = {
  id: string;
  status: string;
  kind: string;
  image?: string;
  cause: { trigger: string; source: string; schedule?: string; detail?: string };
  report?: { image?: { reference: string }; live?: { number: number } };
};

async function api<T>(
  srv: RunningService,
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${srv.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const final = (srv: RunningService, token: string, id: string, timeoutMs = 120_000) =>
  eventually(
    async () => {
      const { body } = await api<Run>(srv, token, `/api/v1/runs/${id}`);
      return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(body.status)
        ? body
        : undefined;
    },
    `run ${id}`,
    timeoutMs,
  );

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-life-'));
  port = await freePort();
  const files = tinyApp({ test: 'sh slow-test.sh' });
  files['shipml.yaml'] = files['shipml.yaml']!.replace(
    'deploy:\n  app: tiny\n',
    dockerDeploySection(app, port, required('SHIPML_TEST_PROXY_IMAGE')),
  );
  // The test is quick unless slow.flag exists in the commit (the cancel case).
  files['slow-test.sh'] =
    'if [ -e slow.flag ]; then sh -c "sleep 300" & echo $! > "$TMPDIR/sleeper.pid"; wait; fi\necho tests pass\n';
  repo = await testRepo(join(root, 'repo'), files);
}, 60_000);

afterAll(async () => {
  for (const s of started) await s.stop().catch(() => undefined);
  await new DockerTarget({ port, proxyImage: required('SHIPML_TEST_PROXY_IMAGE') })
    .destroy(app)
    .catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

describe('shipml server: releases', () => {
  it('a build that passes goes live; the API says what is live and rolls it back', async () => {
    const srv = await startService(
      `dataDir: ${root}/live\napps:\n  - name: ${app}\n    repository: ${repo.bare}\n    release: on-success\n`,
      { ...process.env, TMPDIR: root },
    );
    started.push(srv);
    const admin = await srv.token('admin');
    const first = (
      await api<{ run: Run }>(srv, admin, `/api/v1/apps/${app}/runs`, {
        method: 'POST',
        body: '{}',
      })
    ).body.run;
    expect((await final(srv, admin, first.id)).status).toBe('succeeded');
    await repo.commit({ 'v2.txt': 'two\n' });
    const second = (
      await api<{ run: Run }>(srv, admin, `/api/v1/apps/${app}/runs`, {
        method: 'POST',
        body: '{}',
      })
    ).body.run;
    const done = await final(srv, admin, second.id);
    expect(done.status).toBe('succeeded');
    expect(done.report?.live?.number).toBe(2);

    const detail = await api<{
      live: {
        target: string;
        revision?: { number: number; image: string; provenance: { commit?: string } };
        url?: string;
      };
    }>(srv, admin, `/api/v1/apps/${app}`);
    expect(detail.body.live).toMatchObject({ target: 'docker', revision: { number: 2 } });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);

    const back = await api<{ revision: { number: number; image: string } }>(
      srv,
      admin,
      `/api/v1/apps/${app}/rollback`,
      { method: 'POST', body: '{}' },
    );
    expect(back.status).toBe(200);
    expect(back.body.revision.number).toBe(3);
    const after = await api<{ live: { revision?: { image: string } } }>(
      srv,
      admin,
      `/api/v1/apps/${app}`,
    );
    expect(after.body.live.revision?.image).toBe(
      first.report?.image?.reference ??
        (await final(srv, admin, first.id)).report?.image?.reference,
    );
    await srv.stop();
  }, 240_000);

  it('a schedule releases the newest good build, once, with two servers on one database', async () => {
    const config = (dataDir: string) => `
dataDir: ${dataDir}
database: sqlite:${root}/shared.db
apps:
  - name: ${app}
    repository: ${repo.bare}
    release: manual
    triggers:
      - { type: schedule, id: often, cron: '*/3 * * * * *', action: release }
`;
    const a = await startService(config(`${root}/a`), { ...process.env, TMPDIR: root });
    started.push(a);
    const admin = await a.token('admin');
    const built = (
      await api<{ run: Run }>(a, admin, `/api/v1/apps/${app}/runs`, { method: 'POST', body: '{}' })
    ).body.run;
    const build = await final(a, admin, built.id);
    expect(build.status).toBe('succeeded');
    const b = await startService(
      config(`${root}/b`),
      { ...process.env, TMPDIR: root },
      { worker: false },
    );
    started.push(b);
    // Let both servers see several fire times.
    await new Promise((r) => setTimeout(r, 10_000));
    await b.stop();
    const { runs } = (
      await api<{ runs: Run[] }>(a, admin, `/api/v1/runs?app=${app}&kind=release&limit=100`)
    ).body;
    const scheduled = runs.filter((r) => r.cause.trigger === 'schedule');
    expect(scheduled.length).toBeGreaterThanOrEqual(2);
    // One run per fire time, whichever server claimed it (superseded ones included: all are listed).
    const fires = scheduled.map((r) => r.cause.detail);
    expect(new Set(fires).size).toBe(fires.length);
    expect(scheduled.every((r) => r.image === build.report?.image?.reference)).toBe(true);
    expect(scheduled.every((r) => r.cause.schedule?.startsWith('often'))).toBe(true);
    await a.stop();
  }, 240_000);

  it('cancel through the API stops a running run and ends its command with everything it started', async () => {
    const srv = await startService(
      // The host runner: the test reads the command's process ids on this machine.
      `dataDir: ${root}/cancel\napps:\n  - name: ${app}\n    repository: ${repo.bare}\n    release: manual\n    runner: host\n`,
      { ...process.env, TMPDIR: root },
    );
    started.push(srv);
    const admin = await srv.token('admin');
    await repo.commit({ 'slow.flag': 'slow\n' });
    const run = (
      await api<{ run: Run }>(srv, admin, `/api/v1/apps/${app}/runs`, {
        method: 'POST',
        body: '{}',
      })
    ).body.run;
    const pid = await eventually(
      async () =>
        Number((await readFile(join(root, 'sleeper.pid'), 'utf8').catch(() => '')).trim()) ||
        undefined,
      'the slow test to start',
    );
    const cancelled = await api<Run>(srv, admin, `/api/v1/runs/${run.id}/cancel`, {
      method: 'POST',
    });
    expect(cancelled.status).toBe(200);
    const done = await final(srv, admin, run.id, 30_000);
    expect(done.status).toBe('cancelled');
    // The grandchild (sleep 300) is gone too: the process group was ended.
    await eventually(
      () => Promise.resolve(isAlive(pid) ? undefined : true),
      `process ${pid} to end`,
      10_000,
    );
    await srv.stop();
  }, 120_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
