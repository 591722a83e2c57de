/**
 * The npm packages an image really contains, read from the image itself rather than from the
 * build machine: every `node_modules/…/package.json` in the dependency layer the Node.js
 * builder writes (history `shipml: production node_modules`), joined with the integrity and
 * resolved URL that the image's own package-lock.json (in the app layer) records for that path.
 * An image built another way (Dockerfile) has no such layer: then no npm packages are listed,
 * and the SBOM says so in a property rather than guessing.
 */
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { posix } from 'node:path';
import { extract } from 'tar-stream';
import { isGzipLayer } from '../oci/media-types.js';
import type { Image, Layer } from '../oci/types.js';

/** The history line of the Node.js builder's dependency layer (builders/node/index.ts). */
export const DEPENDENCY_LAYER_HISTORY = 'shipml: production node_modules';
const APP_LAYER_HISTORY = 'shipml: app';

/** One installed package, as found in the layer. */
export interface NpmPackage {
  name: string;
  version: string;
  /** Its path under the app directory, e.g. `node_modules/a/node_modules/b`. */
  path: string;
  /** package.json `license` (or the old `licenses` array), as written. */
  license?: string | undefined;
  /** package-lock `integrity` (`sha512-<base64>`), when the lock has the path. */
  integrity?: string | undefined;
  resolved?: string | undefined;
}

/** The image's layers by what the ShipML builder recorded in the history. */
export function layerByHistory(image: Image, createdBy: string): Layer | undefined {
  const history = (image.config.history ?? []) as Array<{
    created_by?: string;
    empty_layer?: boolean;
  }>;
  let index = 0;
  for (const entry of history) {
    if (entry.empty_layer) continue;
    if (entry.created_by === createdBy) return image.layers[index];
    index++;
  }
  return undefined;
}

/**
 * The npm packages in the image's dependency layer, with lock data; undefined when the
 * image has no ShipML dependency layer. Only package.json and package-lock.json are kept in
 * memory; the rest of each layer streams past.
 */
export async function npmPackagesOf(image: Image): Promise<NpmPackage[] | undefined> {
  const deps = layerByHistory(image, DEPENDENCY_LAYER_HISTORY);
  if (!deps) return undefined;
  const workdir = posix
    .normalize(`/${image.config.config?.WorkingDir ?? '/app'}`)
    .replace(/^\//, '');
  const manifests = await readFiles(deps, (path) =>
    /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path),
  );
  const app = layerByHistory(image, APP_LAYER_HISTORY);
  const lockPath = posix.join(workdir, 'package-lock.json');
  const lockFiles = app
    ? await readFiles(app, (path) => path === lockPath)
    : new Map<string, Buffer>();
  const lock = parseLock(lockFiles.get(lockPath));
  const out: NpmPackage[] = [];
  for (const [file, bytes] of manifests) {
    const rel = posix.dirname(file).slice(workdir.length + 1);
    // A package.json deeper inside a package (e.g. lib/package.json) is not a package.
    if (!/^(node_modules\/(@[^/]+\/)?[^/]+\/)*node_modules\/(@[^/]+\/)?[^/]+$/.test(rel)) continue;
    const pkg = safeJson(bytes) as
      { name?: string; version?: string; license?: unknown; licenses?: unknown } | undefined;
    if (!pkg?.name || !pkg.version) continue;
    const locked = lock[rel];
    out.push({
      name: pkg.name,
      version: pkg.version,
      path: rel,
      license: licenseOf(pkg),
      integrity: locked?.integrity,
      resolved: locked?.resolved,
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function licenseOf(pkg: { license?: unknown; licenses?: unknown }): string | undefined {
  if (typeof pkg.license === 'string') return pkg.license;
  if (pkg.license && typeof pkg.license === 'object' && 'type' in pkg.license)
    return String(pkg.license.type);
  if (Array.isArray(pkg.licenses))
    return pkg.licenses
      .map((l: unknown) => (typeof l === 'string' ? l : String((l as { type?: unknown }).type)))
      .join(' OR ');
  return undefined;
}

function parseLock(
  bytes: Buffer | undefined,
): Record<string, { integrity?: string; resolved?: string }> {
  const lock = bytes
    ? (safeJson(bytes) as
        { packages?: Record<string, { integrity?: string; resolved?: string }> } | undefined)
    : undefined;
  return lock?.packages ?? {};
}

/** The files of a layer whose (normalised) path `want` accepts, by path. */
async function readFiles(
  layer: Layer,
  want: (path: string) => boolean,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const tar = extract();
  const reading = (async () => {
    for await (const entry of tar) {
      const path = posix.normalize(entry.header.name).replace(/^(\.\/|\/)+/, '');
      if (entry.header.type !== 'file' || !want(path)) {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      found.set(path, Buffer.concat(chunks));
    }
  })();
  const source = await layer.open();
  await Promise.all([
    isGzipLayer(layer.mediaType) ? pipeline(source, createGunzip(), tar) : pipeline(source, tar),
    reading,
  ]);
  return found;
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
