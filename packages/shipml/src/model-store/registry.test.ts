import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { storeBackends } from './registry.js';

describe('store back-end registry', () => {
  it('lists exactly the back-end folders, each with the same files', async () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const folders = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(Object.keys(storeBackends).sort()).toEqual(folders);
    for (const folder of folders) {
      const files = await readdir(new URL(`./${folder}/`, import.meta.url));
      expect(files, folder).toEqual(expect.arrayContaining(['index.ts', 'schema.ts', 'README.md']));
    }
  });
});
