/**
 * Kubernetes scenarios at the API level (kwok runs no containers, so no requests): ShipML's
 * Kubernetes target, and `kubectl apply` / `rollout status` / `rollout undo` of the very
 * objects the target renders.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SPEC, RolloutError, type DeploySpec, type Release } from 'shipml';
import { KubernetesTarget } from 'shipml/deploy/kubernetes';
import { NEVER_READY, sh, timeline, type Bench } from './harness.js';
import { env, log, type Settings } from './settings.js';

export const ROLLOUT = 'kubernetes: rollout v1 → v2';
export const ROLLBACK = 'kubernetes: never-ready → rollback';

function specFor(settings: Settings, app: string): DeploySpec {
  return {
    ...DEFAULT_SPEC,
    app,
    replicas: settings.kubeReplicas,
    progressDeadlineSeconds: settings.deadline,
  };
}

/** The pod label kwok keeps unready (scripts/kubernetes/kwok-stages.yaml). */
function neverReadyLabels(): Record<string, string> {
  const [key, value] = env('BENCH_NEVER_READY_LABEL').split('=');
  return { [key!]: value ?? 'true' };
}

function targetFor(): KubernetesTarget {
  return new KubernetesTarget({
    kubeconfig: env('KUBECONFIG'),
    namespace: env('BENCH_NAMESPACE'),
    // No data path under kwok, so no load balancer to wait for either.
    service: { type: 'ClusterIP', port: 80 },
  });
}

