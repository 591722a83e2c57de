import { pipeline, type Readable } from 'node:stream';
import { ConfigError, IntegrityError } from '../../core/errors.js';
import { VerifyingStream } from '../../core/hash.js';
import { digestOf, hexOf, type Digest } from '../digest.js';
import { isIndexType, MediaType } from '../media-types.js';
import { MODEL_LAYER_FORMAT } from '../model-layer.js';
import type { RegistryClient } from '../remote/client.js';
import { parseReference, pinned, type ImageReference } from '../remote/reference.js';
import type { Descriptor } from '../schema.js';
import type { Layer } from '../types.js';
import { normaliseTarget } from './layer.js';
import {
  ModelPack,
  ModelPackAnnotation,
  OciAnnotation,
  parseLayerMediaType,
  ShipmlAnnotation,
  type LayerKind,
  type LayerPacking,
} from './media-types.js';
import {
  ModelPackConfigSchema,
  ModelPackManifestSchema,
  parseDocument,
  type ModelPackConfig,
  type ModelPackManifest,
} from './schema.js';

/** A config larger than this is not a ModelPack config (it is a few hundred bytes). */
const MAX_CONFIG_BYTES = 1 << 20;

/** One layer of a model artifact; its bytes are fetched (and verified) only when opened. */
export interface ArtifactLayer {
  descriptor: Descriptor;
  kind: LayerKind;
  packing: LayerPacking;
  /** The uncompressed content's digest, from the config's `modelfs.diffIds`. */
  diffId: Digest;
  /** `org.cncf.model.filepath`, else `org.opencontainers.image.title`. */
  path: string | undefined;
  /** The blob, failing at its end with IntegrityError unless it is exactly `descriptor`. */
  open(): Promise<Readable>;
}

/** A ModelPack artifact read from a registry: its manifest and config verified, layers lazy. */
export interface ModelArtifact {
  /** `registry/repository@digest`. */
  pinned: string;
  reference: ImageReference;
  digest: Digest;
  manifest: ModelPackManifest;
  config: ModelPackConfig;
  layers: ArtifactLayer[];
  /** Set when ShipML published it: the model version and where its single layer's files sit. */
  shipml?: { name: string; version: string; modelDigest: string; target: string } | undefined;
}

/** `oci://REGISTRY/REPOSITORY:TAG` or `oci://REGISTRY/REPOSITORY@sha256:…` → a reference. */
export function parseModelArtifactReference(ref: string): ImageReference {
  if (!ref.startsWith('oci://'))
    throw new ConfigError(`model reference ${JSON.stringify(ref)} must start with oci://`, {
      hint: 'e.g. oci://registry.example.com/models/digits:1.0.0',
    });
  return parseReference(ref.slice('oci://'.length));
}

/**
 * Resolves a reference to a ModelPack artifact: the manifest (checked against the digest
 * when pinned, and against the ModelPack schema), its config (verified by digest, schema
 * checked, one DiffID per layer) and its layers' media types. A plain image, an index or an
 * unknown layer type is refused here, before any layer byte moves.
 */
