/**
 * Why the new ReplicaSet's pods are not serving, read from their status the way
 * `kubectl describe pod` shows it: container waiting reasons, restarts, readiness and
 * scheduling. Pure, so every reason is unit-tested without a kubelet.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { RolloutFailure } from '../types.js';

export interface Diagnosis {
  failure: RolloutFailure;
  /** One clause for the error message, e.g. `pod app-7d9-x: ImagePullBackOff (...)`. */
  detail: string;
  /** True when waiting longer cannot help (the image name is invalid, ...). */
  permanent: boolean;
}

/** Waiting reasons of the kubelet's image manager (pkg/kubelet/images). */
const IMAGE_PULL = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'SignatureValidationFailed',
]);
const PERMANENT_IMAGE = new Set(['InvalidImageName', 'ErrImageNeverPull']);

/** Container creation failures that are the configuration's fault, not the app's. */
const CONFIG_REASONS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * The most telling reason among `pods` (the new revision's), or undefined when nothing is
 * wrong yet. Order of precedence: image pull, crash loop, container config, unschedulable,
 * running but never ready.
 */
export function diagnosePods(pods: readonly V1Pod[]): Diagnosis | undefined {
  const found: Array<Diagnosis & { rank: number }> = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const name = `pod ${pod.metadata?.name ?? '?'}`;
    for (const status of containerStatuses(pod)) {
      const waiting = status.state?.waiting;
      const reason = waiting?.reason;
      if (reason && IMAGE_PULL.has(reason)) {
        found.push({
          rank: 0,
          failure: 'image-pull',
          detail: `${name}: ${reason}${said(waiting.message)}`,
          permanent: PERMANENT_IMAGE.has(reason),
        });
      } else if (reason === 'CrashLoopBackOff' || crashed(status)) {
        found.push({
          rank: 1,
          failure: 'crash-loop',
          detail: `${name}: ${reason ?? 'restarting'}${lastExit(status)}`,
          permanent: false,
        });
      } else if (reason && CONFIG_REASONS.has(reason)) {
        found.push({
          rank: 2,
          failure: 'deadline',
          detail: `${name}: ${reason}${said(waiting.message)}`,
          permanent: false,
        });
      }
    }
    const conditions = pod.status?.conditions ?? [];
    const scheduled = conditions.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False') {
      found.push({
        rank: 3,
        failure: 'deadline',
        detail: `${name}: not scheduled (${scheduled.reason ?? 'pending'}${said(scheduled.message, ': ')})`,
        permanent: false,
      });
    }
    const ready = conditions.find((c) => c.type === 'Ready');
    if (pod.status?.phase === 'Running' && ready?.status !== 'True') {
      found.push({
        rank: 4,
        failure: 'never-ready',
        detail: `${name}: running but not ready${said(ready?.message)}`,
        permanent: false,
      });
    }
  }
  found.sort((a, b) => a.rank - b.rank);
  const first = found[0];
  if (!first) return undefined;
  const others = found.filter((f) => f.rank === first.rank).length - 1;
  return {
    failure: first.failure,
    detail: others > 0 ? `${first.detail} (and ${others} more)` : first.detail,
    permanent: first.permanent,
  };
}

function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** Exited and restarted at least twice: crashing, even between CrashLoopBackOff reports. */
function crashed(status: V1ContainerStatus): boolean {
  return status.restartCount >= 2 && status.lastState?.terminated !== undefined;
}

function lastExit(status: V1ContainerStatus): string {
  const t = status.lastState?.terminated;
  if (!t) return '';
  const why = t.reason && t.reason !== 'Error' ? ` ${t.reason}` : '';
  return ` (exit code ${t.exitCode}${why}, ${status.restartCount} restarts)`;
}

function said(message: string | undefined, prefix = ': '): string {
  const line = message?.split('\n')[0]?.trim();
  return line ? `${prefix}${line.slice(0, 200)}` : '';
}
