/**
 * The Kubernetes target against a real control plane (etcd, kube-apiserver, the real
 * Deployment/ReplicaSet/HPA controllers, kube-scheduler; kwok plays the kubelet), as started
 * by scripts/kubernetes.sh. Images are never pulled there, so releases name fictional
 * digests; kwok keeps pods labelled shipml.test/never-ready=true unready.
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Ingress,
  type V1Secret,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConfigError,
  ExternalServiceError,
  NotFoundError,
} from '../src/core/errors.js';
import { runDeployConformance } from '../src/deploy/conformance.js';
import { KubernetesTarget } from '../src/deploy/kubernetes/index.js';
import { REQUIRED_RULES } from '../src/deploy/kubernetes/rbac.js';
import { DEFAULT_SPEC, RolloutError, type DeploySpec } from '../src/deploy/types.js';
import { parse } from 'yaml';
import { runCli } from './helpers/cli.js';
import { required as requiredEnv } from './services.js';
import { kube, release, uniqueApp, uniqueNamespace } from './kubernetes.js';

// Read now, so a missing or foreign cluster fails the file at once.
const kubeconfig = kube.kubeconfig;
const [neverReadyKey, neverReadyValue] = kube.neverReadyLabel;
const namespace = uniqueNamespace();
const missingNamespace = uniqueNamespace();
let scratch: string;

beforeAll(async () => {
  await kube.createNamespace(namespace);
  scratch = await mkdtemp(join(tmpdir(), 'shipml-kube-'));
});
afterAll(async () => {
  await kube.deleteNamespace(namespace);
  await rm(scratch, { recursive: true, force: true });
});

const model = (version: string) => ({
  name: 'digits',
  version,
  digest: `sha256:${version.repeat(64).slice(0, 64)}`,
});
const releases = {
  v1: release('v1', {
    commit: '1111111111111111111111111111111111111111',
    appVersion: '1.0.0',
    model: model('1'),
  }),
  v2: release('v2', {
    commit: '2222222222222222222222222222222222222222',
    appVersion: '1.1.0',
    model: model('2'),
  }),
  neverReady: release('never', { commit: '3333333333333333333333333333333333333333-dirty' }),
};
const specFor = (app: string, more: Partial<DeploySpec> = {}): DeploySpec => ({
  ...DEFAULT_SPEC,
  app,
  replicas: 2,
  progressDeadlineSeconds: 60,
  ...more,
});

// The conformance target finds the cluster through KUBECONFIG (the default loading rules).
runDeployConformance({
  kind: 'kubernetes',
  target: new KubernetesTarget({ namespace, pollIntervalMs: 200 }),
  spec: specFor(uniqueApp()),
  releases,
  neverReadySpec: { labels: { [neverReadyKey]: neverReadyValue } },
});

describe('Kubernetes target: objects on the cluster', () => {
  const target = new KubernetesTarget({
    kubeconfig,
    namespace,
    pollIntervalMs: 200,
    service: { type: 'ClusterIP', port: 8080 },
    ingress: { host: 'digits.example.test', className: 'nginx', tlsSecret: 'digits-tls' },
    autoscale: { min: 2, max: 5, cpuPercent: 60 },
    pullSecret: {
      registry: 'registry.example.test:5000',
      username: 'ci',
      password: 'pull-pass-123',
    },
  });

  it('validates the rendered objects with a server-side dry run and persists nothing', async () => {
    const app = uniqueApp();
    await target.validate(releases.v1, specFor(app));
    const { core, apps } = kube.admin();
    await expect(apps.readNamespacedDeployment({ name: app, namespace })).rejects.toMatchObject({
      code: 404,
    });
    await expect(core.readNamespacedService({ name: app, namespace })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('reports every object the API server rejects in a dry run, by kind and name', async () => {
    const app = uniqueApp();
    const bad = new KubernetesTarget({
      kubeconfig,
      namespace,
      ingress: { host: 'not a host name' },
    });
    const spec = specFor(app, { labels: { 'not a label key': 'x' } });
    const err = await bad.validate(releases.v1, spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toMatch(/2 objects rejected/);
    expect(message).toContain(`Deployment/${app}`);
    expect(message).toMatch(/not a label key/);
    expect(message).toContain(`Ingress/${app}`);
    expect(message).toMatch(/spec\.rules\[0\]\.host/);
  });

  it('applies the Deployment, Service, Ingress, autoscaler and pull Secret, and prunes what a release drops', async () => {
    const app = uniqueApp();
    const result = await target.deploy(releases.v1, specFor(app));
    expect(result.revision.image).toBe(releases.v1.image);
    expect(result.url).toBe('https://digits.example.test/');
    const { apps, core, objects } = kube.admin();

    const deployment = await apps.readNamespacedDeployment({ name: app, namespace });
    const pod = deployment.spec!.template.spec!;
    expect(pod.containers[0]!.image).toBe(releases.v1.image);
    expect(pod.imagePullSecrets).toEqual([{ name: `${app}-pull` }]);
    // What the API server stored, not only what was rendered: nothing lost on the way.
    const container = pod.containers[0]!;
    expect(container.lifecycle?.preStop?.sleep?.seconds).toBe(DEFAULT_SPEC.drainSeconds);
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(deployment.spec!.strategy?.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(deployment.spec!.template.metadata!.annotations).toMatchObject({
      'shipml.dev/commit': releases.v1.provenance.commit,
      'shipml.dev/model-version': '1',
      'shipml.dev/image-digest': releases.v1.image.split('@')[1],
    });
    // The HPA owns spec.replicas: ShipML's applied configuration leaves it out.
    const mine = deployment.metadata!.managedFields!.find((f) => f.manager === 'shipml');
    expect(JSON.stringify(mine!.fieldsV1)).not.toContain('f:replicas');

    const secret = await core.readNamespacedSecret({ name: `${app}-pull`, namespace });
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    const config = JSON.parse(
      Buffer.from(secret.data!['.dockerconfigjson']!, 'base64').toString(),
    ) as { auths: Record<string, unknown> };
    expect(config.auths['registry.example.test:5000']).toMatchObject({
      username: 'ci',
      password: 'pull-pass-123',
    });

    const service = await core.readNamespacedService({ name: app, namespace });
    expect(service.spec!.type).toBe('ClusterIP');
    expect(service.spec!.ports![0]).toMatchObject({ port: 8080, targetPort: 'http' });

    const ingress = await objects.read<V1Ingress>({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: app, namespace },
    });
    expect(ingress.spec!.rules![0]!.host).toBe('digits.example.test');
    expect(ingress.spec!.tls).toEqual([
      { hosts: ['digits.example.test'], secretName: 'digits-tls' },
    ]);

    const hpa = await objects.read<V2HorizontalPodAutoscaler>({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: app, namespace },
    });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });

    // The next release turns autoscaling, the Ingress and the pull Secret off.
    const plain = new KubernetesTarget({ kubeconfig, namespace, pollIntervalMs: 200 });
    const second = await plain.deploy(releases.v2, specFor(app, { replicas: 3 }));
    expect(second.revision.image).toBe(releases.v2.image);
    const kinds = ['HorizontalPodAutoscaler', 'Ingress'] as const;
    for (const kind of kinds) {
      const apiVersion = kind === 'Ingress' ? 'networking.k8s.io/v1' : 'autoscaling/v2';
      await expect(
        objects.read({ apiVersion, kind, metadata: { name: app, namespace } }),
      ).rejects.toMatchObject({ code: 404 });
    }
    await expect(
      objects.read<V1Secret>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${app}-pull`, namespace },
      }),
    ).rejects.toMatchObject({ code: 404 });
    const status = await plain.status(app);
    expect(status.replicas).toEqual({ desired: 3, ready: 3, updated: 3 });

    await plain.destroy(app);
    expect((await plain.status(app)).live).toBeUndefined();
    await expect(core.readNamespacedService({ name: app, namespace })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('takes back fields another field manager changed (kubectl set image) on the next release', async () => {
    const app = uniqueApp();
    const plain = new KubernetesTarget({ kubeconfig, namespace, pollIntervalMs: 200 });
    await plain.deploy(releases.v1, specFor(app));
    const { objects } = kube.admin();
    await objects.patch<V1Deployment>(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: app, namespace },
        spec: {
          template: { spec: { containers: [{ name: 'app', image: releases.neverReady.image }] } },
        },
      } as V1Deployment,
      undefined,
      undefined,
      'kubectl-set',
    );
    const result = await plain.deploy(releases.v2, specFor(app));
    expect(result.revision.image).toBe(releases.v2.image);
    expect((await plain.status(app)).live?.image).toBe(releases.v2.image);
    await plain.destroy(app);
  });

  it('removes a first release that never becomes ready instead of leaving it half-deployed', async () => {
    const app = uniqueApp();
    const plain = new KubernetesTarget({ kubeconfig, namespace, pollIntervalMs: 200 });
    const spec = specFor(app, {
      progressDeadlineSeconds: 5,
      labels: { [neverReadyKey]: neverReadyValue },
    });
    const err = await plain.deploy(releases.neverReady, spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolloutError);
    const rollout = err as RolloutError;
    expect(rollout.failure).toBe('never-ready');
    expect(rollout.live).toBeUndefined();
    expect(rollout.rolledBack).toBe(false);
    expect(rollout.message).toMatch(/running but not ready/);
    expect(rollout.message).toMatch(/was removed/);
    expect((await plain.status(app)).live).toBeUndefined();
    expect(await plain.history(app)).toEqual([]);
    await expect(
      kube.admin().core.readNamespacedService({ name: app, namespace }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('reports the load balancer address once the cloud assigns one', async () => {
    const app = uniqueApp();
    const plain = new KubernetesTarget({ kubeconfig, namespace, pollIntervalMs: 200 });
    const result = await plain.deploy(releases.v1, specFor(app, { replicas: 1 }));
    expect(result.url).toBeUndefined();
    // No cloud controller here: play its part and set the Service's status.
    await kube.admin().core.patchNamespacedServiceStatus(
      {
        name: app,
        namespace,
        body: { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect((await plain.status(app)).url).toBe('http://203.0.113.7/');
    await plain.destroy(app);
  });

  it('refuses to roll back an app that is not deployed', async () => {
    const plain = new KubernetesTarget({ kubeconfig, namespace });
    await expect(plain.rollback(uniqueApp())).rejects.toThrow(NotFoundError);
  });
});

describe('Kubernetes target: permissions', () => {
  it('needs nothing beyond the documented Role: deploy, fail and roll back, roll back on request, destroy', async () => {
    const { token } = await kube.tokenFor(namespace, REQUIRED_RULES);
    const file = join(scratch, 'deployer.kubeconfig');
    await writeFile(file, kube.kubeconfigWithToken(token));
    const target = new KubernetesTarget({
      kubeconfig: file,
      namespace,
      pollIntervalMs: 200,
      ingress: { host: 'rbac.example.test' },
      autoscale: { min: 1, max: 3 },
      pullSecret: { registry: 'registry.example.test', username: 'ci', password: 'pull-pass-456' },
    });
    const app = uniqueApp();
    const spec = specFor(app, { replicas: 1, progressDeadlineSeconds: 5 });
    await target.deploy(releases.v1, spec);
    await target.deploy(releases.v2, spec);
    const broken = { ...spec, labels: { [neverReadyKey]: neverReadyValue } };
    const err = await target.deploy(releases.neverReady, broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolloutError);
    expect((err as RolloutError).failure).toBe('never-ready');
    expect((err as RolloutError).live?.image).toBe(releases.v2.image);
    const back = await target.rollback(app);
    expect(back.revision.image).toBe(releases.v1.image);
    expect((await target.history(app)).map((r) => r.image)).toEqual([
      releases.v1.image,
      releases.v2.image,
    ]);
    await target.destroy(app);
    expect((await target.status(app)).live).toBeUndefined();
  });
});

describe('Kubernetes target: clear errors', () => {
  it('a user without permissions gets one AuthenticationError naming the user, never the token', async () => {
    const { token, user } = await kube.tokenFor(namespace);
    const file = join(scratch, 'nobody.kubeconfig');
    await writeFile(file, kube.kubeconfigWithToken(token));
    const target = new KubernetesTarget({ kubeconfig: file, namespace });
    const err = await target.deploy(releases.v1, specFor(uniqueApp())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    const auth = err as AuthenticationError;
    expect(auth.status).toBe(403);
    expect(auth.message).toContain('forbidden');
    expect(auth.message).toContain(user);
    expect(auth.hint).toMatch(/Role/);
    expect(inspect(err, { depth: 10 })).not.toContain(token);
    expect(`${auth.message} ${auth.hint}`).not.toContain(token);
  });

  it('a namespace that does not exist is a ConfigError saying which', async () => {
    const target = new KubernetesTarget({ kubeconfig, namespace: missingNamespace });
    const err = await target.deploy(releases.v1, specFor(uniqueApp())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(
      `namespace "${missingNamespace}" does not exist`,
    );
    expect((err as ConfigError).hint).toContain(`kubectl create namespace ${missingNamespace}`);
  });

  it('a kubeconfig path that does not exist is a ConfigError', async () => {
    const target = new KubernetesTarget({ kubeconfig: join(scratch, 'absent.kubeconfig') });
    const err = await target.status('app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/absent\.kubeconfig does not exist/);
  });

  it('a kubeconfig that is not valid YAML is a ConfigError that does not quote the file', async () => {
    const file = join(scratch, 'broken.kubeconfig');
    const secret = 'tok-1234567890-secret';
    await writeFile(file, `users:\n- name: u\n  user: {token: ${secret}\n  : : [\n`);
    const err = await new KubernetesTarget({ kubeconfig: file })
      .status('app')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /is not a valid kubeconfig: YAML error at line \d+/,
    );
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('a context the kubeconfig does not have is a ConfigError listing the ones it has', async () => {
    const err = await new KubernetesTarget({ kubeconfig, context: 'nope' })
      .status('app')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /context "nope" is not in .*\(it has: shipml-test\)/,
    );
  });

  it('no kubeconfig anywhere is a ConfigError naming where it looked', async () => {
    const target = new KubernetesTarget({}, { env: {}, home: scratch });
    const err = await target.status('app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /no Kubernetes configuration found: KUBECONFIG is not set/,
    );
  });

  it('an API server that does not answer is a retryable ExternalServiceError naming the server', async () => {
    const port = await freePort();
    const token = 'unreachable-token-0123456789';
    const file = join(scratch, 'unreachable.kubeconfig');
    await writeFile(file, kube.kubeconfigWithToken(token, `https://127.0.0.1:${port}`));
    const err = await new KubernetesTarget({ kubeconfig: file })
      .status('app')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalServiceError);
    const e = err as ExternalServiceError;
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(`https://127.0.0.1:${port}`);
    expect(e.message).toContain('cannot reach the API server (ECONNREFUSED)');
    expect(e.hint).toMatch(/cluster running/);
    expect(inspect(err, { depth: 10 })).not.toContain(token);
  });
});

describe('shipml render, deploy, status, destroy on Kubernetes', () => {
  const app = `cli-${Date.now().toString(36)}`;
  let dir: string;
  // A real image in the test registry (the node base image): render and deploy read its digest.
  const image = () => requiredEnv('SHIPML_TEST_BASE_NODE');
  const env = () => ({ KUBECONFIG: kube.kubeconfig, HOME: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipml-kcli-'));
    await writeFile(
      join(dir, 'shipml.yaml'),
      `deploy:\n  target: kubernetes\n  app: ${app}\n  replicas: 2\n  kubernetes:\n    service: { type: ClusterIP, port: 80 }\n`,
    );
  });
  afterAll(async () => {
    await runCli(['destroy', '--yes'], { cwd: dir, env: env() });
    await rm(dir, { recursive: true, force: true });
  });

  it('render prints the manifests, pinned by digest, and --validate dry-runs them', async () => {
    const run = await runCli(['render', image(), '--validate'], { cwd: dir, env: env() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const docs = run.stdout
      .split(/^---$/m)
      .map((d) => parse(d) as { kind: string; spec?: unknown });
    expect(docs.map((d) => d.kind)).toEqual(['Service', 'Deployment']);
    expect(run.stdout).toMatch(
      new RegExp(`image: ${image().replace(/:24$/, '')}@sha256:[0-9a-f]{64}`),
    );
  });

  it('deploy rolls out through the controller; status says what serves', async () => {
    const run = await runCli(['deploy', image()], { cwd: dir, env: env() });
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^deployed revision 1, /);
    const status = await runCli(['status', '--json'], { cwd: dir, env: env() });
    const parsed = JSON.parse(status.stdout) as {
      target: string;
      live: { image: string };
      replicas: { ready: number; desired: number };
    };
    expect(parsed.target).toBe('kubernetes');
    expect(parsed.live.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(parsed.replicas).toMatchObject({ ready: 2, desired: 2 });
  }, 60_000);

  it('a kubeconfig that does not exist is one clear error line', async () => {
    const run = await runCli(['status', '--kubeconfig', join(dir, 'missing.yaml')], {
      cwd: dir,
      env: env(),
    });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(/^error: .*missing\.yaml/);
  });
});
