import { hostRunner } from '../src/runners/host/index.js';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/core/process.js';
import type { RunReport } from '../src/pipeline/types.js';
import { runCommand } from '../src/pipeline/command.js';
import { runCli } from './helpers/cli.js';

const run = promisify(execFile);
const ESC = '\u001b';
// A test runner's coloured output, as vitest prints it with CI set: SGR colours, a line
// erase, an OSC 8 hyperlink, and an escape cut across two writes.
const COLOURED = [
  `printf '\\033[32m✓\\033[39m adds \\033[2m(3 ms)\\033[22m\\n'`,
  `printf '\\033[2K\\033[1G\\033]8;;file:///a.test\\033\\\\a.test\\033]8;;\\033\\\\ ok\\n'`,
  `printf '\\033[3'; sleep 0.2; printf '1mexpected 2 to be 3\\033[39m\\n' >&1`,
].join('; ');
const PLAIN = ['✓ adds (3 ms)', 'a.test ok', 'expected 2 to be 3'];

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-plain-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the command runner keeps plain text', () => {
  it('lines, tail, stdout and the log file have no escape codes', async () => {
    const lines: string[] = [];
    const logFile = join(work, 'test.log');
    const result = await runCommand(hostRunner({ env: process.env }), COLOURED, {
      cwd: work,
      env: {},
      timeoutSeconds: 30,
      onLine: (line) => lines.push(line),
      logFile,
    });
    expect(result.code).toBe(0);
    expect(lines).toEqual(PLAIN);
    expect(result.tail).toEqual(PLAIN);
    expect(result.stdout).toBe(PLAIN.map((l) => `${l}\n`).join(''));
    expect(await readFile(logFile, 'utf8')).toBe(PLAIN.map((l) => `${l}\n`).join(''));
  });

  it('runProcess passes output on unchanged unless asked (docker build output is its own)', async () => {
    const lines: string[] = [];
    await runProcess('sh', ['-c', COLOURED], { env: process.env, onLine: (l) => lines.push(l) });
    expect(lines[0]).toBe(`${ESC}[32m✓${ESC}[39m adds ${ESC}[2m(3 ms)${ESC}[22m`);
  });
});

describe('shipml run: a coloured test command', () => {
  it('prints, reports and logs plain text', async () => {
    const repo = join(work, 'repo');
    await mkdir(repo);
    const model = join(work, 'model');
    await mkdir(model);
    await writeFile(join(model, 'weights.bin'), 'w');
    const store = `file://${join(work, 'store')}`;
    const env = { HOME: work, PATH: process.env.PATH };
    const published = await runCli(
      ['model', 'publish', model, '-n', 'tiny', '-v', '1', '--store', store],
      { env },
    );
    expect(published.code, published.stderr).toBe(0);
    await writeFile(join(repo, 'package.json'), '{"name":"tiny","version":"1.0.0"}');
    await writeFile(
      join(repo, 'shipml.yaml'),
      [
        'model:',
        '  name: tiny',
        `  store: ${store}`,
        'build:',
        '  base: 127.0.0.1:1/never/used:1',
        '  cmd: [node, server.js]',
        'test:',
        `  command: ${JSON.stringify(`${COLOURED}; exit 1`)}`,
      ].join('\n'),
    );
    await run('git', ['init', '-q', repo]);
    await run('git', ['-C', repo, 'add', '-A']);
    await run('git', [
      '-C',
      repo,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-qm',
      'x',
    ]);

    const plainRun = await runCli(['run', '--until', 'test'], { cwd: repo, env });
    expect(plainRun.code).toBe(1);
    for (const line of PLAIN) expect(plainRun.stderr).toContain(`test | ${line}`);
    expect(plainRun.stderr).toContain('failed (exit 1): expected 2 to be 3');
    const json = await runCli(['run', '--until', 'test', '--json'], { cwd: repo, env });
    const { report } = JSON.parse(json.stdout) as { report: RunReport };
    const log = await readFile(join(repo, '.shipml', 'runs', report.id, 'test.log'), 'utf8');
    expect(log).toBe(PLAIN.map((l) => `${l}\n`).join(''));
    for (const text of [plainRun.stdout, plainRun.stderr, json.stdout, log])
      expect(text).not.toContain(ESC);
  }, 60_000);
});
