import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalServiceError, RegistryError } from '../src/core/errors.js';
import { BlobDir } from '../src/oci/blobs.js';
import { digestOf } from '../src/oci/digest.js';
import { OciImage } from '../src/oci/image.js';
import { OciLayout } from '../src/oci/layout/index.js';
import { buildLayer } from '../src/oci/layer.js';
import { MediaType } from '../src/oci/media-types.js';
import { appendLayers, withConfig } from '../src/oci/mutate.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { pullImage } from '../src/oci/remote/read.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { collectEntries } from '../src/oci/tar.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { TokenServer } from './helpers/token-server.js';
import { registries, required } from './services.js';

const run = promisify(execFile);
/** A namespace per test run: the registries keep what earlier runs pushed. */
const run_ = `t${Date.now().toString(36)}`;
let work: string;
let blobs: BlobDir;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-registry-'));
  blobs = new BlobDir(join(work, 'blobs'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A small image from scratch: one gzip app layer and one plain "model" layer. */
async function testImage(seed: string, modelBytes = 64 * 1024): Promise<OciImage> {
  const app = join(work, `app-${seed}`);
  const model = join(work, `model-${seed}`);
  await mkdir(app, { recursive: true });
  await mkdir(model, { recursive: true });
  await writeFile(join(app, 'server.js'), `console.log(${JSON.stringify(seed)})\n`);
  await writeFile(join(model, 'weights.bin'), Buffer.alloc(modelBytes, seed.length));
  const mtime = new Date('2026-01-01T00:00:00Z');
  const appLayer = await buildLayer(await collectEntries(app, { target: '/app' }), {
    blobs,
    mtime,
    compress: true,
  });
  const modelLayer = await buildLayer(await collectEntries(model, { target: '/models/m' }), {
    blobs,
    mtime,
    compress: false,
  });
  const image = appendLayers(OciImage.empty(), [
    { layer: appLayer, createdBy: 'app' },
    { layer: modelLayer, createdBy: 'model' },
  ]);
  return withConfig(image, {
    cmd: ['/app/server.js'],
    env: { MODEL_PATH: '/models/m' },
    labels: { seed },
    created: mtime.toISOString(),
  });
}

const client = (
  registry: string,
  extra: Partial<ConstructorParameters<typeof RegistryClient>[1]> = {},
) =>
  new RegistryClient(registry, {
    env: {},
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    ...extra,
  });

describe('registry client against CNCF distribution', () => {
  it('pushes an image that skopeo reads, then pulls it back identical', async () => {
    const image = await testImage('one');
    const ref = parseReference(`${registries.plain}/${run_}/one:v1`);
    const pushed = await pushImage(client(registries.plain), ref, image);
    expect(pushed.digest).toBe(image.digest);
    expect(pushed.blobs).toEqual({ exists: 0, mounted: 0, uploaded: 3 });

    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${registries.plain}/${run_}/one:v1`,
    ]);
    const inspected = JSON.parse(stdout) as {
      Digest: string;
      Layers: string[];
      Labels: Record<string, string>;
      Env: string[];
    };
    expect(inspected.Digest).toBe(image.digest);
    expect(inspected.Layers).toEqual(image.layers.map((l) => l.digest));
    expect(inspected.Labels).toEqual({ seed: 'one' });
    expect(inspected.Env).toContain('MODEL_PATH=/models/m');

    const pulled = await pullImage(client(registries.plain), ref);
    expect(pulled.digest).toBe(image.digest);
    expect(pulled.rawConfig.equals(image.rawConfig)).toBe(true);
    const modelBlob = await new Response(await pulled.layers[1]!.open()).arrayBuffer();
    expect(digestOf(Buffer.from(modelBlob))).toBe(image.layers[1]!.digest);
  });

  it('a second push sends nothing but the manifest', async () => {
    const image = await testImage('one');
    const pushed = await pushImage(
      client(registries.plain),
      parseReference(`${registries.plain}/${run_}/one:v2`),
      image,
    );
    expect(pushed.blobs).toEqual({ exists: 3, mounted: 0, uploaded: 0 });
    expect(pushed.uploadedBytes).toBe(0);
  });

  it('mounts layers from another repository instead of uploading them', async () => {
    const base = await pullImage(
      client(registries.plain),
      parseReference(`${registries.plain}/${run_}/one:v1`),
    );
    const extra = join(work, 'extra');
    await mkdir(extra, { recursive: true });
    await writeFile(join(extra, 'x.txt'), 'x');
    const layer = await buildLayer(await collectEntries(extra, { target: '/x' }), {
      blobs,
      mtime: new Date(0),
      compress: true,
    });
    const image = appendLayers(base, [{ layer, createdBy: 'x' }]);
    const pushed = await pushImage(
      client(registries.plain),
      parseReference(`${registries.plain}/${run_}/other:v1`),
      image,
    );
    expect(pushed.blobs).toEqual({ exists: 0, mounted: 2, uploaded: 2 }); // config + new layer uploaded
  });

  it('uploads large blobs in chunks', async () => {
    const image = await testImage('chunked', 5 * 1024 * 1024 + 3);
    const ref = parseReference(`${registries.plain}/${run_}/chunked:v1`);
    await pushImage(client(registries.plain, { chunkBytes: 1024 * 1024 }), ref, image);
    const pulled = await pullImage(client(registries.plain), ref);
    const bytes = Buffer.from(await new Response(await pulled.layers[1]!.open()).arrayBuffer());
    expect(bytes.length).toBe(image.layers[1]!.size);
    expect(digestOf(bytes)).toBe(image.layers[1]!.digest);
  });

  it('writes an OCI layout that umoci unpacks, and reads it back', async () => {
    const image = await testImage('layout');
    const dir = join(work, 'layout');
    await new OciLayout(dir).write(image, 'v1');
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${dir}:v1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs', 'app', 'server.js'), 'utf8')).toBe(
      'console.log("layout")\n',
    );
    expect((await readFile(join(bundle, 'rootfs', 'models', 'm', 'weights.bin'))).length).toBe(
      64 * 1024,
    );
    const back = await new OciLayout(dir).read('v1');
    expect(back.digest).toBe(image.digest);
  });

  it('selects linux/amd64 from a multi-platform index, and accepts Docker v2 manifests', async () => {
    const amd = await testImage('amd');
    const arm = withConfig(
      OciImage.build(
        { ...(await testImage('arm')).config, architecture: 'arm64' },
        (await testImage('arm')).layers,
      ),
      {},
    );
    const c = client(registries.plain);
    const repo = parseReference(`${registries.plain}/${run_}/multi:v1`);
    await pushImage(c, { ...repo, tag: 'amd' }, amd);
    await pushImage(c, { ...repo, tag: 'arm' }, arm);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          {
            mediaType: arm.mediaType,
            digest: arm.digest,
            size: arm.rawManifest.length,
            platform: { os: 'linux', architecture: 'arm64' },
          },
          {
            mediaType: amd.mediaType,
            digest: amd.digest,
            size: amd.rawManifest.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    await c.putManifest(`${run_}/multi`, 'v1', index, MediaType.ociIndex);
    expect((await pullImage(c, repo)).digest).toBe(amd.digest);
    expect(
      (await pullImage(c, repo, { platform: { os: 'linux', architecture: 'arm64' } })).digest,
    ).toBe(arm.digest);
    await expect(
      pullImage(c, repo, { platform: { os: 'windows', architecture: 'amd64' } }),
    ).rejects.toThrow(/has no windows\/amd64 variant \(it has: linux\/arm64, linux\/amd64\)/);

    // The same image under a Docker schema 2 manifest (Docker's media types, same blobs).
    const docker = Buffer.from(
      JSON.stringify({
        ...amd.manifest,
        mediaType: MediaType.dockerManifest,
        config: { ...amd.manifest.config, mediaType: MediaType.dockerConfig },
      }),
    );
    await c.putManifest(`${run_}/multi`, 'docker', docker, MediaType.dockerManifest);
    const pulled = await pullImage(c, { ...repo, tag: 'docker' });
    expect(pulled.digest).toBe(digestOf(docker));
    expect(pulled.config.config?.Cmd).toEqual(['/app/server.js']);
  });

  it('names the registry codes of errors', async () => {
    const failure = pullImage(
      client(registries.plain),
      parseReference(`${registries.plain}/${run_}/none:v1`),
    );
    await expect(failure).rejects.toThrow(RegistryError);
    await expect(failure).rejects.toSatisfy(
      (e: RegistryError) =>
        e.registryCodes.includes('MANIFEST_UNKNOWN') || e.registryCodes.includes('NAME_UNKNOWN'),
    );
    const bad = client(registries.plain).putManifest(
      `${run_}/bad`,
      'v1',
      Buffer.from(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' +
          'a'.repeat(64) +
          '","size":2},"layers":[]}',
      ),
      MediaType.ociManifest,
    );
    await expect(bad).rejects.toSatisfy(
      (e: RegistryError) =>
        e instanceof RegistryError && e.registryCodes.includes('MANIFEST_BLOB_UNKNOWN'),
    );
  });
});

describe('registry authentication', () => {
  it('basic auth: refuses anonymous pushes with UNAUTHORIZED, accepts credentials from env and Docker config', async () => {
    const image = await testImage('auth');
    const ref = parseReference(`${registries.auth}/${run_}/auth:v1`);
    const anonymous = pushImage(client(registries.auth), ref, image);
    await expect(anonymous).rejects.toSatisfy(
      (e: RegistryError) =>
        e.registryCodes.includes('UNAUTHORIZED') &&
        /unauthorized without credentials \(anonymous\)/.test(e.message),
    );

    const env = {
      SHIPML_REGISTRY_USERNAME: registries.user,
      SHIPML_REGISTRY_PASSWORD: registries.password,
    };
    await pushImage(new RegistryClient(registries.auth, { env }), ref, image);

    const dockerConfig = join(work, 'docker-config');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(
      join(dockerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          [registries.auth]: {
            auth: Buffer.from(`${registries.user}:${registries.password}`).toString('base64'),
          },
        },
      }),
    );
    const pulled = await pullImage(
      new RegistryClient(registries.auth, { env: { DOCKER_CONFIG: dockerConfig } }),
      ref,
    );
    expect(pulled.digest).toBe(image.digest);

    const wrong = pullImage(
      new RegistryClient(registries.auth, {
        env: {
          SHIPML_REGISTRY_USERNAME: registries.user,
          SHIPML_REGISTRY_PASSWORD: 'wrong-password-123',
        },
      }),
      ref,
    );
    await expect(wrong).rejects.toThrow(
      /unauthorized with the credentials from environment \(SHIPML_REGISTRY_USERNAME\/SHIPML_REGISTRY_PASSWORD\)/,
    );
    await expect(wrong).rejects.not.toThrow(/wrong-password-123/);
  });

  it('TLS: a self-signed registry fails the handshake without its CA and works with it', async () => {
    const image = await testImage('tls');
    const ref = parseReference(`${registries.tls}/${run_}/tls:v1`);
    await expect(
      pushImage(
        client(registries.tls, { retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }),
        ref,
        image,
      ),
    ).rejects.toThrow(/failed the TLS handshake/);
    await pushImage(client(registries.tls, { caFile: registries.ca }), ref, image);
    const { stdout } = await run('skopeo', [
      'inspect',
      '--cert-dir',
      join(registries.ca, '..', 'skopeo-certs'),
      `docker://${registries.tls}/${run_}/tls:v1`,
    ]).catch(async () => {
      // skopeo wants the CA as <dir>/*.crt
      const certs = join(work, 'certs');
      await mkdir(certs, { recursive: true });
      await writeFile(join(certs, 'ca.crt'), await readFile(registries.ca));
      return run('skopeo', [
        'inspect',
        '--cert-dir',
        certs,
        `docker://${registries.tls}/${run_}/tls:v1`,
      ]);
    });
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(image.digest);
  });
});

