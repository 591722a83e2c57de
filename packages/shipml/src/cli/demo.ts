import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import Docker from 'dockerode';
import { parseConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import { ensureRegistry, stopRegistry } from '../demo/registry.js';
import { DockerTarget } from '../deploy/docker/target.js';
import { startLoad } from '../deploy/load.js';
import { dockerSocket } from '../oci/docker/engine.js';
import { parseLocation, readImage, writeImage } from '../oci/locations.js';
import { openModelStore } from '../model-store/registry.js';
import { ModelRepository } from '../model-store/repository.js';
import { BlobCache } from '../model-store/cache.js';
import { runPipeline, RunFailedError } from '../pipeline/run.js';
import { RunStore } from '../pipeline/runs.js';
import { STAGES, type RunReport } from '../pipeline/types.js';
import type { CliContext, CommandRunner } from './context.js';
import { stageDisplay } from './stages.js';

const run = promisify(execFile);
/** examples/digits, from src/cli or dist/cli alike. */
const DIGITS = fileURLToPath(new URL('../../../../examples/digits', import.meta.url));

interface DemoFlags {
  dir?: string;
  port?: string;
  baseImages?: string;
  stop?: boolean;
  debug?: boolean;
}

/**
 * `shipml demo`: the README's main job, all on this machine. A data scientist trains and
 * publishes the digits model; `shipml run` tests, gates, builds, pushes and rolls it out
 * behind a load balancer on 127.0.0.1; a new model rolls out under load with no failed
 * request; a worse model is stopped by the quality gate while the good one keeps serving.
 */
export function demoCommand(runner: CommandRunner): Command {
  return new Command('demo')
    .description(
      'the whole system on this machine: train + publish a model, run the pipeline, roll out v2 under load, watch the gate stop a worse v3',
    )
    .option(
      '--dir <dir>',
      'where the demo keeps its model store, registry and runs (default: ~/.local/share/shipml/demo)',
    )
    .option('--port <port>', 'the app’s port on 127.0.0.1 (default 8080, or the next free one)')
    .option(
      '--base-images <dir>',
      'OCI layouts of the base images (default: what scripts/base-images.sh builds)',
    )
    .option('--stop', 'remove the demo app and stop the demo registry')
    .option('--debug', 'print stack traces of errors')
    .action(async (flags: DemoFlags) => {
      await runner((ctx) => demo(ctx, flags), { json: false, debug: Boolean(flags.debug) });
    });
}

function demoDir(ctx: CliContext, flags: DemoFlags): string {
  const data = ctx.env.XDG_DATA_HOME ?? join(ctx.env.HOME ?? homedir(), '.local', 'share');
  return flags.dir ?? join(data, 'shipml', 'demo');
}

async function demo(ctx: CliContext, flags: DemoFlags): Promise<void> {
  const out = ctx.output;
  const dir = demoDir(ctx, flags);
  const state = await loadState(dir);
  // One demo per directory: a demo elsewhere (another --dir) is another app on the engine.
  const app =
    dir === demoDir(ctx, {})
      ? 'digits'
      : `digits-${createHash('sha256').update(dir).digest('hex').slice(0, 6)}`;
  if (flags.stop) {
    await new DockerTarget({ port: state.port ?? 8080, env: ctx.env }).destroy(app);
    const stopped = await stopRegistry(dir);
    out.line(
      `removed the demo app${stopped ? ' and stopped the demo registry' : ''} (${dir} is kept)`,
    );
    return;
  }

  out.line(`ShipML demo: everything on this machine, on 127.0.0.1 (state in ${dir})`);
  const baseImages =
    flags.baseImages ??
    join(
      ctx.env.SHIPML_CI_CACHE ?? join(ctx.env.HOME ?? homedir(), '.cache', 'shipml-ci'),
      'base-images',
    );
  await preflight(ctx, baseImages);
  await mkdir(dir, { recursive: true });

  const registry = await ensureRegistry(dir, 5055);
  for (const [layout, ref] of [
    ['node24:24', 'shipml/node:24'],
    ['haproxy26:2.6', 'shipml/haproxy:2.6'],
  ] as const) {
    const image = await readImage(parseLocation(`oci:${join(baseImages, layout)}`), {
      env: ctx.env,
    });
    await writeImage(image, parseLocation(`${registry.address}/${ref}`), [], {
      env: ctx.env,
      signal: ctx.signal,
    });
  }
  out.line(`0. A private registry (docker-registry) on ${registry.address}, with the base images`);

  const port = flags.port ? Number(flags.port) : (state.port ?? 8080);
  await saveState(dir, { port });
  const configFile = join(dir, 'shipml.yaml');
  await writeFile(configFile, demoConfig(dir, app, registry.address, port));
  const loaded = parseConfig(await readFile(configFile, 'utf8'), configFile, ctx.env);
  const store = await openModelStore(
    { url: `file://${join(dir, 'models')}` },
    ctx.env,
    'the demo store',
  );
  const repo = new ModelRepository({ store, cache: new BlobCache(join(dir, 'cache')) });
  const target = new DockerTarget({
    port,
    proxyImage: `${registry.address}/shipml/haproxy:2.6`,
    env: ctx.env,
  });
  const pipeline = async (why: string, trigger: 'commit' | 'model'): Promise<RunReport> => {
    const display = await stageDisplay(ctx, STAGES, false);
    try {
      return await runPipeline({
        config: loaded.config,
        configFile,
        env: ctx.env,
        signal: ctx.signal,
        registry: { env: ctx.env, signal: ctx.signal },
        cacheDir: join(dir, 'cache'),
        runs: new RunStore(join(dir, '.shipml', 'runs'), (text) => ctx.redactor.redact(text)),
        openTarget: () => Promise.resolve(target),
        repo,
        trigger,
        reason: why,
        onEvent: (e) => display.onEvent(e),
      });
    } finally {
      await display.close();
    }
  };

  const first = (await repo.list('digits', ctx.signal)).length + 1;
  const v1 = await trainAndPublish(ctx, repo, dir, String(first), ['--seed', String(first)]);
  out.line(`1. A data scientist trains digits v${first} and publishes it: held-out accuracy ${v1}`);
  out.line(`2. An app developer's commit runs the pipeline (shipml run):`);
  const r1 = await pipeline(`demo: commit + digits@${first}`, 'commit');
  const url = r1.url ?? `http://127.0.0.1:${port}/`;
  out.line(`   digits serves at ${url}`);
  out.line(`   live: ${describeLive(r1)}`);

  const second = first + 1;
  const v2 = await trainAndPublish(ctx, repo, dir, String(second), ['--seed', String(second)]);
  out.line(
    `3. digits v${second} is published (accuracy ${v2}): the pipeline rebuilds only the model layer and rolls it out under load`,
  );
  const load = startLoad({
    url,
    requests: [
      { method: 'GET', path: '/version' },
      {
        method: 'POST',
        path: '/predict',
        body: JSON.stringify({ input: new Array<number>(784).fill(0) }),
        headers: { 'content-type': 'application/json' },
      },
    ],
    ratePerSecond: 20,
    maxSeconds: 120,
    maxRequests: 2400,
    observe: (body, req) =>
      req.path === '/version'
        ? `v${(JSON.parse(body) as { model: { version: string } }).model.version}`
        : undefined,
  });
  let r2: RunReport;
  try {
    r2 = await pipeline(`new model digits@${second}`, 'model');
  } finally {
    await new Promise((r) => setTimeout(r, 1000));
  }
  const report = await load.stop();
  out.line(`   layers: ${layerChanges(r1, r2)}`);
  const push = r2.stages.find((s) => s.name === 'push');
  if (push) out.line(`   push: ${push.detail.replace(/^.*\(/, '(')}`);
  out.line(
    `   load: ${report.sent} requests at 20/s, ${report.failed} failed; answers switched ${report.seen.map((s) => `${s.value} (from ${(s.first / 1000).toFixed(1)} s)`).join(' → ')}`,
  );
  out.line(`   live: ${describeLive(r2)}`);

  const third = second + 1;
  const v3 = await trainAndPublish(ctx, repo, dir, String(third), [
    '--seed',
    String(third),
    '--epochs',
    '1',
  ]);
  out.line(
    `4. A rushed digits v${third} (one epoch, accuracy ${v3}) is published: the quality gate stops it`,
  );
  try {
    await pipeline(`new model digits@${third}`, 'model');
    out.line('   (the gate let it through: its accuracy met the threshold)');
  } catch (err) {
    if (!(err instanceof RunFailedError)) throw err;
    out.line(`   stopped at ${err.report.failure?.stage}: ${err.report.failure?.message}`);
    out.line(`   live: ${describeLive(err.report)} (unchanged)`);
  }
  const version = (await (await fetch(new URL('/version', url))).json()) as {
    model: { version: string };
  };
  out.line('');
  out.line(`digits serves at ${url} (model v${version.model.version}); draw a digit there.`);
  out.line(
    `Try: curl ${url}version    shipml status -c ${configFile} --history    shipml demo --stop`,
  );
}

/** Which layers of the second image differ from the first's (by digest). */
function layerChanges(before: RunReport, after: RunReport): string {
  const old = new Map((before.layers ?? []).map((l) => [l.kind, l.digest]));
  const kept = (after.layers ?? []).filter((l) => old.get(l.kind) === l.digest).map((l) => l.kind);
  const moved = (after.layers ?? []).filter((l) => old.get(l.kind) !== l.digest);
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  return [
    kept.length ? `${kept.join(' and ')} unchanged (same digests)` : undefined,
    ...moved.map((l) => `${l.kind} new (${mib(l.size)})`),
  ]
    .filter(Boolean)
    .join('; ');
}

function describeLive(r: RunReport): string {
  const live = r.live;
  if (!live) return 'nothing';
  const p = live.provenance;
  return [
    `revision ${live.number}`,
    p.commit ? `commit ${p.commit.slice(0, 12)}` : undefined,
    p.model
      ? `model ${p.model.name}@${p.model.version} (${p.model.digest.slice(0, 19)}…)`
      : undefined,
    `image …@${live.image.slice(live.image.indexOf('@') + 1, live.image.indexOf('@') + 20)}…`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** Trains examples/digits into the demo dir and publishes it with its metrics; returns the accuracy. */
async function trainAndPublish(
  ctx: CliContext,
  repo: ModelRepository,
  dir: string,
  version: string,
  args: string[],
): Promise<string> {
  const outDir = join(dir, 'trained', version);
  await run(process.execPath, ['--import', 'tsx', 'train/main.ts', '--out', outDir, ...args], {
    cwd: DIGITS,
    signal: ctx.signal,
    maxBuffer: 16 << 20,
  });
  const metrics = JSON.parse(await readFile(join(outDir, 'metrics.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await repo.publish({
    source: outDir,
    name: 'digits',
    version,
    channels: ['latest'],
    metrics,
    signal: ctx.signal,
  });
  return String(metrics.accuracy);
}

function demoConfig(dir: string, app: string, registry: string, port: number): string {
  return `# Written by shipml demo: examples/digits, shipped from this machine to this machine.
model:
  name: digits
  store: file://${join(dir, 'models')}
build:
  context: ${DIGITS}
  base: ${registry}/shipml/node:24
  include: [package.json, package-lock.json, dist, public]
  cmd: [node, dist/src/main.js]
  env: { HOST: 0.0.0.0, PORT: '8080' }
  user: '1000:1000'
image:
  repository: ${registry}/demo/digits
test:
  command: npm run -s test:model
gate:
  thresholds: { accuracy: { min: 0.92 } }
  champion: { metric: accuracy, margin: 0.02 }
verify:
  request: { method: POST, path: /predict, body: '{"input": [${new Array(784).fill(0).join(',')}]}' }
deploy:
  app: ${app}
  replicas: 2
  drainSeconds: 2
  env: { LOG_LEVEL: warn }
  docker:
    port: ${port}
    proxyImage: ${registry}/shipml/haproxy:2.6
`;
}

/** Everything the demo needs, each missing piece named with how to get it. */
async function preflight(ctx: CliContext, baseImages: string): Promise<void> {
  const socket = dockerSocket(ctx.env);
  try {
    await new Docker({ socketPath: socket }).ping();
  } catch (err) {
    throw new ConfigError(
      `the demo needs a Docker Engine, and none answers at ${socket} (${(err as Error).message})`,
      {
        hint: 'Debian/Ubuntu: bash scripts/demo.sh installs and starts one (apt-get install docker.io), then runs the demo',
      },
    );
  }
  for (const layout of ['node24', 'haproxy26'])
    if (!(await stat(join(baseImages, layout, 'index.json')).catch(() => undefined)))
      throw new ConfigError(`the demo needs the base image ${layout} in ${baseImages}`, {
        hint: 'bash scripts/base-images.sh build (debootstrap; Debian/Ubuntu), or bash scripts/demo.sh',
      });
  if (!(await stat(join(DIGITS, 'dist', 'src', 'main.js')).catch(() => undefined)))
    throw new ConfigError(`the demo needs examples/digits installed and built (${DIGITS})`, {
      hint: '(cd examples/digits && npm ci && npm run build), or bash scripts/demo.sh',
    });
  await run('docker-registry', ['--version']).catch(() => {
    throw new ConfigError(
      'the demo needs docker-registry (CNCF distribution) for its private registry',
      {
        hint: 'apt-get install docker-registry, or bash scripts/demo.sh',
      },
    );
  });
}

interface DemoState {
  port?: number;
}

async function loadState(dir: string): Promise<DemoState> {
  return readFile(join(dir, 'demo.json'), 'utf8')
    .then((t) => JSON.parse(t) as DemoState)
    .catch(() => ({}));
}

async function saveState(dir: string, state: DemoState): Promise<void> {
  await writeFile(join(dir, 'demo.json'), JSON.stringify(state) + '\n');
}
