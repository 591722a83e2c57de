import { z } from 'zod';
import { IntegrityError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { validateFilePath, validateName, validateVersion } from './names.js';

/**
 * The manifest of one published model version, stored at `<name>/<version>/manifest.json`.
 *
 * The model digest identifies the model's content, independent of its name, version and
 * publish time: sha256 over the canonical file list, which is the UTF-8 JSON array of
 * `{"path","size","sha256"}` objects (keys in that order) sorted by path (by UTF-16 code
 * unit, i.e. JavaScript's default sort), without whitespace. Two publishes of the same
 * files have the same digest.
 */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.shipml.model.manifest.v1+json';

const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'expected 64 lowercase hex digits');
const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex digits>');

export const FileEntrySchema = z.object({
  path: z.string().refine(isValidPath, 'invalid model file path'),
  size: z.number().int().nonnegative(),
  sha256,
});

export const ManifestSchema = z.object({
  schemaVersion: z.literal(1),
  mediaType: z.literal(MANIFEST_MEDIA_TYPE),
  name: z.string().refine(isValid(validateName), 'invalid model name'),
  version: z.string().refine(isValid(validateVersion), 'invalid model version'),
  created: z.iso.datetime(),
  digest,
  size: z.number().int().nonnegative(),
  files: z.array(FileEntrySchema).min(1),
  metrics: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /**
   * The image layer this model becomes at `layer.target` (see oci/model-layer.ts), computed
   * at publish time, so a build can skip downloading a model the registry already holds.
   */
  layer: z
    .object({
      format: z.literal('shipml-model-layer-v1'),
      target: z.string(),
      mediaType: z.string(),
      digest,
      size: z.number().int().nonnegative(),
    })
    .optional(),
  /**
   * Where the version also lives as a CNCF ModelPack artifact (model-store/registry-copy.ts):
   * `registry/repository@digest`; its layer is `layer`, so builds in that registry mount it.
   */
  registry: z.object({ reference: z.string().min(1), digest }).optional(),
});

export type FileEntry = z.infer<typeof FileEntrySchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

/** Sorts entries into canonical order (by path). */
export function canonicalFiles(files: readonly FileEntry[]): FileEntry[] {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(({ path, size, sha256 }) => ({ path, size, sha256 }));
}

/** The model digest of a file list (see the module comment). */
export function modelDigest(files: readonly FileEntry[]): string {
  return `sha256:${sha256Hex(JSON.stringify(canonicalFiles(files)))}`;
}

export function buildManifest(input: {
  name: string;
  version: string;
  created: Date;
  files: readonly FileEntry[];
  metrics?: Record<string, unknown> | undefined;
  metadata?: Record<string, string> | undefined;
  layer?: Manifest['layer'] | undefined;
}): Manifest {
  const files = canonicalFiles(input.files);
  return {
    schemaVersion: 1,
    mediaType: MANIFEST_MEDIA_TYPE,
    name: input.name,
    version: input.version,
    created: input.created.toISOString(),
    digest: modelDigest(files),
    size: files.reduce((total, f) => total + f.size, 0),
    files,
    ...(input.metrics ? { metrics: input.metrics } : {}),
    ...(input.metadata ? { metadata: input.metadata } : {}),
    ...(input.layer ? { layer: input.layer } : {}),
  };
}

export function encodeManifest(manifest: Manifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * Parses and checks a stored manifest: schema, the name and version it is stored under,
 * and that its digest matches its own file list (a hand-edited manifest is caught here).
 */
export function decodeManifest(
  bytes: Buffer,
  where: string,
  expect: { name: string; version: string },
): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(`${where}: manifest is not valid JSON`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(
      `${where}: invalid manifest at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  const manifest = parsed.data;
  if (manifest.name !== expect.name || manifest.version !== expect.version) {
    throw new IntegrityError(
      `${where}: manifest names ${manifest.name}@${manifest.version}, expected ${expect.name}@${expect.version}`,
    );
  }
  if (modelDigest(manifest.files) !== manifest.digest) {
    throw new IntegrityError(
      `${where}: manifest digest ${manifest.digest} does not match its file list`,
    );
  }
  return manifest;
}

function isValid(check: (value: string) => unknown): (value: string) => boolean {
  return (value) => {
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  };
}

function isValidPath(value: string): boolean {
  return isValid(validateFilePath)(value);
}
