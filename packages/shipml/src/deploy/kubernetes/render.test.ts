import type {
  KubernetesObject,
  V1Deployment,
  V1Ingress,
  V1Secret,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_SPEC, type DeploySpec, type Release } from '../types.js';
import { render, renderManifests } from './render.js';
import { KubernetesTargetOptionsSchema, type KubernetesTargetInput } from './schema.js';
import { manifestsToYaml } from './yaml.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const release: Release = {
  image: `registry.example.test/team/digits@${digest}`,
  provenance: {
    commit: '0123456789abcdef0123456789abcdef01234567',
    appVersion: '1.4.0',
    model: { name: 'digits', version: '7', digest: `sha256:${'cd'.repeat(32)}` },
  },
};
const spec: DeploySpec = {
  ...DEFAULT_SPEC,
  app: 'digits',
  replicas: 3,
  port: 3000,
  env: { LOG_LEVEL: 'debug' },
  labels: { team: 'ml' },
  progressDeadlineSeconds: 90,
  drainSeconds: 7,
  historyLimit: 4,
};
const options = (input: KubernetesTargetInput = {}) =>
  KubernetesTargetOptionsSchema.parse({ namespace: 'prod', ...input });

function deploymentOf(input?: KubernetesTargetInput, s: DeploySpec = spec): V1Deployment {
  return render(release, s, options(input)).deployment;
}

describe('render: Deployment', () => {
  const d = deploymentOf();
  const pod = d.spec!.template.spec!;
  const container = pod.containers[0]!;

  it('pins the image by digest and refuses a tag', () => {
    expect(container.image).toBe(release.image);
    expect(() =>
      render({ ...release, image: 'registry.example.test/team/digits:1.4.0' }, spec, options()),
    ).toThrow(ConfigError);
    expect(() =>
      render(
        { ...release, image: 'registry.example.test/team/digits@sha256:abc' },
        spec,
        options(),
      ),
    ).toThrow(/not pinned by digest/);
  });

  it('rolls out one extra pod at a time and never drops below the replicas asked for', () => {
    expect(d.spec).toMatchObject({
      replicas: 3,
      revisionHistoryLimit: 4,
      progressDeadlineSeconds: 90,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
  });

  it('probes readiness and liveness over HTTP on the app port', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    // The startup probe covers a slow model load for the whole progress deadline.
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(
      container.startupProbe!.periodSeconds! * container.startupProbe!.failureThreshold!,
    ).toBeGreaterThanOrEqual(90);
  });

  it('drains with a preStop sleep (no shell needed) inside the termination grace period', () => {
    expect(container.lifecycle).toEqual({ preStop: { sleep: { seconds: 7 } } });
    expect(pod.terminationGracePeriodSeconds).toBe(37);
    const noDrain = deploymentOf({}, { ...spec, drainSeconds: 0 });
    expect(noDrain.spec!.template.spec!.containers[0]!.lifecycle).toBeUndefined();
    expect(noDrain.spec!.template.spec!.terminationGracePeriodSeconds).toBe(30);
  });

  it('runs locked down: non-root, read-only root, no privilege escalation, no capabilities, seccomp', () => {
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    // The one writable place.
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('sets the requests and limits', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    });
    const custom = deploymentOf({ resources: { limits: { cpu: '2', 'nvidia.com/gpu': '1' } } });
    expect(custom.spec!.template.spec!.containers[0]!.resources).toEqual({
      limits: { cpu: '2', 'nvidia.com/gpu': '1' },
    });
  });

  it('records provenance on the pod template, so every ReplicaSet keeps its own', () => {
    expect(d.spec!.template.metadata!.annotations).toEqual({
      'shipml.dev/commit': release.provenance.commit,
      'shipml.dev/app-version': '1.4.0',
      'shipml.dev/model-name': 'digits',
      'shipml.dev/model-version': '7',
      'shipml.dev/model-digest': release.provenance.model!.digest,
      'shipml.dev/image-digest': digest,
    });
    // And tells the app, for its /version endpoint; the spec's env comes on top.
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      SHIPML_IMAGE: release.image,
      SHIPML_COMMIT: release.provenance.commit,
      SHIPML_MODEL_VERSION: '7',
      LOG_LEVEL: 'debug',
    });
  });

  it('labels with app.kubernetes.io/*, selects without the version, and keeps extra labels off the selector', () => {
    expect(d.metadata!.labels).toEqual({
      'app.kubernetes.io/name': 'digits',
      'app.kubernetes.io/instance': 'digits',
      'app.kubernetes.io/managed-by': 'shipml',
      'app.kubernetes.io/version': '1.4.0',
    });
    expect(d.spec!.selector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'digits', 'app.kubernetes.io/instance': 'digits' },
    });
    expect(d.spec!.template.metadata!.labels).toMatchObject({
      team: 'ml',
      'app.kubernetes.io/version': '1.4.0',
    });
    const hijack = deploymentOf({}, { ...spec, labels: { 'app.kubernetes.io/name': 'other' } });
    expect(hijack.spec!.template.metadata!.labels!['app.kubernetes.io/name']).toBe('digits');
  });

  it('makes a label-safe version out of any app version', () => {
    const versionOf = (provenance: Release['provenance']) =>
      render({ ...release, provenance }, spec, options()).deployment.metadata!.labels![
        'app.kubernetes.io/version'
      ];
    expect(versionOf({ appVersion: '+1.0.0+build/7+' })).toBe('1.0.0-build-7');
    expect(versionOf({ commit: 'abcdef0123456789abcdef' })).toBe('abcdef012345');
  });

  it('is deterministic: the same inputs render the same objects', () => {
    expect(renderManifests(release, spec, options())).toEqual(
      renderManifests(release, spec, options()),
    );
  });

  it('refuses an app name that is not a DNS label', () => {
    expect(() => render(release, { ...spec, app: 'Digits_App' }, options())).toThrow(ConfigError);
  });
});

