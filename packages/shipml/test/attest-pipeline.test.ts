import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachAttestations } from '../src/attest/attestations.js';
import { generateKeyPair, loadSigningKey } from '../src/attest/keys.js';
import { provenanceStatement } from '../src/attest/provenance.js';
import { signRelease } from '../src/attest/release.js';
import { resolveTarget } from '../src/attest/target.js';
import type { Manifest } from '../src/model-store/manifest.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { DockerTarget } from '../src/deploy/docker/target.js';
import type { RunReport } from '../src/pipeline/types.js';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { COSIGN_LOCAL, runTool, skipAttestTools, tools } from './helpers/attest-tools.js';
import { registries, required } from './services.js';

/**
 * The sign stage and the deploy policy through `shipml run`, `release` and `deploy`, against
 * the real registry, the Docker Engine and cosign: what `shipml run` signed, cosign verifies;
 * an image that is unsigned, or signed by another key, is refused before the target changes,
 * and the release that was live stays live.
 */
const exec = promisify(execFile);
const ns = `ap${Date.now().toString(36)}`;
const app = `${ns}-app`;
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
let work: string;
let repo: string;
let store: string;
let port: number;

const SERVER = `require('node:http').createServer((q, s) => {
  if (q.url === '/readyz' || q.url === '/healthz') return s.end('ok');
  if (q.url === '/version') return s.end(JSON.stringify({ commit: process.env.APP_COMMIT, model: process.env.MODEL_DIGEST, note: NOTE }));
  s.statusCode = 404; s.end();
}).listen(Number(process.env.PORT || 8080), '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

const git = (...args: string[]) => exec('git', ['-C', repo, ...args]);

/** shipml.yaml with signing (relative key path) unless `sign` is false, and the policy. */
async function configure(options: { sign: boolean; note: string }): Promise<void> {
  await writeFile(
    join(repo, 'server.js'),
    `const NOTE = ${JSON.stringify(options.note)};\n${SERVER}`,
  );
  const lines = [
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
    ...(options.sign ? ['sign:', '  key: keys/signer.key'] : []),
    'deploy:',
    `  app: ${app}`,
    '  replicas: 1',
    '  drainSeconds: 1',
    '  progressDeadlineSeconds: 30',
    '  verify:',
    '    key: keys/signer.pub',
    '  docker:',
    `    port: ${port}`,
    `    proxyImage: ${required('SHIPML_TEST_PROXY_IMAGE')}`,
    '',
  ];
  await writeFile(join(repo, 'shipml.yaml'), lines.join('\n'));
  await git('add', '-A');
  await git('commit', '-q', '-m', options.note);
}

function shipml(args: string[], env: NodeJS.ProcessEnv = { COSIGN_PASSWORD: PASSWORD }) {
  return runCli(args, { cwd: repo, env: { HOME: work, PATH: process.env.PATH, ...env } });
}

async function live(): Promise<string | undefined> {
  const status = await shipml(['status', '--json']);
  return (JSON.parse(status.stdout) as { live?: { image: string } }).live?.image;
}

const cosign = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runTool(tools.cosign, [...args, '--insecure-ignore-tlog=true', ...COSIGN_LOCAL], env);

let first: RunReport;
let neverSigned: string;

beforeAll(async () => {
  if (skipAttestTools) return;
  work = await mkdtemp(join(tmpdir(), 'shipml-attest-pipeline-'));
  repo = join(work, 'repo');
  store = `file://${join(work, 'store')}`;
  port = await freePort();
  await mkdir(join(repo, 'keys'), { recursive: true });
  for (const [name, password] of [
    ['signer', PASSWORD],
    ['other', 'other-password'],
  ] as const) {
    const pair = await generateKeyPair(password);
    await writeFile(join(repo, 'keys', `${name}.key`), pair.privatePem, { mode: 0o600 });
    await writeFile(join(repo, 'keys', `${name}.pub`), pair.publicPem);
  }
  await exec('git', ['init', '-q', repo]);
  await git('config', 'user.email', 'ci@example.com');
  await git('config', 'user.name', 'CI');
  await writeFile(join(repo, 'package.json'), '{"name":"tiny","version":"1.0.0"}');
  await writeFile(
    join(repo, 'package-lock.json'),
    '{"name":"tiny","lockfileVersion":3,"packages":{"":{"name":"tiny"}}}',
  );
  await writeFile(join(repo, '.gitignore'), '.shipml/\nkeys/*.key\n');
  const model = join(work, 'model');
  await mkdir(model);
  await writeFile(join(model, 'weights.bin'), 'weights 1');
  const published = await runCli(
    ['model', 'publish', model, '-n', 'tiny', '-v', '1', '--store', store],
    {
      env: { HOME: work },
    },
  );
  expect(published.code, published.stderr).toBe(0);
  await configure({ sign: true, note: 'signed' });
}, 60_000);

