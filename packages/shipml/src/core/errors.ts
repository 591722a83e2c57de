/**
 * The error hierarchy every ShipML module throws. Each error carries a one-line message
 * (what was wrong and where) and an optional hint (what to do about it); the CLI prints
 * exactly those two, and the stack only with --debug.
 */

export interface ShipmlErrorOptions {
  /** One line telling the user what to do next. */
  hint?: string;
  cause?: unknown;
}

export abstract class ShipmlError extends Error {
  /** A stable, machine-readable kind (also the `error.code` in --json output). */
  abstract readonly code: string;
  readonly hint: string | undefined;

  constructor(message: string, options: ShipmlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/**
 * The base of an error kind that only adds its code, so each such kind is one line below.
 * The class it returns is the kind's parent only (its name is the kind's, via new.target).
 */
function coded<C extends string>(
  code: C,
): new (message: string, options?: ShipmlErrorOptions) => ShipmlError & { readonly code: C } {
  return class extends ShipmlError {
    readonly code: C = code;
  };
}

/** Invalid configuration, flags or names: the user must change their input. */
export class ConfigError extends coded('CONFIG') {}

/**
 * A destructive command ran without its confirmation flag (e.g. `destroy` without `--yes`):
 * nothing was wrong with the input, so scripts can tell "not confirmed" from a bad flag.
 */
export class ConfirmationRequiredError extends coded('CONFIRMATION_REQUIRED') {}

/** A model, version, channel, object or file that does not exist. */
export class NotFoundError extends coded('NOT_FOUND') {}

/** Something exists already, or changed underneath us (a lost conditional write). */
export class ConflictError extends coded('CONFLICT') {}

/** Bytes that do not match their recorded size or sha256. */
export class IntegrityError extends coded('INTEGRITY') {}

/** Local storage failed: disk full, no permission, read-only file system. */
export class LocalStorageError extends coded('LOCAL_STORAGE') {}

/** The operation was cancelled (Ctrl-C, AbortSignal). */
export class CancelledError extends coded('CANCELLED') {}

export interface ExternalServiceErrorOptions extends ShipmlErrorOptions {
  /** True when trying again later may succeed (network, timeouts, 5xx, throttling). */
  retryable: boolean;
  /** The service's own error code, e.g. `SlowDown`, `AuthenticationFailed`. */
  serviceCode?: string;
  /** HTTP status, when there was a response. */
  status?: number;
}

/** A store, registry or other service failed or refused. */
export class ExternalServiceError extends ShipmlError {
  readonly code: string = 'EXTERNAL_SERVICE';
  readonly retryable: boolean;
  readonly serviceCode: string | undefined;
  readonly status: number | undefined;

  constructor(message: string, options: ExternalServiceErrorOptions) {
    super(message, options);
    this.retryable = options.retryable;
    this.serviceCode = options.serviceCode;
    this.status = options.status;
  }
}

/** An error the OCI registry answered with (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes). */
export class RegistryError extends ExternalServiceError {
  override readonly code = 'REGISTRY';
  /** The registry's own codes: UNAUTHORIZED, DENIED, BLOB_UNKNOWN, MANIFEST_INVALID, ... */
  readonly registryCodes: string[];

  constructor(
    message: string,
    options: ExternalServiceErrorOptions & { registryCodes?: string[] },
  ) {
    super(message, options);
    this.registryCodes = options.registryCodes ?? [];
  }
}

/** The service rejected our credentials (never retried). */
export class AuthenticationError extends ExternalServiceError {
  override readonly code = 'AUTHENTICATION';

  constructor(
    message: string,
    options: ShipmlErrorOptions & { serviceCode?: string; status?: number } = {},
  ) {
    super(message, { ...options, retryable: false });
  }
}

/** Wrap anything thrown into a ShipmlError, keeping ShipmlErrors as they are. */
export function asShipmlError(err: unknown): ShipmlError {
  if (err instanceof ShipmlError) return err;
  if (isAbortError(err)) return new CancelledError('cancelled', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err });
}

/** A bug or an unexpected condition: not the user's fault. */
export class InternalError extends coded('INTERNAL') {}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR')
  );
}

/** The Node.js system error code (ENOENT, ECONNREFUSED, ...) of an error, if any. */
export function systemCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Node's system error codes that mean a request never got an answer (the service was not reached). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
