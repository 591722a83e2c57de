/**
 * The Kubernetes control plane the tests use, as started by `scripts/kubernetes.sh start`
 * (scripts/test.sh does it), which writes KUBECONFIG and SHIPML_TEST_KUBE_* to
 * .shipml/kubernetes/env. A missing variable fails loudly: these tests never skip silently,
 * and they refuse a KUBECONFIG that points anywhere but that test cluster.
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  type V1Namespace,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Release } from '../src/deploy/types.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through scripts/test.sh (it starts the Kubernetes control plane), or: scripts/kubernetes.sh start && source .shipml/kubernetes/env`,
    );
  }
  return value;
}

export const kube = {
  /** The admin kubeconfig of the test cluster (embedded client certificate). */
  get kubeconfig(): string {
    const file = required('KUBECONFIG');
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    if (kc.getCurrentCluster()?.server !== this.server) {
      throw new Error(
        `KUBECONFIG (${file}) does not point at the test cluster ${this.server}: refusing to deploy test apps there`,
      );
    }
    return file;
  },
  get server(): string {
    return required('SHIPML_TEST_KUBE_SERVER');
  },
  get caFile(): string {
    return required('SHIPML_TEST_KUBE_CA');
  },
  /** `key=value` of the label kwok keeps unready. */
  get neverReadyLabel(): [string, string] {
    const [key = '', value = ''] = required('SHIPML_TEST_KUBE_NEVER_READY_LABEL').split('=');
    return [key, value];
  },

  admin() {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    return {
      core: kc.makeApiClient(CoreV1Api),
      apps: kc.makeApiClient(AppsV1Api),
      objects: KubernetesObjectApi.makeApiClient(kc),
      rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    };
  },

  /** Creates a namespace and waits for its default ServiceAccount (pods need it to be admitted). */
  async createNamespace(name = uniqueNamespace()): Promise<string> {
    const { core } = this.admin();
    const ns: V1Namespace = { metadata: { name, labels: { 'shipml.test/owner': 'vitest' } } };
    await core.createNamespace({ body: ns });
    for (let i = 0; i < 100; i++) {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
        return name;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`namespace ${name}: the default ServiceAccount never appeared`);
  },

  async deleteNamespace(name: string): Promise<void> {
    await this.admin()
      .core.deleteNamespace({ name })
      .catch(() => undefined);
  },

  /**
   * A bearer token (TokenRequest API) for a new ServiceAccount bound to a Role with `rules`
   * in `namespace`, or to nothing at all.
   */
  async tokenFor(
    namespace: string,
    rules: V1PolicyRule[] = [],
  ): Promise<{ token: string; user: string }> {
    const { core, rbac } = this.admin();
    const name = `sa-${randomBytes(3).toString('hex')}`;
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    if (rules.length > 0) {
      await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [{ kind: 'ServiceAccount', name, namespace }],
        },
      });
    }
    const request = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = request.status?.token;
    if (!token) throw new Error('TokenRequest returned no token');
    return { token, user: `system:serviceaccount:${namespace}:${name}` };
  },

  /** A kubeconfig for `server` authenticating with a bearer token. */
  kubeconfigWithToken(token: string, server?: string): string {
    server ??= this.server;
    const ca = readFileSync(this.caFile).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${ca}`,
      'users:',
      '- name: token-user',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: test',
      '  context: {cluster: test, user: token-user}',
      'current-context: test',
      '',
    ].join('\n');
  },
};

/** A release of a fictional image pinned by digest: `seed` picks the digest. */
export function release(seed: string, provenance: Release['provenance'] = {}): Release {
  const digest = Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64);
  return { image: `registry.invalid/shipml-test/app@sha256:${digest}`, provenance };
}

export function uniqueNamespace(): string {
  return `shipml-${randomBytes(4).toString('hex')}`;
}

export function uniqueApp(): string {
  return `app-${randomBytes(4).toString('hex')}`;
}
