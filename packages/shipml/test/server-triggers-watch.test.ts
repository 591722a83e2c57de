/**
 * The model-channel watch (over a real file store, read conditionally) and cron schedules
 * (croner, time zones, fires claimed once across two "servers"), through a WatchContext.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelStore } from '../src/model-store/registry.js';
import { ModelRepository } from '../src/model-store/repository.js';
import { modelWatchTrigger } from '../src/server/triggers/model-watch/index.js';
import { ModelWatchTriggerOptionsSchema } from '../src/server/triggers/model-watch/schema.js';
import { scheduleTrigger } from '../src/server/triggers/schedule/index.js';
import { ScheduleTriggerOptionsSchema } from '../src/server/triggers/schedule/schema.js';
import type { ModelStore } from '../src/model-store/types.js';
import { FakeServerState, fakeWatchContext } from './helpers/watch-context.js';

const app = { name: 'digits', repository: '/r.git', branches: ['main', 'dev'] };
let work: string;
let model: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-trig-watch-'));
  model = join(work, 'model.bin');
  await writeFile(model, 'weights');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Counts the store's reads, to show unchanged checks move no bytes. */
function counting(store: ModelStore): {
  store: ModelStore;
  reads: { full: number; conditional: number; unchanged: number };
} {
  const reads = { full: 0, conditional: 0, unchanged: 0 };
  const wrapped: ModelStore = Object.create(store) as ModelStore;
  wrapped.readSmall = (key, options) => {
    reads.full++;
    return store.readSmall(key, options);
  };
  wrapped.readIfChanged = async (key, etag, options) => {
    reads.conditional++;
    const out = await store.readIfChanged(key, etag, options);
    if (out === 'unchanged') reads.unchanged++;
    return out;
  };
  return { store: wrapped, reads };
}

describe('model-watch trigger', () => {
  it('runs the live commit with the new version when the channel moves, reading conditionally', async () => {
    const base = await openModelStore({ url: `file://${join(work, 'store')}` }, {});
    const { store, reads } = counting(base);
    const repo = new ModelRepository({ store });
    await repo.publish({ source: model, name: 'digits', version: '1.0.0', channels: ['latest'] });
    let live: { commit: string; branch?: string } | undefined = {
      commit: 'c'.repeat(40),
      branch: 'main',
    };
    const ctx = fakeWatchContext({
      app,
      readModelChannel: async (etag) => {
        const read = await repo.readChannelIfChanged('digits', 'latest', etag);
        const named = { model: 'digits', channel: 'latest' };
        return read.status === 'found'
          ? { status: 'found', version: read.pointer.version, etag: read.etag, ...named }
          : { ...read, ...named };
      },
      liveCommit: () => Promise.resolve(live),
    });
    const trigger = modelWatchTrigger(ModelWatchTriggerOptionsSchema.parse({}), app);
    const at = new Date('2026-12-01T10:00:00Z');
    expect(trigger.next(at)).toEqual(new Date('2026-12-01T10:00:30Z'));

    Object.assign(reads, { full: 0, conditional: 0, unchanged: 0 }); // count only the checks
    expect(await trigger.check(ctx, at)).toEqual([]); // first check: remember 1.0.0
    expect(ctx.logs).toEqual(['model-watch: digits:latest is at 1.0.0 (first check)']);
    for (let i = 0; i < 3; i++) expect(await trigger.check(ctx, at)).toEqual([]);
    expect(reads).toEqual({ full: 1, conditional: 3, unchanged: 3 });

    await repo.publish({ source: model, name: 'digits', version: '1.1.0', channels: ['latest'] });
    expect(await trigger.check(ctx, at)).toEqual([
      {
        kind: 'run',
        cause: {
          trigger: 'model',
          source: 'model-watch',
          detail: 'model digits latest 1.0.0 -> 1.1.0',
        },
        branch: 'main',
        commit: 'c'.repeat(40),
        modelRef: 'digits@1.1.0',
      },
    ]);
    expect(await trigger.check(ctx, at)).toEqual([]);

    // Re-promoting the same version rewrites the pointer (new ETag) but starts nothing.
    await repo.promote('digits', '1.1.0', 'latest');
    expect(await trigger.check(ctx, at)).toEqual([]);

    // Nothing live: the head of the app's first branch.
    live = undefined;
    await repo.promote('digits', '1.0.0', 'latest');
    expect(await trigger.check(ctx, at)).toEqual([
      expect.objectContaining({ branch: 'main', commit: undefined, modelRef: 'digits@1.0.0' }),
    ]);
  });

  it('treats a channel that appears as a move, and a missing one as nothing', async () => {
    const repo = new ModelRepository({
      store: await openModelStore({ url: `file://${join(work, 'store2')}` }, {}),
    });
    const ctx = fakeWatchContext({
      app,
      readModelChannel: async (etag) => {
        const read = await repo.readChannelIfChanged('digits', 'production', etag);
        return read.status === 'found'
          ? {
              status: 'found',
              version: read.pointer.version,
              etag: read.etag,
              model: 'digits',
              channel: 'production',
            }
          : { ...read, model: 'digits', channel: 'production' };
      },
    });
    const trigger = modelWatchTrigger(
      ModelWatchTriggerOptionsSchema.parse({ intervalSeconds: 5 }),
      app,
    );
    const at = new Date();
    expect(await trigger.check(ctx, at)).toEqual([]);
    expect(await trigger.check(ctx, at)).toEqual([]);
    await repo.publish({ source: model, name: 'digits', version: '2', channels: ['production'] });
    expect(await trigger.check(ctx, at)).toMatchObject([
      { modelRef: 'digits@2', cause: { detail: 'model digits production (none) -> 2' } },
    ]);
  });
});

