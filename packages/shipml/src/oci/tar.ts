import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { ConfigError } from '../core/errors.js';

/**
 * Deterministic tar streams for image layers. The same files give the same bytes on any
 * machine: entries sorted by path, parents listed before children, mtime fixed (the
 * build's SOURCE_DATE_EPOCH or commit time), uid/gid 0 with no user names, modes
 * normalised (0755 for directories and executables, 0644 otherwise). Long or non-ASCII
 * names and files over 8 GiB use PAX headers (https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html).
 */
export interface TarEntry {
  /** Path inside the image, relative to `/`, `/`-separated, no `.` or `..` segments. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** For files: where the bytes come from. */
  source?: string;
  /** For files: a stream of the bytes instead of `source` (e.g. straight from a model store). */
  open?: () => Promise<Readable>;
  size?: number;
  executable?: boolean;
  /** For symlinks. */
  linkname?: string;
  /** Cheap change detector from stat (mtime, inode, size): keys layer caches, never the tar. */
  stamp?: string;
}

/** ustar's octal size field holds at most 8 GiB - 1. */
const USTAR_MAX_SIZE = 0o77777777777;

export async function writeTar(
  entries: readonly TarEntry[],
  out: Writable,
  mtime: Date,
): Promise<void> {
  // Loaded on first use: a build whose layers are all cached writes no tar at all.
  const { pack } = await import('tar-stream');
  const tar = pack();
  const writing = pipeline(tar, out);
  writing.catch(() => undefined); // observed below
  try {
    for (const entry of withParents(entries)) {
      const header: Header = {
        name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        mode:
          entry.type === 'directory' || entry.executable
            ? 0o755
            : entry.type === 'symlink'
              ? 0o777
              : 0o644,
        mtime,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        devmajor: 0,
        devminor: 0,
        type: entry.type,

        size: entry.type === 'file' ? (entry.size ?? 0) : 0,
        linkname: entry.linkname ?? '',
      };

      if (entry.type === 'file' && (entry.size ?? 0) > USTAR_MAX_SIZE)
        header.pax = { size: String(entry.size) };
      if (entry.type !== 'file') {
        tar.entry(header);
        continue;
      }
      const sink = tar.entry(header);
      await pipeline(entry.open ? await entry.open() : createReadStream(entry.source!), sink);
    }
    tar.finalize();
  } catch (err) {
    tar.destroy(err as Error);
    throw err;
  }
  await writing;
}

/** Sorts entries and adds the parent directories they need (each once). */
function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'directory' });
    }
    byPath.set(entry.path, entry);
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface CollectOptions {
  /** Directory inside the image the files land in, e.g. `/app`. */
  target: string;
  /** Paths (relative to the context) to take; default: everything. */
  include?: readonly string[];
  /** Names skipped wherever they appear (e.g. `.git`, `node_modules`). */
  exclude?: (relativePath: string) => boolean;
  /**
   * The context is a whole root filesystem (`shipml image import`): symlinks resolve inside
   * the image, so absolute ones are fine and none can leave it.
   */
  rootfs?: boolean;
}

/**
 * The entries for the files under `context`, placed under `target`. Refuses what would make
 * a layer unsafe or irreproducible: symlinks pointing outside the context, absolute or `..`
 * paths, names that are not valid UTF-8, sockets and devices.
 */
export async function collectEntries(
  context: string,
  options: CollectOptions,
): Promise<TarEntry[]> {
  const root = await realpath(context).catch(() => {
    throw new ConfigError(`build context ${context} does not exist`);
  });
  const target = normaliseImagePath(options.target);
  const entries: TarEntry[] = [];
  const visit = async (absolute: string, rel: string): Promise<void> => {
    if (rel && options.exclude?.(rel)) return;
    const info = await lstat(absolute).catch(() => {
      throw new ConfigError(`build context: ${rel || '.'} does not exist`);
    });
    const inImage = rel ? posix.join(target, rel) : target;
    if (info.isSymbolicLink()) {
      const link = await readlink(absolute);
      const resolved = resolve(absolute, '..', link);
      const inside = resolved === root || resolved.startsWith(root + sep);
      if (!options.rootfs && (isAbsolute(link) || !inside)) {
        throw new ConfigError(
          `build context: symlink ${rel} -> ${link} points outside the context`,
        );
      }
      entries.push({ path: inImage, type: 'symlink', linkname: link });
    } else if (info.isDirectory()) {
      if (rel) entries.push({ path: inImage, type: 'directory' });
      const names = await readdir(absolute, { encoding: 'buffer' });
      for (const raw of names) {
        const name = raw.toString('utf8');
        if (!Buffer.from(name, 'utf8').equals(raw)) {
          throw new ConfigError(
            `build context: a file name in ${rel || '.'} is not valid UTF-8 (${raw.toString('hex')})`,
          );
        }
        await visit(join(absolute, name), rel ? `${rel}/${name}` : name);
      }
    } else if (info.isFile()) {
      entries.push({
        path: inImage,
        type: 'file',
        source: absolute,
        size: info.size,
        executable: (info.mode & 0o111) !== 0,
        stamp: `${info.mtimeMs}:${info.ino}:${info.size}`,
      });
    } else {
      throw new ConfigError(`build context: ${rel} is not a regular file, directory or symlink`);
    }
  };
  for (const item of options.include ?? ['']) {
    const rel = item.replace(/\/+$/, '');
    if (isAbsolute(rel) || rel.split('/').includes('..'))
      throw new ConfigError(
        `build include ${JSON.stringify(item)} must be a relative path inside the context`,
      );
    await visit(join(root, rel), rel);
  }
  return entries;
}

/** `/app/` → `app`: image paths as tar entries want them. */
export function normaliseImagePath(path: string): string {
  const clean = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, '');
  if (clean.split('/').includes('..'))
    throw new ConfigError(`image path ${JSON.stringify(path)} escapes the root`);
  return clean;
}
