import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTags, ociTag } from '../src/builders/provenance.js';
import { OciImage } from '../src/oci/image.js';
import { movedTagNotes, parseLocation, writeImage } from '../src/oci/locations.js';
import { withConfig } from '../src/oci/mutate.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { runCli } from './helpers/cli.js';
import { registries } from './services.js';

const run = promisify(execFile);
const ns = `tags${Date.now().toString(36)}`;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const COMMIT = '3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b';

describe('default tags name what the image holds', () => {
  it('commit and model version; the commit alone without a model; latest only without git', () => {
    expect(defaultTags(COMMIT, { name: 'digits', version: '1.4.0' })).toEqual([
      'latest',
      '3f2a9c1d4e5b-digits-1.4.0',
    ]);
    expect(defaultTags(COMMIT)).toEqual(['latest', '3f2a9c1d4e5b']);
    expect(defaultTags(undefined, { name: 'digits', version: '1.4.0' })).toEqual(['latest']);
  });

  it('a dirty tree keeps -dirty: never the clean commit’s tag', () => {
    expect(defaultTags(`${COMMIT}-dirty`, { name: 'd', version: '2' })).toEqual([
      'latest',
      '3f2a9c1d4e5b-d-2-dirty',
    ]);
    expect(defaultTags(`${COMMIT}-dirty`)).toEqual(['latest', '3f2a9c1d4e5b-dirty']);
  });

  it('always fits the OCI tag grammar, and long names stay distinct', () => {
    const plus = defaultTags(COMMIT, { name: 'm', version: '1.0.0+build.7' })[1]!;
    expect(plus).toBe('3f2a9c1d4e5b-m-1.0.0_build.7');
    const long = (v: string) =>
      defaultTags(`${COMMIT}-dirty`, { name: 'n'.repeat(128), version: v })[1]!;
    for (const tag of [plus, long('1'), long('2'), ociTag('.x'), ociTag('-x'), ociTag('ü')])
      expect(tag).toMatch(TAG);
    expect(long('1')).toHaveLength(128);
    expect(long('1')).toMatch(/-dirty$/);
    expect(long('1')).not.toBe(long('2'));
  });
});

describe('a push that moves a tag says so', () => {
  const image = (seed: string) => withConfig(OciImage.empty(), { env: { SEED: seed } });

  it('reports a re-pointed tag with both digests, not latest, not a re-push', async () => {
    const location = parseLocation(`${registries.plain}/${ns}/moved`);
    const access = { env: {} };
    const a = image('a');
    const b = image('b');
    const first = await writeImage(a, location, ['latest', 'v1'], access);
    expect(first.push!.movedTags).toEqual([]);
    const again = await writeImage(a, location, ['latest', 'v1'], access);
    expect(again.push!.movedTags).toEqual([]);
    const moved = await writeImage(b, location, ['latest', 'v1', 'v2'], access);
    expect(moved.push!.movedTags).toEqual([{ tag: 'v1', previous: a.digest }]);
    expect(movedTagNotes(moved, location)).toEqual([
      `tag ${registries.plain}/${ns}/moved:v1 moved: ${a.digest.slice(0, 19)} -> ${b.digest.slice(0, 19)}`,
    ]);
    // The tag really moved (the notice describes what happened, it does not prevent it).
    const client = new RegistryClient(registries.plain, { env: {} });
    expect(await client.manifestDigest(`${ns}/moved`, 'v1')).toBe(b.digest);
  });
});

describe('shipml build --push with the default tags', () => {
  let work: string;
  let app: string;
  let store: string;
  const env = () => ({ SHIPML_CACHE_DIR: join(work, 'cache'), HOME: work });
  const git = (...args: string[]) =>
    run('git', ['-C', app, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  const build = async (model: string) => {
    const result = await runCli(['build', '--push', '--json', '--model', model], {
      env: env(),
      cwd: app,
    });
    expect(result.code, result.stderr).toBe(0);
    return { ...(JSON.parse(result.stdout) as { tags: string[] }), stderr: result.stderr };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'shipml-tags-'));
    store = `file://${join(work, 'store')}`;
    app = join(work, 'app');
    const base = `${registries.plain}/${ns}/base:1`;
    await pushImage(
      new RegistryClient(registries.plain, { env: {} }),
      parseReference(base),
      OciImage.empty(),
    );
    for (const version of ['1', '2']) {
      const dir = join(work, `model-${version}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'weights.bin'), Buffer.alloc(1024, Number(version)));
      const published = await runCli(
        ['model', 'publish', dir, '-n', 'm', '-v', version, '--store', store],
        { env: env() },
      );
      expect(published.code, published.stderr).toBe(0);
    }
    await mkdir(join(app, 'dist'), { recursive: true });
    const pkg = { name: 'app', version: '1.0.0' };
    await writeFile(join(app, 'package.json'), JSON.stringify(pkg));
    await writeFile(
      join(app, 'package-lock.json'),
      JSON.stringify({ ...pkg, lockfileVersion: 3, requires: true, packages: { '': pkg } }),
    );
    await writeFile(join(app, 'dist', 'server.js'), 'console.log(1)\n');
    await writeFile(
      join(app, 'shipml.yaml'),
      `model:\n  name: m\n  store: ${store}\nbuild:\n  base: ${base}\n  cmd: [node, dist/server.js]\nimage:\n  repository: ${registries.plain}/${ns}/app\n`,
    );
    await run('git', ['init', '-q', app]);
    await git('add', '-A');
    await git('commit', '-qm', 'v1');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the same commit with a new model gets a new tag; a moved -dirty tag is said', async () => {
    const short = (await git('rev-parse', 'HEAD')).stdout.trim().slice(0, 12);
    const one = await build('m@1');
    expect(one.tags).toEqual(['latest', `${short}-m-1`]);
    const two = await build('m@2');
    expect(two.tags).toEqual(['latest', `${short}-m-2`]);
    expect(two.stderr).not.toContain('moved');

    await writeFile(join(app, 'dist', 'server.js'), 'console.log(2)\n');
    const dirty = await build('m@2');
    expect(dirty.tags).toEqual(['latest', `${short}-m-2-dirty`]);
    await writeFile(join(app, 'dist', 'server.js'), 'console.log(3)\n');
    const dirtier = await build('m@2');
    expect(dirtier.stderr).toMatch(
      new RegExp(`^tag ${registries.plain}/${ns}/app:${short}-m-2-dirty moved: sha256:`, 'm'),
    );
    expect(dirtier.stderr).not.toContain(':latest moved');
  }, 120_000);
});
