import type { RegistryCredential } from '../credentials.js';

/**
 * The `Authorization` value for HTTP Basic (RFC 7617), or undefined when there is nothing to
 * send (anonymous). Used for registries that challenge with Basic, and to authenticate to a
 * token service.
 */
export function basicAuthorization(cred: RegistryCredential | undefined): string | undefined {
  if (!cred?.username && !cred?.password) return undefined;
  return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
}
