import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCommand } from '../src/cli/init.js';
import type { CliContext } from '../src/cli/context.js';
import type { CommandRunner } from '../src/cli/context.js';
import { Output } from '../src/cli/output.js';
import { loadConfig } from '../src/config/load.js';
import { Redactor } from '../src/core/redact.js';
import type { InitResult } from '../src/init/index.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const SCHEMAS = fileURLToPath(new URL('./fixtures/ci-schemas/', import.meta.url));
const VERSION = (
  JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

let work: string;
let github: ValidateFunction;
let azure: ValidateFunction;

/**
 * Validators for the vendored published schemas (see fixtures/ci-schemas/README.md for the
 * options). Azure Pipelines reads every scalar as a string (its schema's booleans and numbers
 * are string patterns), so its files are parsed with YAML's failsafe schema; GitHub reads
 * YAML's core types, as the default parse does.
 */
async function validators(): Promise<void> {
  const load = async (file: string) =>
    JSON.parse(await readFile(join(SCHEMAS, file), 'utf8')) as object;
  github = new Ajv({ allErrors: true, strictTypes: false, strictTuples: false }).compile(
    await load('github-workflow.json'),
  );
  azure = new Ajv({
    allErrors: true,
    strictTypes: false,
    strictTuples: false,
    unicodeRegExp: false,
    keywords: ['deprecationMessage', 'doNotSuggest', 'firstProperty', 'ignoreCase', 'aliases'],
  }).compile(await load('azure-pipelines-service-schema.json'));
}

/** The few errors worth reading (anyOf over hundreds of tasks otherwise buries them). */
function errors(validate: ValidateFunction): string {
  const list: ErrorObject[] = validate.errors ?? [];
  const deepest = Math.max(0, ...list.map((e) => e.instancePath.split('/').length));
  return list
    .filter((e) => e.instancePath.split('/').length === deepest)
    .slice(0, 8)
    .map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
}

function expectGithubValid(doc: unknown): void {
  const ok = github(doc);
  expect(ok, errors(github)).toBe(true);
}

function expectAzureValid(doc: unknown): void {
  const ok = azure(doc);
  expect(ok, errors(azure)).toBe(true);
}

interface InitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `shipml init ARGS` in `cwd`, through the command as main.ts wires it. */
async function runInit(
  args: string[],
  cwd: string,
  // No local base images unless a test makes some: the result must not depend on this machine.
  env: NodeJS.ProcessEnv = { CI: 'true', SHIPML_CI_CACHE: join(work, 'no-base-images') },
): Promise<InitRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const redactor = new Redactor();
  const output = new Output(redactor, { out, err });
  let code = 0;
  const run: CommandRunner = async (body, { json, debug }) => {
    const ctx: CliContext = {
      env,
      cwd,
      output,
      redactor,
      signal: new AbortController().signal,
      tty: false,
    };
    try {
      await body(ctx);
    } catch (error) {
      code = output.error(error, { json, debug });
    }
  };
  await initCommand(run)
    .exitOverride()
    .parseAsync(args, { from: 'user' })
    .catch(() => (code = 2)); // usage errors (commander prints them)
  return { code, stdout, stderr };
}

/** A copy of examples/NAME with only `files` (what detection looks at), in a fresh directory. */
async function example(name: string, files: string[], as = name): Promise<string> {
  const dir = join(await mkdtemp(join(work, 'app-')), as);
  await mkdir(dir);
  for (const file of files)
    await cp(join(EXAMPLES, name, file), join(dir, file), { recursive: true });
  return dir;
}

const readYaml = async (file: string, failsafe = false): Promise<Record<string, unknown>> =>
  parse(await readFile(file, 'utf8'), failsafe ? { schema: 'failsafe' } : {}) as Record<
    string,
    unknown
  >;