describe('registry token auth (Docker token spec, as ACR and most hosted registries use)', () => {
  let tokens: TokenServer;
  beforeAll(async () => {
    tokens = new TokenServer({
      port: Number(required('SHIPML_TEST_TOKEN_SERVER_PORT')),
      keyFile: required('SHIPML_TEST_TOKEN_KEY'),
      certFile: required('SHIPML_TEST_TOKEN_CERT'),
      users: { [registries.user]: registries.password },
      service: 'shipml-test-registry',
      issuer: 'shipml-test-issuer',
    });
    await tokens.start();
  });
  afterAll(async () => {
    await tokens.stop();
  });

  it('fetches a bearer token for the scopes it needs, pushes and pulls with it', async () => {
    const registry = required('SHIPML_TEST_REGISTRY_TOKEN');
    const image = await testImage('token');
    const ref = parseReference(`${registry}/${run_}/token:v1`);
    const env = {
      SHIPML_REGISTRY_USERNAME: registries.user,
      SHIPML_REGISTRY_PASSWORD: registries.password,
    };
    await pushImage(new RegistryClient(registry, { env }), ref, image);
    expect(
      tokens.requests.some(
        (r) =>
          r.user === registries.user && r.scopes.includes(`repository:${run_}/token:pull,push`),
      ),
    ).toBe(true);
    expect((await pullImage(new RegistryClient(registry, { env }), ref)).digest).toBe(image.digest);

    const anonymous = pushImage(
      client(registry),
      parseReference(`${registry}/${run_}/token:v2`),
      image,
    );
    await expect(anonymous).rejects.toSatisfy((e: RegistryError) =>
      e.registryCodes.includes('UNAUTHORIZED'),
    );
    const wrong = pullImage(
      new RegistryClient(registry, { env: { ...env, SHIPML_REGISTRY_PASSWORD: 'nope-nope' } }),
      ref,
    );
    await expect(wrong).rejects.toThrow(
      /token service refused a token with the credentials from environment \(SHIPML_REGISTRY_USERNAME\/SHIPML_REGISTRY_PASSWORD\)/,
    );
  });
});

