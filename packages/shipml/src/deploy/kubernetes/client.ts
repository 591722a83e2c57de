/**
 * The connection to one cluster: the kubeconfig, loaded the way kubectl does (an explicit
 * file, else KUBECONFIG, else ~/.kube/config, else the pod's service account), and the API
 * clients, with a time limit on every request and retries on transient failures.
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_RETRY, withRetry } from '../../core/retry.js';
import { kubeError } from './errors.js';
import type { KubernetesTargetOptions } from './schema.js';

/** Where kubectl finds a pod's own credentials (rest.InClusterConfig). */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConnection {
  apps: AppsV1Api;
  core: CoreV1Api;
  /** Any kind by apiVersion/kind: server-side apply, dry runs, deletes. */
  objects: KubernetesObjectApi;
  namespace: string;
  /** `context "x" (https://host:port)`, for messages: never any credential. */
  cluster: string;
  /** Runs one API request: errors become ShipmlErrors, transient ones are retried. */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T>;
}

export interface ConnectDeps {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

export function connect(options: KubernetesTargetOptions, deps: ConnectDeps = {}): KubeConnection {
  const { kc, source } = loadKubeConfig(options.kubeconfig, deps.env ?? process.env, deps.home);
  const contextName = options.context ?? kc.getCurrentContext();
  if (!contextName) {
    throw new ConfigError(`${source} has no current-context`, {
      hint: 'set deploy.kubernetes.context, or run kubectl config use-context NAME',
    });
  }
  if (!kc.getContextObject(contextName)) {
    const known = kc.getContexts().map((c) => c.name);
    throw new ConfigError(
      `context "${contextName}" is not in ${source} (it has: ${known.join(', ') || 'none'})`,
      { hint: 'set deploy.kubernetes.context to one of them' },
    );
  }
  kc.setCurrentContext(contextName);
  const server = kc.getCurrentCluster()?.server;
  if (!server) {
    throw new ConfigError(`context "${contextName}" in ${source} names no cluster with a server`);
  }
  if (!URL.canParse(server)) {
    throw new ConfigError(`context "${contextName}" in ${source}: invalid server URL`);
  }
  const url = new URL(server);
  // A server URL could in theory carry user:password@; never print that part.
  url.username = '';
  url.password = '';
  const cluster = `context "${contextName}" (${url.origin}${url.pathname.replace(/\/$/, '')})`;
  const timeoutMs = options.requestTimeoutSeconds * 1000;

  const config = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: (request) => {
          request.setSignal(AbortSignal.timeout(timeoutMs));
          return Promise.resolve(request);
        },
        post: (response) => Promise.resolve(response),
      },
    ],
  });
  const ctx = {
    cluster,
    namespace: options.namespace,
    requestTimeoutSeconds: options.requestTimeoutSeconds,
  };
  return {
    apps: new AppsV1Api(config),
    core: new CoreV1Api(config),
    objects: new KubernetesObjectApi(config),
    namespace: options.namespace,
    cluster,
    call: (operation, fn) =>
      withRetry(async () => {
        try {
          return await fn();
        } catch (err) {
          throw kubeError(err, { ...ctx, operation });
        }
      }, DEFAULT_RETRY),
  };
}

function loadKubeConfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  home = homedir(),
): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  if (explicit) {
    loadFile(kc, explicit, `kubeconfig ${explicit}`);
    return { kc, source: `kubeconfig ${explicit}` };
  }
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (fromEnv.length > 0) {
    // Like kubectl: every file in the list is merged, the first one winning.
    const [first, ...rest] = fromEnv as [string, ...string[]];
    loadFile(kc, first, `kubeconfig ${first} (from KUBECONFIG)`);
    for (const file of rest) {
      const more = new KubeConfig();
      loadFile(more, file, `kubeconfig ${file} (from KUBECONFIG)`);
      kc.mergeConfig(more);
    }
    return { kc, source: `kubeconfig ${fromEnv.join(delimiter)} (from KUBECONFIG)` };
  }
  const user = join(home, '.kube', 'config');
  if (existsSync(user)) {
    loadFile(kc, user, `kubeconfig ${user}`);
    return { kc, source: `kubeconfig ${user}` };
  }
  if (existsSync(IN_CLUSTER_TOKEN)) {
    kc.loadFromCluster();
    return { kc, source: 'the in-cluster service account' };
  }
  throw new ConfigError(
    `no Kubernetes configuration found: KUBECONFIG is not set, ${user} does not exist, and this is not a pod`,
    { hint: 'set deploy.kubernetes.kubeconfig or KUBECONFIG to your cluster’s kubeconfig' },
  );
}

function loadFile(kc: KubeConfig, path: string, what: string): void {
  if (!existsSync(path)) {
    throw new ConfigError(`${what} does not exist`, {
      hint: 'set deploy.kubernetes.kubeconfig or KUBECONFIG to an existing kubeconfig file',
    });
  }
  try {
    kc.loadFromFile(path);
  } catch (err) {
    // Never the parser's own message: js-yaml quotes the lines around the error, which may
    // hold a token or a key.
    throw new ConfigError(`${what} is not a valid kubeconfig: ${describeParseError(err)}`, {
      hint: 'check it with kubectl config view',
    });
  }
  if (kc.getClusters().length === 0 || kc.getContexts().length === 0) {
    throw new ConfigError(`${what} is not a valid kubeconfig: it has no clusters or no contexts`, {
      hint: 'check it with kubectl config view',
    });
  }
}

function describeParseError(err: unknown): string {
  const e = err as { name?: string; reason?: string; mark?: { line?: number }; message?: string };
  if (e.name === 'YAMLException') {
    const line = e.mark?.line !== undefined ? ` at line ${e.mark.line + 1}` : '';
    return `YAML error${line}${e.reason ? ` (${e.reason})` : ''}`;
  }
  // client-node's own checks name the entry, never its value ("users[0].name is missing").
  if (typeof e.message === 'string' && /^(clusters|users|contexts)\[\d+\]/.test(e.message)) {
    return e.message;
  }
  return 'expected a YAML mapping with clusters, users and contexts';
}
