/**
 * `shipml demo`: the README's main job, all on this machine. A data scientist trains and
 * publishes the digits model; `shipml run` tests, gates, builds, pushes and rolls it out
 * behind a load balancer on 127.0.0.1; a new model rolls out under load with no failed
 * request; a worse model is stopped by the quality gate while the good one keeps serving.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExternalServiceError } from '../core/errors.js';
import { DockerTarget } from '../deploy/docker/target.js';
import { startLoad } from '../deploy/load.js';
import { BlobCache } from '../model-store/cache.js';
import { openModelStore } from '../model-store/registry.js';
import { ModelRepository } from '../model-store/repository.js';
import { parseLocation, readImage, writeImage } from '../oci/locations.js';
import type { RunReport } from '../pipeline/types.js';
import { Workspaces } from '../server/workspace.js';
import { demoConfig, freePortNear, loadState, saveState } from './config.js';
import { apiClient, followRun, runFor, type ApiRun } from './follow.js';
import { commitAndPush, deliverPush, demoRepository } from './git.js';
import { awaitBaseImages, preflight } from './preflight.js';
import { ensureRegistry, stopRegistry } from './registry.js';
import { describeLive, layerChanges } from './report.js';
import { serverConfig, startServer, stopServer } from './server.js';
import { DIGITS, publish, train, trainAndPublish } from './train.js';

/** What the demo talks through: the caller (the CLI) decides how it looks. */
export interface DemoIo {
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** One line of the story, on stdout. */
  line(text: string): void;
  /** Removes secrets from text that gets stored (run reports). */
  redact(text: string): string;
}

export interface DemoOptions {
  /** State directory (default ~/.local/share/shipml/demo). */
  dir?: string | undefined;
  /** The app's port on 127.0.0.1 (default 8080, or the one the last demo used). */
  port?: number | undefined;
  /** OCI layouts of the base images (default what scripts/base-images.sh builds). */
  baseImages?: string | undefined;
  /** The server's API port on 127.0.0.1 (default 8750, or the next free one). */
  apiPort?: number | undefined;
  /**
   * The PID of a process building the base images (scripts/demo.sh starts
   * scripts/base-images.sh alongside): the demo trains its first model meanwhile and waits
   * for the images only when it pushes them.
   */
  baseImagesBuilder?: number | undefined;
  /** Remove the demo app and stop the demo server and registry instead. */
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
    const stoppedServer = await stopServer(dir);
    const stopped = await stopRegistry(dir);
    io.line(
      `removed the demo app${stoppedServer ? ', stopped the demo server' : ''}${stopped ? ' and stopped the demo registry' : ''} (${dir} is kept)`,
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
  await preflight(io.env, baseImages, options.baseImagesBuilder);
  await mkdir(dir, { recursive: true });

  const port = options.port ? options.port : (state.port ?? 8080);
  const apiPort = options.apiPort ?? state.apiPort ?? (await freePortNear(8750));
  await saveState(dir, { port, apiPort });
  const store = await openModelStore(
    { url: `file://${join(dir, 'models')}` },
    io.env,
    'the demo store',
  );
  const repo = new ModelRepository({ store, cache: new BlobCache(join(dir, 'cache')) });

  const first = (await repo.list('digits', io.signal)).length + 1;
  // The first model trains while the registry starts and takes the base images (which
  // scripts/demo.sh may still be building).
  const [registry, v1] = await Promise.all([
    registryWithBaseImages(io, dir, baseImages, options.baseImagesBuilder),
    trainAndPublish(io.signal, repo, dir, String(first), ['--seed', String(first)]),
  ]);
  io.line(`0. A private registry (docker-registry) on ${registry.address}, with the base images`);
  io.line(`1. A data scientist trains digits v${first} and publishes it: held-out accuracy ${v1}`);

  // The next two models train while the first run builds (a training is one process, and a
  // run waits on npm, git and the engine much of its time); each is published when due.
  const second = first + 1;
  const third = second + 1;
  const later = new AbortController();
  const signal = AbortSignal.any([io.signal, later.signal]);
  const trained2 = train(signal, dir, String(second), ['--seed', String(second)]);
  const trained3 = trained2.then(() =>
    train(signal, dir, String(third), ['--seed', String(third), '--epochs', '1']),
  );
  trained3.catch(() => undefined); // reported where it is awaited
  try {
    await showRuns(io, {
      dir,
      app,
      apiPort,
      port,
      registry: registry.address,
      repo,
      trained2,
      trained3,
      second,
      third,
    });
  } finally {
    later.abort(); // a demo that stopped early leaves no training behind
  }
}

/** The demo's registry, with the base images pushed into it (once they exist). */
async function registryWithBaseImages(
  io: DemoIo,
  dir: string,
  baseImages: string,
  builder: number | undefined,
): Promise<{ address: string }> {
  const registry = await ensureRegistry(dir, 5055);
  await awaitBaseImages(baseImages, builder, io.signal);
  const push = async (layout: string, ref: string) => {
    const image = await readImage(parseLocation(`oci:${join(baseImages, layout)}`), {
      env: io.env,
    });
    await writeImage(image, parseLocation(`${registry.address}/${ref}`), [], {
      env: io.env,
      signal: io.signal,
    });
  };
  await Promise.all([
    push('node24:24', 'shipml/node:24'),
    push('haproxy26:2.6', 'shipml/haproxy:2.6'),
  ]);
  return registry;
}

async function showRuns(
  io: DemoIo,
  {
    dir,
    app,
    apiPort,
    port,
    registry,
    repo,
    trained2,
    trained3,
    second,
    third,
  }: {
    dir: string;
    app: string;
    apiPort: number;
    port: number;
    registry: string;
    repo: ModelRepository;
    trained2: Promise<string>;
    trained3: Promise<string>;
    second: number;
    third: number;
  },
): Promise<void> {
  const git = await demoRepository(dir);
  // The server's checkouts start with digits' installed node_modules (same lock, same key):
  // its prepare skips the install, as on every later run of an unchanged package-lock.json.
  await new Workspaces(join(dir, 'server'), io.env).depsCacheOf(git.bare).seed(DIGITS);
  const server = await startServer(
    dir,
    serverConfig({
      dir,
      app,
      repository: git.bare,
      port: apiPort,
      // npm's own cache: the clean checkout's `npm ci` installs from it, not the network.
      env: { npm_config_cache: io.env.npm_config_cache ?? join(io.env.HOME ?? homedir(), '.npm') },
    }),
    apiPort,
    io.env,
  );
  const api = apiClient(server.url, server.token, io.signal);
  io.line(
    `2. shipml server runs on ${server.url}: it builds ${app} on every push and every new model`,
  );
  const commit = await commitAndPush(
    git,
    demoConfig(dir, app, registry, port),
    `digits, shipped by the demo (${new Date().toISOString()})`,
  );
  io.line(
    `3. An app developer pushes ${commit.slice(0, 12)}; the push webhook starts a run on the server:`,
  );
  const stage = (line: string) =>
    io.line(`     ${line.length > 150 ? `${line.slice(0, 150)}…` : line}`);
  const r1 = finished(
    await followRun(api, await deliverPush(server, app, commit), stage, io.signal),
  );
  const url = r1.url ?? `http://127.0.0.1:${port}/`;
  io.line(`   digits serves at ${url}`);
  io.line(`   live: ${describeLive(r1)}`);

  const v2 = await publish(io.signal, repo, await trained2, String(second));
  io.line(
    `4. digits v${second} is published (accuracy ${v2}): the server's model watch rolls the live commit out with it, under load`,
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
    maxSeconds: 600,
    maxRequests: 12_000,
    observe: (body, req) =>
      req.path === '/version'
        ? `v${(JSON.parse(body) as { model: { version: string } }).model.version}`
        : undefined,
  });
  let r2: RunReport;
  let report: Awaited<ReturnType<typeof load.stop>>;
  try {
    const id = await runFor(api, app, `digits@${second}`, io.signal);
    r2 = finished(await followRun(api, id, stage, io.signal));
  } finally {
    await new Promise((r) => setTimeout(r, 1000));
    report = await load.stop();
  }
  io.line(`   layers: ${layerChanges(r1, r2)}`);
  const push = r2.stages.find((s) => s.name === 'push');
  if (push) io.line(`   push: ${push.detail.replace(/^.*\(/, '(')}`);
  io.line(
    `   load: ${report.sent} requests at 20/s, ${report.failed} failed; answers switched ${report.seen.map((s) => `${s.value} (from ${(s.first / 1000).toFixed(1)} s)`).join(' → ')}`,
  );
  io.line(`   live: ${describeLive(r2)}`);

