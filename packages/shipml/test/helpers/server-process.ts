/**
 * `shipml server` and `shipml worker` as real processes (the built binary, dist/cli/main.js)
 * for the fault tests and the benchmarks: started, waited for (bounded), killed by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CLI_BIN } from './cli.js';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** The URL it listens on (`shipml server --json`); undefined for a worker. */
  url: string | undefined;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** Sends `signal` (by PID) and waits for the exit, at most `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<string>;
}

export function requireBuiltCli(): void {
  if (!existsSync(CLI_BIN))
    throw new Error(`${CLI_BIN} is missing: run npm run build in packages/shipml first`);
}

/** Starts `shipml server|worker -c FILE` and waits (bounded) until it is up. */
export async function startProcess(
  command: 'server' | 'worker',
  configFile: string,
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number; args?: string[]; nodeArgs?: string[] } = {},
): Promise<ServerProcess> {
  requireBuiltCli();
  const args = [
    ...(options.nodeArgs ?? []),
    CLI_BIN,
    command,
    '-c',
    configFile,
    ...(options.args ?? []),
  ];
  if (command === 'server') args.push('--port', '0', '--json');
  const child = spawn(process.execPath, args, {
    env: { ...env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  let gone: string | undefined;
  void exited.then((why) => (gone = why));
  const ready = command === 'server' ? /"url":\s*"(http:[^"]+)"/ : /claiming runs of/;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let match: RegExpExecArray | null = null;
  while (!(match = ready.exec(out))) {
    if (gone !== undefined || Date.now() > deadline) {
      if (gone === undefined) child.kill('SIGKILL');
      throw new Error(
        `shipml ${command} did not start (${gone ?? 'timed out'}):\n${out.slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    url: command === 'server' ? match[1] : undefined,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (gone !== undefined) return gone;
      try {
        process.kill(pid, signal);
      } catch {
        return exited;
      }
      const timer = setTimeout(() => {
        if (gone === undefined) process.kill(pid, 'SIGKILL');
      }, timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Whether a process with this PID is alive (and not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

/** Ends a process by PID if it still runs (SIGKILL: it is an orphan of a killed server). */
export function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
