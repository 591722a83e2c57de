import type { Dataset } from './data.js';
import type { Rng } from './rng.js';
import { shuffle } from './rng.js';

/**
 * A two-layer perceptron: probabilities = softmax(relu(x·W1 + b1)·W2 + b2).
 * Weights are float32 and laid out exactly as the ONNX MatMul initializers (W1 is
 * [inputs, hidden] row-major, W2 is [hidden, outputs]), so export is a straight copy.
 */
export interface Mlp {
  inputs: number;
  hidden: number;
  outputs: number;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  momentum: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  learningRate: number;
}

/** He-uniform initialised weights, zero biases. */
export function initMlp(inputs: number, hidden: number, outputs: number, rng: Rng): Mlp {
  const uniform = (n: number, fanIn: number) => {
    const a = Math.sqrt(6 / fanIn);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = (rng() * 2 - 1) * a;
    return w;
  };
  return {
    inputs,
    hidden,
    outputs,
    w1: uniform(inputs * hidden, inputs),
    b1: new Float32Array(hidden),
    w2: uniform(hidden * outputs, hidden),
    b2: new Float32Array(outputs),
  };
}

/**
 * Forward pass for one sample; writes the hidden activations into `h` and the class
 * probabilities into `p`. Zero inputs are skipped: most MNIST pixels are background.
 */
export function forward(m: Mlp, x: Float32Array, h: Float64Array, p: Float64Array): void {
  const { inputs, hidden, outputs, w1, b1, w2, b2 } = m;
  for (let j = 0; j < hidden; j++) h[j] = b1[j]!;
  for (let i = 0; i < inputs; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * hidden;
    for (let j = 0; j < hidden; j++) h[j]! += xi * w1[row + j]!;
  }
  for (let j = 0; j < hidden; j++) if (h[j]! < 0) h[j] = 0;
  let max = -Infinity;
  for (let k = 0; k < outputs; k++) {
    let z = b2[k]!;
    for (let j = 0; j < hidden; j++) z += h[j]! * w2[j * outputs + k]!;
    p[k] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let k = 0; k < outputs; k++) {
    const e = Math.exp(p[k]! - max);
    p[k] = e;
    sum += e;
  }
  for (let k = 0; k < outputs; k++) p[k]! /= sum;
}

/** Index of the largest value. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
  return best;
}

/**
 * Mini-batch SGD with momentum on the cross-entropy loss. The sample order of every epoch
 * comes from `rng`, so a given seed always visits the data in the same order.
 */
export function trainMlp(
  m: Mlp,
  data: Dataset,
  options: TrainOptions,
  rng: Rng,
  onEpoch?: (report: EpochReport) => void,
): void {
  const { inputs, hidden, outputs, w1, b1, w2, b2 } = m;
  const g1 = new Float64Array(w1.length);
  const gb1 = new Float64Array(hidden);
  const g2 = new Float64Array(w2.length);
  const gb2 = new Float64Array(outputs);
  const v1 = new Float64Array(w1.length);
  const vb1 = new Float64Array(hidden);
  const v2 = new Float64Array(w2.length);
  const vb2 = new Float64Array(outputs);
  const h = new Float64Array(hidden);
  const p = new Float64Array(outputs);
  const dh = new Float64Array(hidden);
  const order = new Uint32Array(data.count);
  for (let i = 0; i < order.length; i++) order[i] = i;

  const step = (w: Float32Array, g: Float64Array, v: Float64Array, lr: number, n: number) => {
    for (let i = 0; i < w.length; i++) {
      v[i] = options.momentum * v[i]! - (lr * g[i]!) / n;
      w[i]! += v[i]!;
      g[i] = 0;
    }
  };

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    // Step decay: halve the rate every 4 epochs.
    const lr = options.learningRate * Math.pow(0.5, Math.floor((epoch - 1) / 4));
    shuffle(order, rng);
    let loss = 0;
    for (let start = 0; start < data.count; start += options.batchSize) {
      const end = Math.min(start + options.batchSize, data.count);
      for (let s = start; s < end; s++) {
        const n = order[s]!;
        const x = data.x.subarray(n * inputs, (n + 1) * inputs);
        const label = data.y[n]!;
        forward(m, x, h, p);
        loss -= Math.log(Math.max(p[label]!, 1e-12));
        // dLoss/dz = p - onehot(label)
        p[label]! -= 1;
        for (let k = 0; k < outputs; k++) gb2[k]! += p[k]!;
        for (let j = 0; j < hidden; j++) {
          const hj = h[j]!;
          let back = 0;
          for (let k = 0; k < outputs; k++) {
            g2[j * outputs + k]! += hj * p[k]!;
            back += w2[j * outputs + k]! * p[k]!;
          }
          dh[j] = hj > 0 ? back : 0;
          gb1[j]! += dh[j]!;
        }
        for (let i = 0; i < inputs; i++) {
          const xi = x[i]!;
          if (xi === 0) continue;
          const row = i * hidden;
          for (let j = 0; j < hidden; j++) g1[row + j]! += xi * dh[j]!;
        }
      }
      const n = end - start;
      step(w1, g1, v1, lr, n);
      step(b1, gb1, vb1, lr, n);
      step(w2, g2, v2, lr, n);
      step(b2, gb2, vb2, lr, n);
    }
    onEpoch?.({ epoch, loss: loss / data.count, learningRate: lr });
  }
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  perClassAccuracy: number[];
  perClassCount: number[];
  predictions: Uint8Array;
}

/** Accuracy, mean cross-entropy and per-class accuracy on a data set. */
export function evaluate(m: Mlp, data: Dataset): Evaluation {
  const h = new Float64Array(m.hidden);
  const p = new Float64Array(m.outputs);
  const correct = new Array<number>(m.outputs).fill(0);
  const count = new Array<number>(m.outputs).fill(0);
  const predictions = new Uint8Array(data.count);
  let loss = 0;
  for (let n = 0; n < data.count; n++) {
    forward(m, data.x.subarray(n * m.inputs, (n + 1) * m.inputs), h, p);
    const label = data.y[n]!;
    const guess = argmax(p);
    predictions[n] = guess;
    loss -= Math.log(Math.max(p[label]!, 1e-12));
    count[label]!++;
    if (guess === label) correct[label]!++;
  }
  const total = correct.reduce((a, b) => a + b, 0);
  return {
    accuracy: data.count ? total / data.count : 0,
    loss: data.count ? loss / data.count : 0,
    perClassAccuracy: correct.map((c, k) => (count[k] ? c / count[k] : 0)),
    perClassCount: count,
    predictions,
  };
}
