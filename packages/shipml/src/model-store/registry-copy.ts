/**
 * The registry copy of a model version: the same version pushed as a CNCF ModelPack artifact
 * (oci/modelpack) whose one layer is byte-for-byte the model layer builds put into images, so
 * every build after the publish mounts it by digest instead of moving the model's bytes.
 */
import { createReadStream } from 'node:fs';
import { ConflictError } from '../core/errors.js';
import type { Digest } from '../oci/digest.js';
import { pushModelArtifact, type PushModelResult } from '../oci/modelpack/write.js';
import type { RegistryClient } from '../oci/remote/client.js';
import { formatReference, type ImageReference } from '../oci/remote/reference.js';
import type { Manifest } from './manifest.js';
import type { SourceFile } from './source-files.js';

/** Where a publish also pushes the model: a repository of one registry (tag = version). */
export interface RegistryCopyTarget {
  client: RegistryClient;
  /** registry/repository; a tag in it is ignored (the artifact is tagged with the version). */
  target: ImageReference;
  /** Repositories of the same registry that may hold the layer already. */
  mountFrom?: readonly string[] | undefined;
}

/** What the publish did in the registry (for the output to say). */
export interface RegistryCopy {
  /** `registry/repository@digest` of the artifact, as the model's manifest records it. */
  reference: string;
  digest: Digest;
  layer: PushModelResult['layer'] & {
    /** True when the layer went up during the single read of the files. */
    streamed: boolean;
  };
  /** Why the layer was sent again after the single read (it was not taken then), if it was. */
  resent?: string | undefined;
  mountFallbacks: string[];
}

/** `registry/repository` of the copy, for messages. */
export function copyRepository(copy: RegistryCopyTarget): string {
  return formatReference({ registry: copy.target.registry, repository: copy.target.repository });
}

/**
 * Refuses a version the registry already has under its tag, before any byte of the
 * publish moves (versions are immutable there as in the store).
 */
export async function assertVersionFree(
  copy: RegistryCopyTarget,
  version: string,
  signal?: AbortSignal,
): Promise<void> {
  const existing = await copy.client.manifestDigest(copy.target.repository, version, signal);
  if (existing)
    throw new ConflictError(
      `${copyRepository(copy)}:${version} already exists (${existing}); published versions are immutable`,
      { hint: 'publish under a new --version, or to another --registry repository' },
    );
}

/**
 * Completes the artifact once the store holds the files: the config and the manifest (the
 * layer is already there when the single pass streamed it; otherwise it is mounted or sent
 * now, reading the files again).
 */
export async function finishRegistryCopy(
  copy: RegistryCopyTarget,
  manifest: Manifest,
  files: readonly SourceFile[],
  streamed: { ok: true } | { ok: false; error: Error } | undefined,
  signal?: AbortSignal,
): Promise<RegistryCopy> {
  const byPath = new Map(files.map((f) => [f.path, f.absolute]));
  const pushed = await pushModelArtifact(copy.client, copy.target, manifest, {
    openFile: (path) => Promise.resolve(createReadStream(byPath.get(path)!)),
    tags: [manifest.version],
    mountFrom: copy.mountFrom,
    signal,
  });
  const wasStreamed = streamed?.ok === true && pushed.layer.action === 'exists';
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    layer: { ...pushed.layer, streamed: wasStreamed },
    resent: streamed && !streamed.ok ? streamed.error.message : undefined,
    mountFallbacks: pushed.mountFallbacks,
  };
}
