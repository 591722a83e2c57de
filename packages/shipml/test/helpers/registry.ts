import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Descriptor, Registry } from '../../src/core/registry.js';

/**
 * A registry lists exactly the back-end folders of its kind (`dir`), each folder holds the
 * files every back end of the kind has, and the descriptor's id is the folder's name — so a
 * back end cannot be added without its registry line, or listed without its folder.
 */
export async function expectRegistryMatchesFolders(
  registry: Registry<Descriptor>,
  dir: URL,
  files: readonly string[],
): Promise<void> {
  const folders = (await readdir(fileURLToPath(dir), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect([...registry.ids].sort(), `${registry.kind} registry vs folders`).toEqual(folders);
  for (const folder of folders) {
    const present = await readdir(new URL(`./${folder}/`, dir));
    expect(present, `${registry.kind} ${folder}`).toEqual(expect.arrayContaining([...files]));
  }
}
