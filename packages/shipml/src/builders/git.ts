import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a build records about the code it was built from. */
export interface GitInfo {
  commit: string;
  /** Commit time: the default timestamp of reproducible layers (like SOURCE_DATE_EPOCH). */
  commitTime: Date;
  /** Uncommitted changes in the working tree. */
  dirty: boolean;
  /** `origin`'s URL without credentials, if any. */
  source: string | undefined;
}

/** Reads commit, time, dirtiness and origin of the repository at `dir`; undefined outside git. */
export async function gitInfo(dir: string): Promise<GitInfo | undefined> {
  const git = async (...args: string[]) =>
    (await run('git', ['-C', dir, ...args], { maxBuffer: 1 << 20 })).stdout.trim();
  try {
    const [commit, time, status] = await Promise.all([
      git('rev-parse', 'HEAD'),
      git('log', '-1', '--format=%ct'),
      git('status', '--porcelain', '--untracked-files=no'),
    ]);
    const origin = await git('remote', 'get-url', 'origin').catch(() => '');
    return {
      commit,
      commitTime: new Date(Number(time) * 1000),
      dirty: status !== '',
      source: origin ? origin.replace(/\/\/[^/@]*@/, '//') : undefined,
    };
  } catch {
    return undefined;
  }
}