describe('schedule trigger', () => {
  const open = (options: object) =>
    scheduleTrigger(ScheduleTriggerOptionsSchema.parse(options), app);

  it('fires at 02:00 Berlin time across both DST changes', () => {
    const nightly = open({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    // Winter (CET, UTC+1) and summer (CEST, UTC+2).
    expect(nightly.next(new Date('2026-01-15T12:00:00Z'))).toEqual(
      new Date('2026-01-16T01:00:00Z'),
    );
    expect(nightly.next(new Date('2026-07-15T12:00:00Z'))).toEqual(
      new Date('2026-07-16T00:00:00Z'),
    );
    // Spring forward (29 March 2026, 02:00 → 03:00): 02:00 does not exist; it fires once, at 03:00 CEST.
    expect(nightly.next(new Date('2026-03-28T12:00:00Z'))).toEqual(
      new Date('2026-03-29T01:00:00Z'),
    );
    expect(nightly.next(new Date('2026-03-29T01:00:00Z'))).toEqual(
      new Date('2026-03-30T00:00:00Z'),
    );
    // Fall back (25 October 2026): 02:30 happens twice; it fires once.
    const half = open({ cron: '30 2 * * *', timezone: 'Europe/Berlin', action: 'run' });
    const first = half.next(new Date('2026-10-24T12:00:00Z'))!;
    expect(first).toEqual(new Date('2026-10-25T00:30:00Z'));
    expect(half.next(first)).toEqual(new Date('2026-10-26T01:30:00Z'));
    // Strictly after: a fire time itself gives the next one.
    const utc = open({ cron: '0 * * * *' });
    expect(utc.next(new Date('2026-01-01T05:00:00Z'))).toEqual(new Date('2026-01-01T06:00:00Z'));
  });

  it('releases the newest successful build once per fire, across two servers', async () => {
    const shared = new FakeServerState();
    const images: Array<string | undefined> = [];
    const server = () =>
      fakeWatchContext({
        app,
        shared,
        lastSuccessfulImage: (branch) => {
          images.push(branch);
          return Promise.resolve('127.0.0.1:5000/digits@sha256:' + 'e'.repeat(64));
        },
      });
    const [a, b] = [server(), server()];
    const nightly = open({ id: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    const at = nightly.next(new Date('2026-12-01T12:00:00Z'))!;
    const [fromA, fromB] = await Promise.all([nightly.check(a, at), nightly.check(b, at)]);
    expect([...fromA, ...fromB]).toEqual([
      {
        kind: 'release',
        cause: {
          trigger: 'schedule',
          source: 'schedule',
          schedule: 'nightly (0 2 * * * Europe/Berlin)',
          detail: `fire at ${at.toISOString()}`,
        },
        branch: 'main',
        image: '127.0.0.1:5000/digits@sha256:' + 'e'.repeat(64),
      },
    ]);
    expect(images).toEqual(['main']);
    expect(await nightly.check(a, nightly.next(at)!)).toHaveLength(1); // the next night fires again
  });

  it('logs and skips a release with no successful build; a run schedule runs the branch head', async () => {
    const ctx = fakeWatchContext({ app });
    const release = open({ cron: '0 2 * * *', branch: 'dev' });
    expect(await release.check(ctx, new Date('2026-12-02T02:00:00Z'))).toEqual([]);
    expect(ctx.logs).toEqual([
      'schedule release:0 2 * * * (0 2 * * * UTC): no successful build of dev to release yet',
    ]);
    const run = open({ cron: '0 3 * * 1', action: 'run' });
    expect(await run.check(ctx, new Date('2026-12-07T03:00:00Z'))).toEqual([
      {
        kind: 'run',
        cause: {
          trigger: 'schedule',
          source: 'schedule',
          schedule: 'run:0 3 * * 1 (0 3 * * 1 UTC)',
          detail: 'fire at 2026-12-07T03:00:00.000Z',
        },
        branch: 'main',
      },
    ]);
  });
});
