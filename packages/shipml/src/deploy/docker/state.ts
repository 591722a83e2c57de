/**
 * What is deployed, read back from the engine: every fact the Docker target needs lives in
 * labels on the containers it creates, so a restarted ShipML (or another machine's, talking to
 * the same engine) sees exactly what is deployed. One stopped container is kept per retired
 * revision as its record, for history and rollback.
 */
import type Docker from 'dockerode';
import type { DeploySpec, ReleaseProvenance, Revision } from '../types.js';

export const LABEL = {
  app: 'dev.shipml.app',
  role: 'dev.shipml.role',
  revision: 'dev.shipml.revision',
  slot: 'dev.shipml.slot',
  image: 'dev.shipml.image',
  provenance: 'dev.shipml.provenance',
  deployedAt: 'dev.shipml.deployed-at',
  spec: 'dev.shipml.spec',
  /** On the proxy: the settings its config was written with (port, readiness path, host port). */
  proxy: 'dev.shipml.proxy',
} as const;

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

export interface AppState {
  proxy: Docker.ContainerInfo | undefined;
  /** Revisions with at least one container, newest first. */
  revisions: RevisionRecord[];
}

/** Groups the app's containers (from one `docker ps -a` by label) into revisions. */
export function readState(containers: readonly Docker.ContainerInfo[]): AppState {
  const byRevision = new Map<number, RevisionRecord>();
  let proxy: Docker.ContainerInfo | undefined;
  for (const c of containers) {
    const labels = c.Labels;
    if (labels[LABEL.role] === 'proxy') {
      proxy = c;
      continue;
    }
    if (labels[LABEL.role] !== 'replica') continue;
    const number = Number(labels[LABEL.revision]);
    const replica: Replica = {
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      revision: number,
      slot: Number(labels[LABEL.slot]),
      running: c.State === 'running' || c.State === 'restarting',
    };
    let record = byRevision.get(number);
    if (!record) {
      record = {
        number,
        image: labels[LABEL.image] ?? c.Image,
        provenance: JSON.parse(labels[LABEL.provenance] ?? '{}') as ReleaseProvenance,
        deployedAt: labels[LABEL.deployedAt] ?? new Date(c.Created * 1000).toISOString(),
        spec: JSON.parse(labels[LABEL.spec] ?? '{}') as DeploySpec,
        replicas: [],
      };
      byRevision.set(number, record);
    }
    record.replicas.push(replica);
  }
  const revisions = [...byRevision.values()].sort((a, b) => b.number - a.number);
  return { proxy, revisions };
}

/** The revision serving now: the newest one with running replicas. */
export function liveRevision(state: AppState): RevisionRecord | undefined {
  return state.revisions.find((r) => r.replicas.some((x) => x.running));
}

/** A Revision as the contract reports it (no engine details). */
export function publicRevision(r: RevisionRecord): Revision {
  return { number: r.number, image: r.image, provenance: r.provenance, deployedAt: r.deployedAt };
}