describe('registry faults', () => {
  it('a connection reset mid-upload is retried in a new upload session', async () => {
    const proxy = new FaultProxy(new URL(`http://${registries.plain}`));
    const url = new URL(await proxy.start());
    try {
      const image = await testImage('reset', 2 * 1024 * 1024);
      proxy.set({ kind: 'reset', times: 1, method: 'PUT', afterBytes: 100 * 1024 });
      const ref = parseReference(`${url.host}/${run_}/reset:v1`);
      await pushImage(
        // The dropped connection is noticed by the request timeout (not yet by the reset itself:
        // see the closing note), so keep it short here.
        client(url.host, {
          retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
          timeoutMs: 3000,
        }),
        ref,
        image,
      );
      expect(proxy.faulted).toBe(1);
      const pulled = await pullImage(
        client(registries.plain),
        parseReference(`${registries.plain}/${run_}/reset:v1`),
      );
      const bytes = Buffer.from(await new Response(await pulled.layers[1]!.open()).arrayBuffer());
      expect(digestOf(bytes)).toBe(image.layers[1]!.digest);
    } finally {
      await proxy.stop();
    }
  });

  it('retries a 503 mid-push; a persistent failure leaves no tag behind', async () => {
    const proxy = new FaultProxy(new URL(`http://${registries.plain}`));
    const url = new URL(await proxy.start());
    try {
      const image = await testImage('faults');
      const viaProxy = `${url.host}`;
      proxy.set({
        kind: 'status',
        status: 503,
        times: 2,
        body: '{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}',
      });
      await pushImage(
        client(viaProxy, { retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 } }),
        parseReference(`${viaProxy}/${run_}/faults:ok`),
        image,
      );
      expect(proxy.faulted).toBe(2);

      const other = await testImage('faults-2');
      proxy.set({
        kind: 'status',
        status: 503,
        times: 1_000,
        body: '{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}',
      });
      const failure = pushImage(
        client(viaProxy),
        parseReference(`${viaProxy}/${run_}/faults:bad`),
        other,
      );
      await expect(failure).rejects.toSatisfy(
        (e: unknown) => e instanceof ExternalServiceError && e.retryable,
      );
      proxy.set({ kind: 'none' });
      expect(
        await client(registries.plain).manifestDigest(`${run_}/faults`, 'bad'),
      ).toBeUndefined();
    } finally {
      await proxy.stop();
    }
  });
});
