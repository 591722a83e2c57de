import { IntegrityError } from '../core/errors.js';
import { digestOf, type Digest } from './digest.js';
import { MediaType } from './media-types.js';
import { ConfigFileSchema, type ConfigFile, type ImageManifest } from './schema.js';
import type { Image, Layer } from './types.js';

/** Docker layer media types and their OCI equivalents (same bytes, same digest). */
const TO_OCI: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
};

/**
 * An image held in memory as config + layers. Built by the builder or mutate.ts; the
 * manifest is derived (OCI media types) and serialised deterministically, so the same
 * inputs give the same digest. Images read from a registry or a layout use `fromManifest`,
 * which keeps their exact bytes.
 */
export class OciImage implements Image {
  readonly mediaType: string;
  readonly manifest: ImageManifest;
  readonly rawManifest: Buffer;
  readonly digest: Digest;
  readonly config: ConfigFile;

  private constructor(
    readonly rawConfig: Buffer,
    readonly layers: readonly Layer[],
    rawManifest: Buffer,
    manifest: ImageManifest,
  ) {
    this.config = ConfigFileSchema.parse(JSON.parse(rawConfig.toString('utf8')));
    this.rawManifest = rawManifest;
    this.manifest = manifest;
    this.mediaType = manifest.mediaType ?? MediaType.ociManifest;
    this.digest = digestOf(rawManifest);
  }

  /** A new image from a config and its layers (diff_ids must match the layers, in order). */
  static build(
    config: ConfigFile,
    layers: readonly Layer[],
    annotations?: Record<string, string>,
  ): OciImage {
    const diffIds = layers.map((l) => l.diffId);
    if (JSON.stringify(diffIds) !== JSON.stringify(config.rootfs.diff_ids)) {
      throw new IntegrityError('image config rootfs.diff_ids do not match its layers');
    }
    const rawConfig = Buffer.from(JSON.stringify(config));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: {
        mediaType: MediaType.ociConfig,
        digest: digestOf(rawConfig),
        size: rawConfig.length,
      },
      layers: layers.map((l) => ({
        mediaType: TO_OCI[l.mediaType] ?? l.mediaType,
        digest: l.digest,
        size: l.size,
        ...(l.annotations && Object.keys(l.annotations).length > 0
          ? { annotations: { ...l.annotations } }
          : {}),
      })),
      ...(annotations && Object.keys(annotations).length > 0
        ? { annotations: sortKeys(annotations) }
        : {}),
    };
    return new OciImage(rawConfig, layers, Buffer.from(JSON.stringify(manifest)), manifest);
  }

  /** An image with no layers (go-containerregistry's `empty.Image`): a base for `FROM scratch`. */
  static empty(
    platform: { os: string; architecture: string } = { os: 'linux', architecture: 'amd64' },
  ): OciImage {
    return OciImage.build(
      {
        architecture: platform.architecture,
        os: platform.os,
        config: {},
        rootfs: { type: 'layers', diff_ids: [] },
      },
      [],
    );
  }

  /** An existing image, exactly as stored (its digest is over `rawManifest`). */

  static fromManifest(
    rawManifest: Buffer,
    manifest: ImageManifest,
    rawConfig: Buffer,
    layers: readonly Layer[],
  ): OciImage {
    return new OciImage(rawConfig, layers, rawManifest, manifest);
  }
}

export function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