describe('render: Service, Ingress, autoscaler, pull Secret', () => {
  it('exposes the app port through a LoadBalancer Service by default', () => {
    const service: V1Service = render(release, spec, options()).service;
    expect(service.metadata!.namespace).toBe('prod');
    expect(service.spec).toEqual({
      type: 'LoadBalancer',
      selector: { 'app.kubernetes.io/name': 'digits', 'app.kubernetes.io/instance': 'digits' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
  });

  it('routes the Ingress host to the Service, with TLS when a secret is named', () => {
    const ingress: V1Ingress = render(
      release,
      spec,
      options({
        ingress: { host: 'digits.example.com', className: 'nginx', tlsSecret: 'digits-tls' },
      }),
    ).ingress!;
    expect(ingress.spec!.ingressClassName).toBe('nginx');
    expect(ingress.spec!.rules).toEqual([
      {
        host: 'digits.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'digits', port: { name: 'http' } } },
            },
          ],
        },
      },
    ]);
    expect(ingress.spec!.tls).toEqual([
      { hosts: ['digits.example.com'], secretName: 'digits-tls' },
    ]);
    expect(render(release, spec, options()).ingress).toBeUndefined();
  });

  it('with autoscaling, renders an HPA and leaves spec.replicas to it', () => {
    const m = render(release, spec, options({ autoscale: { min: 2, max: 8 } }));
    expect(m.deployment.spec).not.toHaveProperty('replicas');
    const hpa: V2HorizontalPodAutoscaler = m.autoscaler!;
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'digits' },
      minReplicas: 2,
      maxReplicas: 8,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    });
    expect(() =>
      render(
        release,
        spec,
        options({ autoscale: { min: 2, max: 8 }, resources: { requests: {} } }),
      ),
    ).toThrow(/requests\.cpu/);
  });

  it('turns registry credentials into a dockerconfigjson Secret the pods pull with', () => {
    const m = render(
      release,
      spec,
      options({
        pullSecret: { registry: 'registry.example.test', username: 'bot', password: 's3cr3t!' },
      }),
    );
    const secret: V1Secret = m.pullSecret!;
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    const json: unknown = JSON.parse(
      Buffer.from(secret.data!['.dockerconfigjson']!, 'base64').toString(),
    );
    expect(json).toEqual({
      auths: {
        'registry.example.test': {
          username: 'bot',
          password: 's3cr3t!',
          auth: Buffer.from('bot:s3cr3t!').toString('base64'),
        },
      },
    });
    expect(m.deployment.spec!.template.spec!.imagePullSecrets).toEqual([{ name: 'digits-pull' }]);
  });

  it('lists the objects in apply order, the Deployment last', () => {
    const all = renderManifests(
      release,
      spec,
      options({
        ingress: { host: 'digits.example.com' },
        autoscale: { min: 1, max: 3 },
        pullSecret: { registry: 'r.example', username: 'u', password: 'password' },
      }),
    );
    expect(all.map((o: KubernetesObject) => o.kind)).toEqual([
      'Secret',
      'Service',
      'Ingress',
      'HorizontalPodAutoscaler',
      'Deployment',
    ]);
  });
});

describe('render: options and YAML', () => {
  it('refuses malformed resource quantities and autoscale bounds before any cluster sees them', () => {
    expect(
      KubernetesTargetOptionsSchema.safeParse({ resources: { requests: { cpu: 'lots' } } }).success,
    ).toBe(false);
    expect(KubernetesTargetOptionsSchema.safeParse({ autoscale: { min: 5, max: 2 } }).success).toBe(
      false,
    );
  });

  it('prints YAML documents that read back as the objects, with secret values masked', () => {
    const objects = renderManifests(
      release,
      spec,
      options({ pullSecret: { registry: 'r.example', username: 'u', password: 'hunter2-secret' } }),
    );
    const text = manifestsToYaml(objects);
    expect(text).not.toContain(Buffer.from('u:hunter2-secret').toString('base64'));
    const docs = parseAllDocuments(text).map((d) => d.toJS() as KubernetesObject);
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Service', 'Deployment']);
    expect(docs[0]).toMatchObject({ data: { '.dockerconfigjson': '<redacted>' } });
    expect(docs[2]).toEqual(objects[2]);
    const shown = parseAllDocuments(manifestsToYaml(objects, { showSecrets: true }));
    expect(shown[0]!.toJS()).toEqual(objects[0]);
  });
});
