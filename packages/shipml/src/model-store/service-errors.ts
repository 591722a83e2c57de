import {
  AuthenticationError,
  ConflictError,
  ExternalServiceError,
  NotFoundError,
  type ShipmlError,
  isAbortError,
  CancelledError,
  systemCode,
  NETWORK_ERROR_CODES,
} from '../core/errors.js';

/** What a back end knows about a failed call, extracted from its SDK's error shape. */
export interface FailureFacts {
  /** The service's error code (`NoSuchBucket`, `AuthenticationFailed`), if any. */
  serviceCode?: string | undefined;
  status?: number | undefined;
  /** How many attempts the SDK made. */
  attempts?: number | undefined;
}

/** Node/SDK codes that mean the request never got an answer. */
const NETWORK_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  'TimeoutError',
  'RequestTimeout',
  'REQUEST_SEND_ERROR',
]);

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AuthenticationFailed',
  'InvalidAuthenticationInfo',
]);

const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'ServerBusy',
  'OperationTimedOut',
  'InternalError',
  'ServiceUnavailable',
]);

/**
 * Turns an SDK failure into ShipML's error hierarchy, with one line saying which store,
 * which operation and what happened, and never the secret (only where it came from).
 */
export function classifyStoreFailure(
  err: unknown,
  facts: FailureFacts,
  context: { store: string; operation: string; credentialSource: string },
): ShipmlError {
  if (isAbortError(err))
    return new CancelledError(`${context.operation} cancelled`, { cause: err });
  const name = (err as Error | undefined)?.name;
  const code =
    facts.serviceCode ?? systemCode(err) ?? (name && name !== 'Error' ? name : undefined);
  const status = facts.status;
  // Without a code, the SDK's own first line is the best description we have.
  const label = code ?? firstLine((err as Error | undefined)?.message);
  const detail = label
    ? ` (${label}${status ? `, HTTP ${status}` : ''})`
    : status
      ? ` (HTTP ${status})`
      : '';
  const tries = facts.attempts && facts.attempts > 1 ? ` after ${facts.attempts} attempts` : '';
  const where = `${context.store}: ${context.operation}`;

  if (code === 'CredentialsProviderError') {
    return new AuthenticationError(
      `${where} failed: no credentials found (tried ${context.credentialSource})`,
      {
        hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the keys in shipml.yaml',
        cause: err,
      },
    );
  }
  /** The store refused the credentials: `why`, and where they came from. */
  const refused = (why: string, hint: string) =>
    new AuthenticationError(
      `${where} failed: ${why} the credentials from ${context.credentialSource}${detail}`,
      { hint, cause: err, serviceCode: code, status },
    );
  if ((code && AUTH_CODES.has(code)) || status === 401)
    return refused(
      'the store rejected',
      'check the credentials for this store (the secret itself is never printed)',
    );
  if (
    status === 403 ||
    code === 'AccessDenied' ||
    code === 'AuthorizationFailure' ||
    code === 'AuthorizationPermissionMismatch'
  ) {
    return refused(
      'access denied for',
      'the credentials are valid but lack permission for this bucket/container or prefix',
    );
  }
  if (code === 'NoSuchBucket' || code === 'ContainerNotFound') {
    return new NotFoundError(`${where} failed: the bucket/container does not exist${detail}`, {
      hint: 'create it first, or fix the store URL',
      cause: err,
    });
  }
  if (
    status === 412 ||
    code === 'PreconditionFailed' ||
    code === 'ConditionNotMet' ||
    code === 'ConditionalRequestConflict' ||
    code === 'BlobAlreadyExists'
  ) {
    return new ConflictError(`${where} lost a conditional write${detail}`, { cause: err });
  }
  const network = code !== undefined && NETWORK_CODES.has(code);
  const retryable =
    network ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (code !== undefined && THROTTLE_CODES.has(code));
  const what = network ? 'unreachable or timed out' : 'failed';
  return new ExternalServiceError(`${where} ${what}${detail}${tries}`, {
    retryable,
    serviceCode: code,
    status,
    cause: err,
    hint: network ? 'is the store running and the endpoint right?' : undefined,
  });
}

function firstLine(text: string | undefined): string | undefined {
  const line = text?.split('\n')[0]?.trim();
  return line ? line.slice(0, 200) : undefined;
}
