import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeployConformance } from '../src/deploy/conformance.js';
import { DockerTarget } from '../src/deploy/docker/target.js';
import { startLoad } from '../src/deploy/load.js';
import { DEFAULT_SPEC, RolloutError, type DeploySpec } from '../src/deploy/types.js';
import { buildDigitsReleases, PREDICT_BODY, type DigitsReleases } from './helpers/digits.js';
import { required } from './services.js';

/**
 * The Docker target against the real Docker Engine, with examples/digits images built by
 * ShipML and HAProxy as the load balancer on 127.0.0.1.
 */
const ns = `d${Date.now().toString(36)}`;
let work: string;
const releases = {} as DigitsReleases;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
