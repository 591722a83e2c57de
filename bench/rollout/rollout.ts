/**
 * The measurements of the rollout benchmark: run.sh builds the images, makes sure the services
 * and the Kubernetes control plane run, then runs this with tsx; report.py prints the table
 * from the rows.json it writes. Settings come from the environment (settings.ts).
 *
 * Every scenario of one kind runs the same releases, the same spec and the same load:
 * constant-rate HTTP (GET /version and POST /predict in turn) on 127.0.0.1, bounded in time
 * and in requests, where any non-2xx answer or connection error counts as failed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SPEC } from 'shipml';
import { releaseOf } from 'shipml/deploy';
import { dockerPlain, dockerShipml } from './docker.js';
import { Bench, type Releases } from './harness.js';
import { kubeKubectl, kubeShipml } from './kubernetes.js';
import { env, log, readSettings } from './settings.js';

/** After Ctrl-C / SIGTERM, the clean-up gets this long before the process exits anyway. */
const CLEANUP_SECONDS = 90;

async function main(): Promise<number> {
  const settings = readSettings();

  // Ctrl-C / SIGTERM: cancel what runs (a cancelled ShipML rollout rolls back), let every
  // finally-block remove its app, then exit. Repeats are ignored (timeout and tsx each pass
  // the same TERM on), but the clean-up is bounded.
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stop.signal.aborted) return;
      log(`${signal}: stopping; removing what this run created`);
      stop.abort(new Error(`interrupted (${signal})`));
      setTimeout(() => process.exit(130), CLEANUP_SECONDS * 1000).unref();
    });
  }

  const opts = { env: process.env };
  const releases: Releases = {
    v1: await releaseOf(env('BENCH_V1'), opts),
    v2: await releaseOf(env('BENCH_V2'), opts),
    neverReady: await releaseOf(env('BENCH_NEVER_READY'), opts),
  };
  const bench = new Bench(settings, releases, stop.signal);
  const started = new Date().toISOString();
  const parts: Array<[string, (bench: Bench) => Promise<void>]> = [
    ['docker/shipml', dockerShipml],
    ['docker/plain', dockerPlain],
  ];
  if (settings.kubernetes)
    parts.push(['kubernetes/shipml', kubeShipml], ['kubernetes/kubectl', kubeKubectl]);
  const errors: string[] = [];
  for (const [name, part] of parts) {
    if (stop.signal.aborted) break;
    try {
      await part(bench);
    } catch (err) {
      const message = `${name}: ${(err as Error).message.split('\n')[0]}`;
      errors.push(message);
      log(`error: ${message}`);
    }
  }

  const out = {
    started,
    finished: new Date().toISOString(),
    interrupted: stop.signal.aborted,
    settings: {
      ratePerSecond: settings.rate,
      loadMaxSeconds: settings.loadMaxSeconds,
      preSeconds: settings.preMs / 1000,
      postSeconds: settings.postMs / 1000,
      progressDeadlineSeconds: settings.deadline,
      dockerReplicas: settings.dockerReplicas,
      kubernetesReplicas: settings.kubeReplicas,
      kubernetes: settings.kubernetes,
      drainSeconds: DEFAULT_SPEC.drainSeconds,
    },
    releases: {
      v1: releases.v1.image,
      v2: releases.v2.image,
      neverReady: releases.neverReady.image,
    },
    errors,
    rows: bench.rows,
  };
  await writeFile(join(settings.work, 'rows.json'), JSON.stringify(out, null, 2));
  return stop.signal.aborted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
