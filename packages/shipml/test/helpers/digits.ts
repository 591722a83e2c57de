/**
 * Real releases of the sample app for the deploy tests: examples/digits built by ShipML's own
 * builder with two small models (v1, v2) and pushed to the test registry, plus a release whose
 * /readyz never succeeds (the v2 image with its command replaced by a server that answers
 * everything but readiness).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withConfig } from '../../src/oci/mutate.js';
import { parseLocation, readImage, writeImage } from '../../src/oci/locations.js';
import { releaseOf } from '../../src/deploy/release.js';
import type { Release } from '../../src/deploy/types.js';
import { runCli } from './cli.js';
import { registries, required } from '../services.js';

const run = promisify(execFile);
export const DIGITS = fileURLToPath(new URL('../../../../examples/digits', import.meta.url));

const NEVER_READY = `require('node:http').createServer((q, s) => {
  s.statusCode = q.url === '/readyz' ? 503 : 200;
  s.end(JSON.stringify({ status: q.url === '/readyz' ? 'warming up forever' : 'ok' }));
}).listen(Number(process.env.PORT || 8080), '0.0.0.0');`;

export interface DigitsReleases {
  v1: Release;
  v2: Release;
  neverReady: Release;
}

/** A JSON body for POST /predict: one all-zero 28×28 image. */
export const PREDICT_BODY = JSON.stringify({ input: new Array<number>(784).fill(0) });

/**
 * A shipml.yaml that builds examples/digits (its context) from the local Node base image with
 * the model from `store`, plus `extra` lines.
 */
export function digitsConfig(store: string, extra: readonly string[] = []): string {
  return [
    'model:',
    '  name: digits',
    `  store: ${store}`,
    'build:',
    `  context: ${DIGITS}`,
    `  base: ${required('SHIPML_TEST_BASE_NODE')}`,
    '  include: [package.json, package-lock.json, dist, public]',
    '  cmd: [node, dist/src/main.js]',
    "  env: { HOST: 0.0.0.0, PORT: '8080' }",
    '  user: "1000:1000"',
    ...extra,
    '',
  ].join('\n');
}

export async function buildDigitsReleases(work: string, ns: string): Promise<DigitsReleases> {
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: DIGITS });
  const store = `file://${join(work, 'store')}`;
  const env = { HOME: work, PATH: process.env.PATH };
  for (const version of ['1', '2']) {
    const out = join(work, `model-${version}`);
    await run(
      'npx',
      [
        'tsx',
        'train/main.ts',
        '--out',
        out,
        '--seed',
        version,
        '--epochs',
        '1',
        '--train-limit',
        '300',
      ],
      {
        cwd: DIGITS,
      },
    );
    const published = await runCli(
      ['model', 'publish', out, '-n', 'digits', '-v', version, '--store', store],
      { env },
    );
    if (published.code !== 0) throw new Error(`publish v${version}: ${published.stderr}`);
  }
  const config = join(work, 'config');
  await mkdir(config, { recursive: true });
  const repository = `${registries.plain}/${ns}/digits`;
  await writeFile(
    join(config, 'shipml.yaml'),
    digitsConfig(store, ['image:', `  repository: ${repository}`]),
  );
  const releases: Partial<DigitsReleases> = {};
  for (const version of ['1', '2'] as const) {
    const built = await runCli(
      ['build', '--model', `digits@${version}`, '--push', '--tag', `v${version}`, '--json'],
      { env, cwd: config },
    );
    if (built.code !== 0) throw new Error(`build v${version}: ${built.stderr}`);
    const { reference } = JSON.parse(built.stdout) as { reference: string };
    releases[`v${version}`] = await releaseOf(reference, { env: process.env });
  }
  const options = { env: process.env };
  const v2 = await readImage(parseLocation(releases.v2!.image), options);
  const broken = withConfig(v2, { entrypoint: null, cmd: ['node', '-e', NEVER_READY] });
  const written = await writeImage(broken, parseLocation(`${repository}:never-ready`), [], options);
  releases.neverReady = await releaseOf(written.reference, options);
  return releases as DigitsReleases;
}
