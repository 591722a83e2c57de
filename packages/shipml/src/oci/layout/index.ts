import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic.js';
import { ConfigError, LocalStorageError, NotFoundError, systemCode } from '../../core/errors.js';
import { BlobDir } from '../blobs.js';
import type { Digest } from '../digest.js';
import { OciImage } from '../image.js';
import { MediaType } from '../media-types.js';
import { IndexSchema, ManifestSchema, type Descriptor } from '../schema.js';
import type { Image, Layer } from '../types.js';

/**
 * An OCI image layout directory (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
 * `oci-layout`, `index.json`, `blobs/sha256/`. A sink (write) and a source (read), like a
 * registry. Blobs land by atomic rename; index.json is written last, so a failed write
 * (full disk) leaves the previous index intact and no reference to a missing blob.
 */
export class OciLayout {
  private readonly blobs: BlobDir;

  constructor(readonly dir: string) {
    this.blobs = new BlobDir(dir);
  }

  async write(image: Image, refName?: string): Promise<Digest> {
    try {
      return await this.writeUnchecked(image, refName);
    } catch (err) {
      const code = systemCode(err);
      if (
        code === 'ENOSPC' ||
        code === 'EDQUOT' ||
        code === 'EACCES' ||
        code === 'EROFS' ||
        code === 'EPERM'
      ) {
        throw new LocalStorageError(
          `writing OCI layout ${this.dir} failed: ${(err as Error).message}`,
          {
            hint: 'the layout still holds its previous images, unchanged; free space (or fix permissions) and write again',
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  private async writeUnchecked(image: Image, refName?: string): Promise<Digest> {
    await mkdir(this.dir, { recursive: true });
    for (const layer of image.layers) {
      if (await this.blobs.has(layer.digest, layer.size)) continue;
      // A registry checks digests on upload; a directory does not, so the blob dir does here.
      await this.blobs.writeStream(
        layer.digest,
        layer.size,
        await layer.open(),
        `layer ${layer.digest}`,
      );
    }
    await this.blobs.writeBlob(image.manifest.config.digest as Digest, image.rawConfig);
    await this.blobs.writeBlob(image.digest, image.rawManifest);
    await writeFileAtomic(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const index = await this.index();
    const descriptor: Descriptor = {
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.rawManifest.length,
      ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}),
    };
    // One entry per ref name: a new image under the same name replaces the old entry.
    const manifests = index.manifests.filter((m) =>
      refName
        ? m.annotations?.['org.opencontainers.image.ref.name'] !== refName
        : m.digest !== image.digest,
    );
    const next = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [...manifests, descriptor],
    };
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(next, null, 2));
    return image.digest;
  }

  /** Reads the image named `refName` (or the only image) from the layout. */
  async read(refName?: string): Promise<OciImage> {
    const index = await this.index();
    const entry = refName
      ? index.manifests.find(
          (m) => m.annotations?.['org.opencontainers.image.ref.name'] === refName,
        )
      : index.manifests.length === 1
        ? index.manifests[0]
        : undefined;
    if (!entry)
      throw new NotFoundError(
        `OCI layout ${this.dir} has no image ${refName ? `named ${refName}` : '(or more than one: name it)'}`,
      );
    const rawManifest = await this.blobs.readBlob(entry.digest as Digest);
    const manifest = ManifestSchema.parse(JSON.parse(rawManifest.toString('utf8')));
    const rawConfig = await this.blobs.readBlob(manifest.config.digest as Digest);
    const diffIds = (JSON.parse(rawConfig.toString('utf8')) as { rootfs: { diff_ids: Digest[] } })
      .rootfs.diff_ids;
    const layers: Layer[] = manifest.layers.map((d, i) =>
      this.blobs.layer({
        digest: d.digest as Digest,
        diffId: diffIds[i]!,
        size: d.size,
        mediaType: d.mediaType,
        annotations: d.annotations,
      }),
    );
    return OciImage.fromManifest(rawManifest, manifest, rawConfig, layers);
  }

  private async index() {
    try {
      return IndexSchema.parse(JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')));
    } catch (err) {
      if (systemCode(err) === 'ENOENT')
        return { schemaVersion: 2 as const, manifests: [] as Descriptor[] };
      throw new ConfigError(`${join(this.dir, 'index.json')} is not a valid OCI index`);
    }
  }
}
