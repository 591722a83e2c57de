/**
 * The conformance suite every model-store back end passes against a real server (hono's
 * `runTest` pattern). A back end is done when this suite passes. It drives the public
 * ModelRepository over the back end, and the ModelStore contract directly where a test
 * must reach under the repository (to tamper with a stored object).
 */
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  CancelledError,
  ConfigError,
  ConflictError,
  IntegrityError,
  NotFoundError,
} from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import type { ProgressReporter } from '../core/progress.js';
import { BlobCache } from './cache.js';
import { layout } from './layout.js';
import { openModelStore, type StoreSpec } from './registry.js';
import { ModelRepository } from './repository.js';
import { conditionalReadCases } from './conformance-conditional-read.js';
import { transferLargeFile } from './conformance-large-file.js';
import type { StoreKind } from './types.js';

export interface ConformanceTarget {
  kind: StoreKind;
  /** A store spec for an empty, private namespace (a fresh prefix), plus the env it needs. */
  fresh(): Promise<{ spec: StoreSpec; env: NodeJS.ProcessEnv }>;
  /** The same namespace with credentials the server rejects; undefined where there are none (file). */
  withWrongCredentials?(
    spec: StoreSpec,
    env: NodeJS.ProcessEnv,
  ): { spec: StoreSpec; env: NodeJS.ProcessEnv };
}

