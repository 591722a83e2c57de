import { ConfigError } from '../../core/errors.js';
import { storePrefix } from '../layout.js';
import type { StoreDescriptor } from '../types.js';
import { S3StoreOptionsSchema } from './schema.js';

/** s3://BUCKET[/PREFIX] — AWS S3 or any S3-compatible server (MinIO, Ceph) with `endpoint`. */
export const s3 = {
  id: 's3',
  summary: 'Amazon S3 or an S3-compatible server (MinIO, Ceph)',
  urlForm: 's3://BUCKET/PREFIX',
  optionsSchema: S3StoreOptionsSchema,
  urlParameters: { endpoint: 'string', region: 'string', forcePathStyle: 'boolean' },
  secretOptions: ['secretAccessKey', 'sessionToken'],
  secretEnv: ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
  ciEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  example: 's3://ml-models/prod?endpoint=http://127.0.0.1:9000',
  open: async (location, options, ctx) => {
    const [bucket = '', ...rest] = location.split('/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError(
        `invalid S3 bucket name ${JSON.stringify(bucket)} in the store URL: expected 3-63 lowercase letters, digits, '.' or '-'`,
      );
    }
    return new (await import('./index.js')).S3ModelStore(bucket, storePrefix(rest), options, ctx);
  },
} as const satisfies StoreDescriptor<typeof S3StoreOptionsSchema>;
