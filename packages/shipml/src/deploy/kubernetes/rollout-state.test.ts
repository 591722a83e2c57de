import type { V1Deployment, V1DeploymentStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutState } from './rollout-state.js';

function deployment(
  generation: number,
  replicas: number,
  status: V1DeploymentStatus,
): V1Deployment {
  return {
    metadata: { name: 'app', generation },
    spec: { replicas, selector: {}, template: {} },
    status,
  };
}

describe('rolloutState: kubectl rollout status, as a function', () => {
  it('waits until the controller has observed the current generation', () => {
    const d = deployment(3, 2, {
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
    });
    expect(rolloutState(d)).toMatchObject({ phase: 'waiting', message: /controller to see/ });
  });

  it('waits for new replicas, then for old ones to go, then for the new ones to be available', () => {
    expect(
      rolloutState(
        deployment(2, 2, {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 1,
          availableReplicas: 2,
        }),
      ),
    ).toMatchObject({ phase: 'waiting', message: '1 of 2 new replicas updated, 2 available' });
    expect(
      rolloutState(
        deployment(2, 2, {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 2,
          availableReplicas: 3,
        }),
      ),
    ).toMatchObject({ phase: 'waiting', message: '1 old replica pending termination' });
    expect(
      rolloutState(
        deployment(2, 2, {
          observedGeneration: 2,
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 1,
        }),
      ),
    ).toMatchObject({ phase: 'waiting', message: '1 of 2 updated replicas available' });
  });

  it('is complete when every replica is updated and available and no old one is left', () => {
    const d = deployment(2, 2, {
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(rolloutState(d)).toEqual({
      phase: 'complete',
      message: '2 of 2 replicas updated and available',
      replicas: { desired: 2, ready: 2, updated: 2 },
    });
  });

  it('reports the controller giving up (ProgressDeadlineExceeded)', () => {
    const d = deployment(4, 2, {
      observedGeneration: 4,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "app-1" has timed out progressing.',
        },
      ],
    });
    expect(rolloutState(d)).toMatchObject({
      phase: 'deadline',
      message: /ProgressDeadlineExceeded.*timed out/,
    });
  });

  it('a complete rollout is complete even while an old timed-out condition lingers', () => {
    const d = deployment(5, 2, {
      observedGeneration: 5,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    });
    expect(rolloutState(d).phase).toBe('complete');
  });
});
