/**
 * The Kubernetes objects for one release, as a pure function of (release, spec, options):
 * no cluster is read. `shipml render` prints them; deploy() applies them with server-side
 * apply. The same inputs always give the same objects, so re-applying the live release
 * changes nothing (and starts no rollout).
 */
import type {
  KubernetesObject,
  V1Container,
  V1Deployment,
  V1Ingress,
  V1PodTemplateSpec,
  V1Secret,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { ConfigError } from '../../core/errors.js';
import { imageDigest, type DeploySpec, type Release } from '../types.js';
import {
  CONTAINER,
  LABEL,
  names,
  ownedLabels,
  provenanceAnnotations,
  provenanceEnv,
  selectorLabels,
  versionLabel,
} from './metadata.js';
import type { KubernetesTargetOptions } from './schema.js';

/** What render() needs of the options (the cluster connection is not among it). */
export type RenderOptions = Pick<
  KubernetesTargetOptions,
  'namespace' | 'service' | 'ingress' | 'autoscale' | 'resources' | 'pullSecret' | 'runAsUser'
>;

export interface RenderedManifests {
  deployment: V1Deployment;
  service: V1Service;
  ingress?: V1Ingress | undefined;
  autoscaler?: V2HorizontalPodAutoscaler | undefined;
  pullSecret?: V1Secret | undefined;
}

/** Seconds Kubernetes waits after the preStop hook before it kills the container. */
export const SHUTDOWN_GRACE_SECONDS = 30;
const TMP_VOLUME = 'tmp';

/** Renders every object of the release, in the order they are applied (the Deployment last). */
export function renderManifests(
  release: Release,
  spec: DeploySpec,
  options: RenderOptions,
): KubernetesObject[] {
  const m = render(release, spec, options);
  return [m.pullSecret, m.service, m.ingress, m.autoscaler, m.deployment].filter(
    (o): o is NonNullable<typeof o> => o !== undefined,
  );
}

export function render(
  release: Release,
  spec: DeploySpec,
  options: RenderOptions,
): RenderedManifests {
  checkInputs(release, spec, options);
  const { app } = spec;
  const namespace = options.namespace;
  const labels = { ...ownedLabels(app), ...versionLabels(release) };
  const meta = (name: string) => ({ name, namespace, labels });

  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(names.deployment(app)),
    spec: {
      // With an autoscaler, the HPA owns spec.replicas: leaving it out of the applied object
      // means ShipML never fights the HPA over it (server-side apply field ownership).
      ...(options.autoscale ? {} : { replicas: spec.replicas }),
      revisionHistoryLimit: spec.historyLimit,
      progressDeadlineSeconds: spec.progressDeadlineSeconds,
      selector: { matchLabels: selectorLabels(app) },
      // Never fewer ready replicas than asked for: one extra pod at a time, an old one goes
      // only once a new one is available.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: podTemplate(release, spec, options),
    },
  };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(names.service(app)),
    spec: {
      type: options.service.type,
      selector: selectorLabels(app),
      ports: [{ name: 'http', port: options.service.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };

  const ingress: V1Ingress | undefined = options.ingress && {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(names.ingress(app)),
    spec: {
      ...(options.ingress.className ? { ingressClassName: options.ingress.className } : {}),
      rules: [
        {
          host: options.ingress.host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: names.service(app), port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
      ...(options.ingress.tlsSecret
        ? { tls: [{ hosts: [options.ingress.host], secretName: options.ingress.tlsSecret }] }
        : {}),
    },
  };

  const autoscaler: V2HorizontalPodAutoscaler | undefined = options.autoscale && {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(names.autoscaler(app)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names.deployment(app) },
      minReplicas: options.autoscale.min,
      maxReplicas: options.autoscale.max,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: options.autoscale.cpuPercent },
          },
        },
      ],
    },
  };

  const pullSecret: V1Secret | undefined = options.pullSecret && {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(names.pullSecret(app)),
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': dockerConfigJson(options.pullSecret) },
  };

  return { deployment, service, ingress, autoscaler, pullSecret };
}

