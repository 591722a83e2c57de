import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { azurite, s3Server, uniquePrefix } from './services.js';

/**
 * Secrets never reach stdout or stderr, in any mode (human, --json, --debug), whether the
 * command fails or succeeds, and whatever the SDKs print. Each case plants a unique secret,
 * runs the real binary against a real store, and searches every byte it printed.
 */
let work: string;
let bucket: string;
let container: string;
let model: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-secrets-'));
  bucket = await s3Server.createBucket();
  container = await azurite.createContainer();
  model = join(work, 'model.bin');
  await writeFile(model, Buffer.alloc(4096, 9));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const plant = (label: string) => `${label}${randomBytes(18).toString('base64url')}`;
const base64Key = () => randomBytes(64).toString('base64');

/** Runs the commands every case uses and returns everything printed. */
async function runAll(
  commands: Array<string[] | (() => string[])>,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<{ output: string; codes: number[] }> {
  let output = '';
  const codes: number[] = [];
  for (const command of commands) {
    for (const mode of [[], ['--json'], ['--debug'], ['--json', '--debug']]) {
      const args = typeof command === 'function' ? command() : command;
      const run = spawnCli(
        [...args, ...mode],
        { HOME: work, SHIPML_CACHE_DIR: join(work, 'cache'), ...env },
        cwd,
      );
      const result = await run.done;
      output += result.stdout + result.stderr;
      codes.push(result.code);
    }
  }
  return { output, codes };
}

const publishArgs = (store: string[], version = uniquePrefix()) => [
  'model',
  'publish',
  model,
  '--name',
  'digits',
  '--version',
  version,
  ...store,
];

describe('secrets stay out of all output', () => {
  it('S3: a rejected secret key from the environment', async () => {
    const secret = plant('S3SECRET');
    const store = ['--store', `s3://${bucket}/${uniquePrefix()}?endpoint=${s3Server.endpoint}`];
    const { output, codes } = await runAll(
      [['model', 'list', 'digits', ...store], publishArgs(store)],
      {
        AWS_ACCESS_KEY_ID: s3Server.accessKey,
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_REGION: 'us-east-1',
      },
    );
    expect(codes.every((c) => c === 1)).toBe(true);
    expect(output).toContain('rejected the credentials from environment (AWS_ACCESS_KEY_ID');
    expect(output).not.toContain(secret);
  });

  it('S3: keys in shipml.yaml, literal and interpolated, on success and on failure', async () => {
    const secret = plant('S3YAML');
    const project = await mkdtemp(join(work, 'project-'));
    await writeFile(
      join(project, 'shipml.yaml'),
      `model:\n  store:\n    url: s3://${bucket}/${uniquePrefix()}\n    endpoint: ${s3Server.endpoint}\n    accessKeyId: ${s3Server.accessKey}\n    secretAccessKey: \${PLANTED_SECRET}\n`,
    );
    const good = await runAll(
      [() => publishArgs([]), ['model', 'list', 'digits']],
      { PLANTED_SECRET: s3Server.secretKey },
      project,
    );

    expect(good.codes.every((c) => c === 0)).toBe(true);
    expect(good.output).not.toContain(s3Server.secretKey);

    const bad = await runAll([['model', 'list', 'digits']], { PLANTED_SECRET: secret }, project);
    expect(bad.codes.every((c) => c === 1)).toBe(true);
    expect(bad.output).toContain('the store configuration (access key id …');
    expect(bad.output).not.toContain(secret);
  });

  it('Azure: a connection string with a wrong account key, from env and from shipml.yaml', async () => {
    const key = base64Key();
    const url = `azblob://${azurite.account}/${container}/${uniquePrefix()}`;
    const fromEnv = await runAll(
      [['model', 'list', 'digits', '--store', url], publishArgs(['--store', url])],
      { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString(key) },
    );
    expect(fromEnv.codes.every((c) => c === 1)).toBe(true);
    expect(fromEnv.output).toContain('environment (AZURE_STORAGE_CONNECTION_STRING)');
    expect(fromEnv.output).not.toContain(key);

    const project = await mkdtemp(join(work, 'project-'));
    await writeFile(
      join(project, 'shipml.yaml'),
      `model:\n  store:\n    url: ${url}\n    connectionString: "${azurite.connectionString(key)}"\n`,
    );
    const fromYaml = await runAll([['model', 'list', 'digits']], {}, project);
    expect(fromYaml.codes.every((c) => c === 1)).toBe(true);
    expect(fromYaml.output).toContain('the connection string in the store configuration');
    expect(fromYaml.output).not.toContain(key);
  });

  it('Azure: a SAS token the store rejects', async () => {
    const sig = plant('SASSIG');
    const token = `sv=2024-08-04&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=${sig}`;
    const url = `azblob://${azurite.account}/${container}/${uniquePrefix()}?endpoint=${azurite.endpoint}`;
    const { output, codes } = await runAll(
      [['model', 'list', 'digits', '--store', url], publishArgs(['--store', url])],
      { AZURE_STORAGE_SAS_TOKEN: token },
    );
    expect(codes.every((c) => c === 1)).toBe(true);
    expect(output).toContain('environment (AZURE_STORAGE_SAS_TOKEN)');
    expect(output).not.toContain(sig);
  });

  it('a password in a store URL is refused without being echoed', async () => {
    const password = plant('URLPASS');
    const { output, codes } = await runAll(
      [['model', 'list', 'digits', '--store', `s3://user:${password}@${bucket}/x`]],
      {},
    );
    expect(codes.every((c) => c === 2)).toBe(true);
    expect(output).toContain('store URLs must not carry credentials');
    expect(output).not.toContain(password);
  });
});
