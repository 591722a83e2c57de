import type { TargetDescriptor } from '../types.js';
import { KubernetesDeploySchema } from './schema.js';

/** A Kubernetes cluster, reached by kubectl's rules (kubeconfig, context, in-cluster). */
export const kubernetes = {
  id: 'kubernetes',
  summary: 'a Kubernetes cluster: Deployment, Service, optional Ingress and autoscaler',
  optionsSchema: KubernetesDeploySchema,
  flags: [
    {
      flags: '--kubeconfig <file>',
      option: 'kubeconfig',
      description: 'kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)',
    },
    { flags: '--context <name>', option: 'context', description: 'kubeconfig context' },
    { flags: '-n, --namespace <name>', option: 'namespace', description: 'namespace' },
  ],
  capabilities: ['render'],
  secretOptions: [],
  secretEnv: [],
  // A path to the kubeconfig file, which the CI writes from its secret store.
  ciEnv: ['KUBECONFIG'],
  example: 'deploy:\n  target: kubernetes\n  kubernetes: { context: prod, namespace: digits }',
  open: async (options, ctx) => {
    const { KubernetesTarget } = await import('./index.js');
    return new KubernetesTarget({ ...options, pullSecret: ctx.pull }, { env: ctx.env });
  },
} as const satisfies TargetDescriptor<typeof KubernetesDeploySchema>;
