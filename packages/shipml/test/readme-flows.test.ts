import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../src/deploy/docker/target.js';
import type { RunReport } from '../src/pipeline/types.js';
import { DIGITS } from './helpers/digits.js';
import { freePort } from './helpers/ports.js';
import {
  fileHashes,
  modelDigestOf,
  sh,
  shipml,
  type ShellOptions,
} from './helpers/readme-shell.js';
import type { CliRun } from './helpers/cli.js';
import { registries, s3Server } from './services.js';

/**
 * README.md, persona by persona, on a clean copy of examples/digits: the data scientist
 * publishes to MinIO, the app developer runs `shipml init` + `shipml run` to a live app, the
 * operator deploys, inspects, rolls back and destroys. Every command is a README line, run as
 * its own process with only the environment README asks for; substituted are only what
 * README marks as the user's: the store URL (MinIO through `?endpoint=`), the registry, the
 * port, and the model name (unique, because it names the app on the shared Docker Engine).
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ns = `r${Date.now().toString(36)}`;
const name = `${ns}-digits`;
const bucket = `ml-models-${ns}`;
const store = `s3://${bucket}/prod?endpoint=${s3Server.endpoint}`;
const repository = `${registries.plain}/${ns}/digits`;
let work: string;
let appDir: string;
let port: number;
/** What the user's shell has: PATH, HOME, and what README says to export. */
let env: NodeJS.ProcessEnv;
const digest: Record<string, string> = {};

const SECOND = 1000;
/** `text` as a literal in a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
function at(cwd: string, timeoutMs = 60 * SECOND): ShellOptions {
  return { cwd, env, timeoutMs };
}
/** The command succeeded; else the failure shows its output. */
function ok(result: CliRun): CliRun {
  expect(result.code, `${result.stderr.slice(-3000)}\n${result.stdout.slice(-1000)}`).toBe(0);
  return result;
}
async function version(): Promise<{ model: { version: string; digest: string } }> {
  const answer = await fetch(`http://127.0.0.1:${port}/version`, {
    signal: AbortSignal.timeout(10 * SECOND),
  });
  expect(answer.status).toBe(200);
  return (await answer.json()) as { model: { version: string; digest: string } };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-readme-'));
  appDir = join(work, 'digits');
  port = await freePort();
  env = {
    PATH: process.env.PATH,
    // The user's home: where scripts/base-images.sh left the base images (init finds them).
    HOME: process.env.HOME,
    CI: 'true',
    // README, operators: the cache is SHIPML_CACHE_DIR when set; a fresh one, nothing reused.
    SHIPML_CACHE_DIR: join(work, 'cache'),
    // README, data scientists: `export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`.
    AWS_ACCESS_KEY_ID: s3Server.accessKey,
    AWS_SECRET_ACCESS_KEY: s3Server.secretKey,
  };
  if (process.env.SHIPML_CI_CACHE) env.SHIPML_CI_CACHE = process.env.SHIPML_CI_CACHE;

  // A checkout of the app. README says `npm ci && npm run build`; `npm ci` (half a gigabyte,
  // minutes) is replaced by hard links to examples/digits' installed node_modules (nothing
  // writes into them); `npm run build` runs as written, below.
  const skip = new Set([
    'node_modules',
    'dist',
    'shipml.yaml',
    '.shipml',
    'model',
    'test-artifacts',
  ]);
  await cp(DIGITS, appDir, {
    recursive: true,
    filter: (src) => src === DIGITS || !skip.has(src.slice(DIGITS.length + 1).split('/')[0]!),
  });
  await run('cp', ['-al', join(DIGITS, 'node_modules'), join(appDir, 'node_modules')]);
}, 120 * SECOND);

afterAll(async () => {
  if (port) await new DockerTarget({ port }).destroy(name).catch(() => undefined);
  // The bucket goes with MinIO's data when scripts/services.sh stops it.
  if (work) await rm(work, { recursive: true, force: true });
}, 60 * SECOND);

