/**
 * Three `shipml worker` processes on one PostgreSQL; runs enqueued through the store; one
 * worker killed with SIGKILL while it holds a run. No run is lost (every run ends succeeded,
 * the killed one through its retry), none runs twice at once in the store's view (a retry
 * starts after the dead holder's lease expired), and the interrupted run is retried once.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openServiceStore } from '../src/server/store/registry.js';
import type { RunRecord, ServiceStore } from '../src/server/store/types.js';
import { freshDatabase, skipPostgres } from './helpers/postgres.js';
import { eventually, testRepo, tinyApp, type TestRepo } from './helpers/server.js';
import { startProcess, type ServerProcess } from './helpers/server-process.js';

const RUNS = 6;
const SLEEP_S = 8;

let root: string;
let marks: string;
let repo: TestRepo;
let db: { url: string; drop: () => Promise<void> } | undefined;
let store: ServiceStore | undefined;
const workers: ServerProcess[] = [];

beforeAll(async () => {
  if (skipPostgres) return;
  root = await mkdtemp(join(tmpdir(), 'shipml-kill-worker-'));
  marks = join(root, 'marks');
  await mkdir(marks);
  // Each test command appends "start|end RUN PID MS"; the run id is its worktree's name.
  repo = await testRepo(
    join(root, 'repo'),
    tinyApp({
      test: `r=$(basename "$PWD"); echo "start $r $$ $(date +%s%3N)" >> "$MARKS/log"; sleep ${SLEEP_S}; echo "end $r $$ $(date +%s%3N)" >> "$MARKS/log"`,
    }),
  );
  db = await freshDatabase('killworker');
  store = await openServiceStore(db.url, { where: 'test' });
  await store.migrate();
}, 60_000);

afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL', 5_000);
  await store?.close();
  await db?.drop();
  if (root) await rm(root, { recursive: true, force: true });
});

async function config(i: number): Promise<string> {
  const file = join(root, `worker-${i}.yaml`);
  // Each worker has its own data directory, as on its own machine.
  await writeFile(
    file,
    `
dataDir: ${root}/data-${i}
database: "${db!.url}"
worker: { slots: 1, leaseSeconds: 5 }
apps:
  - name: tiny
    repository: ${repo.bare}
    release: manual
    # The host runner: this test is about the service (processes, leases, redaction), and its
    # commands print what they were given; the container runner's containment is
    # runner-container-hostile.test.ts.
    runner: host
    concurrency: 3
    env: { MARKS: ${marks} }
`,
  );
  return file;
}

async function marksOf() {
  const text = await readFile(join(marks, 'log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, run, pid, at] = l.split(' ');
      return { what: what!, run: run!, pid: Number(pid), at: Number(at) };
    });
}

describe.skipIf(skipPostgres)(
  'SIGKILL of a shipml worker mid-run (PostgreSQL, three workers)',
  () => {
    it('loses no run, runs none twice at once, retries the interrupted one', async () => {
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        // A change of the built code each: equal inputs would reuse an image (the skip rule).
        const commit = await repo.commit({ 'index.js': `${tinyApp()['index.js']}// ${i}\n` });
        const { run } = await store!.enqueue(
          {
            app: 'tiny',
            kind: 'run',
            branch: `b${i}`,
            commit,
            deploys: false,
            cause: { trigger: 'manual', source: 'test' },
          },
          { now: new Date().toISOString(), coalesce: false },
        );
        ids.push(run.id);
      }
      for (let i = 0; i < 3; i++)
        workers.push(await startProcess('worker', await config(i), process.env));

      // Kill the worker whose test command runs first, while it runs.
      const victimRun = await eventually(
        async () => {
          // A command that started and has not ended, whose run the store still sees running
          // (on a loaded machine the first one may be over before this looks).
          const marks = await marksOf();
          for (const start of marks.filter((m) => m.what === 'start')) {
            if (marks.some((m) => m.what === 'end' && m.run === start.run)) continue;
            const run = await store!.getRun(start.run);
            if (run?.status === 'running') return run;
          }
          return undefined;
        },
        'a test command to start',
        60_000,
      );
      expect(victimRun.status).toBe('running');
      const victim = workers.find((w) => victimRun.worker?.includes(`-${w.pid}-`));
      expect(victim, `the worker ${victimRun.worker} is one of ours`).toBeDefined();
      expect(await victim!.stop('SIGKILL')).toBe('SIGKILL');

      const final = await eventually(
        async () => {
          const runs = (await store!.listRuns({ app: 'tiny', limit: 100 })).runs;
          return runs.every((r) => !['queued', 'running'].includes(r.status)) &&
            runs.length >= RUNS + 1
            ? runs
            : undefined;
        },
        'every run to finish',
        110_000,
      );
      const byId = new Map(final.map((r: RunRecord) => [r.id, r]));
      const interrupted = byId.get(victimRun.id)!;
      expect(interrupted.status).toBe('interrupted');
      const retries = final.filter((r) => r.retryOf !== undefined);
      expect(retries).toHaveLength(1);
      const retry = retries[0]!;
      expect(retry).toMatchObject({ retryOf: victimRun.id, attempt: 2, status: 'succeeded' });
      // No run lost: every enqueued run succeeded, or was interrupted and its retry succeeded.
      for (const id of ids)
        expect(
          byId.get(id)!.status === 'succeeded' ||
            (id === victimRun.id && retry.status === 'succeeded'),
          `run ${id}: ${byId.get(id)!.status}`,
        ).toBe(true);
      expect(final).toHaveLength(RUNS + 1);
      // Never twice at once: the retry started after the dead worker's lease expired, on a live
      // worker; and every other run was held by one worker from start to finish.
      expect(Date.parse(retry.startedAt!)).toBeGreaterThan(Date.parse(interrupted.leaseExpiresAt!));
      expect(retry.worker).not.toBe(interrupted.worker);
      const m = await marksOf();
      for (const id of ids.filter((x) => x !== victimRun.id))
        expect(
          m.filter((x) => x.what === 'start' && x.run === id),
          `starts of ${id}`,
        ).toHaveLength(1);
      // The live workers are still there and saw the interruption.
      const logs = workers
        .filter((w) => w !== victim)
        .map((w) => w.output())
        .join('\n');
      expect(logs).toMatch(new RegExp(`run ${victimRun.id} of tiny was interrupted`));
    }, 150_000);
  },
);
