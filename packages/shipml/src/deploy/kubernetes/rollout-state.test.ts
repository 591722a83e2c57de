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

/** A status with the controller's counts, in the order kubectl prints them. */
function counts(
  observedGeneration: number,
  replicas: number,
  updatedReplicas: number,
  availableReplicas: number,
  more: V1DeploymentStatus = {},
): V1DeploymentStatus {
  return { observedGeneration, replicas, updatedReplicas, availableReplicas, ...more };
}

describe('rolloutState: kubectl rollout status, as a function', () => {
  it('waits until the controller has observed the current generation', () => {
    const d = deployment(3, 2, counts(2, 2, 2, 2));
    expect(rolloutState(d)).toMatchObject({ phase: 'waiting', message: /controller to see/ });
  });

  it.each([
    [counts(2, 3, 1, 2), '1 of 2 new replicas updated, 2 available'],
    [counts(2, 3, 2, 3), '1 old replica pending termination'],
    [counts(2, 2, 2, 1), '1 of 2 updated replicas available'],
  ])(
    'waits for new replicas, then for old ones to go, then for the new ones to be available (%#)',
    (status, message) => {
      expect(rolloutState(deployment(2, 2, status))).toMatchObject({ phase: 'waiting', message });
    },
  );

  it('is complete when every replica is updated and available and no old one is left', () => {
    const d = deployment(2, 2, counts(2, 2, 2, 2, { readyReplicas: 2 }));
    expect(rolloutState(d)).toEqual({
      phase: 'complete',
      message: '2 of 2 replicas updated and available',
      replicas: { desired: 2, ready: 2, updated: 2 },
    });
  });

  it('reports the controller giving up (ProgressDeadlineExceeded)', () => {
    const d = deployment(
      4,
      2,
      counts(4, 3, 1, 2, {
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "app-1" has timed out progressing.',
          },
        ],
      }),
    );
    expect(rolloutState(d)).toMatchObject({
      phase: 'deadline',
      message: /ProgressDeadlineExceeded.*timed out/,
    });
  });

  it('a complete rollout is complete even while an old timed-out condition lingers', () => {
    const d = deployment(
      5,
      2,
      counts(5, 2, 2, 2, {
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      }),
    );
    expect(rolloutState(d).phase).toBe('complete');
  });
});
