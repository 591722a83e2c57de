import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { diagnosePods } from './diagnose.js';

function pod(
  name: string,
  container: Partial<V1ContainerStatus>,
  more: { phase?: string; conditions?: V1PodCondition[] } = {},
): V1Pod {
  return {
    metadata: { name },
    status: {
      phase: more.phase ?? 'Pending',
      conditions: more.conditions,
      containerStatuses: [
        { name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, ...container },
      ],
    },
  };
}

/** A pod whose container waits for `reason` (with the kubelet's message, if any). */
function waiting(name: string, reason: string, message?: string): V1Pod {
  return pod(name, { state: { waiting: { reason, ...(message ? { message } : {}) } } });
}

/** A running pod whose readiness check fails (its Ready condition False). */
function unready(name: string, message?: string): V1Pod {
  return pod(
    name,
    { state: { running: {} } },
    {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', ...(message ? { message } : {}) }],
    },
  );
}

describe('diagnosePods: why the new pods do not serve', () => {
  it('reports nothing while pods are merely starting', () => {
    expect(diagnosePods([])).toBeUndefined();
    expect(diagnosePods([waiting('a', 'ContainerCreating')])).toBeUndefined();
  });

  it('names image pull failures, with the kubelet message', () => {
    const d = diagnosePods([
      waiting('app-1', 'ImagePullBackOff', 'Back-off pulling image "r/x@sha256:1"'),
    ]);
    expect(d).toEqual({
      failure: 'image-pull',
      detail: 'pod app-1: ImagePullBackOff: Back-off pulling image "r/x@sha256:1"',
      permanent: false,
    });
    const invalid = diagnosePods([waiting('app-2', 'InvalidImageName')]);
    expect(invalid).toMatchObject({ failure: 'image-pull', permanent: true });
  });

  it('names a crash loop with the last exit code and restarts', () => {
    const d = diagnosePods([
      pod(
        'app-1',
        {
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
        { phase: 'Running' },
      ),
    ]);
    expect(d?.failure).toBe('crash-loop');
    expect(d?.detail).toBe('pod app-1: CrashLoopBackOff (exit code 137 OOMKilled, 4 restarts)');
  });

  it('counts a container that keeps restarting as crashing between back-offs', () => {
    const d = diagnosePods([
      pod(
        'app-1',
        {
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
        { phase: 'Running' },
      ),
    ]);
    expect(d).toMatchObject({
      failure: 'crash-loop',
      detail: 'pod app-1: restarting (exit code 1, 2 restarts)',
    });
  });

  it('names running pods whose readiness check never passes', () => {
    const d = diagnosePods([
      unready('app-1', 'containers with unready status: [app]'),
      unready('app-2'),
    ]);
    expect(d).toEqual({
      failure: 'never-ready',
      detail:
        'pod app-1: running but not ready: containers with unready status: [app] (and 1 more)',
      permanent: false,
    });
  });

  it('names unschedulable pods and container config errors as deadline failures with the reason', () => {
    const unscheduled = diagnosePods([
      pod(
        'app-1',
        {},
        {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available: 3 Insufficient memory.',
            },
          ],
        },
      ),
    ]);
    expect(unscheduled).toMatchObject({
      failure: 'deadline',
      detail:
        'pod app-1: not scheduled (Unschedulable: 0/3 nodes are available: 3 Insufficient memory.)',
    });
    const config = diagnosePods([
      waiting('app-1', 'CreateContainerConfigError', 'secret "x" not found'),
    ]);
    expect(config).toMatchObject({
      failure: 'deadline',
      detail: 'pod app-1: CreateContainerConfigError: secret "x" not found',
    });
  });

  it('prefers the most telling reason across pods, and ignores pods being deleted', () => {
    const notReady = unready('a');
    const pulling = waiting('b', 'ErrImagePull');
    expect(diagnosePods([notReady, pulling])?.failure).toBe('image-pull');
    const deleting = { ...pulling, metadata: { name: 'b', deletionTimestamp: new Date() } };
    expect(diagnosePods([notReady, deleting])?.failure).toBe('never-ready');
  });
});