type Step = {
  name?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
  with?: object;
};
type Job = {
  steps: Step[];
  needs?: string;
  if?: string;
  'runs-on': unknown;
  environment?: string;
  outputs?: Record<string, string>;
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-init-'));
  await validators();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('shipml init on a Node.js app (examples/digits)', () => {
  let dir: string;
  let run: InitRun;
  beforeAll(async () => {
    dir = await example('digits', ['package.json', 'package-lock.json', 'public']);
    run = await runInit(
      [
        '--store',
        'azblob://mlstore/models/prod',
        '--image',
        'myacr.azurecr.io/digits',
        '--target',
        'kubernetes',
      ],
      dir,
    );
  });

  it('writes shipml.yaml, a GitHub workflow and an Azure pipeline, and says what to do next', async () => {
    // The one note: which base image it chose, and why (no local one here).
    expect(run.stderr).toBe(
      `note: build.base is public.ecr.aws/docker/library/node:22-bookworm-slim (Docker's official image, mirrored by Amazon ECR Public; no local base image in ${join(work, 'no-base-images', 'base-images', 'node24')}): pass --base to use your own registry's\n`,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`a Node.js app in ${dir}: model digits, app digits`);
    for (const file of ['shipml.yaml', '.github/workflows/shipml.yml', 'azure-pipelines.yml'])
      expect(run.stdout).toContain(`created ${file}`);
    expect(run.stdout).toMatch(/next steps:\n {2}1\. check shipml\.yaml/);
    expect(run.stdout).toContain('AZURE_STORAGE_CONNECTION_STRING');
    expect((await readdir(dir)).sort()).toEqual([
      '.github',
      'azure-pipelines.yml',
      'package-lock.json',
      'package.json',
      'public',
      'shipml.yaml',
    ]);
  });

  it('writes a shipml.yaml the config loader accepts, with the native build the app needs', async () => {
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBe(join(dir, 'shipml.yaml'));
    expect(config.model).toEqual({
      name: 'digits',
      channel: 'latest',
      store: 'azblob://mlstore/models/prod',
    });
    expect(config.build).toMatchObject({
      kind: 'node',
      base: 'public.ecr.aws/docker/library/node:22-bookworm-slim',
      env: { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '8080' },
      include: ['package.json', 'package-lock.json', 'dist', 'public'],
      cmd: ['node', 'dist/src/main.js'],
      ports: [8080],
      user: '1000:1000',
    });
    expect(config.image).toEqual({ repository: 'myacr.azurecr.io/digits' });
    expect(config.deploy).toMatchObject({ target: 'kubernetes', app: 'digits', port: 8080 });
    expect(config.deploy?.kubernetes?.service).toEqual({ type: 'LoadBalancer', port: 80 });
    expect(config.test).toMatchObject({ command: 'npm test' });
    expect(config.verify?.versionPath).toBeNull();
    // What init cannot know waits as an example in a comment.
    expect(config.gate).toBeUndefined();
    expect(await readFile(file!, 'utf8')).toMatch(/^# gate:\n# {3}thresholds: /m);
  });

  it('writes a GitHub workflow valid by the published schema: build on every commit, release after it', async () => {
    const doc = await readYaml(join(dir, '.github/workflows/shipml.yml'));
    expectGithubValid(doc);
    const on = doc.on as Record<string, unknown>;
    expect(on.push).toEqual({ branches: ['**'] });
    expect(on).toHaveProperty('pull_request');
    expect(on.schedule).toEqual([{ cron: '0 2 * * *' }]);
    expect(on.repository_dispatch).toEqual({ types: ['model-published'] });
    expect(on).toHaveProperty('workflow_dispatch');
    expect(doc.permissions).toEqual({ contents: 'read' });

    const jobs = doc.jobs as Record<string, Job>;
    const build = jobs.build!;
    expect(build['runs-on']).toBe('ubuntu-latest');
    expect(build.steps.map((s) => s.uses ?? s.name ?? s.run)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci',
      'npm run build',
      'shipml run',
    ]);
    expect(build.steps[1]!.with).toEqual({
      'node-version': '22',
      cache: 'npm',
      'cache-dependency-path': 'package-lock.json',
    });
    const run = build.steps[4]!;
    expect(run.run).toContain(
      `npx --yes shipml@${VERSION} run --until "$until" --trigger "$SHIPML_TRIGGER" --json`,
    );
    expect(run.env).toEqual({
      SHIPML_REGISTRY_USERNAME: '${{ secrets.SHIPML_REGISTRY_USERNAME }}',
      SHIPML_REGISTRY_PASSWORD: '${{ secrets.SHIPML_REGISTRY_PASSWORD }}',
      AZURE_STORAGE_CONNECTION_STRING: '${{ secrets.AZURE_STORAGE_CONNECTION_STRING }}',
    });
    expect(build.outputs).toEqual({ image: '${{ steps.run.outputs.image }}' });
    expect((doc.env as Record<string, string>).SHIPML_TRIGGER).toMatch(
      /^\$\{\{ github\.event_name == 'schedule' && 'schedule' \|\| .* \|\| 'commit' \}\}$/,
    );

    const release = jobs.release!;
    expect(release.needs).toBe('build');
    expect(release.if).toBe(
      "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'",
    );
    expect(release.environment).toBe('production');
    const last = release.steps.at(-1)!;
    expect(last.run).toBe(
      `npx --yes shipml@${VERSION} release "$IMAGE" --trigger "$SHIPML_TRIGGER"`,
    );
    expect(last.env).toEqual({
      IMAGE: '${{ needs.build.outputs.image }}',
      KUBECONFIG: '${{ runner.temp }}/kubeconfig',
      SHIPML_REGISTRY_USERNAME: '${{ secrets.SHIPML_REGISTRY_USERNAME }}',
      SHIPML_REGISTRY_PASSWORD: '${{ secrets.SHIPML_REGISTRY_PASSWORD }}',
    });
    const kubeconfig = release.steps.find((s) => s.env?.KUBECONFIG_CONTENT)!;
    expect(kubeconfig.env).toEqual({ KUBECONFIG_CONTENT: '${{ secrets.KUBECONFIG }}' });
    expect(kubeconfig.run).toContain('> "$RUNNER_TEMP/kubeconfig"');
  });

  it('writes an Azure pipeline valid by the published schema, with secrets mapped into env', async () => {
    const doc = await readYaml(join(dir, 'azure-pipelines.yml'), true);
    expectAzureValid(doc);
    expect(doc.trigger).toEqual({ branches: { include: ['*'] } });
    expect(doc.schedules).toEqual([
      {
        cron: '0 2 * * *',
        displayName: 'nightly release',
        branches: { include: ['main'] },
        always: 'true',
      },
    ]);
    expect(doc.variables).toContainEqual({ group: 'shipml' });

    type Stage = { stage: string; condition?: string; dependsOn?: string; jobs: AzureJob[] };
    type AzureStep = {
      script?: string;
      name?: string;
      displayName?: string;
      task?: string;
      env?: Record<string, string>;
      inputs?: object;
    };
    type AzureJob = {
      steps?: AzureStep[];
      strategy?: { runOnce: { deploy: { steps: AzureStep[] } } };
      environment?: string;
      variables?: Record<string, string>;
    };
    const [build, release] = doc.stages as Stage[];
    const buildSteps = build!.jobs[0]!.steps!;
    expect(buildSteps.map((s) => s.task ?? s.displayName ?? s.script)).toEqual([
      undefined, // checkout: self
      'NodeTool@0',
      'Cache@2',
      'npm ci',
      'npm run build',
      'shipml run',
    ]);
    expect(buildSteps.at(-1)!.name).toBe('run');
    // Azure Pipelines passes no secret to a script unless its step maps it.
    expect(buildSteps.at(-1)!.env).toEqual({
      SHIPML_REGISTRY_USERNAME: '$(SHIPML_REGISTRY_USERNAME)',
      SHIPML_REGISTRY_PASSWORD: '$(SHIPML_REGISTRY_PASSWORD)',
      AZURE_STORAGE_CONNECTION_STRING: '$(AZURE_STORAGE_CONNECTION_STRING)',
    });
    for (const step of buildSteps.slice(0, -1)) expect(step.env).toBeUndefined();

    expect(release!.dependsOn).toBe('build');
    expect(release!.condition).toBe(
      "and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'), eq(variables['Build.SourceBranch'], 'refs/heads/main'))",
    );
    const deployment = release!.jobs[0]!;
    expect(deployment.environment).toBe('production');
    const releaseSteps = deployment.strategy!.runOnce.deploy.steps;
    expect(releaseSteps.find((s) => s.task === 'DownloadSecureFile@1')?.inputs).toEqual({
      secureFile: 'kubeconfig',
    });
    expect(deployment.variables).toEqual({
      shipmlImage: "$[ stageDependencies.build.build.outputs['run.image'] ]",
      shipmlTrigger: "$[ stageDependencies.build.build.outputs['run.trigger'] ]",
    });
    expect(releaseSteps.at(-1)).toEqual({
      script: `npx --yes shipml@${VERSION} release "$IMAGE" --trigger "$SHIPML_TRIGGER"`,
      displayName: 'shipml release',
      env: {
        IMAGE: '$(shipmlImage)',
        SHIPML_TRIGGER: '$(shipmlTrigger)',
        KUBECONFIG: '$(kubeconfig.secureFilePath)',
        SHIPML_REGISTRY_USERNAME: '$(SHIPML_REGISTRY_USERNAME)',
        SHIPML_REGISTRY_PASSWORD: '$(SHIPML_REGISTRY_PASSWORD)',
      },
    });
  });
});

describe('shipml init on a Dockerfile app (examples/python-app)', () => {
  let dir: string;
  let run: InitRun;
  beforeAll(async () => {
    dir = await example('python-app', ['Dockerfile', 'app.py', '.dockerignore']);
    run = await runInit(
      ['--model', 'linear', '--store', 's3://ml-models/prod', '--image', '127.0.0.1:5000/linear'],
      dir,
    );
  });

  it('writes a dockerfile build with the EXPOSEd port, loadable by the config loader', async () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`an app with a Dockerfile in ${dir}: model linear, app linear`);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.build).toMatchObject({ kind: 'dockerfile', dockerfile: 'Dockerfile' });
    expect(config.build?.cmd).toBeUndefined(); // the Dockerfile's CMD stands
    expect(config.test).toBeUndefined(); // no test command to take: an example in a comment
    expect(config.model?.name).toBe('linear');
    expect(config.deploy).toMatchObject({ target: 'docker', app: 'linear', port: 8000 });
  });

  it('CI runs a pinned shipml without npm ci, with S3 credentials, and releases on a self-hosted runner', async () => {
    const gh = await readYaml(join(dir, '.github/workflows/shipml.yml'));
    expectGithubValid(gh);
    const jobs = gh.jobs as Record<string, Job>;
    expect(jobs.build!.steps.map((s) => s.uses ?? s.name ?? s.run)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'shipml run',
    ]);
    expect(jobs.build!.steps[1]!.with).toEqual({ 'node-version': '22' }); // no lockfile, no cache
    expect(Object.keys(jobs.build!.steps[2]!.env!)).toEqual([
      'SHIPML_REGISTRY_USERNAME',
      'SHIPML_REGISTRY_PASSWORD',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    expect(jobs.release!['runs-on']).toEqual(['self-hosted', 'shipml']);
    expect(jobs.release!.steps.some((s) => s.env?.KUBECONFIG)).toBe(false);

    const az = await readYaml(join(dir, 'azure-pipelines.yml'), true);
    expectAzureValid(az);
    const text = await readFile(join(dir, 'azure-pipelines.yml'), 'utf8');
    expect(text).toContain('AWS_SECRET_ACCESS_KEY: $(AWS_SECRET_ACCESS_KEY)');
    expect(text).not.toContain('npm ci');
    expect(text).not.toContain('DownloadSecureFile');
    expect((az.stages as Array<{ jobs: Array<{ pool: unknown }> }>)[1]!.jobs[0]!.pool).toEqual({
      name: 'shipml',
    });
  });
});

