/**
 * The runner conformance suite: what every CommandRunner promises (types.ts), run against a
 * real back end — a process on this machine, a container on a real Docker Engine. A new
 * runner passes this before it is registered.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandInput, CommandRunner } from './types.js';

export function runnerConformance(name: string, open: () => Promise<CommandRunner>): void {
  describe(`${name} runner conformance`, () => {
    let runner: CommandRunner;
    let root: string;
    let checkout: string;
    let model: string;
    const run = (command: string, extra: Partial<CommandInput> = {}) => {
      const lines: string[] = [];
      return runner
        .run({
          command,
          appDir: checkout,
          env: { CI: 'true' },
          modelDir: model,
          timeoutSeconds: 30,
          onLine: (l) => lines.push(l),
          ...extra,
        })
        .then((result) => ({ ...result, lines }));
    };

    beforeAll(async () => {
      runner = await open();
      root = await mkdtemp(join(tmpdir(), `shipml-runner-${name}-`));
      checkout = join(root, 'checkout');
      model = join(root, 'model');
      await mkdir(checkout);
      await mkdir(model);
      await writeFile(join(model, 'weights.bin'), 'the weights\n');
      // What a model cache holds: readable by others, writable by its owner only.
      await chmod(model, 0o755);
      await chmod(join(model, 'weights.bin'), 0o644);
    });
    afterAll(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('runs sh -c in the checkout, which it may write, and passes on the exit code', async () => {
      const ok = await run('echo built > out.txt && pwd >/dev/null && echo done');
      expect(ok.code).toBe(0);
      expect(ok.lines).toEqual(['done']);
      expect(await readFile(join(checkout, 'out.txt'), 'utf8')).toBe('built\n');
      expect((await run('exit 7')).code).toBe(7);
    });

    it('streams stdout and stderr line by line, and keeps stdout when asked', async () => {
      // Apart in time: stdout and stderr are two streams, and only time orders them.
      const r = await run('echo one; sleep 1; echo two >&2; sleep 1; echo three', {
        keepStdoutBytes: 1024,
      });
      expect(r.lines).toEqual(['one', 'two', 'three']);
      expect(r.stdout).toBe('one\nthree\n');
      expect(r.tail).toEqual(['one', 'two', 'three']);
    });

    it('gives the command its variables and the model at MODEL_PATH', async () => {
      const r = await run('echo "$GREETING"; cat "$MODEL_PATH/weights.bin"', {
        env: { GREETING: 'hello' },
      });
      expect(r.code).toBe(0);
      expect(r.lines).toEqual(['hello', 'the weights']);
    });

    it('ends the whole process tree on timeout and on cancel', async () => {
      const started = Date.now();
      const timed = await run('sleep 300 & sleep 300; echo never', { timeoutSeconds: 1 });
      expect(timed.timedOut).toBe(true);
      expect(timed.code).not.toBe(0);
      expect(timed.lines).not.toContain('never');
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 500);
      const cancelled = await run('sleep 300 & sleep 300', { signal: abort.signal });
      expect(cancelled.cancelled).toBe(true);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  });
}
