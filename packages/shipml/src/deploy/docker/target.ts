/**
 * The Docker target: one machine, N replicas of the app on a private network, HAProxy in front
 * published on 127.0.0.1 (or the configured address) as the load balancer.
 *
 * A rollout replaces replicas one at a time the way Kamal does: start a new replica, let the
 * load balancer's readiness check see it UP, give it traffic, then drain an old one (no new
 * requests, in-flight ones finish) and stop it. There are never fewer ready replicas than
 * asked. When a new replica crashes, never becomes ready, or the rollout is cancelled, the
 * old replicas (stopped, not removed) are started again and the new ones removed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { ConfigError, ExternalServiceError, NotFoundError } from '../../core/errors.js';
import {
  RolloutError,
  type DeployOptions,
  type DeployResult,
  type DeploySpec,
  type DeployStatus,
  type DeployTarget,
  type Release,
  type Revision,
  type RolloutFailure,
} from '../types.js';
import { connectEngine, demux, engineAnswer, engineCall, isMissing } from './engine.js';
import {
  CONFIG_PATH,
  HaproxyAdmin,
  PROXY_PORT,
  SLOTS,
  renderHaproxyConfig,
  type SlotState,
} from './haproxy.js';
import {
  LABEL,
  liveRevision,
  names,
  publicRevision,
  readState,
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
  registryAuth?: { username: string; password: string; serveraddress: string } | undefined;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_PROXY_IMAGE = 'shipml/haproxy:2.6';
/** Seconds a replica gets between SIGTERM and SIGKILL, once drained. */
const STOP_SECONDS = 30;
const POLL_MS = 250;

/** Why a replica failed to come up, for RolloutError. */
class ReplicaFailure extends Error {
  constructor(
    message: string,
    readonly failure: RolloutFailure,
  ) {
    super(message);
  }
}

export class DockerTarget implements DeployTarget {
  readonly kind = 'docker';
  private readonly docker: Docker;
  private readonly where: string;
  private readonly address: string;
  private readonly proxyImage: string;

  constructor(private readonly options: DockerTargetOptions) {
    ({ docker: this.docker, where: this.where } = connectEngine(options.env));
    this.address = options.address ?? '127.0.0.1';
    this.proxyImage = options.proxyImage ?? DEFAULT_PROXY_IMAGE;
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
    let state = await this.read(spec.app);
    const live = liveRevision(state);
    if (
      live &&
      live.image === release.image &&
      JSON.stringify(live.spec) === JSON.stringify(spec) &&
      state.proxy?.State === 'running'
    ) {
      const ready = await this.readyCount(spec.app, live);
      if (ready === spec.replicas) {
        say(`revision ${live.number} already serves ${release.image}: nothing to do`);
        return this.result(live, started);
      }
    }

    try {
      await this.ensureImage(release.image, say);
    } catch (err) {
      throw new RolloutError(
        `image ${release.image} could not be pulled (${(err as Error).message}); nothing changed, ${this.describeLive(live)}`,
        'image-pull',
        live && publicRevision(live),
        false,
        { cause: err },
      );
    }
    const proxy = await this.ensureProxy(spec, say);
    const admin = new HaproxyAdmin(proxy);
    state = await this.read(spec.app);
    const number = Math.max(0, ...state.revisions.map((r) => r.number)) + 1;
    const revision: RevisionRecord = {
      number,
      image: release.image,
      provenance: release.provenance,
      deployedAt: new Date().toISOString(),
      spec,
      replicas: [],
    };
    const old = (liveRevision(state)?.replicas ?? []).filter((r) => r.running);
    const retired: Replica[] = [];
    const serving = new Set<Replica>();
    const used = new Set(
      state.revisions.flatMap((r) => r.replicas.filter((x) => x.running).map((x) => x.slot)),
    );
    const counts = () => ({
      desired: spec.replicas,
      updated: revision.replicas.length,
      ready: spec.replicas,
    });
    say(
      `rolling out revision ${number}: ${spec.replicas} replica(s) of ${release.image}`,
      counts(),
    );

    try {
      for (let i = 1; i <= spec.replicas; i++) {
        if (options.signal?.aborted)
          throw new ReplicaFailure('the rollout was cancelled', 'cancelled');
        const slot = freeSlot(used);
        used.add(slot);
        const replica = await this.startReplica(revision, i, slot);
        revision.replicas.push(replica);
        say(`replica ${replica.name} started; waiting for ${spec.readinessPath}`, counts());
        await admin.add({ slot, address: await this.addressOf(replica, spec.app) });
        await this.waitReady(admin, replica, spec, options.signal);
        await admin.enable(slot);
        serving.add(replica);
        say(`replica ${replica.name} is ready and takes traffic`, counts());
        const leaving = old.shift();
        if (leaving) {
          await this.retire(admin, leaving, spec);
          retired.push(leaving);
          say(`replica ${leaving.name} drained and stopped`, counts());
        }
      }
      for (const leaving of old) {
        await this.retire(admin, leaving, spec);
        retired.push(leaving);
        say(`replica ${leaving.name} drained and stopped (fewer replicas asked)`, counts());
      }
    } catch (err) {
      const failure = err instanceof ReplicaFailure ? err : undefined;
      const reason = failure?.message ?? (err as Error).message;
      say(`revision ${number} failed: ${reason}; rolling back`);
      await this.undo(admin, revision.replicas, serving, retired, spec, say);
      const after = liveRevision(await this.read(spec.app));
      throw new RolloutError(
        `revision ${number} (${release.image}) did not roll out: ${reason}; rolled back, ${this.describeLive(after)}`,
        failure?.failure ?? 'deadline',
        after && publicRevision(after),
        true,
        { cause: err },
      );
    }
    await this.settle(spec.app, proxy, spec);
    say(`revision ${number} serves on every replica`, { ...counts(), updated: spec.replicas });
    return this.result(revision, started);
  }

