import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePlatformOf, type NodePlatform } from '../src/builders/node/platform-prune.js';
import { parseLocation, readImage } from '../src/oci/locations.js';
import { runCli } from './helpers/cli.js';
import { DIGITS, digitsConfig, PREDICT_BODY } from './helpers/digits.js';
import { freePort } from './helpers/ports.js';
import { required } from './services.js';

/**
 * The sample app's dependency layer, built by the node builder from examples/digits' installed
 * node_modules (onnxruntime-node ships darwin, win32 and linux binaries): only the base
 * image's platform's binaries go in, the layer is the same bytes from an empty cache, the
 * opt-out keeps everything, and the image still classifies a digit in the Docker Engine.
 */
const run = promisify(execFile);
const ns = `p${Date.now().toString(36)}`;
const localTag = `shipml-test/${ns}:pruned`;
const ORT_BIN = 'app/node_modules/onnxruntime-node/bin/napi-v6';
let work: string;
let platform: NodePlatform;

interface Built {
  digest: string;
  layers: { kind: string; digest: string; size: number; status: string }[];
}

/** shipml.yaml for digits in its own directory (context: the example). */
async function config(name: string, extra: string[] = []): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'shipml.yaml'), digitsConfig(`file://${join(work, 'store')}`, extra));
  return dir;
}

/** Builds digits@1 with its own layer cache (`cache`); `output` as the CLI takes it. */
async function build(dir: string, cache: string, output: string, tag?: string): Promise<Built> {
  const args = ['build', '--model', 'digits@1', '--output', output, '--json'];
  if (tag) args.push('--tag', tag);
  const env = { HOME: work, PATH: process.env.PATH, SHIPML_CACHE_DIR: cache };
  const built = await runCli(args, { env, cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  return JSON.parse(built.stdout) as Built;
}

function dependencyLayer(built: Built): Built['layers'][number] {
  const layer = built.layers.find((l) => l.kind === 'dependencies');
  expect(layer).toBeDefined();
  return layer!;
}

/** The file names in a gzip layer blob of an OCI layout. */
async function layerFiles(layout: string, digest: string): Promise<string[]> {
  const blob = join(layout, 'blobs', 'sha256', digest.replace('sha256:', ''));
  const { stdout } = await run('tar', ['-tzf', blob], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((name) => name && !name.endsWith('/'));
}

/** Every file under a directory, as paths relative to `base`. */
async function walk(dir: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path, base)));
    else out.push(relative(base, path));
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-prune-'));
  const base = await readImage(parseLocation(required('SHIPML_TEST_BASE_NODE')), {
    env: process.env,
  });
  const known = nodePlatformOf(base.config);
  if (!known) throw new Error(`base image platform ${base.config.os}/${base.config.architecture}`);
  platform = known;
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: DIGITS });
  const model = join(work, 'model');
  const trainArgs = ['--out', model, '--seed', '1', '--epochs', '1', '--train-limit', '300'];
  await run('npx', ['tsx', 'train/main.ts', ...trainArgs], { cwd: DIGITS });
  const store = `file://${join(work, 'store')}`;
  const published = await runCli(
    ['model', 'publish', model, '-n', 'digits', '-v', '1', '--store', store],
    { env: { HOME: work, PATH: process.env.PATH, SHIPML_CACHE_DIR: join(work, 'cache-a') } },
  );
  expect(published.code, published.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  await run('docker', ['rmi', '-f', localTag]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('the node builder’s dependency layer for digits', () => {
  let pruned: Built;
  let prunedFiles: string[];

  it('holds only the base image platform’s binaries, in at most 45 MiB', async () => {
    const dir = await config('pruned');
    pruned = await build(dir, join(work, 'cache-a'), `oci:${join(work, 'oci-a')}`);
    const layer = dependencyLayer(pruned);
    expect(layer.status).toBe('built');
    expect(layer.size).toBeLessThanOrEqual(45 * 1024 * 1024);
    prunedFiles = await layerFiles(join(work, 'oci-a'), layer.digest);
    const binaries = prunedFiles.filter((f) => f.startsWith(`${ORT_BIN}/`));
    const own = `${ORT_BIN}/${platform.os}/${platform.arch}/`;
    expect(binaries.length).toBeGreaterThan(0);
    expect(binaries.filter((f) => !f.startsWith(own))).toEqual([]);
    expect(binaries).toContain(`${own}onnxruntime_binding.node`);
    // The rest of the package and the other dependencies are all there.
    expect(prunedFiles).toContain('app/node_modules/onnxruntime-node/dist/index.js');
    expect(prunedFiles).toContain('app/node_modules/fastify/package.json');
  }, 300_000);

  it('is the same layer when built again from an empty cache', async () => {
    const again = await build(
      await config('again'),
      join(work, 'cache-b'),
      `oci:${join(work, 'oci-b')}`,
    );
    expect(dependencyLayer(again).status).toBe('built');
    expect(dependencyLayer(again).digest).toBe(dependencyLayer(pruned).digest);
  }, 300_000);

  it('keeps every platform’s binaries with prunePlatforms: false', async () => {
    const dir = await config('kept', ['  prunePlatforms: false']);
    const kept = await build(dir, join(work, 'cache-a'), `oci:${join(work, 'oci-c')}`);
    const layer = dependencyLayer(kept);
    expect(layer.digest).not.toBe(dependencyLayer(pruned).digest);
    const keptFiles = await layerFiles(join(work, 'oci-c'), layer.digest);
    const prunedSet = new Set(prunedFiles);
    const onlyKept = keptFiles.filter((f) => !prunedSet.has(f)).sort();
    // Exactly the installed binaries of the other platforms, and nothing pruned that stayed.
    const installed = join(DIGITS, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    const others = (await walk(installed, installed))
      .filter((f) => !f.startsWith(`${platform.os}/${platform.arch}/`))
      .map((f) => `${ORT_BIN}/${f}`)
      .sort();
    expect(others.length).toBeGreaterThan(0);
    expect(onlyKept).toEqual(others);
    expect(prunedFiles.filter((f) => !keptFiles.includes(f))).toEqual([]);
    expect(layer.size).toBeGreaterThan(dependencyLayer(pruned).size * 2);
  }, 300_000);

  it('still runs in the Docker Engine and classifies a digit', async () => {
    const dir = await config('pruned');
    await build(dir, join(work, 'cache-a'), 'docker', localTag);
    const { stdout: listing } = await run('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'ls',
      localTag,
      `/${ORT_BIN}`,
    ]);
    expect(listing.trim().split('\n')).toEqual([platform.os]);
    const port = await freePort();
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--rm',
      '-p',
      `127.0.0.1:${port}:8080`,
      localTag,
    ]);
    const container = stdout.trim();
    try {
      let ready = false;
      for (let i = 0; i < 240 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(ready).toBe(true);
      const answer = await fetch(`http://127.0.0.1:${port}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: PREDICT_BODY,
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        predictions: { label: string; probabilities: number[] }[];
        labels: string[];
      };
      expect(body.labels).toHaveLength(10);
      expect(body.predictions).toHaveLength(1);
      expect(body.labels).toContain(body.predictions[0]!.label);
      const sum = body.predictions[0]!.probabilities.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 2);
    } finally {
      await run('docker', ['rm', '-f', container]).catch(() => undefined);
    }
  }, 300_000);
});
