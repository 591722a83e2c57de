/**
 * Revisions are the Deployment's ReplicaSets: the Deployment controller numbers them
 * (deployment.kubernetes.io/revision) and keeps spec.revisionHistoryLimit old ones; each
 * keeps the pod template it was created from, provenance annotations included. A rollback
 * to an old ReplicaSet makes the controller give it the next number, so numbers only grow.
 *
 * Which ReplicaSets count as revisions: only those that served, i.e. that once had every
 * replica updated and available. ShipML marks a ReplicaSet `shipml.dev/served-at` when its
 * rollout completes; a release that never became ready (rolled back or cancelled) keeps its
 * ReplicaSet (the controller's history) but is not listed, and cannot be rolled back to.
 * The Deployment's current ReplicaSet also counts once its rollout is complete, so a
 * rollout that finished after ShipML stopped watching (Ctrl-C, a crash) is not lost.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { Revision } from '../types.js';
import { ANNOTATION, CONTAINER, REVISION, provenanceFrom } from './metadata.js';
import { rolloutState } from './rollout-state.js';

export function revisionNumber(rs: V1ReplicaSet): number {
  const n = Number(rs.metadata?.annotations?.[REVISION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The ReplicaSets the Deployment controls (by owner UID, not only by labels), newest first. */
export function ownedReplicaSets(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): V1ReplicaSet[] {
  const uid = deployment.metadata?.uid;
  return replicaSets
    .filter((rs) =>
      rs.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === uid),
    )
    .sort((a, b) => revisionNumber(b) - revisionNumber(a));
}

/**
 * The ReplicaSet of the Deployment's current template: the highest revision, once the
 * controller has observed the current generation (before that it may not exist yet).
 */
export function currentReplicaSet(
  deployment: V1Deployment,
  owned: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  const observed = deployment.status?.observedGeneration ?? 0;
  if (observed < (deployment.metadata?.generation ?? 0)) return undefined;
  return owned[0];
}

/** Whether a ReplicaSet carries ShipML's mark of having served (at any revision). */
export function wasServed(rs: V1ReplicaSet): boolean {
  return rs.metadata?.annotations?.[ANNOTATION.servedAt] !== undefined;
}

/** Whether the mark is up to date with the ReplicaSet's current revision number. */
export function servedAtCurrentRevision(rs: V1ReplicaSet): boolean {
  return rs.metadata?.annotations?.[ANNOTATION.servedRevision] === String(revisionNumber(rs));
}

/** The revisions that served, newest first (at most spec.revisionHistoryLimit). */
export function servedReplicaSets(
  deployment: V1Deployment,
  owned: readonly V1ReplicaSet[],
): V1ReplicaSet[] {
  const current = completeReplicaSet(deployment, owned);
  const limit = deployment.spec?.revisionHistoryLimit ?? 10;
  return owned.filter((rs) => rs === current || wasServed(rs)).slice(0, Math.max(1, limit));
}

/** The current ReplicaSet if the Deployment's rollout is complete, else undefined. */
export function completeReplicaSet(
  deployment: V1Deployment,
  owned: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  if (rolloutState(deployment).phase !== 'complete') return undefined;
  return currentReplicaSet(deployment, owned);
}

/**
 * The revision serving now: the current one when its rollout is complete; during a rollout
 * (or after one got stuck), the served revision with the most available replicas.
 */
export function liveReplicaSet(
  deployment: V1Deployment,
  owned: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  const complete = completeReplicaSet(deployment, owned);
  if (complete) return complete;
  const candidates = owned.filter(wasServed);
  let best: V1ReplicaSet | undefined;
  for (const rs of candidates) {
    const available = rs.status?.availableReplicas ?? 0;
    if (!best || available > (best.status?.availableReplicas ?? 0)) best = rs;
  }
  return best;
}

export function toRevision(rs: V1ReplicaSet): Revision {
  const template = rs.spec?.template;
  const containers = template?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === CONTAINER) ?? containers[0];
  const servedAt = rs.metadata?.annotations?.[ANNOTATION.servedAt];
  const created = rs.metadata?.creationTimestamp;
  return {
    number: revisionNumber(rs),
    image: container?.image ?? '',
    provenance: provenanceFrom(template?.metadata?.annotations),
    deployedAt: servedAt ?? isoTime(created),
  };
}

/** The typed client turns timestamps into Dates; plain objects (tests) keep strings. */
function isoTime(value: Date | string | undefined): string {
  if (value === undefined) return new Date(0).toISOString();
  return typeof value === 'string' ? value : value.toISOString();
}
