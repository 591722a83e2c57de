import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { OciImage } from '../../src/oci/image.js';
import { RegistryClient } from '../../src/oci/remote/client.js';
import { parseReference } from '../../src/oci/remote/reference.js';
import { pushImage } from '../../src/oci/remote/write.js';
import type { Manifest } from '../../src/model-store/manifest.js';
import type { SigningKey } from '../../src/attest/keys.js';
import { signRelease, type SignReleaseInput } from '../../src/attest/release.js';
import { runCli } from './cli.js';

const run = promisify(execFile);

/** A real image built by `shipml build --push`: npm deps (with lock integrity), app, model. */
export interface BuiltApp {
  /** `registry/repo@sha256:…` */
  reference: string;
  digest: string;
  commit: string;
  model: Manifest;
  env: NodeJS.ProcessEnv;
}

const LEFT_PAD = { name: 'left-pad', version: '1.3.0', license: 'WTFPL' };
const SCOPED = { name: '@acme/util', version: '2.0.1', license: 'MIT OR Apache-2.0' };
const integrity = (s: string) => `sha512-${Buffer.from(s.padEnd(64, 'x')).toString('base64')}`;

/** Builds and pushes `registry/ns/app` from a tiny Node app; `tag` distinguishes images. */
export async function buildApp(
  work: string,
  registry: string,
  ns: string,
  tag: string,
  weights = 'w1',
): Promise<BuiltApp> {
  const dir = join(work, `app-${tag}`);
  const store = join(work, 'store');
  const env = {
    HOME: work,
    SHIPML_CACHE_DIR: join(work, 'cache'),
    GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z',
  };
  const base = `${registry}/${ns}/base:1`;
  await pushImage(
    new RegistryClient(registry, { env: {} }),
    parseReference(base),
    OciImage.empty(),
  );
  const modelDir = join(work, `model-${tag}`);
  await mkdir(modelDir, { recursive: true });
  await writeFile(join(modelDir, 'weights.bin'), weights);
  await writeFile(join(modelDir, 'labels.txt'), 'zero\none\n');
  await writeFile(
    join(work, `metrics-${tag}.json`),
    JSON.stringify({ accuracy: 0.97, loss: 0.08 }),
  );
  const published = await runCli(
    [
      'model',
      'publish',
      modelDir,
      '-n',
      'm',
      '-v',
      tag,
      '--store',
      `file://${store}`,
      '--metrics',
      join(work, `metrics-${tag}.json`),
    ],
    { env },
  );
  expect(published.code, published.stderr).toBe(0);
  for (const p of [LEFT_PAD, SCOPED]) {
    const pkgDir = join(dir, 'node_modules', ...p.name.split('/'));
    await mkdir(pkgDir, { recursive: true });
    await writeFile(join(pkgDir, 'package.json'), JSON.stringify(p));
    await writeFile(join(pkgDir, 'index.js'), 'module.exports = 1;\n');
  }
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'dist', 'server.js'), `console.log(${JSON.stringify(tag)})\n`);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.2.3' }));
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.2.3' } };
  for (const p of [LEFT_PAD, SCOPED])
    packages[`node_modules/${p.name}`] = {
      version: p.version,
      resolved: `https://registry.npmjs.org/${p.name}/-/x-${p.version}.tgz`,
      integrity: integrity(p.name),
      license: p.license,
    };
  await writeFile(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'app', version: '1.2.3', lockfileVersion: 3, requires: true, packages }),
  );
  await writeFile(join(dir, '.gitignore'), 'node_modules\n');
  await writeFile(
    join(dir, 'shipml.yaml'),
    `model:\n  name: m\n  store: file://${store}\nbuild:\n  base: ${base}\n  cmd: [node, dist/server.js]\nimage:\n  repository: ${registry}/${ns}/app\n  tags: ["v${tag}"]\n`,
  );
  const git = (...args: string[]) =>
    run('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await run('git', ['init', '-q', dir]);
  await git('add', '-A');
  await git('commit', '-qm', tag);
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const built = await runCli(['build', '--push', '--json', '--model', `m@${tag}`], {
    env,
    cwd: dir,
  });
  expect(built.code, built.stderr).toBe(0);
  const { digest } = JSON.parse(built.stdout) as { digest: string };
  const model = JSON.parse(
    await readFile(join(store, 'm', tag, 'manifest.json'), 'utf8'),
  ) as Manifest;
  return { reference: `${registry}/${ns}/app@${digest}`, digest, commit, model, env };
}

/** The expected npm packages (for assertions). */
export const APP_PACKAGES = [LEFT_PAD, SCOPED];
export { integrity as fakeIntegrity };

/** Signs and attests `app` as the sign stage will (signRelease), with fixed build facts. */
export async function signWithShipml(
  app: BuiltApp,
  signingKey: SigningKey,
  base?: string,
): Promise<void> {
  const input: SignReleaseInput = {
    reference: app.reference,
    access: { env: {} },
    key: signingKey,
    shipmlVersion: '0.0.0-test',
    build: { tree: 'f'.repeat(40), config: { path: 'shipml.yaml', sha256: 'a'.repeat(64) } },
    base: base ? { reference: base, digest: `sha256:${'b'.repeat(64)}` } : undefined,
    model: {
      name: app.model.name,
      version: app.model.version,
      digest: app.model.digest,
      channel: 'latest',
      files: app.model.files,
      metrics: app.model.metrics,
      gate: { passed: true, checks: ['accuracy 0.97 >= 0.9: ok'] },
    },
  };
  await signRelease(input);
}
