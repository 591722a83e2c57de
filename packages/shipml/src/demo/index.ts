/**
 * `shipml demo`: the README's main job, all on this machine. A data scientist trains and
 * publishes the digits model; `shipml run` tests, gates, builds, pushes and rolls it out
 * behind a load balancer on 127.0.0.1; a new model rolls out under load with no failed
 * request; a worse model is stopped by the quality gate while the good one keeps serving.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { DockerTarget } from '../deploy/docker/target.js';
import { startLoad } from '../deploy/load.js';
import { BlobCache } from '../model-store/cache.js';
import { openModelStore } from '../model-store/registry.js';
import { ModelRepository } from '../model-store/repository.js';
import { parseLocation, readImage, writeImage } from '../oci/locations.js';
import { runPipeline, RunFailedError } from '../pipeline/run.js';
import { RunStore } from '../pipeline/runs.js';
import type { RunEvent, RunReport } from '../pipeline/types.js';
import { demoConfig, loadState, saveState } from './config.js';
import { preflight } from './preflight.js';
import { ensureRegistry, stopRegistry } from './registry.js';
import { describeLive, layerChanges } from './report.js';
import { trainAndPublish } from './train.js';

/** What the demo talks through: the caller (the CLI) decides how it looks. */
export interface DemoIo {
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** One line of the story, on stdout. */
  line(text: string): void;
  /** Removes secrets from text that gets stored (run reports). */
  redact(text: string): string;
  /** A display of one pipeline run's stages. */
  stages(): Promise<{ onEvent(event: RunEvent): void; close(): Promise<void> }>;
}

export interface DemoOptions {
  /** State directory (default ~/.local/share/shipml/demo). */
  dir?: string | undefined;
  /** The app's port on 127.0.0.1 (default 8080, or the one the last demo used). */
  port?: number | undefined;
  /** OCI layouts of the base images (default what scripts/base-images.sh builds). */
  baseImages?: string | undefined;
  /** Remove the demo app and stop the demo registry instead. */
  stop?: boolean | undefined;
}

function demoDir(env: NodeJS.ProcessEnv, dir: string | undefined): string {
  const data = env.XDG_DATA_HOME ?? join(env.HOME ?? homedir(), '.local', 'share');
  return dir ?? join(data, 'shipml', 'demo');
}

export async function runDemo(io: DemoIo, options: DemoOptions): Promise<void> {
  const dir = demoDir(io.env, options.dir);
  const state = await loadState(dir);
  // One demo per directory: a demo elsewhere (another --dir) is another app on the engine.
  const app =
    dir === demoDir(io.env, undefined)
      ? 'digits'
      : `digits-${createHash('sha256').update(dir).digest('hex').slice(0, 6)}`;
  if (options.stop) {
    await new DockerTarget({ port: state.port ?? 8080, env: io.env }).destroy(app);
    const stopped = await stopRegistry(dir);
    io.line(
      `removed the demo app${stopped ? ' and stopped the demo registry' : ''} (${dir} is kept)`,
    );
    return;
  }

  io.line(`ShipML demo: everything on this machine, on 127.0.0.1 (state in ${dir})`);
  const baseImages =
    options.baseImages ??
    join(
      io.env.SHIPML_CI_CACHE ?? join(io.env.HOME ?? homedir(), '.cache', 'shipml-ci'),
      'base-images',
    );
  await preflight(io.env, baseImages);
  await mkdir(dir, { recursive: true });

  const registry = await ensureRegistry(dir, 5055);
  for (const [layout, ref] of [
    ['node24:24', 'shipml/node:24'],
    ['haproxy26:2.6', 'shipml/haproxy:2.6'],
  ] as const) {
    const image = await readImage(parseLocation(`oci:${join(baseImages, layout)}`), {
      env: io.env,
    });
    await writeImage(image, parseLocation(`${registry.address}/${ref}`), [], {
      env: io.env,
      signal: io.signal,
    });
  }
  io.line(`0. A private registry (docker-registry) on ${registry.address}, with the base images`);

  const port = options.port ? options.port : (state.port ?? 8080);
  await saveState(dir, { port });
  const configFile = join(dir, 'shipml.yaml');
  await writeFile(configFile, demoConfig(dir, app, registry.address, port));
  const loaded = parseConfig(await readFile(configFile, 'utf8'), configFile, io.env);
  const store = await openModelStore(
    { url: `file://${join(dir, 'models')}` },
    io.env,
    'the demo store',
  );
  const repo = new ModelRepository({ store, cache: new BlobCache(join(dir, 'cache')) });
  const target = new DockerTarget({
    port,
    proxyImage: `${registry.address}/shipml/haproxy:2.6`,
    env: io.env,
  });
  const pipeline = async (why: string, trigger: 'commit' | 'model'): Promise<RunReport> => {
    const display = await io.stages();
    try {
      return await runPipeline({
        config: loaded.config,
        configFile,
        env: io.env,
        signal: io.signal,
        registry: { env: io.env, signal: io.signal },
        cacheDir: join(dir, 'cache'),
        runs: new RunStore(join(dir, '.shipml', 'runs'), (text) => io.redact(text)),
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

  const first = (await repo.list('digits', io.signal)).length + 1;
  const v1 = await trainAndPublish(io.signal, repo, dir, String(first), ['--seed', String(first)]);
  io.line(`1. A data scientist trains digits v${first} and publishes it: held-out accuracy ${v1}`);
  io.line(`2. An app developer's commit runs the pipeline (shipml run):`);
  const r1 = await pipeline(`demo: commit + digits@${first}`, 'commit');
  const url = r1.url ?? `http://127.0.0.1:${port}/`;
  io.line(`   digits serves at ${url}`);
  io.line(`   live: ${describeLive(r1)}`);

  const second = first + 1;
  const v2 = await trainAndPublish(io.signal, repo, dir, String(second), [
    '--seed',
    String(second),
  ]);
  io.line(
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
  io.line(`   layers: ${layerChanges(r1, r2)}`);
  const push = r2.stages.find((s) => s.name === 'push');
  if (push) io.line(`   push: ${push.detail.replace(/^.*\(/, '(')}`);
  io.line(
    `   load: ${report.sent} requests at 20/s, ${report.failed} failed; answers switched ${report.seen.map((s) => `${s.value} (from ${(s.first / 1000).toFixed(1)} s)`).join(' → ')}`,
  );
  io.line(`   live: ${describeLive(r2)}`);

  const third = second + 1;
  const v3 = await trainAndPublish(io.signal, repo, dir, String(third), [
    '--seed',
    String(third),
    '--epochs',
    '1',
  ]);
  io.line(
    `4. A rushed digits v${third} (one epoch, accuracy ${v3}) is published: the quality gate stops it`,
  );
  try {
    await pipeline(`new model digits@${third}`, 'model');
    io.line('   (the gate let it through: its accuracy met the threshold)');
  } catch (err) {
    if (!(err instanceof RunFailedError)) throw err;
    io.line(`   stopped at ${err.report.failure?.stage}: ${err.report.failure?.message}`);
    io.line(`   live: ${describeLive(err.report)} (unchanged)`);
  }
  const version = (await (await fetch(new URL('/version', url))).json()) as {
    model: { version: string };
  };
  io.line('');
  io.line(`digits serves at ${url} (model v${version.model.version}); draw a digit there.`);
  io.line(
    `Try: curl ${url}version    shipml status -c ${configFile} --history    shipml demo --stop`,
  );
}
