/**
 * The server's dependency cache: the node_modules a run installed in its clean checkout, kept
 * per repository and keyed by what decides an install (package-lock.json, package.json, the
 * platform and Node's ABI), so the next checkout of the same lock starts with it instead of an
 * empty directory. A changed lock is another key: that run installs from scratch (its own
 * `npm ci`), and its result becomes the cache of the new key.
 *
 * Only a finished install is kept (npm writes node_modules/.package-lock.json last), and only
 * when the run left the lock as it found it. Saving moves the directory (same filesystem:
 * a rename); restoring makes a hard-link copy (directories new, files linked), so a restore
 * of 8,600 files costs well under a second and no disk. npm never rewrites an installed file
 * in place (it replaces directories), so runs cannot change each other's files through the
 * links; a prepare that patches files under node_modules in place should run `npm ci`.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';

/** Keys kept per repository: the newest by last use; older ones are removed on save. */
const KEEP = 3;
/** Files linked at once (a restore is bounded by system calls, not bandwidth). */
const PARALLEL = 64;

/**
 * The cache key of a project directory, or undefined when it has no package-lock.json (or
 * no package.json): nothing npm ci would install reproducibly.
 */
export async function depsKey(projectDir: string): Promise<string | undefined> {
  const [lock, manifest] = await Promise.all(
    ['package-lock.json', 'package.json'].map((f) =>
      readFile(join(projectDir, f)).catch(() => undefined),
    ),
  );
  if (!lock || !manifest) return undefined;
  return createHash('sha256')
    .update(`${process.platform}-${process.arch}-node-abi-${process.versions.modules}\n`)
    .update(lock)
    .update('\n')
    .update(manifest)
    .digest('hex');
}

/** One repository's cached node_modules (a directory per key). */
export class DepsCache {
  /** @param root this repository's cache directory (e.g. <dataDir>/deps/<mirror id>) */
  constructor(private readonly root: string) {}

  /**
   * Puts the cached node_modules of `projectDir`'s key into it (when there is one and the
   * directory has none). Returns the key it looked for (undefined: no lock), and whether it
   * restored.
   */
  async restore(projectDir: string): Promise<{ key: string | undefined; restored: boolean }> {
    const key = await depsKey(projectDir);
    if (!key) return { key, restored: false };
    const cached = join(this.root, key, 'node_modules');
    const target = join(projectDir, 'node_modules');
    if (!(await isDir(cached)) || (await exists(target))) return { key, restored: false };
    const tmp = `${target}.restore-${randomBytes(4).toString('hex')}`;
    try {
      await linkTree(cached, tmp);
      await rename(tmp, target);
    } catch {
      // A cache that cannot be restored is a cache miss: the run installs as if it were empty.
      await rm(tmp, { recursive: true, force: true });
      return { key, restored: false };
    }
    const now = new Date();
    await utimes(join(this.root, key), now, now).catch(() => undefined);
    return { key, restored: true };
  }

  /**
   * Keeps `projectDir`'s node_modules for its key when the install finished and the key is
   * `expected` (the run did not change its lock) and not cached yet. It moves the directory,
   * so call it when the checkout is done with. Returns whether it saved.
   */
  async save(projectDir: string, expected: string | undefined): Promise<boolean> {
    if (!expected || (await depsKey(projectDir)) !== expected) return false;
    // Moved, not copied: the checkout is done with it.
    return this.place(projectDir, expected, (from, to) => rename(from, to));
  }

  /**
   * Seeds the cache with an installed project elsewhere (hard links when on the same
   * filesystem, else copies): its key must be the one the checkout will compute, so it is
   * computed from that project's own files. Returns whether it added the key.
   */
  async seed(projectDir: string): Promise<boolean> {
    const key = await depsKey(projectDir);
    return key ? this.place(projectDir, key, linkTree) : false;
  }

  /**
   * Puts a finished install (npm's hidden lockfile is there) under `key`, unless the key is
   * cached already: assembled beside and renamed, so a present key is always complete.
   */
  private async place(
    projectDir: string,
    key: string,
    put: (from: string, to: string) => Promise<void>,
  ): Promise<boolean> {
    const modules = join(projectDir, 'node_modules');
    if (!(await exists(join(modules, '.package-lock.json')))) return false;
    const entry = join(this.root, key);
    if (await exists(entry)) return false;
    const tmp = join(this.root, `.tmp-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(tmp, { recursive: true });
      await put(modules, join(tmp, 'node_modules'));
      await rename(tmp, entry);
    } catch {
      // Another run saved the same key first, or another filesystem: nothing to keep.
      await rm(tmp, { recursive: true, force: true });
      return false;
    }
    await this.prune();
    return true;
  }

  /** Removes all but the KEEP most recently used keys, and temporary leftovers. */
  private async prune(): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const keys = await Promise.all(
      names
        .filter((n) => /^[0-9a-f]{64}$/.test(n))
        .map(async (n) => ({ n, t: (await stat(join(this.root, n))).mtimeMs })),
    );
    keys.sort((a, b) => b.t - a.t);
    for (const { n } of keys.slice(KEEP))
      await rm(join(this.root, n), { recursive: true, force: true });
  }
}

/**
 * Recreates the tree `from` at `to`: directories made, symbolic links recreated as they are
 * (node_modules/.bin holds relative ones), files hard-linked (copied across filesystems).
 */
export async function linkTree(from: string, to: string): Promise<void> {
  const files: Array<[string, string]> = [];
  const walk = async (src: string, dst: string): Promise<void> => {
    await mkdir(dst);
    for (const e of await readdir(src, { withFileTypes: true })) {
      const s = join(src, e.name);
      const d = join(dst, e.name);
      if (e.isDirectory()) await walk(s, d);
      else if (e.isSymbolicLink()) await symlink(await readlink(s), d);
      else if (e.isFile()) files.push([s, d]);
    }
  };
  await walk(from, to);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const [s, d] = files[next++]!;
      await link(s, d).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV' && err.code !== 'EPERM') throw err;
        await copyFile(s, d);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
