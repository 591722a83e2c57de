import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { runModelStoreConformance } from '../src/model-store/conformance.js';

// Every store of the run lives under one directory, removed at the end: the 1 GiB case
// alone leaves a gigabyte behind.
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-filestore-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

runModelStoreConformance({
  kind: 'file',
  fresh: async () => ({
    spec: { url: `file://${await mkdtemp(join(root, 'store-'))}` },
    env: {},
  }),
});
