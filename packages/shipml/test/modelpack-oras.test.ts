/**
 * ModelPack artifacts pushed by another tool (the real oras CLI, with ModelPack media types)
 * read back by ShipML: manifest and config verified, every layer verified by digest (and a
 * gzip layer by DiffID), files byte-identical; what is not a ModelPack artifact is refused
 * before any layer byte moves.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, IntegrityError } from '../src/core/errors.js';
import { extractModelArtifact } from '../src/oci/modelpack/extract.js';
import {
  mountableLayer,
  parseModelArtifactReference,
  readModelArtifact,
} from '../src/oci/modelpack/read.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { oras, orasPushModelPack, writeFiles } from './helpers/modelpack.js';
import { registries } from './services.js';

const run = promisify(execFile);
const ns = `mpo${Date.now().toString(36)}`;
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-modelpack-oras-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const client = (): RegistryClient => new RegistryClient(registries.plain, { env: {} });

/** Pushes with oras from `dir`: files as `name:mediaType`, the config, the artifact type. */
async function orasPush(
  dir: string,
  ref: string,
  config: unknown,
  layers: string[],
): Promise<string> {
  const pushed = await orasPushModelPack(dir, ref, config, layers);
  expect(pushed.code, pushed.stderr).toBe(0);
  return pushed.digest!;
}

describe('reading a ModelPack artifact pushed by oras', () => {
  it('yields raw, tar and tar+gzip layers as files, byte-identical, digest verified', async () => {
    const dir = join(work, 'push');
    const files = {
      'model.safetensors': Buffer.alloc(200_000, 7),
      'README.md': Buffer.from('# a model\n'),
      'tokenizer/vocab.txt': Buffer.from('a\nb\nc\n'),
      'tokenizer/merges.txt': Buffer.from('a b\n'),
      'code/infer.py': Buffer.from('print("hi")\n'),
    };
    await writeFiles(dir, files);
    await run('tar', ['-cf', 'tokenizer.tar', 'tokenizer'], { cwd: dir });
    await run('tar', ['-czf', 'code.tar.gz', 'code'], { cwd: dir });
    const raw = (p: string): Promise<Buffer> => readFile(join(dir, p));
    const diffIds = [
      sha(await raw('model.safetensors')),
      sha(await raw('README.md')),
      sha(await raw('tokenizer.tar')),
      sha(gunzipSync(await raw('code.tar.gz'))),
    ];
    const ref = `${registries.plain}/${ns}/foreign:v1`;
    const digest = await orasPush(
      dir,
      ref,
      {
        descriptor: { name: 'foreign', version: 'v1' },
        config: { format: 'safetensors' },
        modelfs: { type: 'layers', diffIds },
      },
      [
        'model.safetensors:application/vnd.cncf.model.weight.v1.raw',
        'README.md:application/vnd.cncf.model.doc.v1.raw',
        'tokenizer.tar:application/vnd.cncf.model.weight.config.v1.tar',
        'code.tar.gz:application/vnd.cncf.model.code.v1.tar+gzip',
      ],
    );

    const artifact = await readModelArtifact(client(), parseModelArtifactReference(`oci://${ref}`));
    expect(artifact.digest).toBe(digest);
    expect(artifact.layers.map((l) => `${l.kind}/${l.packing}`)).toEqual([
      'weight/raw',
      'doc/raw',
      'weight.config/tar',
      'code/tar+gzip',
    ]);
    expect(artifact.shipml).toBeUndefined();
    expect(mountableLayer(artifact, '/models/foreign')).toBeUndefined();

    const dest = join(work, 'foreign-out');
    const result = await extractModelArtifact(artifact, dest);
    expect(result.files.map((f) => f.path)).toEqual(Object.keys(files).sort());
    for (const [path, bytes] of Object.entries(files)) {
      expect((await readFile(join(dest, path))).equals(bytes), path).toBe(true);
      expect(result.files.find((f) => f.path === path)?.sha256).toBe(sha(bytes).slice(7));
    }
  });

  it('by digest too; a wrong DiffID in the config is refused and nothing is extracted', async () => {
    const dir = join(work, 'bad-diff');
    await writeFiles(dir, { 'code/x.py': Buffer.from('x = 1\n') });
    await run('tar', ['-czf', 'code.tar.gz', 'code'], { cwd: dir });
    const wrong = sha(Buffer.from('not the tar'));
    const ref = `${registries.plain}/${ns}/bad-diff:v1`;
    const digest = await orasPush(
      dir,
      ref,
      { descriptor: {}, config: {}, modelfs: { type: 'layers', diffIds: [wrong] } },
      ['code.tar.gz:application/vnd.cncf.model.code.v1.tar+gzip'],
    );
    const artifact = await readModelArtifact(
      client(),
      parseModelArtifactReference(`oci://${registries.plain}/${ns}/bad-diff@${digest}`),
    );
    const dest = join(work, 'bad-diff-out');
    const refused = extractModelArtifact(artifact, dest);
    await expect(refused).rejects.toBeInstanceOf(IntegrityError);
    await expect(refused).rejects.toThrow(/DiffID sha256:[a-f0-9]{64}, the config says .*refused/);
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an unknown layer media type, and an artifact without a ModelPack config', async () => {
    const dir = join(work, 'unknown');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'w.bin'), Buffer.from('weights'));
    const diffIds = [sha(Buffer.from('weights'))];
    const ref = `${registries.plain}/${ns}/unknown:v1`;
    await orasPush(dir, ref, { descriptor: {}, config: {}, modelfs: { type: 'layers', diffIds } }, [
      'w.bin:application/x-custom-weights',
    ]);
    const unknown = readModelArtifact(client(), parseModelArtifactReference(`oci://${ref}`));
    await expect(unknown).rejects.toBeInstanceOf(ConfigError);
    await expect(unknown).rejects.toThrow(
      /"application\/x-custom-weights" is not a ModelPack layer type/,
    );

    const plain = `${registries.plain}/${ns}/plain:v1`;
    const pushed = await oras(['push', '--plain-http', plain, 'w.bin'], dir);
    expect(pushed.code, pushed.stderr).toBe(0);
    const notModel = readModelArtifact(client(), parseModelArtifactReference(`oci://${plain}`));
    await expect(notModel).rejects.toBeInstanceOf(ConfigError);
    await expect(notModel).rejects.toThrow(
      /is not a ModelPack model \(artifactType "application\/vnd.unknown.artifact.v1", config "application\/vnd.oci.empty.v1\+json"\)/,
    );
  });
});
