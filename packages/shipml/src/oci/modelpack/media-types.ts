import { ConfigError } from '../../core/errors.js';

/**
 * The CNCF ModelPack specification, v0.0.7 (https://github.com/modelpack/model-spec,
 * docs/spec.md, docs/config.md, docs/annotations.md; specs-go/v1/mediatype.go): a model is
 * an OCI image manifest with this artifactType, a model config, and layers whose media type
 * says what they hold (weights, weight config, docs, code, dataset) and how (raw file, tar,
 * tar+gzip, tar+zstd).
 */
export const ModelPack = {
  artifactType: 'application/vnd.cncf.model.manifest.v1+json',
  config: 'application/vnd.cncf.model.config.v1+json',
  /** A tar of model weights: what ShipML's plain-tar model layer is published as. */
  weightTar: 'application/vnd.cncf.model.weight.v1.tar',
} as const;

/** Layer annotation keys of ModelPack (docs/annotations.md). */
export const ModelPackAnnotation = {
  filepath: 'org.cncf.model.filepath',
  fileMetadata: 'org.cncf.model.file.metadata+json',
  mediaTypeUntested: 'org.cncf.model.file.mediatype.untested',
} as const;

/** Annotation keys of the OCI image spec (https://github.com/opencontainers/image-spec/blob/main/annotations.md). */
export const OciAnnotation = {
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
} as const;

/**
 * ShipML's own manifest annotations on the artifacts it publishes: which model version it
 * is, and the layout of its single layer (so a build knows it can mount the layer as is).
 */
export const ShipmlAnnotation = {
  name: 'dev.shipml.model.name',
  version: 'dev.shipml.model.version',
  digest: 'dev.shipml.model.digest',
  layerFormat: 'dev.shipml.model.layer.format',
  layerTarget: 'dev.shipml.model.layer.target',
} as const;

/** What a layer holds, by the ModelPack media type's second word. */
export type LayerKind = 'weight' | 'weight.config' | 'doc' | 'code' | 'dataset';
/** How a layer's bytes are packed. */
export type LayerPacking = 'raw' | 'tar' | 'tar+gzip' | 'tar+zstd';

const LAYER =
  /^application\/vnd\.cncf\.model\.(weight|weight\.config|doc|code|dataset)\.v1\.(raw|tar|tar\+gzip|tar\+zstd)$/;

/**
 * The kind and packing of a ModelPack layer media type; ConfigError for any other media type
 * (an artifact whose layers we cannot interpret must not be half-read).
 */
export function parseLayerMediaType(
  mediaType: string,
  where: string,
): { kind: LayerKind; packing: LayerPacking } {
  const match = LAYER.exec(mediaType);
  if (!match)
    throw new ConfigError(
      `${where}: layer media type ${JSON.stringify(mediaType)} is not a ModelPack layer type`,
      {
        hint: 'ModelPack layers are application/vnd.cncf.model.<weight|weight.config|doc|code|dataset>.v1.<raw|tar|tar+gzip|tar+zstd>',
      },
    );
  return { kind: match[1] as LayerKind, packing: match[2] as LayerPacking };
}

/** ModelPack's `config.format` for a model's files, when all weights share one known format. */
export function inferFormat(paths: readonly string[]): string | undefined {
  const formats = new Set<string>();
  for (const path of paths) {
    const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
    const format = ext ? FORMAT_BY_EXTENSION[ext] : undefined;
    if (format) formats.add(format);
  }
  return formats.size === 1 ? [...formats][0] : undefined;
}

const FORMAT_BY_EXTENSION: Record<string, string> = {
  onnx: 'onnx',
  safetensors: 'safetensors',
  gguf: 'gguf',
  pt: 'pt',
  pth: 'pt',
};
