/**
 * A rollback the way `kubectl rollout undo` does it (kubectl/pkg/polymorphichelpers/rollback.go):
 * the old ReplicaSet's pod template, minus its pod-template-hash label, becomes the
 * Deployment's template again; the controller recognises it, scales that ReplicaSet back up
 * and gives it the next revision number. Unlike kubectl (a JSON patch), ShipML writes it with
 * server-side apply as the same field manager as a release, so field ownership stays in one
 * hand and the next release can still remove what it no longer renders.
 */
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { FIELD_MANAGER, LABEL, POD_TEMPLATE_HASH, ownedLabels } from './metadata.js';

/** The Deployment, as ShipML applies it, with `from`'s pod template. */
export function deploymentWithTemplateOf(live: V1Deployment, from: V1ReplicaSet): V1Deployment {
  const app = live.metadata?.name ?? '';
  const template = cleanTemplate(from.spec?.template);
  const version = template.metadata?.labels?.[LABEL.version];
  const spec = live.spec;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: app,
      namespace: live.metadata?.namespace,
      labels: { ...ownedLabels(app), ...(version ? { [LABEL.version]: version } : {}) },
    },
    spec: {
      // Only if ShipML set it: under an autoscaler the HPA owns spec.replicas.
      ...(ownsReplicas(live) ? { replicas: spec?.replicas } : {}),
      revisionHistoryLimit: spec?.revisionHistoryLimit,
      progressDeadlineSeconds: spec?.progressDeadlineSeconds,
      selector: spec?.selector ?? { matchLabels: {} },
      strategy: spec?.strategy,
      template,
    },
  };
}

function cleanTemplate(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const labels = { ...template?.metadata?.labels };
  delete labels[POD_TEMPLATE_HASH];
  return {
    metadata: { labels, annotations: template?.metadata?.annotations ?? {} },
    spec: template?.spec ?? { containers: [] },
  };
}

/** Whether ShipML's last apply set spec.replicas (per the object's managedFields). */
export function ownsReplicas(live: V1Deployment): boolean {
  return (live.metadata?.managedFields ?? []).some((entry) => {
    if (entry.manager !== FIELD_MANAGER || entry.operation !== 'Apply') return false;
    const fields = entry.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined;
    return fields?.['f:spec']?.['f:replicas'] !== undefined;
  });
}
