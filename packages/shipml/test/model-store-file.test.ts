import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModelStoreConformance } from '../src/model-store/conformance.js';

runModelStoreConformance({
  kind: 'file',
  fresh: async () => ({
    spec: { url: `file://${await mkdtemp(join(tmpdir(), 'shipml-filestore-'))}` },
    env: {},
  }),
});
