import Docker from 'dockerode';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../src/deploy/docker/labels.js';
import { DockerTarget } from '../src/deploy/docker/target.js';
import {
  DEFAULT_SPEC,
  RolloutError,
  type DeployEvent,
  type DeploySpec,
} from '../src/deploy/types.js';
import { buildDigitsReleases, type DigitsReleases } from './helpers/digits.js';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { required } from './services.js';

/**
 * Rollouts that fail on the Docker target, against the real Docker Engine: the digits app
 * told to listen on 127.0.0.1 (what it does by default, and what a first config got wrong)
 * never becomes ready behind the load balancer. The error says why and what to do, the
 * failed replica is kept stopped for `docker logs` until the next deploy or destroy, and the
 * progress counts never claim a replica ready that is not.
 */
const docker = new Docker();
const ns = `f${Date.now().toString(36)}`;
const TOKEN = 'tok-9f8e7d6c5b4a-secret';
let work: string;
const releases = {} as DigitsReleases;

function specFor(app: string): DeploySpec {
  return {
    ...DEFAULT_SPEC,
    app,
    replicas: 2,
    drainSeconds: 1,
    progressDeadlineSeconds: 10,
    env: { LOG_LEVEL: 'warn' },
  };
}

/** The same app listening where no load balancer can reach it, with a secret in its env. */
const loopbackOnly = (spec: DeploySpec): DeploySpec => ({
  ...spec,
  env: { ...spec.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', API_TOKEN: TOKEN },
});

async function containers(app: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${app}`] } });
}

async function servedImage(url: string): Promise<string> {
  const res = await fetch(new URL('/version', url), { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { image: string }).image;
}

/**
 * The counts of every event that has them: never more ready than can be (one new replica
 * beside the old ones while it takes over), nor updated than ready.
 */
function expectSaneCounts(events: DeployEvent[]): void {
  for (const e of events) {
    if (!e.replicas) continue;
    expect(e.replicas.ready, e.message).toBeLessThanOrEqual(e.replicas.desired + 1);
    expect(e.replicas.updated, e.message).toBeLessThanOrEqual(e.replicas.ready);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-deploy-failures-'));
  Object.assign(releases, await buildDigitsReleases(work, ns));
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('Docker target: a replica that does not become ready', () => {
  const app = `${ns}-n`;
  let target: DockerTarget;
  let url: string;
  const kept = `shipml-${app}-r2-1-failed`;

  beforeAll(async () => {
    target = new DockerTarget({
      port: await freePort(),
      proxyImage: required('SHIPML_TEST_PROXY_IMAGE'),
    });
  });
  afterAll(async () => {
    await target.destroy(app);
  }, 60_000);

  it('counts replicas ready only once the load balancer sends them traffic', async () => {
    const events: DeployEvent[] = [];
    const result = await target.deploy(releases.v1, specFor(app), {
      onEvent: (e) => events.push(e),
    });
    url = result.url!;
    expectSaneCounts(events);
    const counted = events.filter((e) => e.replicas);
    // Nothing serves before the first replica passes its check.
    expect(counted[0]!.replicas).toEqual({ desired: 2, ready: 0, updated: 0 });
    const started = counted.filter((e) => /started; waiting/.test(e.message));
    const ready = counted.filter((e) => /is ready and takes traffic/.test(e.message));
    expect(started.map((e) => e.replicas!.ready)).toEqual([0, 1]);
    expect(ready.map((e) => e.replicas)).toEqual([
      { desired: 2, ready: 1, updated: 1 },
      { desired: 2, ready: 2, updated: 2 },
    ]);
    expect(counted.at(-1)!.replicas).toEqual({ desired: 2, ready: 2, updated: 2 });
  }, 120_000);

  it('says connection refused, quotes the log, hints at 0.0.0.0, and keeps the replica', async () => {
    const events: DeployEvent[] = [];
    const err = await target
      .deploy(releases.v2, loopbackOnly(specFor(app)), { onEvent: (e) => events.push(e) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RolloutError);
    const rollout = err as RolloutError;
    expect(rollout).toMatchObject({ failure: 'never-ready', rolledBack: true });
    expect(rollout.live?.image).toBe(releases.v1.image);
    expect(rollout.message).not.toContain('\n');
    expect(rollout.message).toMatch(
      new RegExp(
        `^revision 2 .* did not roll out: replica shipml-${app}-r2-1 was not ready within 10 s \\(GET /readyz: connection refused; last log lines: .*url=http://127\\.0\\.0\\.1:8080.*\\); rolled back, revision 1 .* still serves$`,
      ),
    );
    expect(rollout.hint).toBe(
      `is the app listening on 0.0.0.0:8080 inside the container? Many servers listen on 127.0.0.1 by default (set HOST=0.0.0.0); its container is kept, stopped, until the next deploy: docker logs ${kept}`,
    );
    expect(`${rollout.message} ${rollout.hint}`).not.toContain(TOKEN);
    // The old replicas served throughout; the new one never counted as ready.
    expectSaneCounts(events);
    for (const e of events.filter((x) => x.replicas)) expect(e.replicas!.updated).toBe(0);

    const left = await containers(app);
    const failed = left.find((c) => c.Names[0] === `/${kept}`);
    expect(failed?.State).toBe('exited');
    expect(failed?.Labels[LABEL.role]).toBe('replica');
    expect(failed?.Labels[LABEL.revision]).toBe('2');
    const logs = (
      await docker.getContainer(failed!.Id).logs({ stdout: true, stderr: true })
    ).toString();
    expect(logs).toContain('listening; loading model');

    const status = await target.status(app);
    expect(status.live?.image).toBe(releases.v1.image);
    expect(status.replicas).toMatchObject({ desired: 2, ready: 2 });
    expect(status.rollout).toContain(`docker logs ${kept}`);
    expect((await target.history(app)).map((r) => r.number)).toEqual([1]);
    expect(await servedImage(url)).toBe(releases.v1.image);
  }, 120_000);

  it('the next deploy removes the kept replica; a crash keeps its own the same way', async () => {
    const events: DeployEvent[] = [];
    const result = await target.deploy(releases.v2, specFor(app), {
      onEvent: (e) => events.push(e),
    });
    expect(result.revision.number).toBe(2);
    expect(events[0]!.message).toBe(`removed ${kept} (kept from a failed rollout)`);
    expectSaneCounts(events);
    const ready = events.filter((e) => /is ready and takes traffic/.test(e.message));
    expect(ready.map((e) => e.replicas!.updated)).toEqual([1, 2]);
    expect((await containers(app)).map((c) => c.Names[0])).not.toContain(`/${kept}`);
    expect(await servedImage(url)).toBe(releases.v2.image);

    const crashing = { ...specFor(app), env: { LOG_LEVEL: 'warn', MODEL_PATH: '/nonexistent' } };
    const err = (await target.deploy(releases.v1, crashing).then(
      () => undefined,
      (e: unknown) => e,
    )) as RolloutError;
    expect(err).toMatchObject({ failure: 'crash-loop', rolledBack: true });
    expect(err.message).toMatch(/last log line: .*MODEL_PATH \/nonexistent does not exist/);
    const crashed = `shipml-${app}-r3-1-failed`;
    expect(err.hint).toBe(
      `its container is kept, stopped, until the next deploy: docker logs ${crashed}`,
    );
    const found = (await containers(app)).find((c) => c.Names[0] === `/${crashed}`);
    expect(found?.State).toBe('exited');

    // Neither status nor rollback is blocked by it; the rollback (a deploy) removes it.
    expect((await target.status(app)).live?.image).toBe(releases.v2.image);
    const back = await target.rollback(app);
    expect(back.revision.image).toBe(releases.v1.image);
    expect((await containers(app)).map((c) => c.Names[0])).not.toContain(`/${crashed}`);
    expect(await servedImage(url)).toBe(releases.v1.image);
  }, 180_000);
});

