import { Readable } from 'node:stream';
import { ConfigError, ConflictError, RegistryError } from '../../core/errors.js';
import { digestOf, type Digest } from '../digest.js';
import { sortKeys } from '../image.js';
import { MediaType } from '../media-types.js';
import { MODEL_LAYER_FORMAT } from '../model-layer.js';
import type { RegistryClient } from '../remote/client.js';
import { pinned, type ImageReference } from '../remote/reference.js';
import { normaliseImagePath } from '../tar.js';
import { normaliseTarget, openModelLayer } from './layer.js';
import {
  inferFormat,
  ModelPack,
  ModelPackAnnotation,
  OciAnnotation,
  ShipmlAnnotation,
} from './media-types.js';
import type { ModelPackConfig, ModelPackManifest } from './schema.js';

/**
 * A published model version, as the model store's manifest records it (structurally: oci/
 * does not import model-store, which sits above it).
 */
export interface PublishedModel {
  name: string;
  version: string;
  /** The model digest. */
  digest: string;
  /** RFC 3339 publish time. */
  created: string;
  files: ReadonlyArray<{ path: string; size: number; sha256: string }>;
  /** The plain-tar model layer recorded at publish (oci/model-layer.ts). */
  layer?: { format: string; target: string; mediaType: string; digest: string; size: number };
}

