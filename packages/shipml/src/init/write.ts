import { randomBytes } from 'node:crypto';
import {
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConflictError, LocalStorageError, systemCode } from '../core/errors.js';

export interface PlannedFile {
  /** Absolute path. */
  path: string;
  /** How to name it to the user (relative to where they ran the command). */
  display: string;
  content: string;
  /**
   * The file's content as read when `content` was merged from it: the file is replaced even
   * without force (it is the user's own file, updated), unless it changed meanwhile.
   */
  mergedFrom?: string | undefined;
}

export interface WrittenFile {
  path: string;
  display: string;
  /** merged: keys added to (or changed in) the user's file; unchanged: nothing to add. */
  action: 'created' | 'overwritten' | 'merged' | 'unchanged';
}

/**
 * Writes all of `files` or none. Each is written to a temporary file beside its target and
 * moved into place only once every temporary file is complete, so a reader never sees half a
 * file and a failed write (a full disk) leaves nothing behind. Without `force` existing files
 * are refused before anything is written, and each file goes into place with link(2), which
 * fails rather than replace a file that appeared meanwhile; then the ones already placed are
 * taken back. A file with `mergedFrom` (the user's shipml.yaml, merged into) replaces the
 * file even without force, if it still holds what was read; unchanged content is not written.
 */
export async function writeAll(files: PlannedFile[], force: boolean): Promise<WrittenFile[]> {
  const existing: PlannedFile[] = [];
  for (const file of files)
    if (file.mergedFrom === undefined && (await exists(file.path))) existing.push(file);
  if (existing.length > 0 && !force) throw refusal(existing);
  for (const file of files)
    if (
      file.mergedFrom !== undefined &&
      (await readFile(file.path, 'utf8').catch(() => undefined)) !== file.mergedFrom
    )
      throw new ConflictError(`${file.display} changed while init read it: nothing was written`, {
        hint: 'run shipml init again',
      });

  const createdDirs: string[] = [];
  const temps: string[] = [];
  try {
    for (const file of files) {
      const made = await mkdir(dirname(file.path), { recursive: true });
      if (made) createdDirs.push(made);
      const temp = join(
        dirname(file.path),
        `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`,
      );
      temps.push(temp);
      await writeFile(temp, file.content, { flag: 'wx', mode: 0o644 });
    }
    const written: WrittenFile[] = [];
    const placed: string[] = [];
    const merged: PlannedFile[] = [];
    for (const [i, file] of files.entries()) {
      const temp = temps[i]!;
      if (file.mergedFrom !== undefined) {
        const same = file.mergedFrom === file.content;
        if (same) await unlink(temp);
        else {
          await rename(temp, file.path);
          merged.push(file);
        }
        written.push({
          path: file.path,
          display: file.display,
          action: same ? 'unchanged' : 'merged',
        });
        continue;
      }
      const action = existing.includes(file) ? 'overwritten' : 'created';
      if (force) {
        await rename(temp, file.path);
      } else {
        try {
          await link(temp, file.path);
        } catch (err) {
          if (systemCode(err) !== 'EEXIST') throw err;
          for (const path of placed) await unlink(path).catch(() => undefined);
          for (const m of merged) await writeFile(m.path, m.mergedFrom!).catch(() => undefined);
          throw refusal([file]);
        }
        placed.push(file.path);
        await unlink(temp);
      }
      written.push({ path: file.path, display: file.display, action });
    }
    return written;
  } catch (err) {
    for (const temp of temps) await rm(temp, { force: true });
    // Directories this call created (e.g. .github/workflows) go too, if they stayed empty.
    for (const dir of createdDirs.reverse()) await removeEmptyDirs(dir);
    if (err instanceof ConflictError) throw err;
    throw new LocalStorageError(`cannot write ${describe(files)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function refusal(existing: PlannedFile[]): ConflictError {
  const [first, ...rest] = existing;
  const more = rest.length ? ` (and ${rest.map((f) => f.display).join(', ')})` : '';
  const them = rest.length ? 'them' : 'it';
  return new ConflictError(`${first!.display} exists already${more}: nothing was written`, {
    hint: `pass --force to overwrite ${them}, or move ${them} away first`,
  });
}

function describe(files: PlannedFile[]): string {
  return files.map((f) => f.display).join(', ');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return false;
    throw new LocalStorageError(`cannot check ${path}: ${(err as Error).message}`);
  }
}

/** Removes `dir` and the directories below it, if they hold no files (never removes a file). */
async function removeEmptyDirs(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => []))
    if (entry.isDirectory()) await removeEmptyDirs(join(dir, entry.name));
  await rmdir(dir).catch(() => undefined);
}
