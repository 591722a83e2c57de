import { parseArgs } from 'node:util';

/** Training options; every one has a default except the output directory. */
export interface TrainArgs {
  out: string;
  seed: number;
  epochs: number;
  hidden: number;
  learningRate: number;
  batchSize: number;
  momentum: number;
  /** Use only the first N training samples (for deliberately weaker models). */
  trainLimit: number | null;
}

export const USAGE = `usage: npm run train -- --out DIR [options]

  --out DIR           where to write model.onnx, labels.json and metrics.json (required)
  --seed N            random seed; the same seed gives byte-identical files (default 42)
  --epochs N          passes over the training set; 0 leaves the random initial weights (default 8)
  --hidden N          hidden units (default 128)
  --lr X              learning rate (default 0.05, halved every 4 epochs)
  --batch-size N      mini-batch size (default 32)
  --momentum X        SGD momentum (default 0.9)
  --train-limit N     train on the first N training samples only (default: all)

Deliberately worse models, for quality-gate tests:
  --epochs 0                 untrained: accuracy near 0.10
  --train-limit 100 --epochs 2   accuracy around 0.6-0.7
  --hidden 4 --epochs 1      accuracy around 0.8`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new UsageError(`--${name} must be a non-negative integer, got '${raw}'`);
  const value = Number(raw);
  if (value < min || !Number.isSafeInteger(value))
    throw new UsageError(`--${name} must be ≥ ${min}, got ${raw}`);
  return value;
}

function num(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} must be a non-negative number, got '${raw}'`);
  }
  return value;
}

/** Parses the command line; throws UsageError with a one-line message on bad input. */
export function parseTrainArgs(argv: string[]): TrainArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        out: { type: 'string' },
        seed: { type: 'string' },
        epochs: { type: 'string' },
        hidden: { type: 'string' },
        lr: { type: 'string' },
        'batch-size': { type: 'string' },
        momentum: { type: 'string' },
        'train-limit': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.out) throw new UsageError('--out DIR is required');
  const trainLimit = values['train-limit'];
  return {
    out: values.out,
    seed: int('seed', values.seed, 42, 0),
    epochs: int('epochs', values.epochs, 8, 0),
    hidden: int('hidden', values.hidden, 128, 1),
    learningRate: num('lr', values.lr, 0.05),
    batchSize: int('batch-size', values['batch-size'], 32, 1),
    momentum: num('momentum', values.momentum, 0.9),
    trainLimit: trainLimit === undefined ? null : int('train-limit', trainLimit, 0, 1),
  };
}
