/**
 * The Docker target: one machine, N replicas of the app on a private network, HAProxy in front
 * published on 127.0.0.1 (or the configured address) as the load balancer.
 *
 * A rollout replaces replicas one at a time the way Kamal does: start a new replica, let the
 * load balancer's readiness check see it UP, give it traffic, then drain an old one (no new
 * requests, in-flight ones finish) and stop it. There are never fewer ready replicas than
 * asked. When a new replica crashes, never becomes ready, or the rollout is cancelled, the
 * old replicas (stopped, not removed) are started again and the new ones removed — except
 * the one that crashed or never became ready: it is kept, stopped, as `NAME-failed` so its
 * logs can be read, until the next deploy or destroy.
 */
import type Docker from 'dockerode';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import {
  RolloutError,
  type DeployEvent,
  type DeployOptions,
  type DeployResult,
  type DeploySpec,
  type DeployStatus,
  type DeployTarget,
  type Release,
  type Revision,
} from '../types.js';
import { Engine, engineCall, isMissing, type RegistryAuth } from './engine.js';
import { HaproxyAdmin, PROXY_PORT, readySlots, SLOTS, type SlotState } from './haproxy.js';
import { LoadBalancer } from './proxy.js';
import {
  freeSlot,
  keepFailed,
  replicaAddress,
  ReplicaFailure,
  retire,
  startReplica,
  waitReady,
} from './replicas.js';
import {
  liveRevision,
  names,
  nextRevisionNumber,
  publicRevision,
  rollbackTarget,
  sameSpec,
  type AppState,
  type Replica,
  type RevisionRecord,
} from './state.js';

export interface DockerTargetOptions {
  /** Host port of the load balancer. */
  port: number;
  /** Host address the load balancer is published on (default 127.0.0.1: this machine only). */
  address?: string;
  /** HAProxy image (with socat): see scripts/base-images.sh. */
  proxyImage?: string;
  /** Credentials for pulling the app's image from a private registry. */
  registryAuth?: RegistryAuth | undefined;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_PROXY_IMAGE = 'shipml/haproxy:2.6';

export class DockerTarget implements DeployTarget {
  readonly kind = 'docker';
  private readonly engine: Engine;
  private readonly proxy: LoadBalancer;
  private readonly address: string;

  constructor(private readonly options: DockerTargetOptions) {
    this.engine = new Engine(options.env, options.registryAuth);
    this.address = options.address ?? '127.0.0.1';
    this.proxy = new LoadBalancer(this.engine, {
      address: this.address,
      port: options.port,
      image: options.proxyImage ?? DEFAULT_PROXY_IMAGE,
    });
  }

