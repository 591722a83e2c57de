import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciImage } from '../src/oci/image.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { runCli } from './helpers/cli.js';
import { registries } from './services.js';

const run = promisify(execFile);
const ns = `b${Date.now().toString(36)}`;
let work: string;
let app: string;
let storeUrl: string;
let baseRef: string;

interface BuildJson {
  digest: string;
  reference: string | null;
  model: { name: string; version: string; digest: string; path: string } | null;
  layers: Array<{
    kind: string;
    digest: string;
    size: number;
    status: 'built' | 'cached' | 'recorded';
  }>;
  upload: { bytes: number; uploaded: number; exists: number; mounted: number } | null;
}

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_DATE: '2026-01-02T03:04:05Z',
  GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z',
};
const git = (dir: string, ...args: string[]) =>
  run('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { env: gitEnv });

async function writeApp(dir: string): Promise<void> {
  await mkdir(join(dir, 'dist'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'left-pad'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'devthing'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.2.3' }));
  await writeFile(
    join(dir, 'package-lock.json'),
    JSON.stringify({
      name: 'app',
      version: '1.2.3',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.2.3' },
        'node_modules/left-pad': { version: '1.0.0' },
        'node_modules/devthing': { version: '1.0.0', dev: true },
      },
    }),
  );
  await writeFile(
    join(dir, 'node_modules', 'left-pad', 'index.js'),
    'module.exports = (s) => s;\n',
  );
  await writeFile(join(dir, 'node_modules', 'devthing', 'index.js'), 'dev only\n');
  await writeFile(join(dir, 'dist', 'server.js'), 'console.log("v1")\n');
  await writeFile(join(dir, '.gitignore'), 'node_modules\n');
  await writeFile(
    join(dir, 'shipml.yaml'),
    `model:\n  name: m\n  store: ${storeUrl}\nbuild:\n  base: ${baseRef}\n  cmd: [node, dist/server.js]\n  ports: [8080]\nimage:\n  repository: ${registries.plain}/${ns}/app\n  tags: [latest]\n`,
  );
  await run('git', ['init', '-q', dir]);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'v1');
}

async function publishModel(version: string, size: number): Promise<void> {
  const dir = join(work, `model-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), Buffer.alloc(size, Number(version)));
  const published = await runCli(
    ['model', 'publish', dir, '-n', 'm', '-v', version, '--store', storeUrl],
    { env: env() },
  );
  expect(published.code, published.stderr).toBe(0);
}

const env = (cache = join(work, 'cache')) => ({
  SHIPML_CACHE_DIR: cache,
  HOME: work,
  GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z',
});

async function build(args: string[], cwd = app, cache?: string): Promise<BuildJson> {
  const result = await runCli(['build', '--json', ...args], { env: env(cache), cwd });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as BuildJson;
}

const status = (b: BuildJson) => b.layers.map((l) => `${l.kind}:${l.status}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-build-'));
  storeUrl = `file://${join(work, 'store')}`;
  baseRef = `${registries.plain}/${ns}/base:1`;
  await pushImage(
    new RegistryClient(registries.plain, { env: {} }),
    parseReference(baseRef),
    OciImage.empty(),
  );
  await publishModel('1', 3 * 1024 * 1024);
  app = join(work, 'app');
  await writeApp(app);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('shipml build (native Node.js builder)', () => {
  let first: BuildJson;

  it('builds and pushes base + dependencies + app + model, with provenance', async () => {
    first = await build(['--push']);
    // The model layer's digest was recorded when the model was published: known, not built.
    expect(status(first)).toEqual(['dependencies:built', 'app:built', 'model:recorded']);
    expect(first.model).toMatchObject({ name: 'm', version: '1', path: '/models/m' });
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${registries.plain}/${ns}/app:latest`,
    ]);
    const inspected = JSON.parse(stdout) as {
      Digest: string;
      Labels: Record<string, string>;
      Env: string[];
    };
    expect(inspected.Digest).toBe(first.digest);
    const commit = (await git(app, 'rev-parse', 'HEAD')).stdout.trim();
    expect(inspected.Labels).toMatchObject({
      'org.opencontainers.image.revision': commit,
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.created': '2026-01-02T03:04:05.000Z',
      'dev.shipml.model.name': 'm',
      'dev.shipml.model.version': '1',
      'dev.shipml.model.digest': first.model!.digest,
    });
    expect(inspected.Env).toEqual(
      expect.arrayContaining([
        'MODEL_PATH=/models/m',
        `MODEL_DIGEST=${first.model!.digest}`,
        `APP_COMMIT=${commit}`,
        'NODE_ENV=production',
      ]),
    );
  });

  it('packages production dependencies only, the app and the model where MODEL_PATH says', async () => {
    const layout = join(work, 'layout');
    await build(['--output', `oci:${layout}:app`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:app`, bundle]);
    const root = join(bundle, 'rootfs');
    expect(await readFile(join(root, 'app', 'dist', 'server.js'), 'utf8')).toBe(
      'console.log("v1")\n',
    );
    expect(
      await readFile(join(root, 'app', 'node_modules', 'left-pad', 'index.js'), 'utf8'),
    ).toContain('module.exports');
    await expect(stat(join(root, 'app', 'node_modules', 'devthing'))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(root, 'models', 'm', 'weights.bin'))).size).toBe(3 * 1024 * 1024);
    await expect(stat(join(root, 'app', '.git'))).rejects.toThrow(/ENOENT/);
  });

  it('is reproducible: the same commit and model give the same digest elsewhere, with empty caches', async () => {
    const elsewhere = join(work, 'elsewhere', 'checkout');
    await mkdir(join(work, 'elsewhere'), { recursive: true });
    await cp(app, elsewhere, { recursive: true });
    const again = await build([], elsewhere, join(work, 'other-cache'));
    expect(status(again)).toEqual(['dependencies:built', 'app:built', 'model:recorded']);
    expect(again.digest).toBe(first.digest);
  });

  it('a fresh checkout of the same code (new inodes and times) reuses the cached layers by content', async () => {
    const checkout = join(work, 'fresh-checkout', 'app');
    await mkdir(join(work, 'fresh-checkout'), { recursive: true });
    await cp(app, checkout, { recursive: true }); // new inodes, new mtimes: the stat key misses
    const fresh = await build([], checkout);
    expect(status(fresh)).toEqual(['dependencies:cached', 'app:cached', 'model:recorded']);
    expect(fresh.digest).toBe(first.digest);
    await rm(join(work, 'fresh-checkout'), { recursive: true, force: true });
  });

  it('nothing changed: nothing rebuilt, nothing uploaded', async () => {
    const same = await build(['--push']);
    expect(same.digest).toBe(first.digest);
    // The model layer streams store -> registry and is never kept locally: known from its manifest.
    expect(status(same)).toEqual(['dependencies:cached', 'app:cached', 'model:recorded']);
    expect(same.upload).toMatchObject({ bytes: 0, uploaded: 0 });
  });

  it('a code change rebuilds and uploads only the app layer (and the config)', async () => {
    await writeFile(join(app, 'dist', 'server.js'), 'console.log("v2")\n');
    await git(app, 'commit', '-qam', 'v2');
    const next = await build(['--push']);
    expect(status(next)).toEqual(['dependencies:cached', 'app:built', 'model:recorded']);
    expect(next.upload!.uploaded).toBe(2);
    const appLayer = next.layers.find((l) => l.kind === 'app')!;
    expect(next.upload!.bytes).toBeLessThan(appLayer.size + 4096);
  });

  it('a new model rebuilds and uploads only the model layer (and the config)', async () => {
    await publishModel('2', 2 * 1024 * 1024);
    const next = await build(['--push']);
    expect(next.model!.version).toBe('2');
    expect(status(next)).toEqual(['dependencies:cached', 'app:cached', 'model:recorded']);
    expect(next.upload!.uploaded).toBe(2);
    expect(next.upload!.bytes).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('a fresh CI agent (empty caches) with a code change never downloads the model', async () => {
    await writeFile(join(app, 'dist', 'server.js'), 'console.log("v3")\n');
    await git(app, 'commit', '-qam', 'v3');
    const freshCache = join(work, 'fresh-agent-cache');
    const fresh = await build(['--push'], app, freshCache);
    expect(status(fresh)).toEqual(['dependencies:built', 'app:built', 'model:recorded']);
    // The registry had the model layer (HEAD), so its bytes were never needed: not pulled, not sent.
    await expect(stat(join(freshCache, 'model-dirs'))).rejects.toThrow(/ENOENT/);
    const model = fresh.layers.find((l) => l.kind === 'model')!;
    expect(fresh.upload!.bytes).toBeLessThan(model.size);
  });

  it('a dependency change rebuilds only the dependency layer', async () => {
    await mkdir(join(app, 'node_modules', 'right-pad'), { recursive: true });
    await writeFile(join(app, 'node_modules', 'right-pad', 'index.js'), 'module.exports = 1;\n');
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    lock.packages['node_modules/right-pad'] = { version: '1.0.0' };
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(lock));
    await git(app, 'commit', '-qam', 'deps');
    const next = await build([]);
    // The lockfile is an app file too, so the app layer changes with it.
    expect(status(next)).toEqual(['dependencies:built', 'app:built', 'model:recorded']);
  });

  it('image add-model: the old image plus the new model layer, without a rebuild', async () => {
    await publishModel('3', 1024 * 1024);
    const result = await runCli(
      [
        'image',
        'add-model',
        `${registries.plain}/${ns}/app:latest`,
        'm@3',
        '--output',
        `${registries.plain}/${ns}/injected:v3`,
        '--store',
        storeUrl,
        '--json',
      ],
      { env: env(), cwd: app },
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      digest: string;
      base: string;
      upload: { uploaded: number; mounted: number };
    };
    expect(out.upload.uploaded).toBe(2); // the model layer and the config; the rest is mounted
    expect(out.upload.mounted).toBeGreaterThanOrEqual(3);
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${registries.plain}/${ns}/injected:v3`,
    ]);
    const inspected = JSON.parse(stdout) as {
      Labels: Record<string, string>;
      Layers: string[];
      Env: string[];
    };
    expect(inspected.Labels['dev.shipml.model.version']).toBe('3');
    expect(inspected.Env).toContain('MODEL_VERSION=3');
  });

  it('refuses a build without a base image clearly', async () => {
    const dir = join(work, 'nobuild');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'shipml.yaml'),
      `build:\n  base: ${registries.plain}/${ns}/missing:1\n`,
    );
    const result = await runCli(['build', '--no-model'], { env: env(), cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(
      /GET \/v2\/.*\/missing\/manifests\/1 failed \(MANIFEST_UNKNOWN/,
    );
  });
});
