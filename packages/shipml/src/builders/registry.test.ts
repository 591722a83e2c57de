import { describe, expect, it } from 'vitest';
import { expectRegistryMatchesFolders } from '../../test/helpers/registry.js';
import { SharedBuildSchema } from './config-schema.js';
import { imageBuilders } from './registry.js';

describe('image builder registry', () => {
  it('lists exactly the builder folders, each with the same files', async () => {
    await expectRegistryMatchesFolders(imageBuilders, new URL('.', import.meta.url), [
      'descriptor.ts',
      'index.ts',
      'schema.ts',
      'README.md',
    ]);
  });

  it('keeps each builder’s own keys apart from the shared keys of build:', () => {
    const shared = Object.keys(SharedBuildSchema.shape);
    for (const d of imageBuilders.all) {
      const own = Object.keys(d.optionsSchema.shape);
      expect(
        own.filter((k) => shared.includes(k) || k === 'kind'),
        d.id,
      ).toEqual([]);
    }
  });

  it('opens every builder lazily into the contract', async () => {
    for (const d of imageBuilders.all) expect(typeof (await d.open()).build, d.id).toBe('function');
    expect(imageBuilders.ids[0]).toBe('node'); // the default build.kind
  });
});