  async deploy(
    release: Release,
    spec: DeploySpec,
    options: DeployOptions = {},
  ): Promise<DeployResult> {
    const started = performance.now();
    if (spec.replicas > SLOTS / 2 - 1)
      throw new ConfigError(
        `deploy.replicas: ${spec.replicas} is more than the Docker target runs (at most ${SLOTS / 2 - 1} on one machine)`,
      );
    const say = (message: string, replicas?: DeployStatus['replicas']) =>
      options.onEvent?.({ message, replicas });
    let state = await this.engine.read(spec.app);
    await this.removeFailed(state, say);
    const live = liveRevision(state);
    if (
      live &&
      live.image === release.image &&
      sameSpec(live.spec, spec) &&
      state.proxy?.State === 'running'
    ) {
      const ready = await this.readyCount(spec.app, live);
      if (ready === spec.replicas) {
        say(`revision ${live.number} already serves ${release.image}: nothing to do`);
        return this.result(live, started);
      }
    }

    try {
      await this.engine.ensureImage(release.image, say);
    } catch (err) {
      throw new RolloutError(
        `image ${release.image} could not be pulled (${(err as Error).message}); nothing changed, ${this.describeLive(live)}`,
        'image-pull',
        live && publicRevision(live),
        false,
        { cause: err },
      );
    }
    const proxy = await this.proxy.ensure(spec, say);
    const admin = new HaproxyAdmin(proxy);
    state = await this.engine.read(spec.app);
    const number = nextRevisionNumber(state);
    const revision: RevisionRecord = {
      number,
      image: release.image,
      provenance: release.provenance,
      deployedAt: new Date().toISOString(),
      spec,
      replicas: [],
    };
    const old = (liveRevision(state)?.replicas ?? []).filter((r) => r.running);
    const before = [...old];
    const retired: Replica[] = [];
    const serving = new Set<Replica>();
    const used = new Set(
      state.revisions.flatMap((r) => r.replicas.filter((x) => x.running).map((x) => x.slot)),
    );
    // What the load balancer says now: ready = passes its check and takes traffic; updated =
    // those of the new revision. Unknown (no counts) when it does not answer.
    const counts = async (): Promise<DeployEvent['replicas']> => {
      const slots = await admin.slots().catch(() => undefined);
      if (!slots) return undefined;
      const up = readySlots(slots);
      const ready = (rs: Replica[]) => rs.filter((r) => r.running && up.has(r.slot)).length;
      return {
        desired: spec.replicas,
        ready: ready(before) + ready(revision.replicas),
        updated: ready(revision.replicas),
      };
    };
    say(
      `rolling out revision ${number}: ${spec.replicas} replica(s) of ${release.image}`,
      await counts(),
    );

    try {
      for (let i = 1; i <= spec.replicas; i++) {
        if (options.signal?.aborted)
          throw new ReplicaFailure('the rollout was cancelled', 'cancelled');
        const slot = freeSlot(used);
        used.add(slot);
        const replica = await startReplica(this.engine, revision, i, slot);
        revision.replicas.push(replica);
        say(`replica ${replica.name} started; waiting for ${spec.readinessPath}`, await counts());
        await admin.add({ slot, address: await replicaAddress(this.engine, replica, spec.app) });
        await waitReady(this.engine, admin, replica, spec, options.signal);
        await admin.enable(slot);
        serving.add(replica);
        say(`replica ${replica.name} is ready and takes traffic`, await counts());
        const leaving = old.shift();
        if (leaving) {
          await retire(this.engine, admin, leaving, spec);
          retired.push(leaving);
          say(`replica ${leaving.name} drained and stopped`, await counts());
        }
      }
      for (const leaving of old) {
        await retire(this.engine, admin, leaving, spec);
        retired.push(leaving);
        say(`replica ${leaving.name} drained and stopped (fewer replicas asked)`, await counts());
      }
    } catch (err) {
      const failure = err instanceof ReplicaFailure ? err : undefined;
      const reason = failure?.message ?? (err as Error).message;
      say(`revision ${number} failed: ${reason}; rolling back`);
      // The replica that crashed or never became ready stays, stopped, for `docker logs`.
      const failed =
        failure?.failure === 'crash-loop' || failure?.failure === 'never-ready'
          ? failure.replica
          : undefined;
      const kept = await this.undo(admin, revision.replicas, serving, retired, spec, say, failed);
      const after = liveRevision(await this.engine.read(spec.app));
      const hint = [
        failure?.hint,
        kept && `its container is kept, stopped, until the next deploy: docker logs ${kept}`,
      ].filter(Boolean);
      throw new RolloutError(
        `revision ${number} (${release.image}) did not roll out: ${reason}; rolled back, ${this.describeLive(after)}`,
        failure?.failure ?? 'deadline',
        after && publicRevision(after),
        true,
        { cause: err, hint: hint.length ? hint.join('; ') : undefined },
      );
    }
    await this.settle(spec.app, proxy, spec);
    say(`revision ${number} serves on every replica`, await counts());
    return this.result(revision, started);
  }

  async status(app: string): Promise<DeployStatus> {
    const state = await this.engine.read(app);
    const live = liveRevision(state);
    const running = state.revisions.filter((r) => r.replicas.some((x) => x.running));
    return {
      app,
      live: live && publicRevision(live),
      replicas: {
        desired: live?.spec.replicas ?? 0,
        ready: live ? await this.readyCount(app, live) : 0,
        updated: live?.replicas.filter((r) => r.running).length ?? 0,
      },
      url: live ? this.url(state) : undefined,
      rollout:
        running.length > 1
          ? `revisions ${running.map((r) => r.number).join(' and ')} are both running (a rollout was interrupted): deploy again to finish`
          : state.failed.length
            ? `the last rollout failed; kept for inspection until the next deploy: ${state.failed.map((f) => `docker logs ${f.name}`).join(', ')}`
            : undefined,
    };
  }

  async history(app: string): Promise<Revision[]> {
    return (await this.engine.read(app)).revisions.map(publicRevision);
  }

  async rollback(app: string, to?: number, options: DeployOptions = {}): Promise<DeployResult> {
    const state = await this.engine.read(app);
    const live = liveRevision(state);
    if (!live)
      throw new NotFoundError(
        `app ${app} is not deployed on the Docker target: nothing to roll back`,
      );
    const target = rollbackTarget(state, app, live, to);
    options.onEvent?.({ message: `rolling back to revision ${target.number} (${target.image})` });
    return this.deploy(
      { image: target.image, provenance: target.provenance },
      target.spec,
      options,
    );
  }

