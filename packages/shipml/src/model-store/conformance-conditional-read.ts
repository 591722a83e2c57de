/**
 * Conformance cases for conditional reads (ModelStore.readIfChanged and the repository's
 * readChannelIfChanged): what the server's model-channel watch polls. Part of
 * runModelStoreConformance; split out so each file stays small.
 */
import { expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { layout } from './layout.js';
import type { ModelRepository } from './repository.js';
import type { ModelStore } from './types.js';

/** Registers the cases; `open` gives a repository over a fresh, empty namespace. */
export function conditionalReadCases(
  open: () => Promise<{ repo: ModelRepository; store: ModelStore }>,
  labelsFile: () => string,
): void {
  it('reads an object conditionally: unchanged while its ETag matches, the new bytes after a write', async () => {
    const { store } = await open();
    const key = 'conditional/pointer.json';
    expect(await store.readIfChanged(key, '"no-such-etag"')).toBeUndefined();
    const first = await store.writeSmall(key, Buffer.from('{"v":1}'));
    expect(await store.readIfChanged(key, first)).toBe('unchanged');
    const read = await store.readIfChanged(key, '"some-other-etag"');
    expect(read !== 'unchanged' && read?.bytes.toString()).toBe('{"v":1}');
    expect(read !== 'unchanged' && read?.etag).toBe(first);
    const second = await store.writeSmall(key, Buffer.from('{"v":2}'), {
      condition: { ifMatch: first },
    });
    expect(second).not.toBe(first);
    const changed = await store.readIfChanged(key, first);
    expect(changed !== 'unchanged' && changed?.bytes.toString()).toBe('{"v":2}');
    expect(await store.readIfChanged(key, second)).toBe('unchanged');
    await store.delete([key]);
    expect(await store.readIfChanged(key, second)).toBeUndefined();
  });

  it('watches a channel through conditional reads: absent, found, unchanged, moved', async () => {
    const { repo, store } = await open();
    expect(await repo.readChannelIfChanged('watched', 'latest', undefined)).toEqual({
      status: 'absent',
    });
    await repo.publish({
      source: labelsFile(),
      name: 'watched',
      version: '1',
      channels: ['latest'],
    });
    const found = await repo.readChannelIfChanged('watched', 'latest', undefined);
    if (found.status !== 'found') throw new Error(`expected found, got ${found.status}`);
    expect(found.pointer.version).toBe('1');
    expect(found.etag).toBe((await store.readSmall(layout.channel('watched', 'latest')))?.etag);
    expect(await repo.readChannelIfChanged('watched', 'latest', found.etag)).toEqual({
      status: 'unchanged',
    });
    await repo.publish({
      source: labelsFile(),
      name: 'watched',
      version: '2',
      channels: ['latest'],
    });
    const moved = await repo.readChannelIfChanged('watched', 'latest', found.etag);
    expect(moved.status === 'found' && moved.pointer.version).toBe('2');
    expect(moved.status === 'found' && moved.etag).not.toBe(found.etag);
    await expect(repo.readChannelIfChanged('watched', '../x', undefined)).rejects.toThrow(
      ConfigError,
    );
  });
}
