/**
 * The in-process scenarios: webhook → run claimed (latency), a burst of 100 pushes in one
 * second (how many builds), and a model publish → run started (the model watch).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openModelStore } from '../../packages/shipml/src/model-store/registry.js';
import { ModelRepository } from '../../packages/shipml/src/model-store/repository.js';
import { tinyApp } from '../../packages/shipml/test/helpers/server.js';
import {
  bench,
  codeChange,
  FINAL,
  log,
  percentile,
  sendHook,
  until,
  type Backend,
} from './setup.js';

export interface Row {
  scenario: string;
  backend: string;
  result: string;
  goal: string;
  met: boolean | undefined;
  numbers: Record<string, number>;
}

/**
 * Webhook → run claimed: one signed delivery at a time; the time from sending it to the
 * worker's claim (the run's startedAt, same clock). The app's test fails at once, so each
 * run ends quickly and the queue is empty for the next sample.
 */
export async function claimLatency(backend: Backend, samples: number): Promise<Row> {
  const b = await bench(backend, { files: tinyApp({ test: 'exit 1' }) });
  try {
    const { store } = b.srv.service;
    const commit = await b.repo.commit(codeChange('latency'));
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
      const sent = Date.now();
      const [id] = await sendHook(b.srv.url, commit, `lat-${backend}-${i}`, `b${i}`);
      const run = await until(
        async () => {
          const r = await store.getRun(id!);
          return r?.startedAt ? r : undefined;
        },
        `run ${id} to be claimed`,
        30_000,
        5,
      );
      ms.push(Date.parse(run.startedAt!) - sent);
      await until(
        async () => (FINAL.has((await store.getRun(id!))!.status) ? true : undefined),
        `run ${id} to end`,
      );
    }
    const p50 = percentile(ms, 50);
    const p99 = percentile(ms, 99);
    log(`claim latency ${backend}: p50 ${p50} ms, p99 ${p99} ms over ${samples}`);
    return {
      scenario: 'webhook → run claimed',
      backend,
      result: `p50 ${p50} ms, p99 ${p99} ms (n=${samples}, max ${Math.max(...ms)} ms)`,
      goal: 'p99 ≤ 200 ms',
      met: p99 <= 200,
      numbers: { p50, p99, max: Math.max(...ms), samples },
    };
  } finally {
    await b.close();
  }
}

/** 100 signed pushes (5 commits, in turn) within one second: how many builds ran. */
export async function burst(backend: Backend): Promise<Row> {
  // The tiny app builds in under a second, less than the burst lasts: its test waits 2 s so
  // the first build outlasts the burst, as a real build does, and the count measures
  // coalescing (one building, one queued), not how fast the tiny app builds.
  const b = await bench(backend, { files: tinyApp({ test: 'sleep 2' }) });
  try {
    const { store } = b.srv.service;
    const commits: string[] = [];
    for (let i = 0; i < 5; i++) commits.push(await b.repo.commit(codeChange(`burst-${i}`)));
    const started = Date.now();
    const sends: Array<Promise<string[]>> = [];
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, Math.max(0, started + i * 10 - Date.now())));
      sends.push(sendHook(b.srv.url, commits[i % 5]!, `burst-${i}`));
    }
    const ids = (await Promise.all(sends)).flat();
    const sentIn = Date.now() - started;
    const runs = await until(
      async () => {
        const all = await Promise.all(ids.map((id) => store.getRun(id)));
        return all.every((r) => r && FINAL.has(r.status)) ? all.map((r) => r!) : undefined;
      },
      'the burst to finish',
      180_000,
      200,
    );
    const built = runs.filter((r) => r.status !== 'superseded');
    const newestLast = built.sort((x, y) => x.queuedAt.localeCompare(y.queuedAt)).at(-1)?.commit;
    log(`burst: ${ids.length} pushes in ${sentIn} ms → ${built.length} builds`);
    return {
      scenario: '100 pushes in 1 s → builds',
      backend,
      result: `${built.length} builds (${built.map((r) => r.status).join(', ')}); sent in ${sentIn} ms; last build has the newest commit: ${newestLast === commits[99 % 5]}`,
      goal: '≤ 2 builds',
      met: built.length <= 2 && newestLast === commits[99 % 5],
      numbers: { pushes: ids.length, builds: built.length, sentMs: sentIn },
    };
  } finally {
    await b.close();
  }
}

/**
 * Model publish → run started: the model-watch trigger on a file:// store, checking every
 * `intervalS`; a new version published to the channel `samples` times.
 */
export async function modelPublish(intervalS: number, samples: number): Promise<Row> {
  const files = tinyApp();
  const storeDir = `/tmp/shipml-bench-models-${process.pid}`;
  files['shipml.yaml'] = files['shipml.yaml']!.replace(
    'build:',
    `model:\n  name: bench\n  channel: latest\n  store: { url: "file://${storeDir}" }\nbuild:`,
  );
  const repo = new ModelRepository({
    store: await openModelStore({ url: `file://${storeDir}` }, {}),
  });
  const weights = `${storeDir}-weights.bin`;
  await writeFile(weights, 'v0');
  await repo.publish({ source: weights, name: 'bench', version: '1.0.0', channels: ['latest'] });
  const b = await bench('sqlite', {
    files,
    triggers: [`{ type: model-watch, intervalSeconds: ${intervalS} }`],
  });
  try {
    const { store } = b.srv.service;
    // The watch's first look records the channel; give it one interval.
    await new Promise((r) => setTimeout(r, intervalS * 1000 + 500));
    const ms: number[] = [];
    for (let i = 1; i <= samples; i++) {
      const before = new Set(
        (await store.listRuns({ app: 'app', limit: 500 })).runs.map((r) => r.id),
      );
      await writeFile(weights, `v${i}`);
      const published = Date.now();
      await repo.publish({
        source: weights,
        name: 'bench',
        version: `1.0.${i}`,
        channels: ['latest'],
      });
      const run = await until(
        async () =>
          (await store.listRuns({ app: 'app', limit: 500 })).runs.find(
            (r) => !before.has(r.id) && r.cause.trigger === 'model' && r.startedAt,
          ),
        `the model watch to start a run for 1.0.${i}`,
        intervalS * 1000 + 30_000,
        20,
      );
      ms.push(Date.parse(run.startedAt!) - published);
      await until(
        async () => (FINAL.has((await store.getRun(run.id))!.status) ? true : undefined),
        'the model run to end',
        120_000,
        200,
      );
    }
    const worst = Math.max(...ms);
    log(`model publish → run started: ${ms.join(', ')} ms (interval ${intervalS} s)`);
    return {
      scenario: 'model publish → run started',
      backend: 'sqlite, file:// store',
      result: `p50 ${percentile(ms, 50)} ms, max ${worst} ms (n=${samples}, interval ${intervalS} s)`,
      goal: `≤ interval + 1 s = ${intervalS * 1000 + 1000} ms`,
      met: worst <= intervalS * 1000 + 1000,
      numbers: { p50: percentile(ms, 50), max: worst, intervalMs: intervalS * 1000 },
    };
  } finally {
    await b.close();
    const { rm } = await import('node:fs/promises');
    await rm(storeDir, { recursive: true, force: true });
    await rm(weights, { force: true });
    void join;
  }
}
