/**
 * The ModelPack documents ShipML writes, checked against model-spec v0.0.7 without a
 * registry: the config validates against the spec's (strict) schema, the manifest is an OCI
 * artifact manifest with one weight.v1.tar layer, and the bytes are a pure function of the
 * model version (a re-publish has the same digest).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { digestOf } from '../src/oci/digest.js';
import { inferFormat, parseLayerMediaType } from '../src/oci/modelpack/media-types.js';
import { ModelPackConfigSchema, ModelPackManifestSchema } from '../src/oci/modelpack/schema.js';
import { modelPackDocuments, type PublishedModel } from '../src/oci/modelpack/write.js';

const layer = {
  format: 'shipml-model-layer-v1',
  target: '/models/digits/',
  mediaType: 'application/vnd.oci.image.layer.v1.tar',
  digest: `sha256:${'1'.repeat(64)}` as const,
  size: 10240,
};
const model: PublishedModel = {
  name: 'digits',
  version: '1.2.0',
  digest: `sha256:${'2'.repeat(64)}`,
  created: '2026-01-02T03:04:05.000Z',
  files: [{ path: 'model.onnx', size: 9000, sha256: '3'.repeat(64) }],
  layer,
};

describe('ModelPack documents', () => {
  it('are valid ModelPack config and manifest, carrying the model layer and annotations', () => {
    const { config, manifest } = modelPackDocuments(model, layer);
    expect(ModelPackConfigSchema.parse(config)).toEqual({
      descriptor: { createdAt: model.created, name: 'digits', version: '1.2.0' },
      config: { format: 'onnx' },
      modelfs: { type: 'layers', diffIds: [layer.digest] },
    });
    const parsed = ModelPackManifestSchema.parse(manifest);
    expect(parsed.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    expect(parsed.config.mediaType).toBe('application/vnd.cncf.model.config.v1+json');
    expect(parsed.layers).toEqual([
      {
        mediaType: 'application/vnd.cncf.model.weight.v1.tar',
        digest: layer.digest,
        size: layer.size,
        annotations: {
          'org.cncf.model.file.mediatype.untested': 'true',
          'org.cncf.model.filepath': 'models/digits',
          'org.opencontainers.image.title': 'digits.tar',
        },
      },
    ]);
    expect(parsed.annotations).toMatchObject({
      'org.opencontainers.image.version': '1.2.0',
      'dev.shipml.model.digest': model.digest,
      'dev.shipml.model.layer.target': '/models/digits',
    });
  });

  it('are the same bytes for the same model version', () => {
    const a = modelPackDocuments(model, layer);
    const b = modelPackDocuments({ ...model, files: [...model.files] }, layer);
    expect(b.rawManifest.equals(a.rawManifest)).toBe(true);
    expect(JSON.parse(a.rawManifest.toString())).toEqual(a.manifest);
    expect(a.manifest.config.digest).toBe(digestOf(a.rawConfig));
    const other = modelPackDocuments({ ...model, version: '1.2.1' }, layer);
    expect(other.rawManifest.equals(a.rawManifest)).toBe(false);
  });

  it('the spec schema refuses a config with extra top-level properties', () => {
    const { config } = modelPackDocuments(model, layer);
    expect(ModelPackConfigSchema.safeParse({ ...config, shipml: {} }).success).toBe(false);
  });

  it('classifies every ModelPack layer type and refuses others', () => {
    expect(
      parseLayerMediaType('application/vnd.cncf.model.weight.config.v1.tar+zstd', 'x'),
    ).toEqual({
      kind: 'weight.config',
      packing: 'tar+zstd',
    });
    expect(parseLayerMediaType('application/vnd.cncf.model.dataset.v1.raw', 'x')).toEqual({
      kind: 'dataset',
      packing: 'raw',
    });
    expect(() => parseLayerMediaType('application/vnd.oci.image.layer.v1.tar', 'x')).toThrow(
      ConfigError,
    );
    expect(() => parseLayerMediaType('application/vnd.cncf.model.weight.v2.tar', 'x')).toThrow(
      /not a ModelPack layer type/,
    );
  });

  it('names a format only when the weights agree on one', () => {
    expect(inferFormat(['a/model.safetensors', 'b/model-2.safetensors', 'config.json'])).toBe(
      'safetensors',
    );
    expect(inferFormat(['model.onnx', 'model.gguf'])).toBeUndefined();
    expect(inferFormat(['weights.bin'])).toBeUndefined();
  });
});
