/**
 * Watching one rollout to its end: polls the Deployment (rollout-state.ts), reports progress,
 * and gives up on our own deadline, the controller's ProgressDeadlineExceeded, cancellation,
 * or a pod failure waiting cannot fix — saying why from the new pods (diagnose.ts).
 */
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeployEvent, RolloutFailure } from '../types.js';
import type { KubeConnection } from './client.js';
import { diagnosePods, type Diagnosis } from './diagnose.js';
import { POD_TEMPLATE_HASH, labelSelector, selectorLabels } from './metadata.js';
import { currentReplicaSet, ownedReplicaSets } from './revisions.js';
import { rolloutState } from './rollout-state.js';

export interface WaitOptions {
  /** Give up at this time (Date.now() milliseconds). */
  deadline: number;
  /** Seconds the deadline stands for, for the message. */
  deadlineSeconds: number;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: DeployEvent) => void) | undefined;
  pollMs: number;
  /** What is rolling out, for messages: `revision 3 (registry/app@sha256:…)`. */
  what: string;
}

export type WaitOutcome =
  { ok: true; deployment: V1Deployment } | { ok: false; failure: RolloutFailure; message: string };

/** Pods are looked at from this long after the start, then every this often. */
const DIAGNOSE_EVERY_MS = 2000;

export async function waitForRollout(
  conn: KubeConnection,
  app: string,
  options: WaitOptions,
): Promise<WaitOutcome> {
  let lastMessage = '';
  let nextDiagnosis = Date.now() + DIAGNOSE_EVERY_MS;
  for (;;) {
    if (options.signal?.aborted) {
      return { ok: false, failure: 'cancelled', message: `rollout of ${options.what} cancelled` };
    }
    const deployment = await readDeployment(conn, app);
    const state = rolloutState(deployment);
    if (state.message !== lastMessage) {
      lastMessage = state.message;
      options.onEvent?.({ message: `${options.what}: ${state.message}`, replicas: state.replicas });
    }
    if (state.phase === 'complete') return { ok: true, deployment };

    const timedOut = Date.now() >= options.deadline;
    if (timedOut || state.phase === 'deadline') {
      const why = await diagnose(conn, app, deployment);
      const deadline = timedOut
        ? `did not finish within ${options.deadlineSeconds}s (${state.message})`
        : state.message;
      return {
        ok: false,
        failure: why?.failure ?? 'deadline',
        message: `rollout of ${options.what} failed: ${why ? `${why.detail}; ` : ''}${deadline}`,
      };
    }
    if (Date.now() >= nextDiagnosis) {
      nextDiagnosis = Date.now() + DIAGNOSE_EVERY_MS;
      const why = await diagnose(conn, app, deployment);
      if (why?.permanent) {
        return {
          ok: false,
          failure: why.failure,
          message: `rollout of ${options.what} failed: ${why.detail}`,
        };
      }
    }
    try {
      await sleep(options.pollMs, undefined, { signal: options.signal });
    } catch {
      // Aborted: the loop's first check reports it.
    }
  }
}

export async function readDeployment(conn: KubeConnection, app: string): Promise<V1Deployment> {
  return conn.call(`read Deployment/${app}`, () =>
    conn.apps.readNamespacedDeployment({ name: app, namespace: conn.namespace }),
  );
}

export async function listReplicaSets(
  conn: KubeConnection,
  deployment: V1Deployment,
): Promise<V1ReplicaSet[]> {
  const app = deployment.metadata?.name ?? '';
  const list = await conn.call(`list ReplicaSets of ${app}`, () =>
    conn.apps.listNamespacedReplicaSet({
      namespace: conn.namespace,
      labelSelector: labelSelector(selectorLabels(app)),
    }),
  );
  return ownedReplicaSets(deployment, list.items);
}

/** Why the current ReplicaSet's pods are not serving, if they tell. */
async function diagnose(
  conn: KubeConnection,
  app: string,
  deployment: V1Deployment,
): Promise<Diagnosis | undefined> {
  const current = currentReplicaSet(deployment, await listReplicaSets(conn, deployment));
  const hash = current?.metadata?.labels?.[POD_TEMPLATE_HASH];
  if (!hash) return undefined;
  const pods: V1Pod[] = (
    await conn.call(`list pods of ${app}`, () =>
      conn.core.listNamespacedPod({
        namespace: conn.namespace,
        labelSelector: labelSelector({ ...selectorLabels(app), [POD_TEMPLATE_HASH]: hash }),
      }),
    )
  ).items;
  return diagnosePods(pods);
}
