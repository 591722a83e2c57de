import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { required } from './services.js';

/** examples/python-app through the Dockerfile builder: BuildKit builds the app, ShipML adds the model. */
const run = promisify(execFile);
const ns = `d${Date.now().toString(36)}`;
const EXAMPLE = fileURLToPath(new URL('../../../examples/python-app', import.meta.url));
let work: string;
let app: string;
let store: string;
const containers: string[] = [];
const images: string[] = [];

interface BuildJson {
  digest: string;
  model: { version: string; digest: string };
  layers: Array<{ kind: string; status: string }>;
}

async function publish(version: string, weights: number[], bias: number): Promise<string> {
  const dir = join(work, `model-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify({ weights, bias }));
  const out = await runCli(
    ['model', 'publish', dir, '-n', 'linear', '-v', version, '--store', store, '--json'],
    { env: { HOME: work } },
  );
  expect(out.code, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { manifest: { digest: string } }).manifest.digest;
}

async function build(tag: string): Promise<BuildJson> {
  images.push(tag);
  const out = await runCli(['build', '--output', 'docker', '--tag', tag, '--json'], {
    env: { HOME: work, SHIPML_CACHE_DIR: join(work, 'cache') },
    cwd: app,
  });
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as BuildJson;
}

async function serve(tag: string): Promise<string> {
  const port = await freePort();
  const { stdout } = await run('docker', ['run', '-d', '-p', `127.0.0.1:${port}:8000`, tag]);
  containers.push(stdout.trim());
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      // Bounded: a connection the engine's port proxy resets while the app starts can leave a
      // fetch without a timeout pending forever (seen with Node 20's fetch).
      await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      )
    )
      return base;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${tag} did not become healthy`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-dockerfile-'));
  store = `file://${join(work, 'store')}`;
  app = join(work, 'python-app');
  await cp(EXAMPLE, app, { recursive: true });
  await writeFile(
    join(app, 'shipml.yaml'),
    `model:\n  name: linear\n  store: ${store}\nbuild:\n  kind: dockerfile\n  args:\n    BASE: ${required('SHIPML_TEST_BASE_PYTHON')}\n`,
  );
});
afterAll(async () => {
  if (containers.length) await run('docker', ['rm', '-f', ...containers]).catch(() => undefined);
  if (images.length) await run('docker', ['rmi', '-f', ...images]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('Dockerfile builder (examples/python-app)', () => {
  let first: BuildJson;

  it('builds the app with BuildKit and serves predictions from the model ShipML appended', async () => {
    const digest = await publish('1', [1, 2, 3], 0.5);
    first = await build(`shipml-test/${ns}:1`);
    expect(first.layers).toEqual([
      {
        kind: 'model',
        digest: expect.any(String) as string,
        size: expect.any(Number) as number,
        status: 'recorded',
      },
    ]);
    const base = await serve(`shipml-test/${ns}:1`);
    expect(await (await fetch(`${base}/predict?x=1,2,3`)).json()).toEqual({ y: 14.5 });
    expect(await (await fetch(`${base}/version`)).json()).toEqual({
      model_name: 'linear',
      model_version: '1',
      model_digest: digest,
    });
    expect((await fetch(`${base}/predict?x=1`)).status).toBe(400);
  });

  it('a new model changes only the model layer: the app layers are reused as they were', async () => {
    await publish('2', [0, 0, 1], 1);
    const second = await build(`shipml-test/${ns}:2`);
    expect(second.model.version).toBe('2');
    const layersOf = async (tag: string) =>
      JSON.parse(
        (await run('docker', ['image', 'inspect', tag, '--format', '{{json .RootFS.Layers}}']))
          .stdout,
      ) as string[];
    const [a, b] = [await layersOf(`shipml-test/${ns}:1`), await layersOf(`shipml-test/${ns}:2`)];
    expect(b.slice(0, -1)).toEqual(a.slice(0, -1));
    expect(b.at(-1)).not.toBe(a.at(-1));
    const base = await serve(`shipml-test/${ns}:2`);
    expect(await (await fetch(`${base}/predict?x=1,2,3`)).json()).toEqual({ y: 4 });
  });
});