describe('shipml deploy of a first release that never becomes ready', () => {
  const app = `${ns}-cli`;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    dir = join(work, 'cli');
    await mkdir(dir, { recursive: true });
    port = await freePort();
    await writeFile(
      join(dir, 'shipml.yaml'),
      [
        'deploy:',
        `  app: ${app}`,
        '  replicas: 2',
        '  progressDeadlineSeconds: 10',
        `  env: { HOST: 127.0.0.1, API_TOKEN: ${TOKEN} }`,
        '  docker:',
        `    port: ${port}`,
        `    proxyImage: ${required('SHIPML_TEST_PROXY_IMAGE')}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await new DockerTarget({ port }).destroy(app);
  }, 60_000);

  it('prints no ready replica, one error line and the hint; destroy removes what it kept', async () => {
    const run = await runCli(['deploy', releases.v1.image], { cwd: dir });
    expect(run.code).toBe(1);
    const counts = [...run.stderr.matchAll(/\[(\d+)\/(\d+) ready, (\d+) updated\]/g)];
    expect(counts.length).toBeGreaterThan(0);
    for (const [text, ready, , updated] of counts) {
      expect(ready, text).toBe('0');
      expect(updated, text).toBe('0');
    }
    const kept = `shipml-${app}-r1-1-failed`;
    const lines = run.stderr.trim().split('\n');
    const error = lines.findIndex((l) => l.startsWith('error: '));
    expect(lines[error]).toMatch(
      /^error: revision 1 .* not ready within 10 s \(GET \/readyz: connection refused; last log lines: .*127\.0\.0\.1:8080.*\); rolled back, nothing was serving before and nothing serves now$/,
    );
    expect(lines[error + 1]).toBe(
      `hint: is the app listening on 0.0.0.0:8080 inside the container? Many servers listen on 127.0.0.1 by default (set HOST=0.0.0.0); its container is kept, stopped, until the next deploy: docker logs ${kept}`,
    );
    expect(run.stderr + run.stdout).not.toContain(TOKEN);

    const status = await runCli(['status'], { cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${app}: not deployed (docker)`);
    expect(status.stdout).toContain(`docker logs ${kept}`);
    expect((await containers(app)).map((c) => c.Names[0])).toContain(`/${kept}`);

    expect((await runCli(['destroy', '--yes'], { cwd: dir })).code).toBe(0);
    expect(await containers(app)).toEqual([]);
  }, 120_000);
});