function podTemplate(
  release: Release,
  spec: DeploySpec,
  options: RenderOptions,
): V1PodTemplateSpec {
  const { app } = spec;
  // PORT as on the Docker target: apps that read it listen where the probes look.
  const env: Record<string, string> = {
    PORT: String(spec.port),
    ...provenanceEnv(release),
    ...spec.env,
  };
  const container: V1Container = {
    name: CONTAINER,
    image: release.image,
    ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
    env: Object.keys(env)
      .sort()
      .map((name) => ({ name, value: env[name] })),
    resources: options.resources,
    // A slow model load must not count against liveness: the startup probe holds the
    // liveness probe back for up to the whole progress deadline.
    startupProbe: {
      httpGet: { path: spec.livenessPath, port: 'http' },
      periodSeconds: 2,
      failureThreshold: Math.max(1, Math.ceil(spec.progressDeadlineSeconds / 2)),
      timeoutSeconds: 2,
    },
    readinessProbe: {
      httpGet: { path: spec.readinessPath, port: 'http' },
      periodSeconds: 5,
      failureThreshold: 3,
      timeoutSeconds: 2,
    },
    livenessProbe: {
      httpGet: { path: spec.livenessPath, port: 'http' },
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 2,
    },
    // Keep serving while endpoints and load balancers notice the pod is going away, then
    // SIGTERM. The `sleep` handler (Kubernetes >= 1.30) needs no shell in the image.
    ...(spec.drainSeconds > 0
      ? { lifecycle: { preStop: { sleep: { seconds: spec.drainSeconds } } } }
      : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    // The root file system is read-only; /tmp is the one writable place.
    volumeMounts: [{ name: TMP_VOLUME, mountPath: '/tmp' }],
  };
  return {
    metadata: {
      // The spec's extra labels first, so they can never replace the selector's.
      labels: { ...spec.labels, ...ownedLabels(app), ...versionLabels(release) },
      // Provenance on the template: each ReplicaSet (revision) keeps its own copy.
      annotations: provenanceAnnotations(release),
    },
    spec: {
      containers: [container],
      terminationGracePeriodSeconds: spec.drainSeconds + SHUTDOWN_GRACE_SECONDS,
      // The app needs no Kubernetes API access and no service-link environment variables.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        // The kubelet cannot check that a user given by name (USER app) is not root, and
        // refuses to start such a container under runAsNonRoot; a numeric uid it can check.
        runAsUser: options.runAsUser,
        runAsGroup: options.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumes: [{ name: TMP_VOLUME, emptyDir: {} }],
      ...(options.pullSecret ? { imagePullSecrets: [{ name: names.pullSecret(app) }] } : {}),
    },
  };
}

function versionLabels(release: Release): Record<string, string> {
  const version = versionLabel(release.provenance);
  return version ? { [LABEL.version]: version } : {};
}

/** The `.dockerconfigjson` of an image pull Secret, base64 (the Secret's `data`). */
export function dockerConfigJson(c: { registry: string; username: string; password: string }) {
  const auth = Buffer.from(`${c.username}:${c.password}`).toString('base64');
  const json = JSON.stringify({
    auths: { [c.registry]: { username: c.username, password: c.password, auth } },
  });
  return Buffer.from(json).toString('base64');
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const PINNED = /@sha256:[a-f0-9]{64}$/;

function checkInputs(release: Release, spec: DeploySpec, options: RenderOptions): void {
  // 58 leaves room for the longest derived name, `<app>-pull`, within 63.
  if (!DNS_LABEL.test(spec.app) || spec.app.length > 58) {
    throw new ConfigError(
      `invalid app name ${JSON.stringify(spec.app)}: expected a DNS label of at most 58 characters (a-z, 0-9, '-', starting with a letter)`,
    );
  }
  if (!PINNED.test(release.image) || imageDigest(release.image) === undefined) {
    throw new ConfigError(
      `image ${JSON.stringify(release.image)} is not pinned by digest: Kubernetes revisions must each mean one image`,
      { hint: 'deploy the repository@sha256:... reference that `shipml build` printed' },
    );
  }
  if (options.autoscale && !options.resources.requests?.cpu) {
    throw new ConfigError(
      'deploy.kubernetes.autoscale needs deploy.kubernetes.resources.requests.cpu: the autoscaler targets a percentage of the CPU request',
    );
  }
}
