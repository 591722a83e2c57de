import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/server/store/group-commit.js';

describe('GroupCommit', () => {
  it('commits calls that arrive together as one, and calls behind a commit in the next', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const group = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    });
    const first = [1, 2].map((i) => group.submit(i));
    await new Promise((r) => setImmediate(r)); // the first commit is in flight now
    expect(batches).toEqual([[1, 2]]);
    const rest = [3, 4, 5].map((i) => group.submit(i));
    release();
    expect(await Promise.all([...first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('retries a failed batch one call at a time: only the bad call fails', async () => {
    const group = new GroupCommit<number, number>((items) =>
      items.includes(3) ? Promise.reject(new Error('bad item 3')) : Promise.resolve(items),
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => group.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([
      1,
      2,
      'Error: bad item 3',
      4,
    ]);
  });

  it('caps a batch', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number, number>(async (items) => {
      sizes.push(items.length);
      await new Promise((r) => setTimeout(r, 1));
      return items;
    }, 3);
    await Promise.all(Array.from({ length: 8 }, (_, i) => group.submit(i)));
    expect(sizes).toEqual([3, 3, 2]);
  });
});
