/**
 * Opens the deploy target shipml.yaml (and flags) select. Each target's module — and its
 * client library — is loaded only when that target is used.
 */
import type { ShipmlConfig } from '../config/schema.js';
import { findCredentials } from '../oci/remote/credentials.js';
import type { DeployConfig } from './spec.js';
import type { DeployTarget } from './types.js';

export interface TargetSelection {
  kind: 'docker' | 'kubernetes';
  deploy: DeployConfig;
  /** Flag overrides of deploy.docker. */
  docker?: { port?: number | undefined };
  /** Flag overrides of deploy.kubernetes. */
  kubernetes?: {
    kubeconfig?: string | undefined;
    context?: string | undefined;
    namespace?: string | undefined;
  };
  /** The registry host of the image to deploy, for pull credentials. */
  registry?: string | undefined;
  registryConfig?: ShipmlConfig['registry'];
}

export async function openTarget(
  selection: TargetSelection,
  env: NodeJS.ProcessEnv,
): Promise<DeployTarget> {
  const credential = selection.registry
    ? await findCredentials(selection.registry, {
        env,
        explicit: selection.registryConfig,
      })
    : undefined;
  const pull =
    credential?.username && credential.password && selection.registry
      ? {
          registry: selection.registry,
          username: credential.username,
          password: credential.password,
        }
      : undefined;

  if (selection.kind === 'docker') {
    const { DockerTarget } = await import('./docker/target.js');
    const docker = selection.deploy.docker;
    return new DockerTarget({
      port: selection.docker?.port ?? docker?.port ?? 8080,
      address: docker?.address,
      proxyImage: docker?.proxyImage,
      registryAuth: pull && {
        username: pull.username,
        password: pull.password,
        serveraddress: pull.registry,
      },
      env,
    });
  }
  const { KubernetesTarget } = await import('./kubernetes/index.js');
  const k = selection.deploy.kubernetes;
  const flags = selection.kubernetes ?? {};
  return new KubernetesTarget(
    {
      kubeconfig: flags.kubeconfig ?? k?.kubeconfig,
      context: flags.context ?? k?.context,
      namespace: flags.namespace ?? k?.namespace,
      service: k?.service,
      ingress: k?.ingress,
      autoscale: k?.autoscale,
      resources: k?.resources,
      runAsUser: k?.runAsUser,
      pullSecret: pull,
    },
    { env },
  );
}
