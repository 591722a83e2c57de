/**
 * The deploy policy (shipml.yaml `deploy.verify`): before anything changes on the target, the
 * image must carry a valid cosign signature by the configured public key and, unless turned
 * off, a signed SBOM and a signed provenance that names the image's own commit and model
 * (attest/verify.ts). One function for every way in: the deploy stage of `shipml run` and
 * `shipml release` (and so the server's workers) and `shipml deploy`.
 *
 * It checks the pinned digest the target is then given, so what was verified is what runs.
 */
import { dirname, resolve } from 'node:path';
import { loadVerifyingKey } from '../attest/keys.js';
import { verifyImage } from '../attest/verify.js';
import { IntegrityError } from '../core/errors.js';
import type { DeployConfig } from '../deploy/spec.js';
import type { RegistryAccess } from '../oci/locations.js';

/** `deploy.verify` as configured (defaults applied). */
export type DeployVerify = NonNullable<DeployConfig['verify']>;

/**
 * A key setting of shipml.yaml (`sign.key`, `deploy.verify.key`) as a key source: `env://NAME`
 * as is, a path relative to the shipml.yaml's directory (else to `cwd`).
 */
export function keySource(key: string, configFile: string | undefined, cwd: string): string {
  if (key.startsWith('env://')) return key;
  return resolve(configFile ? dirname(configFile) : cwd, key);
}

/**
 * Verifies `image` (pinned by digest) against `verify`; returns the lines saying who signed
 * what and what is attested, or undefined when no policy is configured. Anything wrong is an
 * IntegrityError with one line: the first failure (and how many more there are).
 */
export async function enforceDeployPolicy(
  image: string,
  verify: DeployVerify | undefined,
  use: { configFile: string | undefined; cwd: string; env: NodeJS.ProcessEnv },
  access: RegistryAccess,
): Promise<string[] | undefined> {
  if (!verify) return undefined;
  const key = await loadVerifyingKey(keySource(verify.key, use.configFile, use.cwd), use.env);
  const result = await verifyImage(image, key, access, {
    requireSbom: verify.requireSbom,
    requireProvenance: verify.requireProvenance,
  });
  if (!result.ok) {
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : '';
    throw new IntegrityError(`deploy policy refused ${result.failures[0]!}${more}`, {
      hint: `deploy.verify accepts only images signed by ${key.source} (sign.key in shipml.yaml signs what shipml run pushes); nothing was changed on the target`,
    });
  }
  return [
    ...result.signatures,
    ...result.attestations.map((a) => `attested ${a.kind}, envelope ${a.envelope}`),
  ];
}
