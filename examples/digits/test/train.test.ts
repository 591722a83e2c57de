import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DigitModel } from '../src/model.js';
import { CLASS_COUNT, INPUT_SIZE, loadSplit, sample } from '../train/data.js';
import { forward, initMlp, trainMlp } from '../train/mlp.js';
import { exportOnnx } from '../train/onnx-export.js';
import { parseTrainArgs } from '../train/options.js';
import { createRng } from '../train/rng.js';
import { APP } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'digits-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function train(out: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'train/main.ts', '--out', out, ...args], {
    cwd: APP,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('data split', () => {
  const { train: tr, test } = loadSplit();

  it('holds out the last 20% of each digit, 8000 train and 2000 test samples', () => {
    expect(tr.count).toBe(8000);
    expect(test.count).toBe(2000);
    const perClass = new Array<number>(CLASS_COUNT).fill(0);
    for (const y of test.y) perClass[y]!++;
    // mnist ships 863 to 1127 samples per digit; 20% of each is held out.
    expect(Math.min(...perClass)).toBe(173);
    expect(Math.max(...perClass)).toBe(225);
  });

  it('never puts the same image in both sets', () => {
    const key = (x: Float32Array) =>
      createHash('sha1')
        .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
        .digest('hex');
    const trainKeys = new Set<string>();
    for (let i = 0; i < tr.count; i++) trainKeys.add(key(sample(tr, i)));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (trainKeys.has(key(sample(test, i)))) shared++;
    expect(shared).toBe(0);
  });
});

describe('training CLI', () => {
  it('writes a model that meets the accuracy bar, with per-class metrics and sample counts', () => {
    const dir = inject('modelDir');
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {
      accuracy: number;
      perClassAccuracy: Record<string, number>;
      samples: { train: number; test: number; testPerClass: Record<string, number> };
    };
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.92);
    expect(Object.keys(metrics.perClassAccuracy)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    for (const acc of Object.values(metrics.perClassAccuracy)) expect(acc).toBeGreaterThan(0.8);
    expect(metrics.samples.train).toBe(8000);
    expect(metrics.samples.test).toBe(2000);
    expect(Object.values(metrics.samples.testPerClass).reduce((a, b) => a + b, 0)).toBe(2000);
    expect(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'))).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
  });

  it('is deterministic: the same seed gives byte-identical files, another seed another model', () => {
    const args = ['--epochs', '1', '--train-limit', '1500'];
    for (const [name, seed] of [
      ['a', '7'],
      ['b', '7'],
      ['c', '8'],
    ] as const) {
      const r = train(join(tmp, name), '--seed', seed, ...args);
      expect(r.status, r.stderr).toBe(0);
    }
    for (const file of ['model.onnx', 'labels.json', 'metrics.json']) {
      expect(sha(join(tmp, 'a', file)), file).toBe(sha(join(tmp, 'b', file)));
    }
    expect(sha(join(tmp, 'a', 'model.onnx'))).not.toBe(sha(join(tmp, 'c', 'model.onnx')));
  });

  it('makes a deliberately worse model with --epochs 0', () => {
    const r = train(join(tmp, 'worse'), '--epochs', '0');
    expect(r.status, r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(tmp, 'worse', 'metrics.json'), 'utf8')) as {
      accuracy: number;
    };
    expect(metrics.accuracy).toBeLessThan(0.3);
  });

  it('refuses bad options with exit code 2 and a usage message', () => {
    const r = train(join(tmp, 'bad'), '--epochs', 'many');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--epochs must be a non-negative integer');
    expect(r.stderr).toContain('usage: npm run train');
    expect(() => parseTrainArgs([])).toThrow('--out DIR is required');
    expect(() => parseTrainArgs(['--out', 'x', '--bogus'])).toThrow(/bogus/);
    expect(parseTrainArgs(['--out', 'x']).epochs).toBe(8);
  });
});

describe('ONNX export', () => {
  it('runs in onnxruntime with the same probabilities as the training code', async () => {
    const { train: tr, test } = loadSplit();
    const rng = createRng(3);
    const m = initMlp(INPUT_SIZE, 16, CLASS_COUNT, rng);
    trainMlp(
      m,
      { x: tr.x.subarray(0, 500 * INPUT_SIZE), y: tr.y.subarray(0, 500), count: 500 },
      { epochs: 1, batchSize: 32, learningRate: 0.05, momentum: 0.9 },
      rng,
    );
    const dir = join(tmp, 'export');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), exportOnnx(m, { note: 'test' }, '0.0.0'));
    const model = await DigitModel.load(dir, { intraOpThreads: 1 });
    try {
      const n = 20;
      const out = await model.run(test.x.slice(0, n * INPUT_SIZE), n);
      const h = new Float64Array(16);
      const p = new Float64Array(CLASS_COUNT);
      for (let i = 0; i < n; i++) {
        forward(m, sample(test, i), h, p);
        for (let k = 0; k < CLASS_COUNT; k++)
          expect(out[i * CLASS_COUNT + k]).toBeCloseTo(p[k]!, 4);
      }
      expect(model.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    } finally {
      await model.release();
    }
  });
});
