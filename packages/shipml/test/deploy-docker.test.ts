import Docker from 'dockerode';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { freePort } from './helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeployConformance } from '../src/deploy/conformance.js';
import { DockerTarget } from '../src/deploy/docker/target.js';
import { startLoad } from '../src/deploy/load.js';
import { DEFAULT_SPEC, RolloutError, type DeploySpec } from '../src/deploy/types.js';
import { buildDigitsReleases, PREDICT_BODY, type DigitsReleases } from './helpers/digits.js';
import { registries, required } from './services.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { ConfigError, ExternalServiceError } from '../src/core/errors.js';

/**
 * The Docker target against the real Docker Engine, with examples/digits images built by
 * ShipML and HAProxy as the load balancer on 127.0.0.1.
 */
const ns = `d${Date.now().toString(36)}`;
let work: string;
const releases = {} as DigitsReleases;

function specFor(app: string): DeploySpec {
  return { ...DEFAULT_SPEC, app, replicas: 2, drainSeconds: 2, env: { LOG_LEVEL: 'warn' } };
}

async function versionAt(url: string): Promise<{ image: string; model: { version: string } }> {
  const res = await fetch(new URL('/version', url));
  return (await res.json()) as { image: string; model: { version: string } };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-deploy-'));
  Object.assign(releases, await buildDigitsReleases(work, ns));
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const conformancePort = await freePort();
runDeployConformance({
  kind: 'docker',
  target: new DockerTarget({
    port: conformancePort,
    proxyImage: required('SHIPML_TEST_PROXY_IMAGE'),
  }),
  spec: specFor(`${ns}-c`),
  releases,
  serving: async () => (await versionAt(`http://127.0.0.1:${conformancePort}/`)).image,
  timeoutSeconds: 180,
});

describe('Docker target: zero downtime under load', () => {
  it('rolls v1 → v2 and rolls back a never-ready release with 0 failed requests', async () => {
    const port = await freePort();
    const target = new DockerTarget({ port, proxyImage: required('SHIPML_TEST_PROXY_IMAGE') });
    const spec = specFor(`${ns}-z`);
    try {
      const first = await target.deploy(releases.v1, spec);
      const url = first.url!;
      const load = startLoad({
        url,
        requests: [
          { method: 'GET', path: '/version' },
          {
            method: 'POST',
            path: '/predict',
            body: PREDICT_BODY,
            headers: { 'content-type': 'application/json' },
          },
        ],
        ratePerSecond: 50,
        maxSeconds: 60,
        maxRequests: 3000,
        observe: (body, req) =>
          req.path === '/version' ? (JSON.parse(body) as { image: string }).image : undefined,
      });
      const rollout = await target.deploy(releases.v2, spec);
      expect(rollout.revision.image).toBe(releases.v2.image);
      const err = await target
        .deploy(releases.neverReady, { ...spec, progressDeadlineSeconds: 8 })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(RolloutError);
      expect((err as RolloutError).failure).toBe('never-ready');
      expect((err as RolloutError).message).toMatch(/answered HTTP 503/);
      await new Promise((r) => setTimeout(r, 1000));
      const report = await load.stop();
      expect(report.failures).toEqual([]);
      expect(report.failed).toBe(0);
      expect(report.sent).toBeGreaterThan(200);
      expect(report.seen.map((s) => s.value)).toEqual([releases.v1.image, releases.v2.image]);
      expect((await versionAt(url)).image).toBe(releases.v2.image);
    } finally {
      await target.destroy(spec.app);
    }
  }, 240_000);
});

describe('Docker target: bad input and faults', () => {
  const proxyImage = () => required('SHIPML_TEST_PROXY_IMAGE');

  it('an image that cannot be pulled changes nothing and says so', async () => {
    const target = new DockerTarget({ port: await freePort(), proxyImage: proxyImage() });
    const app = `${ns}-p`;
    const missing = {
      image: `${registries.plain}/${ns}/nothing@sha256:${'0'.repeat(64)}`,
      provenance: {},
    };
    const err = await target.deploy(missing, specFor(app)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    expect(err).toMatchObject({ failure: 'image-pull', rolledBack: false, live: undefined });
    expect((err as Error).message).toMatch(/could not be pulled.*nothing changed/);
    expect(await engineContainers(app)).toEqual([]);
  });

  it('a release that crashes at start is rolled back, with its last log line as the reason', async () => {
    const target = new DockerTarget({ port: await freePort(), proxyImage: proxyImage() });
    const spec = { ...specFor(`${ns}-k`), replicas: 1 };
    try {
      await target.deploy(releases.v1, spec);
      const crashing = { ...spec, env: { ...spec.env, MODEL_PATH: '/nonexistent' } };
      const err = await target.deploy(releases.v2, crashing).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RolloutError);
      expect(err).toMatchObject({ failure: 'crash-loop', rolledBack: true });
      expect((err as Error).message).toMatch(
        /replica shipml-.*-r2-1 (exited with code 1|keeps crashing \(restarted \d time\(s\)\)) \(last log line: .*MODEL_PATH \/nonexistent does not exist.*\); rolled back, revision 1 .* still serves/,
      );
      expect((await target.status(spec.app)).live?.image).toBe(releases.v1.image);
    } finally {
      await target.destroy(spec.app);
    }
  }, 120_000);

  it('a load balancer port in use is one clear error and leaves nothing behind', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    const app = `${ns}-b`;
    try {
      const target = new DockerTarget({ port, proxyImage: proxyImage() });
      const err = await target.deploy(releases.v1, specFor(app)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `port 127.0.0.1:${port} for ${app}'s load balancer is in use`,
      );
      expect(await engineContainers(app)).toEqual([]);
      await expect(new Docker().getNetwork(`shipml-${app}`).inspect()).rejects.toThrow();
    } finally {
      busy.close();
    }
  });

  it('an unreachable engine is one clear error', async () => {
    const target = new DockerTarget({
      port: 1,
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    const err = await target.status('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExternalServiceError);
    expect((err as Error).message).toBe(
      'Docker Engine at /nonexistent/docker.sock is unreachable (ENOENT)',
    );
  });
});

describe('shipml deploy, status, rollback, destroy', () => {
  let dir: string;
  let port: number;
  const app = `${ns}-cli`;

  beforeAll(async () => {
    dir = join(work, 'cli');
    await mkdir(dir, { recursive: true });
    port = await freePort();
    await writeFile(
      join(dir, 'shipml.yaml'),
      [
        'deploy:',
        `  app: ${app}`,
        '  replicas: 1',
        '  drainSeconds: 1',
        '  env: { LOG_LEVEL: warn }',
        '  docker:',
        `    port: ${port}`,
        `    proxyImage: ${required('SHIPML_TEST_PROXY_IMAGE')}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await new DockerTarget({ port }).destroy(app);
  });

  it('deploys an image by tag, pinned by digest, and reports where it serves', async () => {
    const tag = releases.v1.image.replace(/@sha256:.*/, ':v1');
    const run = await runCli(['deploy', tag], { cwd: dir });
    expect(run.stderr).toMatch(/replica shipml-.*-r1-1 is ready and takes traffic/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`deployed revision 1, `);
    expect(run.stdout).toContain(`model digits@1`);
    expect(run.stdout).toContain(`serving at http://127.0.0.1:${port}/`);
    expect((await versionAt(`http://127.0.0.1:${port}/`)).image).toBe(releases.v1.image);
  }, 120_000);

  it('Ctrl-C in the middle of a rollout leaves the previous release serving', async () => {
    const { child, done, stderr } = spawnCli(['deploy', releases.neverReady.image], {}, dir);
    for (let i = 0; i < 600 && !/waiting for \/readyz/.test(stderr()); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      /error: revision 2 .* the rollout was cancelled; rolled back, revision 1 .* still serves/,
    );
    const status = await runCli(['status', '--json'], { cwd: dir });
    const parsed = JSON.parse(status.stdout) as {
      live: { image: string };
      replicas: { ready: number };
    };
    expect(parsed.live.image).toBe(releases.v1.image);
    expect(parsed.replicas.ready).toBe(1);
    expect((await versionAt(`http://127.0.0.1:${port}/`)).image).toBe(releases.v1.image);
  }, 120_000);

  it('status --history shows what serves and what can be rolled back to', async () => {
    expect((await runCli(['deploy', releases.v2.image], { cwd: dir })).code).toBe(0);
    const status = await runCli(['status', '--history'], { cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${app} on docker: revision 2`);
    expect(status.stdout).toContain('replicas  1/1 ready');
    expect(status.stdout).toMatch(/^2\*\s.*digits@2/m);
    expect(status.stdout).toMatch(/^1\s.*digits@1/m);
  }, 120_000);

  it('rollback --to an unknown revision is one clear error; rollback goes back', async () => {
    const bad = await runCli(['rollback', '--to', '7'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')[0]).toBe(
      `error: app ${app} has no revision 7 (revisions: 2, 1)`,
    );
    const back = await runCli(['rollback'], { cwd: dir });
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/rolled back: revision 3, .*model digits@1/);
    expect((await versionAt(`http://127.0.0.1:${port}/`)).image).toBe(releases.v1.image);
  }, 120_000);

  it('destroy asks for --yes, then removes everything', async () => {
    const refused = await runCli(['destroy'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('add --yes');
    expect((await runCli(['destroy', '--yes'], { cwd: dir })).code).toBe(0);
    expect(await engineContainers(app)).toEqual([]);
    const status = await runCli(['status'], { cwd: dir });
    expect(status.stdout.trim()).toBe(`${app}: not deployed (docker)`);
  }, 60_000);
});

async function engineContainers(app: string): Promise<string[]> {
  const list = await new Docker().listContainers({
    all: true,
    filters: { label: [`dev.shipml.app=${app}`] },
  });
  return list.map((c) => c.Names[0] ?? c.Id);
}
