import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Readable } from 'node:stream';
import { NotFoundError, ShipmlError } from '../../core/errors.js';
import { classifyStoreFailure } from '../service-errors.js';
import type { StoreContext } from '../context.js';
import { SmallReads, type ConditionalRead } from '../small-reads.js';
import type { ModelStore, ObjectInfo, OpOptions, TransferOptions, WriteOptions } from '../types.js';
import { withoutNodeVersionWarning } from './quiet-client.js';
import { uploadObject } from './multipart.js';
import { planParts } from './part-plan.js';
import type { S3StoreOptions } from './schema.js';

/**
 * Amazon S3 and S3-compatible servers. Conditional writes use S3's If-None-Match / If-Match
 * on PutObject (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
 * Large files go up as parallel multipart uploads with bounded memory (multipart.ts).
 * The SDK retries throttling, 5xx and network failures with backoff; we set how often.
 */
export class S3ModelStore extends SmallReads implements ModelStore {
  readonly kind = 's3' as const;
  readonly displayUrl: string;
  readonly credentialSource: string;
  private readonly client: S3Client;
  private readonly endpointLabel: string;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly options: S3StoreOptions,
    ctx: StoreContext,
  ) {
    super();
    const env = ctx.env;
    const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    this.displayUrl = `s3://${bucket}/${prefix}`.replace(/\/$/, '');
    this.endpointLabel = endpoint ?? 'AWS';
    this.credentialSource = describeCredentials(options, env);
    this.client = withoutNodeVersionWarning(
      () =>
        new S3Client({
          region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
          ...(endpoint ? { endpoint } : {}),
          forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
          ...staticCredentials(options, env),
          maxAttempts: ctx.retry.attempts,
          retryMode: 'standard',
          // Our own sha256 checks every byte end to end; the SDK's optional CRC checksums
          // (aws-chunked framing) would only narrow which S3-compatible servers work.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          // requestTimeout is a socket idle timeout: long transfers are fine while bytes move.
          requestHandler: new NodeHttpHandler({
            connectionTimeout: ctx.timeoutMs,
            requestTimeout: ctx.timeoutMs,
            throwOnRequestTimeout: true,
          }),
        }),
    );
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private fail(err: unknown, operation: string): Error {
    // Ours already (the upload's own checks): as it is.
    if (err instanceof ShipmlError) return err;
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    return classifyStoreFailure(
      err,
      {
        serviceCode: err instanceof S3ServiceException ? e.name : undefined,
        status: e.$metadata?.httpStatusCode,
        attempts: e.$metadata?.attempts,
      },
      {
        store: `${this.displayUrl} (endpoint ${this.endpointLabel})`,
        operation,
        credentialSource: this.credentialSource,
      },
    );
  }

  protected override async readUnless(
    key: string,
    ifNoneMatch: string | undefined,
    options: OpOptions,
  ): Promise<ConditionalRead> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), IfNoneMatch: ifNoneMatch }),
        { abortSignal: options.signal },
      );
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      return { bytes, etag: out.ETag ?? '' };
    } catch (err) {
      // S3 answers a matching If-None-Match with 304 Not Modified, which the SDK throws.
      if (ifNoneMatch !== undefined && statusOf(err) === 304) return 'unchanged';
      if (isMissingKey(err)) return undefined;
      throw this.fail(err, `read ${key}`);
    }
  }

  async writeSmall(key: string, bytes: Uint8Array, options: WriteOptions = {}): Promise<string> {
    const c = options.condition;
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: bytes,
          ContentType: 'application/json',
          ...(c && 'ifNoneMatch' in c ? { IfNoneMatch: '*' } : {}),
          ...(c && 'ifMatch' in c ? { IfMatch: c.ifMatch } : {}),
        }),
        { abortSignal: options.signal },
      );
      return out.ETag ?? '';
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
    const plan = planParts(size, this.options);
    try {
      await uploadObject(
        this.client,
        { Bucket: this.bucket, Key: this.key(key) },
        source,
        size,
        plan,
        {
          signal: options.signal,
          onProgress: options.onProgress,
        },
      );
    } catch (err) {
      throw this.fail(err, `upload ${key}`);
    }
  }

  async download(key: string, options: OpOptions = {}): Promise<{ body: Readable; size: number }> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
        { abortSignal: options.signal },
      );
      return { body: out.Body as Readable, size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isMissingKey(err)) throw new NotFoundError(`${this.displayUrl}/${key} not found`);
      throw this.fail(err, `download ${key}`);
    }
  }

  async *list(prefix: string, options: OpOptions = {}): AsyncIterable<ObjectInfo> {
    const full = this.key(prefix);
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }),
          { abortSignal: options.signal },
        );
      } catch (err) {
        throw this.fail(err, `list ${prefix}`);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key.slice(strip), size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[], options: OpOptions = {}): Promise<void> {
    // DeleteObjects takes at most 1000 keys per call.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.key(k) }));
      try {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch, Quiet: true },
          }),
          { abortSignal: options.signal },
        );
      } catch (err) {
        throw this.fail(err, 'delete');
      }
    }
  }
}

/**
 * Explicit keys from the options, else keys from the injected environment (which may not be
 * process.env: stores never read globals). Otherwise the SDK's default chain (profiles,
 * web identity, container and instance metadata) applies.
 */
function staticCredentials(options: S3StoreOptions, env: NodeJS.ProcessEnv) {
  const [accessKeyId, secretAccessKey, sessionToken] = options.accessKeyId
    ? [options.accessKeyId, options.secretAccessKey, options.sessionToken]
    : [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN];
  return accessKeyId && secretAccessKey
    ? { credentials: { accessKeyId, secretAccessKey, sessionToken } }
    : {};
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isMissingKey(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === 'NoSuchKey' || (err.name === 'NotFound' && err.$metadata.httpStatusCode === 404))
  );
}

function describeCredentials(options: S3StoreOptions, env: NodeJS.ProcessEnv): string {
  if (options.accessKeyId)
    return `the store configuration (access key id ${tail(options.accessKeyId)})`;
  if (env.AWS_ACCESS_KEY_ID)
    return `environment (AWS_ACCESS_KEY_ID ${tail(env.AWS_ACCESS_KEY_ID)})`;
  if (env.AWS_PROFILE) return `AWS profile ${env.AWS_PROFILE}`;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) return 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)';
  return 'the default AWS credential chain (~/.aws, container or instance metadata)';
}

/** The last four characters of an access key id, as `aws configure list` shows it. */
function tail(id: string): string {
  return `…${id.slice(-4)}`;
}
