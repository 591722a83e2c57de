/**
 * What is deployed, read back from the engine: every fact the Docker target needs lives in
 * labels on the containers it creates, so a restarted ShipML (or another machine's, talking to
 * the same engine) sees exactly what is deployed. One stopped container is kept per retired
 * revision as its record, for history and rollback.
 *
 * Labels are read through zod (labels.ts): anyone can label a container, and a record
 * written long ago may be damaged. What ShipML does with a container it cannot read:
 * - no `dev.shipml.role`, or a role it does not know: not ShipML's; left alone, listed in
 *   `ignored`, as before.
 * - a stopped replica with damaged labels: only a record of a retired revision; it leaves the
 *   history (listed in `ignored` with the reason) and rolling back to it is an error saying
 *   why — rolling back to something else instead would be a surprise.
 * - a running replica with damaged labels: ConflictError. It may take traffic and holds a
 *   load balancer slot, but which revision it serves is unknown, so no rollout can replace
 *   it and no rollback can trust what is live; going on would leave it serving beside the
 *   new release. The user removes it (`docker rm -f`); `shipml destroy` still works.
 * - a replica kept from a failed rollout (`shipml-APP-rN-I-failed`, labels.ts): listed in
 *   `failed`, never a record or a live replica, whatever its labels say, so it blocks
 *   nothing; the next deploy removes it.
 */
import type Docker from 'dockerode';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { DeploySpec, Revision } from '../types.js';
import { LABEL, readFailedAttempt, readReplicaLabels, revisionFromName } from './labels.js';

export { LABEL, proxySettingsLabel, readProxySettings, replicaLabels } from './labels.js';

export const names = {
  network: (app: string) => `shipml-${app}`,
  proxy: (app: string) => `shipml-${app}-lb`,
  replica: (app: string, revision: number, index: number) => `shipml-${app}-r${revision}-${index}`,
};

export interface Replica {
  id: string;
  name: string;
  revision: number;
  slot: number;
  running: boolean;
}

export interface RevisionRecord extends Revision {
  spec: DeploySpec;
  replicas: Replica[];
}

/** A container with the app's label that ShipML leaves out of its state, and why. */
export interface IgnoredContainer {
  id: string;
  name: string;
  /** The revision it claims (from its label, else its name), when that much is readable. */
  revision: number | undefined;
  reason: string;
}

/** A replica kept, stopped, from a failed rollout so its logs can be read (labels.ts). */
export interface FailedAttempt {
  id: string;
  name: string;
  /** The revision it tried, when its label or name says. */
  revision: number | undefined;
}

export interface AppState {
  proxy: Docker.ContainerInfo | undefined;
  /** Revisions with at least one container, newest first. */
  revisions: RevisionRecord[];
  /** Containers with the app's label that are not ShipML's, or stopped records it cannot read. */
  ignored: IgnoredContainer[];
  /** Replicas kept from failed rollouts, until the next deploy or destroy. */
  failed: FailedAttempt[];
}

/**
 * Groups the app's containers (from one `docker ps -a` by label) into revisions. Throws
 * ConflictError for a running replica whose labels do not read (see the file comment).
 */
