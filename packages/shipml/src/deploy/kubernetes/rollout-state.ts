/**
 * Where a Deployment's rollout stands, judged the way `kubectl rollout status` does
 * (kubectl/pkg/polymorphichelpers/rollout_status.go): the controller must have seen the
 * current generation; every replica must run the new template and be available; no old
 * replica may remain. Pure, so it is unit-tested on plain objects.
 */
import type { V1Deployment } from '@kubernetes/client-node';

export interface ReplicaCounts {
  desired: number;
  ready: number;
  updated: number;
}

export type RolloutState =
  | { phase: 'waiting'; message: string; replicas: ReplicaCounts }
  | { phase: 'complete'; message: string; replicas: ReplicaCounts }
  /** The controller gave up: Progressing=False, reason ProgressDeadlineExceeded. */
  | { phase: 'deadline'; message: string; replicas: ReplicaCounts };

export function replicaCounts(d: V1Deployment): ReplicaCounts {
  return {
    desired: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
  };
}

export function rolloutState(d: V1Deployment): RolloutState {
  const replicas = replicaCounts(d);
  const status = d.status ?? {};
  const generation = d.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return { phase: 'waiting', message: 'waiting for the controller to see the change', replicas };
  }
  const total = status.replicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  // Completion first: a finished rollout is finished even while an old Progressing
  // condition (say, from the failed rollout a rollback just undid) still reads timed out.
  if (updated >= replicas.desired && total <= updated && available >= updated) {
    return {
      phase: 'complete',
      message: `${updated} of ${replicas.desired} replicas updated and available`,
      replicas,
    };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      phase: 'deadline',
      message: `the Deployment controller reports ProgressDeadlineExceeded${progressing.message ? ` (${progressing.message})` : ''}`,
      replicas,
    };
  }
  if (updated < replicas.desired) {
    return {
      phase: 'waiting',
      message: `${updated} of ${replicas.desired} new replicas updated, ${available} available`,
      replicas,
    };
  }
  if (total > updated) {
    return {
      phase: 'waiting',
      message: `${total - updated} old replica${total - updated === 1 ? '' : 's'} pending termination`,
      replicas,
    };
  }
  return {
    phase: 'waiting',
    message: `${available} of ${updated} updated replicas available`,
    replicas,
  };
}
