import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineSplitter, runProcess } from './process.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-process-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const sh = (script: string, options: Partial<Parameters<typeof runProcess>[2]> = {}) => {
  const lines: string[] = [];
  const result = runProcess('sh', ['-c', script], {
    env: process.env,
    onLine: (line) => lines.push(line),
    ...options,
  });
  return { lines, result };
};

/** Whether a process is still there (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

describe('runProcess', () => {
  it('passes on a line split across two writes once, whole, and a last line without newline', async () => {
    const { lines, result } = sh(
      "printf 'hel'; sleep 0.3; printf 'lo\\nwor'; sleep 0.3; printf 'ld'",
    );
    const done = await result;
    expect(done.code).toBe(0);
    expect(lines).toEqual(['hello', 'world']);
    expect(done.tail).toEqual(['hello', 'world']);
  });

  it('keeps a UTF-8 character cut across two writes intact', async () => {
    const { lines, result } = sh("printf '\\303'; sleep 0.3; printf '\\251t\\n'");
    await result;
    expect(lines[0]).toBe('ét');
  });

  it('keeps stdout (bounded) and the last lines of both streams', async () => {
    const { lines, result } = sh('for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done', {
      tailLines: 3,
      keepStdoutBytes: 10,
    });
    const done = await result;
    expect(done.stdout).toBe('out4\nout5\n');
    // Two pipes: which stream's line arrives first is the reader's luck, not the program's
    // order. The tail is the last three lines as they arrived, from both streams.
    expect(lines).toHaveLength(10);
    expect(lines.filter((l) => l.startsWith('err'))).toEqual([
      'err1',
      'err2',
      'err3',
      'err4',
      'err5',
    ]);
    expect(done.tail).toEqual(lines.slice(-3));
  });

  it('reports the exit code of a failing program', async () => {
    const done = await sh('echo bad >&2; exit 3').result;
    expect(done).toMatchObject({ code: 3, timedOut: false, cancelled: false, tail: ['bad'] });
  });

  it('on timeout, ends the whole tree: a grandchild the program started is killed too', async () => {
    const pidFile = join(work, 'grandchild.pid');
    const started = Date.now();
    const done = await sh(`sleep 60 & echo $! > ${pidFile}; wait`, {
      timeoutMs: 500,
      killGraceMs: 1000,
    }).result;
    expect(done.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    expect(await gone(grandchild)).toBe(true);
  });

  it('on abort, ends the whole tree and says it was cancelled', async () => {
    const pidFile = join(work, 'cancelled.pid');
    const controller = new AbortController();
    const running = sh(`sleep 60 & echo $! > ${pidFile}; echo started; wait`, {
      signal: controller.signal,
      onLine: () => controller.abort(),
    }).result;
    const done = await running;
    expect(done.cancelled).toBe(true);
    expect(await gone(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('rejects when the program does not exist', async () => {
    await expect(
      runProcess('shipml-no-such-program', [], { env: process.env }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('lineSplitter', () => {
  it('drops the \\r of CRLF lines and cuts an endless line into bounded pieces', () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    split.push('a\r\nb');
    split.push('c\r\n');
    split.push('x'.repeat(150 * 1024));
    split.end();
    expect(lines.slice(0, 2)).toEqual(['a', 'bc']);
    expect(lines.slice(2).join('')).toHaveLength(150 * 1024);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(64 * 1024);
  });
});
