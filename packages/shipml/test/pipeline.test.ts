import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { freePort } from './helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../src/deploy/docker/target.js';
import type { RunReport } from '../src/pipeline/types.js';
import { CLI_BIN, runCli, spawnCli } from './helpers/cli.js';
import { registries, required } from './services.js';

/**
 * `shipml run` and `shipml release` end to end, against the real registry and Docker Engine:
 * a small app in its own git repository (so the skip rule sees a clean tree), models in a
 * file store, the Docker target on 127.0.0.1. Every fault the pipeline must stop at is here.
 */
const run = promisify(execFile);
const ns = `p${Date.now().toString(36)}`;
const app = `${ns}-app`;
let work: string;
let repo: string;
let store: string;
let port: number;

// The app: ready unless its model says otherwise; /version reports what it runs.
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const model = process.env.MODEL_PATH;
const ready = () => !fs.existsSync(path.join(model, 'never-ready'));
http.createServer((q, s) => {
  if (q.url === '/healthz') return s.end('ok');
  if (q.url === '/readyz') { s.statusCode = ready() ? 200 : 503; return s.end(); }
  if (q.url === '/version') return s.end(JSON.stringify({ commit: process.env.APP_COMMIT, model: process.env.LIE ? 'sha256:lie' : process.env.MODEL_DIGEST }));
  if (q.url === '/predict' && q.method === 'POST') return s.end(JSON.stringify({ label: 7 }));
  s.statusCode = 404; s.end();
}).listen(Number(process.env.PORT || 8080), '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

async function git(...args: string[]) {
  await run('git', ['-C', repo, ...args]);
}

/** Writes shipml.yaml (with extra YAML appended) and commits it. */
async function configure(extra = '', test = 'test -f "$MODEL_PATH/weights.bin"'): Promise<void> {
  await writeFile(
    join(repo, 'shipml.yaml'),
    [
      'model:',
      '  name: tiny',
      `  store: ${store}`,
      'build:',
      `  base: ${required('SHIPML_TEST_BASE_NODE')}`,
      '  include: [package.json, server.js]',
      '  cmd: [node, server.js]',
      '  user: "1000:1000"',
      'image:',
      `  repository: ${registries.plain}/${ns}/app`,
      'test:',
      `  command: ${JSON.stringify(test)}`,
      'gate:',
      '  thresholds: { accuracy: { min: 0.9 } }',
      '  champion: { metric: accuracy, margin: 0.01 }',
      'verify:',
      "  request: { method: POST, path: /predict, body: '{}' }",
      'deploy:',
      `  app: ${app}`,
      '  replicas: 1',
      '  drainSeconds: 1',
      '  progressDeadlineSeconds: 10',
      '  docker:',
      `    port: ${port}`,
      `    proxyImage: ${required('SHIPML_TEST_PROXY_IMAGE')}`,
      extra,
    ].join('\n'),
  );
  await git('add', '-A');
  await git('commit', '-q', '--allow-empty', '-m', 'configure');
}

async function publish(version: string, accuracy: number, files: Record<string, string> = {}) {
  const dir = join(work, `model-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), `weights ${version}`);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const metrics = join(work, `metrics-${version}.json`);
  await writeFile(metrics, JSON.stringify({ accuracy }));
  const out = await runCli(
    ['model', 'publish', dir, '-n', 'tiny', '-v', version, '--metrics', metrics, '--store', store],
    { env: { HOME: work } },
  );
  if (out.code !== 0) throw new Error(out.stderr);
}

async function shipml(args: string[]) {
  return runCli(args, { cwd: repo, env: { HOME: work, PATH: process.env.PATH } });
}

function report(stdout: string): RunReport {
  return JSON.parse(stdout) as RunReport;
}

async function served(): Promise<{ model: string }> {
  return (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { model: string };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-pipeline-'));
  repo = join(work, 'repo');
  store = `file://${join(work, 'store')}`;
  port = await freePort();
  await mkdir(repo);
  await run('git', ['init', '-q', repo]);
  await git('config', 'user.email', 'ci@example.com');
  await git('config', 'user.name', 'CI');
  await writeFile(join(repo, 'server.js'), SERVER);
  await writeFile(join(repo, 'package.json'), '{"name":"tiny","version":"1.0.0"}');
  await writeFile(
    join(repo, 'package-lock.json'),
    '{"name":"tiny","lockfileVersion":3,"packages":{"":{"name":"tiny"}}}',
  );
  await writeFile(join(repo, '.gitignore'), '.shipml/\n');
  await configure();
  await publish('1', 0.95);
}, 60_000);

afterAll(async () => {
  await new DockerTarget({ port }).destroy(app);
  await rm(work, { recursive: true, force: true });
});

describe('shipml run', () => {
  it('takes a commit and the latest model to a tested, pushed, deployed, verified release', async () => {
    const out = await shipml(['run', '--json', '--trigger', 'commit']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const r = report(out.stdout);
    expect(r.outcome).toBe('succeeded');
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ['resolve', 'succeeded'],
      ['fetch-model', 'succeeded'],
      // No evaluate.command: the gate decides on the published metrics before prepare and test.
      ['evaluate', 'skipped'],
      ['gate', 'succeeded'],
      ['prepare', 'skipped'],
      ['test', 'succeeded'],
      ['build', 'succeeded'],
      ['push', 'succeeded'],
      ['sign', 'skipped'],
      ['deploy', 'succeeded'],
      ['verify', 'succeeded'],
      ['record', 'succeeded'],
    ]);
    expect(r.trigger).toBe('commit');
    expect(r.inputs).toMatchObject({ dirty: false, model: { name: 'tiny', version: '1' } });
    expect(r.inputs!.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(r.inputs!.tree).toMatch(/^[0-9a-f]{40}$/);
    expect(r.metrics).toEqual({ accuracy: 0.95 });
    expect(r.live?.provenance.model?.version).toBe('1');
    expect(r.url).toBe(`http://127.0.0.1:${port}/`);
    expect((await served()).model).toBe(r.inputs!.model!.digest);
    const saved = JSON.parse(
      await readFile(join(repo, '.shipml', 'runs', `${r.id}.json`), 'utf8'),
    ) as RunReport;
    expect(saved.outcome).toBe('succeeded');
    expect(saved.image).toEqual(r.image);
  }, 180_000);

  it('with the same commit, model and config, rebuilds nothing and reuses the image', async () => {
    const runs = await readdir(join(repo, '.shipml', 'runs'));
    const out = await shipml(['run', '--json']);
    expect(out.code).toBe(0);
    const r = report(out.stdout);
    expect(r.reusedFrom).toBe(runs.find((n) => n.endsWith('.json'))!.replace(/\.json$/, ''));
    for (const stage of ['fetch-model', 'test', 'build', 'push'])
      expect(r.stages.find((s) => s.name === stage)?.status).toBe('skipped');
    expect(r.stages.find((s) => s.name === 'deploy')?.detail).toMatch(/^revision 1 /);
  }, 120_000);

  it('a new model version runs the whole pipeline and rolls it out', async () => {
    await publish('2', 0.96);
    const out = await shipml(['run', '--json', '--trigger', 'model', '--reason', 'tiny@2']);
    expect(out.code).toBe(0);
    const r = report(out.stdout);
    expect(r.reusedFrom).toBeUndefined();
    expect(r.live?.provenance.model?.version).toBe('2');
    expect((await served()).model).toBe(r.inputs!.model!.digest);
  }, 180_000);

  it('a model below the threshold stops at the gate: nothing pushed, v2 keeps serving', async () => {
    await publish('3', 0.5);
    const out = await shipml(['run']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^error: run \S+ failed at gate: quality gate: accuracy 0.5 >= 0.9$/m,
    );
    expect(out.stdout).toMatch(
      /live +revision 2: .*model tiny@2 .*\(production stayed on the last good release\)/,
    );
    expect(out.stdout).not.toMatch(/image /);
  }, 120_000);

  it('a model worse than the champion by more than the margin stops at the gate', async () => {
    await publish('4', 0.94);
    const out = await shipml(['run', '--json']);
    expect(out.code).toBe(1);
    const { report: r } = JSON.parse(out.stdout) as { report: RunReport };
    expect(r.failure).toEqual({
      stage: 'gate',
      message: 'quality gate: accuracy 0.94 >= champion tiny@2 0.96 - margin 0.01',
    });
    // Decided on the published metrics before the app's own commands: test never ran.
    expect(r.stages.map((s) => s.name)).toEqual([
      'resolve',
      'fetch-model',
      'evaluate',
      'gate',
      'record',
    ]);
    expect(r.live?.provenance.model?.version).toBe('2');
  }, 120_000);

  it('failing tests stop the run at test, naming the failure', async () => {
    await configure('', "echo 'expected 2 to be 3' >&2; exit 1");
    const out = await shipml(['run', '--model', 'tiny@2']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      "failed at test: `echo 'expected 2 to be 3' >&2; exit 1` failed (exit 1): expected 2 to be 3",
    );
    await configure();
  }, 120_000);

  it('a secret the tests print stays out of the output, the report and the test log', async () => {
    const secret = 'planted-secret-4242';
    await configure(
      '',
      'echo "using token $SHIPML_REGISTRY_PASSWORD"; echo "failed with $SHIPML_REGISTRY_PASSWORD" >&2; exit 1',
    );
    const out = await runCli(['run', '--json', '--model', 'tiny@2'], {
      cwd: repo,
      env: { HOME: work, PATH: process.env.PATH, SHIPML_REGISTRY_PASSWORD: secret },
    });
    expect(out.code).toBe(1);
    const { report: r } = JSON.parse(out.stdout) as { report: RunReport };
    expect(r.failure?.message).toContain('failed with ***');
    const saved = await readFile(join(repo, '.shipml', 'runs', `${r.id}.json`), 'utf8');
    const log = await readFile(join(repo, '.shipml', 'runs', r.id, 'test.log'), 'utf8');
    expect(log).toContain('using token ***');
    for (const text of [out.stdout, out.stderr, saved, log]) expect(text).not.toContain(secret);
    await configure();
  }, 60_000);

  it('a tampered model stops at fetch-model with an integrity error', async () => {
    await publish('5', 0.97);
    const file = join(work, 'store', 'tiny', '5', 'files', 'weights.bin');
    await writeFile(file, 'tampered!');
    const out = await shipml(['run']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/failed at fetch-model: .*(sha256|size)/);
  }, 120_000);

  it('an unhealthy release is rolled back by the target; the run says so', async () => {
    await publish('6', 0.97, { 'never-ready': 'yes' });
    const out = await shipml(['run', '--json']);
    expect(out.code).toBe(1);
    const { report: r } = JSON.parse(out.stdout) as { report: RunReport };
    expect(r.failure?.stage).toBe('deploy');
    expect(r.failure?.message).toMatch(
      /not ready within 10 s .*rolled back, revision \d+ .* still serves/,
    );
    expect(r.live?.provenance.model?.version).toBe('2');
  }, 120_000);

  it('a release that fails verification is rolled back', async () => {
    await configure('', 'true');
    await writeFile(
      join(repo, 'shipml.yaml'),
      (await readFile(join(repo, 'shipml.yaml'), 'utf8')).replace(
        '  drainSeconds: 1',
        "  drainSeconds: 1\n  env: { LIE: '1' }",
      ),
    );
    await git('commit', '-qam', 'lie');
    const out = await shipml(['run', '--json', '--model', 'tiny@2']);
    expect(out.code).toBe(1);
    const { report: r } = JSON.parse(out.stdout) as { report: RunReport };
    expect(r.failure?.stage).toBe('verify');
    expect(r.failure?.message).toMatch(
      /does not report the expected model digest .*rolled back: revision \d+/,
    );
    expect(r.live?.provenance.model?.version).toBe('2');
    await configure();
  }, 120_000);

  it('the registry down stops the run at push; production is untouched', async () => {
    const closed = await freePort();
    const yaml = await readFile(join(repo, 'shipml.yaml'), 'utf8');
    await writeFile(
      join(repo, 'shipml.yaml'),
      yaml.replace(`repository: ${registries.plain}/`, `repository: 127.0.0.1:${closed}/`),
    );
    await git('commit', '-qam', 'registry down');
    const out = await shipml(['run', '--model', 'tiny@2']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/failed at push: .*127\.0\.0\.1:\d+.*(unreachable|ECONNREFUSED)/);
    expect((await served()).model).toMatch(/^sha256:/);
    await configure();
  }, 120_000);

  it('the model store down stops the run at resolve, naming the store', async () => {
    const closed = await freePort();
    const out = await runCli(
      [
        'run',
        '--store',
        `s3://models/prod?endpoint=http://127.0.0.1:${closed}&retries=1&timeoutSeconds=2`,
      ],
      {
        cwd: repo,
        env: {
          HOME: work,
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'y',
          AWS_REGION: 'us-east-1',
        },
      },
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      new RegExp(`failed at resolve: .*127\\.0\\.0\\.1:${closed}.*(unreachable|ECONNREFUSED)`),
    );
  }, 60_000);

  it('an evaluate command measures the candidate; its metrics, not the published ones, meet the gate', async () => {
    await configure(
      `evaluate:\n  command: ${JSON.stringify(`echo evaluating; echo '{"accuracy": 0.42, "n": 100}'`)}\n`,
    );
    const out = await shipml(['run', '--json', '--model', 'tiny@2', '--until', 'gate']);
    expect(out.code).toBe(1);
    const { report: r } = JSON.parse(out.stdout) as { report: RunReport };
    expect(r.metrics).toEqual({ accuracy: 0.42, n: 100 });
    expect(r.stages.find((s) => s.name === 'evaluate')?.status).toBe('succeeded');
    expect(r.failure).toEqual({ stage: 'gate', message: 'quality gate: accuracy 0.42 >= 0.9' });
    await configure();
  }, 60_000);

  it('--until push stops before deploying; shipml release rolls it out later', async () => {
    await publish('7', 0.97);
    const built = await shipml(['run', '--until', 'push', '--json']);
    expect(built.code).toBe(0);
    const r = report(built.stdout);
    expect(r.stages.map((s) => s.name)).toEqual([
      'resolve',
      'fetch-model',
      'evaluate',
      'gate',
      'prepare',
      'test',
      'build',
      'push',
      'record',
    ]);
    expect((await served()).model).not.toBe(r.inputs!.model!.digest);
    const released = await shipml(['release', '--json', '--trigger', 'schedule']);
    expect(released.code).toBe(0);
    const rr = report(released.stdout);
    expect(rr.kind).toBe('release');
    expect(rr.image?.digest).toBe(r.image?.digest);
    expect((await served()).model).toBe(r.inputs!.model!.digest);
  }, 180_000);

  it('in a terminal, the stages show live (listr2) with their outcome', async () => {
    // `script` gives the CLI a pseudo-terminal, as a developer's shell would.
    const command = `stty cols 160 rows 50; ${process.execPath} ${CLI_BIN} run --model tiny@2 --until gate`;
    const { CI: _ci, ...inherited } = process.env; // CI=true would select plain lines
    const env = { ...inherited, HOME: work };
    const out = await run('script', ['-qec', command, '/dev/null'], { cwd: repo, env });
    const screen = stripVTControlCharacters(out.stdout);
    expect(screen).toMatch(/✔ resolve \([\d.]+ s\): commit [0-9a-f]{12}, model tiny@2/);
    expect(screen).toMatch(/✔ test \([\d.]+ s\): `test -f "\$MODEL_PATH\/weights.bin"` passed/);
    expect(screen).toMatch(/✔ gate \([\d.]+ s\): accuracy 0.96 >= 0.9: ok/);
    expect(screen).toMatch(/run \S+ succeeded in [\d.]+ s/);
  }, 60_000);

  it('Ctrl-C during the tests ends them and leaves a cancelled report', async () => {
    await configure('', 'echo $$ > test.pid; sleep 60');
    const { child, done, stderr } = spawnCli(['run', '--force'], { HOME: work }, repo);
    for (let i = 0; i < 300 && !/test: started/.test(stderr()); i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const out = await done;
    expect(out.code).toBe(130);
    const pid = Number(await readFile(join(repo, 'test.pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
    const runs = (await readdir(join(repo, '.shipml', 'runs'))).filter((n) => n.endsWith('.json'));
    const last = JSON.parse(
      await readFile(join(repo, '.shipml', 'runs', runs.sort().at(-1)!), 'utf8'),
    ) as RunReport;
    expect(last.outcome).toBe('cancelled');
    expect(last.failure?.stage).toBe('test');
    await rm(join(repo, 'test.pid'));
    await configure();
  }, 120_000);
});
