import { beforeAll, describe, expect, it } from 'vitest';
import { planBlocks } from '../src/model-store/azblob/block-plan.js';
import { runModelStoreConformance } from '../src/model-store/conformance.js';
import { azurite, uniquePrefix } from './services.js';

let container: string;
beforeAll(async () => {
  container = await azurite.createContainer();
});

const wrongKey = Buffer.from('definitely not the account key, but valid base64').toString('base64');

runModelStoreConformance({
  kind: 'azblob',
  fresh: () =>
    Promise.resolve({
      spec: { url: `azblob://${azurite.account}/${container}/${uniquePrefix()}` },
      env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString() },
    }),
  withWrongCredentials: (spec) => ({
    spec,
    env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString(wrongKey) },
  }),
});

describe('azblob block plan, sized to the file', () => {
  const MiB = 1024 * 1024;
  it('keeps 8 MiB blocks and 6 buffers, fewer for a small file, larger blocks past 50,000', () => {
    expect(planBlocks(1024 * MiB)).toEqual({ blockSize: 8 * MiB, buffers: 6 });
    expect(planBlocks(20 * MiB)).toEqual({ blockSize: 8 * MiB, buffers: 3 });
    expect(planBlocks(0)).toEqual({ blockSize: 8 * MiB, buffers: 1 });
    const huge = planBlocks(500 * 1024 * MiB);
    expect(huge.blockSize).toBe(11 * MiB);
    expect(Math.ceil((500 * 1024 * MiB) / huge.blockSize)).toBeLessThanOrEqual(50_000);
    expect(planBlocks(1024 * MiB, { blockSizeMiB: 4, concurrency: 2 })).toEqual({
      blockSize: 4 * MiB,
      buffers: 2,
    });
  });
});
