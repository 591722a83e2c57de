import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { registries, required } from './services.js';

/**
 * Images ShipML builds run for real: loaded into the Docker Engine, and pulled by Docker and
 * by podman from the registry (OCI manifest, uncompressed model layer). The app inside reports the model it
 * was built with, read from the environment and the files at MODEL_PATH.
 */
const run = promisify(execFile);
const ns = `r${Date.now().toString(36)}`;
let work: string;
let app: string;
let modelDigest: string;
const localTag = `shipml-test/${ns}:1`;

const SERVER = `
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.env.MODEL_PATH;
const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
console.log(JSON.stringify({ node: process.version, uid: process.getuid(), model: process.env.MODEL_NAME + '@' + process.env.MODEL_VERSION, digest: process.env.MODEL_DIGEST, bytes }));
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-run-'));
  const store = `file://${join(work, 'store')}`;
  const model = join(work, 'model');
  await mkdir(model);
  await writeFile(join(model, 'weights.bin'), Buffer.alloc(5 * 1024 * 1024 + 1, 7));
  const published = await runCli(
    ['model', 'publish', model, '-n', 'digits', '-v', '7', '--store', store, '--json'],
    { env: { HOME: work } },
  );
  modelDigest = (JSON.parse(published.stdout) as { manifest: { digest: string } }).manifest.digest;
  app = join(work, 'app');
  await mkdir(join(app, 'dist'), { recursive: true });
  await writeFile(join(app, 'dist', 'server.js'), SERVER);
  await writeFile(join(app, 'package.json'), '{"name":"run-test","version":"0.0.1"}');
  await writeFile(
    join(app, 'package-lock.json'),
    '{"name":"run-test","lockfileVersion":3,"packages":{"":{"name":"run-test"}}}',
  );
  await writeFile(
    join(app, 'shipml.yaml'),
    `model:\n  name: digits\n  store: ${store}\nbuild:\n  base: ${required('SHIPML_TEST_BASE_NODE')}\n  cmd: [node, dist/server.js]\n  user: "1000:1000"\nimage:\n  repository: ${registries.plain}/${ns}/app\n`,
  );
});
afterAll(async () => {
  await run('docker', ['rmi', '-f', localTag, `${registries.plain}/${ns}/app:latest`]).catch(
    () => undefined,
  );
  await rm(work, { recursive: true, force: true });
});

describe('built images run', () => {
  const expectReport = (stdout: string) => {
    const report = JSON.parse(stdout.trim()) as {
      node: string;
      uid: number;
      model: string;
      digest: string;
      bytes: number;
    };
    expect(report).toEqual({
      node: expect.stringMatching(/^v24\./) as string,
      uid: 1000,
      model: 'digits@7',
      digest: modelDigest,
      bytes: 5 * 1024 * 1024 + 1,
    });
  };

  it('in the Docker Engine, loaded directly (--output docker)', async () => {
    const built = await runCli(['build', '--output', 'docker', '--tag', localTag, '--json'], {
      env: { HOME: work },
      cwd: app,
    });
    expect(built.code, built.stderr).toBe(0);
    const { stdout } = await run('docker', ['run', '--rm', localTag]);
    expectReport(stdout);
  });

  it('in podman, pulled from the registry', async () => {
    const ref = `${registries.plain}/${ns}/app:latest`;
    const built = await runCli(['build', '--push', '--json'], { env: { HOME: work }, cwd: app });
    expect(built.code, built.stderr).toBe(0);
    await run('podman', ['pull', '-q', '--tls-verify=false', ref]);
    try {
      const { stdout } = await run('podman', ['run', '--rm', ref]);
      expectReport(stdout);
    } finally {
      await run('podman', ['rmi', '-f', ref]).catch(() => undefined);
    }
  });

  it('in the Docker Engine, pulled from the registry', async () => {
    const built = await runCli(['build', '--push', '--json'], { env: { HOME: work }, cwd: app });
    expect(built.code, built.stderr).toBe(0);
    const ref = `${registries.plain}/${ns}/app:latest`;
    await run('docker', ['pull', '-q', ref]);
    const { stdout } = await run('docker', ['run', '--rm', ref]);
    expectReport(stdout);
  });
});
