import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, loadSigningKey, loadVerifyingKey } from '../src/attest/keys.js';
import { runAttestCli } from './helpers/attest-cli.js';
import { runTool, skipAttestTools, tools } from './helpers/attest-tools.js';

/**
 * Keys in cosign's formats, both directions: a ShipML key pair is read by cosign, a cosign key
 * pair by ShipML (same public key from the private one), and the password never shows.
 */
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-secret`;
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-keys-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(skipAttestTools)('signing keys (cosign formats)', () => {
  it('shipml keys generate writes an encrypted key cosign can use, and a public key cosign derives', async () => {
    const made = await runAttestCli(
      ['keys', 'generate', '--out', 'shipml'],
      { COSIGN_PASSWORD: PASSWORD },
      work,
    );
    expect(made.code, made.stderr).toBe(0);
    const key = await readFile(join(work, 'shipml.key'), 'utf8');
    expect(key).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
    expect((await stat(join(work, 'shipml.key'))).mode & 0o777).toBe(0o600);
    expect(made.stdout + made.stderr).not.toContain(PASSWORD);
    // cosign decrypts it (scrypt + secretbox) and prints the public key it holds.
    const pub = await runTool(tools.cosign, ['public-key', '--key', join(work, 'shipml.key')], {
      COSIGN_PASSWORD: PASSWORD,
    });
    expect(pub.code, pub.stderr).toBe(0);
    const ours = await loadVerifyingKey(join(work, 'shipml.pub'), {});
    expect(
      fingerprintOf((await loadVerifyingKey('env://PUB', { PUB: pub.stdout })).publicKey),
    ).toBe(ours.fingerprint);
  });

  it('refuses to overwrite a key, and needs COSIGN_PASSWORD set', async () => {
    const again = await runAttestCli(
      ['keys', 'generate', '--out', 'shipml'],
      { COSIGN_PASSWORD: PASSWORD },
      work,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/shipml\.key exists: not overwriting a key/);
    const none = await runAttestCli(['keys', 'generate', '--out', 'other'], {}, work);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/COSIGN_PASSWORD is not set/);
  });

  it('loads a key cosign generated, from a file and from env://', async () => {
    const gen = await runTool(
      tools.cosign,
      ['generate-key-pair', '--output-key-prefix', join(work, 'cosign')],
      {
        COSIGN_PASSWORD: PASSWORD,
      },
    );
    expect(gen.code, gen.stderr).toBe(0);
    const fromFile = await loadSigningKey(join(work, 'cosign.key'), { COSIGN_PASSWORD: PASSWORD });
    const pem = await readFile(join(work, 'cosign.key'), 'utf8');
    const fromEnv = await loadSigningKey('env://SIGNING_KEY', {
      SIGNING_KEY: pem,
      COSIGN_PASSWORD: PASSWORD,
    });
    const pub = await loadVerifyingKey(join(work, 'cosign.pub'), {});
    expect(fingerprintOf(fromFile.publicKey)).toBe(pub.fingerprint);
    expect(fingerprintOf(fromEnv.publicKey)).toBe(pub.fingerprint);
    expect(fromEnv.source).toBe('env://SIGNING_KEY');
  });

  it('a wrong password is one line that names the source, never the password or the key', async () => {
    const pem = await readFile(join(work, 'cosign.key'), 'utf8');
    const err = await loadSigningKey('env://SIGNING_KEY', {
      SIGNING_KEY: pem,
      COSIGN_PASSWORD: 'nope-wrong',
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toBe('env://SIGNING_KEY: wrong password for the private key');
    expect(message).not.toContain('nope-wrong');
    expect(JSON.stringify(err)).not.toContain(pem.slice(40, 80));
  });
});
