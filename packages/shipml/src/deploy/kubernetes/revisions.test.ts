import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { liveReplicaSet, ownedReplicaSets, servedReplicaSets, toRevision } from './revisions.js';
import { deploymentWithTemplateOf, ownsReplicas } from './undo.js';

const UID = 'deploy-uid';
const complete = { observedGeneration: 7, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };

function deployment(status = complete, limit = 10): V1Deployment {
  return {
    metadata: { name: 'app', namespace: 'prod', uid: UID, generation: 7 },
    spec: {
      replicas: 2,
      revisionHistoryLimit: limit,
      progressDeadlineSeconds: 60,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'app' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {},
    },
    status,
  };
}

function rs(
  revision: number,
  image: string,
  more: { served?: string; available?: number; owner?: string; created?: Date } = {},
): V1ReplicaSet {
  return {
    metadata: {
      name: `app-${revision}`,
      creationTimestamp: more.created ?? new Date('2026-01-01T00:00:00Z'),
      annotations: {
        'deployment.kubernetes.io/revision': String(revision),
        ...(more.served
          ? { 'shipml.dev/served-at': more.served, 'shipml.dev/served-revision': String(revision) }
          : {}),
      },
      labels: { 'app.kubernetes.io/name': 'app', 'pod-template-hash': `h${revision}` },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'app',
          uid: more.owner ?? UID,
          controller: true,
        },
      ],
    },
    spec: {
      selector: {},
      template: {
        metadata: {
          labels: {
            'app.kubernetes.io/name': 'app',
            'pod-template-hash': `h${revision}`,
            'app.kubernetes.io/version': `v${revision}`,
          },
          annotations: { 'shipml.dev/commit': `c${revision}` },
        },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
    status: { replicas: more.available ?? 0, availableReplicas: more.available ?? 0 },
  };
}

describe('revisions: ReplicaSets that served, newest first', () => {
  it('orders the Deployment’s own ReplicaSets by revision and ignores others', () => {
    const owned = ownedReplicaSets(deployment(), [
      rs(1, 'a'),
      rs(3, 'c'),
      rs(2, 'b'),
      rs(9, 'x', { owner: 'other' }),
    ]);
    expect(owned.map((r) => r.metadata!.name)).toEqual(['app-3', 'app-2', 'app-1']);
  });

  it('leaves out a release that never served, keeps the current one once complete', () => {
    const owned = ownedReplicaSets(deployment(), [
      rs(1, 'v1', { served: '2026-01-01T00:00:01Z' }),
      rs(2, 'broken'),
      rs(3, 'v2', { available: 2 }),
    ]);
    const served = servedReplicaSets(deployment(), owned);
    expect(served.map((r) => toRevision(r).image)).toEqual(['v2', 'v1']);
    expect(liveReplicaSet(deployment(), owned)?.metadata?.name).toBe('app-3');
  });

  it('during a rollout, the live revision is the served one with the most available replicas', () => {
    const rolling = deployment({
      ...complete,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
    });
    const owned = ownedReplicaSets(rolling, [
      rs(4, 'v2', { served: '2026-01-02T00:00:00Z', available: 2 }),
      rs(5, 'v3', { available: 0 }),
    ]);
    expect(liveReplicaSet(rolling, owned)?.metadata?.name).toBe('app-4');
    expect(servedReplicaSets(rolling, owned).map((r) => r.metadata!.name)).toEqual(['app-4']);
  });

  it('lists at most revisionHistoryLimit revisions', () => {
    const d = deployment(complete, 2);
    const owned = ownedReplicaSets(
      d,
      [1, 2, 3, 4].map((n) => rs(n, `v${n}`, { served: 't' })),
    );
    expect(servedReplicaSets(d, owned).map((r) => r.metadata!.name)).toEqual(['app-4', 'app-3']);
  });

  it('reads number, image, provenance and time off a ReplicaSet', () => {
    expect(toRevision(rs(3, 'r/app@sha256:1', { served: '2026-02-03T04:05:06.000Z' }))).toEqual({
      number: 3,
      image: 'r/app@sha256:1',
      provenance: { commit: 'c3' },
      deployedAt: '2026-02-03T04:05:06.000Z',
    });
    // Not marked (made before ShipML watched it finish): its creation time.
    expect(toRevision(rs(2, 'x')).deployedAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('undo: an old ReplicaSet’s template back into the Deployment', () => {
  it('copies the template without pod-template-hash and keeps the Deployment’s settings', () => {
    const d = deployment();
    d.metadata!.managedFields = [
      {
        manager: 'shipml',
        operation: 'Apply',
        fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': {} } },
      },
    ];
    const applied = deploymentWithTemplateOf(d, rs(1, 'v1'));
    expect(applied.spec!.template.metadata!.labels).toEqual({
      'app.kubernetes.io/name': 'app',
      'app.kubernetes.io/version': 'v1',
    });
    expect(applied.spec!.template.spec!.containers[0]!.image).toBe('v1');
    expect(applied.metadata!.labels!['app.kubernetes.io/version']).toBe('v1');
    expect(applied.spec).toMatchObject({
      replicas: 2,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 60,
      strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
  });

  it('leaves spec.replicas out when ShipML does not own it (an HPA does)', () => {
    const d = deployment();
    d.metadata!.managedFields = [
      { manager: 'shipml', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': {} } } },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ];
    expect(ownsReplicas(d)).toBe(false);
    expect(deploymentWithTemplateOf(d, rs(1, 'v1')).spec).not.toHaveProperty('replicas');
  });
});
