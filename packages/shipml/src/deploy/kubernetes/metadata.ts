/**
 * The names, labels and annotations ShipML puts on Kubernetes objects, and the provenance
 * they carry. Labels follow the recommended app.kubernetes.io/* set
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/);
 * ShipML's own annotations live under `shipml.dev/`.
 */
import { imageDigest, type Release, type ReleaseProvenance } from '../types.js';

export const FIELD_MANAGER = 'shipml';
/** The one container of every pod ShipML renders. */
export const CONTAINER = 'app';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  version: 'app.kubernetes.io/version',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Set by the Deployment controller on each ReplicaSet (and copied to its pods). */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
/** The Deployment controller's revision number on each ReplicaSet. */
export const REVISION = 'deployment.kubernetes.io/revision';

/** Provenance, on the pod template: each ReplicaSet keeps the one it was created with. */
export const ANNOTATION = {
  commit: 'shipml.dev/commit',
  appVersion: 'shipml.dev/app-version',
  modelName: 'shipml.dev/model-name',
  modelVersion: 'shipml.dev/model-version',
  modelDigest: 'shipml.dev/model-digest',
  imageDigest: 'shipml.dev/image-digest',
  /**
   * On a ReplicaSet (written by ShipML, not rendered): when it finished rolling out, and at
   * which revision number. Only ReplicaSets that served every replica carry it, which is how
   * history() leaves out a release that never became ready.
   */
  servedAt: 'shipml.dev/served-at',
  servedRevision: 'shipml.dev/served-revision',
} as const;

/** Labels on every object ShipML makes for `app`; also the selector destroy() deletes by. */
export function ownedLabels(app: string): Record<string, string> {
  return { [LABEL.name]: app, [LABEL.instance]: app, [LABEL.managedBy]: FIELD_MANAGER };
}

/** The Deployment's selector: immutable, so it never includes the version. */
export function selectorLabels(app: string): Record<string, string> {
  return { [LABEL.name]: app, [LABEL.instance]: app };
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Object names derived from the app's name. */
export const names = {
  deployment: (app: string) => app,
  service: (app: string) => app,
  ingress: (app: string) => app,
  autoscaler: (app: string) => app,
  pullSecret: (app: string) => `${app}-pull`,
};

/**
 * A value for app.kubernetes.io/version: the app's version, else the short commit.
 * Label values are at most 63 characters of [A-Za-z0-9._-], starting and ending
 * alphanumeric; anything else is replaced, so a version never makes a manifest invalid.
 */
export function versionLabel(provenance: ReleaseProvenance): string | undefined {
  const raw = provenance.appVersion ?? provenance.commit?.slice(0, 12);
  if (!raw) return undefined;
  const cleaned = raw
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || undefined;
}

/** The pod-template annotations recording what a release is. */
export function provenanceAnnotations(release: Release): Record<string, string> {
  const p = release.provenance;
  const out: Record<string, string> = {};
  if (p.commit !== undefined) out[ANNOTATION.commit] = p.commit;
  if (p.appVersion !== undefined) out[ANNOTATION.appVersion] = p.appVersion;
  if (p.model) {
    out[ANNOTATION.modelName] = p.model.name;
    out[ANNOTATION.modelVersion] = p.model.version;
    out[ANNOTATION.modelDigest] = p.model.digest;
  }
  const digest = imageDigest(release.image);
  if (digest) out[ANNOTATION.imageDigest] = digest;
  return out;
}

/** Reads provenanceAnnotations() back; absent keys stay absent (not undefined-valued). */
export function provenanceFrom(annotations: Record<string, string> | undefined): ReleaseProvenance {
  const a = annotations ?? {};
  const out: ReleaseProvenance = {};
  if (a[ANNOTATION.commit] !== undefined) out.commit = a[ANNOTATION.commit];
  if (a[ANNOTATION.appVersion] !== undefined) out.appVersion = a[ANNOTATION.appVersion];
  const name = a[ANNOTATION.modelName];
  const version = a[ANNOTATION.modelVersion];
  const digest = a[ANNOTATION.modelDigest];
  if (name !== undefined && version !== undefined && digest !== undefined) {
    out.model = { name, version, digest };
  }
  return out;
}

/** Environment that lets the app report what it runs (e.g. GET /version). */
export function provenanceEnv(release: Release): Record<string, string> {
  const p = release.provenance;
  const out: Record<string, string> = { SHIPML_IMAGE: release.image };
  if (p.commit !== undefined) out.SHIPML_COMMIT = p.commit;
  if (p.appVersion !== undefined) out.SHIPML_APP_VERSION = p.appVersion;
  if (p.model) {
    out.SHIPML_MODEL_NAME = p.model.name;
    out.SHIPML_MODEL_VERSION = p.model.version;
    out.SHIPML_MODEL_DIGEST = p.model.digest;
  }
  return out;
}

/** `repo@sha256:` plus 12 hex digits: enough to tell releases apart in progress messages. */
export function shortImage(image: string): string {
  const at = image.lastIndexOf('@sha256:');
  return at < 0 ? image : image.slice(0, at + '@sha256:'.length + 12);
}
