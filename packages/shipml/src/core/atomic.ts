/**
 * Write-then-rename: a file (or directory) appears at its final path complete or not at
 * all, so a crash, Ctrl-C or full disk never leaves a half-written report, blob or config.
 * The temporary sits beside the target (same file system, so rename is atomic) and is
 * removed on failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_NAME = /^\..+\.\d+\.[0-9a-f]+\.partial$/;

/** Whether a file name is one of tempPathBeside's temporaries (listings hide them). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** A unique temporary path beside `path`, hidden and marked as partial. */
export function tempPathBeside(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
  );
}

/**
 * Lets `write` fill a temporary path beside `path`, then renames it into place. Nothing is
 * left at either path when `write` or the rename fails.
 */
export async function atomicWrite<T>(
  path: string,
  write: (temp: string) => Promise<T>,
): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathBeside(path);
  try {
    const result = await write(temp);
    await rename(temp, path);
    return result;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Writes `data` to `path` atomically (parent directories are created). */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return atomicWrite(path, (temp) => writeFile(temp, data));
}