  async status(app: string): Promise<DeployStatus> {
    const state = await this.read(app);
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
          : undefined,
    };
  }

  async history(app: string): Promise<Revision[]> {
    return (await this.read(app)).revisions.map(publicRevision);
  }

  async rollback(app: string, to?: number, options: DeployOptions = {}): Promise<DeployResult> {
    const state = await this.read(app);
    const live = liveRevision(state);
    if (!live)
      throw new NotFoundError(
        `app ${app} is not deployed on the Docker target: nothing to roll back`,
      );
    const target =
      to === undefined
        ? state.revisions.find((r) => r.number < live.number)
        : state.revisions.find((r) => r.number === to);
    if (!target)
      throw new NotFoundError(
        to === undefined
          ? `app ${app} has no revision before ${live.number} to roll back to`
          : `app ${app} has no revision ${to} (revisions: ${state.revisions.map((r) => r.number).join(', ')})`,
        { hint: 'shipml status --history lists them' },
      );
    options.onEvent?.({ message: `rolling back to revision ${target.number} (${target.image})` });
    return this.deploy(
      { image: target.image, provenance: target.provenance },
      target.spec,
      options,
    );
  }

  async destroy(app: string): Promise<void> {
    const containers = await this.list(app);
    for (const c of containers)
      await engineCall(this.where, `removing ${c.Names[0] ?? c.Id}`, () =>
        this.docker.getContainer(c.Id).remove({ force: true }),
      ).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    await this.docker
      .getNetwork(names.network(app))
      .remove()
      .catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
  }

  // ---- engine state ----

  private async list(app: string): Promise<Docker.ContainerInfo[]> {
    return engineCall(this.where, `listing ${app}'s containers`, () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${app}`] } }),
    );
  }

  private async read(app: string): Promise<AppState> {
    return readState(await this.list(app));
  }

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
    const proxy = this.docker.getContainer(names.proxy(app));
    const slots = await new HaproxyAdmin(proxy).slots().catch(() => [] as SlotState[]);
    const ready = new Set(
      slots.filter((s) => s.status === 'UP' && s.weight > 0).map((s) => s.slot),
    );
    return live.replicas.filter((r) => r.running && ready.has(r.slot)).length;
  }

  // ---- images, network, proxy ----

  private async ensureImage(image: string, say?: (message: string) => void): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    say?.(`pulling ${image}`);
    const stream = await engineCall(this.where, `pulling ${image}`, () =>
      this.docker.pull(
        image,
        this.options.registryAuth ? { authconfig: this.options.registryAuth } : {},
      ),
    );
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, messages: Array<{ error?: string }>) => {
          const failed = err?.message ?? messages.find((m) => m.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
      ),
    );
  }

  private async ensureProxy(spec: DeploySpec, say: (m: string) => void): Promise<Docker.Container> {
    const app = spec.app;
    const settings = JSON.stringify({
      port: spec.port,
      readinessPath: spec.readinessPath,
      host: `${this.address}:${this.options.port}`,
      image: this.proxyImage,
    });
    const network = names.network(app);
    try {
      await this.docker.getNetwork(network).inspect();
    } catch (err) {
      if (!isMissing(err)) throw err;
      await engineCall(this.where, `creating network ${network}`, () =>
        this.docker.createNetwork({
          Name: network,
          Driver: 'bridge',
          Labels: { [LABEL.app]: app },
        }),
      );
    }
    const state = await this.read(app);
    const name = names.proxy(app);
    const current = state.proxy;
    if (current?.Labels[LABEL.proxy] === settings) {
      const container = this.docker.getContainer(current.Id);
      if (current.State !== 'running')
        await engineCall(this.where, `starting ${name}`, () => container.start());
      await this.waitAdmin(container);
      return container;
    }
    await this.ensureImage(this.proxyImage).catch((err: unknown) => {
      throw new ConfigError(
        `load balancer image ${this.proxyImage} is not available: ${(err as Error).message}`,
        {
          hint: 'scripts/base-images.sh builds shipml/haproxy:2.6; set deploy.docker.proxyImage to where it is',
        },
      );
    });
    // Port, readiness path or image changed: HAProxy cannot change those at run time, so a
    // new proxy replaces the old one — started beside it when the host port differs (the old
    // one serves until the new one runs), else in its place.
    const host = `${this.address}:${this.options.port}`;
    const samePort =
      current !== undefined &&
      (JSON.parse(current.Labels[LABEL.proxy] ?? '{}') as { host?: string }).host === host;
    if (current) {
      say(
        `load balancer settings changed: replacing ${name}${samePort ? ' (open connections are cut)' : ''}`,
      );
      if (samePort) await this.docker.getContainer(current.Id).remove({ force: true });
    }
    const running = liveRevision(state)?.replicas.filter((r) => r.running) ?? [];
    const servers = await Promise.all(
      running.map(async (r) => ({ slot: r.slot, address: await this.addressOf(r, app) })),
    );
    const container = await engineCall(this.where, `creating ${name}`, () =>
      this.docker.createContainer({
        name: current && !samePort ? `${name}-next` : name,
        Image: this.proxyImage,
        Cmd: ['haproxy', '-W', '-db', '-f', CONFIG_PATH],
        Labels: { [LABEL.app]: app, [LABEL.role]: 'proxy', [LABEL.proxy]: settings },
        ExposedPorts: { [`${PROXY_PORT}/tcp`]: {} },
        HostConfig: {
          NetworkMode: network,
          PortBindings: {
            [`${PROXY_PORT}/tcp`]: [{ HostIp: this.address, HostPort: String(this.options.port) }],
          },
          RestartPolicy: { Name: 'unless-stopped' },
        },
      }),
    );
    await this.writeProxyConfig(container, spec, servers);
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      // Nothing half-made: a first deploy that cannot start its proxy leaves no network.
      if (state.revisions.length === 0 && !current)
        await this.docker
          .getNetwork(network)
          .remove()
          .catch(() => undefined);
      const message = engineAnswer(err)?.message ?? (err as Error).message;
      if (/already allocated|address already in use/i.test(message))
        throw new ConfigError(`port ${host} for ${app}'s load balancer is in use`, {
          hint: 'stop what listens there, or set deploy.docker.port to a free port',
        });
      const lost = samePort
        ? `; the previous load balancer is gone: nothing serves at ${host}`
        : '';
      throw new ConfigError(`load balancer ${name} did not start: ${message}${lost}`, {
        cause: err,
      });
    }
    if (current && !samePort) {
      await this.docker.getContainer(current.Id).remove({ force: true });
      await container.rename({ name });
    }
    await this.waitAdmin(container);
    say(`load balancer ${name} listens on http://${this.address}:${this.options.port}/`);
    return container;
  }

  private async waitAdmin(container: Docker.Container): Promise<void> {
    const admin = new HaproxyAdmin(container);
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await admin.command('show info');
        return;
      } catch (err) {
        if (Date.now() > until)
          throw new ExternalServiceError(
            `load balancer did not answer on its Runtime API: ${(err as Error).message}`,
            { retryable: true, cause: err },
          );
        await sleep(100);
      }
    }
  }

  private async writeProxyConfig(
    container: Docker.Container,
    spec: DeploySpec,
    servers: Array<{ slot: number; address: string }>,
  ): Promise<void> {
    const config = renderHaproxyConfig(
      { port: spec.port, readinessPath: spec.readinessPath },
      servers,
    );
    const tar = pack();
    tar.entry({ name: CONFIG_PATH.slice(1), mode: 0o644 }, config);
    tar.finalize();
    const body = new PassThrough();
    tar.pipe(body);
    await engineCall(this.where, 'writing the load balancer config', () =>
      container.putArchive(body, { path: '/' }),
    );
  }

  /** After a rollout: the config file matches what serves; one stopped container per old revision is kept. */
  private async settle(app: string, proxy: Docker.Container, spec: DeploySpec): Promise<void> {
    const state = await this.read(app);
    const live = liveRevision(state);
    const servers = await Promise.all(
      (live?.replicas.filter((r) => r.running) ?? []).map(async (r) => ({
        slot: r.slot,
        address: await this.addressOf(r, app),
      })),
    );
    await this.writeProxyConfig(proxy, spec, servers);
    const keep = spec.historyLimit;
    for (const [index, revision] of state.revisions.entries()) {
      if (revision === live) continue;
      const stopped = revision.replicas
        .filter((r) => !r.running)
        .sort((a, b) => a.name.localeCompare(b.name));
      const record = index < keep ? stopped[0] : undefined;
      for (const r of revision.replicas)
        if (r !== record && !r.running)
          await this.docker.getContainer(r.id).remove({ force: true });
    }
  }

  // ---- replicas ----

  private async startReplica(
    revision: RevisionRecord,
    index: number,
    slot: number,
  ): Promise<Replica> {
    const spec = revision.spec;
    const name = names.replica(spec.app, revision.number, index);
    const env = {
      PORT: String(spec.port),
      ...spec.env,
      SHIPML_IMAGE: revision.image,
      SHIPML_REVISION: String(revision.number),
    };
    const container = await engineCall(this.where, `creating replica ${name}`, () =>
      this.docker.createContainer({
        name,
        Image: revision.image,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: {
          ...spec.labels,
          [LABEL.app]: spec.app,
          [LABEL.role]: 'replica',
          [LABEL.revision]: String(revision.number),
          [LABEL.slot]: String(slot),
          [LABEL.image]: revision.image,
          [LABEL.provenance]: JSON.stringify(revision.provenance),
          [LABEL.deployedAt]: revision.deployedAt,
          [LABEL.spec]: JSON.stringify(spec),
        },
        StopTimeout: STOP_SECONDS,
        HostConfig: {
          NetworkMode: names.network(spec.app),
          RestartPolicy: { Name: 'unless-stopped' },
          // The same hardening the Kubernetes target renders: read-only root, no privileges.
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=256m' },
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          // An init as PID 1 passes SIGTERM on: a process that is PID 1 itself ignores it
          // unless it installs a handler, and would only stop at SIGKILL.
          Init: true,
        },
      }),
    );
    await engineCall(this.where, `starting replica ${name}`, () => container.start());
    return { id: container.id, name, revision: revision.number, slot, running: true };
  }

  private async addressOf(replica: Replica, app: string): Promise<string> {
    const info = await engineCall(this.where, `inspecting ${replica.name}`, () =>
      this.docker.getContainer(replica.id).inspect(),
    );
    const address = info.NetworkSettings.Networks[names.network(app)]?.IPAddress;
    if (!address)
      throw new ReplicaFailure(
        `replica ${replica.name} has no address on its network`,
        'crash-loop',
      );
    return address;
  }

  /** Until the load balancer's check sees the replica UP; a crash or the deadline ends it. */
  private async waitReady(
    admin: HaproxyAdmin,
    replica: Replica,
    spec: DeploySpec,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const deadline = Date.now() + spec.progressDeadlineSeconds * 1000;
    const container = this.docker.getContainer(replica.id);
    let last: SlotState | undefined;
    for (;;) {
      if (signal?.aborted) throw new ReplicaFailure('the rollout was cancelled', 'cancelled');
      const info = await container.inspect();
      if (!info.State.Running || info.State.Restarting || info.RestartCount > 0) {
        // Once the engine has restarted it, the exit code of the crash is gone.
        const how =
          info.State.Running || info.State.Restarting
            ? `keeps crashing (restarted ${info.RestartCount} time(s))`
            : `exited with code ${info.State.ExitCode}`;
        throw new ReplicaFailure(
          `replica ${replica.name} ${how}${await this.lastLog(container)}`,
          'crash-loop',
        );
      }
      last = (await admin.slots()).find((s) => s.slot === replica.slot);
      if (last?.status === 'UP') return;
      if (Date.now() > deadline)
        throw new ReplicaFailure(
          `replica ${replica.name} was not ready within ${spec.progressDeadlineSeconds} s (GET ${spec.readinessPath}: ${describeCheck(last)})`,
          'never-ready',
        );
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  /** The log line that best says why a replica stopped, as ` (last log line: ...)`. */
  private async lastLog(container: Docker.Container): Promise<string> {
    const raw = await container
      .logs({ stdout: true, stderr: true, tail: 20, follow: false })
      .catch(() => undefined);
    if (!raw) return '';
    const { stdout, stderr } = demux(raw);
    const line = telltaleLine(`${stdout}\n${stderr}`);
    return line ? ` (last log line: ${line.slice(0, 200)})` : '';
  }

  /** Drains a replica out of the load balancer, then stops it (kept for rollback). */
  private async retire(admin: HaproxyAdmin, replica: Replica, spec: DeploySpec): Promise<void> {
    await admin.drain(replica.slot);
    const until = Date.now() + spec.drainSeconds * 1000;
    while (Date.now() < until) {
      const slot = (await admin.slots()).find((s) => s.slot === replica.slot);
      if (!slot || slot.current === 0) break;
      await sleep(100);
    }
    await admin.remove(replica.slot);
    await engineCall(this.where, `stopping ${replica.name}`, () =>
      this.docker.getContainer(replica.id).stop({ t: STOP_SECONDS }),
    ).catch((err: unknown) => {
      if (engineAnswer(err)?.status !== 304) throw err;
    });
    replica.running = false;
  }

  /** Puts the retired replicas back into service, then takes the new ones out. */
  private async undo(
    admin: HaproxyAdmin,
    added: Replica[],
    serving: Set<Replica>,
    retired: Replica[],
    spec: DeploySpec,
    say: (m: string) => void,
  ): Promise<void> {
    for (const replica of retired) {
      await engineCall(this.where, `restarting ${replica.name}`, () =>
        this.docker.getContainer(replica.id).start(),
      );
      replica.running = true;
      await admin.add({ slot: replica.slot, address: await this.addressOf(replica, spec.app) });
      await this.waitReady(admin, replica, spec, undefined);
      await admin.enable(replica.slot);
      say(`replica ${replica.name} is back in service`);
    }
    for (const replica of added) {
      // Replicas that took traffic leave gracefully; the others never had a request.
      if (serving.has(replica)) await this.retire(admin, replica, spec).catch(() => undefined);
      else await admin.remove(replica.slot).catch(() => undefined);
      await this.docker
        .getContainer(replica.id)
        .remove({ force: true })
        .catch(() => undefined);
      say(`replica ${replica.name} removed`);
    }
    const proxy = this.docker.getContainer(names.proxy(spec.app));
    const state = await this.read(spec.app);
    const live = liveRevision(state);
    if (live) await this.settle(spec.app, proxy, live.spec);
  }
}

function freeSlot(used: Set<number>): number {
  for (let slot = 1; slot <= SLOTS; slot++) if (!used.has(slot)) return slot;
  throw new ConfigError('the load balancer has no free slot');
}

function describeCheck(slot: SlotState | undefined): string {
  if (!slot?.check) return 'no answer yet';
  if (slot.check.startsWith('L7STS')) return `answered HTTP ${slot.check.split('/')[1] ?? '?'}`;
  if (slot.check.startsWith('L4CON')) return 'connection refused';
  if (slot.check.startsWith('L4TOUT') || slot.check.startsWith('L7TOUT')) return 'timed out';
  return slot.check;
}

/**
 * The last line that reads like an error (else the last line) of a log, made readable when it
 * is a JSON log record (pino, bunyan, structlog): its message and its error's message.
 */
export function telltaleLine(log: string): string | undefined {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line =
    lines.findLast((l) => /error|fatal|exception|panic|traceback|failed/i.test(l)) ?? lines.at(-1);
  if (!line?.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as {
      msg?: unknown;
      message?: unknown;
      err?: { message?: unknown };
      error?: { message?: unknown } | string;
    };
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const message = text(record.msg) ?? text(record.message);
    const error =
      text(record.err?.message) ??
      (typeof record.error === 'string' ? record.error : text(record.error?.message));
    return [message, error].filter(Boolean).join(': ') || line;
  } catch {
    return line;
  }
}
