import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const APP = resolve(import.meta.dirname, '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** A model directory trained with the defaults (seed 42), shared by all test files. */
    modelDir: string;
  }
}

/** Key of the cached model: the training code and the locked dependency versions. */
function trainingKey(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(join(APP, 'train')).sort()) {
    hash.update(file).update(readFileSync(join(APP, 'train', file)));
  }
  hash.update(readFileSync(join(APP, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

function run(args: string[], what: string): void {
  const result = spawnSync(process.execPath, args, {
    cwd: APP,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  }
}

/**
 * Trains the default model once (cached under .cache/, keyed by the training code) and builds
 * dist/ so the integration test runs the entry point that ships (`node dist/src/main.js`).
 */
export default function setup(project: TestProject): void {
  // A pipeline's model-contract check (`npm run test:model`, MODEL_PATH = the candidate)
  // needs neither the default model nor dist/: training and tsc would be most of its time.
  if (process.env.DIGITS_CONTRACT_ONLY && process.env.MODEL_PATH) {
    project.provide('modelDir', process.env.MODEL_PATH);
    return;
  }
  const dir = join(APP, '.cache', `model-${trainingKey()}`);
  if (!existsSync(join(dir, 'metrics.json'))) {
    mkdirSync(join(APP, '.cache'), { recursive: true });
    const tmp = mkdtempSync(join(APP, '.cache', 'tmp-'));
    try {
      run(['--import', 'tsx', 'train/main.ts', '--out', tmp], 'training the test model');
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  run(
    [join(APP, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    'tsc build',
  );
  project.provide('modelDir', dir);
}
