/**
 * The demo waits for base images that scripts/demo.sh is still building (preflight.ts
 * awaitBaseImages): a real builder process that moves the layouts into place, and one that
 * exits without them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { awaitBaseImages } from '../src/demo/preflight.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A shell that runs `script` in `cwd`; its PID, and a promise of its exit. */
function builder(script: string, cwd: string): { pid: number; exited: Promise<void> } {
  const child = spawn('bash', ['-c', script], { cwd, stdio: 'ignore' });
  return { pid: child.pid!, exited: new Promise((done) => child.on('exit', () => done())) };
}

const layout = (name: string) =>
  `mkdir -p ${name}.partial && echo '{}' > ${name}.partial/index.json && mv ${name}.partial ${name}`;

describe('waiting for the base images', () => {
  it('resolves once the builder has moved both layouts into place', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipml-demo-images-'));
    const b = builder(
      `sleep 0.6; ${layout('node24')}; sleep 0.6; ${layout('haproxy26')}; sleep 5`,
      dir,
    );
    const started = Date.now();
    await awaitBaseImages(dir, b.pid, AbortSignal.timeout(20_000));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1000); // it did wait for the second layout
    process.kill(b.pid);
    await b.exited;
  });

  it('fails naming the missing image when the builder exits without it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipml-demo-images-'));
    const b = builder(`${layout('node24')}; sleep 0.5; exit 1`, dir);
    const err = await awaitBaseImages(dir, b.pid, AbortSignal.timeout(20_000)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`the demo needs the base image haproxy26 in ${dir}`);
    await b.exited;
  });

  it('without a builder, missing images fail at once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipml-demo-images-'));
    await expect(awaitBaseImages(dir, undefined, AbortSignal.timeout(5000))).rejects.toThrow(
      /base image node24/,
    );
  });
});
