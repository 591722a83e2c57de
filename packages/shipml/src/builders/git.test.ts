import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { gitInfo } from './git.js';

/**
 * gitInfo against real git in temporary directories: a repository, none, an empty one,
 * broken ones, and a PATH without git.
 */
const run = promisify(execFile);
let root: string;
/** git's environment: no user or system config, a fixed identity and commit time. */
let env: NodeJS.ProcessEnv;

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-C', dir, ...args], { env })).stdout.trim();
}

/** A repository with one commit of `file` at 2026-01-02T03:04:05Z. */
async function repository(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q');
  await writeFile(join(dir, 'file'), 'one\n');
  await git(dir, 'add', 'file');
  await git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

async function failure(dir: string, options = { env }): Promise<ConfigError> {
  const err: unknown = await gitInfo(dir, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-git-'));
  await mkdir(join(root, 'home'));
  env = {
    PATH: process.env.PATH,
    HOME: join(root, 'home'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_AUTHOR_DATE: '2026-01-02T03:04:05Z',
    GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z',
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('gitInfo', () => {
  it('reads commit, commit time, dirtiness and origin without credentials', async () => {
    const dir = await repository('clean');
    await git(dir, 'remote', 'add', 'origin', 'https://user:token@git.example.com/team/app.git');
    const info = await gitInfo(dir, { env });
    expect(info).toEqual({
      commit: await git(dir, 'rev-parse', 'HEAD'),
      commitTime: new Date('2026-01-02T03:04:05Z'),
      dirty: false,
      source: 'https://git.example.com/team/app.git',
    });
    expect(info?.commit).toMatch(/^[0-9a-f]{40}$/);
    await writeFile(join(dir, 'file'), 'two\n');
    expect((await gitInfo(dir, { env }))?.dirty).toBe(true);
    // A subdirectory is inside the same repository.
    await mkdir(join(dir, 'sub'));
    expect((await gitInfo(join(dir, 'sub'), { env }))?.commit).toBe(info?.commit);
  });

  it('is undefined outside any repository (a build outside git is allowed)', async () => {
    const dir = join(root, 'plain');
    await mkdir(dir);
    expect(await gitInfo(dir, { env })).toBeUndefined();
  });

  it('is undefined for a repository without a commit yet', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    await git(dir, 'init', '-q');
    expect(await gitInfo(dir, { env })).toBeUndefined();
  });

  it('says git is not installed when PATH has no git', async () => {
    const dir = await repository('no-git');
    const emptyBin = join(root, 'empty-bin');
    await mkdir(emptyBin, { recursive: true });
    const err = await failure(dir, { env: { ...env, PATH: emptyBin } });
    expect(err.message).toBe(
      `git is not installed (or not on PATH): ShipML reads the commit of ${dir} with it`,
    );
    expect(err.hint).toMatch(/^install git/);
  });

  it('says git cannot read a repository whose HEAD is corrupt', async () => {
    const dir = await repository('corrupt-head');
    await writeFile(join(dir, '.git', 'HEAD'), 'garbage\n');
    const err = await failure(dir);
    expect(err.message).toBe(
      `git cannot read the repository at ${dir}: not a git repository: '${join(dir, '.git')}'`,
    );
  });

  it('says git cannot read a repository whose HEAD commit is gone', async () => {
    const dir = await repository('missing-object');
    const objects = join(dir, '.git', 'objects');
    for (const entry of await readdir(objects))
      if (/^[0-9a-f]{2}$/.test(entry)) await rm(join(objects, entry), { recursive: true });
    const err = await failure(dir);
    expect(err.message).toBe(`git cannot read the repository at ${dir}: bad object HEAD`);
    expect(err.hint).toContain('git fsck');
  });

  it('says git cannot read an empty .git directory, or a .git file pointing nowhere', async () => {
    const emptyGit = join(root, 'empty-git-dir');
    await mkdir(join(emptyGit, '.git'), { recursive: true });
    expect((await failure(emptyGit)).message).toBe(
      `git cannot read the repository at ${emptyGit}: not a git repository: '${join(emptyGit, '.git')}'`,
    );
    const gitFile = join(root, 'git-file');
    await mkdir(gitFile);
    await writeFile(join(gitFile, '.git'), `gitdir: ${join(root, 'nowhere')}\n`);
    expect((await failure(gitFile)).message).toBe(
      `git cannot read the repository at ${gitFile}: not a git repository: ${join(root, 'nowhere')}`,
    );
  });

  it('says so for a directory that does not exist', async () => {
    const dir = join(root, 'does-not-exist');
    expect((await failure(dir)).message).toBe(
      `git cannot read the repository at ${dir}: cannot change to '${dir}': No such file or directory`,
    );
  });

  it.runIf(process.getuid?.() === 0)(
    "passes on git's advice for a repository it refuses (another user's: dubious ownership)",
    async () => {
      const dir = await repository('other-owner');
      const chownAll = async (path: string): Promise<void> => {
        await chown(path, 65534, 65534);
        for (const entry of await readdir(path, { withFileTypes: true }))
          if (entry.isDirectory()) await chownAll(join(path, entry.name));
          else await chown(join(path, entry.name), 65534, 65534);
      };
      await chownAll(dir);
      const err = await failure(dir);
      expect(err.message).toBe(
        `git cannot read the repository at ${dir}: detected dubious ownership in repository at '${dir}'`,
      );
      expect(err.hint).toContain(`git config --global --add safe.directory ${dir}`);
    },
  );
});
