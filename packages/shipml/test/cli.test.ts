import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Help } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, nameOf, stubCommand } from '../src/cli/commands.js';
import { runCli, spawnCli } from './helpers/cli.js';

let work: string;
let store: string;
let modelDir: string;
const env = () => ({ SHIPML_CACHE_DIR: join(work, 'cache'), HOME: work });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-cli-'));
  store = `file://${join(work, 'store')}`;
  modelDir = join(work, 'model');
  await import('node:fs/promises').then((fs) => fs.mkdir(modelDir));
  await writeFile(join(modelDir, 'model.onnx'), Buffer.alloc(1000, 1));
  await writeFile(join(modelDir, 'labels.txt'), 'a\nb\n');
  await writeFile(join(work, 'metrics.json'), '{"accuracy": 0.95, "f1": 0.9}');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('help', () => {
  it('documents every model command and its options', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/model\s+publish, list, show, pull and promote/);
    const model = await runCli(['model', '--help']);
    for (const command of ['publish', 'list', 'show', 'pull', 'promote'])
      expect(model.stdout).toMatch(new RegExp(`\\n\\s+${command} `));
    const publish = await runCli(['model', 'publish', '--help']);
    for (const option of [
      '--name',
      '--version',
      '--metrics',
      '--metadata',
      '--channel',
      '--no-channel',
      '--store',
      '--json',
      '--config',
      '--debug',
    ]) {
      expect(publish.stdout).toContain(option);
    }
    expect((await runCli(['model', 'pull', '--help'])).stdout).toContain('--no-cache');
  });

  it('lists each command as its module defines it, without loading the module', async () => {
    const help = new Help();
    const defined = new Map<string, string>();
    for (const load of new Set(COMMANDS.map((e) => e.load)))
      for (const cmd of await load(() => Promise.resolve(), '0.0.0'))
        defined.set(cmd.name(), `${help.subcommandTerm(cmd)} | ${cmd.description()}`);
    // Every command a module defines has its entry, each entry its command, in the same words.
    expect([...defined.keys()].sort()).toEqual(COMMANDS.map(nameOf).sort());
    for (const entry of COMMANDS) {
      const stub = stubCommand(entry);
      expect(`${help.subcommandTerm(stub)} | ${stub.description()}`).toBe(
        defined.get(nameOf(entry)),
      );
    }
  });

  it('refuses an unknown command or subcommand (exit 2), with or without --help', async () => {
    for (const args of [['nosuch'], ['nosuch', '--help'], ['--debug', 'nosuch', '-h']]) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr).toContain('unknown command "nosuch" for shipml: expected one of model,');
    }
    const sub = await runCli(['model', 'pubish', '--help']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain(
      'unknown command "pubish" for shipml model: expected one of publish, list, show, pull, promote',
    );
    expect((await runCli(['help', 'model'])).code).toBe(0);
    expect((await runCli(['model', 'list', '--help'])).code).toBe(0);
  });

  it('takes deploy targets from the registry: a typo exits 2 naming the valid ones', async () => {
    const typo = await runCli(['status', '--target', 'dokcer'], { cwd: work });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "argument 'dokcer' is invalid. Allowed choices are docker, kubernetes",
    );
    const help = await runCli(['deploy', '--help']);
    expect(help.stdout).toMatch(/--target <kind>\s+docker \| kubernetes/);
    expect(help.stdout).toMatch(/--port <port>\s+docker: host port/);
    expect(help.stdout).toMatch(/-n, --namespace <name>\s+kubernetes: namespace/);
    const wrong = await runCli(['status', '--target', 'kubernetes', '--port', '8080'], {
      cwd: work,
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--port applies to the docker target, not kubernetes');
    const config = join(work, 'typo.yaml');
    await writeFile(config, 'deploy:\n  target: dokcer\n');
    const configured = await runCli(['status', '-c', config], { cwd: work });
    expect(configured.code).toBe(2);
    expect(configured.stderr).toContain('deploy.target');
    expect(configured.stderr).toContain('"docker"');
  });

  it('a reader that stops early (| head -1) ends the CLI quietly, not with an EPIPE stack', async () => {
    const { child, done } = spawnCli(['image', 'import', '--help'], {});
    child.stdout.destroy(); // the pipe's reader is gone before the CLI writes
    const run = await done;
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.code).toBe(0);
  });

  it('rejects unknown options with a usage error (exit 2)', async () => {
    const run = await runCli(['model', 'list', '--bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--bogus'");
  });
});