/** Deterministic bytes, distinct per seed. */
export function bytesOf(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function runModelStoreConformance(target: ConformanceTarget): void {
  describe(`ModelStore conformance: ${target.kind}`, () => {
    let work: string;
    let modelDir: string;
    const files: Record<string, Buffer> = {
      'model.onnx': bytesOf(3 * 1024 * 1024 + 17, 1), // big enough to interrupt mid-transfer
      'labels.txt': Buffer.from('zero\none\ntwo\n'),
      'tokenizer/vocab.json': Buffer.from('{"a":1}'),
    };

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), `shipml-conf-${target.kind}-`));
      modelDir = join(work, 'model');
      for (const [path, data] of Object.entries(files)) {
        await mkdir(dirname(join(modelDir, path)), { recursive: true });
        await writeFile(join(modelDir, path), data);
      }
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    let counter = 0;
    const open = async (options: { cache?: boolean; progress?: ProgressReporter } = {}) => {
      const { spec, env } = await target.fresh();
      const store = await openModelStore(spec, env);
      const cache =
        options.cache === false ? undefined : new BlobCache(join(work, `cache-${++counter}`));
      const repo = new ModelRepository({
        store,
        cache,
        progress: options.progress,
        retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      });
      return { repo, store, spec, env, cache };
    };
    const dest = () => join(work, `dest-${++counter}`);

    it('publishes, lists, shows, pulls and promotes a multi-file model', async () => {
      const { repo } = await open();
      const published = await repo.publish({
        source: modelDir,
        name: 'digits',
        version: '1.0.0',
        metrics: { accuracy: 0.97 },
        metadata: { commit: 'abc123' },
        channels: ['latest'],
      });
      expect(published.manifest.files.map((f) => f.path)).toEqual([
        'labels.txt',
        'model.onnx',
        'tokenizer/vocab.json',
      ]);
      expect(published.manifest.files.find((f) => f.path === 'model.onnx')?.sha256).toBe(
        sha256Hex(files['model.onnx']!),
      );
      expect(published.manifest.size).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
      expect(published.channels[0]?.pointer.version).toBe('1.0.0');

      const listed = await repo.list('digits');
      expect(listed.map((v) => [v.manifest.version, v.channels])).toEqual([['1.0.0', ['latest']]]);

      const shown = await repo.resolve('digits:latest');
      expect(shown).toEqual(published.manifest);
      expect(shown.metrics).toEqual({ accuracy: 0.97 });
      expect(shown.metadata).toEqual({ commit: 'abc123' });

      const target = dest();
      const pulled = await repo.pull('digits@1.0.0', target);
      expect(pulled.downloadedBytes).toBe(published.manifest.size);
      for (const [path, data] of Object.entries(files)) {
        expect((await readFile(join(target, path))).equals(data)).toBe(true);
      }

      await repo.publish({
        source: join(modelDir, 'labels.txt'),
        name: 'digits',
        version: '1.1.0',
        channels: ['latest'],
      });
      const promoted = await repo.promote('digits', '1.0.0', 'production');
      expect(promoted.previous).toBeUndefined();
      const moved = await repo.promote('digits', '1.1.0', 'production');
      expect(moved.previous?.version).toBe('1.0.0');
      expect((await repo.list('digits')).map((v) => [v.manifest.version, v.channels])).toEqual([
        ['1.0.0', []],
        ['1.1.0', ['latest', 'production']],
      ]);
      expect((await repo.resolve('digits:production')).version).toBe('1.1.0');
      expect((await repo.resolve('digits')).version).toBe('1.1.0'); // bare name = :latest
    });

    conditionalReadCases(open, () => join(modelDir, 'labels.txt'));

    it('gives the same digest to the same files, whatever the name or version', async () => {
      const { repo } = await open();
      const a = await repo.publish({ source: modelDir, name: 'a', version: '1' });
      const b = await repo.publish({ source: modelDir, name: 'b', version: '7.0' });
      expect(a.manifest.digest).toBe(b.manifest.digest);
      expect(a.manifest.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    });

    it('refuses to publish a version that exists, leaving it untouched', async () => {
      const { repo } = await open();
      const first = await repo.publish({ source: modelDir, name: 'digits', version: '2' });
      await expect(
        repo.publish({ source: join(modelDir, 'labels.txt'), name: 'digits', version: '2' }),
      ).rejects.toThrow(ConflictError);
      expect(await repo.getManifest('digits', '2')).toEqual(first.manifest);
      const target = dest();
      await repo.pull('digits@2', target);
      expect((await readFile(join(target, 'model.onnx'))).equals(files['model.onnx']!)).toBe(true);
    });

    it('two concurrent promotes of one channel both finish; the pointer names one, history the other', async () => {
      const { repo, store } = await open();
      await repo.publish({ source: join(modelDir, 'labels.txt'), name: 'm', version: '1' });
      await repo.publish({ source: join(modelDir, 'tokenizer'), name: 'm', version: '2' });
      await repo.publish({ source: modelDir, name: 'm', version: '3' });
      await repo.promote('m', '1', 'production');
      const results = await Promise.all([
        repo.promote('m', '2', 'production'),
        repo.promote('m', '3', 'production'),
      ]);
      expect(results).toHaveLength(2);
      const raw = await store.readSmall(layout.channel('m', 'production'));
      const pointer = JSON.parse(raw!.bytes.toString('utf8')) as {
        version: string;
        history: Array<{ version: string }>;
      };
      expect(['2', '3']).toContain(pointer.version);
      const other = pointer.version === '2' ? '3' : '2';
      expect(pointer.history.map((h) => h.version)).toEqual([other, '1']);
    });

    it('concurrent publishes moving "latest" lose no update', async () => {
      const { repo } = await open();
      await Promise.all(
        ['1', '2', '3', '4'].map((v) =>
          repo.publish({
            source: join(modelDir, 'labels.txt'),
            name: 'race',
            version: v,
            channels: ['latest'],
          }),
        ),
      );
      const [pointer] = await repo.channels('race');
      const seen = [pointer!.version, ...pointer!.history.map((h) => h.version)].sort();
      expect(seen).toEqual(['1', '2', '3', '4']);
    });

    it('detects a tampered stored object on pull and leaves nothing at the destination', async () => {
      const { repo, store } = await open();
      await repo.publish({ source: modelDir, name: 'digits', version: '1' });
      const tampered = Buffer.from(files['model.onnx']!);
      tampered[1000] = tampered[1000]! ^ 0xff; // same size, one byte flipped
      await store.upload(
        layout.file('digits', '1', 'model.onnx'),
        Readable.from([tampered]),
        tampered.length,
      );
      const target = dest();
      const failure = repo.pull('digits@1', target);
      await expect(failure).rejects.toThrow(IntegrityError);
      await expect(failure).rejects.toThrow(/model\.onnx.*sha256/);
      await expect(stat(target)).rejects.toThrow(/ENOENT/);
      expect((await readdir(work)).filter((n) => n.includes('shipml-partial'))).toEqual([]);
    });

    it('detects a truncated stored object (size mismatch)', async () => {
      const { repo, store } = await open();
      await repo.publish({ source: modelDir, name: 'digits', version: '1' });
      await store.upload(
        layout.file('digits', '1', 'labels.txt'),
        Readable.from([Buffer.from('zero\n')]),
        5,
      );
      await expect(repo.pull('digits@1', dest())).rejects.toThrow(/labels\.txt.*size 5/);
    });

    it('an interrupted download leaves nothing at the destination', async () => {
      const controller = new AbortController();
      const abortMidway: ProgressReporter = {
        begin: () => ({
          update: (n) => n > 1024 * 1024 && controller.abort(),
          end: () => undefined,
        }),
      };
      const { repo } = await open({ progress: abortMidway, cache: false });
      await repo.publish({ source: modelDir, name: 'digits', version: '1' });
      const target = dest();
      await expect(repo.pull('digits@1', target, controller.signal)).rejects.toThrow();
      await expect(stat(target)).rejects.toThrow(/ENOENT/);
      expect((await readdir(work)).filter((n) => n.includes('shipml-partial'))).toEqual([]);
    });

    it('an interrupted publish leaves no visible version and no files', async () => {
      const controller = new AbortController();
      const abortMidway: ProgressReporter = {
        begin: (label) => ({
          update: (n) => label.includes('model.onnx') && n > 1024 * 1024 && controller.abort(),
          end: () => undefined,
        }),
      };
      const { repo, store } = await open({ progress: abortMidway });
      await expect(
        repo.publish({
          source: modelDir,
          name: 'digits',
          version: '1',
          channels: ['latest'],
          signal: controller.signal,
        }),
      ).rejects.toThrow();
      expect(await repo.list('digits')).toEqual([]);
      await expect(repo.resolve('digits:latest')).rejects.toThrow(NotFoundError);
      const left: string[] = [];
      for await (const o of store.list('digits/')) left.push(o.key);
      expect(left).toEqual([]);
      // ... and the same version can be published afterwards.
      await repo.publish({ source: modelDir, name: 'digits', version: '1' });
    });

    it('serves a second pull from the local cache, and --no-cache downloads again', async () => {
      const { repo, spec, env, cache } = await open();
      const { manifest } = await repo.publish({ source: modelDir, name: 'digits', version: '1' });
      await repo.pull('digits@1', dest());
      const second = await repo.pull('digits@1', dest());
      expect([second.downloadedBytes, second.fromCache]).toEqual([0, 3]);

      const uncached = new ModelRepository({ store: await openModelStore(spec, env) });
      expect((await uncached.pull('digits@1', dest())).downloadedBytes).toBe(manifest.size);

      // A corrupted cache entry is caught, evicted and replaced by a download.
      const sha = manifest.files.find((f) => f.path === 'model.onnx')!.sha256;
      const entry = join(cache!.dir, 'blobs', 'sha256', sha);
      const rotten = await readFile(entry);
      rotten[0] = rotten[0]! ^ 1;
      await writeFile(entry, rotten);
      const third = await repo.pull('digits@1', dest());
      expect(third.fromCache).toBe(2);
      expect(third.downloadedBytes).toBe(files['model.onnx']!.length);
    });

    it('names missing versions and channels clearly', async () => {
      const { repo } = await open();
      await expect(repo.resolve('nothing@1')).rejects.toThrow(/model nothing@1 not found/);
      await expect(repo.resolve('nothing:production')).rejects.toThrow(
        /channel nothing:production not found/,
      );
      await expect(repo.promote('nothing', '1', 'production')).rejects.toThrow(NotFoundError);
      expect(await repo.list('nothing')).toEqual([]);
    });

    it('rejects names, versions, channels and paths that could escape the layout', async () => {
      const { repo, store } = await open();
      const bad: Array<() => Promise<unknown>> = [
        () => repo.publish({ source: modelDir, name: '../evil', version: '1' }),
        () => repo.publish({ source: modelDir, name: 'ok', version: '../../etc' }),
        () => repo.publish({ source: modelDir, name: 'ok', version: 'channels' }),
        () => repo.publish({ source: modelDir, name: 'a/b', version: '1' }),
        () => repo.publish({ source: modelDir, name: 'ok', version: '1', channels: ['../x'] }),
        () => repo.resolve('ok@..'),
        () => repo.resolve('..:latest'),
        () => repo.pull('ok:../../x', dest()),
        () => repo.promote('ok', '1', 'Prod/../x'),
      ];
      for (const attempt of bad) await expect(attempt()).rejects.toThrow(ConfigError);
      const left: string[] = [];
      for await (const o of store.list('')) left.push(o.key);
      expect(left).toEqual([]);
    });

    it(
      'keeps a 1 GiB file within the memory bound and moves it intact',
      { timeout: 600_000 },
      async () => {
        // Measured in a child process running the real CLI, as a user would run it.
        const { spec, env } = await target.fresh();
        const result = await transferLargeFile({ work, spec, env, size: 1024 ** 3 });
        expect(result.publishMaxRssMiB).toBeLessThan(250);
        expect(result.pullMaxRssMiB).toBeLessThan(250);
        expect(result.pulledSha256).toBe(result.sourceSha256);
        console.log(
          `[${target.kind}] 1 GiB: publish ${result.publishMiBps.toFixed(0)} MiB/s (max RSS ${result.publishMaxRssMiB.toFixed(0)} MiB), pull ${result.pullMiBps.toFixed(0)} MiB/s (max RSS ${result.pullMaxRssMiB.toFixed(0)} MiB)`,
        );
      },
    );

    if (target.withWrongCredentials) {
      it('fails at once on wrong credentials, naming the store and the credential source', async () => {
        const good = await target.fresh();
        await new ModelRepository({ store: await openModelStore(good.spec, good.env) }).publish({
          source: join(modelDir, 'labels.txt'),
          name: 'digits',
          version: '1',
        });
        const bad = target.withWrongCredentials!(good.spec, good.env);
        const repo = new ModelRepository({
          store: await openModelStore({ ...bad.spec, retries: 5 }, bad.env),
        });
        const started = Date.now();
        const failure = repo.list('digits');
        await expect(failure).rejects.toThrow(AuthenticationError);
        await expect(failure).rejects.toThrow(/rejected the credentials from|access denied/);
        expect(Date.now() - started).toBeLessThan(5_000); // not retried
        await expect(
          repo.publish({ source: join(modelDir, 'labels.txt'), name: 'digits', version: '2' }),
        ).rejects.toThrow(AuthenticationError);
      });
    }

    it('stops on cancellation with CancelledError or an abort, leaving nothing', async () => {
      const controller = new AbortController();
      controller.abort();
      const { repo } = await open();
      const failure = repo.publish({
        source: modelDir,
        name: 'digits',
        version: '1',
        signal: controller.signal,
      });
      await expect(failure).rejects.toSatisfy(
        (e: unknown) => e instanceof CancelledError || (e as Error).name === 'AbortError',
      );
      expect(await repo.list('digits')).toEqual([]);
    });
  });
}
