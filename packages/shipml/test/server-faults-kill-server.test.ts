/**
 * SIGKILL of `shipml server` (a real process, SQLite store) while a run's test command runs:
 * started again, the server marks the run interrupted once its lease expired and runs it once
 * more (attempt 2, retryOf), so the run is never lost, and in the store's view the two
 * attempts never overlap (attempt 2 starts after attempt 1's lease ran out).
 *
 * What happens to the killed server's children: the test command runs in its own process
 * group (core/process.ts), so SIGKILL of the server leaves it running as an orphan until it
 * ends on its own; this test records that and ends it by PID.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServiceStoreUrl, openServiceStore } from '../src/server/store/registry.js';
import type { RunRecord, ServiceStore } from '../src/server/store/types.js';
import { postGenericHook } from './helpers/generic-hook.js';
import { eventually, testRepo, tinyApp, type TestRepo } from './helpers/server.js';
import { alive, killIfAlive, startProcess, type ServerProcess } from './helpers/server-process.js';

const SECRET = 'kill-test-secret-5f4dcc3b';
const SLEEP_S = 6;

let root: string;
let marks: string;
let repo: TestRepo;
let configFile: string;
let store: ServiceStore | undefined;
const started: ServerProcess[] = [];
const orphans: number[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-kill-server-'));
  marks = join(root, 'marks');
  await mkdir(marks);
  // The test command says when it starts and ends, with its PID (its process group's leader).
  repo = await testRepo(
    join(root, 'repo'),
    tinyApp({
      test: `echo "start $$ $(date +%s%3N)" >> "$MARKS/log"; sleep ${SLEEP_S}; echo "end $$ $(date +%s%3N)" >> "$MARKS/log"`,
    }),
  );
  configFile = join(root, 'shipml-server.yaml');
  await writeFile(
    configFile,
    `
dataDir: ${root}/data
worker: { slots: 1, leaseSeconds: 5 }
apps:
  - name: tiny
    repository: ${repo.bare}
    release: manual
    # The host runner: this test is about the service (processes, leases, redaction), and its
    # commands print what they were given; the container runner's containment is
    # runner-container-hostile.test.ts.
    runner: host
    env: { MARKS: ${marks} }
    triggers:
      - { type: generic, secret: "\${HOOK_SECRET}" }
`,
  );
}, 60_000);

afterAll(async () => {
  for (const p of started) await p.stop('SIGKILL', 5_000);
  for (const pid of orphans) {
    try {
      process.kill(-pid, 'SIGKILL'); // the orphaned test command's whole group
    } catch {
      killIfAlive(pid);
    }
  }
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

const env = () => ({ ...process.env, HOOK_SECRET: SECRET });

async function marksOf(): Promise<Array<{ what: string; pid: number; at: number }>> {
  const text = await readFile(join(marks, 'log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, pid, at] = l.split(' ');
      return { what: what!, pid: Number(pid), at: Number(at) };
    });
}

describe('SIGKILL of shipml server mid-run (SQLite)', () => {
  it('marks the run interrupted, retries it once, never lost, attempts never overlap', async () => {
    const first = await startProcess('server', configFile, env());
    started.push(first);
    const commit = await repo.commit({ 'kill.txt': 'x\n' });
    const res = await postGenericHook(first.url!, 'tiny', SECRET, 'kill-1', {
      ref: 'refs/heads/main',
      commit,
    });
    expect(res.status).toBe(202);
    const [runId] = ((await res.json()) as { runs: string[] }).runs;

    // Wait until the test command runs, then kill the server outright.
    const victim = await eventually(
      async () => (await marksOf()).find((m) => m.what === 'start'),
      'the test command to start',
      60_000,
    );
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    orphans.push(victim.pid);
    const orphanSurvived = await alive(victim.pid);
    await appendFile(join(marks, 'findings'), `orphan alive after SIGKILL: ${orphanSurvived}\n`);

    store = await openServiceStore(defaultServiceStoreUrl(join(root, 'data')), {
      where: 'test',
    });
    const during = (await store.getRun(runId!))!;
    expect(during.status).toBe('running'); // a dead server cannot say otherwise

    const second = await startProcess('server', configFile, env());
    started.push(second);
    const retry = await eventually(
      async () => {
        const runs = (await store!.listRuns({ app: 'tiny', limit: 50 })).runs;
        const r = runs.find((x) => x.retryOf === runId);
        return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
      },
      'the retry to finish',
      90_000,
    );
    const interrupted = (await store.getRun(runId!))!;
    const all = (await store.listRuns({ app: 'tiny', limit: 50 })).runs;

    expect(interrupted).toMatchObject({ status: 'interrupted', attempt: 1 });
    expect(interrupted.error).toMatch(/retried/);
    expect(retry).toMatchObject({ status: 'succeeded', attempt: 2, retryOf: runId, commit });
    // Never lost, never twice: exactly these two runs, one retry.
    expect(all.map((r: RunRecord) => r.id).sort()).toEqual([runId, retry.id].sort());
    // In the store's view the attempts do not overlap: attempt 2 started after attempt 1's
    // lease expired (the dead worker could have renewed it until then).
    expect(Date.parse(retry.startedAt!)).toBeGreaterThan(Date.parse(interrupted.leaseExpiresAt!));
    expect(Date.parse(interrupted.finishedAt!)).toBeGreaterThanOrEqual(
      Date.parse(interrupted.leaseExpiresAt!),
    );
    // The retry ran its own test command (a new process), not the orphan's.
    const m = await marksOf();
    const starts = m.filter((x) => x.what === 'start');
    expect(starts).toHaveLength(2);
    expect(starts[1]!.pid).not.toBe(victim.pid);
    expect(starts[1]!.at).toBeGreaterThan(killedAt);
    const log = second.output();
    expect(log).toMatch(new RegExp(`run ${runId} of tiny was interrupted`));
    expect(log).toMatch(/queued again \(retry of /);
    // The killed server's worktree was removed when the next one started.
    expect(log).toMatch(/removed 1 worktree\(s\) a previous process left behind/);

    // The orphan: report what it did (it is not the service's any more: nothing records it).
    const orphanEnd = m.find((x) => x.what === 'end' && x.pid === victim.pid);
    console.log(
      `orphaned test command (pid ${victim.pid}): alive after the server's SIGKILL: ${orphanSurvived}; ` +
        (orphanEnd
          ? `ended on its own ${orphanEnd.at - victim.at} ms after it started`
          : 'still running when the retry finished'),
    );
  }, 150_000);
});
