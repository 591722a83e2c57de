import { createRequire } from 'node:module';

/** Side of the square images, and the length of one input vector. */
export const IMAGE_SIDE = 28;
export const INPUT_SIZE = IMAGE_SIDE * IMAGE_SIDE;
export const CLASS_COUNT = 10;
/** Fraction of each digit's samples held out for evaluation (the last ones, by index). */
export const TEST_FRACTION = 0.2;

/** Samples stored row after row: `x` holds `count` vectors of INPUT_SIZE floats in [0, 1]. */
export interface Dataset {
  x: Float32Array;
  y: Uint8Array;
  count: number;
}

export interface Split {
  train: Dataset;
  test: Dataset;
}

const require = createRequire(import.meta.url);

/** The raw digits of the `mnist` package: per digit, its samples' 784 floats end to end. */
function loadRaw(): Float32Array[] {
  const perDigit: Float32Array[] = [];
  for (let digit = 0; digit < CLASS_COUNT; digit++) {
    const file = require(`mnist/src/digits/${digit}.json`) as { data: number[] };
    perDigit.push(Float32Array.from(file.data));
  }
  return perDigit;
}

/**
 * Splits the `mnist` package's 10,000 digits into train and held-out test sets by index: for
 * each digit, the first 80% of its samples train and the last 20% test. The package's own
 * `set(a, b)` helper is not used because its train and test sets overlap for some sizes.
 * Samples are interleaved by digit (0,1,…,9,0,1,…) so that any prefix is roughly balanced.
 */
export function loadSplit(): Split {
  const raw = loadRaw();
  const trainIdx: Array<[number, number]> = [];
  const testIdx: Array<[number, number]> = [];
  const perDigitCounts = raw.map((r) => r.length / INPUT_SIZE);
  const cut = perDigitCounts.map((n) => n - Math.round(n * TEST_FRACTION));
  const longest = Math.max(...perDigitCounts);
  for (let i = 0; i < longest; i++) {
    for (let digit = 0; digit < CLASS_COUNT; digit++) {
      if (i >= perDigitCounts[digit]!) continue;
      (i < cut[digit]! ? trainIdx : testIdx).push([digit, i]);
    }
  }
  const build = (idx: Array<[number, number]>): Dataset => {
    const x = new Float32Array(idx.length * INPUT_SIZE);
    const y = new Uint8Array(idx.length);
    idx.forEach(([digit, i], n) => {
      x.set(raw[digit]!.subarray(i * INPUT_SIZE, (i + 1) * INPUT_SIZE), n * INPUT_SIZE);
      y[n] = digit;
    });
    return { x, y, count: idx.length };
  };
  return { train: build(trainIdx), test: build(testIdx) };
}

/** The first `limit` samples of a data set (a view, not a copy). */
export function limit(data: Dataset, count: number): Dataset {
  const n = Math.min(count, data.count);
  return { x: data.x.subarray(0, n * INPUT_SIZE), y: data.y.subarray(0, n), count: n };
}

/** Sample `i` of a data set as a 784-float view. */
export function sample(data: Dataset, i: number): Float32Array {
  return data.x.subarray(i * INPUT_SIZE, (i + 1) * INPUT_SIZE);
}
