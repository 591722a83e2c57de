import type { Readable, Writable } from 'node:stream';

/** One destination of fanOut. */
export interface FanOutBranch {
  stream: Writable;
  /**
   * A droppable branch that fails (errors, or is destroyed by its consumer) is left behind
   * and the others go on; a required one that fails fails the whole fan-out.
   */
  droppable?: boolean;
}

/**
 * Feeds every chunk of `source` to each branch — one read, several consumers — going only
 * as fast as the slowest live branch (backpressure). Ends the branches that are still live
 * at the source's end. Resolves with each branch's error (undefined for those that took
 * everything); rejects, destroying every branch, when the source or a required branch fails.
 */
export async function fanOut(
  source: Readable,
  branches: readonly FanOutBranch[],
): Promise<Array<Error | undefined>> {
  const errors: Array<Error | undefined> = branches.map(() => undefined);
  const live = new Set(branches.keys());
  const onError = branches.map((_, i) => (err: Error) => {
    errors[i] ??= err;
  });
  branches.forEach((b, i) => b.stream.on('error', onError[i]!));
  const check = (i: number): boolean => {
    const stream = branches[i]!.stream;
    if (!stream.destroyed && !errors[i]) return true;
    errors[i] ??= new Error('the consumer closed the stream early');
    live.delete(i);
    if (!branches[i]!.droppable) throw errors[i];
    return false;
  };
  try {
    for await (const chunk of source) {
      const waits: Array<Promise<void>> = [];
      for (const i of [...live]) {
        if (!check(i)) continue;
        const stream = branches[i]!.stream;
        if (!stream.write(chunk)) waits.push(drained(stream));
      }
      await Promise.all(waits);
      for (const i of [...live]) check(i);
    }
    for (const i of live) branches[i]!.stream.end();
    return errors;
  } catch (err) {
    source.destroy();
    for (const b of branches) b.stream.destroy(err as Error);
    throw err;
  } finally {
    branches.forEach((b, i) => b.stream.off('error', onError[i]!));
    // A late error of a destroyed branch must not become an unhandled 'error' event.
    for (const b of branches) b.stream.on('error', () => undefined);
  }
}

/** Resolves when the stream wants more, or can take no more (closed or failed). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