describe('model commands', () => {
  it('publish, list, show, pull and promote with --json', async () => {
    const published = await runCli(
      [
        'model',
        'publish',
        modelDir,
        '--name',
        'digits',
        '--version',
        '1.0.0',
        '--metrics',
        join(work, 'metrics.json'),
        '--metadata',
        'commit=abc',
        '--store',
        store,
        '--json',
      ],
      { env: env() },
    );
    expect(published.code).toBe(0);
    const p = JSON.parse(published.stdout) as {
      manifest: { digest: string; files: unknown[]; metrics: unknown };
      channels: Array<{ channel: string; version: string }>;
    };
    expect(p.manifest.files).toHaveLength(2);
    expect(p.manifest.metrics).toEqual({ accuracy: 0.95, f1: 0.9 });
    expect(p.channels).toEqual([{ channel: 'latest', version: '1.0.0', previous: null }]);

    const listed = JSON.parse(
      (await runCli(['model', 'list', 'digits', '--store', store, '--json'], { env: env() }))
        .stdout,
    ) as { versions: Array<{ version: string; channels: string[]; digest: string }> };
    expect(listed.versions.map((v) => [v.version, v.channels, v.digest])).toEqual([
      ['1.0.0', ['latest'], p.manifest.digest],
    ]);

    const shown = JSON.parse(
      (await runCli(['model', 'show', 'digits:latest', '--store', store, '--json'], { env: env() }))
        .stdout,
    ) as { manifest: { metadata: unknown } };
    expect(shown.manifest.metadata).toEqual({ commit: 'abc' });

    const promoted = JSON.parse(
      (
        await runCli(
          ['model', 'promote', 'digits@1.0.0', 'production', '--store', store, '--json'],
          { env: env() },
        )
      ).stdout,
    ) as { channel: string; previous: unknown };
    expect(promoted).toMatchObject({ channel: 'production', version: '1.0.0', previous: null });

    const dest = join(work, 'pulled');
    const pulled = JSON.parse(
      (
        await runCli(['model', 'pull', 'digits:production', dest, '--store', store, '--json'], {
          env: env(),
        })
      ).stdout,
    ) as { fromCache: number; downloadedBytes: number };
    expect(pulled).toMatchObject({ fromCache: 0, downloadedBytes: 1004 });
    const again = JSON.parse(
      (
        await runCli(
          [
            'model',
            'pull',
            'digits:production',
            join(work, 'pulled-2'),
            '--store',
            store,
            '--json',
          ],
          { env: env() },
        )
      ).stdout,
    ) as { fromCache: number; downloadedBytes: number };
    expect(again).toMatchObject({ fromCache: 2, downloadedBytes: 0 });
    const bypass = JSON.parse(
      (
        await runCli(
          [
            'model',
            'pull',
            'digits:production',
            join(work, 'pulled-3'),
            '--store',
            store,
            '--json',
            '--no-cache',
          ],
          { env: env() },
        )
      ).stdout,
    ) as { downloadedBytes: number };
    expect(bypass.downloadedBytes).toBe(1004);

    const human = await runCli(['model', 'list', 'digits', '--store', store], { env: env() });
    expect(human.stdout).toMatch(
      /^VERSION\s+CREATED\s+SIZE\s+DIGEST\s+CHANNELS\n1\.0\.0 .* latest,production\n$/,
    );
  });

  it('--no-channel publishes without moving latest', async () => {
    const run = await runCli(
      [
        'model',
        'publish',
        modelDir,
        '-n',
        'quiet',
        '-v',
        '1',
        '--no-channel',
        '--store',
        store,
        '--json',
      ],
      { env: env() },
    );
    expect((JSON.parse(run.stdout) as { channels: unknown[] }).channels).toEqual([]);
    const show = await runCli(['model', 'show', 'quiet', '--store', store], { env: env() });
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('channel quiet:latest not found');
  });

  it('chooses the store: --store, then SHIPML_MODEL_STORE, then shipml.yaml, then the default', async () => {
    const project = join(work, 'project');
    await import('node:fs/promises').then((fs) => fs.mkdir(project));
    await writeFile(
      join(project, 'shipml.yaml'),
      `model:\n  name: digits\n  store: file://${join(work, 'yaml-store')}\n`,
    );
    const where = async (extraEnv: NodeJS.ProcessEnv, args: string[] = []) => {
      const run = await runCli(['model', 'list', '--json', ...args], {
        env: { ...env(), XDG_DATA_HOME: join(work, 'xdg'), ...extraEnv },
        cwd: project,
      });
      return (JSON.parse(run.stdout) as { store: string }).store;
    };
    expect(await where({})).toBe(`file://${join(work, 'yaml-store')}`);
    expect(await where({ SHIPML_MODEL_STORE: `file://${join(work, 'env-store')}` })).toBe(
      `file://${join(work, 'env-store')}`,
    );
    expect(
      await where({ SHIPML_MODEL_STORE: `file://${join(work, 'env-store')}` }, ['--store', store]),
    ).toBe(store);
    const outside = await runCli(['model', 'list', 'x', '--json'], {
      env: { ...env(), XDG_DATA_HOME: join(work, 'xdg') },
      cwd: work,
    });
    expect((JSON.parse(outside.stdout) as { store: string }).store).toBe(
      `file://${join(work, 'xdg', 'shipml', 'models')}`,
    );
  });
});

