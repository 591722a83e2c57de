import {
  BlobServiceClient,
  RestError,
  StorageSharedKeyCredential,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { deadline, type Deadline } from '../../core/deadline.js';
import { ConfigError, NotFoundError, ShipmlError } from '../../core/errors.js';
import type { StoreContext } from '../context.js';
import { classifyStoreFailure } from '../service-errors.js';
import { SmallReads, type ConditionalRead } from '../small-reads.js';
import type { ModelStore, ObjectInfo, OpOptions, TransferOptions, WriteOptions } from '../types.js';
import { planBlocks } from './block-plan.js';
import type { AzblobStoreOptions } from './schema.js';

/**
 * Azure Blob Storage (and Azurite). Conditional writes use ETag If-Match / If-None-Match: *
 * (https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations).
 * Large files are uploaded as parallel blocks with bounded memory (uploadStream); the SDK
 * retries 5xx, throttling and network failures with exponential backoff.
 */
export class AzblobModelStore extends SmallReads implements ModelStore {
  readonly kind = 'azblob' as const;
  readonly displayUrl: string;
  readonly credentialSource: string;
  private readonly container: ContainerClient;
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(
    account: string,
    containerName: string,
    private readonly prefix: string,
    private readonly options: AzblobStoreOptions,
    ctx: StoreContext,
  ) {
    super();
    this.timeoutMs = ctx.timeoutMs;
    this.attempts = ctx.retry.attempts;
    this.displayUrl = `azblob://${account}/${containerName}/${prefix}`.replace(/\/$/, '');
    const pipeline: StoragePipelineOptions = {
      retryOptions: {
        maxTries: ctx.retry.attempts,
        retryDelayInMs: ctx.retry.baseDelayMs,
        maxRetryDelayInMs: ctx.retry.maxDelayMs,
        tryTimeoutInMs: ctx.timeoutMs,
      },
    };
    const { client, source } = connect(account, options, ctx.env, pipeline);
    this.credentialSource = source;
    this.container = client.getContainerClient(containerName);
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private fail(err: unknown, operation: string): Error {
    if (err instanceof ShipmlError) return err;
    const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string } };
    return classifyStoreFailure(
      err,
      {
        serviceCode: err instanceof RestError ? (e.details?.errorCode ?? e.code) : undefined,
        status: err instanceof RestError ? e.statusCode : undefined,
      },
      { store: this.displayUrl, operation, credentialSource: this.credentialSource },
    );
  }

  /**
   * Runs SDK work under a client-side time limit (the Storage SDK's `tryTimeoutInMs` only
   * asks the server to give up, so a server that never answers would hang us). The limit
   * covers all of the SDK's tries; work that reports progress pokes it, so only silence
   * counts. Expiry becomes a retryable "timed out" error; other errors pass through as is.
   */
  private async limited<T>(
    signal: AbortSignal | undefined,
    work: (limit: Deadline) => Promise<T>,
  ): Promise<T> {
    const limit = deadline(this.timeoutMs * this.attempts, signal);
    try {
      return await work(limit);
    } catch (err) {
      throw limit.expired ? timedOut(this.timeoutMs * this.attempts) : err;
    } finally {
      limit.clear();
    }
  }

  protected override async readUnless(
    key: string,
    ifNoneMatch: string | undefined,
    options: OpOptions,
  ): Promise<ConditionalRead> {
    const blob = this.container.getBlobClient(this.key(key));
    try {
      return await this.limited(options.signal, async ({ signal }) => {
        const out = await blob.download(0, undefined, {
          abortSignal: signal,
          conditions: ifNoneMatch === undefined ? {} : { ifNoneMatch },
        });
        return { bytes: await readAll(out.readableStreamBody!), etag: out.etag ?? '' };
      });
    } catch (err) {
      // A matching If-None-Match is answered 304 Not Modified, which the SDK throws.
      if (ifNoneMatch !== undefined && err instanceof RestError && err.statusCode === 304)
        return 'unchanged';
      if (errorCode(err) === 'BlobNotFound') return undefined;
      throw this.fail(err, `read ${key}`);
    }
  }

  async writeSmall(key: string, bytes: Uint8Array, options: WriteOptions = {}): Promise<string> {
    const c = options.condition;
    const blob = this.container.getBlockBlobClient(this.key(key));
    try {
      const out = await this.limited(options.signal, ({ signal }) =>
        blob.upload(bytes, bytes.length, {
          abortSignal: signal,
          blobHTTPHeaders: { blobContentType: 'application/json' },
          conditions:
            c && 'ifNoneMatch' in c ? { ifNoneMatch: '*' } : c ? { ifMatch: c.ifMatch } : {},
        }),
      );
      return out.etag ?? '';
    } catch (err) {
      throw this.fail(err, `write ${key}`);
    }
  }

  async upload(
    key: string,
    source: Readable,
    size: number,
    options: TransferOptions = {},
  ): Promise<void> {
    const blob = this.container.getBlockBlobClient(this.key(key));
    const plan = planBlocks(size, this.options);
    try {
      await this.limited(options.signal, (limit) =>
        blob.uploadStream(source, plan.blockSize, plan.buffers, {
          abortSignal: limit.signal,
          onProgress: (p) => {
            limit.poke();
            options.onProgress?.(p.loadedBytes);
          },
        }),
      );
    } catch (err) {
      throw this.fail(err, `upload ${key}`);
    }
  }

  async download(key: string, options: OpOptions = {}): Promise<{ body: Readable; size: number }> {
    const blob = this.container.getBlobClient(this.key(key));
    const limit = deadline(this.timeoutMs * this.attempts, options.signal);
    try {
      // The SDK resumes a broken body from where it stopped (maxRetryRequests).
      const out = await blob.download(0, undefined, {
        abortSignal: limit.signal,
        maxRetryRequests: 3,
      });
      // From here on, only silence counts: every chunk pokes the limit.
      const body = new PassThrough();
      const raw = out.readableStreamBody as Readable;
      raw.on('data', () => limit.poke());
      pipeline(raw, body, (err) => {
        limit.clear();
        if (err) body.destroy(limit.expired ? timedOut(this.timeoutMs * this.attempts) : err);
      });
      return { body, size: out.contentLength ?? 0 };
    } catch (err) {
      limit.clear();
      if (errorCode(err) === 'BlobNotFound')
        throw new NotFoundError(`${this.displayUrl}/${key} not found`);
      throw this.fail(
        limit.expired ? timedOut(this.timeoutMs * this.attempts) : err,
        `download ${key}`,
      );
    }
  }

  async *list(prefix: string, options: OpOptions = {}): AsyncIterable<ObjectInfo> {
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const limit = deadline(this.timeoutMs * this.attempts, options.signal);
    try {
      for await (const blob of this.container.listBlobsFlat({
        prefix: this.key(prefix),
        abortSignal: limit.signal,
      })) {
        limit.poke();
        yield { key: blob.name.slice(strip), size: blob.properties.contentLength ?? 0 };
      }
    } catch (err) {
      throw this.fail(
        limit.expired ? timedOut(this.timeoutMs * this.attempts) : err,
        `list ${prefix}`,
      );
    } finally {
      limit.clear();
    }
  }

  async delete(keys: readonly string[], options: OpOptions = {}): Promise<void> {
    for (const key of keys) {
      try {
        await this.limited(options.signal, ({ signal }) =>
          this.container.getBlobClient(this.key(key)).deleteIfExists({ abortSignal: signal }),
        );
      } catch (err) {
        throw this.fail(err, `delete ${key}`);
      }
    }
  }
}

