import { createWriteStream } from 'node:fs';
import { atomicWrite } from '../core/atomic.js';
import { ConfigError } from '../core/errors.js';
import type { Digest } from './digest.js';
import type { OciImage } from './image.js';
import { RegistryClient } from './remote/client.js';
import { pullImage } from './remote/read.js';
import { formatReference, parseReference, type ImageReference } from './remote/reference.js';
import type { RegistryOptions } from './remote/transport/index.js';
import { pushImage, type PushProgress, type PushResult } from './remote/write.js';
import type { Image } from './types.js';

/**
 * Where images come from and go to, by name — the same verbs for every kind:
 *   registry ref   `host[:port]/repo[:tag]`
 *   `oci:DIR[:name]`            an OCI image layout directory
 *   `docker-archive:FILE`       a `docker load` tarball (write only)
 *   `docker`                    the local Docker Engine (write only)
 */
export type ImageLocation =
  | { kind: 'registry'; ref: ImageReference }
  | { kind: 'oci'; dir: string; name?: string | undefined }
  | { kind: 'docker-archive'; file: string }
  | { kind: 'docker' };

export function parseLocation(value: string): ImageLocation {
  if (value === 'docker') return { kind: 'docker' };
  if (value.startsWith('docker-archive:')) {
    const file = value.slice('docker-archive:'.length);
    if (!file)
      throw new ConfigError('docker-archive: needs a file name, e.g. docker-archive:app.tar');
    return { kind: 'docker-archive', file };
  }
  if (value.startsWith('oci:')) {
    const rest = value.slice('oci:'.length);
    const colon = rest.lastIndexOf(':');
    const [dir, name] =
      colon > 0 && !rest.slice(colon).includes('/')
        ? [rest.slice(0, colon), rest.slice(colon + 1)]
        : [rest, undefined];
    if (!dir) throw new ConfigError('oci: needs a directory, e.g. oci:./out:app');
    return { kind: 'oci', dir, name };
  }
  return { kind: 'registry', ref: parseReference(value) };
}

export interface RegistryAccess extends Omit<RegistryOptions, 'env'> {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  /**
   * Registry clients by registry host, shared by the reads and writes of one command: one
   * ping (one scheme probe, one challenge) and one set of connections per registry instead
   * of one per read or write. Absent: every read and write opens its own client.
   */
  clients?: Map<string, RegistryClient> | undefined;
}

/** The client for `registry`: the command's shared one (see RegistryAccess.clients), or a new one. */
export function registryClientFor(access: RegistryAccess, registry: string): RegistryClient {
  const shared = access.clients?.get(registry);
  if (shared) return shared;
  const client = new RegistryClient(registry, access);
  access.clients?.set(registry, client);
  return client;
}

/** Reads an image from a registry or an OCI layout. */
export async function readImage(
  location: ImageLocation,
  options: RegistryAccess,
): Promise<OciImage> {
  if (location.kind === 'registry')
    return pullImage(registryClientFor(options, location.ref.registry), location.ref, {
      signal: options.signal,
    });
  if (location.kind === 'oci') {
    const { OciLayout } = await import('./layout/index.js');
    return new OciLayout(location.dir).read(location.name);
  }
  throw new ConfigError(
    `images cannot be read from ${location.kind}; use a registry reference or oci:DIR`,
  );
}

export interface WriteResult {
  digest: Digest;
  /** Where it went, e.g. `127.0.0.1:5000/app@sha256:...`. */
  reference: string;
  push?: PushResult;
}

/** Writes an image; `tags` apply to registries, layouts (ref name) and Docker (repo:tag). */
export async function writeImage(
  image: Image,
  location: ImageLocation,
  tags: readonly string[],
  options: RegistryAccess & { progress?: PushProgress },
): Promise<WriteResult> {
  switch (location.kind) {
    case 'registry': {
      const client = registryClientFor(options, location.ref.registry);
      const push = await pushImage(client, location.ref, image, {
        tags: tags.length ? tags : [location.ref.tag ?? 'latest'],
        signal: options.signal,
        progress: options.progress,
      });
      return {
        digest: image.digest,
        reference: `${location.ref.registry}/${location.ref.repository}@${image.digest}`,
        push,
      };
    }
    case 'oci': {
      const { OciLayout } = await import('./layout/index.js');
      await new OciLayout(location.dir).write(image, location.name ?? tags[0]);
      return { digest: image.digest, reference: `oci:${location.dir}@${image.digest}` };
    }
    case 'docker-archive': {
      const { writeDockerArchive } = await import('./docker/archive.js');
      // Written beside and renamed: an interrupted write never leaves a truncated archive.
      await atomicWrite(location.file, (temp) =>
        writeDockerArchive(image, createWriteStream(temp), tags),
      );
      return { digest: image.digest, reference: `docker-archive:${location.file}` };
    }
    case 'docker': {
      if (tags.length === 0)
        throw new ConfigError('loading into Docker needs a tag (--tag repo:tag)');
      // The engine's client (dockerode, node:https) loads only for the engine: a push needs none.
      const { loadIntoEngine } = await import('./docker/engine.js');
      await loadIntoEngine(image, tags, options.env);
      return { digest: image.digest, reference: `docker:${tags[0]}` };
    }
  }
}

/**
 * One line per tag the write moved from another image, e.g.
 * `tag 127.0.0.1:5000/app:3f2a9c1d4e5b moved: sha256:0123456789ab -> sha256:ba9876543210`.
 */
export function movedTagNotes(written: WriteResult, location: ImageLocation): string[] {
  if (location.kind !== 'registry' || !written.push) return [];
  const where = `${location.ref.registry}/${location.ref.repository}`;
  const short = (d: string): string => d.slice(0, 'sha256:'.length + 12);
  return written.push.movedTags.map(
    (m) => `tag ${where}:${m.tag} moved: ${short(m.previous)} -> ${short(written.digest)}`,
  );
}

/** What a push did that is worth saying: tags it moved, mounts that fell back to uploads. */
export function pushNotes(written: WriteResult, location: ImageLocation): string[] {
  return [...movedTagNotes(written, location), ...(written.push?.mountFallbacks ?? [])];
}

export { formatReference };