export function readState(containers: readonly Docker.ContainerInfo[]): AppState {
  const byRevision = new Map<number, RevisionRecord>();
  const ignored: IgnoredContainer[] = [];
  const failed: FailedAttempt[] = [];
  let proxy: Docker.ContainerInfo | undefined;
  for (const c of containers) {
    const labels = c.Labels ?? {};
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    const role = labels[LABEL.role];
    if (role === 'proxy') {
      proxy = c;
      continue;
    }
    if (role !== 'replica') {
      ignored.push({
        id: c.Id,
        name,
        revision: undefined,
        reason:
          role === undefined
            ? `no ${LABEL.role} label: not a container ShipML made`
            : `${LABEL.role} "${role}" is not a role ShipML gives`,
      });
      continue;
    }
    const attempt = readFailedAttempt(name, labels);
    if (attempt) {
      failed.push({ id: c.Id, name, revision: attempt.revision });
      continue;
    }
    const running = c.State === 'running' || c.State === 'restarting';
    const read = readReplicaLabels(labels);
    if (!read.ok) {
      if (running)
        throw new ConflictError(
          `container ${name} of app ${labels[LABEL.app] ?? '?'} runs with damaged labels (${read.reason}): ShipML cannot tell which revision it serves`,
          { hint: `remove it (docker rm -f ${name}), then deploy again` },
        );
      ignored.push({
        id: c.Id,
        name,
        revision: read.revision ?? revisionFromName(name),
        reason: `damaged labels (${read.reason})`,
      });
      continue;
    }
    const l = read.value;
    const replica: Replica = { id: c.Id, name, revision: l.revision, slot: l.slot, running };
    let record = byRevision.get(l.revision);
    if (!record) {
      record = {
        number: l.revision,
        image: l.image,
        provenance: l.provenance,
        deployedAt: l.deployedAt,
        spec: l.spec,
        replicas: [],
      };
      byRevision.set(l.revision, record);
    }
    record.replicas.push(replica);
  }
  const revisions = [...byRevision.values()].sort((a, b) => b.number - a.number);
  return { proxy, revisions, ignored, failed };
}

/** The revision serving now: the newest one with running replicas. */
export function liveRevision(state: AppState): RevisionRecord | undefined {
  return state.revisions.find((r) => r.replicas.some((x) => x.running));
}

/**
 * The number of the next revision: above every one seen, unreadable records included (a
 * new revision must not take the name of a container that is still there).
 */
export function nextRevisionNumber(state: AppState): number {
  const seen = [
    ...state.revisions.map((r) => r.number),
    ...state.ignored.flatMap((c) => (c.revision === undefined ? [] : [c.revision])),
  ];
  return Math.max(0, ...seen) + 1;
}

/**
 * The revision `rollback` goes to: `to`, else the newest one before `live`. A damaged
 * record in that place is an error naming it, never skipped for an older revision.
 */
export function rollbackTarget(
  state: AppState,
  app: string,
  live: RevisionRecord,
  to: number | undefined,
): RevisionRecord {
  const candidates = [
    ...state.revisions.map((r) => ({ number: r.number, record: r, damaged: undefined })),
    ...state.ignored.flatMap((c) =>
      c.revision === undefined ? [] : [{ number: c.revision, record: undefined, damaged: c }],
    ),
  ];
  const found =
    to === undefined
      ? candidates
          .filter((c) => c.number < live.number)
          .sort((a, b) => b.number - a.number || (a.record ? -1 : 1))[0]
      : (candidates.find((c) => c.number === to && c.record) ??
        candidates.find((c) => c.number === to));
  if (found?.record) return found.record;
  if (found?.damaged)
    throw new ConflictError(
      `app ${app}'s revision ${found.number} cannot be rolled back to: its record ${found.damaged.name} has ${found.damaged.reason}`,
      {
        hint: `roll back to another revision (shipml status --history lists them), or remove ${found.damaged.name}`,
      },
    );
  throw new NotFoundError(
    to === undefined
      ? `app ${app} has no revision before ${live.number} to roll back to`
      : `app ${app} has no revision ${to} (revisions: ${state.revisions.map((r) => r.number).join(', ')})`,
    { hint: 'shipml status --history lists them' },
  );
}

/**
 * Whether two specs say the same: key order does not count (a spec read back from a label
 * has the schema's order, one from shipml.yaml its own).
 */
export function sameSpec(a: DeploySpec, b: DeploySpec): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sorted(v)]),
  );
}

/** A Revision as the contract reports it (no engine details). */
export function publicRevision(r: RevisionRecord): Revision {
  return { number: r.number, image: r.image, provenance: r.provenance, deployedAt: r.deployedAt };
}
