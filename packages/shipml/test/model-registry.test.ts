/**
 * A model's bytes travel once: `shipml model publish --registry` reads each file once and
 * sends it to the store and, as the ModelPack artifact's layer, to the registry; every build
 * after that mounts the layer (no model byte read or sent, even on a fresh machine); an
 * artifact pushed by another tool (oras) is a model a build can take (`--model oci://`).
 * Checked with strace (how often a model file is opened), oras, crane and the registry itself.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelDigest } from '../src/model-store/manifest.js';
import { ModelPack } from '../src/oci/modelpack/media-types.js';
import { OciImage } from '../src/oci/image.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { tools } from './helpers/attest-tools.js';
import { CLI_BIN, runCli } from './helpers/cli.js';
import { oras, orasPushModelPack, TamperingProxy, writeFiles } from './helpers/modelpack.js';
import { registries } from './services.js';

const run = promisify(execFile);
const ns = `mr${Date.now().toString(36)}`;
const MODEL_BYTES = 8 * 1024 * 1024;
let work: string;
let storeUrl: string;
let app: string;

interface PublishJson {
  manifest: {
    digest: string;
    layer: { digest: string; size: number };
    registry?: { reference: string; digest: string };
  };
  registry: {
    reference: string;
    layer: { action: string; streamed: boolean; size: number };
  } | null;
}
interface BuildJson {
  digest: string;
  model: { name: string; version: string; digest: string; path: string } | null;
  layers: Array<{ kind: string; digest: string; size: number; status: string }>;
  upload: { bytes: number; uploaded: number; exists: number; mounted: number } | null;
}

const env = (cache: string) => ({ SHIPML_CACHE_DIR: cache, HOME: work });

async function writeApp(dir: string): Promise<void> {
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
  await writeFile(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' } } }),
  );
  await writeFile(join(dir, 'dist', 'server.js'), 'console.log(process.env.MODEL_DIGEST)\n');
  await writeFile(
    join(dir, 'shipml.yaml'),
    [
      'model:',
      '  name: m',
      `  store: ${storeUrl}`,
      `  registry: ${registries.plain}/${ns}/models/m`,
      'build:',
      `  base: ${registries.plain}/${ns}/base:1`,
      '  cmd: [node, dist/server.js]',
      'image:',
      `  repository: ${registries.plain}/${ns}/app`,
      '  tags: [latest]',
      '',
    ].join('\n'),
  );
}

async function build(args: string[], cache: string): Promise<BuildJson> {
  const result = await runCli(['build', '--json', ...args], { env: env(cache), cwd: app });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as BuildJson;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-model-registry-'));
  storeUrl = `file://${join(work, 'store')}`;
  await pushImage(
    new RegistryClient(registries.plain, { env: {} }),
    parseReference(`${registries.plain}/${ns}/base:1`),
    OciImage.empty(),
  );
  app = join(work, 'app');
  await writeApp(app);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('shipml model publish with model.registry', () => {
  let published: PublishJson;
  const modelDir = (): string => join(work, 'model-1');

  it('reads each file once: store, sha256, layer digest and registry upload from one read', async () => {
    const weights = Buffer.alloc(MODEL_BYTES);
    for (let i = 0; i < weights.length; i += 4096) weights[i] = i & 0xff;
    await writeFiles(modelDir(), { 'weights.bin': weights, 'config.json': Buffer.from('{}\n') });
    const trace = join(work, 'publish.strace');
    // The built CLI under strace: every openat of every process (shipml spawns none here).
    const { stdout } = await run(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=openat',
        '-o',
        trace,
        process.execPath,
        CLI_BIN,
        'model',
        'publish',
        modelDir(),
        '-v',
        '1',
        '--json',
      ],
      { cwd: app, env: { ...process.env, ...env(join(work, 'cache-publish')), CI: 'true' } },
    );
    published = JSON.parse(stdout) as PublishJson;
    const opens = (await readFile(trace, 'utf8'))
      .split('\n')
      .filter((l) => l.includes(join(modelDir(), 'weights.bin')) && !l.includes('O_DIRECTORY'));
    expect(opens, opens.join('\n')).toHaveLength(1);
    expect(published.registry).toMatchObject({ layer: { action: 'exists', streamed: true } });
    expect(published.manifest.registry?.reference).toBe(published.registry!.reference);
    expect(published.registry!.reference).toMatch(
      new RegExp(`^${registries.plain}/${ns}/models/m@sha256:[0-9a-f]{64}$`),
    );
  });

  it('is a ModelPack artifact oras understands, its layer byte-identical to the image model layer', async () => {
    const ref = `${registries.plain}/${ns}/models/m:1`;
    const fetched = await oras(['manifest', 'fetch', '--plain-http', ref], work);
    expect(fetched.code, fetched.stderr).toBe(0);
    const manifest = JSON.parse(fetched.stdout) as {
      artifactType: string;
      layers: Array<{ digest: string; size: number; mediaType: string }>;
    };
    expect(manifest.artifactType).toBe(ModelPack.artifactType);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]).toMatchObject({
      digest: published.manifest.layer.digest,
      size: published.manifest.layer.size,
      mediaType: ModelPack.weightTar,
    });
    const out = join(work, 'oras-pull');
    await mkdir(out, { recursive: true });
    const pulled = await oras(['pull', '--plain-http', '-o', out, ref], work);
    expect(pulled.code, pulled.stderr).toBe(0);
    await run('tar', ['-xf', join(out, 'm.tar'), '-C', out]);
    // Buffer.equals: a deep toEqual of 8 MiB walks every byte (and diffs them) for minutes.
    const got = await readFile(join(out, 'models', 'm', 'weights.bin'));
    expect(got.equals(await readFile(join(modelDir(), 'weights.bin')))).toBe(true);
  });

  it('a build on a fresh machine mounts the model layer: the model is neither downloaded nor sent', async () => {
    const cache = join(work, 'cache-fresh-agent');
    const built = await build(['--push'], cache);
    const model = built.layers.find((l) => l.kind === 'model')!;
    expect(model).toMatchObject({ digest: published.manifest.layer.digest, status: 'recorded' });
    expect(built.upload!.mounted).toBeGreaterThanOrEqual(1);
    expect(built.upload!.bytes).toBeLessThan(MODEL_BYTES);
    // Nothing of the model reached this machine's cache.
    expect(await readdir(join(cache, 'model-dirs')).catch(() => [])).toEqual([]);
    // crane sees the model's files where MODEL_PATH says.
    const { stdout } = await run(
      'bash',
      ['-c', `"${tools.crane}" export --insecure ${registries.plain}/${ns}/app:latest - | tar -t`],
      { maxBuffer: 64 << 20 },
    );
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining(['models/m/weights.bin', 'models/m/config.json']),
    );
  });

  it('a registry that refuses the artifact fails the publish in one line and publishes nothing', async () => {
    const result = await runCli(
      [
        'model',
        'publish',
        modelDir(),
        '-v',
        '2',
        '--registry',
        `${registries.auth}/${ns}/models/m`,
      ],
      { env: env(join(work, 'cache-refused')), cwd: app },
    );
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(registries.auth.replace(/[.]/g, '\\.')));
    expect(result.stderr).not.toContain(process.env.SHIPML_TEST_REGISTRY_PASSWORD ?? '\0');
    const list = await runCli(['model', 'list', 'm', '--json'], {
      env: env(join(work, 'cache-refused')),
      cwd: app,
    });
    expect(list.stdout).not.toContain('"2"');
    const left = await readdir(join(work, 'store', 'm')).catch(() => []);
    expect(left).not.toContain('2');
  });
});

describe('shipml build --model oci://', () => {
  it('packages an artifact oras pushed (re-tarred once), and the image reports its model digest', async () => {
    const dir = join(work, 'foreign');
    const weights = Buffer.alloc(100_000, 3);
    await writeFiles(dir, { 'model.safetensors': weights });
    // oras computes nothing of the config: give it the DiffID of the raw layer (its digest).
    const digest = `sha256:${(await run('sha256sum', [join(dir, 'model.safetensors')])).stdout.split(' ')[0]}`;
    const pushed = await orasPushModelPack(
      dir,
      `${registries.plain}/${ns}/foreign:1`,
      {
        descriptor: { name: 'foreign' },
        config: {},
        modelfs: { type: 'layers', diffIds: [digest] },
      },
      ['model.safetensors:application/vnd.cncf.model.weight.v1.raw'],
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    const layout = join(work, 'foreign-layout');
    const built = await build(
      ['--model', `oci://${registries.plain}/${ns}/foreign:1`, '--output', `oci:${layout}:app`],
      join(work, 'cache-foreign'),
    );
    const sha = digest.slice('sha256:'.length);
    const expected = modelDigest([
      { path: 'model.safetensors', size: weights.length, sha256: sha },
    ]);
    expect(built.model).toMatchObject({
      name: 'foreign',
      digest: expected,
      path: '/models/foreign',
    });
    expect(built.layers.find((l) => l.kind === 'model')!.status).toBe('built');
    const bundle = join(work, 'foreign-bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:app`, bundle]);
    expect(
      await readFile(join(bundle, 'rootfs', 'models', 'foreign', 'model.safetensors')),
    ).toEqual(weights);
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
      process: { env: string[] };
    };
    expect(config.process.env).toContain(`MODEL_DIGEST=${expected}`);
  });

  it('a tampered artifact layer never enters an image: the build fails in one line and writes nothing', async () => {
    const proxy = new TamperingProxy(registries.plain);
    const proxied = await proxy.start();
    try {
      const fetched = await oras(
        ['manifest', 'fetch', '--plain-http', `${registries.plain}/${ns}/models/m:1`],
        work,
      );
      const layer = (JSON.parse(fetched.stdout) as { layers: Array<{ digest: string }> }).layers[0]!
        .digest;
      proxy.tamper.add(layer);
      const layout = join(work, 'tampered-layout');
      const result = await runCli(
        ['build', '--model', `oci://${proxied}/${ns}/models/m:1`, '--output', `oci:${layout}:app`],
        { env: env(join(work, 'cache-tampered')), cwd: app },
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr.split('\n')[0]).toMatch(/sha256|digest|refused/);
      expect(await readdir(layout).catch(() => [])).not.toContain('index.json');
    } finally {
      await proxy.stop();
    }
  });

  it("mounts ShipML's own artifact as the model layer, by digest", async () => {
    const built = await build(
      ['--model', `oci://${registries.plain}/${ns}/models/m:1`, '--push'],
      join(work, 'cache-oci-own'),
    );
    expect(built.model).toMatchObject({ name: 'm', version: '1' });
    expect(built.layers.find((l) => l.kind === 'model')!.status).toBe('recorded');
    expect(built.upload!.bytes).toBeLessThan(MODEL_BYTES);
  });
});
