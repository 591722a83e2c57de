/**
 * Writing objects: server-side apply as field manager `shipml`
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/), the same with
 * dryRun=All to validate, and deleting what ShipML made for an app.
 */
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { ConfigError, NotFoundError, type ShipmlError } from '../../core/errors.js';
import type { KubeConnection } from './client.js';
import { InvalidManifestError } from './errors.js';
import { FIELD_MANAGER, labelSelector, ownedLabels } from './metadata.js';

/** Every kind ShipML makes for an app, in the order destroy() removes them. */
export const MANAGED_KINDS = [
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'Secret' },
] as const;

export function describe(object: KubernetesObject): string {
  return `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;
}

/**
 * Server-side apply. `force` takes over fields another manager set last (`kubectl edit`,
 * `kubectl set image`, an old client-side apply): without it the API server answers 409 on
 * each such field and a release would stop halfway. For ShipML the config is the source of
 * truth for every field it renders; the fields it leaves out (spec.replicas under an HPA,
 * a Service's allocated nodePort) stay with whoever owns them.
 */
export async function applyObject<T extends KubernetesObject>(
  conn: KubeConnection,
  object: T,
  options: { dryRun?: boolean } = {},
): Promise<T> {
  const verb = options.dryRun ? 'validate' : 'apply';
  return conn.call(`${verb} ${describe(object)}`, () =>
    conn.objects.patch(
      object,
      undefined,
      options.dryRun ? 'All' : undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    ),
  );
}

/**
 * Validates objects with a server-side dry run (admission, schema, immutable fields, quota)
 * without changing the cluster. Every object is tried; all rejections are reported in one
 * ConfigError. Other failures (unreachable, forbidden, namespace missing) are thrown as they are.
 */
export async function validateManifests(
  conn: KubeConnection,
  objects: readonly KubernetesObject[],
): Promise<void> {
  const rejected: string[] = [];
  let first: ShipmlError | undefined;
  for (const object of objects) {
    try {
      await applyObject(conn, object, { dryRun: true });
    } catch (err) {
      if (!(err instanceof InvalidManifestError)) throw err;
      first ??= err;
      rejected.push(err.message);
    }
  }
  if (first) {
    throw new ConfigError(
      rejected.length === 1
        ? rejected[0]!
        : `${rejected.length} objects rejected: ${rejected.join('; ')}`,
      { hint: first.hint, cause: first },
    );
  }
}

/** The objects ShipML made for `app` (by its labels), of every managed kind. */
export async function listOwned(conn: KubeConnection, app: string): Promise<KubernetesObject[]> {
  const selector = labelSelector(ownedLabels(app));
  const out: KubernetesObject[] = [];
  for (const { apiVersion, kind } of MANAGED_KINDS) {
    const list = await conn.call(`list ${kind}s of ${app}`, () =>
      conn.objects.list(
        apiVersion,
        kind,
        conn.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      ),
    );
    // List items carry no apiVersion/kind of their own.
    for (const item of list.items) out.push({ ...item, apiVersion, kind });
  }
  return out;
}

/**
 * Deletes objects; an object already gone is fine. Dependents (ReplicaSets, pods) go in the
 * background through the garbage collector, as with kubectl delete.
 */
export async function deleteObjects(
  conn: KubeConnection,
  objects: readonly KubernetesObject[],
): Promise<void> {
  for (const object of objects) {
    try {
      await conn.call(`delete ${describe(object)}`, () =>
        conn.objects.delete(
          {
            apiVersion: object.apiVersion,
            kind: object.kind,
            metadata: { name: object.metadata?.name, namespace: conn.namespace },
          },
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
        ),
      );
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}

/** Owned objects of `app` that are not among `keep` (by kind and name): what a release dropped. */
export function stale(
  owned: readonly KubernetesObject[],
  keep: readonly KubernetesObject[],
): KubernetesObject[] {
  const wanted = new Set(keep.map(describe));
  return owned.filter((o) => !wanted.has(describe(o)));
}
