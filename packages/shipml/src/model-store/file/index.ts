import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { atomicWrite, isTempName, tempPathBeside, writeFileAtomic } from '../../core/atomic.js';
import { ConfigError, ConflictError, NotFoundError, systemCode } from '../../core/errors.js';
import { SmallReads, type ConditionalRead } from '../small-reads.js';
import type { ModelStore, ObjectInfo, OpOptions, TransferOptions, WriteOptions } from '../types.js';

/** Lock files carry this suffix and are invisible to `list`, as temporaries are. */
const LOCK_SUFFIX = '.shipml-lock';
/** A lock older than this was left by a crashed writer (channel writes take milliseconds). */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/**
 * The embedded default store: a directory on the local file system (or a shared mount).
 * Conditional writes use the file-system equivalents of the object-store primitives:
 * create-only is `link(2)` (fails atomically if the name exists), If-Match is a lock file
 * (O_EXCL) around compare-and-rename. Every write lands by rename or link of a complete
 * temporary (core/atomic.ts), so readers never see a partial object. The ETag is the file's inode, mtime (ns) and size: any replace changes it.
 */
export class FileModelStore extends SmallReads implements ModelStore {
  readonly kind = 'file' as const;
  readonly credentialSource = 'local file system';
  readonly displayUrl: string;

  constructor(readonly root: string) {
    super();
    this.root = resolve(root);
    this.displayUrl = `file://${this.root}`;
  }

  private pathOf(key: string): string {
    const path = resolve(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep))
      throw new ConfigError(`object key ${JSON.stringify(key)} escapes ${this.displayUrl}`);
    return path;
  }

  /** Reads through one open handle, so the ETag compared is the ETag of the bytes read. */
  protected override async readUnless(
    key: string,
    etag: string | undefined,
  ): Promise<ConditionalRead> {
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (systemCode(err) === 'ENOENT' || systemCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
    try {
      const info = await handle.stat({ bigint: true });
      if (etag !== undefined && etagOf(info) === etag) return 'unchanged';
      const bytes = await handle.readFile();
      return { bytes, etag: etagOf(info) };
    } finally {
      await handle.close();
    }
  }

  async writeSmall(key: string, bytes: Uint8Array, options: WriteOptions = {}): Promise<string> {
    const final = this.pathOf(key);
    await mkdir(dirname(final), { recursive: true }); // the lock file sits beside the object
    const condition = options.condition;
    if (condition && 'ifNoneMatch' in condition) {
      await this.createOnly(final, bytes, key);
    } else if (condition && 'ifMatch' in condition) {
      // Compare and rename under the lock, so no other writer slips in between.
      await this.withLock(final, () =>
        atomicWrite(final, async (temp) => {
          await writeFile(temp, bytes);
          const current = await stat(final, { bigint: true }).catch(() => undefined);
          if (!current || etagOf(current) !== condition.ifMatch)
            throw new ConflictError(`${this.displayUrl}/${key} changed since it was read`);
        }),
      );
    } else {
      await writeFileAtomic(final, bytes);
    }
    return etagOf(await stat(final, { bigint: true }));
  }

  /**
   * Create-only: `link(2)` of a complete temporary fails atomically if the name exists, which
   * a rename (atomicWrite) cannot do — it would replace the object.
   */
  private async createOnly(final: string, bytes: Uint8Array, key: string): Promise<void> {
    const temp = tempPathBeside(final);
    try {
      await writeFile(temp, bytes);
      await link(temp, final).catch((err: unknown) => {
        throw systemCode(err) === 'EEXIST'
          ? new ConflictError(`${this.displayUrl}/${key} already exists`)
          : err;
      });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async upload(
    key: string,
    source: Readable,
    _size: number,
    options: TransferOptions = {},
  ): Promise<void> {
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        options.onProgress?.(sent);
        done(null, chunk);
      },
    });
    await atomicWrite(this.pathOf(key), (temp) =>
      pipeline(source, counter, createWriteStream(temp), { signal: options.signal }),
    );
  }

  async download(key: string, options: OpOptions = {}): Promise<{ body: Readable; size: number }> {
    const path = this.pathOf(key);
    try {
      const handle = await open(path, 'r');
      const { size } = await handle.stat();
      return { body: createReadStream('', { fd: handle, signal: options.signal }), size };
    } catch (err) {
      if (systemCode(err) === 'ENOENT')
        throw new NotFoundError(`${this.displayUrl}/${key} not found`);
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Prefixes are directory prefixes (`name/`), so list that directory recursively.
    const trimmed = prefix.replace(/\/$/, '');
    yield* this.walk(trimmed ? this.pathOf(trimmed) : this.root);
  }

  private async *walk(dir: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (systemCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* this.walk(path);
      } else if (entry.isFile() && !isTemporary(entry.name)) {
        const { size } = await stat(path);
        yield { key: relative(this.root, path).split(sep).join('/'), size };
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      await this.pruneEmptyParents(dirname(path));
    }
  }

  private async pruneEmptyParents(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or gone): stop
      }
      dir = dirname(dir);
    }
  }

  /** Runs `fn` holding an exclusive lock file beside `path`, breaking locks of crashed writers. */
  private async withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const lock = path + LOCK_SUFFIX;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await open(lock, 'wx')).close();
        break;
      } catch (err) {
        if (systemCode(err) !== 'EEXIST') throw err;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await unlink(lock).catch(() => undefined);
        if (Date.now() > deadline)
          throw new ConflictError(`${path} is locked by another writer (${lock})`);
        await sleep(5 + Math.random() * 20);
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

function etagOf(info: { ino: bigint; mtimeNs: bigint; size: bigint }): string {
  return `"${info.ino}-${info.mtimeNs}-${info.size}"`;
}

function isTemporary(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX) || isTempName(name);
}
