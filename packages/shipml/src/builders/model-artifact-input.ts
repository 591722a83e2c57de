/**
 * `--model oci://REGISTRY/REPO:TAG`: a CNCF ModelPack artifact in a registry as the model a
 * build packages — ShipML's own (published with `model.registry`) or any other tool's
 * (`oras push` with ModelPack media types). Two ways in, cheapest first:
 * - mount: the artifact is ONE uncompressed tar layer whose files already sit at the image's
 *   model path (what ShipML publishes): that layer IS the model layer, mounted by digest in
 *   the same registry, never read;
 * - re-tar: anything else (raw files, several layers, compressed tars, another path) is
 *   extracted once, every blob verified by digest, into the cache, then tarred like a model
 *   from a store (and cached by model digest like one).
 */
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { ConfigError } from '../core/errors.js';
import { canonicalFiles, modelDigest } from '../model-store/manifest.js';
import { validateName } from '../model-store/names.js';
import { hexOf } from '../oci/digest.js';
import { registryClientFor, type RegistryAccess } from '../oci/locations.js';
import { MODEL_LAYER_FORMAT } from '../oci/model-layer.js';
import { extractModelArtifact, type ExtractedFile } from '../oci/modelpack/extract.js';
import {
  mountableLayer,
  parseModelArtifactReference,
  readModelArtifact,
  type ModelArtifact,
} from '../oci/modelpack/read.js';
import { DEFAULT_MODEL_ROOT, type ModelLayerInput } from './model-layer.js';

/** True for a model reference that names a registry artifact. */
export function isArtifactReference(ref: string | undefined): ref is string {
  return ref?.startsWith('oci://') === true;
}

/** The artifact `ref` names, as the input of a build. */
export async function artifactModelInput(
  ref: string,
  access: RegistryAccess,
  cacheDir: string,
  modelPath: string | undefined,
  signal?: AbortSignal,
): Promise<ModelLayerInput> {
  const reference = parseModelArtifactReference(ref);
  const client = registryClientFor(access, reference.registry);
  const artifact = await readModelArtifact(client, reference, signal);
  const name = artifact.shipml?.name ?? modelNameOf(artifact, reference.repository);
  const version = artifact.shipml?.version ?? reference.tag ?? artifact.digest.slice(7, 19);
  const target = modelPath ?? `${DEFAULT_MODEL_ROOT}/${name}`;

  const layer = mountableLayer(artifact, target);
  if (layer && artifact.shipml) {
    return {
      name,
      version,
      // ShipML's own artifact says which model it holds; its layer's bytes are the digest
      // the registry keeps them under, and a mount moves exactly those.
      digest: artifact.shipml.modelDigest,
      target,
      files: [],
      recorded: {
        format: MODEL_LAYER_FORMAT,
        target: posix.normalize(target),
        mediaType: layer.mediaType,
        digest: layer.digest,
        size: layer.size,
      },
      mountFrom: layer.source,
      openLayer: () => layer.open(),
      dir: lazily(() => extracted(artifact, cacheDir).then((e) => e.dir)),
    };
  }
  const model = await extracted(artifact, cacheDir);
  return {
    name,
    version,
    digest: model.digest,
    target,
    files: model.files,
    dir: () => Promise.resolve(model.dir),
  };
}

interface ExtractedModel {
  /** Where the model's own files are (inside the extraction). */
  dir: string;
  files: Array<{ path: string; size: number; sha256: string }>;
  digest: string;
}

/**
 * The artifact's files in the cache, extracted once per artifact digest (verified on the way;
 * a partial extraction never takes the final name), with their list recorded beside them.
 */
async function extracted(artifact: ModelArtifact, cacheDir: string): Promise<ExtractedModel> {
  const dest = join(cacheDir, 'model-artifacts', hexOf(artifact.digest));
  const record = `${dest}.files.json`;
  let all = await readFile(record, 'utf8')
    .then((text) => JSON.parse(text) as ExtractedFile[])
    .catch(() => undefined);
  if (!all || !(await stat(dest).catch(() => undefined))) {
    const temp = `${dest}.${process.pid}.partial`;
    await rm(temp, { recursive: true, force: true });
    await rm(dest, { recursive: true, force: true });
    await mkdir(join(cacheDir, 'model-artifacts'), { recursive: true });
    all = (await extractModelArtifact(artifact, temp)).files;
    await rename(temp, dest);
    await writeFileAtomic(record, JSON.stringify(all));
  }
  const root = artifact.shipml ? posix.normalize(artifact.shipml.target).replace(/^\/+/, '') : '';
  const prefix = root ? `${root}/` : '';
  const files = canonicalFiles(
    all
      .filter((f) => f.path.startsWith(prefix))
      .map((f) => ({ ...f, path: f.path.slice(prefix.length) })),
  );
  if (files.length === 0)
    throw new ConfigError(`model artifact ${artifact.pinned} holds no files under /${root}`);
  return { dir: root ? join(dest, ...root.split('/')) : dest, files, digest: modelDigest(files) };
}

/** The config's name when it is a valid model name, else the repository's last segment. */
function modelNameOf(artifact: ModelArtifact, repository: string): string {
  for (const candidate of [artifact.config.descriptor?.name, repository.split('/').at(-1)]) {
    try {
      if (candidate) return validateName(candidate);
    } catch {
      // not usable as a directory name in the image: try the next
    }
  }
  return 'model';
}

function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