describe('the generated CI scripts, run with a stand-in npx', () => {
  const IMAGE = `myacr.azurecr.io/digits@sha256:${'a'.repeat(64)}`;
  let dir: string;
  let bin: string;

  beforeAll(async () => {
    dir = await example('digits', ['package.json', 'package-lock.json'], 'scripts');
    expect((await runInit(['--target', 'kubernetes'], dir)).code).toBe(0);
    // Records its arguments; "succeeds" with a run report that names an image only when the
    // run went as far as the push, like shipml run --json.
    bin = await mkdtemp(join(work, 'bin-'));
    await writeFile(
      join(bin, 'npx'),
      [
        '#!/bin/sh',
        'printf "%s\\n" "$*" >> "$CALLS"',
        'if [ -n "$FAIL" ]; then echo \'{"error":{"code":"RUN_FAILED"}}\'; exit 1; fi',
        'case "$*" in',
        `  *"--until push"*) echo '{"id":"r1","image":{"reference":"${IMAGE}"}}' ;;`,
        '  *) echo \'{"id":"r1"}\' ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
  });

  /** Runs `script` as the CI would (GitHub: bash -eo pipefail; Azure: plain bash). */
  async function sh(script: string, shell: string[], env: Record<string, string>) {
    const temp = await mkdtemp(join(work, 'ci-'));
    const files = { CALLS: join(temp, 'calls'), OUTPUT: join(temp, 'output') };
    await writeFile(files.CALLS, '');
    await writeFile(files.OUTPUT, '');
    const result = await promisify(execFile)(shell[0]!, [...shell.slice(1), '-c', script], {
      cwd: dir,
      env: {
        PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
        CALLS: files.CALLS,
        GITHUB_OUTPUT: files.OUTPUT,
        RUNNER_TEMP: temp,
        AGENT_TEMPDIRECTORY: temp,
        ...env,
      },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    return {
      ...result,
      calls: (await readFile(files.CALLS, 'utf8')).trim().split('\n'),
      output: await readFile(files.OUTPUT, 'utf8'),
    };
  }

  it('GitHub: a push runs the pipeline to the push and hands the pushed digest to the release job', async () => {
    const doc = await readYaml(join(dir, '.github/workflows/shipml.yml'));
    const jobs = doc.jobs as Record<string, Job>;
    const script = jobs.build!.steps.find((s) => s.name === 'shipml run')!.run!;
    const bash = ['bash', '--noprofile', '--norc', '-eo', 'pipefail'];

    const push = await sh(script, bash, { GITHUB_EVENT_NAME: 'push', SHIPML_TRIGGER: 'commit' });
    expect(push.code).toBe(0);
    expect(push.calls).toEqual([
      `--yes shipml@${VERSION} run --until push --trigger commit --json`,
    ]);
    expect(push.output).toBe(`image=${IMAGE}\n`);

    const pr = await sh(script, bash, {
      GITHUB_EVENT_NAME: 'pull_request',
      SHIPML_TRIGGER: 'commit',
    });
    expect(pr.calls).toEqual([`--yes shipml@${VERSION} run --until build --trigger commit --json`]);
    expect(pr.output).toBe('image=\n');

    const failed = await sh(script, bash, {
      GITHUB_EVENT_NAME: 'schedule',
      SHIPML_TRIGGER: 'schedule',
      FAIL: '1',
    });
    expect(failed.code).not.toBe(0);
    expect(failed.output).toBe('');

    const release = jobs.release!.steps.at(-1)!.run!;
    const released = await sh(release, bash, { IMAGE, SHIPML_TRIGGER: 'schedule' });
    expect(released.calls).toEqual([`--yes shipml@${VERSION} release ${IMAGE} --trigger schedule`]);
  });

  it('Azure: the trigger comes from Build.Reason, a failed run fails the step, outputs go to the release stage', async () => {
    const doc = await readYaml(join(dir, 'azure-pipelines.yml'), true);
    const steps = (
      doc.stages as Array<{ jobs: Array<{ steps: Array<{ name?: string; script: string }> }> }>
    )[0]!.jobs[0]!.steps;
    const script = steps.find((s) => s.name === 'run')!.script;

    const nightly = await sh(script, ['bash', '--noprofile', '--norc'], {
      BUILD_REASON: 'Schedule',
    });
    expect(nightly.code).toBe(0);
    expect(nightly.calls).toEqual([
      `--yes shipml@${VERSION} run --until push --trigger schedule --json`,
    ]);
    expect(nightly.stdout.split('\n')).toEqual([
      `##vso[task.setvariable variable=image;isOutput=true]${IMAGE}`,
      '##vso[task.setvariable variable=trigger;isOutput=true]schedule',
      '',
    ]);

    const pr = await sh(script, ['bash', '--noprofile', '--norc'], { BUILD_REASON: 'PullRequest' });
    expect(pr.calls).toEqual([`--yes shipml@${VERSION} run --until build --trigger commit --json`]);

    const model = await sh(script, ['bash', '--noprofile', '--norc'], {
      BUILD_REASON: 'ResourceTrigger',
      FAIL: '1',
    });
    expect(model.calls).toEqual([
      `--yes shipml@${VERSION} run --until push --trigger model --json`,
    ]);
    expect(model.code).not.toBe(0); // Azure runs scripts without -e: the script sets it
    expect(model.stdout).not.toContain('##vso');
  });
});

describe('the validators', () => {
  it('reject broken definitions, so a passing test means something', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json'], 'broken');
    expect((await runInit(['--target', 'kubernetes'], dir)).code).toBe(0);
    const good = await readYaml(join(dir, '.github/workflows/shipml.yml'));
    expectGithubValid(good);

    expect(github({ ...good, on: 5 })).toBe(false);
    const jobs = good.jobs as Record<string, Record<string, unknown>>;
    const { 'runs-on': _dropped, ...noRunner } = jobs.build!;
    expect(github({ ...good, jobs: { ...jobs, build: noRunner } })).toBe(false);
    expect(errors(github)).toContain('runs-on');
    expect(github({ ...good, jobs: { ...jobs, build: { ...jobs.build, 'run-on': 'x' } } })).toBe(
      false,
    );

    const pipeline = await readYaml(join(dir, 'azure-pipelines.yml'), true);
    expectAzureValid(pipeline);
    expect(azure({ ...pipeline, trigers: { branches: { include: ['*'] } } })).toBe(false);
    expect(azure({ ...pipeline, schedules: [{ cron: '0 2 * * *', always: 'sometimes' }] })).toBe(
      false,
    );
    // Each pair: the same document once right (accepted), once wrong (rejected).
    const azureYaml = (text: string) => parse(text, { schema: 'failsafe' }) as unknown;
    const pairs: Array<[string, string]> = [
      [
        'jobs:\n- job: b\n  pool: { vmImage: ubuntu-latest }\n  steps: [{ script: x }]',
        'jobs:\n- job: b\n  runs-on: ubuntu-latest\n  steps: [{ script: x }]',
      ],
      [
        'steps:\n- task: NodeTool@0\n  inputs: { versionSpec: 22.x }',
        'steps:\n- task: NodeTool@0\n  inputs: { version: 22.x }',
      ],
    ];
    for (const [right, wrong] of pairs) {
      expect(azure(azureYaml(right)), `${right}\n${errors(azure)}`).toBe(true);
      expect(azure(azureYaml(wrong)), wrong).toBe(false);
    }
  });
});

describe('refusals', () => {
  it('refuses to overwrite an existing file without --force and then writes nothing at all', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    await writeFile(join(dir, 'azure-pipelines.yml'), 'keep: me\n');
    const refused = await runInit([], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'error: azure-pipelines.yml exists already: nothing was written',
    );
    expect(refused.stderr).toContain('hint: pass --force to overwrite it');
    expect((await readdir(dir)).sort()).toEqual([
      'azure-pipelines.yml',
      'package-lock.json',
      'package.json',
    ]);
    expect(await readFile(join(dir, 'azure-pipelines.yml'), 'utf8')).toBe('keep: me\n');

    const forced = await runInit(['--force', '--json'], dir);
    expect(forced.code).toBe(0);
    const result = JSON.parse(forced.stdout) as InitResult;
    expect(result.files.map((f) => [f.display, f.action])).toEqual([
      ['shipml.yaml', 'created'],
      ['.github/workflows/shipml.yml', 'created'],
      ['azure-pipelines.yml', 'overwritten'],
    ]);
    expectAzureValid(await readYaml(join(dir, 'azure-pipelines.yml'), true));
    // No temporary files left beside the targets.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an unknown --ci value with exit 2, naming the valid CI systems, and writes nothing', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    for (const value of ['jenkins', 'github,jenkins', ',']) {
      const run = await runInit(['--ci', value], dir);
      expect(run.code, value).toBe(2);
      expect(run.stderr, value).toMatch(/github, azure/);
    }
    const named = await runInit(['--ci', 'github,jenkins', '--json'], dir);
    expect(JSON.parse(named.stdout)).toEqual({
      error: {
        code: 'CONFIG',
        message: '--ci: unknown CI system "jenkins": expected one of github, azure',
      },
    });
    expect((await readdir(dir)).sort()).toEqual(['package-lock.json', 'package.json']);
    // Each system once, in the registry's order, whatever the order given.
    const both = await runInit(['--ci', 'azure,github,azure', '--json'], dir);
    expect(both.code).toBe(0);
    expect((JSON.parse(both.stdout) as InitResult).files.map((f) => f.what)).toEqual([
      'config',
      'github',
      'azure',
    ]);
  });

  it('says what it looked for when there is neither a package.json nor a Dockerfile', async () => {
    const dir = await mkdtemp(join(work, 'empty-'));
    await writeFile(join(dir, 'main.py'), 'print(1)\n');
    const run = await runInit([], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `error: no app found in ${dir}: looked for package.json (a Node.js app) and Dockerfile (any other app)`,
    );
    expect(await readdir(dir)).toEqual(['main.py']);
  });

  it('refuses a Node.js app without package-lock.json, naming the lockfile it found', async () => {
    const dir = await example('digits', ['package.json']);
    await writeFile(join(dir, 'yarn.lock'), '');
    const run = await runInit([], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('package.json but no package-lock.json (found yarn.lock)');
  });

  it('refuses bad flags before looking at anything, without echoing credentials', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    const cases: Array<[string[], string]> = [
      [
        ['--target', 'moon'],
        '--target: unknown deploy target "moon": expected one of docker, kubernetes',
      ],
      [['--builder', 'bazel'], '--builder: unknown image builder "bazel": expected one of'],
      [['--image', 'myacr.azurecr.io/digits:1.0'], 'expected a repository'],
      [['--store', 'ftp://x/y'], '--store: invalid store URL'],
      [['--store', 's3://AKIA:hunter2secret@bucket/p'], 'must not carry credentials'],
      [['--model', 'Not A Name'], 'invalid model name'],
    ];
    for (const [args, message] of cases) {
      const run = await runInit(args, dir);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toContain('hunter2secret');
    }
    expect((await readdir(dir)).sort()).toEqual(['package-lock.json', 'package.json']);
  });
});

describe('choices', () => {
  it('help lists the choices of --target, --builder and --ci from their registries', async () => {
    const { deployTargets } = await import('../src/deploy/registry.js');
    const { imageBuilders } = await import('../src/builders/registry.js');
    const help = initCommand(async () => {})
      .helpInformation()
      .replace(/\s+/g, ' ');
    expect(help).toContain(`where releases go: ${deployTargets.choices} (default: docker)`);
    expect(help).toContain(`${imageBuilders.choices}, when both package.json and Dockerfile`);
    expect(help).toContain(
      'CI definitions to write: github,azure or none (default: "github,azure")',
    );
  });

  it('prefers the Dockerfile when there is also a package.json, and says so; --builder node overrides', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    await cp(join(EXAMPLES, 'python-app', 'Dockerfile'), join(dir, 'Dockerfile'));
    const first = await runInit(['--ci', 'none', '--json'], dir);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as InitResult;
    expect(result.project).toMatchObject({ kind: 'dockerfile', alsoFound: 'package.json' });
    expect(result.files.map((f) => f.display)).toEqual(['shipml.yaml']);
    expect(result.notes[0]).toMatch(/found both package.json and a Dockerfile: building with/);
    expect((await loadConfig({ cwd: dir, env: {} })).config.build?.kind).toBe('dockerfile');

    const native = await runInit(['--ci', 'none', '--builder', 'node', '--force'], dir);
    expect(native.code).toBe(0);
    expect((await loadConfig({ cwd: dir, env: {} })).config.build?.kind).toBe('node');
  });

  it('--json prints the whole result on stdout and notes nothing on stderr', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json'], 'My Digits App');
    const run = await runInit(['--json', '--store', 'file:///srv/models'], dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as InitResult;
    expect(result.project).toEqual({
      dir,
      kind: 'node',
      alsoFound: null,
      model: 'my-digits-app', // from the directory name
      app: 'my-digits-app',
      cmd: ['node', 'dist/src/main.js'],
    });
    expect(result.secrets).toEqual(['SHIPML_REGISTRY_USERNAME', 'SHIPML_REGISTRY_PASSWORD']);
    expect(result.notes).toContain(
      'file:///srv/models is a directory on this machine: CI runners cannot reach it',
    );
    expect(result.notes.some((n) => n.startsWith('no --image'))).toBe(true);
    expect(result.nextSteps.at(-1)).toMatch(/^commit the files and push/);

    const failed = await runInit(['--json', '--target', 'moon'], dir);
    expect(failed.code).toBe(2);
    expect(JSON.parse(failed.stdout)).toEqual({
      error: {
        code: 'CONFIG',
        message: '--target: unknown deploy target "moon": expected one of docker, kubernetes',
      },
    });
  });

  it("reads package.json: main when start is not `node FILE`, the app's own shipml, no placeholder test", async () => {
    const dir = await mkdtemp(join(work, 'own-'));
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({
        name: '@acme/server',
        main: 'server.js',
        scripts: {
          start: 'tsx src/main.ts && echo done',
          test: 'echo "Error: no test specified" && exit 1',
        },
        devDependencies: { shipml: '^0.1.0' },
      }),
    );
    await writeFile(join(dir, 'package-lock.json'), '{"lockfileVersion": 3, "packages": {}}');
    const run = await runInit(['--model', 'acme', '--target', 'kubernetes'], dir);
    expect(run.code).toBe(0);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.build).toMatchObject({ kind: 'node', cmd: ['node', 'server.js'] });
    // No build step: the app is its sources.
    expect(config.build && 'include' in config.build ? config.build.include : undefined).toBe(
      undefined,
    );
    expect(config.test).toBeUndefined();

    const jobs = (await readYaml(join(dir, '.github/workflows/shipml.yml'))).jobs as Record<
      string,
      Job
    >;
    expect(jobs.build!.steps.map((s) => s.uses ?? s.name ?? s.run)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci', // no build script, no `npm run build`
      'shipml run',
    ]);
    expect(jobs.build!.steps.at(-1)!.run).toContain('npx shipml run --until "$until"');
    // The release runs the app's own shipml too, so it installs it first.
    expect(jobs.release!.steps.map((s) => s.uses ?? s.name ?? s.run)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci',
      'kubeconfig',
      'shipml release',
    ]);
    expect(jobs.release!.steps.at(-1)!.run).toBe(
      'npx shipml release "$IMAGE" --trigger "$SHIPML_TRIGGER"',
    );
    expectAzureValid(await readYaml(join(dir, 'azure-pipelines.yml'), true));
  });

  it('puts CI files at the git root for an app in a subdirectory, on the default branch', async () => {
    const root = await mkdtemp(join(work, 'mono-'));
    await promisify(execFile)('git', ['init', '-q', '-b', 'trunk', root]);
    const dir = join(root, 'apps', 'digits');
    await mkdir(dir, { recursive: true });
    for (const file of ['package.json', 'package-lock.json'])
      await cp(join(EXAMPLES, 'digits', file), join(dir, file));

    const run = await runInit(['--target', 'kubernetes', '--json'], dir);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as InitResult;
    expect(result.files.map((f) => f.display)).toEqual([
      'shipml.yaml',
      '../../.github/workflows/shipml-digits.yml',
      '../../azure-pipelines-digits.yml',
    ]);

    const gh = await readYaml(join(root, '.github/workflows/shipml-digits.yml'));
    expectGithubValid(gh);
    expect(gh.defaults).toEqual({ run: { 'working-directory': 'apps/digits' } });
    expect((gh.on as { push: unknown }).push).toEqual({
      branches: ['**'],
      paths: ['apps/digits/**', '.github/workflows/shipml-digits.yml'],
    });
    const jobs = gh.jobs as Record<string, Job>;
    expect(jobs.release!.if).toContain("github.ref == 'refs/heads/trunk'");
    expect(jobs.build!.steps[1]!.with).toMatchObject({
      'cache-dependency-path': 'apps/digits/package-lock.json',
    });

    const az = await readYaml(join(root, 'azure-pipelines-digits.yml'), true);
    expectAzureValid(az);
    const text = await readFile(join(root, 'azure-pipelines-digits.yml'), 'utf8');
    expect(text).toContain('workingDirectory: $(Build.SourcesDirectory)/apps/digits');
    expect(text).toContain("eq(variables['Build.SourceBranch'], 'refs/heads/trunk')");
  });

  it('quotes what needs quoting: a branch with a quote stays one valid expression', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    const run = await runInit(['--branch', "it's-#1", '--model', 'digits.v2_x'], dir);
    expect(run.code).toBe(0);
    const gh = await readYaml(join(dir, '.github/workflows/shipml.yml'));
    expectGithubValid(gh);
    expect((gh.jobs as Record<string, Job>).release!.if).toBe(
      "github.event_name != 'pull_request' && github.ref == 'refs/heads/it''s-#1'",
    );
    const az = await readYaml(join(dir, 'azure-pipelines.yml'), true);
    expectAzureValid(az);
    expect((az.schedules as Array<{ branches: unknown }>)[0]!.branches).toEqual({
      include: ["it's-#1"],
    });
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.model?.name).toBe('digits.v2_x');
    expect(config.deploy?.app).toBe('digits-v2-x');
  });
});

