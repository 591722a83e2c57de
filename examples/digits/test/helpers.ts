import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { DigitsServer } from '../src/server.js';

export const APP = resolve(import.meta.dirname, '..');

/** Starts the server in this process on 127.0.0.1 and a free port. */
export async function startServer(
  modelDir: string,
  env: Record<string, string> = {},
): Promise<{ server: DigitsServer; url: string; close: () => Promise<void> }> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', MODEL_PATH: modelDir, ...env });
  const server = new DigitsServer(config, pino({ level: 'silent' }), { defaultMetrics: false });
  await server.start();
  return { server, url: server.url, close: () => server.shutdown('test done') };
}

/** A server running as its own process (`node dist/src/main.js`), as a container would run it. */
export interface ChildServer {
  proc: ChildProcess;
  url: string;
  /** Everything it wrote to stdout (pino JSON lines) so far. */
  output: () => string;
  exited: Promise<number | null>;
}

const spawned = new Set<ChildProcess>();

/** Kills every spawned server still running (after a failed assertion skipped its stop). */
export function killSpawned(): void {
  for (const proc of spawned)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  spawned.clear();
}

export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  const proc = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: APP,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(proc);
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // 'close', not 'exit': the output is complete only once stdout and stderr are closed.
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
    if (match) url = match[1];
    else if (proc.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    else if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${out}`);
    } else await sleep(50);
  }
  return { proc, url, output: () => out, exited };
}

/** Polls `url` until it answers `status` (bounded). */
export async function waitFor(url: string, status: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (got === status) return;
    if (Date.now() > deadline) throw new Error(`${url} answered ${got}, expected ${status}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export interface PredictResponse {
  predictions: Array<{ label: string; confidence: number; probabilities: number[] }>;
  labels: string[];
}

/** One metric's value from a Prometheus text exposition (sum over matching lines). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