export async function kubeShipml(bench: Bench): Promise<void> {
  const { settings: s, releases } = bench;
  const target = targetFor();
  const spec = specFor(s, `${s.prefix}-k8s`);
  const tool = 'shipml deploy (kubernetes target)';
  const live = async () => (await target.status(spec.app)).live;
  try {
    log(`kubernetes/shipml: set-up, v1 on ${spec.replicas} replicas`);
    await target.deploy(releases.v1, spec, { signal: bench.stepSignal() });

    await bench.guarded(ROLLOUT, tool, true, async () => {
      log(`${ROLLOUT}: shipml deploy`);
      const t = timeline();
      const t0 = performance.now();
      const result = await target.deploy(releases.v2, spec, {
        signal: bench.stepSignal(),
        onEvent: t.onEvent,
      });
      const wall = (performance.now() - t0) / 1000;
      const now = await live();
      bench.record({
        scenario: ROLLOUT,
        tool,
        shipml: true,
        sent: null,
        failed: null,
        seconds: result.seconds,
        note: `${spec.replicas} replicas, maxSurge 1, maxUnavailable 0; live revision ${now?.number} = ${bench.label(now?.image)}`,
        pass: bench.label(now?.image) === 'v2',
        details: { wallSeconds: wall, revision: result.revision.number, events: t.events },
      });
    });

    await bench.guarded(ROLLBACK, tool, true, async () => {
      log(`${ROLLBACK}: shipml deploy of a never-ready release`);
      const t = timeline();
      const t0 = performance.now();
      const err = await target
        .deploy(
          releases.neverReady,
          { ...spec, labels: neverReadyLabels() },
          { signal: bench.stepSignal(), onEvent: t.onEvent },
        )
        .then(
          () => undefined,
          (e: unknown) => {
            if (e instanceof RolloutError) return e;
            throw e;
          },
        );
      // RolloutError carries no duration: the wall clock until deploy() threw.
      const seconds = (performance.now() - t0) / 1000;
      const after = bench.label((await live())?.image);
      bench.record({
        scenario: ROLLBACK,
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
export async function kubeKubectl(bench: Bench): Promise<void> {
  const { settings: s, releases } = bench;
  const target = targetFor();
  const spec = specFor(s, `${s.prefix}-kubectl`);
  const kubectl = (args: string[], timeoutSeconds = s.stepSeconds) =>
    sh(
      [
        env('BENCH_KUBECTL'),
        '--kubeconfig',
        env('KUBECONFIG'),
        '-n',
        env('BENCH_NAMESPACE'),
        ...args,
      ],
      timeoutSeconds,
    );
  const must = async (args: string[], timeoutSeconds?: number) => {
    const ran = await kubectl(args, timeoutSeconds);
    if (ran.code !== 0)
      throw new Error(
        `kubectl ${args.slice(0, 2).join(' ')} exited ${ran.code}: ${ran.stderr.trim()}`,
      );
    return ran;
  };

  // `kubectl apply -f` takes a List as well as YAML documents.
  const dir = join(s.work, 'kubectl');
  await mkdir(dir, { recursive: true });
  const file = async (name: string, release: Release, withSpec: DeploySpec) => {
    const path = join(dir, `${name}.json`);
    const list = { apiVersion: 'v1', kind: 'List', items: target.render(release, withSpec) };
    await writeFile(path, JSON.stringify(list, null, 2));
    return path;
  };
  const v1 = await file('v1', releases.v1, spec);
  const v2 = await file('v2', releases.v2, spec);
  const broken = await file(NEVER_READY, releases.neverReady, {
    ...spec,
    labels: neverReadyLabels(),
  });
  const name = target.render(releases.v1, spec).find((o) => o.kind === 'Deployment')
    ?.metadata?.name;
  const deployment = `deployment/${name}`;
  const status = () =>
    must(['rollout', 'status', deployment, `--timeout=${s.stepSeconds}s`], s.stepSeconds + 10);
  const liveImage = async () =>
    bench.label(
      (
        await must(['get', deployment, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])
      ).stdout.trim(),
    );

  const tool = 'kubectl apply + rollout status';
  try {
    log(`kubernetes/kubectl: set-up, v1 on ${spec.replicas} replicas`);
    await must(['apply', '-f', v1]);
    await status();

    await bench.guarded(ROLLOUT, tool, false, async () => {
      log(`${ROLLOUT}: kubectl apply -f + kubectl rollout status`);
      const t0 = performance.now();
      const applied = await must(['apply', '-f', v2]);
      const waited = await status();
      const seconds = (performance.now() - t0) / 1000;
      bench.record({
        scenario: ROLLOUT,
        tool,
        shipml: false,
        sent: null,
        failed: null,
        seconds,
        note: `same rendered objects; live = ${await liveImage()}`,
        pass: null,
        details: { applySeconds: applied.seconds, statusSeconds: waited.seconds },
      });
    });

    const rbTool = 'kubectl apply, rollout status (fails), rollout undo, rollout status';
    await bench.guarded(ROLLBACK, rbTool, false, async () => {
      log(`${ROLLBACK}: kubectl apply -f, rollout status until it fails, undo, status`);
      const t0 = performance.now();
      const applied = await must(['apply', '-f', broken]);
      const failed = await kubectl(
        ['rollout', 'status', deployment, `--timeout=${s.stepSeconds}s`],
        s.stepSeconds + 10,
      );
      const detected = (performance.now() - t0) / 1000;
      if (failed.code === 0)
        throw new Error('kubectl rollout status succeeded for the never-ready release');
      const undo = await must(['rollout', 'undo', deployment]);
      const waited = await status();
      const seconds = (performance.now() - t0) / 1000;
      const after = await liveImage();
      const why = failed.stderr
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^error: /, '');
      bench.record({
        scenario: ROLLBACK,
        tool: rbTool,
        shipml: false,
        sent: null,
        failed: null,
        seconds,
        note: `failure seen after ${detected.toFixed(2)} s ("${why}"); live = ${after}`,
        pass: null,
        details: {
          applySeconds: applied.seconds,
          detectedSeconds: detected,
          undoSeconds: undo.seconds,
          statusSeconds: waited.seconds,
          servingAfter: after,
        },
      });
    });
  } finally {
    log('kubernetes/kubectl: delete');
    await kubectl(['delete', '-f', v1, '--ignore-not-found', '--wait=false'], 60);
  }
}
