/**
 * Signing keys in cosign's formats, so a key made by `shipml keys generate` works with
 * `cosign sign --key` and one made by `cosign generate-key-pair` works with ShipML:
 *
 * - public key: PEM `PUBLIC KEY` (SubjectPublicKeyInfo), ECDSA P-256 — cosign's `cosign.pub`;
 * - private key: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign ≥ 2; `ENCRYPTED COSIGN PRIVATE
 *   KEY` is read too) whose body is go-securesystemslib's `encrypted` JSON: the PKCS#8 DER key
 *   sealed with NaCl secretbox under a key derived by scrypt from the password
 *   (github.com/secure-systems-lab/go-securesystemslib/encrypted; cosign pkg/cosign/keys.go).
 *
 * Key material and the password are never put into a message, an error or a log line.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scrypt,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

const SIGSTORE_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const COSIGN_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';
/** The parameter sets go-securesystemslib accepts (Legacy, Standard, OWASP); it writes Standard. */
const SCRYPT_ALLOWED = new Set(['32768/8/1', '65536/8/1', '131072/8/1']);
const SCRYPT_WRITE = { N: 65536, r: 8, p: 1 };

const EncryptedSchema = z.object({
  kdf: z.object({
    name: z.literal('scrypt'),
    params: z.object({ N: z.number().int(), r: z.number().int(), p: z.number().int() }),
    salt: z.string(),
  }),
  cipher: z.object({ name: z.literal('nacl/secretbox'), nonce: z.string() }),
  ciphertext: z.string(),
});

/** A loaded private key: what it signs with, and the public half for messages and checks. */
export interface SigningKey {
  /** Never printed: a KeyObject does not serialise its secret in JSON or util.inspect. */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where it came from, for messages: a file path or `env://NAME` (never the key itself). */
  readonly source: string;
}

/** A public key to verify with, and a short stable name for it in "who signed" lines. */
export interface VerifyingKey {
  readonly publicKey: KeyObject;
  readonly source: string;
  /** `SHA256:<hex>` of the SubjectPublicKeyInfo DER (first 16 hex digits shown to people). */
  readonly fingerprint: string;
}

/** A new ECDSA P-256 key pair, the private half encrypted with `password` as cosign does. */
export async function generateKeyPair(
  password: string,
): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const key = await deriveKey(password, salt, SCRYPT_WRITE);
  const sealed = nacl.secretbox(new Uint8Array(der), new Uint8Array(nonce), new Uint8Array(key));
  const body = JSON.stringify({
    kdf: { name: 'scrypt', params: SCRYPT_WRITE, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  });
  return {
    privatePem: pem(SIGSTORE_PEM, Buffer.from(body)),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Loads a private key from a file or, written `env://NAME` as cosign accepts it, from an
 * environment variable holding the PEM. The password is cosign's `COSIGN_PASSWORD`.
 */
export async function loadSigningKey(
  source: string,
  env: NodeJS.ProcessEnv,
  password = env.COSIGN_PASSWORD ?? '',
): Promise<SigningKey> {
  const text = await readKeyText(source, env, 'private');
  const block = parsePem(text, source);
  let privateKey: KeyObject;
  if (block.type === SIGSTORE_PEM || block.type === COSIGN_PEM) {
    privateKey = await decryptKey(block.bytes, password, source);
  } else if (block.type === 'PRIVATE KEY' || block.type === 'EC PRIVATE KEY') {
    privateKey = createPrivateKey(text);
  } else {
    throw new ConfigError(`${source}: not a private key (PEM type "${block.type}")`, {
      hint: 'generate one with `shipml keys generate` or `cosign generate-key-pair`',
    });
  }
  if (privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new ConfigError(`${source}: ShipML signs with ECDSA P-256 keys only (cosign's default)`);
  return { privateKey, publicKey: createPublicKey(privateKey), source };
}

/** Loads a public key (PEM `PUBLIC KEY`) from a file or `env://NAME`. */
export async function loadVerifyingKey(
  source: string,
  env: NodeJS.ProcessEnv,
): Promise<VerifyingKey> {
  const text = await readKeyText(source, env, 'public');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(text);
  } catch {
    throw new ConfigError(`${source}: not a PEM public key`, {
      hint: 'pass the .pub file of the key pair (e.g. cosign.pub)',
    });
  }
  return { publicKey, source, fingerprint: fingerprintOf(publicKey) };
}

/** `SHA256:<hex>` over the SubjectPublicKeyInfo DER: the same for the same key, everywhere. */
export function fingerprintOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('hex')}`;
}

async function readKeyText(
  source: string,
  env: NodeJS.ProcessEnv,
  kind: 'private' | 'public',
): Promise<string> {
  if (source.startsWith('env://')) {
    const name = source.slice('env://'.length);
    const value = env[name];
    if (!value) throw new ConfigError(`${source}: the environment variable ${name} is not set`);
    return value;
  }
  try {
    return await readFile(source, 'utf8');
  } catch (err) {
    throw new ConfigError(`${source}: cannot read the ${kind} key file`, { cause: err });
  }
}

function parsePem(text: string, source: string): { type: string; bytes: Buffer } {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END \1-----/.exec(text);
  if (!match) throw new ConfigError(`${source}: not a PEM key`);
  return { type: match[1]!, bytes: Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64') };
}

async function decryptKey(body: Buffer, password: string, source: string): Promise<KeyObject> {
  let data: z.infer<typeof EncryptedSchema>;
  try {
    data = EncryptedSchema.parse(JSON.parse(body.toString('utf8')));
  } catch {
    throw new ConfigError(`${source}: not an encrypted cosign private key`);
  }
  const { N, r, p } = data.kdf.params;
  if (!SCRYPT_ALLOWED.has(`${N}/${r}/${p}`))
    throw new ConfigError(`${source}: unsupported scrypt parameters`);
  const key = await deriveKey(password, Buffer.from(data.kdf.salt, 'base64'), { N, r, p });
  const opened = nacl.secretbox.open(
    new Uint8Array(Buffer.from(data.ciphertext, 'base64')),
    new Uint8Array(Buffer.from(data.cipher.nonce, 'base64')),
    new Uint8Array(key),
  );
  if (!opened)
    throw new ConfigError(`${source}: wrong password for the private key`, {
      hint: 'set COSIGN_PASSWORD to the password the key was generated with',
    });
  return createPrivateKey({ key: Buffer.from(opened), format: 'der', type: 'pkcs8' });
}

function deriveKey(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is below Standard's 64 MiB.
  const maxmem = 256 * params.N * params.r;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { ...params, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

function pem(type: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
