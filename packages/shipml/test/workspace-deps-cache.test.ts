import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspaces } from '../src/server/workspace.js';

/**
 * The server's dependency cache with a real git repository and a real `npm ci` (offline: the
 * only dependency is a local tarball, so no network): a second checkout of the same
 * package-lock.json starts with the first run's node_modules (hard links), a changed lock
 * starts empty, and only a finished, unchanged install is kept.
 */
const run = promisify(execFile);
const signal = new AbortController().signal;
let root: string;
let bare: string;
let work: string;
let npmEnv: NodeJS.ProcessEnv;

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args],
    { cwd },
  );
  return stdout.trim();
}

/** Packs `tiny@version` into the work tree and depends on it; returns the new commit. */
async function commitTiny(version: string): Promise<string> {
  const pkg = join(root, `tiny-src-${version}`);
  await mkdir(pkg, { recursive: true });
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'tiny', version }));
  await writeFile(join(pkg, 'index.js'), `module.exports = ${JSON.stringify(version)};\n`);
  await run('npm', ['pack', '--pack-destination', work, pkg], { env: npmEnv });
  await writeFile(
    join(work, 'package.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      dependencies: { tiny: `file:./tiny-${version}.tgz` },
    }),
  );
  await rm(join(work, 'node_modules'), { recursive: true, force: true });
  await rm(join(work, 'package-lock.json'), { force: true });
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: work, env: npmEnv });
  await writeFile(join(work, '.gitignore'), 'node_modules\n');
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', `tiny ${version}`);
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  return git(work, 'rev-parse', 'HEAD');
}

async function npmCi(dir: string): Promise<void> {
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: npmEnv });
}

async function cachedKeys(): Promise<string[]> {
  const deps = join(root, 'data', 'deps');
  const repos = await readdir(deps).catch(() => [] as string[]);
  expect(repos.length).toBeLessThanOrEqual(1);
  return repos.length ? (await readdir(join(deps, repos[0]!))).sort() : [];
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-deps-cache-'));
  bare = join(root, 'app.git');
  work = join(root, 'app');
  npmEnv = {
    ...process.env,
    npm_config_cache: join(root, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
  await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  await mkdir(work);
  await git(work, 'init', '-q', '-b', 'main');
  await git(work, 'remote', 'add', 'origin', bare);
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the server workspace keeps node_modules per package-lock.json', () => {
  it('restores a finished install into the next checkout of the same lock, and not of a changed one', async () => {
    const ws = new Workspaces(join(root, 'data'), process.env);
    const c1 = await commitTiny('1.0.0');
    await ws.fetch(bare, signal);

    const a = await ws.checkout(bare, c1, 'run-a', signal);
    expect(a.depsRestored).toBe(false);
    await npmCi(a.dir);
    await a.remove();
    expect(await cachedKeys()).toHaveLength(1);

    const b = await ws.checkout(bare, c1, 'run-b', signal);
    expect(b.depsRestored).toBe(true);
    const file = join(b.dir, 'node_modules', 'tiny', 'index.js');
    expect(await readFile(file, 'utf8')).toContain('"1.0.0"');
    expect((await stat(file)).nlink).toBeGreaterThan(1); // a hard link, not a copy
    const { stdout } = await run(process.execPath, ['-p', "require('tiny')"], { cwd: b.dir });
    expect(stdout.trim()).toBe('1.0.0');
    await b.remove();
    await b.remove(); // idempotent
    expect(await cachedKeys()).toHaveLength(1); // the same key is not saved twice

    // A changed lock (tiny 2.0.0): another key, an empty node_modules, its own install kept.
    const c2 = await commitTiny('2.0.0');
    await ws.fetch(bare, signal);
    const c = await ws.checkout(bare, c2, 'run-c', signal);
    expect(c.depsRestored).toBe(false);
    expect(await stat(join(c.dir, 'node_modules')).catch(() => undefined)).toBeUndefined();
    await npmCi(c.dir);
    expect(await readFile(join(c.dir, 'node_modules', 'tiny', 'index.js'), 'utf8')).toContain(
      '"2.0.0"',
    );
    await c.remove();
    expect(await cachedKeys()).toHaveLength(2);

    // The old lock's cache is untouched by the new one.
    const d = await ws.checkout(bare, c1, 'run-d', signal);
    expect(d.depsRestored).toBe(true);
    expect(await readFile(join(d.dir, 'node_modules', 'tiny', 'index.js'), 'utf8')).toContain(
      '"1.0.0"',
    );
    await d.remove();
  }, 120_000);

  it('keeps nothing from an unfinished install or from a run that changed its lock', async () => {
    const ws = new Workspaces(join(root, 'data-2'), process.env);
    const commit = await git(work, 'rev-parse', 'HEAD');
    await ws.fetch(bare, signal);
    const keys = async () =>
      readdir(join(root, 'data-2', 'deps')).then(
        async (r) => readdir(join(root, 'data-2', 'deps', r[0]!)),
        () => [] as string[],
      );

    // node_modules without npm's hidden lockfile: an install that did not finish.
    const a = await ws.checkout(bare, commit, 'run-a', signal);
    await mkdir(join(a.dir, 'node_modules', 'tiny'), { recursive: true });
    await a.remove();
    expect(await keys()).toEqual([]);

    // A finished install, then the run rewrote package-lock.json: not this commit's key.
    const b = await ws.checkout(bare, commit, 'run-b', signal);
    await npmCi(b.dir);
    await writeFile(join(b.dir, 'package-lock.json'), '{}\n');
    await b.remove();
    expect(await keys()).toEqual([]);

    // Seeding from an installed project elsewhere (the demo's examples/digits) counts.
    const seeded = join(root, 'seeded');
    await git(root, 'clone', '-q', bare, seeded);
    await npmCi(seeded);
    expect(await ws.depsCacheOf(bare).seed(seeded)).toBe(true);
    expect(await ws.depsCacheOf(bare).seed(seeded)).toBe(false); // already there
    const c = await ws.checkout(bare, commit, 'run-c', signal);
    expect(c.depsRestored).toBe(true);
    await c.remove();
  }, 120_000);
});
