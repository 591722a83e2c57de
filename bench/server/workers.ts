/**
 * Three `shipml worker` processes on one PostgreSQL, `runs` short runs enqueued through the
 * store, one worker killed with SIGKILL every `killEveryS` seconds (and a new one started in
 * its place). Then: runs lost (an enqueued run that neither succeeded nor failed visibly,
 * itself or through its retry), runs doubled (claimed twice while a claim held, or two
 * attempts that both succeeded).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServiceStore } from '../../packages/shipml/src/server/store/registry.js';
import type { RunRecord } from '../../packages/shipml/src/server/store/types.js';
import { freshDatabase } from '../../packages/shipml/test/helpers/postgres.js';
import {
  startProcess,
  type ServerProcess,
} from '../../packages/shipml/test/helpers/server-process.js';
import { testRepo, tinyApp } from '../../packages/shipml/test/helpers/server.js';
import type { Row } from './scenarios.js';
import { codeChange, log } from './setup.js';

export async function killWorkers(runs: number, killEveryS: number, limitS: number): Promise<Row> {
  const root = join(tmpdir(), `shipml-bench-workers-${process.pid}`);
  await mkdir(root, { recursive: true });
  const db = await freshDatabase('benchworkers');
  const store = await openServiceStore(db.url, { where: 'bench' });
  const workers: ServerProcess[] = [];
  let kills = 0;
  try {
    await store.migrate();
    const repo = await testRepo(join(root, 'repo'), tinyApp());
    const ids: string[] = [];
    for (let i = 0; i < runs; i++) {
      const commit = await repo.commit(codeChange(i));
      const { run } = await store.enqueue(
        {
          app: 'app',
          kind: 'run',
          branch: `b${i}`,
          commit,
          deploys: false,
          cause: { trigger: 'manual', source: 'bench' },
        },
        { now: new Date().toISOString(), coalesce: false },
      );
      ids.push(run.id);
    }
    let n = 0;
    const start = async () => {
      const file = join(root, `worker-${n}.yaml`);
      await writeFile(
        file,
        [
          `dataDir: ${root}/data-${n++}`,
          `database: "${db.url}"`,
          'worker: { slots: 1, leaseSeconds: 5 }',
          'apps:',
          '  - name: app',
          `    repository: ${repo.bare}`,
          '    release: manual',
          '    concurrency: 3',
        ].join('\n'),
      );
      workers.push(await startProcess('worker', file, process.env));
    };
    for (let i = 0; i < 3; i++) await start();
    const t0 = Date.now();
    let lastKill = Date.now();
    const open = async () =>
      (await store.listRuns({ app: 'app', limit: 500 })).runs.filter((r) =>
        ['queued', 'running'].includes(r.status),
      ).length;
    while ((await open()) > 0) {
      if (Date.now() - t0 > limitS * 1000) throw new Error(`runs still open after ${limitS} s`);
      if (Date.now() - lastKill >= killEveryS * 1000) {
        const alive = workers.filter(
          (w) => w.child.exitCode === null && w.child.signalCode === null,
        );
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (victim) {
          await victim.stop('SIGKILL');
          kills++;
          await start();
        }
        lastKill = Date.now();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - t0) / 1000;
    const all = (await store.listRuns({ app: 'app', limit: 500 })).runs;
    const byRetryOf = new Map<string, RunRecord[]>();
    for (const r of all)
      if (r.retryOf) byRetryOf.set(r.retryOf, [...(byRetryOf.get(r.retryOf) ?? []), r]);
    let lost = 0;
    let doubled = 0;
    let failedVisibly = 0;
    let interrupted = 0;
    for (const id of ids) {
      const chain = [all.find((r) => r.id === id)!, ...(byRetryOf.get(id) ?? [])];
      if (chain.some((r) => r.status === 'interrupted')) interrupted++;
      const ok = chain.filter((r) => r.status === 'succeeded').length;
      if (ok > 1 || chain.length > 2) doubled++;
      if (ok === 0) {
        if (chain.every((r) => ['failed', 'interrupted'].includes(r.status)) && chain.at(-1)!.error)
          failedVisibly++;
        else lost++;
      }
      for (const r of chain) {
        const claims = (await store.readLog(r.id, 0, 5000)).filter((l) =>
          l.line.startsWith('claimed by worker'),
        ).length;
        if (claims > 1) doubled++;
      }
      const [first, retry] = chain;
      if (
        retry &&
        Date.parse(retry.startedAt ?? '9999') <= Date.parse(first!.leaseExpiresAt ?? '0')
      )
        doubled++;
    }
    const met = lost === 0 && doubled === 0;
    log(
      `workers: ${runs} runs in ${seconds.toFixed(0)} s, ${kills} kills: lost ${lost}, doubled ${doubled}, interrupted ${interrupted}, failed visibly ${failedVisibly}`,
    );
    return {
      scenario: `3 workers, ${runs} runs, one SIGKILLed every ${killEveryS} s`,
      backend: 'postgres',
      result: `lost ${lost}, doubled ${doubled}; ${kills} kills, ${interrupted} runs interrupted (retried), ${failedVisibly} failed visibly (interrupted twice); ${seconds.toFixed(0)} s`,
      goal: 'lost 0, doubled 0',
      met,
      numbers: { runs, kills, lost, doubled, interrupted, failedVisibly, seconds },
    };
  } finally {
    for (const w of workers) await w.stop('SIGKILL', 5_000);
    await store.close();
    await db.drop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
