/**
 * The measurements of the rollout benchmark (run.sh builds the images, makes sure the services
 * and the Kubernetes control plane run, then runs this with tsx; report.py prints the table).
 *
 * Every scenario of one kind runs the same releases, the same spec and the same load:
 * constant-rate HTTP (GET /version and POST /predict in turn) on 127.0.0.1, bounded in time
 * and in requests, where any non-2xx answer or connection error counts as failed.
 *
 * Input (environment, set by run.sh):
 *   BENCH_WORK          work directory; rows.json is written there
 *   BENCH_V1, BENCH_V2, BENCH_NEVER_READY   image references (registry/repo@sha256:...)
 *   BENCH_PROXY_IMAGE   HAProxy image of the Docker target
 *   BENCH_PREFIX        prefix of every app and container name (a DNS label)
 *   BENCH_DOCKER        docker client
 *   BENCH_KUBERNETES    1 to run the Kubernetes scenarios; then KUBECONFIG, BENCH_KUBECTL,
 *                       BENCH_NAMESPACE (exists), BENCH_NEVER_READY_LABEL (key=value)
 *   BENCH_RATE, BENCH_DEADLINE, BENCH_DOCKER_REPLICAS, BENCH_KUBE_REPLICAS
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_SPEC,
  DockerTarget,
  KubernetesTarget,
  RolloutError,
  releaseOf,
  startLoad,
  type DeployEvent,
  type DeploySpec,
  type LoadReport,
  type LoadRequest,
  type Release,
} from '../../packages/shipml/dist/index.js';

// ---- settings ------------------------------------------------------------------------------

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run bench/rollout/run.sh)`);
  return value;
}
function int(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const WORK = env('BENCH_WORK');
const PREFIX = env('BENCH_PREFIX');
const DOCKER = env('BENCH_DOCKER');
const PROXY_IMAGE = env('BENCH_PROXY_IMAGE');
const RATE = int('BENCH_RATE', 50);
const DEADLINE = int('BENCH_DEADLINE', 15);
const DOCKER_REPLICAS = int('BENCH_DOCKER_REPLICAS', 2);
const KUBE_REPLICAS = int('BENCH_KUBE_REPLICAS', 3);
const KUBERNETES = process.env.BENCH_KUBERNETES === '1';
/** Load bounds per scenario: whichever comes first. */
const LOAD_MAX_SECONDS = 60;
const LOAD_MAX_REQUESTS = LOAD_MAX_SECONDS * RATE;
/** Load before and after the measured step: steady state on both sides of the switch. */
const PRE_MS = 2000;
const POST_MS = 2000;
/** No single deploy, rollback or readiness wait may take longer than this. */
const STEP_SECONDS = DEADLINE * 3 + 60;

/**
 * Ctrl-C / SIGTERM: cancel what runs, let every finally-block clean up, then exit. Repeats are
 * ignored (timeout and tsx each pass the same TERM on), but the clean-up is bounded.
 */
const stopped = new AbortController();
const CLEANUP_SECONDS = 90;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopped.signal.aborted) return;
    log(`${signal}: stopping; removing what this run created`);
    stopped.abort(new Error(`interrupted (${signal})`));
    setTimeout(() => process.exit(130), CLEANUP_SECONDS * 1000).unref();
  });
}
const stepSignal = () =>
  AbortSignal.any([stopped.signal, AbortSignal.timeout(STEP_SECONDS * 1000)]);

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---- what the report gets -------------------------------------------------------------------

type Seen = LoadReport['seen'];

interface Row {
  /** `<scenario>/<tool>`. */
  id: string;
  scenario: string;
  tool: string;
  /** ShipML's rows decide the exit status. */
  shipml: boolean;
  /** Load numbers; null where there is no data path (Kubernetes under kwok). */
  sent: number | null;
  failed: number | null;
  /** The rollout or rollback: from its start until the release it ends with serves. */
  seconds: number | null;
  note: string;
  /** ShipML rows: 0 failed requests and, for rollbacks, the rollback happened; else null. */
  pass: boolean | null;
  error?: string;
  details: Record<string, unknown>;
}