describe('README, for data scientists: publish a model', () => {
  it(
    'trains, publishes to S3 (MinIO), lists, shows, promotes and pulls, digests checked',
    async () => {
      const out = join(work, 'out');
      // `npm run train -- --out out/` (examples/digits' training, ~10 s).
      ok(await sh('npm', ['run', 'train', '--', '--out', out], at(appDir, 90 * SECOND)));
      digest['1.4.0'] = await modelDigestOf(out);
      const commit = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT })).stdout.trim();

      // "The bucket must exist before the first publish" (README: `aws s3 mb ... --endpoint-url`;
      // made here with the SDK, which the scripts install, rather than the aws CLI, which they do not).
      await s3Server.createBucket(bucket);

      const publish = ok(
        await shipml(
          [
            ...['model', 'publish', out, '--name', name, '--version', '1.4.0'],
            ...['--metrics', join(out, 'metrics.json'), '--metadata', `commit=${commit}`],
            ...['--store', store],
          ],
          at(work),
        ),
      );
      expect(publish.stdout).toContain(`published ${name}@1.4.0 to s3://${bucket}/prod`);
      expect(publish.stdout).toMatch(new RegExp(`digest +${digest['1.4.0']}\\n`));
      expect(publish.stdout).toContain('channel latest -> 1.4.0');
      expect(publish.stdout + publish.stderr).not.toContain(s3Server.secretKey);

      // "Versions are immutable: publishing 1.4.0 twice is refused."
      const again = await shipml(
        ['model', 'publish', out, '-n', name, '-v', '1.4.0', '--store', store],
        at(work),
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${name}@1.4.0 in s3://${bucket}/prod already exists`);

      const short = digest['1.4.0'].slice(0, 'sha256:'.length + 12);
      const listed = ok(await shipml(['model', 'list', name, '--store', store], at(work)));
      expect(listed.stdout).toMatch(new RegExp(`^1\\.4\\.0 .* ${short} +latest$`, 'm'));

      const shown = ok(
        await shipml(['model', 'show', `${name}@1.4.0`, '--store', store], at(work)),
      );
      expect(shown.stdout).toMatch(new RegExp(`digest +${digest['1.4.0']}\\n`));
      expect(shown.stdout).toContain(`commit: ${commit}`);
      const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as {
        accuracy: number;
      };
      expect(shown.stdout).toContain(`"accuracy":${metrics.accuracy}`);
      for (const [path, sha] of Object.entries(await fileHashes(out)))
        expect(shown.stdout).toMatch(new RegExp(`${re(path)} .* ${sha}\\n`));

      const promoted = ok(
        await shipml(
          ['model', 'promote', `${name}@1.4.0`, 'production', '--store', store],
          at(work),
        ),
      );
      expect(promoted.stdout).toContain(`${name}:production -> 1.4.0`);
      const relisted = ok(await shipml(['model', 'list', name, '--store', store], at(work)));
      expect(relisted.stdout).toMatch(
        new RegExp(`^1\\.4\\.0 .* ${short} +latest,production$`, 'm'),
      );

      const pulled = join(work, 'pulled');
      const pull = ok(
        await shipml(['model', 'pull', `${name}:production`, pulled, '--store', store], at(work)),
      );
      expect(pull.stdout).toContain(`pulled ${name}@1.4.0 (${short}) to ${pulled}`);
      expect(pull.stdout).toContain('all sha256 verified');
      expect(await fileHashes(pulled)).toEqual(await fileHashes(out));
    },
    150 * SECOND,
  );
});

describe('README, for app developers: build the app with its model', () => {
  it(
    'init writes shipml.yaml and CI files; shipml run serves the published model',
    async () => {
      // `npm ci && npm run build` (npm ci replaced by the hard-linked node_modules).
      ok(await sh('npm', ['run', 'build'], at(appDir, 90 * SECOND)));

      const init = ok(
        await shipml(
          [
            ...['init', '--model', name, '--store', store, '--image', repository],
            ...['--target', 'docker', '--port', String(port)],
          ],
          at(appDir),
        ),
      );
      expect(init.stdout).toContain(`model ${name}, app ${name}`);
      for (const file of ['shipml.yaml', '.github/workflows/shipml.yml', 'azure-pipelines.yml']) {
        expect(init.stdout).toContain(file);
        expect((await stat(join(appDir, file))).isFile()).toBe(true);
      }
      const config = await readFile(join(appDir, 'shipml.yaml'), 'utf8');
      expect(config).toContain(`repository: '${repository}'`);
      expect(config).toContain(s3Server.endpoint);
      expect(config).not.toContain(s3Server.secretKey);

      const shipped = await shipml(['run'], at(appDir, 150 * SECOND));
      ok(shipped);
      expect(shipped.stdout).toMatch(/^run \S+ succeeded in [\d.]+ s/m);
      expect(shipped.stdout).toContain(`image   ${repository}@sha256:`);
      expect(shipped.stdout).toContain(`model ${name}@1.4.0 at http://127.0.0.1:${port}`);

      // "Every run leaves a report in .shipml/runs/<id>.json".
      const id = /^run (\S+) succeeded/m.exec(shipped.stdout)![1]!;
      const report = JSON.parse(
        await readFile(join(appDir, '.shipml', 'runs', `${id}.json`), 'utf8'),
      ) as RunReport;
      expect(report.outcome).toBe('succeeded');
      expect(report.inputs?.model?.digest).toBe(digest['1.4.0']);
      for (const stage of ['test', 'build', 'push', 'deploy', 'verify'])
        expect(report.stages.find((s) => s.name === stage)?.status, stage).toBe('succeeded');

      expect((await version()).model).toMatchObject({ version: '1.4.0', digest: digest['1.4.0'] });

      // `shipml model pull digits:latest ./model`: the store comes from shipml.yaml.
      const pull = ok(await shipml(['model', 'pull', `${name}:latest`, './model'], at(appDir)));
      expect(pull.stdout).toContain(`pulled ${name}@1.4.0`);
      expect(await fileHashes(join(appDir, 'model'))).toEqual(await fileHashes(join(work, 'out')));
      await rm(join(appDir, 'model'), { recursive: true });
    },
    240 * SECOND,
  );
});

