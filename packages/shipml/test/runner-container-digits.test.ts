/**
 * The sample app's pipeline on the container runner, end to end (issue 13): `shipml run
 * --runner container` on a clean checkout of examples/digits — no node_modules, no dist —
 * with runner.image the toolchain image (scripts/base-images.sh load toolchain: Node 24,
 * npm, chromium). prepare (`npm ci && npm run build`, on the bridge network) and test
 * (digits' vitest suite with its browser tests in the container's chromium) run in command
 * containers; the gate reads the published metrics; the build makes the image. A second run
 * on another clean checkout, with the network `none`, installs everything from the app's
 * npm cache, which persisted between the runs.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../src/pipeline/types.js';
import { COMMAND_LABEL } from '../src/runners/labels.js';
import { runCli } from './helpers/cli.js';
import { DIGITS } from './helpers/digits.js';
import { registries, required } from './services.js';

const exec = promisify(execFile);
const TOOLCHAIN = process.env.SHIPML_TEST_TOOLCHAIN_IMAGE ?? 'shipml/node-toolchain:24';
const MINUTE = 60_000;
let work: string;
let store: string;
/** ShipML's cache directory of the app (the server: one per app, server/app-runtime.ts). */
let cacheDir: string;

/**
 * shipml.yaml of the test's checkouts: examples/digits' own, with the test's store, registry
 * and base image. `npm_config_prefer_offline`: this machine's egress proxy strips the
 * registry's caching headers, so npm would revalidate every cached entry; with it npm uses
 * what the cache holds (its lockfile pins versions and integrity either way).
 * `npm_config_loglevel: http` makes npm log each fetch and whether the cache served it.
 */
function config(network: 'bridge' | 'none'): string {
  return [
    'model: { name: digits, channel: latest, store: ' + store + ' }',
    'build:',
    '  kind: node',
    `  base: ${required('SHIPML_TEST_BASE_NODE')}`,
    '  include: [package.json, package-lock.json, dist, public]',
    '  cmd: [node, dist/src/main.js]',
    "  env: { NODE_ENV: production, HOST: 0.0.0.0, PORT: '8080' }",
    '  ports: [8080]',
    "  user: '1000:1000'",
    `image: { repository: ${registries.plain}/dc${Date.now().toString(36)}/digits }`,
    'runner:',
    '  kind: container',
    `  image: ${TOOLCHAIN}`,
    `  network: ${network}`,
    '  memoryMiB: 3072',
    '  pids: 2048 # chromium and vitest: threads count against it',
    'prepare:',
    '  command: npm ci --no-audit --no-fund && npm run build',
    '  timeoutSeconds: 600',
    "  env: { ONNXRUNTIME_NODE_INSTALL: skip, npm_config_prefer_offline: 'true', npm_config_loglevel: http }",
    'test:',
    // Units, the browser (chromium in the container) and the contract with MODEL_PATH = the
    // candidate; digits' whole suite runs on the host in scripts/test.sh, this keeps the
    // test's time in bounds.
    '  command: npm test -- test/units.test.ts test/browser.test.ts test/model-contract.test.ts',
    '  timeoutSeconds: 600',
    'gate:',
    '  thresholds: { accuracy: { min: 0.5 } } # the small model trained below',
    '',
  ].join('\n');
}

/** A clean checkout: examples/digits' tracked files only, committed (no node_modules, no dist). */
async function checkout(name: string, network: 'bridge' | 'none'): Promise<string> {
  const dir = join(work, name);
  const { stdout } = await exec('git', ['ls-files', '-z'], { cwd: DIGITS });
  for (const file of stdout.split('\0').filter((f) => f && f !== 'shipml.yaml')) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await cp(join(DIGITS, file), join(dir, file));
  }
  await writeFile(join(dir, 'shipml.yaml'), config(network));
  const git = (...args: string[]) => exec('git', ['-C', dir, ...args]);
  await git('init', '-q');
  await git('-c', 'user.email=ci@example.com', '-c', 'user.name=CI', 'add', '-A');
  await git('-c', 'user.email=ci@example.com', '-c', 'user.name=CI', 'commit', '-q', '-m', 'app');
  return dir;
}

