import { describe, expect, it } from 'vitest';
import { expectRegistryMatchesFolders } from '../../test/helpers/registry.js';
import { deployTargets } from './registry.js';
import { canRender, type TargetDescriptor } from './types.js';

describe('deploy-target registry', () => {
  it('lists exactly the target folders, each with the same files', async () => {
    await expectRegistryMatchesFolders(deployTargets, new URL('.', import.meta.url), [
      'descriptor.ts',
      'index.ts',
      'schema.ts',
      'README.md',
    ]);
  });

  it('declares the capabilities its targets have (opening a target needs no server)', async () => {
    const all: readonly TargetDescriptor[] = deployTargets.all;
    for (const descriptor of all) {
      const target = await descriptor.open(descriptor.optionsSchema.parse({}), { env: {} });
      expect(canRender(target), descriptor.id).toBe(descriptor.capabilities.includes('render'));
    }
  });
});