const rows: Row[] = [];
function record(row: Omit<Row, 'id'>): void {
  const full = { id: `${row.scenario}/${row.tool}`, ...row };
  rows.push(full);
  const load = full.sent === null ? '' : `, ${full.sent} sent, ${full.failed} failed`;
  const secs = full.seconds === null ? '' : `, ${full.seconds.toFixed(2)} s`;
  log(`  => ${full.tool}${load}${secs}${full.error ? `, ERROR ${full.error}` : ''}`);
}

/** A scenario that threw before it could report: a row that says so. */
async function guarded(
  scenario: string,
  tool: string,
  shipml: boolean,
  run: () => Promise<void>,
): Promise<void> {
  if (stopped.signal.aborted) return;
  try {
    await run();
  } catch (err) {
    record({
      scenario,
      tool,
      shipml,
      sent: null,
      failed: null,
      seconds: null,
      note: 'did not complete',
      pass: shipml ? false : null,
      error: (err as Error).message.split('\n')[0]!.slice(0, 300),
      details: {},
    });
  }
}

// ---- helpers --------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command bounded in time; never throws (the caller judges the exit code). */
function sh(argv: string[], timeoutSeconds = STEP_SECONDS): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutSeconds * 1000, killSignal: 'SIGTERM', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : 1) : 0,
          stdout,
          stderr: e && typeof e.code !== 'number' ? `${stderr}${e.message}` : stderr,
          seconds: (performance.now() - t0) / 1000,
        });
      },
    );
  });
}

async function mustSh(argv: string[], timeoutSeconds?: number): Promise<Ran> {
  const ran = await sh(argv, timeoutSeconds);
  if (ran.code !== 0)
    throw new Error(
      `${argv.slice(0, 3).join(' ')} … exited ${ran.code}: ${(ran.stderr || ran.stdout).trim().slice(-300)}`,
    );
  return ran;
}

/** Seconds until GET url/readyz answers 2xx; throws after `seconds`. */
async function waitReady(url: string, seconds: number): Promise<number> {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  for (;;) {
    if (stopped.signal.aborted) throw stopped.signal.reason;
    try {
      const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return (performance.now() - t0) / 1000;
    } catch {
      // not listening yet
    }
    if (performance.now() > until) throw new Error(`${url}readyz not ready within ${seconds} s`);
    await sleep(100);
  }
}

