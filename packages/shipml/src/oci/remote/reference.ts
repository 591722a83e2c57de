import { ConfigError } from '../../core/errors.js';
import { isDigest, type Digest } from '../digest.js';

/**
 * An image reference, `[registry/]repository[:tag][@digest]`, by the grammar of
 * distribution/reference: the first component is a registry when it has a `.` or `:` or
 * is `localhost`; otherwise the registry is Docker Hub.
 */
export interface ImageReference {
  /** host[:port], e.g. `127.0.0.1:5000`, `myacr.azurecr.io`. */
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: Digest | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOCKER_HUB = 'registry-1.docker.io';

export function parseReference(ref: string): ImageReference {
  const bad = (why: string): never => {
    throw new ConfigError(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
  };
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) bad('the digest must be sha256:<64 hex digits>');
    digest = d as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) bad(`invalid tag ${JSON.stringify(tag)}`);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  } else if (parts.length === 1) {
    parts.unshift('library');
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p)))
    bad(
      'repository components must be lowercase letters and digits separated by ".", "_", "__" or "-"',
    );
  return {
    registry,
    repository: parts.join('/'),
    tag: tag ?? (digest ? undefined : 'latest'),
    digest,
  };
}

export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `registry/repository@digest`: the immutable form. */
export function pinned(ref: ImageReference, digest: Digest): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** Loopback registries may speak plain HTTP (as Docker allows for 127.0.0.0/8). */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
