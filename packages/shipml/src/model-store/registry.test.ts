import { describe, it } from 'vitest';
import { expectRegistryMatchesFolders } from '../../test/helpers/registry.js';
import { modelStores } from './registry.js';

describe('model-store registry', () => {
  it('lists exactly the back-end folders, each with the same files', async () => {
    await expectRegistryMatchesFolders(modelStores, new URL('.', import.meta.url), [
      'descriptor.ts',
      'index.ts',
      'schema.ts',
      'README.md',
    ]);
  });
});