export interface PushModelOptions {
  /** Verified bytes of one of the model's files (e.g. ModelRepository.openFile). */
  openFile: (path: string) => Promise<Readable>;
  /** Tags to point at the artifact; default: the model version (the target's tag is not used). */
  tags?: readonly string[];
  /** Repositories of the same registry that may hold the layer already (mounted, no bytes). */
  mountFrom?: readonly string[];
  /** Bytes of the layer sent so far (uploads only). */
  onBytes?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PushModelResult {
  /** The artifact's manifest digest. */
  digest: Digest;
  /** `registry/repository@digest`: what the model's manifest should record. */
  reference: string;
  layer: { digest: Digest; size: number; action: 'exists' | 'mounted' | 'uploaded' };
  /** Mounts the registry declined or refused before the upload (for the output to say). */
  mountFallbacks: string[];
  uploadedBytes: number;
}

/**
 * Publishes a model version to `target.repository` as a CNCF ModelPack artifact: the model
 * config, then ONE layer of type `weight.v1.tar` that is byte-for-byte ShipML's plain-tar
 * model layer (the digest recorded as the manifest's `layer`, so builds can mount it into
 * images), then the manifest under each tag LAST — a failed push leaves no tag. Re-publishing
 * the same version is a no-op; a tag that names another artifact is refused (versions are
 * immutable).
 */
export async function pushModelArtifact(
  client: RegistryClient,
  target: ImageReference,
  model: PublishedModel,
  options: PushModelOptions,
): Promise<PushModelResult> {
  const what = `model ${model.name}@${model.version}`;
  const layer = model.layer;
  if (!layer || layer.format !== MODEL_LAYER_FORMAT)
    throw new ConfigError(`${what} has no recorded ${MODEL_LAYER_FORMAT} layer`, {
      hint: 'republish it with this version of shipml (older manifests lack the layer)',
    });
  const { manifest, rawConfig, rawManifest } = modelPackDocuments(
    model,
    layer as typeof layer & { digest: Digest },
  );
  const digest = digestOf(rawManifest);
  const { repository } = target;
  const { signal } = options;
  const tags = options.tags?.length ? options.tags : [model.version];

  for (const tag of tags) {
    const existing = await client.manifestDigest(repository, tag, signal);
    if (existing && existing !== digest)
      throw new ConflictError(
        `${target.registry}/${repository}:${tag} already names another artifact (${existing}); published versions are immutable`,
        { hint: 'publish under a new --version, or to another repository' },
      );
  }

  const layerDigest = layer.digest as Digest;
  const mountFallbacks: string[] = [];
  const placeLayer = async (): Promise<PushModelResult['layer']['action']> => {
    if ((await client.blobSize(repository, layerDigest, signal)) === layer.size) return 'exists';
    for (const from of options.mountFrom ?? []) {
      if (from === repository) continue;
      try {
        if (await client.mountBlob(repository, layerDigest, from, signal)) return 'mounted';
        mountFallbacks.push(`the registry declined to mount it from ${from}`);
      } catch (err) {
        // A refused mount is not a failed publish: the upload below still can succeed.
        if (!(err instanceof RegistryError)) throw err;
        mountFallbacks.push(`mount from ${from} refused: ${err.message}`);
      }
    }
    await client.uploadBlob(
      repository,
      { digest: layerDigest, size: layer.size },
      () =>
        Promise.resolve(
          openModelLayer(
            { files: model.files, target: layer.target, openFile: options.openFile },
            { digest: layerDigest, size: layer.size },
            what,
          ),
        ),
      options.onBytes && ((sent) => options.onBytes?.(sent, layer.size)),
      signal,
    );
    return 'uploaded';
  };
  const placeConfig = async (): Promise<number> => {
    if ((await client.blobSize(repository, manifest.config.digest as Digest, signal)) !== undefined)
      return 0;
    await client.uploadBlob(
      repository,
      { digest: manifest.config.digest as Digest, size: rawConfig.length },
      () => Promise.resolve(Readable.from([rawConfig])),
      undefined,
      signal,
    );
    return rawConfig.length;
  };
  const [action, configBytes] = await Promise.all([placeLayer(), placeConfig()]);
  for (const tag of tags)
    await client.putManifest(repository, tag, rawManifest, MediaType.ociManifest, signal);
  return {
    digest,
    reference: pinned(target, digest),
    layer: { digest: layerDigest, size: layer.size, action },
    mountFallbacks,
    uploadedBytes: (action === 'uploaded' ? layer.size : 0) + configBytes,
  };
}

/**
 * The config and manifest of a model's ModelPack artifact, as values and as the exact bytes
 * pushed. Pure: the same model version gives the same bytes, so a re-publish has the same
 * digest.
 */
export function modelPackDocuments(
  model: PublishedModel,
  layer: NonNullable<PublishedModel['layer']> & { digest: Digest },
): {
  config: ModelPackConfig;
  manifest: ModelPackManifest;
  rawConfig: Buffer;
  rawManifest: Buffer;
} {
  const format = inferFormat(model.files.map((f) => f.path));
  const config: ModelPackConfig = {
    descriptor: { createdAt: model.created, name: model.name, version: model.version },
    config: format ? { format } : {},
    // An uncompressed layer's DiffID is its digest.
    modelfs: { type: 'layers', diffIds: [layer.digest] },
  };
  const rawConfig = Buffer.from(JSON.stringify(config));
  const target = normaliseTarget(layer.target);
  const manifest: ModelPackManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: ModelPack.artifactType,
    config: { mediaType: ModelPack.config, digest: digestOf(rawConfig), size: rawConfig.length },
    layers: [
      {
        mediaType: ModelPack.weightTar,
        digest: layer.digest,
        size: layer.size,
        annotations: sortKeys({
          // The directory the files sit under inside the tar (the image's model path).
          [ModelPackAnnotation.filepath]: normaliseImagePath(target),
          // Every file is called a weight; nothing checked which are configs or docs.
          [ModelPackAnnotation.mediaTypeUntested]: 'true',
          // oras pull names the file it writes after the title (it unpacks only gzip).
          [OciAnnotation.title]: `${model.name}.tar`,
        }),
      },
    ],
    annotations: sortKeys({
      [OciAnnotation.title]: model.name,
      [OciAnnotation.version]: model.version,
      [OciAnnotation.created]: model.created,
      [ShipmlAnnotation.name]: model.name,
      [ShipmlAnnotation.version]: model.version,
      [ShipmlAnnotation.digest]: model.digest,
      [ShipmlAnnotation.layerFormat]: layer.format,
      [ShipmlAnnotation.layerTarget]: target,
    }),
  };
  return { config, manifest, rawConfig, rawManifest: Buffer.from(JSON.stringify(manifest)) };
}
