import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { ConfigError, NotFoundError, systemCode } from '../core/errors.js';
import { validateFilePath } from './names.js';

/** A file about to be published. */
export interface SourceFile {
  /** Path inside the model, `/`-separated. */
  path: string;
  absolute: string;
  size: number;
}

/** The files of a model directory (recursive, symlinks followed) or a single file, sorted. */
export async function collectFiles(source: string): Promise<SourceFile[]> {
  const info = await stat(source).catch((err: unknown) => {
    throw systemCode(err) === 'ENOENT'
      ? new NotFoundError(`model source ${source} does not exist`)
      : new ConfigError(`cannot read model source ${source}: ${(err as Error).message}`);
  });
  if (info.isFile())
    return [{ path: validateFilePath(basename(source)), absolute: source, size: info.size }];
  if (!info.isDirectory())
    throw new ConfigError(`model source ${source} is neither a file nor a directory`);

  const files: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir)) {
      const absolute = join(dir, entry);
      const entryInfo = await stat(absolute);
      if (entryInfo.isDirectory()) {
        await walk(absolute);
      } else if (entryInfo.isFile()) {
        const path = relative(source, absolute).split(sep).join('/');
        files.push({ path: validateFilePath(path), absolute, size: entryInfo.size });
      } else {
        throw new ConfigError(`model source ${absolute} is neither a file nor a directory`);
      }
    }
  };
  await walk(source);
  if (files.length === 0) throw new ConfigError(`model source ${source} contains no files`);
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}
