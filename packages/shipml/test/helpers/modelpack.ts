/**
 * What the ModelPack tests share: the real `oras` CLI (scripts/attest-tools.sh installs it
 * into the CI cache; attest-tools.ts says where), a ModelPack push with it, a small model published to a file store, and a proxy in
 * front of the real registry that tampers with one blob on its way out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Manifest } from '../../src/model-store/manifest.js';
import { openModelStore } from '../../src/model-store/registry.js';
import { ModelRepository } from '../../src/model-store/repository.js';
import { ModelPack } from '../../src/oci/modelpack/media-types.js';
import { runTool, tools } from './attest-tools.js';

/** Runs oras (plain HTTP: the test registries are on loopback); never rejects on exit codes. */
export function oras(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // No Docker config of the machine's user: anonymous, as the plain test registry wants.
  return runTool(
    tools.oras,
    args,
    { DOCKER_CONFIG: join(cwd ?? '/nonexistent', '.no-docker-config') },
    cwd,
  );
}

/**
 * Pushes files of `dir` with oras as a ModelPack artifact (`layers` as `file:mediaType`),
 * `config` written as its config; the digest is the pushed manifest's (when it succeeded).
 */
export async function orasPushModelPack(
  dir: string,
  ref: string,
  config: unknown,
  layers: string[],
): Promise<{ code: number; stderr: string; digest?: string | undefined }> {
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const pushed = await oras(
    [
      'push',
      '--plain-http',
      '--format',
      'json',
      '--artifact-type',
      ModelPack.artifactType,
      '--config',
      `config.json:${ModelPack.config}`,
      ref,
      ...layers,
    ],
    dir,
  );
  const digest =
    pushed.code === 0 ? (JSON.parse(pushed.stdout) as { digest: string }).digest : undefined;
  return { code: pushed.code, stderr: pushed.stderr, digest };
}

/** The files of a small model (a weights file, a config, a nested file), by path. */
export function smallModelFiles(seed: string): Record<string, Buffer> {
  const weights = Buffer.alloc(300_000);
  for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + seed.length * 7) & 0xff;
  return {
    'model.onnx': weights,
    'config.json': Buffer.from(JSON.stringify({ seed, labels: 10 }) + '\n'),
    'extra/notes.txt': Buffer.from(`notes for ${seed}\n`),
  };
}

export async function writeFiles(dir: string, files: Record<string, Buffer>): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) {
    const target = join(dir, ...path.split('/'));
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, bytes);
  }
}

/** Publishes `files` as `name@version` to a file store under `work`: the real publish path. */
export async function publishToFileStore(
  work: string,
  name: string,
  version: string,
  files: Record<string, Buffer>,
): Promise<{ repo: ModelRepository; manifest: Manifest; source: string }> {
  const source = join(work, `src-${name}-${version}`);
  await writeFiles(source, files);
  const store = await openModelStore({ url: `file://${join(work, 'store')}` }, {});
  const repo = new ModelRepository({ store });
  const { manifest } = await repo.publish({ source, name, version });
  return { repo, manifest, source };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a real registry that flips one byte (in the middle) of the body of
 * GET …/blobs/<digest> for the digests in `tamper`: what a corrupted or malicious registry
 * (or a man in the middle) would serve. Everything else passes through unchanged.
 */
export class TamperingProxy {
  readonly tamper = new Set<string>();
  private server: Server | undefined;

  constructor(private readonly upstream: string) {}

  /** Starts; resolves with `127.0.0.1:PORT`, a registry address for RegistryClient. */
  async start(): Promise<string> {
    const [host, port] = this.upstream.split(':');
    this.server = createServer((req, res) => {
      const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '')?.[1];
      const corrupt = req.method === 'GET' && digest !== undefined && this.tamper.has(digest);
      const forward = request(
        { host, port: Number(port), method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          // The byte in the middle: inside a file's content, so a tar still parses.
          const at = Math.floor(Number(answer.headers['content-length'] ?? 0) / 2);
          let seen = 0;
          answer.on('data', (chunk: Buffer) => {
            if (corrupt && at >= seen && at < seen + chunk.length) {
              chunk = Buffer.from(chunk);
              chunk[at - seen]! ^= 0xff;
            }
            seen += chunk.length;
            res.write(chunk);
          });
          answer.on('end', () => res.end());
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
