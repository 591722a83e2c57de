import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ModelRepository } from '../model-store/repository.js';

const run = promisify(execFile);
/** examples/digits, from src/demo or dist/demo alike. */
export const DIGITS = fileURLToPath(new URL('../../../../examples/digits', import.meta.url));

/** Trains examples/digits into the demo dir; returns the model directory (with metrics.json). */
export async function train(
  signal: AbortSignal,
  dir: string,
  version: string,
  args: string[],
): Promise<string> {
  const outDir = join(dir, 'trained', version);
  await run(process.execPath, ['--import', 'tsx', 'train/main.ts', '--out', outDir, ...args], {
    cwd: DIGITS,
    signal,
    maxBuffer: 16 << 20,
  });
  return outDir;
}

/** Publishes a trained model directory with its metrics; returns the accuracy. */
export async function publish(
  signal: AbortSignal,
  repo: ModelRepository,
  outDir: string,
  version: string,
): Promise<string> {
  const metrics = JSON.parse(await readFile(join(outDir, 'metrics.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await repo.publish({
    source: outDir,
    name: 'digits',
    version,
    channels: ['latest'],
    metrics,
    signal,
  });
  return String(metrics.accuracy);
}

/** Trains examples/digits into the demo dir and publishes it with its metrics; returns the accuracy. */
export async function trainAndPublish(
  signal: AbortSignal,
  repo: ModelRepository,
  dir: string,
  version: string,
  args: string[],
): Promise<string> {
  return publish(signal, repo, await train(signal, dir, version, args), version);
}
