import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommand, shellQuote } from '../src/cli/context.js';
import { ConfigError } from '../src/core/errors.js';
import { parseModelRef } from '../src/model-store/names.js';
import { runCli } from './helpers/cli.js';

let work: string;
let store: string;
let modelDir: string;
const env = () => ({ SHIPML_CACHE_DIR: join(work, 'cache'), HOME: work });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-hints-'));
  store = `file://${join(work, 'store')}`;
  modelDir = join(work, 'model');
  await mkdir(modelDir);
  await writeFile(join(modelDir, 'model.onnx'), Buffer.alloc(100, 1));
  for (const name of ['digits', 'letters']) {
    const run = await runCli(['model', 'publish', modelDir, '-n', name, '-v', '1.0.0'], {
      env: { ...env(), SHIPML_MODEL_STORE: store },
    });
    expect(run.code, run.stderr).toBe(0);
  }
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the list hint repeats how the store was chosen', () => {
  it('names --store and -c as given, so the hint lists the same store', async () => {
    await writeFile(join(work, 'other.yaml'), 'model:\n  name: digits\n');
    const run = await runCli(
      ['model', 'show', 'digits@9.9', '--store', store, '-c', join(work, 'other.yaml')],
      { env: env(), cwd: work },
    );
    expect(run.code).toBe(1);
    const hint = run.stderr.split('\n').find((l) => l.startsWith('hint: '))!;
    expect(hint).toBe(
      `hint: list the published versions with: shipml model list digits --store ${store} -c ${join(work, 'other.yaml')}`,
    );
    // Run as written (from another directory, another default store): it lists this store.
    const args = hint.replace(/^.*shipml /, '').split(' ');
    const again = await runCli([...args, '--json'], { env: env(), cwd: tmpdir() });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ store, versions: [{ version: '1.0.0' }] });
  });

  it('stays plain when the store came from the environment or shipml.yaml', () => {
    expect(listCommand('digits', {})).toBe('shipml model list digits');
  });

  it('quotes what a shell would interpret, and the shell gives it back unchanged', () => {
    const url = "s3://b/p?endpoint=http://127.0.0.1:9000&forcePathStyle=true it's";
    expect(shellQuote('s3://b/models')).toBe('s3://b/models');
    const echoed = spawnSync('sh', ['-c', `printf %s ${shellQuote(url)}`], { encoding: 'utf8' });
    expect(echoed.stdout).toBe(url);
    expect(listCommand('x', { store: url })).toBe(`shipml model list x --store ${shellQuote(url)}`);
  });
});

describe('a version written as a channel', () => {
  it('suggests name@version', async () => {
    const run = await runCli(['model', 'show', 'digits:1.4.0', '--store', store], { env: env() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: invalid channel "1.4.0"');
    expect(run.stderr).toContain("hint: a version is written with '@': digits@1.4.0");
  });

  it('hints for anything that reads as a version, not for other bad channels', () => {
    const hintOf = (ref: string): string | undefined => {
      try {
        parseModelRef(ref);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).hint;
      }
      throw new Error(`${ref} parsed`);
    };
    expect(hintOf('digits:1')).toContain('digits@1');
    expect(hintOf('digits:2026-11-22.1')).toContain('digits@2026-11-22.1');
    expect(hintOf('digits:V2')).toContain('digits@V2');
    expect(hintOf('digits:Bad!')).toBeUndefined();
    expect(hintOf('digits:../x')).toBeUndefined();
    expect(parseModelRef('digits:v2')).toEqual({ name: 'digits', channel: 'v2' });
  });
});

describe('model list that finds nothing says why', () => {
  it('a location that holds no models at all: names it, exit 0', async () => {
    const typo = `${store}-prdo`;
    const run = await runCli(['model', 'list', 'digits', '--store', typo], { env: env() });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      `no versions of digits: ${typo} holds no models at all (nothing is stored there); check the store URL for a typo`,
    );
  });

  it('with no name, from shipml.yaml, the same', async () => {
    const project = join(work, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(
      join(project, 'shipml.yaml'),
      `model:\n  name: digits\n  store: file://${join(work, 'nothing-here')}\n`,
    );
    const run = await runCli(['model', 'list'], { env: env(), cwd: project });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`file://${join(work, 'nothing-here')} holds no models at all`);
  });

  it('a model without versions where others exist: lists them', async () => {
    const run = await runCli(['model', 'list', 'digitz', '--store', store], { env: env() });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      `no versions of digitz in ${store}; it holds: digits, letters (e.g. shipml model list digits --store ${store})`,
    );
  });
});

describe('destroy without --yes', () => {
  it('is its own error code, exit 2, and removes nothing', async () => {
    const dir = await mkdtemp(join(work, 'app-'));
    await writeFile(join(dir, 'shipml.yaml'), 'deploy:\n  target: docker\n');
    const run = await runCli(['destroy', '--json', '--app', 'nothing-to-destroy'], {
      cwd: dir,
      env: { ...env(), DOCKER_HOST: 'tcp://127.0.0.1:1' },
    });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'CONFIRMATION_REQUIRED',
        message: 'shipml destroy removes nothing-to-destroy from docker with its history',
        hint: 'add --yes to do it',
      },
    });
  });
});
