/**
 * A Docker Engine's failures as ShipML's one-line errors: the engine's own answer (dockerode
 * errors carry its HTTP status and JSON message), or why no answer came — unreachable, a
 * failed TLS handshake, a failed SSH login.
 */
import { ExternalServiceError, isAbortError, systemCode } from '../../core/errors.js';

/** The engine's HTTP status and message from a dockerode error, when it answered. */
export function engineAnswer(err: unknown): { status: number; message: string } | undefined {
  const e = err as { statusCode?: number; json?: { message?: string }; reason?: string } | null;
  if (typeof e?.statusCode !== 'number') return undefined;
  // docker-modem gives the parsed JSON body, or the raw body (string or Buffer) when it is not
  // JSON — e.g. Go's "Client sent an HTTP request to an HTTPS server."
  const json = e.json as unknown;
  const raw = Buffer.isBuffer(json) ? json.toString('utf8') : json;
  const message =
    (typeof raw === 'object' && raw !== null ? e.json?.message : undefined) ??
    (typeof raw === 'string' && raw.trim() ? raw.trim().split('\n')[0] : undefined) ??
    // Streamed calls (image load, export) keep the engine's message only in docker-modem's
    // own text: "(HTTP code 404) unexpected - reference does not exist ".
    (err instanceof Error ? err.message.replace(/^\(HTTP code \d+\) [^-]*- /, '') : undefined) ??
    String(err);
  return { status: e.statusCode, message: message.trim() };
}

/** A hint for an answer that means the address is right but TLS is not switched on. */
export function answerHint(message: string): string | undefined {
  if (/HTTP request to an HTTPS server/i.test(message))
    return 'the engine speaks TLS there: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)';
  return undefined;
}

// Node's certificate verification codes (tls.TLSSocket#authorizationError) and OpenSSL's.
const CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'EPROTO',
]);

const TLS_HINT =
  'DOCKER_CERT_PATH must hold ca.pem (the CA that signed the engine certificate) and cert.pem + key.pem (a client certificate the engine trusts)';

function isTlsFailure(code: string): boolean {
  return CERT_CODES.has(code) || /^ERR_(SSL|TLS|OSSL)_/.test(code);
}

/** OpenSSL's reason ("wrong version number") or Node's short message, never more than a line. */
function tlsReason(err: Error, code: string): string {
  const openssl = /routines:[^:]*:([^:\n]+)/.exec(err.message)?.[1]?.trim();
  if (openssl) return `${code}: ${openssl}`;
  const line = err.message.split('\n')[0]?.trim() ?? '';
  return line && line.length <= 120 && !line.includes(code) ? `${code}: ${line}` : code;
}

function unreachableHint(where: string): string {
  if (where.startsWith('tcp://'))
    return 'is an engine listening there? DOCKER_HOST selects the engine (unix://, tcp://, ssh://); DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS';
  if (where.startsWith('ssh://'))
    return 'is sshd reachable there? ShipML logs in with the SSH agent (SSH_AUTH_SOCK)';
  return 'is dockerd running, and may this user use its socket? (DOCKER_HOST=unix://... selects another)';
}

/**
 * The error for a call that got no answer from the engine at `where`, or undefined when `err`
 * is something else (an answer, a cancellation, a bug), which the caller handles.
 * Messages carry codes and OpenSSL's reasons only: never certificate or key contents.
 */
export function engineFailure(where: string, err: unknown): ExternalServiceError | undefined {
  if (!(err instanceof Error) || engineAnswer(err) || isAbortError(err)) return undefined;
  const code = systemCode(err);
  if (code && isTlsFailure(code)) {
    const plain = /wrong version number|packet length too long/i.test(err.message);
    return new ExternalServiceError(
      `Docker Engine at ${where}: the TLS handshake failed (${tlsReason(err, code)})`,
      {
        retryable: false,
        cause: err,
        hint: plain
          ? 'the engine does not speak TLS there: unset DOCKER_TLS_VERIFY and DOCKER_TLS, or use its TLS port'
          : TLS_HINT,
      },
    );
  }
  if (code)
    return new ExternalServiceError(`Docker Engine at ${where} is unreachable (${code})`, {
      retryable: true,
      cause: err,
      hint: where.includes('(TLS') && code === 'ECONNRESET' ? TLS_HINT : unreachableHint(where),
    });
  // Over ssh://, anything else is ssh2's: a failed login (level client-authentication), a
  // timeout, a protocol error, or `docker system dial-stdio` failing on the remote side.
  if (!where.startsWith('ssh://')) return undefined;
  const level = (err as { level?: unknown }).level;
  const kind = typeof level === 'string' ? `${level}: ` : '';
  return new ExternalServiceError(
    `Docker Engine at ${where}: SSH failed (${kind}${err.message.split('\n')[0]})`,
    {
      retryable: level === 'client-timeout',
      cause: err,
      hint: 'ShipML logs in with the SSH agent (SSH_AUTH_SOCK); the remote user must be allowed to run docker',
    },
  );
}
