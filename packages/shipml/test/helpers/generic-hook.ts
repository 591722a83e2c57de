/** A generic-hook delivery sent to a running server, signed the way a sender signs it. */
import { signHmacSha256 } from '../../src/server/triggers/verify.js';

/**
 * POSTs `payload` as JSON to `url`/hooks/`app`/generic with the delivery id and the HMAC of
 * the raw body (X-Shipml-Signature); resolves to the server's answer (at most 10 s).
 */
export function postGenericHook(
  url: string,
  app: string,
  secret: string,
  deliveryId: string,
  payload: unknown,
): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${url}/hooks/${app}/generic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shipml-delivery': deliveryId,
      'x-shipml-signature': signHmacSha256(secret, Buffer.from(body)),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
}