afterAll(async () => {
  if (skipAttestTools) return;
  await new DockerTarget({ port }).destroy(app);
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(skipAttestTools)(
  'shipml run signs what it pushes; deploy.verify guards the target',
  () => {
    it('signs after push, records the attachments, verifies before deploying, and goes live', async () => {
      const out = await shipml(['run', '--json']);
      expect(out.code, out.stderr).toBe(0);
      first = JSON.parse(out.stdout) as RunReport;
      const names = first.stages.map((s) => s.name);
      expect(names.indexOf('sign')).toBe(names.indexOf('push') + 1);
      const sign = first.stages.find((s) => s.name === 'sign')!;
      expect(sign.status).toBe('succeeded');
      expect(sign.detail).toMatch(
        /^signed \S+@sha256:[a-f0-9]{64} with key SHA256:[0-9a-f]{16} \(keys\/signer\.key\); attached sbom sha256:[a-f0-9]{64}, provenance sha256:[a-f0-9]{64}$/,
      );
      expect(first.signed?.key).toMatch(/^SHA256:[a-f0-9]{64}$/);
      expect(first.signed?.signature).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(first.signed?.attachments.map((a) => a.kind)).toEqual(['sbom', 'provenance']);
      expect(first.stages.find((s) => s.name === 'deploy')?.detail).toContain(
        'signature and attestations verified',
      );
      expect(await live()).toBe(first.image!.reference);
      // The password never reaches the output or the report on disk.
      const saved = await readFile(join(repo, '.shipml', 'runs', `${first.id}.json`), 'utf8');
      expect(out.stdout + out.stderr + saved).not.toContain(PASSWORD);
      expect((JSON.parse(saved) as RunReport).signed).toEqual(first.signed);
    }, 240_000);

    it('cosign verifies the signature and both attestations shipml run attached', async () => {
      const reference = first.image!.reference;
      const pub = join(repo, 'keys', 'signer.pub');
      const verified = await cosign(['verify', '--key', pub, reference]);
      expect(verified.code, verified.stderr).toBe(0);
      const [claim] = JSON.parse(verified.stdout) as Array<{
        critical: { image: { 'docker-manifest-digest': string } };
      }>;
      expect(claim!.critical.image['docker-manifest-digest']).toBe(first.image!.digest);

      const provenance = await cosign([
        'verify-attestation',
        '--key',
        pub,
        '--type',
        'slsaprovenance1',
        reference,
      ]);
      expect(provenance.code, provenance.stderr).toBe(0);
      const statement = statementOf(provenance.stdout) as {
        predicate: { buildDefinition: { externalParameters: { revision: string } } };
      };
      expect(statement.predicate.buildDefinition.externalParameters.revision).toBe(
        first.inputs!.commit,
      );

      const sbom = await cosign([
        'verify-attestation',
        '--key',
        pub,
        '--type',
        'cyclonedx',
        reference,
      ]);
      expect(sbom.code, sbom.stderr).toBe(0);
      const bom = statementOf(sbom.stdout) as {
        predicate: {
          components: Array<{
            type: string;
            name: string;
            version?: string;
            hashes?: Array<{ content: string }>;
          }>;
        };
      };
      const model = bom.predicate.components.find((c) => c.type === 'machine-learning-model');
      expect(model?.hashes?.[0]?.content).toBe(first.inputs!.model!.digest.slice(7));
      // The base image by digest: the builder's org.opencontainers.image.base.digest annotation.
      const base = bom.predicate.components.find((c) => c.type === 'container');
      expect(base?.name).toBe(required('SHIPML_TEST_BASE_NODE'));
      expect(base?.version).toMatch(/^sha256:[a-f0-9]{64}$/);

      const wrong = await cosign(['verify', '--key', join(repo, 'keys', 'other.pub'), reference]);
      expect(wrong.code).not.toBe(0);
    }, 120_000);

    it('a reused image already signed by the key is not signed again (sign skipped, saying so)', async () => {
      const out = await shipml(['run', '--json']);
      expect(out.code, out.stderr).toBe(0);
      const r = JSON.parse(out.stdout) as RunReport;
      expect(r.reusedFrom).toBe(first.id);
      const sign = r.stages.find((s) => s.name === 'sign')!;
      expect(sign.status).toBe('skipped');
      expect(sign.detail).toMatch(
        new RegExp(
          `^the reused image is already signed by key SHA256:[0-9a-f]{16} \\(keys/signer\\.key\\), with its SBOM and provenance \\(run ${first.id}\\)$`,
        ),
      );
      expect(r.signed).toEqual({ ...first.signed, reusedFrom: first.id });
    }, 120_000);

    it('shipml deploy refuses an unsigned image with one line; the signed release stays live', async () => {
      await configure({ sign: false, note: 'unsigned' });
      const built = await shipml(['build', '--push', '--tag', 'unsigned', '--json']);
      expect(built.code, built.stderr).toBe(0);
      const { reference } = JSON.parse(built.stdout) as { reference: string };
      const out = await shipml(['deploy', reference]);
      expect(out.code).toBe(1);
      expect(out.stderr.split('\n')[0]).toMatch(
        /^error: deploy policy refused \S+@sha256:[a-f0-9]{64}: not signed \(no cosign signature found\)( \(and \d+ more\))?$/,
      );
      expect(await live()).toBe(first.image!.reference);
    }, 180_000);

    it('shipml release refuses an image cosign signed with another key; the signed release stays live', async () => {
      const reference = `${registries.plain}/${ns}/app:unsigned`;
      const signed = await runTool(
        tools.cosign,
        [
          'sign',
          '--key',
          join(repo, 'keys', 'other.key'),
          '--tlog-upload=false',
          ...COSIGN_LOCAL,
          '--yes',
          reference,
        ],
        { COSIGN_PASSWORD: 'other-password' },
      );
      expect(signed.code, signed.stderr).toBe(0);
      const out = await shipml(['release', reference, '--json']);
      expect(out.code, out.stderr).toBe(1);
      // With --json a failed run prints its error and, beside it, its report.
      const r = (JSON.parse(out.stdout) as { report: RunReport }).report;
      expect(r.failure?.stage).toBe('deploy');
      expect(r.failure?.message).toMatch(
        /^deploy policy refused \S+@sha256:[a-f0-9]{64}: no valid signature: /,
      );
      expect(r.live?.image).toBe(first.image!.reference);
      expect(await live()).toBe(first.image!.reference);
    }, 120_000);

    it('shipml run without sign.key skips sign, and the policy stops its deploy stage', async () => {
      await configure({ sign: false, note: 'never signed' });
      const out = await shipml(['run', '--json'], {});
      expect(out.code, out.stderr).toBe(1);
      // With --json a failed run prints its error and, beside it, its report.
      const r = (JSON.parse(out.stdout) as { report: RunReport }).report;
      expect(r.stages.find((s) => s.name === 'sign')).toMatchObject({
        status: 'skipped',
        detail: 'no sign.key in shipml.yaml: the image is not signed',
      });
      expect(r.signed).toBeUndefined();
      expect(r.failure?.stage).toBe('deploy');
      expect(r.failure?.message).toMatch(
        /: not signed \(no cosign signature found\)( \(and \d+ more\))?$/,
      );
      expect(await live()).toBe(first.image!.reference);
      const served = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as {
        note: string;
      };
      expect(served.note).toBe('signed');
      neverSigned = r.image!.reference;
    }, 180_000);

    it('a validly signed provenance naming another commit than the image is refused; the signed release stays live', async () => {
      const key = await loadSigningKey(join(repo, 'keys', 'signer.key'), {
        COSIGN_PASSWORD: PASSWORD,
      });
      const access = { env: {} as NodeJS.ProcessEnv };
      const model = JSON.parse(
        await readFile(join(work, 'store', 'tiny', '1', 'manifest.json'), 'utf8'),
      ) as Manifest;
      // A complete, valid signing first (it alone would pass), then a foreign provenance.
      await signRelease({
        reference: neverSigned,
        access,
        key,
        shipmlVersion: '0.0.0-test',
        model: { ...model, channel: 'latest' },
      });
      const target = await resolveTarget(parseReference(neverSigned), access);
      const statement = provenanceStatement({
        image: { name: target.repositoryName, digest: target.ref.digest },
        revision: 'f'.repeat(40),
        shipmlVersion: '0.0.0-test',
      });
      await attachAttestations(target, key, [{ kind: 'provenance', statement }]);
      const out = await shipml(['deploy', neverSigned]);
      expect(out.code).toBe(1);
      expect(out.stderr.split('\n')[0]).toMatch(
        /^error: deploy policy refused \S+@sha256:[a-f0-9]{64}: provenance names commit f{40}, the image's label says [0-9a-f]{40}/,
      );
      expect(await live()).toBe(first.image!.reference);
    }, 120_000);
  },
);

/** The in-toto statement of the first envelope cosign printed. */
function statementOf(stdout: string): unknown {
  const envelope = JSON.parse(stdout.trim().split('\n')[0]!) as { payload: string };
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
}
