import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../src/deploy/docker/target.js';
import { baseImageCache } from '../src/init/base-image.js';
import type { RunReport } from '../src/pipeline/types.js';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { DIGITS } from './helpers/digits.js';
import { registries, required } from './services.js';

/**
 * The first try succeeds: `shipml init` on a copy of examples/digits, then `shipml run` with
 * no edit in between, to a live app behind the load balancer that reports the model it was
 * built with. Real registry, real Docker Engine, the app's own test suite.
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ns = `i${Date.now().toString(36)}`;
// The directory name becomes the model and app name: unique, so no other app is touched.
const name = `${ns}-digits`;
let work: string;
let appDir: string;
let store: string;
let port: number;
let modelDigest: string;
const localBase = join(baseImageCache(process.env), 'node24', 'index.json');
const haveLocalBase = await stat(localBase).then(
  () => true,
  () => false,
);

/** The run id in `error: run ID failed at ...`. */
function runId(stderr: string): string {
  return /run (\S+) failed/.exec(stderr)?.[1] ?? 'unknown';
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-init-serves-'));
  appDir = join(work, name);
  store = `file://${join(work, 'store')}`;
  port = await freePort();

  // A copy as a developer's checkout has it after `npm ci && npm run build`. node_modules is
  // hard-linked (half a gigabyte; nothing writes into its files), the rest copied.
  if (!(await stat(join(DIGITS, 'dist', 'src', 'main.js')).catch(() => undefined)))
    await run('npm', ['run', '-s', 'build'], { cwd: DIGITS });
  const skip = new Set(['node_modules', 'shipml.yaml', '.shipml', 'model', 'test-artifacts']);
  await cp(DIGITS, appDir, {
    recursive: true,
    filter: (src) => src === DIGITS || !skip.has(src.slice(DIGITS.length + 1).split('/')[0]!),
  });
  await run('cp', ['-al', join(DIGITS, 'node_modules'), join(appDir, 'node_modules')]);

  // The data scientist's side: a digits model, trained as the demo does, published.
  const trained = join(work, 'trained');
  await run(process.execPath, ['--import', 'tsx', 'train/main.ts', '--out', trained], {
    cwd: DIGITS,
    maxBuffer: 16 << 20,
  });
  const published = await runCli(
    [
      ...['model', 'publish', trained, '-n', name, '-v', '1.0.0'],
      ...['--metrics', join(trained, 'metrics.json'), '--store', store, '--json'],
    ],
    { env: { HOME: work } },
  );
  expect(published.stderr).toBe('');
  modelDigest = (JSON.parse(published.stdout) as { manifest: { digest: string } }).manifest.digest;
  expect(modelDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

  // The load balancer's image in the engine under its default name: what
  // `scripts/base-images.sh load` does from the local layouts, else from the test registry.
  if (haveLocalBase) await run('bash', [join(ROOT, 'scripts/base-images.sh'), 'load', 'haproxy']);
  else {
    const copied = await runCli(
      [
        'image',
        'copy',
        required('SHIPML_TEST_PROXY_IMAGE'),
        'docker',
        '--tag',
        'shipml/haproxy:2.6',
      ],
      { env: { HOME: work } },
    );
    expect(copied.stderr).toBe('');
  }
}, 300_000);

afterAll(async () => {
  if (appDir) await new DockerTarget({ port }).destroy(name).catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('shipml init, then shipml run, with no edit in between', () => {
  it('deploys and verifies the app it detected: GET /version answers with the model digest', async () => {
    const init = await runCli(
      [
        'init',
        ...['--ci', 'none', '--store', store, '--image', `${registries.plain}/${ns}/digits`],
        ...['--target', 'docker', '--port', String(port)],
        // The local base image is init's own choice when it exists; else the test registry's.
        ...(haveLocalBase ? [] : ['--base', required('SHIPML_TEST_BASE_NODE')]),
      ],
      {
        cwd: appDir,
        env: { HOME: process.env.HOME, SHIPML_CI_CACHE: process.env.SHIPML_CI_CACHE },
      },
    );
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain(
      haveLocalBase
        ? 'note: build.base is the local Node.js 24 base image'
        : 'build.base from --base',
    );
    const config = await readFile(join(appDir, 'shipml.yaml'), 'utf8');
    expect(config).toContain("env: { NODE_ENV: production, HOST: '0.0.0.0', PORT: '8080' }");
    expect(config).toContain('versionPath: /version');

    const shipped = await runCli(['run', '--json'], {
      cwd: appDir,
      env: { HOME: work, PATH: process.env.PATH },
    });
    if (shipped.code !== 0) {
      // The app's own test log says more than the one error line.
      const log = await readFile(
        join(appDir, '.shipml', 'runs', runId(shipped.stderr), 'test.log'),
        'utf8',
      ).catch(() => '');
      expect.fail(`${shipped.stderr.slice(-2000)}\n--- test.log (end) ---\n${log.slice(-6000)}`);
    }
    const report = JSON.parse(shipped.stdout) as RunReport;
    expect(report.outcome).toBe('succeeded');
    expect(report.stages.find((s) => s.name === 'test')?.status).toBe('succeeded');
    expect(report.stages.find((s) => s.name === 'verify')?.status).toBe('succeeded');
    expect(report.inputs?.model?.digest).toBe(modelDigest);

    const answer = await fetch(`http://127.0.0.1:${port}/version`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { model: { digest: string; digestVerified: boolean } };
    expect(body.model).toMatchObject({ digest: modelDigest, digestVerified: true });

    const destroyed = await runCli(['destroy', '--yes'], { cwd: appDir, env: { HOME: work } });
    expect(destroyed.code, destroyed.stderr).toBe(0);
    await expect(
      fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toThrow();
  }, 900_000);
});