/** Command containers the engine creates from the toolchain image while `body` runs. */
async function containersDuring<T>(body: () => Promise<T>): Promise<{ result: T; ids: string[] }> {
  const events = spawn('docker', [
    'events',
    '--format',
    '{{.Actor.ID}} {{index .Actor.Attributes "image"}}',
    ...['--filter', 'type=container', '--filter', 'event=create'],
    ...['--filter', `label=${COMMAND_LABEL}=command`],
  ]);
  let out = '';
  events.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    return {
      result: await body(),
      ids: out
        .split('\n')
        .filter((l) => l.endsWith(` ${TOOLCHAIN}`))
        .map((l) => l.split(' ')[0]!),
    };
  } finally {
    events.kill();
  }
}

async function shipmlRun(dir: string, until: string) {
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    SHIPML_CACHE_DIR: cacheDir,
  };
  const out = await runCli(['run', '--runner', 'container', '--until', until, '--json'], {
    cwd: dir,
    env,
  });
  expect(out.code, `${out.stderr.slice(-3000)}\n${out.stdout.slice(-2000)}`).toBe(0);
  return JSON.parse(out.stdout) as RunReport;
}

const stage = (r: RunReport, name: string) => r.stages.find((s) => s.name === name);
const log = (dir: string, r: RunReport, name: string) =>
  readFile(join(dir, '.shipml', 'runs', r.id, `${name}.log`), 'utf8');

beforeAll(async () => {
  await exec('docker', ['image', 'inspect', TOOLCHAIN]).catch(() => {
    throw new Error(
      `${TOOLCHAIN} is not in the Docker Engine: scripts/base-images.sh load toolchain`,
    );
  });
  work = await mkdtemp(join(tmpdir(), 'shipml-digits-container-'));
  store = `file://${join(work, 'store')}`;
  cacheDir = join(work, 'cache');
  // The candidate: a small model (seconds to train), published with its metrics.
  const model = join(work, 'model');
  await exec(
    'npx',
    ['tsx', 'train/main.ts', '--out', model, '--epochs', '1', '--train-limit', '300'],
    { cwd: DIGITS, timeout: 2 * MINUTE },
  );
  const published = await runCli(
    [
      ...['model', 'publish', model, '-n', 'digits', '-v', '1'],
      ...['--metrics', join(model, 'metrics.json'), '--store', store],
    ],
    { env: { HOME: work, PATH: process.env.PATH }, cwd: work },
  );
  expect(published.code, published.stderr).toBe(0);
}, 3 * MINUTE);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the digits pipeline on the container runner', () => {
  it(
    'prepares, tests (browser included), gates and builds a clean checkout in containers',
    async () => {
      const app = await checkout('first', 'bridge');
      const { result: report, ids } = await containersDuring(() => shipmlRun(app, 'build'));
      for (const name of ['fetch-model', 'prepare', 'test', 'gate', 'build'])
        expect(stage(report, name)?.status, name).toBe('succeeded');
      // prepare and test each ran in a command container of the toolchain image.
      expect(ids.length).toBeGreaterThanOrEqual(2);
      const tests = await log(app, report, 'test');
      expect(tests).toMatch(/✓ test\/browser\.test\.ts \(3 tests\)/);
      expect(tests).toMatch(/Test Files +3 passed/);
      // What prepare made in the container is in the checkout, and the image was built from it.
      expect(stage(report, 'build')?.detail).toMatch(/^sha256:[0-9a-f]{64}: /);
      expect(report.layers?.length).toBeGreaterThan(0);
      // npm fetched from the registry on this first run (an empty cache).
      expect(await log(app, report, 'prepare')).toMatch(
        /http fetch GET 200 \S+ \d+ms \(cache (updated|miss)\)/,
      );
    },
    10 * MINUTE,
  );

  it(
    "installs a second clean checkout from the app's npm cache, without a network",
    async () => {
      const app = await checkout('second', 'none');
      const report = await shipmlRun(app, 'prepare');
      expect(stage(report, 'prepare')?.status).toBe('succeeded');
      const fetches = (await log(app, report, 'prepare'))
        .split('\n')
        .filter((l) => l.includes('http fetch GET'));
      expect(fetches.length).toBeGreaterThan(100);
      for (const line of fetches) expect(line).toMatch(/\(cache (hit|stale)\)$/);
      // The cache is ShipML's own directory, handed to the command's user (not the user's ~/.npm).
      const owner = await stat(join(cacheDir, 'runner-npm', '_cacache'));
      if (process.getuid?.() === 0) expect(`${owner.uid}:${owner.gid}`).toBe('65532:65532');
    },
    5 * MINUTE,
  );
});
