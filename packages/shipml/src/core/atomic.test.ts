import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicWrite, writeFileAtomic } from './atomic.js';

describe('atomic writes', () => {
  it('puts the file in place complete, creating its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shipml-atomic-'));
    await writeFileAtomic(join(dir, 'a', 'report.json'), '{"ok":true}\n');
    expect(await readFile(join(dir, 'a', 'report.json'), 'utf8')).toBe('{"ok":true}\n');
    expect(await readdir(join(dir, 'a'))).toEqual(['report.json']);
  });

  it('leaves nothing behind when the write fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shipml-atomic-'));
    await expect(
      atomicWrite(join(dir, 'blob'), async (temp) => {
        await writeFileAtomic(temp, 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readdir(dir)).toEqual([]);
  });
});
