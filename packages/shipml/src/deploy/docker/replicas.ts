/**
 * The app's replicas: containers started hardened (read-only root, no capabilities, an init
 * as PID 1), judged ready by the load balancer's own check, drained out of it before they stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ConfigError } from '../../core/errors.js';
import { lastLines, telltaleLine } from '../../core/log-lines.js';
import { redactorFromEnv } from '../../core/redact.js';
import type { DeploySpec, RolloutFailure } from '../types.js';
import { demux, engineAnswer, engineCall, type Engine } from './engine.js';
import { SLOTS, type HaproxyAdmin, type SlotState } from './haproxy.js';
import { failedName } from './labels.js';
import { names, replicaLabels, type Replica, type RevisionRecord } from './state.js';

/** Seconds a replica gets between SIGTERM and SIGKILL, once drained. */
export const STOP_SECONDS = 30;
const POLL_MS = 250;

/** Log lines quoted when a replica runs but never becomes ready. */
const QUOTED_LINES = 3;
/** Env names whose values are masked in quoted log lines (besides core/redact's list). */
const SECRET_NAME = /secret|token|passw|pwd|key|credential|auth|private|connection|dsn/i;

/** Why a replica failed to come up, for RolloutError. */
export class ReplicaFailure extends Error {
  constructor(
    message: string,
    readonly failure: RolloutFailure,
    /** The replica that failed (kept for inspection when it crashed or never became ready). */
    readonly replica?: Replica,
    /** What the operator may do about it. */
    readonly hint?: string,
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
      const line = telltaleLine(await replicaLog(container, spec));
      throw new ReplicaFailure(
        `replica ${replica.name} ${how}${line ? ` (last log line: ${line.slice(0, 200)})` : ''}`,
        'crash-loop',
        replica,
      );
    }
    last = (await admin.slots()).find((s) => s.slot === replica.slot);
    if (last?.status === 'UP') return;
    if (Date.now() > deadline) {
      const check = describeCheck(last);
      const quoted = quotedLines(await replicaLog(container, spec), check)
        .map((l) => JSON.stringify(l.slice(0, 160)))
        .join(' | ');
      throw new ReplicaFailure(
        `replica ${replica.name} was not ready within ${spec.progressDeadlineSeconds} s (GET ${spec.readinessPath}: ${check}; ${quoted ? `last log lines: ${quoted}` : 'it logged nothing'})`,
        'never-ready',
        replica,
        check === 'connection refused'
          ? `is the app listening on 0.0.0.0:${spec.port} inside the container? Many servers listen on 127.0.0.1 by default (set HOST=0.0.0.0)`
          : undefined,
      );
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}
/**
 * The lines to quote for a replica that never became ready: the last few, and when its check
 * was refused the last one about listening (it names the address the app chose).
 */
function quotedLines(log: string[], check: string): string[] {
  const lines = lastLines(log, log.length);
  const tail = lines.slice(-QUOTED_LINES);
  const listen =
    check === 'connection refused' ? lines.findLast((l) => /listen/i.test(l)) : undefined;
  return listen && !tail.includes(listen) ? [listen, ...tail.slice(1)] : tail;
}

/**
 * A replica's last log lines, stdout and stderr merged in the order they were written, with
 * the values of the app's secret-looking env masked (a server may print its config).
 */
async function replicaLog(container: Docker.Container, spec: DeploySpec): Promise<string[]> {
  const raw = await container
    .logs({ stdout: true, stderr: true, tail: 20, follow: false, timestamps: true })
    .catch(() => undefined);
  if (!raw) return [];
  const { stdout, stderr } = demux(raw);
  const redactor = redactorFromEnv(spec.env);
  for (const [name, value] of Object.entries(spec.env))
    if (SECRET_NAME.test(name)) redactor.add(value);
  return [...stamped(stdout), ...stamped(stderr)]
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    .map((l) => redactor.redact(l.text));
}

/** Lines of `docker logs --timestamps` as (sortable time, text). */
function stamped(text: string): Array<{ at: string; text: string }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // RFC 3339 with up to 9 fractional digits, trailing zeros dropped: pad to compare as text.
      const match = /^(\S+?)(?:\.(\d+))?Z (.*)$/.exec(line);
      if (!match) return { at: '', text: line };
      return { at: `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}`, text: match[3]! };
    });
}

/**
 * Keeps a replica that failed its rollout for inspection: stopped (it takes no traffic and
 * restarts no more) and renamed `NAME-failed` (labels.ts). Returns the name it is kept under.
 */
export async function keepFailed(engine: Engine, replica: Replica): Promise<string> {
  const container = engine.docker.getContainer(replica.id);
  const kept = failedName(replica.name);
  // A replica that never served has no requests to finish.
  await engineCall(engine.where, `stopping ${replica.name}`, () => container.stop({ t: 2 })).catch(
    (err: unknown) => {
      if (engineAnswer(err)?.status !== 304) throw err;
    },
  );
  await engine.docker
    .getContainer(kept)
    .remove({ force: true })
    .catch(() => undefined);
  await engineCall(engine.where, `renaming ${replica.name}`, () =>
    container.rename({ name: kept }),
  );
  replica.running = false;
  return kept;
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
    throw new ReplicaFailure(
      `replica ${replica.name} has no address on its network`,
      'crash-loop',
      replica,
    );
  return address;
}
