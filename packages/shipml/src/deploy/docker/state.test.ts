import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { DEFAULT_SPEC, type DeploySpec, type ReleaseProvenance } from '../types.js';
import { DeploySpecSchema } from '../spec-schema.js';
import {
  LABEL,
  liveRevision,
  names,
  nextRevisionNumber,
  proxySettingsLabel,
  readProxySettings,
  readState,
  replicaLabels,
  rollbackTarget,
  sameSpec,
} from './state.js';
import { failedName, readFailedAttempt } from './labels.js';

const app = 'shop';
const spec: DeploySpec = { ...DEFAULT_SPEC, app, replicas: 2, env: { B: '2', A: '1' } };
const provenance: ReleaseProvenance = {
  commit: 'abc123',
  model: { name: 'digits', version: '3', digest: `sha256:${'a'.repeat(64)}` },
};

/** A container as `docker ps -a` lists it (the fields the Docker target reads). */
function container(
  name: string,
  labels: Record<string, string>,
  state: 'running' | 'exited' = 'exited',
): Docker.ContainerInfo {
  return {
    Id: `id-${name}`,
    Names: [`/${name}`],
    Image: 'img',
    ImageID: 'sha256:0',
    Command: '',
    Created: 1_700_000_000,
    Ports: [],
    Labels: labels,
    State: state,
    Status: state,
    HostConfig: { NetworkMode: names.network(app) },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

/** Replica `index` of revision `number`, labelled exactly as the Docker target labels it. */
function replica(number: number, state: 'running' | 'exited', index = 1, s = spec) {
  const labels = replicaLabels(
    {
      number,
      image: `127.0.0.1:5000/shop@sha256:${String(number).repeat(64).slice(0, 64)}`,
      provenance,
      deployedAt: `2026-01-0${number}T00:00:00.000Z`,
      spec: s,
    },
    number * 2 + index,
  );
  return { name: names.replica(app, number, index), labels, state };
}

const toInfo = (r: ReturnType<typeof replica>) => container(r.name, r.labels, r.state);

function damaged(number: number, state: 'running' | 'exited', change: Record<string, string>) {
  const r = replica(number, state);
  return container(r.name, { ...r.labels, ...change }, state);
}

describe('Docker target state from labels', () => {
  it('reads back what replicaLabels wrote: revision, slot, image, provenance, spec', () => {
    const state = readState([toInfo(replica(1, 'exited')), toInfo(replica(2, 'running'))]);
    expect(state.ignored).toEqual([]);
    expect(state.revisions.map((r) => r.number)).toEqual([2, 1]);
    const live = liveRevision(state)!;
    expect(live.number).toBe(2);
    expect(live.provenance).toEqual(provenance);
    expect(live.deployedAt).toBe('2026-01-02T00:00:00.000Z');
    expect(live.replicas).toEqual([
      {
        id: `id-${names.replica(app, 2, 1)}`,
        name: names.replica(app, 2, 1),
        revision: 2,
        slot: 5,
        running: true,
      },
    ]);
    expect(live.spec).toEqual(spec);
    // The read-back spec has the schema's key order; it still counts as the same spec.
    expect(JSON.stringify(live.spec)).not.toBe(JSON.stringify(spec));
    expect(sameSpec(live.spec, spec)).toBe(true);
    expect(sameSpec(live.spec, { ...spec, replicas: 3 })).toBe(false);
    expect(sameSpec(live.spec, { ...spec, env: { A: '1', B: '3' } })).toBe(false);
  });

  it('leaves out containers that are not ShipML replicas, saying why', () => {
    const state = readState([
      toInfo(replica(1, 'running')),
      container('sidecar', { [LABEL.app]: app }, 'running'),
      container('other', { [LABEL.app]: app, [LABEL.role]: 'database' }, 'running'),
    ]);
    expect(state.revisions.map((r) => r.number)).toEqual([1]);
    expect(state.ignored.map(({ name, revision, reason }) => [name, revision, reason])).toEqual([
      ['sidecar', undefined, 'no dev.shipml.role label: not a container ShipML made'],
      ['other', undefined, 'dev.shipml.role "database" is not a role ShipML gives'],
    ]);
  });

  it.each([
    ['spec that is not JSON', { [LABEL.spec]: '{"app":"shop",' }, 'dev.shipml.spec: not JSON'],
    [
      'spec of the wrong shape',
      { [LABEL.spec]: JSON.stringify({ ...spec, replicas: '2' }) },
      'dev.shipml.spec.replicas',
    ],
    [
      'spec without a port',
      { [LABEL.spec]: JSON.stringify({ ...spec, port: undefined }) },
      'dev.shipml.spec.port',
    ],
    [
      'spec of another app',
      { [LABEL.spec]: JSON.stringify({ ...spec, app: 'other' }) },
      'spec.app differs',
    ],
    [
      'provenance of the wrong shape',
      { [LABEL.provenance]: '{"model":{"name":"m"}}' },
      'dev.shipml.provenance.model',
    ],
    ['slot that is not a number', { [LABEL.slot]: 'x' }, 'dev.shipml.slot'],
    ['deployed-at that is no time', { [LABEL.deployedAt]: 'yesterday' }, 'dev.shipml.deployed-at'],
  ])('drops a stopped record with a %s from the history, with the reason', (_, change, reason) => {
    const state = readState([
      toInfo(replica(1, 'exited')),
      damaged(2, 'exited', change),
      toInfo(replica(3, 'running')),
    ]);
    expect(state.revisions.map((r) => r.number)).toEqual([3, 1]);
    expect(state.ignored).toHaveLength(1);
    expect(state.ignored[0]).toMatchObject({ name: names.replica(app, 2, 1), revision: 2 });
    expect(state.ignored[0]!.reason).toContain(reason);
  });

  it('refuses a running replica whose labels do not read: it may serve, nobody knows what', () => {
    const broken = damaged(2, 'running', { [LABEL.spec]: 'garbage' });
    const read = () => readState([toInfo(replica(1, 'exited')), broken]);
    expect(read).toThrow(ConflictError);
    expect(read).toThrow(
      `container ${names.replica(app, 2, 1)} of app shop runs with damaged labels (dev.shipml.spec: not JSON)`,
    );
    try {
      read();
    } catch (err) {
      expect((err as ConflictError).hint).toBe(
        `remove it (docker rm -f ${names.replica(app, 2, 1)}), then deploy again`,
      );
    }
  });

  it('never reuses the number of a damaged record (its container name is taken)', () => {
    const byLabel = readState([
      toInfo(replica(1, 'running')),
      damaged(4, 'exited', { [LABEL.spec]: '' }),
    ]);
    expect(nextRevisionNumber(byLabel)).toBe(5);
    // With the revision label itself damaged, the number comes from the container's name.
    const byName = readState([
      toInfo(replica(1, 'running')),
      damaged(6, 'exited', { [LABEL.revision]: 'six' }),
    ]);
    expect(byName.ignored[0]!.revision).toBe(6);
    expect(nextRevisionNumber(byName)).toBe(7);
    expect(nextRevisionNumber(readState([]))).toBe(1);
  });

  it('rolls back to a readable revision, and says so when the one asked for is damaged', () => {
    const state = readState([
      toInfo(replica(1, 'exited')),
      damaged(2, 'exited', { [LABEL.spec]: '{}' }),
      toInfo(replica(3, 'running')),
    ]);
    const live = liveRevision(state)!;
    expect(rollbackTarget(state, app, live, 1).number).toBe(1);
    // The revision before the live one is damaged: an error, not a silent jump to revision 1.
    expect(() => rollbackTarget(state, app, live, undefined)).toThrow(ConflictError);
    expect(() => rollbackTarget(state, app, live, 2)).toThrow(
      `app shop's revision 2 cannot be rolled back to: its record ${names.replica(app, 2, 1)} has damaged labels (dev.shipml.spec.app:`,
    );
    expect(() => rollbackTarget(state, app, live, 9)).toThrow(NotFoundError);
    expect(() => rollbackTarget(state, app, live, 9)).toThrow(
      'app shop has no revision 9 (revisions: 3, 1)',
    );
    const clean = readState([toInfo(replica(1, 'exited')), toInfo(replica(3, 'running'))]);
    expect(rollbackTarget(clean, app, liveRevision(clean)!, undefined).number).toBe(1);
  });

  it('knows a replica kept from a failed rollout: never a record, never live, blocks nothing', () => {
    const kept = replica(4, 'exited');
    const damagedKept = damaged(5, 'running', { [LABEL.revision]: 'five' });
    const state = readState([
      toInfo(replica(1, 'exited')),
      toInfo(replica(3, 'running')),
      container(failedName(kept.name), kept.labels, 'exited'),
      // Started again by hand, labels damaged: still only a failed attempt, not a conflict.
      container(failedName(names.replica(app, 5, 1)), damagedKept.Labels, 'running'),
    ]);
    expect(state.failed).toEqual([
      {
        id: `id-${names.replica(app, 4, 1)}-failed`,
        name: `${names.replica(app, 4, 1)}-failed`,
        revision: 4,
      },
      {
        id: `id-${names.replica(app, 5, 1)}-failed`,
        name: `${names.replica(app, 5, 1)}-failed`,
        revision: 5,
      },
    ]);
    expect(state.revisions.map((r) => r.number)).toEqual([3, 1]);
    expect(liveRevision(state)?.number).toBe(3);
    expect(rollbackTarget(state, app, liveRevision(state)!, undefined).number).toBe(1);
    expect(state.ignored).toEqual([]);
    expect(readFailedAttempt(names.replica(app, 4, 1), kept.labels)).toBeUndefined();
    expect(readFailedAttempt(`${names.replica(app, 4, 1)}-failed-x`, kept.labels)).toBeUndefined();
  });

  it('reads the proxy settings label, and says what is wrong with a damaged one', () => {
    const settings = {
      port: 8080,
      readinessPath: '/readyz',
      host: '127.0.0.1:9000',
      image: 'shipml/haproxy:2.6',
    };
    expect(readProxySettings({ [LABEL.proxy]: proxySettingsLabel(settings) })).toEqual({
      ok: true,
      value: settings,
    });
    expect(readProxySettings({})).toEqual({ ok: false, reason: 'no dev.shipml.proxy label' });
    expect(readProxySettings({ [LABEL.proxy]: '{"port":8080' })).toEqual({
      ok: false,
      reason: 'dev.shipml.proxy: not JSON',
    });
    const wrong = readProxySettings({ [LABEL.proxy]: JSON.stringify({ ...settings, host: 9000 }) });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.reason).toContain('dev.shipml.proxy.host');
  });
});

describe('DeploySpecSchema', () => {
  it('accepts what shipml.yaml and callers give, refuses what no target can run', () => {
    expect(DeploySpecSchema.parse({ ...DEFAULT_SPEC, app: 'a-1' })).toEqual({
      ...DEFAULT_SPEC,
      app: 'a-1',
    });
    // A newer ShipML's extra key is dropped, not a reason to refuse the record.
    expect(DeploySpecSchema.parse({ ...DEFAULT_SPEC, app: 'a', later: true })).toEqual({
      ...DEFAULT_SPEC,
      app: 'a',
    });
    for (const bad of [
      { app: 'Shop' },
      { app: '' },
      { replicas: 1.5 },
      { port: 0 },
      { readinessPath: 'readyz' },
      { env: { A: 1 } },
      { progressDeadlineSeconds: 0 },
    ])
      expect(
        DeploySpecSchema.safeParse({ ...DEFAULT_SPEC, app: 'shop', ...bad }).success,
        JSON.stringify(bad),
      ).toBe(false);
  });
});
