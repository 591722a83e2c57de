/**
 * Moves one large file through the real CLI (`shipml model publish`, then `pull --no-cache`)
 * in child processes and reports throughput and each process's peak RSS, read by a tiny
 * preload (`process.resourceUsage().maxRSS` at exit): the number a user's machine sees.
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreSpec } from './registry.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface LargeTransferResult {
  sourceSha256: string;
  pulledSha256: string;
  publishMiBps: number;
  pullMiBps: number;
  publishMaxRssMiB: number;
  pullMaxRssMiB: number;
}

export async function transferLargeFile(input: {
  work: string;
  spec: StoreSpec;
  env: NodeJS.ProcessEnv;
  size: number;
}): Promise<LargeTransferResult> {
  const dir = join(input.work, `large-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  try {
    const source = join(dir, 'weights.bin');
    const sourceSha256 = await writeRandomFile(source, input.size);
    const preload = join(dir, 'max-rss.mjs');
    await writeFile(
      preload,
      "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.SHIPML_MAX_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
    );
    const url = specAsUrl(input.spec);
    const run = async (
      args: string[],
      rssFile: string,
    ): Promise<{ seconds: number; maxRssMiB: number }> => {
      const started = process.hrtime.bigint();
      await runCli(
        [...args, '--store', url],
        { ...input.env, SHIPML_MAX_RSS_FILE: rssFile, SHIPML_CACHE_DIR: join(dir, 'cache') },
        preload,
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { seconds, maxRssMiB: Number(await readFile(rssFile, 'utf8')) / 1024 };
    };
    const mib = input.size / 1024 / 1024;
    const published = await run(
      ['model', 'publish', source, '--name', 'large', '--version', '1'],
      join(dir, 'publish.rss'),
    );
    await rm(source);
    const pulled = await run(
      ['model', 'pull', 'large@1', join(dir, 'pulled'), '--no-cache'],
      join(dir, 'pull.rss'),
    );
    const pulledSha256 = await sha256File(join(dir, 'pulled', 'weights.bin'));
    return {
      sourceSha256,
      pulledSha256,
      publishMiBps: mib / published.seconds,
      pullMiBps: mib / pulled.seconds,
      publishMaxRssMiB: published.maxRssMiB,
      pullMaxRssMiB: pulled.maxRssMiB,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A spec's non-secret options as URL query parameters (credentials stay in env). */
export function specAsUrl(spec: StoreSpec): string {
  const { url, ...options } = spec;
  const query = new URLSearchParams(
    Object.entries(options).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, preload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', preload, CLI, ...args], {
      env: { ...env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `shipml ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.split('\n').find((l) => l.startsWith('error:')) ?? stderr.trim()}`,
            ),
          ),
    );
  });
}

async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (let written = 0; written < size; written += chunk.length) {
    const part = randomFillSync(chunk).subarray(0, Math.min(chunk.length, size - written));
    hash.update(part);
    if (!out.write(Buffer.from(part))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return hash.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
