/**
 * Layers ShipML will not unpack, pushed with the real oras CLI: tar entries that escape the
 * model directory or are links, and (on a Node without zstd) zstd layers — each refused with
 * one clear line, nothing left at the destination. On a Node with zstd the layer unpacks.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { extractModelArtifact } from '../src/oci/modelpack/extract.js';
import { parseModelArtifactReference, readModelArtifact } from '../src/oci/modelpack/read.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { orasPushModelPack } from './helpers/modelpack.js';
import { registries } from './services.js';

const ns = `mpr${Date.now().toString(36)}`;
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-modelpack-refusals-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A tar of the given headers (tar-stream: the entries a hostile packer would write). */
async function tarOf(
  entries: Array<{ name: string; type?: 'file' | 'symlink'; linkname?: string; body?: string }>,
): Promise<Buffer> {
  const tar = pack();
  for (const e of entries)
    tar.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname }, e.body ?? '');
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pushes one layer file with oras as a ModelPack artifact; returns the oci:// reference. */
async function pushOne(
  name: string,
  bytes: Buffer,
  mediaType: string,
  diffId: string,
): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'layer.bin'), bytes);
  const ref = `${registries.plain}/${ns}/${name}:v1`;
  const pushed = await orasPushModelPack(
    dir,
    ref,
    { descriptor: {}, config: {}, modelfs: { type: 'layers', diffIds: [diffId] } },
    [`layer.bin:${mediaType}`],
  );
  expect(pushed.code, pushed.stderr).toBe(0);
  return `oci://${ref}`;
}

async function extractFrom(ref: string, dest: string): Promise<unknown> {
  const client = new RegistryClient(registries.plain, { env: {} });
  const artifact = await readModelArtifact(client, parseModelArtifactReference(ref));
  return extractModelArtifact(artifact, dest).catch((err: unknown) => err);
}

describe('ModelPack layers ShipML refuses to unpack', () => {
  it.each([
    [
      'escape',
      [
        { name: 'ok.txt', body: 'fine' },
        { name: '../escape.txt', body: 'evil' },
      ],
      /path "..\/escape.txt" is not a relative path inside the model/,
    ],
    [
      'absolute',
      [{ name: '/etc/evil', body: 'evil' }],
      /path "\/etc\/evil" is not a relative path inside the model/,
    ],
    [
      'symlink',
      [{ name: 'link', type: 'symlink' as const, linkname: '/etc/passwd' }],
      /entry "link" is a symlink; model layers may hold files and directories only/,
    ],
  ])('a tar whose entries are %s', async (name, entries, message) => {
    const tar = await tarOf(entries);
    const ref = await pushOne(name, tar, 'application/vnd.cncf.model.weight.v1.tar', sha(tar));
    const dest = join(work, `${name}-out`);
    const refused = await extractFrom(ref, dest);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(message);
    expect((refused as Error).message).not.toMatch(/\n/);
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it('a zstd tar: unpacked where Node has zstd, else refused before any byte moves', async () => {
    const tar = await tarOf([{ name: 'w/model.gguf', body: 'weights' }]);
    const zstd = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
    const ref = await pushOne(
      'zstd',
      zstd ? zstd(tar) : Buffer.from('not read'),
      'application/vnd.cncf.model.weight.v1.tar+zstd',
      sha(tar),
    );
    const dest = join(work, 'zstd-out');
    const result = await extractFrom(ref, dest);
    if (zstd) {
      expect(result).toMatchObject({ files: [{ path: 'w/model.gguf', size: 7 }] });
      expect(await readFile(join(dest, 'w', 'model.gguf'), 'utf8')).toBe('weights');
    } else {
      expect(result).toBeInstanceOf(ConfigError);
      expect((result as Error).message).toMatch(
        /is zstd-compressed, which needs Node 22.15 or later/,
      );
      await expect(stat(dest)).rejects.toThrow(/ENOENT/);
    }
  });
});
