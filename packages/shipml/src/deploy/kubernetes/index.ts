/**
 * The Kubernetes target: a Deployment (rolling update, never fewer ready replicas than
 * asked), a Service, and optionally an Ingress, a HorizontalPodAutoscaler and an image pull
 * Secret, written with server-side apply. The Deployment's ReplicaSets are the revision
 * history (revisions.ts); a failed or cancelled rollout is undone by ShipML itself, the way
 * `kubectl rollout undo` would (undo.ts).
 */
import type { KubernetesObject, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import {
  RolloutError,
  type DeployOptions,
  type DeployResult,
  type DeploySpec,
  type DeployStatus,
  type DeployTarget,
  type Release,
  type Rendered,
  type Revision,
} from '../types.js';
import {
  applyObject,
  deleteObjects,
  describe,
  listOwned,
  stale,
  validateManifests,
} from './apply.js';
import { connect, type ConnectDeps, type KubeConnection } from './client.js';
import { ANNOTATION, FIELD_MANAGER, names, shortImage } from './metadata.js';
import { renderManifests } from './render.js';
import {
  completeReplicaSet,
  currentReplicaSet,
  liveReplicaSet,
  revisionNumber,
  servedAtCurrentRevision,
  servedReplicaSets,
  toRevision,
} from './revisions.js';
import { replicaCounts, rolloutState } from './rollout-state.js';
import {
  KubernetesTargetOptionsSchema,
  type KubernetesTargetInput,
  type KubernetesTargetOptions,
} from './schema.js';
import { deploymentWithTemplateOf } from './undo.js';
import { listReplicaSets, readDeployment, waitForRollout } from './wait.js';
import { serviceUrl } from './url.js';
import { manifestsToYaml } from './yaml.js';

export { renderManifests } from './render.js';
export { manifestsToYaml } from './yaml.js';
export { KubernetesTargetOptionsSchema, type KubernetesTargetInput } from './schema.js';

/** What the cluster holds for one app right now. */
interface Snapshot {
  deployment: V1Deployment | undefined;
  /** Owned by the Deployment, newest revision first. */
  replicaSets: V1ReplicaSet[];
  live: V1ReplicaSet | undefined;
}

export class KubernetesTarget implements DeployTarget {
  readonly kind = 'kubernetes';
  readonly options: KubernetesTargetOptions;
  private conn: KubeConnection | undefined;

  constructor(
    options: KubernetesTargetInput = {},
    private readonly deps: ConnectDeps = {},
  ) {
    const parsed = KubernetesTargetOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new ConfigError(
        parsed.error.issues
          .map((i) => `deploy.kubernetes.${i.path.join('.')}: ${i.message}`)
          .join('; '),
      );
    }
    this.options = parsed.data;
  }

  /** The objects a release consists of, in apply order (`shipml render`). */
  render(release: Release, spec: DeploySpec): KubernetesObject[] {
    return renderManifests(release, spec, this.options);
  }

  /**
   * Validates the release's objects with a server-side dry run (dryRun=All): schema,
   * admission and immutable fields, with nothing changed. Throws ConfigError on rejection.
   */
  async validate(release: Release, spec: DeploySpec): Promise<void> {
    await validateManifests(this.connection(), this.render(release, spec));
  }

  /** The Kubernetes render capability: the objects, and as YAML with Secret values masked. */
  async renderRelease(
    release: Release,
    spec: DeploySpec,
    options: { validate?: boolean } = {},
  ): Promise<Rendered> {
    if (options.validate) await this.validate(release, spec);
    const objects = this.render(release, spec);
    return { objects, text: manifestsToYaml(objects) };
  }

  async deploy(
    release: Release,
    spec: DeploySpec,
    options: DeployOptions = {},
  ): Promise<DeployResult> {
    const started = performance.now();
    const objects = this.render(release, spec);
    const conn = this.connection();
    const before = await this.snapshot(spec.app);
    if (options.signal?.aborted) {
      throw new RolloutError(
        `deploy of ${spec.app} cancelled before anything changed`,
        'cancelled',
        before.live && toRevision(before.live),
        false,
      );
    }
    await this.markIfComplete(before);
    // Validate everything first, so a rejected object cannot leave a release half-applied.
    await validateManifests(conn, objects);
    // Objects an earlier release made and this one does not render (autoscale or ingress
    // switched off) go before the Deployment changes, so the HPA lets go of the replicas.
    await deleteObjects(conn, stale(await listOwned(conn, spec.app), objects));
    let applied: KubernetesObject | undefined;
    for (const object of objects) applied = await applyObject(conn, object);
    const unchanged =
      before.deployment !== undefined &&
      before.live === completeReplicaSet(before.deployment, before.replicaSets) &&
      applied?.metadata?.generation === before.deployment.metadata?.generation;
    options.onEvent?.({
      message: unchanged
        ? `${shortImage(release.image)} is already live (revision ${revisionNumber(before.live!)})`
        : `applied ${objects.map(describe).join(', ')}`,
    });
    return this.settle(spec.app, before.live, spec.progressDeadlineSeconds, options, started, {
      what: shortImage(release.image),
    });
  }

  async status(app: string): Promise<DeployStatus> {
    const now = await this.snapshot(app);
    if (!now.deployment) {
      return {
        app,
        live: undefined,
        replicas: { desired: 0, ready: 0, updated: 0 },
        url: undefined,
      };
    }
    const state = rolloutState(now.deployment);
    return {
      app,
      live: now.live && toRevision(now.live),
      replicas: replicaCounts(now.deployment),
      url: await this.url(app),
      rollout: state.phase === 'complete' ? undefined : state.message,
    };
  }

  async history(app: string): Promise<Revision[]> {
    const now = await this.snapshot(app);
    if (!now.deployment) return [];
    return servedReplicaSets(now.deployment, now.replicaSets).map(toRevision);
  }

  async rollback(app: string, to?: number, options: DeployOptions = {}): Promise<DeployResult> {
    const started = performance.now();
    const now = await this.snapshot(app);
    const deployment = now.deployment;
    if (!deployment) {
      throw new NotFoundError(`${app} is not deployed in namespace ${this.options.namespace}`);
    }
    await this.markIfComplete(now);
    const served = servedReplicaSets(deployment, now.replicaSets);
    const numbers = served.map(revisionNumber).join(', ') || 'none';
    let target: V1ReplicaSet | undefined;
    if (to === undefined) {
      const at = now.live ? served.indexOf(now.live) : -1;
      target = served[at + 1];
      if (!target) {
        throw new NotFoundError(
          `${app} has no revision before the live one (revisions: ${numbers})`,
        );
      }
    } else {
      target = served.find((rs) => revisionNumber(rs) === to);
      if (!target) {
        throw new NotFoundError(`${app} has no revision ${to} (revisions: ${numbers})`, {
          hint: 'shipml status --history lists the revisions that can be rolled back to',
        });
      }
    }
    if (target === now.live) {
      return { revision: toRevision(target), seconds: 0, url: await this.url(app) };
    }
    if (options.signal?.aborted) {
      throw new RolloutError(
        `rollback of ${app} cancelled before anything changed`,
        'cancelled',
        now.live && toRevision(now.live),
        false,
      );
    }
    const from = toRevision(target);
    await applyObject(this.connection(), deploymentWithTemplateOf(deployment, target));
    options.onEvent?.({
      message: `rolling back to revision ${from.number} (${shortImage(from.image)})`,
    });
    return this.settle(
      app,
      now.live,
      deployment.spec?.progressDeadlineSeconds ?? 600,
      options,
      started,
      { what: `revision ${from.number} (${shortImage(from.image)})` },
    );
  }

  async destroy(app: string): Promise<void> {
    const conn = this.connection();
    await deleteObjects(conn, await listOwned(conn, app));
  }

  /**
   * Waits for the rollout just applied. Success: marks its ReplicaSet served and returns it.
   * Failure: puts `previous` back (or removes the app if nothing served before) and throws.
   */
  private async settle(
    app: string,
    previous: V1ReplicaSet | undefined,
    deadlineSeconds: number,
    options: DeployOptions,
    started: number,
    label: { what: string },
  ): Promise<DeployResult> {
    const conn = this.connection();
    const outcome = await waitForRollout(conn, app, {
      deadline: Date.now() + deadlineSeconds * 1000,
      deadlineSeconds,
      signal: options.signal,
      onEvent: options.onEvent,
      pollMs: this.options.pollIntervalMs,
      what: label.what,
    });
    if (outcome.ok) {
      const live = await this.markServed(app, outcome.deployment);
      return {
        revision: toRevision(live),
        seconds: (performance.now() - started) / 1000,
        url: await this.url(app),
      };
    }

    if (!previous) {
      options.onEvent?.({ message: `removing ${app}: no earlier revision to go back to` });
      await this.destroy(app);
      throw new RolloutError(
        `${outcome.message}; nothing had served before, so ${app} was removed`,
        outcome.failure,
        undefined,
        false,
        { hint: rolloutHint(outcome.failure) },
      );
    }

    const back = toRevision(previous);
    options.onEvent?.({
      message: `rolling back to revision ${back.number} (${shortImage(back.image)})`,
    });
    const deployment = await readDeployment(conn, app);
    await applyObject(conn, deploymentWithTemplateOf(deployment, previous));
    // The rollback is not cancellable by the caller's signal: it is what cancelling asked for.
    const undone = await waitForRollout(conn, app, {
      deadline: Date.now() + deadlineSeconds * 1000,
      deadlineSeconds,
      onEvent: options.onEvent,
      pollMs: this.options.pollIntervalMs,
      what: `rollback to ${shortImage(back.image)}`,
    });
    const restored = undone.ok
      ? await this.markServed(app, undone.deployment)
      : ((await this.snapshot(app)).replicaSets.find(
          (rs) => rs.metadata?.name === previous.metadata?.name,
        ) ?? previous);
    const live = toRevision(restored);
    const tail = undone.ok
      ? `rolled back to ${live.image} (revision ${live.number})`
      : `rolling back to ${live.image} (revision ${live.number}) has not settled either: ${undone.message}`;
    throw new RolloutError(`${outcome.message}; ${tail}`, outcome.failure, live, true, {
      hint: rolloutHint(outcome.failure),
    });
  }

  /** Marks the current ReplicaSet served if the Deployment's rollout is complete. */
  private async markIfComplete(now: Snapshot): Promise<void> {
    const rs = now.deployment && completeReplicaSet(now.deployment, now.replicaSets);
    if (rs) await this.mark(rs);
  }

  /**
   * Marks the ReplicaSet of `completed` (a Deployment just seen complete) served and returns
   * it. Taken from that very object: by now an autoscaler may already be adding replicas.
   */
  private async markServed(app: string, completed: V1Deployment): Promise<V1ReplicaSet> {
    const rs = currentReplicaSet(completed, await listReplicaSets(this.connection(), completed));
    if (!rs) throw new NotFoundError(`${app}: rollout complete but its ReplicaSet is gone`);
    return this.mark(rs);
  }

  /** Once per revision number, so repeating a no-op deploy changes nothing. */
  private async mark(rs: V1ReplicaSet): Promise<V1ReplicaSet> {
    if (servedAtCurrentRevision(rs)) return rs;
    const conn = this.connection();
    const name = rs.metadata?.name ?? '';
    return conn.call(`mark ReplicaSet/${name} served`, () =>
      conn.objects.patch<V1ReplicaSet>(
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            namespace: conn.namespace,
            annotations: {
              [ANNOTATION.servedAt]: new Date().toISOString(),
              [ANNOTATION.servedRevision]: String(revisionNumber(rs)),
            },
          },
        },
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  private async snapshot(app: string): Promise<Snapshot> {
    const conn = this.connection();
    let deployment: V1Deployment | undefined;
    try {
      deployment = await readDeployment(conn, app);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    // Being deleted (destroy() lets the garbage collector finish in the background) = gone.
    if (!deployment || deployment.metadata?.deletionTimestamp) {
      return { deployment: undefined, replicaSets: [], live: undefined };
    }
    const replicaSets = await listReplicaSets(conn, deployment);
    return { deployment, replicaSets, live: liveReplicaSet(deployment, replicaSets) };
  }

  private async url(app: string): Promise<string | undefined> {
    return serviceUrl(this.connection(), names.service(app), this.options);
  }

  private connection(): KubeConnection {
    this.conn ??= connect(this.options, this.deps);
    return this.conn;
  }
}

function rolloutHint(failure: string): string {
  switch (failure) {
    case 'image-pull':
      return 'check the image reference and that the cluster can pull it (pull secret, registry reachable)';
    case 'crash-loop':
      return 'the app exits at start: kubectl logs --previous on one of its pods shows why';
    case 'never-ready':
      return 'the readiness check never passed: check deploy.readinessPath and the app’s logs';
    case 'cancelled':
      return 'nothing to do: the previous release is serving';
    default:
      return 'kubectl describe pods of the new ReplicaSet shows what held it up';
  }
}
