/**
 * SIGKILL of `shipml server` while a run's command runs on the container runner: the killed
 * server cannot end its command's container, so the next server (same store) removes it once
 * the run's lease expired — no command runs on with nobody reading it (a host-runner command
 * would survive as an orphan process: server-faults-kill-server.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_LABEL } from '../src/runners/labels.js';
import { postGenericHook } from './helpers/generic-hook.js';
import { eventually, testRepo, tinyApp, type TestRepo } from './helpers/server.js';
import { startProcess, type ServerProcess } from './helpers/server-process.js';

const SECRET = 'orphan-test-secret-9b1e';

let root: string;
let repo: TestRepo;
let configFile: string;
const started: ServerProcess[] = [];

/** Ids of running or stopped containers of the run (docker ps, by the runner's label). */
function containersOf(runId: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${runId}`], {
    encoding: 'utf8',
    timeout: 20_000,
  })
    .split('\n')
    .filter(Boolean);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-orphan-'));
  repo = await testRepo(join(root, 'repo'), tinyApp({ test: 'echo started; sleep 300' }));
  configFile = join(root, 'shipml-server.yaml');
  await writeFile(
    configFile,
    `dataDir: ${root}/data
worker: { slots: 1, leaseSeconds: 5 }
apps:
  - name: tiny
    repository: ${repo.bare}
    release: manual
    runner: container
    triggers:
      - { type: generic, secret: "\${HOOK_SECRET}" }
`,
  );
}, 60_000);

afterAll(async () => {
  for (const p of started) await p.stop('SIGKILL', 5_000);
  await rm(root, { recursive: true, force: true });
});

describe('SIGKILL of shipml server mid-command (container runner)', () => {
  it("the next server removes the killed server's command container", async () => {
    const env = { ...process.env, HOOK_SECRET: SECRET };
    const first = await startProcess('server', configFile, env);
    started.push(first);
    const commit = await repo.commit({ 'orphan.txt': 'x\n' });
    const res = await postGenericHook(first.url!, 'tiny', SECRET, 'orphan-1', {
      ref: 'refs/heads/main',
      commit,
    });
    expect(res.status).toBe(202);
    const [runId] = ((await res.json()) as { runs: string[] }).runs;
    await eventually(
      () => Promise.resolve(containersOf(runId!).length > 0 ? true : undefined),
      'the command container to start',
      90_000,
    );
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    expect(containersOf(runId!)).toHaveLength(1); // nobody removed it: the orphan

    const second = await startProcess('server', configFile, env);
    started.push(second);
    await eventually(
      () => Promise.resolve(containersOf(runId!).length === 0 ? true : undefined),
      "the killed server's container to be removed",
      60_000,
    );
    await second.stop('SIGTERM');
  }, 240_000);
});
