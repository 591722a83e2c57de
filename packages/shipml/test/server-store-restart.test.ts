/**
 * PostgreSQL restarted under load: claims and enqueues keep running while the server goes
 * down and comes back; calls fail only with retryable errors meanwhile (never naming the
 * password), and the same store — no reopen — works again within a bounded time.
 *
 * It restarts a private PostgreSQL (scripts/postgres.sh with SHIPML_POSTGRES_STATE), so
 * test files using the shared one are not disturbed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalServiceError } from '../src/core/errors.js';
import { at, claimOptions, request, uniqueApp } from '../src/server/store/conformance-fixtures.js';
import { openServiceStore } from '../src/server/store/registry.js';
import type { ServiceStore } from '../src/server/store/types.js';
import { skipPostgres, SKIP_POSTGRES_REASON } from './helpers/postgres.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../../scripts/postgres.sh', import.meta.url).pathname;
if (skipPostgres) console.warn(`server-store-restart.test.ts: ${SKIP_POSTGRES_REASON}`);

describe.skipIf(skipPostgres)('a PostgreSQL restart under load', () => {
  let state: string;
  let url: string;
  const pg = (command: string) =>
    run('bash', [SCRIPT, command], {
      env: { ...process.env, SHIPML_POSTGRES_STATE: state },
      timeout: 120_000,
    });

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'shipml-pg-restart-'));
    await pg('start');
    url = /SHIPML_TEST_POSTGRES_URL=(\S+)/.exec(await readFile(join(state, 'env'), 'utf8'))![1]!;
  }, 120_000);
  afterAll(async () => {
    if (state) {
      await pg('stop').catch(() => undefined);
      await rm(state, { recursive: true, force: true });
    }
  });

  it('fails calls only with retryable errors meanwhile, and reconnects on its own', async () => {
    const password = new URL(url).password;
    const store: ServiceStore = await openServiceStore(url, {
      options: { connectTimeoutMs: 1000 },
    });
    const app = uniqueApp();
    const claimed = new Set<string>();
    const errors: unknown[] = [];
    let restartedAt = 0;
    let firstSuccessAfter = 0;
    let stop = false;
    const loop = async (worker: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          await store.enqueue(request(app, { branch: `w${worker}-${i}` }), {
            now: at(i),
            coalesce: true,
          });
          const got = await store.claim(
            claimOptions([app], { worker: `w${worker}`, concurrency: () => 1000 }),
          );
          if (got) {
            expect(claimed.has(got.id), `run ${got.id} claimed twice`).toBe(false);
            claimed.add(got.id);
          }
          if (restartedAt && !firstSuccessAfter) firstSuccessAfter = Date.now();
        } catch (err) {
          errors.push(err);
          await sleep(20);
        }
      }
    };
    const loops = [0, 1, 2, 3].map(loop);
    await sleep(800);
    const before = claimed.size;
    await pg('restart');
    restartedAt = Date.now();
    const deadline = Date.now() + 15_000;
    while (!firstSuccessAfter && Date.now() < deadline) await sleep(50);
    await sleep(500); // keep the load on a little after it is back
    stop = true;
    await Promise.all(loops);

    expect(before).toBeGreaterThan(0);
    expect(firstSuccessAfter, 'no call succeeded within 15 s of the restart').toBeGreaterThan(0);
    expect(firstSuccessAfter - restartedAt).toBeLessThan(10_000);
    expect(errors.length, 'the restart interrupted no call: the test did not test').toBeGreaterThan(
      0,
    );
    for (const err of errors) {
      expect(err).toBeInstanceOf(ExternalServiceError);
      expect((err as ExternalServiceError).retryable, (err as Error).message).toBe(true);
      expect((err as Error).message).not.toContain(password);
    }
    await store.ping();
    expect(claimed.size).toBeGreaterThan(before);
    console.log(
      `restart: ${errors.length} failed calls, back ${firstSuccessAfter - restartedAt} ms after restart returned; ${claimed.size} claims`,
    );
    await store.close();
  }, 60_000);
});
