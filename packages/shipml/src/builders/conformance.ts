/**
 * The conformance suite every image builder passes (hono's `runTest` pattern): the same
 * small app (conformance-app.ts) and the same models, built by the builder under test, run
 * in a real Docker Engine. A builder is done when this suite passes. It holds a builder to
 * the promises of the contract (types.ts): the image runs and reports the model it was built
 * with; the same inputs give the same digest; a model-only change changes only the model
 * layer, so the app's layers are reused as they were.
 *
 * Needs the docker CLI and an engine (DOCKER_HOST as usual) and whatever the builder's
 * options point at (a base image in a registry on 127.0.0.1).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf } from '../model-store/conformance.js';
import type { Manifest } from '../model-store/manifest.js';
import { openModelStore } from '../model-store/registry.js';
import { ModelRepository } from '../model-store/repository.js';
import { BlobDir } from '../oci/blobs.js';
import { writeImage, type RegistryAccess } from '../oci/locations.js';
import {
  CONFORMANCE_APP_PORT,
  writeConformanceApp,
  type VersionReport,
} from './conformance-app.js';
import { modelInput } from './model-input.js';
import type { BuildResult, BuilderDescriptor } from './types.js';

const run = promisify(execFile);

export interface BuilderConformance {
  /** The builder under test: its registry entry. */
  builder: BuilderDescriptor;
  /** Its options for the conformance app, as under `build:` in shipml.yaml (validated by its schema). */
  options: Record<string, unknown>;
  /** Files the builder needs beside the app, by path (the dockerfile builder: a Dockerfile). */
  files?: Readonly<Record<string, string>>;
  /** How to reach the registry the options' base image is in. */
  registry: RegistryAccess;
  /** Seconds a case may take (a cold build pulls a base image). */
  timeoutSeconds?: number;
}

export function runImageBuilderConformance(c: BuilderConformance): void {
  const timeout = (c.timeoutSeconds ?? 180) * 1000;
  const id = c.builder.id;
  let work: string;
  let repo: ModelRepository;
  const models: Manifest[] = [];
  const containers: string[] = [];
  const tags: string[] = [];

  const publish = async (version: string, size: number): Promise<Manifest> => {
    const dir = join(work, `model-${version}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'weights.bin'), bytesOf(size, Number(version)));
    await writeFile(join(dir, 'labels.txt'), `model ${version}\n`);
    return (await repo.publish({ source: dir, name: 'conformance', version })).manifest;
  };

  /** The builder's build of the app with `model`, into the blob cache `cache`. */
  const build = async (model: Manifest, cache: string): Promise<BuildResult> => {
    const builder = await c.builder.open();
    return builder.build({
      appDir: join(work, 'app'),
      options: c.builder.optionsSchema.parse(c.options),
      where: `conformance (${id}): build`,
      config: { cmd: ['node', 'server.js'], user: '1000:1000', exposedPorts: ['8080'] },
      models: [modelInput(repo, model, join(work, 'cache'), undefined)],
      git: undefined,
      sourceDateEpoch: undefined,
      blobs: new BlobDir(join(work, cache)),
      registry: c.registry,
      env: c.registry.env,
    });
  };
  let first: Promise<BuildResult> | undefined;
  const firstBuild = () => (first ??= build(models[0]!, 'blobs'));

  /** Loads the image into the engine, runs it on a loopback port, and asks it GET /version. */
  const serve = async (result: BuildResult): Promise<VersionReport> => {
    const tag = `shipml-conformance/${id}:${tags.length + 1}-${Date.now().toString(36)}`;
    tags.push(tag);
    await writeImage(result.image, { kind: 'docker' }, [tag], c.registry);
    const docker = (...args: string[]) =>
      run('docker', args, { env: c.registry.env }).then((r) => r.stdout.trim());
    const container = await docker('run', '-d', '-p', `127.0.0.1::${CONFORMANCE_APP_PORT}`, tag);
    containers.push(container);
    const published = await docker('port', container, `${CONFORMANCE_APP_PORT}/tcp`);
    const base = `http://127.0.0.1:${published.split('\n')[0]!.split(':').at(-1)}`;
    for (let i = 0; i < 150; i++) {
      // Bounded: a connection the engine's port proxy resets while the app starts can leave a
      // fetch without a timeout pending forever (seen with Node 20's fetch).
      const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return (await (await fetch(`${base}/version`)).json()) as VersionReport;
      await new Promise((r) => setTimeout(r, 200));
    }
    const logs = await run('docker', ['logs', container]).catch(() => ({ stdout: '', stderr: '' }));
    throw new Error(`${tag} never became ready: ${logs.stdout}${logs.stderr}`.slice(0, 2000));
  };
  const layerDigests = (r: BuildResult) => r.image.manifest.layers.map((l) => l.digest);

  describe(`ImageBuilder conformance: ${id}`, () => {
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), `shipml-builder-${id}-`));
      await writeConformanceApp(join(work, 'app'), c.files);
      const store = await openModelStore({ url: `file://${join(work, 'store')}` }, {});
      repo = new ModelRepository({ store });
      models.push(await publish('1', 2 * 1024 * 1024 + 3), await publish('2', 1024 * 1024 + 5));
    }, timeout);
    afterAll(async () => {
      if (containers.length)
        await run('docker', ['rm', '-f', ...containers]).catch(() => undefined);
      if (tags.length) await run('docker', ['rmi', '-f', ...tags]).catch(() => undefined);
      await rm(work, { recursive: true, force: true });
    }, timeout);

    it(
      'builds an image that runs and reports the model it was built with',
      async () => {
        const result = await firstBuild();
        const model = models[0]!;
        expect(result.layers.at(-1)).toMatchObject({ kind: 'model' });
        for (const layer of result.layers)
          expect(['built', 'cached', 'recorded']).toContain(layer.status);
        expect(layerDigests(result).slice(-result.layers.length)).toEqual(
          result.layers.map((l) => l.digest),
        );
        expect(result.image.config.config?.Labels).toMatchObject({
          'dev.shipml.model.name': 'conformance',
          'dev.shipml.model.version': '1',
          'dev.shipml.model.digest': model.digest,
        });
        expect(await serve(result)).toEqual({
          modelName: 'conformance',
          modelVersion: '1',
          modelDigest: model.digest,
          modelPath: '/models/conformance',
          files: ['labels.txt', 'weights.bin'],
          bytes: 2 * 1024 * 1024 + 3 + 'model 1\n'.length,
        });
      },
      timeout,
    );

    it(
      'gives the same image digest for the same inputs, from an empty blob cache',
      async () => {
        const again = await build(models[0]!, 'blobs-elsewhere');
        expect(again.image.digest).toBe((await firstBuild()).image.digest);
      },
      timeout,
    );

    it(
      'a model-only change changes only the model layer: the app layers stay as they were',
      async () => {
        const before = await firstBuild();
        const after = await build(models[1]!, 'blobs');
        expect(after.image.digest).not.toBe(before.image.digest);
        expect(layerDigests(after).slice(0, -1)).toEqual(layerDigests(before).slice(0, -1));
        expect(layerDigests(after).at(-1)).not.toBe(layerDigests(before).at(-1));
        for (const layer of after.layers.filter((l) => l.kind !== 'model'))
          expect(layer.status, layer.kind).toBe('cached');
        expect(await serve(after)).toMatchObject({
          modelVersion: '2',
          modelDigest: models[1]!.digest,
        });
      },
      timeout,
    );
  });
}