export async function readModelArtifact(
  client: RegistryClient,
  ref: ImageReference,
  signal?: AbortSignal,
): Promise<ModelArtifact> {
  const { repository } = ref;
  const fetched = await client.getManifest(repository, ref.digest ?? ref.tag ?? 'latest', signal);
  const where = `model artifact ${pinned(ref, fetched.digest)}`;
  if (isIndexType(fetched.mediaType))
    throw new ConfigError(`${where} is an image index, not a ModelPack manifest`, {
      hint: 'name the model manifest itself, by tag or @digest',
    });
  assertModelPack(fetched.bytes, where);
  const manifest = parseDocument(ModelPackManifestSchema, fetched.bytes, `${where} manifest`);
  const configDesc = manifest.config;
  if (configDesc.size > MAX_CONFIG_BYTES)
    throw new IntegrityError(`${where}: config of ${configDesc.size} bytes is too large`);
  const rawConfig = await readVerified(
    await client.getBlob(repository, configDesc.digest as Digest, signal),
    configDesc.digest as Digest,
    configDesc.size,
    `${where} config`,
  );
  const config = parseDocument(ModelPackConfigSchema, rawConfig, `${where} config`);
  const diffIds = config.modelfs.diffIds;
  if (diffIds.length !== manifest.layers.length)
    throw new IntegrityError(
      `${where}: config lists ${diffIds.length} DiffIDs for ${manifest.layers.length} layers`,
    );
  const layers = manifest.layers.map((descriptor, i): ArtifactLayer => {
    const { kind, packing } = parseLayerMediaType(descriptor.mediaType, where);
    const digest = descriptor.digest as Digest;
    const diffId = diffIds[i] as Digest;
    if ((packing === 'raw' || packing === 'tar') && diffId !== digest)
      throw new IntegrityError(
        `${where}: layer ${i} is uncompressed, but its DiffID ${diffId} is not its digest ${digest}`,
      );
    const notes = descriptor.annotations ?? {};
    return {
      descriptor,
      kind,
      packing,
      diffId,
      path: notes[ModelPackAnnotation.filepath] ?? notes[OciAnnotation.title],
      open: async () =>
        verifying(
          await client.getBlob(repository, digest, signal),
          digest,
          descriptor.size,
          `${where} layer ${digest}`,
        ),
    };
  });
  const notes = manifest.annotations ?? {};
  const name = notes[ShipmlAnnotation.name];
  const version = notes[ShipmlAnnotation.version];
  const modelDigest = notes[ShipmlAnnotation.digest];
  const target = notes[ShipmlAnnotation.layerTarget];
  const shipml =
    notes[ShipmlAnnotation.layerFormat] === MODEL_LAYER_FORMAT &&
    name &&
    version &&
    modelDigest &&
    target
      ? { name, version, modelDigest, target }
      : undefined;
  const reference = { ...ref, digest: fetched.digest };
  return {
    pinned: pinned(ref, fetched.digest),
    reference,
    digest: fetched.digest,
    manifest,
    config,
    layers,
    shipml,
  };
}

/**
 * The artifact's layer as an image layer that a build can mount by digest (no bytes move),
 * or undefined when its layout does not allow that: it must be ONE uncompressed tar layer
 * whose files sit at `target` — which ShipML's own artifacts declare in their annotations.
 * Anything else is extracted and re-tarred by the caller.
 */
export function mountableLayer(artifact: ModelArtifact, target: string): Layer | undefined {
  const [only, ...rest] = artifact.layers;
  if (!only || rest.length > 0 || only.packing !== 'tar') return undefined;
  const want = normaliseTarget(target);
  if (!artifact.shipml || normaliseTarget(artifact.shipml.target) !== want) return undefined;
  // The layer's own filepath must agree: the layout claim is checked twice, the bytes by digest.
  if (only.path !== want.slice(1)) return undefined;
  return {
    digest: only.descriptor.digest as Digest,
    diffId: only.diffId,
    size: only.descriptor.size,
    mediaType: MediaType.ociLayer,
    source: { registry: artifact.reference.registry, repository: artifact.reference.repository },
    open: () => only.open(),
  };
}

/** A clear refusal for a manifest that is some other artifact or an image, not a model. */
function assertModelPack(bytes: Buffer, where: string): void {
  let doc: { artifactType?: unknown; config?: { mediaType?: unknown } } | undefined;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    return; // parseDocument says it is not JSON
  }
  const type = doc?.artifactType;
  const config = doc?.config?.mediaType;
  if (config === ModelPack.config && (type === undefined || type === ModelPack.artifactType))
    return;
  throw new ConfigError(
    `${where} is not a ModelPack model (artifactType ${JSON.stringify(type ?? null)}, config ${JSON.stringify(config ?? null)})`,
    {
      hint: `a ModelPack model has artifactType ${ModelPack.artifactType} and config ${ModelPack.config}`,
    },
  );
}

/** Passes the bytes through; fails at their end unless they are `size` bytes of `digest`. */
export function verifying(source: Readable, digest: Digest, size: number, what: string): Readable {
  const check = new VerifyingStream(
    { size, sha256: hexOf(digest) },
    (actual) =>
      new IntegrityError(
        `${what}: received ${actual.size} bytes with sha256:${actual.sha256}, expected ${size} bytes with ${digest}; refused`,
      ),
  );
  return pipeline(source, check, () => undefined);
}

async function readVerified(
  source: Readable,
  digest: Digest,
  size: number,
  what: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > size) break;
    chunks.push(chunk as Buffer);
  }
  source.destroy();
  const bytes = Buffer.concat(chunks);
  const actual = digestOf(bytes);
  if (total !== size || actual !== digest)
    throw new IntegrityError(
      `${what}: received ${total > size ? `more than ${size}` : total} bytes with ${actual}, expected ${size} bytes with ${digest}; refused`,
    );
  return bytes;
}