describe('errors', () => {
  it('print one line and a hint, no stack; exit 1', async () => {
    const run = await runCli(['model', 'show', 'digits@9.9', '--store', store], { env: env() });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `error: model digits@9.9 not found in ${store.replace('file://', 'file://')}`,
      `hint: list the published versions with: shipml model list digits --store ${store}`,
    ]);
    expect(run.stdout).toBe('');
  });

  it('--debug adds the stack', async () => {
    const run = await runCli(['model', 'show', 'digits@9.9', '--store', store, '--debug'], {
      env: env(),
    });
    expect(run.stderr).toMatch(/NotFoundError: model digits@9\.9 not found[\s\S]*\n\s+at /);
  });

  it('--json puts the error on stdout as JSON too', async () => {
    const run = await runCli(
      ['model', 'publish', modelDir, '-n', 'digits', '-v', '1.0.0', '--store', store, '--json'],
      { env: env() },
    );
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'CONFLICT',
        message: expect.stringContaining('digits@1.0.0 in') as string,
        hint: 'publish under a new --version',
      },
    });
  });

  it('bad input exits 2 with one line saying what and where', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['model', 'publish', modelDir, '-n', '../x', '-v', '1', '--store', store],
        /invalid model name "\.\.\/x"/,
      ],
      [
        ['model', 'publish', modelDir, '-n', 'x', '-v', '1', '--channel', 'Bad!', '--store', store],
        /invalid channel "Bad!"/,
      ],
      [
        [
          'model',
          'publish',
          modelDir,
          '-n',
          'x',
          '-v',
          '1',
          '--metrics',
          join(work, 'nope.json'),
          '--store',
          store,
        ],
        /--metrics .*nope\.json: file does not exist/,
      ],
      [
        [
          'model',
          'publish',
          modelDir,
          '-n',
          'x',
          '-v',
          '1',
          '--metadata',
          'novalue',
          '--store',
          store,
        ],
        /--metadata "novalue": expected key=value/,
      ],
      [['model', 'promote', 'x:latest', 'prod', '--store', store], /promote needs name@version/],
      [['model', 'list', 'x', '--store', 'ftp://host/x'], /--store: unknown store scheme ftp:\/\//],
      [['model', 'list', 'x', '--store', 's3://x'], /invalid S3 bucket name "x"/],
      [
        ['model', 'list', 'x', '--store', 's3://bucket/p?secret=1'],
        /store URL parameter "secret" is not allowed/,
      ],
      [['model', 'list', 'x', '--store', 'azblob://acct/c'], /invalid Azure container "c"/],
    ];
    for (const [args, pattern] of cases) {
      const run = await runCli(args, { env: env() });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0], args.join(' ')).toMatch(pattern);
    }
    // Nothing was written by any of them.
    expect((await readdir(join(work, 'store'))).sort()).toEqual(['digits', 'quiet']);
  });

  it('a pull into a non-empty directory is refused and the directory untouched', async () => {
    const run = await runCli(['model', 'pull', 'digits@1.0.0', modelDir, '--store', store], {
      env: env(),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`destination ${modelDir} exists and is not empty`);
    expect((await readdir(modelDir)).sort()).toEqual(['labels.txt', 'model.onnx']);
  });
});

describe('Ctrl-C', () => {
  it(
    'cancels a pull cleanly: exit 130, nothing at the destination',
    { timeout: 120_000 },
    async () => {
      const big = join(work, 'big');
      await import('node:fs/promises').then((fs) => fs.mkdir(big));
      await writeFile(join(big, 'weights.bin'), Buffer.alloc(512 * 1024 * 1024, 3));
      expect(
        (
          await runCli(['model', 'publish', big, '-n', 'big', '-v', '1', '--store', store], {
            env: env(),
          })
        ).code,
      ).toBe(0);
      await rm(big, { recursive: true });
      const dest = join(work, 'big-pulled');
      const { child, done, stderr } = spawnCli(
        ['model', 'pull', 'big@1', dest, '--store', store, '--no-cache'],
        env(),
      );
      const deadline = Date.now() + 30_000;
      while (!stderr().includes('download weights.bin: started') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGINT');
      const run = await done;
      expect(run.code).toBe(130);
      expect(run.stderr).toContain('cancelling');
      expect(run.stderr).toMatch(/error: .*cancelled/);
      await expect(stat(dest)).rejects.toThrow(/ENOENT/);
      expect((await readdir(work)).filter((n) => n.includes('shipml-partial'))).toEqual([]);
    },
  );
});
