import { INPUT_SIZE } from './model.js';

/** What the batcher needs from a model: one call scoring many inputs at once. */
export interface BatchRunner {
  classes: number;
  run(inputs: Float32Array, count: number): Promise<Float32Array>;
}

export interface BatchStats {
  /** Called after each session.run with its size and duration. */
  onRun?: (inputs: number, seconds: number) => void;
}

interface Pending {
  inputs: Float32Array;
  count: number;
  resolve: (probabilities: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/**
 * Coalesces concurrent requests into shared inference calls ("dynamic batching"): requests
 * that arrive while the model is busy, or in the same event-loop turn, are scored together in
 * one session.run. A request's inputs are never split across runs. Nothing waits on a timer, so
 * a lone request is scored at once. The queue is bounded: beyond `maxQueued` waiting inputs
 * `submit` rejects with QueueFullError instead of buffering without limit.
 */
export class Batcher {
  private queue: Pending[] = [];
  private queued = 0;
  private running = false;
  private scheduled = false;

  constructor(
    private readonly model: BatchRunner,
    private readonly maxRunBatch: number,
    private readonly maxQueued: number,
    private readonly stats: BatchStats = {},
  ) {}

  /** Inputs waiting for a run. */
  get depth(): number {
    return this.queued;
  }

  /** Scores `count` inputs (count × 784 floats); resolves to count × classes probabilities. */
  submit(inputs: Float32Array, count: number): Promise<Float32Array> {
    if (this.queued + count > this.maxQueued && this.queued > 0) {
      return Promise.reject(
        new QueueFullError(`inference queue is full (${this.queued} inputs waiting)`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, count, resolve, reject });
      this.queued += count;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the current poll phase, so requests parsed in the same turn join.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let total = 0;
        while (this.queue.length > 0) {
          const next = this.queue[0]!;
          if (batch.length > 0 && total + next.count > this.maxRunBatch) break;
          batch.push(this.queue.shift()!);
          total += next.count;
        }
        this.queued -= total;
        await this.runBatch(batch, total);
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Pending[], total: number): Promise<void> {
    let inputs: Float32Array;
    if (batch.length === 1) {
      inputs = batch[0]!.inputs;
    } else {
      inputs = new Float32Array(total * INPUT_SIZE);
      let offset = 0;
      for (const p of batch) {
        inputs.set(p.inputs.subarray(0, p.count * INPUT_SIZE), offset);
        offset += p.count * INPUT_SIZE;
      }
    }
    const started = process.hrtime.bigint();
    let output: Float32Array;
    try {
      output = await this.model.run(inputs, total);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.stats.onRun?.(total, Number(process.hrtime.bigint() - started) / 1e9);
    const classes = this.model.classes;
    let offset = 0;
    for (const p of batch) {
      p.resolve(output.slice(offset * classes, (offset + p.count) * classes));
      offset += p.count;
    }
  }
}