async function versionImage(url: string): Promise<string | undefined> {
  const res = await fetch(new URL('/version', url), { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { image?: string | null };
  return body.image ?? undefined;
}

// ---- the load -------------------------------------------------------------------------------

const PREDICT_BODY = JSON.stringify({ input: new Array<number>(784).fill(0) });
const REQUESTS: LoadRequest[] = [
  { method: 'GET', path: '/version' },
  {
    method: 'POST',
    path: '/predict',
    body: PREDICT_BODY,
    headers: { 'content-type': 'application/json' },
  },
];

let releases: { v1: Release; v2: Release; neverReady: Release };
const NEVER_READY = 'never-ready';

function label(image: string): string {
  if (image === releases.v1.image) return 'v1';
  if (image === releases.v2.image) return 'v2';
  if (image === releases.neverReady.image) return NEVER_READY;
  return image;
}

/**
 * Which release answered: /version's `image` (the digits app reports SHIPML_IMAGE). The
 * never-ready server answers 200 {"status":"ok"} to everything but /readyz, so an answer
 * without an image (or a /predict without predictions) is the never-ready release — counted
 * as "seen", not failed, since its status is 2xx.
 */
function observe(body: string, req: LoadRequest): string | undefined {
  try {
    if (req.path === '/version') {
      const image = (JSON.parse(body) as { image?: string | null }).image;
      return image ? label(image) : NEVER_READY;
    }
    return body.includes('"predictions"') ? undefined : NEVER_READY;
  } catch {
    return 'unreadable answer';
  }
}

interface UnderLoad<T> {
  report: LoadReport;
  /** Wall clock of the measured step. */
  seconds: number;
  result: T;
  /** Load started PRE_MS before the step; when (ms into the load) the step started. */
  stepStartMs: number;
}

/** Starts the load, waits PRE_MS, runs `step`, waits POST_MS, stops the load. */
async function underLoad<T>(url: string, step: () => Promise<T>): Promise<UnderLoad<T>> {
  const load = startLoad({
    url,
    requests: REQUESTS,
    ratePerSecond: RATE,
    maxSeconds: LOAD_MAX_SECONDS,
    maxRequests: LOAD_MAX_REQUESTS,
    observe,
  });
  const loadStart = performance.now();
  try {
    await sleep(PRE_MS, undefined, { signal: stopped.signal });
    const stepStartMs = Math.round(performance.now() - loadStart);
    const t0 = performance.now();
    const result = await step();
    const seconds = (performance.now() - t0) / 1000;
    await sleep(POST_MS, undefined, { signal: stopped.signal });
    return { report: await load.stop(), seconds, result, stepStartMs };
  } finally {
    await load.stop();
  }
}

function seenText(seen: Seen): string {
  return seen.map((s) => `${s.value}×${s.count}`).join(' → ') || 'nothing';
}

/**
 * From v1's last answer to v2's first (on /version, every other request): a gap when nothing
 * answered in between, an overlap when both releases served side by side.
 */
function switchText(seen: Seen): string {
  const v1 = seen.find((s) => s.value === 'v1');
  const v2 = seen.find((s) => s.value === 'v2');
  if (!v1 || !v2) return '';
  const ms = v2.first - v1.last;
  return ms > 0
    ? `; ${(ms / 1000).toFixed(2)} s from v1's last answer to v2's first`
    : `; v1 and v2 both answered for ${(-ms / 1000).toFixed(2)} s`;
}

function loadDetails(u: UnderLoad<unknown>): Record<string, unknown> {
  return {
    loadSeconds: u.report.seconds,
    stepStartMs: u.stepStartMs,
    ok: u.report.ok,
    latencyMs: u.report.latencyMs,
    seen: u.report.seen,
    failures: u.report.failures,
    loadCut: u.report.seconds >= LOAD_MAX_SECONDS - 0.5,
  };
}

/** An onEvent that logs with the time since start() (the measured step's start), and keeps the timeline. */
function timeline(): { onEvent: (e: DeployEvent) => void; events: string[]; start: () => void } {
  let t0 = performance.now();
  const events: string[] = [];
  return {
    events,
    start: () => {
      t0 = performance.now();
    },
    onEvent: (e) => {
      const line = `+${((performance.now() - t0) / 1000).toFixed(2)}s ${e.message}`;
      events.push(line);
      log(`    ${line}`);
    },
  };
}

// ---- Docker: ShipML -------------------------------------------------------------------------

const S_ROLLOUT = 'docker: rollout v1 → v2';
const S_ROLLBACK = 'docker: never-ready → rollback';
const K_ROLLOUT = 'kubernetes: rollout v1 → v2';
const K_ROLLBACK = 'kubernetes: never-ready → rollback';

async function dockerShipml(): Promise<void> {
  const port = await freePort();
  const target = new DockerTarget({ port, proxyImage: PROXY_IMAGE });
  const spec: DeploySpec = {
    ...DEFAULT_SPEC,
    app: `${PREFIX}-docker`,
    replicas: DOCKER_REPLICAS,
    progressDeadlineSeconds: DEADLINE,
    env: { LOG_LEVEL: 'warn' },
  };
  const tool = 'shipml deploy (docker target)';
  try {
    log(`docker/shipml: set-up, v1 on ${spec.replicas} replicas behind 127.0.0.1:${port}`);
    const first = await target.deploy(releases.v1, spec, { signal: stepSignal() });
    const url = first.url ?? `http://127.0.0.1:${port}/`;

    await guarded(S_ROLLOUT, tool, true, async () => {
      log(`${S_ROLLOUT}: shipml deploy under ${RATE} req/s`);
      const t = timeline();
      const u = await underLoad(url, () => {
        t.start();
        return target.deploy(releases.v2, spec, { signal: stepSignal(), onEvent: t.onEvent });
      });
      const order = u.report.seen.map((s) => s.value);
      const switched = order.join(',') === 'v1,v2';
      const after = label((await versionImage(url)) ?? '');
      record({
        scenario: S_ROLLOUT,
        tool,
        shipml: true,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.result.seconds,
        note: `${spec.replicas} replicas; answers ${seenText(u.report.seen)}${switched ? '' : ' (expected v1 then v2)'}${switchText(u.report.seen)}`,
        pass: u.report.failed === 0 && switched && after === 'v2',
        details: {
          ...loadDetails(u),
          wallSeconds: u.seconds,
          revision: u.result.revision.number,
          servingAfter: after,
          events: t.events,
        },
      });
    });

    await guarded(S_ROLLBACK, tool, true, async () => {
      log(`${S_ROLLBACK}: shipml deploy of the never-ready image under ${RATE} req/s`);
      const t = timeline();
      const u = await underLoad(url, async () => {
        t.start();
        try {
          await target.deploy(releases.neverReady, spec, {
            signal: stepSignal(),
            onEvent: t.onEvent,
          });
          return undefined;
        } catch (err) {
          if (err instanceof RolloutError) return err;
          throw err;
        }
      });
      const err = u.result;
      const after = label((await versionImage(url)) ?? '');
      const rolledBack = err?.rolledBack === true && after === 'v2';
      const leaked = u.report.seen.some((s) => s.value === NEVER_READY);
      record({
        scenario: S_ROLLBACK,
        tool,
        shipml: true,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.seconds,
        note: err
          ? `RolloutError ${err.failure}, rolledBack ${err.rolledBack}; ${after} served after; answers ${seenText(u.report.seen)}`
          : 'the never-ready release was NOT refused',
        // Rolled back, and the never-ready release never answered a user.
        pass: u.report.failed === 0 && rolledBack && err?.failure === 'never-ready' && !leaked,
        details: {
          ...loadDetails(u),
          failure: err?.failure,
          rolledBack: err?.rolledBack,
          message: err?.message,
          servingAfter: after,
          events: t.events,
        },
      });
    });
  } finally {
    log('docker/shipml: destroy');
    await target.destroy(spec.app);
  }
}

// ---- Docker: what a user scripts instead ----------------------------------------------------

/** One container published on 127.0.0.1:port, replaced in place. */
async function dockerPlain(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const name = `${PREFIX}-plain`;
  // SHIPML_IMAGE: so /version says which image answers (the Docker target sets it too).
  const run = (image: string) =>
    `${DOCKER} run -d --name ${name} -e SHIPML_IMAGE=${image} -e LOG_LEVEL=warn -p 127.0.0.1:${port}:8080 ${image}`;
  const bash = (script: string) => mustSh(['bash', '-c', script]);
  const fresh = async (image: string) => {
    await sh([DOCKER, 'rm', '-f', name]);
    await bash(`${run(image)} >/dev/null`);
    await waitReady(url, STEP_SECONDS);
  };

  const replace = async (tool: string, stop: string) => {
    await guarded(S_ROLLOUT, tool, false, async () => {
      log(`${S_ROLLOUT}: ${tool} under ${RATE} req/s`);
      await fresh(releases.v1.image);
      const script = `${stop} >/dev/null && ${run(releases.v2.image)} >/dev/null`;
      const u = await underLoad(url, async () => {
        const replaced = await bash(script);
        const ready = await waitReady(url, STEP_SECONDS);
        return { commandSeconds: replaced.seconds, readySeconds: ready };
      });
      record({
        scenario: S_ROLLOUT,
        tool,
        shipml: false,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.seconds,
        note: `1 container, until the new one answers /readyz; answers ${seenText(u.report.seen)}${switchText(u.report.seen)}`,
        pass: null,
        details: { ...loadDetails(u), script, ...u.result },
      });
    });
  };

  try {
    await replace('docker rm -f old && docker run new', `${DOCKER} rm -f ${name}`);
    await replace(
      'docker stop old && docker rm && docker run new',
      `${DOCKER} stop ${name} && ${DOCKER} rm ${name}`,
    );

    // No readiness gate and no rollback: the script waits for /readyz as long as ShipML's
    // deadline, then puts the old image back.
    const tool = `script: run new, wait ${DEADLINE} s for /readyz, run old again`;
    await guarded(S_ROLLBACK, tool, false, async () => {
      log(`${S_ROLLBACK}: ${tool} under ${RATE} req/s`);
      await fresh(releases.v2.image);
      const u = await underLoad(url, async () => {
        await bash(
          `${DOCKER} rm -f ${name} >/dev/null && ${run(releases.neverReady.image)} >/dev/null`,
        );
        const gaveUp = await waitReady(url, DEADLINE).then(
          () => false,
          () => true,
        );
        await bash(`${DOCKER} rm -f ${name} >/dev/null && ${run(releases.v2.image)} >/dev/null`);
        await waitReady(url, STEP_SECONDS);
        return { gaveUp };
      });
      const after = label((await versionImage(url)) ?? '');
      const wrong = u.report.seen.find((s) => s.value === NEVER_READY)?.count ?? 0;
      record({
        scenario: S_ROLLBACK,
        tool,
        shipml: false,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.seconds,
        note: `until v2 answers /readyz again (${after} served after); ${wrong} answered 2xx by the never-ready release`,
        pass: null,
        details: {
          ...loadDetails(u),
          gaveUpWaiting: u.result.gaveUp,
          servingAfter: after,
          neverReadyAnswers: wrong,
        },
      });
    });
  } finally {
    await sh([DOCKER, 'rm', '-f', name]);
  }
}

// ---- Kubernetes (API level: kwok runs no containers) -----------------------------------------

function kubeSpec(app: string): DeploySpec {
  return {
    ...DEFAULT_SPEC,
    app,
    replicas: KUBE_REPLICAS,
    progressDeadlineSeconds: DEADLINE,
  };
}

function neverReadyLabels(): Record<string, string> {
  const [key, value] = env('BENCH_NEVER_READY_LABEL').split('=');
  return { [key!]: value ?? 'true' };
}

function kubeTarget(): KubernetesTarget {
  return new KubernetesTarget({
    kubeconfig: env('KUBECONFIG'),
    namespace: env('BENCH_NAMESPACE'),
    // No data path under kwok, so no load balancer to wait for either.
    service: { type: 'ClusterIP', port: 80 },
  });
}

async function kubeShipml(): Promise<void> {
  const target = kubeTarget();
  const spec = kubeSpec(`${PREFIX}-k8s`);
  const tool = 'shipml deploy (kubernetes target)';
  try {
    log(`kubernetes/shipml: set-up, v1 on ${spec.replicas} replicas`);
    await target.deploy(releases.v1, spec, { signal: stepSignal() });

    await guarded(K_ROLLOUT, tool, true, async () => {
      log(`${K_ROLLOUT}: shipml deploy`);
      const t = timeline();
      const t0 = performance.now();
      const result = await target.deploy(releases.v2, spec, {
        signal: stepSignal(),
        onEvent: t.onEvent,
      });
      const wall = (performance.now() - t0) / 1000;
      const live = (await target.status(spec.app)).live;
      record({
        scenario: K_ROLLOUT,
        tool,
        shipml: true,
        sent: null,
        failed: null,
        seconds: result.seconds,
        note: `${spec.replicas} replicas, maxSurge 1, maxUnavailable 0; live revision ${live?.number} = ${label(live?.image ?? '')}`,
        pass: label(live?.image ?? '') === 'v2',
        details: { wallSeconds: wall, revision: result.revision.number, events: t.events },
      });
    });

    await guarded(K_ROLLBACK, tool, true, async () => {
      log(`${K_ROLLBACK}: shipml deploy of a never-ready release`);
      const t = timeline();
      const t0 = performance.now();
      const err = await target
        .deploy(
          releases.neverReady,
          { ...spec, labels: neverReadyLabels() },
          { signal: stepSignal(), onEvent: t.onEvent },
        )
        .then(
          () => undefined,
          (e: unknown) => {
            if (e instanceof RolloutError) return e;
            throw e;
          },
        );
      const seconds = (performance.now() - t0) / 1000;
      const live = (await target.status(spec.app)).live;
      const after = label(live?.image ?? '');
      record({
        scenario: K_ROLLBACK,
        tool,
        shipml: true,
        sent: null,
        failed: null,
        seconds,
        note: err
          ? `RolloutError ${err.failure}, rolledBack ${err.rolledBack}; live = ${after}`
          : 'the never-ready release was NOT refused',
        pass: err?.rolledBack === true && after === 'v2',
        details: {
          failure: err?.failure,
          rolledBack: err?.rolledBack,
          message: err?.message,
          servingAfter: after,
          events: t.events,
        },
      });
    });
  } finally {
    log('kubernetes/shipml: destroy');
    await target.destroy(spec.app);
  }
}

/** The same rendered objects, applied with kubectl the way a user (or a CI job) would. */
async function kubeKubectl(): Promise<void> {
  const target = kubeTarget();
  const spec = kubeSpec(`${PREFIX}-kubectl`);
  const namespace = env('BENCH_NAMESPACE');
  const kubectl = (args: string[], timeoutSeconds?: number) =>
    sh(
      [env('BENCH_KUBECTL'), '--kubeconfig', env('KUBECONFIG'), '-n', namespace, ...args],
      timeoutSeconds,
    );
  const dir = join(WORK, 'kubectl');
  await mkdir(dir, { recursive: true });
  const file = async (name: string, release: Release, s: DeploySpec) => {
    const path = join(dir, `${name}.json`);
    const list = { apiVersion: 'v1', kind: 'List', items: target.render(release, s) };
    await writeFile(path, JSON.stringify(list, null, 2));
    return path;
  };
  const v1 = await file('v1', releases.v1, spec);
  const v2 = await file('v2', releases.v2, spec);
  const broken = await file(NEVER_READY, releases.neverReady, {
    ...spec,
    labels: neverReadyLabels(),
  });
  const deployment = `deployment/${
    target.render(releases.v1, spec).find((o) => o.kind === 'Deployment')?.metadata?.name ?? ''
  }`;
  const must = async (args: string[], timeoutSeconds?: number) => {
    const ran = await kubectl(args, timeoutSeconds);
    if (ran.code !== 0)
      throw new Error(
        `kubectl ${args.slice(0, 2).join(' ')} exited ${ran.code}: ${ran.stderr.trim()}`,
      );
    return ran;
  };
  const liveImage = async () =>
    label(
      (
        await must(['get', deployment, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])
      ).stdout.trim(),
    );
  const statusTimeout = `--timeout=${STEP_SECONDS}s`;
  const tool = 'kubectl apply + rollout status';
  try {
    log(`kubernetes/kubectl: set-up, v1 on ${spec.replicas} replicas`);
    await must(['apply', '-f', v1]);
    await must(['rollout', 'status', deployment, statusTimeout], STEP_SECONDS + 10);

    await guarded(K_ROLLOUT, tool, false, async () => {
      log(`${K_ROLLOUT}: kubectl apply -f + kubectl rollout status`);
      const t0 = performance.now();
      const applied = await must(['apply', '-f', v2]);
      const status = await must(
        ['rollout', 'status', deployment, statusTimeout],
        STEP_SECONDS + 10,
      );
      const seconds = (performance.now() - t0) / 1000;
      record({
        scenario: K_ROLLOUT,
        tool,
        shipml: false,
        sent: null,
        failed: null,
        seconds,
        note: `same rendered objects; live = ${await liveImage()}`,
        pass: null,
        details: { applySeconds: applied.seconds, statusSeconds: status.seconds },
      });
    });

    const rbTool = 'kubectl apply, rollout status (fails), rollout undo, rollout status';
    await guarded(K_ROLLBACK, rbTool, false, async () => {
      log(`${K_ROLLBACK}: kubectl apply -f, rollout status until it fails, undo, status`);
      const t0 = performance.now();
      const applied = await must(['apply', '-f', broken]);
      const waited = await kubectl(
        ['rollout', 'status', deployment, statusTimeout],
        STEP_SECONDS + 10,
      );
      const detected = (performance.now() - t0) / 1000;
      if (waited.code === 0)
        throw new Error('kubectl rollout status succeeded for the never-ready release');
      const undo = await must(['rollout', 'undo', deployment]);
      const status = await must(
        ['rollout', 'status', deployment, statusTimeout],
        STEP_SECONDS + 10,
      );
      const seconds = (performance.now() - t0) / 1000;
      const after = await liveImage();
      record({
        scenario: K_ROLLBACK,
        tool: rbTool,
        shipml: false,
        sent: null,
        failed: null,
        seconds,
        note: `failure seen after ${detected.toFixed(2)} s ("${waited.stderr
          .trim()
          .split('\n')
          .pop()
          ?.replace(/^error: /, '')}"); live = ${after}`,
        pass: null,
        details: {
          applySeconds: applied.seconds,
          detectedSeconds: detected,
          undoSeconds: undo.seconds,
          statusSeconds: status.seconds,
          servingAfter: after,
        },
      });
    });
  } finally {
    log('kubernetes/kubectl: delete');
    await kubectl(['delete', '-f', v1, '--ignore-not-found', '--wait=false'], 60);
  }
}

// ---- the run --------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = { env: process.env };
  releases = {
    v1: await releaseOf(env('BENCH_V1'), opts),
    v2: await releaseOf(env('BENCH_V2'), opts),
    neverReady: await releaseOf(env('BENCH_NEVER_READY'), opts),
  };
  const started = new Date().toISOString();
  const parts: Array<[string, () => Promise<void>]> = [
    ['docker/shipml', dockerShipml],
    ['docker/plain', dockerPlain],
  ];
  if (KUBERNETES)
    parts.push(['kubernetes/shipml', kubeShipml], ['kubernetes/kubectl', kubeKubectl]);
  const errors: string[] = [];
  for (const [name, part] of parts) {
    if (stopped.signal.aborted) break;
    try {
      await part();
    } catch (err) {
      const message = `${name}: ${(err as Error).message.split('\n')[0]}`;
      errors.push(message);
      log(`error: ${message}`);
    }
  }
  const out = {
    started,
    finished: new Date().toISOString(),
    interrupted: stopped.signal.aborted,
    settings: {
      ratePerSecond: RATE,
      loadMaxSeconds: LOAD_MAX_SECONDS,
      preSeconds: PRE_MS / 1000,
      postSeconds: POST_MS / 1000,
      progressDeadlineSeconds: DEADLINE,
      dockerReplicas: DOCKER_REPLICAS,
      kubernetesReplicas: KUBE_REPLICAS,
      kubernetes: KUBERNETES,
      drainSeconds: DEFAULT_SPEC.drainSeconds,
    },
    releases: {
      v1: releases.v1.image,
      v2: releases.v2.image,
      neverReady: releases.neverReady.image,
    },
    errors,
    rows,
  };
  await writeFile(join(WORK, 'rows.json'), JSON.stringify(out, null, 2));
  return stopped.signal.aborted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
