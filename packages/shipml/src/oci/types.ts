import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { ConfigFile, ImageManifest } from './schema.js';

/**
 * A read-only image layer, as go-containerregistry's v1.Layer: identity is known up front,
 * bytes move only when asked for. Implementations: a blob in a local directory (built
 * layers, OCI layouts), a blob in a registry (pulled base layers), a blob in a docker archive.
 */
export interface Layer {
  /** Digest of the blob as stored and transferred (compressed, if compressed). */
  readonly digest: Digest;
  /** Digest of the uncompressed tar (`rootfs.diff_ids`). */
  readonly diffId: Digest;
  /** Size of the blob as stored, in bytes. */
  readonly size: number;
  readonly mediaType: string;
  /** Descriptor annotations (e.g. which model a layer carries). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** Opens the blob's bytes; may be called again (retries, several sinks). */
  open(): Promise<Readable>;
  /** Where the blob can be mounted from without moving bytes: `registry/repository`. */
  readonly source?: { registry: string; repository: string } | undefined;
}

/**
 * A read-only image: config, layers, manifest. Mutations (mutate.ts) return new images.
 * The raw bytes are authoritative: digests are over exactly these bytes.
 */
export interface Image {
  readonly mediaType: string;
  readonly manifest: ImageManifest;
  readonly rawManifest: Buffer;
  readonly digest: Digest;
  readonly config: ConfigFile;
  readonly rawConfig: Buffer;
  readonly layers: readonly Layer[];
}
