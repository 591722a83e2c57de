/**
 * The real servers the tests use, as started by scripts/services.sh (which exports their
 * addresses). A missing variable fails loudly: these tests never skip silently.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { withoutNodeVersionWarning } from '../src/model-store/s3/quiet-client.js';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';

export function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run the tests through scripts/test.sh (it starts MinIO and Azurite)`,
    );
  return value;
}

export const s3Server = {
  get endpoint() {
    return required('SHIPML_TEST_S3_ENDPOINT');
  },
  get accessKey() {
    return required('SHIPML_TEST_S3_ACCESS_KEY');
  },
  get secretKey() {
    return required('SHIPML_TEST_S3_SECRET_KEY');
  },
  /** Environment carrying the S3 credentials the standard AWS way. */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: this.accessKey,
      AWS_SECRET_ACCESS_KEY: this.secretKey,
      AWS_REGION: 'us-east-1',
    };
  },
  async createBucket(name?: string): Promise<string> {
    const bucket = name ?? `shipml-${randomBytes(6).toString('hex')}`;
    const client = withoutNodeVersionWarning(
      () =>
        new S3Client({
          endpoint: this.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: this.accessKey, secretAccessKey: this.secretKey },
        }),
    );
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    return bucket;
  },
};

export const azurite = {
  get endpoint() {
    return required('SHIPML_TEST_AZURITE_ENDPOINT');
  },
  get account() {
    return required('SHIPML_TEST_AZURITE_ACCOUNT');
  },
  get key() {
    return required('SHIPML_TEST_AZURITE_KEY');
  },
  connectionString(key?: string): string {
    key ??= this.key;
    return `DefaultEndpointsProtocol=http;AccountName=${this.account};AccountKey=${key};BlobEndpoint=${this.endpoint};`;
  },
  async createContainer(): Promise<string> {
    const container = `shipml-${randomBytes(6).toString('hex')}`;
    const client = new BlobServiceClient(
      this.endpoint,
      new StorageSharedKeyCredential(this.account, this.key),
    );
    await client.getContainerClient(container).create();
    return container;
  },
};

export const registries = {
  get plain() {
    return required('SHIPML_TEST_REGISTRY');
  },
  get auth() {
    return required('SHIPML_TEST_REGISTRY_AUTH');
  },
  get tls() {
    return required('SHIPML_TEST_REGISTRY_TLS');
  },
  get user() {
    return required('SHIPML_TEST_REGISTRY_USER');
  },
  get password() {
    return required('SHIPML_TEST_REGISTRY_PASSWORD');
  },
  get ca() {
    return required('SHIPML_TEST_REGISTRY_CA');
  },
};

export function uniquePrefix(): string {
  return `t-${randomBytes(5).toString('hex')}`;
}
