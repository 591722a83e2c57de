/**
 * The permissions the Kubernetes target needs in its namespace: exactly what it calls.
 * The README shows them as a Role (a test keeps the two identical), and a test deploys,
 * rolls back and destroys with a ServiceAccount bound to nothing more.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const WRITE = ['get', 'list', 'create', 'patch', 'delete'];

export const REQUIRED_RULES: PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: WRITE },
  // history() reads ReplicaSets; a finished rollout marks its ReplicaSet served (patch).
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list', 'patch'] },
  // Why a rollout is stuck comes from the new pods' status.
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['services', 'secrets'], verbs: WRITE },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: WRITE },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: WRITE },
];