describe('README, for operators: release to Docker', () => {
  it(
    'deploys a new build, shows status and history, rolls back, destroys',
    async () => {
      // A second model version (quick training), then README's `shipml build --push`.
      const out2 = join(work, 'out2');
      ok(
        await sh(
          'npm',
          [
            'run',
            'train',
            '--',
            '--out',
            out2,
            '--seed',
            '7',
            '--epochs',
            '1',
            '--train-limit',
            '300',
          ],
          at(appDir, 90 * SECOND),
        ),
      );
      digest['1.5.0'] = await modelDigestOf(out2);
      const publish = ok(
        await shipml(
          [
            ...['model', 'publish', out2, '-n', name, '-v', '1.5.0'],
            ...['--metrics', join(out2, 'metrics.json'), '--store', store],
          ],
          at(work),
        ),
      );
      expect(publish.stdout).toContain('channel latest -> 1.5.0');

      const built = ok(await shipml(['build', '--push'], at(appDir, 120 * SECOND)));
      expect(built.stdout).toMatch(new RegExp(`^image ${re(repository)}@sha256:[0-9a-f]{64}`, 'm'));
      expect(built.stdout).toContain(`model ${name}@1.5.0 (${digest['1.5.0'].slice(0, 19)})`);
      // Only the model layer is new: the code and dependencies are those `shipml run` built.
      expect(built.stdout).toMatch(/^ +model +sha256:\S+ +\S+ \S+ +(recorded|built)$/m);
      expect(built.stdout).toMatch(/^ +app +sha256:\S+ +\S+ \S+ +cached$/m);
      expect(built.stdout).toMatch(/^ +dependencies +sha256:\S+ +\S+ \S+ +cached$/m);

      const deployed = ok(
        await shipml(['deploy', `${repository}:latest`], at(appDir, 120 * SECOND)),
      );
      expect(deployed.stdout).toMatch(
        new RegExp(
          `^deployed revision 2, ${re(repository)}@sha256:\\S+, .*model ${name}@1\\.5\\.0 in`,
          'm',
        ),
      );
      expect(deployed.stderr).toMatch(/rolling out revision 2/);
      expect((await version()).model).toMatchObject({ version: '1.5.0', digest: digest['1.5.0'] });

      const status = ok(await shipml(['status', '--history'], at(appDir)));
      expect(status.stdout).toContain(`${name} on docker: revision 2`);
      expect(status.stdout).toContain(`model     ${name}@1.5.0 (${digest['1.5.0']})`);
      expect(status.stdout).toMatch(/replicas +2\/2 ready/);
      expect(status.stdout).toContain(`url       http://127.0.0.1:${port}`);
      expect(status.stdout).toMatch(new RegExp(`^2\\* .* ${name}@1\\.5\\.0 `, 'm'));
      expect(status.stdout).toMatch(new RegExp(`^1 .* ${name}@1\\.4\\.0 `, 'm'));

      const rolled = ok(await shipml(['rollback'], at(appDir, 120 * SECOND)));
      expect(rolled.stdout).toMatch(
        new RegExp(`^rolled back: revision 3, .*model ${name}@1\\.4\\.0 serves`, 'm'),
      );
      expect((await version()).model).toMatchObject({ version: '1.4.0', digest: digest['1.4.0'] });

      const refused = await shipml(['destroy'], at(appDir));
      expect(refused.code).toBe(2);
      const destroyed = ok(await shipml(['destroy', '--yes'], at(appDir)));
      expect(destroyed.stdout).toContain(`${name} removed from docker`);
      await expect(version()).rejects.toThrow();
      const gone = ok(await shipml(['status'], at(appDir)));
      expect(gone.stdout).toContain(`${name}: not deployed (docker)`);
    },
    300 * SECOND,
  );
});
