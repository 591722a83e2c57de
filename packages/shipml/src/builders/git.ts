/**
 * What a build records about the code it was built from, read with git. Three failures that
 * once all read as "not a git checkout" are kept apart:
 * - git is not installed: ConfigError (install it) — without git, ShipML cannot tell whether
 *   this is a checkout at all, and must not silently build without its commit.
 * - the directory is in no repository: undefined, as before (a build outside git is allowed).
 * - a repository git cannot read (a corrupt .git, HEAD naming a missing object, a repository
 *   git refuses, e.g. "dubious ownership"): ConfigError naming the directory, with git's own
 *   one-line message.
 * A repository with no commit yet (a fresh `git init`, or an orphan branch: git's "unborn
 * branch", which git cannot tell from a HEAD naming a branch that is gone) has no commit to
 * record: undefined, like no repository, so a first build before the first commit works.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, systemCode } from '../core/errors.js';

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

export interface GitInfoOptions {
  /** Environment git runs with (PATH finds it); default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
}

/** How a git command ended when it did not succeed. */
interface GitFailure {
  /** Exit status; undefined when git could not be started. */
  status: number | undefined;
  /** git's first line on stderr, without `fatal: `. */
  line: string;
  /** The lines after it (git's advice, e.g. the safe.directory command). */
  more: string;
}

/**
 * Reads commit, time, dirtiness and origin of the repository at `dir`; undefined when `dir`
 * is in no repository or the repository has no commit yet. Throws ConfigError when git is
 * not installed, or when git cannot read the repository.
 */
export async function gitInfo(
  dir: string,
  options: GitInfoOptions = {},
): Promise<GitInfo | undefined> {
  // Untranslated messages: "not a git repository" is matched below, whatever the user's locale.
  const env = { ...(options.env ?? process.env), LC_ALL: 'C' };
  const git = (...args: string[]) => gitCommand(dir, args, env);

  // All four at once (each is a process start, the slowest part of a build that changes
  // nothing); the others' answers count only once HEAD is known to name a commit.
  // `--verify -q` exits 1 without a word when HEAD names no commit yet (unborn branch);
  // every other failure says why on stderr.
  const [head, time, status, origin] = await Promise.all([
    git('rev-parse', '--verify', '-q', 'HEAD'),
    // HEAD may name an object that is gone: `log` and `status` read it and say so.
    git('log', '-1', '--format=%ct', 'HEAD'),
    git('status', '--porcelain', '--untracked-files=no'),
    git('remote', 'get-url', 'origin'),
  ]);
  if (!head.ok) {
    const failure = head.failure;
    if (failure.status === 1 && failure.line === '') return undefined;
    if (/^not a git repository \(or any/.test(failure.line)) {
      const broken = await unreadableGitDir(dir, env);
      if (broken) throw brokenRepository(dir, broken);
      return undefined;
    }
    throw brokenRepository(dir, failure);
  }
  if (!time.ok) throw brokenRepository(dir, time.failure);
  if (!status.ok) throw brokenRepository(dir, status.failure);
  const url = origin.ok ? origin.stdout : '';
  return {
    commit: head.stdout,
    commitTime: new Date(Number(time.stdout) * 1000),
    dirty: status.stdout !== '',
    source: url ? url.replace(/\/\/[^/@]*@/, '//') : undefined,
  };
}

type GitResult = { ok: true; stdout: string } | { ok: false; failure: GitFailure };

async function gitCommand(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<GitResult> {
  try {
    const { stdout } = await run('git', ['-C', dir, ...args], { env, maxBuffer: 1 << 20 });
    return { ok: true, stdout: stdout.trim() };
  } catch (err) {
    // -C, not cwd: ENOENT can only mean that git itself was not found.
    if (systemCode(err) === 'ENOENT')
      throw new ConfigError(
        `git is not installed (or not on PATH): ShipML reads the commit of ${dir} with it`,
        {
          hint: 'install git (Debian/Ubuntu: apt-get install git; macOS: xcode-select --install)',
          cause: err,
        },
      );
    const e = err as { code?: unknown; stderr?: unknown };
    const lines = (typeof e.stderr === 'string' ? e.stderr : '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return {
      ok: false,
      failure: {
        status: typeof e.code === 'number' ? e.code : undefined,
        line: (lines[0] ?? '').replace(/^(fatal|error): /, ''),
        more: lines.slice(1).join(' '),
      },
    };
  }
}

/**
 * git found no repository, but a `.git` in `dir` or above may still be one it cannot read
 * (a corrupt HEAD, an empty .git directory: git passes over those as if they were not
 * there). Asks git about the nearest one directly; undefined when there is none, or when git
 * reads it (it lies past a boundary git does not cross, such as a mount point).
 */
async function unreadableGitDir(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<GitFailure | undefined> {
  for (let at = resolve(dir), steps = 0; steps < 256; steps++) {
    const candidate = join(at, '.git');
    if (await stat(candidate).catch(() => undefined)) {
      const asked = await gitCommand(at, ['--git-dir', candidate, 'rev-parse', '--git-dir'], env);
      return asked.ok ? undefined : asked.failure;
    }
    const parent = dirname(at);
    if (parent === at) return undefined;
    at = parent;
  }
  return undefined;
}

function brokenRepository(dir: string, failure: GitFailure): ConfigError {
  return new ConfigError(
    `git cannot read the repository at ${dir}: ${failure.line || `git exited with ${failure.status ?? 'an error'}`}`,
    { hint: failure.more || `git -C ${dir} status shows the same; git fsck finds damaged objects` },
  );
}
