import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGITS } from './helpers/digits.js';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';

/**
 * `shipml demo`, the README's main job, end to end on this machine: the real training, the
 * real pipeline, a rollout under load, the gate. Run twice: the demo must be repeatable.
 */
const run = promisify(execFile);
let dir: string;
let port: number;
let apiPort: number;
const env = () => ({
  HOME: process.env.HOME ?? homedir(),
  PATH: process.env.PATH,
  SHIPML_CI_CACHE: process.env.SHIPML_CI_CACHE,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipml-demo-'));
  port = await freePort();
  apiPort = await freePort();
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: DIGITS });
}, 120_000);

afterAll(async () => {
  const stopped = await runCli(['demo', '--stop', '--dir', dir, '--port', String(port)], {
    env: env(),
  });
  expect(stopped.code).toBe(0);
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('shipml demo', () => {
  it('ships v1, rolls v2 out under load with 0 failed requests, and the gate stops v3', async () => {
    const out = await runCli(
      ['demo', '--dir', dir, '--port', String(port), '--api-port', String(apiPort)],
      { env: env() },
    );
    expect(out.stderr).not.toMatch(/^error/m);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /^1\. A data scientist trains digits v1 and publishes it: held-out accuracy 0\.9\d+$/m,
    );
    expect(out.stdout).toContain(`shipml server runs on http://127.0.0.1:${apiPort}`);
    expect(out.stdout).toContain(
      `Dashboard: http://127.0.0.1:${apiPort}/ui/ (sign in with the token in`,
    );
    expect(out.stdout).toMatch(
      /^3\. An app developer pushes [0-9a-f]{12}; the push webhook starts a run/m,
    );
    expect(out.stdout).toContain(`digits serves at http://127.0.0.1:${port}/`);
    expect(out.stdout).toMatch(
      /layers: dependencies and app unchanged \(same digests\); model new/,
    );
    expect(out.stdout).toMatch(
      /load: \d+ requests at 20\/s, 0 failed; answers switched v1 \(from .*\) → v2 \(from/,
    );
    expect(out.stdout).toMatch(/^ {3}stopped at gate: quality gate: accuracy 0\.\d+ >= 0\.92$/m);
    const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as {
      model: { version: string };
    };
    expect(version.model.version).toBe('2');

    // The server is still up: its API tells why each run ran (the push, then the model watch).
    const runs = await runCli(['runs', 'list', '--json'], {
      env: {
        ...env(),
        SHIPML_SERVER: `http://127.0.0.1:${apiPort}`,
        SHIPML_TOKEN: (await readFile(join(dir, 'api-token'), 'utf8')).trim(),
      },
    });
    expect(runs.code).toBe(0);
    const listed = (
      JSON.parse(runs.stdout) as {
        runs: Array<{
          status: string;
          cause: { trigger: string; source: string };
          modelRef?: string;
        }>;
      }
    ).runs;
    expect(
      listed.map((r) => [r.cause.trigger, r.cause.source, r.status, r.modelRef ?? null]),
    ).toEqual([
      ['model', 'model-watch', 'failed', 'digits@3'],
      ['model', 'model-watch', 'succeeded', 'digits@2'],
      ['commit', 'github', 'succeeded', null],
    ]);
  }, 900_000);

  it('runs again on the same machine: new versions, the same app, the same URL', async () => {
    const out = await runCli(
      ['demo', '--dir', dir, '--port', String(port), '--api-port', String(apiPort)],
      { env: env() },
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/trains digits v4 /);
    expect(out.stdout).toMatch(/0 failed; answers switched v4 .*→ v5/);
    expect(out.stdout).toContain(`digits serves at http://127.0.0.1:${port}/ (model v5)`);
  }, 900_000);
});
