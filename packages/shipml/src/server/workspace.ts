/**
 * Where a run's code comes from: one cached mirror per app's repository (fetched before each
 * run) and a fresh, detached worktree of the exact commit per run, removed afterwards. Git
 * operations on one mirror are serialized within the process (git's own lock files would
 * otherwise fail a concurrent fetch); each worker machine has its own data directory.
 *
 * A checkout starts with the node_modules the last run of the same package-lock.json left
 * (deps-cache.ts), so a prepare can skip its install when node_modules is there.
 *
 * Git runs non-interactively (no terminal prompt, no credential helper of the host's user):
 * a repository needing credentials carries them in its URL (`${VAR}` in the server config) or
 * in the app's environment (GIT_SSH_COMMAND). Errors name the repository without them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalServiceError, ConfigError } from '../core/errors.js';
import { runProcess } from '../core/process.js';
import { DepsCache } from './deps-cache.js';

const GIT_TIMEOUT_MS = 10 * 60_000;

export interface Checkout {
  /** The worktree's root. */
  dir: string;
  commit: string;
  /** Whether node_modules came from the dependency cache (same package-lock.json). */
  depsRestored: boolean;
  /** Removes the worktree (idempotent), keeping a finished install in the dependency cache. */
  remove(): Promise<void>;
}

export class Workspaces {
  private readonly locks = new Map<string, Promise<unknown>>();

  /**
   * @param dataDir the server's data directory (mirrors under repos/, worktrees under work/,
   *   dependency caches under deps/)
   * @param env the environment git runs with (PATH, HOME; the app's GIT_SSH_COMMAND on top)
   */
  constructor(
    private readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Removes the worktrees a previous process left behind (it was killed mid-run): at start,
   * before this process runs anything, every worktree under work/ is stale.
   */
  async clean(): Promise<number> {
    const work = join(this.dataDir, 'work');
    const stale = await readdir(work).catch(() => [] as string[]);
    await rm(work, { recursive: true, force: true });
    const deps = join(this.dataDir, 'deps');
    for (const repo of await readdir(deps).catch(() => [] as string[]))
      for (const name of await readdir(join(deps, repo)).catch(() => [] as string[]))
        if (name.startsWith('.tmp-')) await rm(join(deps, repo, name), { recursive: true });
    const repos = join(this.dataDir, 'repos');
    for (const mirror of await readdir(repos).catch(() => [] as string[]))
      await runProcess('git', ['-C', join(repos, mirror), 'worktree', 'prune'], {
        env: this.env,
        timeoutMs: 60_000,
      }).catch(() => undefined);
    return stale.length;
  }

  /** The mirror's path for a repository URL (stable, and distinct per URL). */
  mirrorOf(repository: string): string {
    return join(this.dataDir, 'repos', `${repositoryId(repository)}.git`);
  }

  /** The dependency cache of a repository's checkouts. */
  depsCacheOf(repository: string): DepsCache {
    return new DepsCache(join(this.dataDir, 'deps', repositoryId(repository)));
  }

  /** Creates the mirror if needed and fetches every branch and tag (force-updated, pruned). */
  async fetch(repository: string, signal: AbortSignal, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const mirror = this.mirrorOf(repository);
    await this.serially(mirror, async () => {
      if (!(await exists(join(mirror, 'HEAD')))) {
        await mkdir(mirror, { recursive: true });
        await this.git(['init', '--bare', '--quiet', mirror], repository, signal, env);
      }
      await this.git(
        [
          '-C',
          mirror,
          'fetch',
          '--quiet',
          '--prune',
          '--force',
          '--no-tags',
          '--',
          repository,
          '+refs/heads/*:refs/heads/*',
          '+refs/tags/*:refs/tags/*',
        ],
        repository,
        signal,
        env,
      );
    });
  }

  /** The commit a branch's head is at in the mirror (after fetch). */
  async head(repository: string, branch: string, signal: AbortSignal): Promise<string> {
    const mirror = this.mirrorOf(repository);
    const out = await this.git(
      ['-C', mirror, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`],
      repository,
      signal,
      {},
      () => new ConfigError(`${displayRepository(repository)} has no branch ${branch}`),
    );
    return out.trim();
  }

  /** A file's text at a ref of the mirror (after fetch): the app's shipml.yaml at a branch head. */
  async readAt(
    repository: string,
    ref: string,
    path: string,
    signal: AbortSignal,
  ): Promise<string> {
    return this.git(
      ['-C', this.mirrorOf(repository), 'show', `${ref}:${path}`],
      repository,
      signal,
      {},
      () => new ConfigError(`${path} is not in ${ref} of ${displayRepository(repository)}`),
    );
  }

  /** A fresh worktree of `commit` (40 hex) for run `runId`. */
  async checkout(
    repository: string,
    commit: string,
    runId: string,
    signal: AbortSignal,
  ): Promise<Checkout> {
    if (!/^[0-9a-f]{40}$/.test(commit))
      throw new ConfigError(`not a full commit id: ${JSON.stringify(commit)}`);
    const mirror = this.mirrorOf(repository);
    const dir = join(this.dataDir, 'work', runId);
    await this.serially(mirror, async () => {
      await this.git(
        ['-C', mirror, 'cat-file', '-e', `${commit}^{commit}`],
        repository,
        signal,
        {},
        () => new ConfigError(`${displayRepository(repository)} has no commit ${commit}`),
      );
      await rm(dir, { recursive: true, force: true });
      await this.git(
        ['-C', mirror, 'worktree', 'add', '--quiet', '--detach', dir, commit],
        repository,
        signal,
        {},
      );
    });
    const deps = this.depsCacheOf(repository);
    const { key, restored } = await deps.restore(dir);
    let saved = false;
    const remove = async (): Promise<void> => {
      if (!saved) {
        saved = true;
        await deps.save(dir, key).catch(() => false);
      }
      await this.serially(mirror, async () => {
        await rm(dir, { recursive: true, force: true });
        await this.git(['-C', mirror, 'worktree', 'prune'], repository, signal, {}).catch(
          () => undefined,
        );
      });
    };
    return { dir, commit, depsRestored: restored, remove };
  }

  private async serially<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(body, body);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  private async git(
    args: string[],
    repository: string,
    signal: AbortSignal,
    env: NodeJS.ProcessEnv,
    onFailure?: () => Error,
  ): Promise<string> {
    const result = await runProcess('git', args, {
      env: {
        ...this.env,
        ...env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: 'true',
        GIT_CONFIG_NOSYSTEM: '1',
        LC_ALL: 'C',
      },
      timeoutMs: GIT_TIMEOUT_MS,
      signal,
      keepStdoutBytes: 1024 * 1024,
      plainText: true,
    });
    if (result.code === 0) return result.stdout;
    if (onFailure && !result.cancelled && !result.timedOut) throw onFailure();
    const why = result.timedOut
      ? 'timed out'
      : result.cancelled
        ? 'cancelled'
        : (result.tail.filter(Boolean).at(-1) ?? `exit ${result.code}`);
    throw new ExternalServiceError(
      `git ${args[0] === '-C' ? args[2] : args[0]} of ${displayRepository(repository)} failed: ${stripUrls(why, repository)}`,
      { retryable: !result.cancelled },
    );
  }
}

function repositoryId(repository: string): string {
  return createHash('sha256').update(repository).digest('hex').slice(0, 16);
}

/** The repository URL without credentials: safe to print. */
export function displayRepository(repository: string): string {
  try {
    const u = new URL(repository);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return repository;
  }
}

function stripUrls(text: string, repository: string): string {
  return text.split(repository).join(displayRepository(repository));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