/** A timeout, shaped as the network error it is (retryable, "unreachable or timed out"). */
function timedOut(ms: number): Error {
  return Object.assign(new Error(`no response within ${ms / 1000} s`), { code: 'ETIMEDOUT' });
}

function connect(
  account: string,
  options: AzblobStoreOptions,
  env: NodeJS.ProcessEnv,
  pipeline: StoragePipelineOptions,
): { client: BlobServiceClient; source: string } {
  const endpoint = (options.endpoint ?? `https://${account}.blob.core.windows.net`).replace(
    /\/$/,
    '',
  );
  const connection = credential(
    options.connectionString,
    env,
    'AZURE_STORAGE_CONNECTION_STRING',
    'connection string',
  );
  if (connection) {
    const { value: connectionString, source } = connection;
    const named = /(?:^|;)AccountName=([^;]+)/i.exec(connectionString)?.[1];
    if (named && named !== account) {
      throw new ConfigError(
        `azblob store account ${account} does not match the AccountName ${named} of the connection string from ${source}`,
      );
    }
    try {
      return { client: BlobServiceClient.fromConnectionString(connectionString, pipeline), source };
    } catch {
      // The SDK's message would quote the connection string; say only where it came from.
      throw new ConfigError(`the connection string from ${source} is malformed`);
    }
  }
  const key = credential(options.accountKey, env, 'AZURE_STORAGE_KEY', 'account key');
  if (key) {
    const shared = new StorageSharedKeyCredential(account, key.value);
    return { client: new BlobServiceClient(endpoint, shared, pipeline), source: key.source };
  }
  const sas = credential(options.sasToken, env, 'AZURE_STORAGE_SAS_TOKEN', 'SAS token');
  if (sas) {
    const url = `${endpoint}?${sas.value.replace(/^\?/, '')}`;
    return { client: new BlobServiceClient(url, undefined, pipeline), source: sas.source };
  }
  return {
    client: new BlobServiceClient(endpoint, undefined, pipeline),
    source: 'no credentials (anonymous access)',
  };
}

/**
 * A credential from the store configuration, else from the environment variable `name`, with
 * where it came from (for messages; never the value itself).
 */
function credential(
  configured: string | undefined,
  env: NodeJS.ProcessEnv,
  name: string,
  what: string,
): { value: string; source: string } | undefined {
  const value = configured ?? env[name];
  if (!value) return undefined;
  const source =
    configured !== undefined ? `the ${what} in the store configuration` : `environment (${name})`;
  return { value, source };
}

function errorCode(err: unknown): string | undefined {
  if (!(err instanceof RestError)) return undefined;
  return (err.details as { errorCode?: string } | undefined)?.errorCode ?? err.code;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
