import { ConfigError } from '../../core/errors.js';
import { storePrefix } from '../layout.js';
import type { StoreDescriptor } from '../types.js';
import { AzblobStoreOptionsSchema } from './schema.js';

/** azblob://ACCOUNT/CONTAINER[/PREFIX] — Azure Blob Storage (or Azurite). */
export const azblob = {
  id: 'azblob',
  summary: 'Azure Blob Storage (or Azurite)',
  urlForm: 'azblob://ACCOUNT/CONTAINER/PREFIX',
  optionsSchema: AzblobStoreOptionsSchema,
  urlParameters: { endpoint: 'string' },
  secretOptions: ['connectionString', 'accountKey', 'sasToken'],
  secretEnv: ['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN'],
  ciEnv: ['AZURE_STORAGE_CONNECTION_STRING'],
  example: 'azblob://mlstore/models/prod',
  open: async (location, options, ctx) => {
    const [account = '', container = '', ...rest] = location.split('/');
    if (!/^[a-z0-9]{3,24}$/.test(account)) {
      throw new ConfigError(
        `invalid Azure storage account ${JSON.stringify(account)} in the store URL: expected 3-24 lowercase letters or digits`,
      );
    }
    if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
      throw new ConfigError(
        `invalid Azure container ${JSON.stringify(container)} in the store URL: expected 3-63 lowercase letters, digits or single '-'`,
      );
    }
    const { AzblobModelStore } = await import('./index.js');
    return new AzblobModelStore(account, container, storePrefix(rest), options, ctx);
  },
} as const satisfies StoreDescriptor<typeof AzblobStoreOptionsSchema>;