  const v3 = await publish(io.signal, repo, await trained3, String(third));
  io.line(
    `5. A rushed digits v${third} (one epoch, accuracy ${v3}) is published: the quality gate stops it`,
  );
  const r3 = await followRun(
    api,
    await runFor(api, app, `digits@${third}`, io.signal),
    stage,
    io.signal,
  );
  if (r3.status === 'succeeded')
    io.line('   (the gate let it through: its accuracy met the threshold)');
  else {
    const failure = r3.report?.failure;
    io.line(`   stopped at ${failure?.stage}: ${failure?.message ?? r3.error}`);
    if (r3.report) io.line(`   live: ${describeLive(r3.report)} (unchanged)`);
  }
  const version = (await (await fetch(new URL('/version', url))).json()) as {
    model: { version: string };
  };
  io.line('');
  io.line(`digits serves at ${url} (model v${version.model.version}); draw a digit there.`);
  io.line(`The server keeps running on ${server.url} (its log: ${server.log}).`);
  io.line(`Dashboard: ${server.url}/ui/ (sign in with the token in ${server.tokenFile}). Try:`);
  io.line(`  SHIPML_SERVER=${server.url} SHIPML_TOKEN=$(cat ${server.tokenFile}) shipml runs list`);
  io.line(`  curl ${url}version    shipml demo --stop`);
}

/** A run that did not succeed ends the demo with its reason. */
function finished(run: ApiRun): RunReport {
  if (run.status !== 'succeeded' || !run.report)
    throw new ExternalServiceError(
      `run ${run.id} ${run.status}: ${run.report?.failure ? `${run.report.failure.stage}: ${run.report.failure.message}` : run.error}`,
      { retryable: false },
    );
  return run.report;
}