/** examples/digits/shipml.yaml as it was before init could merge: build and test as comments. */
const OLD_DIGITS_CONFIG = `# ShipML configuration of the sample app (see README.md).
model:
  name: digits
  channel: latest # the channel builds take the model from
  store: \${SHIPML_MODEL_STORE:-file://./.shipml/models}

# build:
#   kind: node

deploy:
  app: digits
  replicas: 2
  port: 8080
  readinessPath: /readyz # true once the model is loaded and warmed up
  livenessPath: /healthz
  env: { HOST: 0.0.0.0, LOG_LEVEL: info }
  drainSeconds: 5
  docker:
    port: 8080 # the load balancer, on 127.0.0.1
`;

describe('what the machine and the app tell init', () => {
  it('takes the local base image when scripts/base-images.sh built it, and says why', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    const cache = join(work, 'fake-ci-cache');
    await mkdir(join(cache, 'base-images', 'node24'), { recursive: true });
    await writeFile(join(cache, 'base-images', 'node24', 'index.json'), '{"schemaVersion":2}');
    const run = await runInit(['--ci', 'none', '--json'], dir, { SHIPML_CI_CACHE: cache });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as InitResult;
    const layout = join(cache, 'base-images', 'node24');
    expect(result.base).toEqual({ image: `oci:${layout}:24`, from: 'local' });
    expect(result.notes[0]).toContain(`build.base is the local Node.js 24 base image in ${layout}`);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.build).toMatchObject({ base: `oci:${layout}:24` });

    // --base wins over the local one.
    const other = await example('digits', ['package.json', 'package-lock.json']);
    const explicit = await runInit(
      ['--ci', 'none', '--json', '--base', 'r.example/node:24'],
      other,
      {
        SHIPML_CI_CACHE: cache,
      },
    );
    expect((JSON.parse(explicit.stdout) as InitResult).base).toEqual({
      image: 'r.example/node:24',
      from: 'option',
    });
  });

  it("finds the app's /version, /readyz and /healthz in its sources, not in its tests", async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json', 'src']);
    expect((await runInit(['--ci', 'none'], dir)).code).toBe(0);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.verify?.versionPath).toBe('/version');
    expect(config.deploy).toMatchObject({ readinessPath: '/readyz', livenessPath: '/healthz' });

    // Only a test mentions /version: the app does not serve it, so verify skips it.
    const bare = await example('digits', ['package.json', 'package-lock.json']);
    await mkdir(join(bare, 'test'));
    await writeFile(join(bare, 'test', 'a.test.ts'), "fetch('/version'); fetch('/readyz')");
    await writeFile(join(bare, 'server.js'), "app.get('/health', ok)");
    expect((await runInit(['--ci', 'none'], bare)).code).toBe(0);
    const loaded = await loadConfig({ cwd: bare, env: {} });
    expect(loaded.config.verify?.versionPath).toBeNull();
    expect(loaded.config.deploy).toMatchObject({
      readinessPath: '/health',
      livenessPath: '/health',
    });
  });

  it('writes the docker target flags into deploy.docker and refuses another target’s', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    expect(
      (await runInit(['--ci', 'none', '--target', 'docker', '--port', '18555'], dir)).code,
    ).toBe(0);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.deploy?.docker).toMatchObject({ port: 18555 });

    const k8s = await example('digits', ['package.json', 'package-lock.json']);
    const refused = await runInit(['--ci', 'none', '--target', 'kubernetes', '--port', '1'], k8s);
    expect(refused.code).toBe(2); // a configuration error
    expect(refused.stderr).toContain('--port applies to the docker target, not kubernetes');
  });

  it('merges into an existing shipml.yaml: adds what is missing, keeps every key and comment of the user', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json', 'src']);
    const file = join(dir, 'shipml.yaml');
    await writeFile(file, OLD_DIGITS_CONFIG);
    const run = await runInit(['--ci', 'none', '--target', 'docker', '--port', '18555'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('merged shipml.yaml');
    expect(run.stdout).toContain('    added build: {"kind":"node"');
    expect(run.stdout).toContain('    added test: {"command":"npm test"}');
    expect(run.stdout).toContain('    added deploy.target: docker');
    expect(run.stdout).toContain('    added verify: {"versionPath":"/version"}');
    // The names come from the file, not from the directory.
    expect(run.stdout).toContain('model digits, app digits');
    // A value the user set differently is kept without --force, and said.
    expect(run.stderr).toContain(
      'note: shipml.yaml: kept deploy.docker.port: 8080 (init would write 18555; --force changes it)',
    );
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# ShipML configuration of the sample app (see README.md).');
    expect(text).toContain(
      '  readinessPath: /readyz # true once the model is loaded and warmed up',
    );
    expect(text).toContain('  env: { HOST: 0.0.0.0, LOG_LEVEL: info }');
    // Added sections go where init puts them (build after model), with init's comments.
    expect(text.indexOf('build:')).toBeGreaterThan(text.indexOf('model:'));
    expect(text.indexOf('build:')).toBeLessThan(text.indexOf('deploy:'));
    expect(text).toMatch(/versionPath: \/version # found in the sources/);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.model?.store).toBe('file://./.shipml/models');
    expect(config.deploy).toMatchObject({
      target: 'docker',
      drainSeconds: 5,
      env: { HOST: '0.0.0.0', LOG_LEVEL: 'info' },
      docker: { port: 8080 },
    });
    expect(config.build).toMatchObject({ kind: 'node', cmd: ['node', 'dist/src/main.js'] });

    // Again: nothing to add, the file is untouched.
    const again = await runInit(['--ci', 'none', '--json'], dir);
    const result = JSON.parse(again.stdout) as InitResult;
    expect(result.files.map((f) => f.action)).toEqual(['unchanged']);
    expect(await readFile(file, 'utf8')).toBe(text);

    // --force changes the differing value, and still drops nothing.
    const forced = await runInit(['--ci', 'none', '--json', '--force', '--port', '18555'], dir);
    const changed = JSON.parse(forced.stdout) as InitResult;
    expect(changed.files.map((f) => f.action)).toEqual(['merged']);
    expect(changed.changes).toEqual([
      { path: 'deploy.docker.port', action: 'changed', value: 18555, was: 8080 },
    ]);
    const after = await loadConfig({ cwd: dir, env: {} });
    expect(after.config.deploy).toMatchObject({
      drainSeconds: 5,
      env: { HOST: '0.0.0.0', LOG_LEVEL: 'info' },
      docker: { port: 18555 },
    });
  });

  it("examples/digits' own shipml.yaml is complete: init finds nothing to add", async () => {
    const dir = await example('digits', [
      'package.json',
      'package-lock.json',
      'src',
      'shipml.yaml',
    ]);
    const { config } = await loadConfig({ cwd: dir, env: { HOME: '/home/dev' } });
    expect(config.build).toMatchObject({
      kind: 'node',
      base: 'oci:/home/dev/.cache/shipml-ci/base-images/node24:24',
      env: { HOST: '0.0.0.0', PORT: '8080' },
    });
    expect(config.test?.command).toBe('npm test');
    expect(config.verify?.versionPath).toBe('/version');
    const run = await runInit(['--ci', 'none', '--json'], dir);
    const result = JSON.parse(run.stdout) as InitResult;
    expect(result.files.map((f) => f.action)).toEqual(['unchanged']);
    expect(result.changes.filter((c) => c.action !== 'kept')).toEqual([]);
  });

  it('refuses to merge into a file that is not YAML, and writes nothing', async () => {
    const dir = await example('digits', ['package.json', 'package-lock.json']);
    await writeFile(join(dir, 'shipml.yaml'), 'model: [unclosed\n');
    const run = await runInit(['--ci', 'none'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('shipml.yaml: invalid YAML, so init cannot merge into it');
    expect(await readFile(join(dir, 'shipml.yaml'), 'utf8')).toBe('model: [unclosed\n');
  });
});
