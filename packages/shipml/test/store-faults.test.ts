import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ExternalServiceError } from '../src/core/errors.js';
import { openModelStore, type StoreSpec } from '../src/model-store/registry.js';
import { ModelRepository } from '../src/model-store/repository.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { azurite, s3Server, uniquePrefix } from './services.js';

/**
 * Faults between ShipML and a real store, injected by a proxy on 127.0.0.1: transient
 * failures are retried with backoff and then succeed; persistent ones fail with one clear,
 * retryable error; a dead endpoint fails fast and says so.
 */
interface Backend {
  kind: string;
  /** The statuses this service uses for transient failures (Azure Storage throttles with 503, never 429). */
  transientStatuses: number[];
  /** A spec whose endpoint is `endpoint`, plus the env it needs. */
  spec(endpoint: string): { spec: StoreSpec; env: NodeJS.ProcessEnv };
  realEndpoint(): string;
}

let bucket: string;
let container: string;
let work: string;
let modelFile: string;

beforeAll(async () => {
  bucket = await s3Server.createBucket();
  container = await azurite.createContainer();
  work = await mkdtemp(join(tmpdir(), 'shipml-faults-'));
  modelFile = join(work, 'weights.bin');
  await writeFile(modelFile, Buffer.alloc(64 * 1024, 7));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const backends: Backend[] = [
  {
    kind: 's3',
    transientStatuses: [503, 500, 429],
    realEndpoint: () => s3Server.endpoint,
    spec: (endpoint) => ({
      spec: { url: `s3://${bucket}/${uniquePrefix()}`, endpoint },
      env: s3Server.env(),
    }),
  },
  {
    kind: 'azblob',
    transientStatuses: [503, 500],
    realEndpoint: () => new URL(azurite.endpoint).origin,
    spec: (endpoint) => ({
      spec: { url: `azblob://${azurite.account}/${container}/${uniquePrefix()}` },
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite
          .connectionString()
          .replace(new URL(azurite.endpoint).origin, endpoint),
      },
    }),
  },
];

for (const backend of backends) {
  describe(`${backend.kind} store under faults`, () => {
    let proxy: FaultProxy;
    let proxyUrl: string;
    beforeAll(async () => {
      proxy = new FaultProxy(new URL(backend.realEndpoint()));
      proxyUrl = await proxy.start();
    });
    afterAll(async () => {
      await proxy.stop();
    });

    const repoVia = async (extra: Partial<StoreSpec> = {}) => {
      const { spec, env } = backend.spec(proxyUrl);
      return new ModelRepository({
        store: await openModelStore({ ...spec, ...extra }, env),
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      });
    };

    for (const status of backend.transientStatuses) {
      it(`retries HTTP ${status} and then succeeds`, async () => {
        const repo = await repoVia({ retries: 4 });
        proxy.set({ kind: 'status', status, times: 2 });
        const { manifest } = await repo.publish({
          source: modelFile,
          name: 'm',
          version: '1',
          channels: ['latest'],
        });
        expect(proxy.faulted).toBe(2);
        proxy.set({ kind: 'none' });
        expect((await repo.resolve('m:latest')).digest).toBe(manifest.digest);
      });
    }

    it('gives up on a persistent 503 with one retryable error naming the store', async () => {
      const repo = await repoVia({ retries: 3 });
      proxy.set({ kind: 'status', status: 503, times: 1_000 });
      const failure = repo.list('m');
      await expect(failure).rejects.toThrow(ExternalServiceError);
      await expect(failure).rejects.toSatisfy(
        (e: ExternalServiceError) =>
          e.retryable && !e.message.includes('\n') && e.message.includes(`${backend.kind}://`),
      );
      expect(proxy.requests).toBe(3); // the configured attempts, no more
      proxy.set({ kind: 'none' });
    });

    it('times out a store that never answers, and says so', async () => {
      const repo = await repoVia({ retries: 2, timeoutSeconds: 0.5 });
      proxy.set({ kind: 'hang', times: 1_000 });
      const started = Date.now();
      const failure = repo.list('m');
      await expect(failure).rejects.toThrow(/unreachable or timed out/);
      expect(Date.now() - started).toBeLessThan(15_000);
      proxy.set({ kind: 'none' });
    });
  });

  it(`${backend.kind}: an unreachable endpoint fails with a clear, retryable error`, async () => {
    const port = await closedPort();
    const { spec, env } = backend.spec(`http://127.0.0.1:${port}`);
    const repo = new ModelRepository({ store: await openModelStore({ ...spec, retries: 2 }, env) });
    const failure = repo.list('m');
    await expect(failure).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof ExternalServiceError && !(e instanceof AuthenticationError) && e.retryable,
    );
    await expect(failure).rejects.toThrow(/unreachable or timed out \(ECONNREFUSED/);
  });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
