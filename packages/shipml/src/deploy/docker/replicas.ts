/**
 * The app's replicas: containers started hardened (read-only root, no capabilities, an init
 * as PID 1), judged ready by the load balancer's own check, drained out of it before they stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ConfigError } from '../../core/errors.js';
import { telltaleLine } from '../../core/log-lines.js';
import type { DeploySpec, RolloutFailure } from '../types.js';
import { demux, engineAnswer, engineCall, type Engine } from './engine.js';
import { SLOTS, type HaproxyAdmin, type SlotState } from './haproxy.js';
import { names, replicaLabels, type Replica, type RevisionRecord } from './state.js';

/** Seconds a replica gets between SIGTERM and SIGKILL, once drained. */
export const STOP_SECONDS = 30;
const POLL_MS = 250;

/** Why a replica failed to come up, for RolloutError. */
export class ReplicaFailure extends Error {
  constructor(
    message: string,
    readonly failure: RolloutFailure,
  ) {
    super(message);
  }
}

/** Starts replica `index` of `revision` in `slot` (the load balancer does not know it yet). */
export async function startReplica(
  engine: Engine,
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
  const container = await engineCall(engine.where, `creating replica ${name}`, () =>
    engine.docker.createContainer({
      name,
      Image: revision.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: replicaLabels(revision, slot),
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
  await engineCall(engine.where, `starting replica ${name}`, () => container.start());
  return { id: container.id, name, revision: revision.number, slot, running: true };
}
/** Until the load balancer's check sees the replica UP; a crash or the deadline ends it. */
export async function waitReady(
  engine: Engine,
  admin: HaproxyAdmin,
  replica: Replica,
  spec: DeploySpec,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + spec.progressDeadlineSeconds * 1000;
  const container = engine.docker.getContainer(replica.id);
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
        `replica ${replica.name} ${how}${await lastLog(container)}`,
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
async function lastLog(container: Docker.Container): Promise<string> {
  const raw = await container
    .logs({ stdout: true, stderr: true, tail: 20, follow: false })
    .catch(() => undefined);
  if (!raw) return '';
  const { stdout, stderr } = demux(raw);
  const line = telltaleLine(`${stdout}\n${stderr}`);
  return line ? ` (last log line: ${line.slice(0, 200)})` : '';
}
/** Drains a replica out of the load balancer, then stops it (kept for rollback). */
export async function retire(
  engine: Engine,
  admin: HaproxyAdmin,
  replica: Replica,
  spec: DeploySpec,
): Promise<void> {
  await admin.drain(replica.slot);
  const until = Date.now() + spec.drainSeconds * 1000;
  while (Date.now() < until) {
    const slot = (await admin.slots()).find((s) => s.slot === replica.slot);
    if (!slot || slot.current === 0) break;
    await sleep(100);
  }
  await admin.remove(replica.slot);
  await engineCall(engine.where, `stopping ${replica.name}`, () =>
    engine.docker.getContainer(replica.id).stop({ t: STOP_SECONDS }),
  ).catch((err: unknown) => {
    if (engineAnswer(err)?.status !== 304) throw err;
  });
  replica.running = false;
}

export function freeSlot(used: Set<number>): number {
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

/** The address a replica serves on, for the load balancer; a replica without one has exited. */
export async function replicaAddress(
  engine: Engine,
  replica: Replica,
  app: string,
): Promise<string> {
  const address = await engine.addressOf(replica, app);
  if (!address)
    throw new ReplicaFailure(`replica ${replica.name} has no address on its network`, 'crash-loop');
  return address;
}
