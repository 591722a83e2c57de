import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunReportSchema } from './report-schema.js';
import { RunStore } from './runs.js';
import type { RunInputs, RunReport } from './types.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const inputs: RunInputs = {
  commit: 'c0ffee',
  tree: 'tree1',
  dirty: false,
  model: { name: 'digits', version: '2', digest: digest('b') },
  configHash: 'cfg1',
};

function report(id: string, changes: Partial<RunReport> = {}): RunReport {
  return {
    id,
    kind: 'run',
    trigger: 'commit',
    reason: undefined,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    outcome: 'succeeded',
    failure: undefined,
    inputs,
    reusedFrom: undefined,
    image: { reference: `127.0.0.1:5000/digits@${digest('a')}`, digest: digest('a') },
    layers: [{ kind: 'model', digest: digest('c'), size: 10, status: 'pushed' }],
    metrics: { accuracy: 0.97 },
    stages: [{ name: 'build', status: 'succeeded', seconds: 1.5, detail: 'built' }],
    live: {
      number: 3,
      image: `127.0.0.1:5000/digits@${digest('a')}`,
      provenance: { commit: 'c0ffee' },
      deployedAt: '2026-01-01T00:01:00.000Z',
    },
    url: 'http://127.0.0.1:8080/',
    ...changes,
  };
}

let dir: string;
let store: RunStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipml-runs-'));
  store = new RunStore(join(dir, 'runs'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a report file as something other than RunStore would (damaged, hand-edited). */
async function plant(id: string, content: string): Promise<void> {
  await mkdir(store.dir, { recursive: true });
  await writeFile(join(store.dir, `${id}.json`), content);
}

describe('RunStore', () => {
  it('saves atomically (nothing but the report left) and reads it back, newest first', async () => {
    const file = await store.save(report('20260101T000000Z-aaaaaa'));
    await store.save(report('20260102T000000Z-bbbbbb', { outcome: 'failed' }));
    expect(file).toBe(join(store.dir, '20260101T000000Z-aaaaaa.json'));
    expect((await readdir(store.dir)).sort()).toEqual([
      '20260101T000000Z-aaaaaa.json',
      '20260102T000000Z-bbbbbb.json',
    ]);
    const listed = await store.list();
    expect(listed.map((r) => r.id)).toEqual(['20260102T000000Z-bbbbbb', '20260101T000000Z-aaaaaa']);
    expect(listed[1]).toEqual(report('20260101T000000Z-aaaaaa'));
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(report('20260101T000000Z-aaaaaa'));
  });

  it('redacts what it writes', async () => {
    const redacting = new RunStore(store.dir, (t) => t.replaceAll('s3cret', '***'));
    await redacting.save(report('20260101T000000Z-aaaaaa', { reason: 'token s3cret' }));
    expect((await redacting.list())[0]!.reason).toBe('token ***');
  });

  it('skips a damaged report and a report of the wrong shape, saying why', async () => {
    await store.save(report('20260101T000000Z-aaaaaa'));
    await plant('20260102T000000Z-bbbbbb', '{"id": "20260102T000000Z-bbbbbb", "kind": "ru');
    await plant(
      '20260103T000000Z-cccccc',
      JSON.stringify({ ...report('20260103T000000Z-cccccc'), stages: 'all good' }),
    );
    const { reports, ignored } = await store.scan();
    expect(reports.map((r) => r.id)).toEqual(['20260101T000000Z-aaaaaa']);
    expect(ignored.map((i) => i.file)).toEqual([
      join(store.dir, '20260103T000000Z-cccccc.json'),
      join(store.dir, '20260102T000000Z-bbbbbb.json'),
    ]);
    expect(ignored[0]!.reason).toMatch(/^not a run report: stages: /);
    expect(ignored[1]!.reason).toMatch(/^not readable as JSON: /);
  });

  it('reuses the newest successful run with the same inputs', async () => {
    await store.save(report('20260101T000000Z-aaaaaa'));
    await store.save(report('20260102T000000Z-bbbbbb'));
    await store.save(report('20260103T000000Z-cccccc', { outcome: 'failed' }));
    await store.save(
      report('20260104T000000Z-dddddd', { inputs: { ...inputs, configHash: 'cfg2' } }),
    );
    expect((await store.lastSuccessWith(inputs))?.id).toBe('20260102T000000Z-bbbbbb');
    expect(await store.lastSuccessWith({ ...inputs, dirty: true })).toBeUndefined();
    expect(await store.lastSuccessWith({ ...inputs, tree: 'tree2' })).toBeUndefined();
  });

  it.each([
    ['an image without a digest', { image: { reference: 'r@sha256:x' } }],
    ['inputs with dirty as text', { inputs: { ...inputs, dirty: 'no' } }],
    ['an unknown outcome', { outcome: 'mostly' }],
    [
      'a stage that does not exist',
      { stages: [{ name: 'ship', status: 'succeeded', seconds: 1, detail: '' }] },
    ],
    [
      'a live revision without an image',
      { live: { number: 1, provenance: {}, deployedAt: '2026-01-01T00:00:00Z' } },
    ],
  ])('does not trust a report with %s for the skip rule', async (_, change) => {
    await store.save(report('20260101T000000Z-aaaaaa'));
    await plant(
      '20260102T000000Z-bbbbbb',
      JSON.stringify({ ...report('20260102T000000Z-bbbbbb'), ...change }),
    );
    expect((await store.lastSuccessWith(inputs))?.id).toBe('20260101T000000Z-aaaaaa');
    expect((await store.scan()).ignored.map((i) => i.file)).toEqual([
      join(store.dir, '20260102T000000Z-bbbbbb.json'),
    ]);
  });

  it('reads a report with keys it does not know (written by a newer ShipML)', async () => {
    await plant(
      '20260101T000000Z-aaaaaa',
      JSON.stringify({ ...report('20260101T000000Z-aaaaaa'), attestedBy: 'a future ShipML' }),
    );
    expect((await store.lastSuccessWith(inputs))?.id).toBe('20260101T000000Z-aaaaaa');
  });

  it('lists nothing for a directory that does not exist yet', async () => {
    expect(await store.scan()).toEqual({ reports: [], ignored: [] });
  });
});

describe('RunReportSchema', () => {
  it('accepts a report with every optional field absent, as JSON leaves them', () => {
    const bare = JSON.parse(
      JSON.stringify(
        report('x', {
          inputs: undefined,
          image: undefined,
          layers: undefined,
          metrics: undefined,
          live: undefined,
          url: undefined,
          finishedAt: undefined,
          outcome: 'running',
        }),
      ),
    ) as unknown;
    const parsed = RunReportSchema.parse(bare);
    expect(parsed).toMatchObject({ id: 'x', outcome: 'running' });
    expect(parsed.image).toBeUndefined();
    expect('image' in parsed).toBe(false);
  });
});