  async destroy(app: string): Promise<void> {
    const containers = await this.engine.list(app);
    for (const c of containers)
      await engineCall(this.engine.where, `removing ${c.Names[0] ?? c.Id}`, () =>
        this.engine.docker.getContainer(c.Id).remove({ force: true }),
      ).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    await this.engine.docker
      .getNetwork(names.network(app))
      .remove()
      .catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
  }

  // ---- engine state ----

  private url(state: AppState): string | undefined {
    const port = state.proxy?.Ports.find((p) => p.PrivatePort === PROXY_PORT && p.PublicPort);
    return port
      ? `http://${port.IP && port.IP !== '0.0.0.0' ? port.IP : this.address}:${port.PublicPort}/`
      : undefined;
  }

  private result(revision: RevisionRecord, started: number): DeployResult {
    return {
      revision: publicRevision(revision),
      seconds: +((performance.now() - started) / 1000).toFixed(2),
      url: `http://${this.address}:${this.options.port}/`,
    };
  }

  private describeLive(live: RevisionRecord | undefined): string {
    return live
      ? `revision ${live.number} (${live.image}) still serves`
      : 'nothing was serving before and nothing serves now';
  }

  private async readyCount(app: string, live: RevisionRecord): Promise<number> {
    const proxy = this.engine.docker.getContainer(names.proxy(app));
    const slots = await new HaproxyAdmin(proxy).slots().catch(() => [] as SlotState[]);
    const ready = readySlots(slots);
    return live.replicas.filter((r) => r.running && ready.has(r.slot)).length;
  }

  // ---- images, network, proxy ----

  /** After a rollout: the config file matches what serves; one stopped container per old revision is kept. */
  private async settle(app: string, proxy: Docker.Container, spec: DeploySpec): Promise<void> {
    const state = await this.engine.read(app);
    const live = liveRevision(state);
    const running = live?.replicas.filter((r) => r.running) ?? [];
    await this.proxy.writeConfig(proxy, spec, await this.engine.servers(running, app));
    const keep = spec.historyLimit;
    for (const [index, revision] of state.revisions.entries()) {
      if (revision === live) continue;
      const stopped = revision.replicas
        .filter((r) => !r.running)
        .sort((a, b) => a.name.localeCompare(b.name));
      const record = index < keep ? stopped[0] : undefined;
      for (const r of revision.replicas)
        if (r !== record && !r.running)
          await this.engine.docker.getContainer(r.id).remove({ force: true });
    }
  }

  // ---- replicas ----

  /** Removes the replicas kept from an earlier failed rollout (the next deploy's first step). */
  private async removeFailed(state: AppState, say: (m: string) => void): Promise<void> {
    for (const f of state.failed) {
      await engineCall(this.engine.where, `removing ${f.name}`, () =>
        this.engine.docker.getContainer(f.id).remove({ force: true }),
      ).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
      say(`removed ${f.name} (kept from a failed rollout)`);
    }
  }

  /**
   * Puts the retired replicas back into service, then takes the new ones out; `failed` is
   * kept, stopped (keepFailed). Returns the name it is kept under, if it could be kept.
   */
  private async undo(
    admin: HaproxyAdmin,
    added: Replica[],
    serving: Set<Replica>,
    retired: Replica[],
    spec: DeploySpec,
    say: (m: string) => void,
    failed: Replica | undefined,
  ): Promise<string | undefined> {
    let kept: string | undefined;
    for (const replica of retired) {
      await engineCall(this.engine.where, `restarting ${replica.name}`, () =>
        this.engine.docker.getContainer(replica.id).start(),
      );
      replica.running = true;
      await admin.add({
        slot: replica.slot,
        address: await replicaAddress(this.engine, replica, spec.app),
      });
      await waitReady(this.engine, admin, replica, spec, undefined);
      await admin.enable(replica.slot);
      say(`replica ${replica.name} is back in service`);
    }
    for (const replica of added) {
      // Replicas that took traffic leave gracefully; the others never had a request.
      if (serving.has(replica))
        await retire(this.engine, admin, replica, spec).catch(() => undefined);
      else await admin.remove(replica.slot).catch(() => undefined);
      if (replica === failed) {
        kept = await keepFailed(this.engine, replica).catch(() => undefined);
        if (kept) {
          say(`replica ${replica.name} stopped and kept as ${kept}`);
          continue;
        }
      }
      await this.engine.docker
        .getContainer(replica.id)
        .remove({ force: true })
        .catch(() => undefined);
      say(`replica ${replica.name} removed`);
    }
    const proxy = this.engine.docker.getContainer(names.proxy(spec.app));
    const state = await this.engine.read(spec.app);
    const live = liveRevision(state);
    if (live) await this.settle(spec.app, proxy, live.spec);
    return kept;
  }
}
