/**
 * A user's shell for the README walk-throughs: each command runs as its own process with
 * exactly the environment given (nothing inherited from the test runner), bounded in time,
 * and the model digest recomputed by README's own definition, independently of ShipML.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CLI_BIN, type CliRun } from './cli.js';

export interface ShellOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Killed (with its whole process group) after this long; the result then says so. */
  timeoutMs: number;
}

/** Runs `command args` as a user would type it; never rejects, the exit code tells. */
export function sh(command: string, args: string[], options: ShellOptions): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also ends what it started (npm test, servers).
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[readme-shell] ${command} ${args.join(' ')}: killed after ${options.timeoutMs} ms`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** `shipml ARGS` with the built binary (dist/cli/main.js), as `npm install -g` puts it on PATH. */
export function shipml(args: string[], options: ShellOptions): Promise<CliRun> {
  return sh(process.execPath, [CLI_BIN, ...args], options);
}

async function filesUnder(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(root, full)));
    else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'));
  }
  return out;
}

/**
 * README's model digest of a directory: `sha256:` + sha256 of the JSON array of
 * `{"path","size","sha256"}` sorted by path, without whitespace.
 */
export async function modelDigestOf(dir: string): Promise<string> {
  const entries = [];
  for (const path of (await filesUnder(dir)).sort()) {
    const full = join(dir, path);
    const bytes = await readFile(full);
    entries.push({
      path,
      size: (await stat(full)).size,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  return `sha256:${createHash('sha256').update(JSON.stringify(entries)).digest('hex')}`;
}

/** Every file of `dir` with its sha256, by relative path: to compare a pull with its source. */
export async function fileHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of (await filesUnder(dir)).sort())
    out[path] = createHash('sha256')
      .update(await readFile(join(dir, path)))
      .digest('hex');
  return out;
}
