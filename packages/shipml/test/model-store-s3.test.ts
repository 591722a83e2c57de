import { beforeAll } from 'vitest';
import { runModelStoreConformance } from '../src/model-store/conformance.js';
import { s3Server, uniquePrefix } from './services.js';

let bucket: string;
beforeAll(async () => {
  bucket = await s3Server.createBucket();
});

runModelStoreConformance({
  kind: 's3',
  // Credentials from the environment (the standard AWS way), endpoint as a store option.
  fresh: () =>
    Promise.resolve({
      spec: { url: `s3://${bucket}/${uniquePrefix()}`, endpoint: s3Server.endpoint },
      env: s3Server.env(),
    }),
  withWrongCredentials: (spec, env) => ({
    spec,
    env: { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret-key' },
  }),
});
