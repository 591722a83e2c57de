import { beforeAll } from 'vitest';
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
