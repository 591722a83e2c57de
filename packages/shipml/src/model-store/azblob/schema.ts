import { z } from 'zod';

/**
 * Options of the `azblob://ACCOUNT/container/prefix` store. Credentials, first found wins:
 * connectionString, accountKey, sasToken (options), then the environment variables the
 * Azure CLI uses: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN.
 */
export const AzblobStoreOptionsSchema = z
  .object({
    /** Blob service endpoint; default https://ACCOUNT.blob.core.windows.net (or the connection string's BlobEndpoint). */
    endpoint: z.url().optional(),
    connectionString: z.string().min(1).optional(),
    accountKey: z.string().min(1).optional(),
    sasToken: z.string().min(1).optional(),
    /** Block size for uploads, in MiB (default 8; raised for files over ~380 GiB, Azure's 50,000 blocks). */
    blockSizeMiB: z.number().int().min(1).max(4000).optional(),
    /** Block buffers (default 6; the SDK sends three quarters of them at once); memory is about blockSizeMiB × concurrency. */
    concurrency: z.number().int().min(1).max(64).optional(),
  })
  .strict();
export type AzblobStoreOptions = z.infer<typeof AzblobStoreOptionsSchema>;
