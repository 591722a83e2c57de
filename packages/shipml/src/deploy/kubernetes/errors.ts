/**
 * Turns what @kubernetes/client-node throws into ShipML's error hierarchy: one line saying
 * which cluster, which operation and what happened, and a hint. Messages are built from the
 * API server's Status (https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind)
 * and the server URL only, never from the kubeconfig's user entry, so a bearer token or a
 * client key cannot end up in one.
 */
import {
  AuthenticationError,
  ConfigError,
  ConflictError,
  ExternalServiceError,
  NotFoundError,
  ShipmlError,
  isAbortError,
  systemCode,
  NETWORK_ERROR_CODES,
} from '../../core/errors.js';

/** The API server refused an object as invalid (HTTP 422/400): the rendered manifest is at fault. */
export class InvalidManifestError extends ConfigError {}

/** The cluster side of a failed call, for messages. */
export interface CallContext {
  /** What we were doing, e.g. `apply Deployment/digits`. */
  operation: string;
  /** `context "kind-dev" (https://127.0.0.1:6443)`. */
  cluster: string;
  namespace: string;
  requestTimeoutSeconds: number;
}

/** The API server's Status object, as far as we use it. */
interface Status {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; causes?: Array<{ field?: string; message?: string }> };
}

/** Node's TLS verification failures: retrying will not help, the kubeconfig's CA must change. */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_)/;

export function kubeError(err: unknown, ctx: CallContext): ShipmlError {
  if (err instanceof ShipmlError) return err;
  const status = apiStatus(err);
  if (status !== undefined) return fromStatus(status.code, status.body, err, ctx);

  const where = `${ctx.operation} on ${ctx.cluster}`;
  if (isAbortError(err)) {
    // Our only signal on a request is its timeout (see client.ts).
    return new ExternalServiceError(`${where}: no answer within ${ctx.requestTimeoutSeconds}s`, {
      retryable: true,
      cause: err,
      hint: 'is the API server overloaded or the network slow?',
    });
  }
  const code = systemCode(err);
  if (code && NETWORK_ERROR_CODES.has(code)) {
    return new ExternalServiceError(`${where}: cannot reach the API server (${code})`, {
      retryable: true,
      serviceCode: code,
      cause: err,
      hint: 'is the cluster running, and is the kubeconfig server address right? (kubectl cluster-info)',
    });
  }
  if (code && TLS_CODES.test(code)) {
    return new ExternalServiceError(`${where}: TLS verification failed (${code})`, {
      retryable: false,
      serviceCode: code,
      cause: err,
      hint: "check the cluster's certificate-authority in the kubeconfig",
    });
  }
  if (code === 'ENOENT') {
    const path = (err as { path?: unknown }).path;
    return new ConfigError(
      `${where}: the kubeconfig refers to a file that does not exist${typeof path === 'string' ? ` (${path})` : ''}`,
      { cause: err, hint: 'fix the certificate or key paths in the kubeconfig' },
    );
  }
  return new ExternalServiceError(`${where} failed: ${firstLine(err)}`, {
    retryable: false,
    cause: err,
  });
}

function fromStatus(
  code: number,
  body: Status | undefined,
  err: unknown,
  ctx: CallContext,
): ShipmlError {
  const where = `${ctx.operation} on ${ctx.cluster}`;
  const said = body?.message ? `: ${body.message}` : '';
  const facts = { cause: err, serviceCode: body?.reason, status: code };
  if (code === 401) {
    return new AuthenticationError(`${where}: the API server rejected the credentials (HTTP 401)`, {
      ...facts,
      hint: "the kubeconfig's token or client certificate is wrong or expired: refresh it (the secret itself is never printed)",
    });
  }
  if (code === 403) {
    return new AuthenticationError(`${where}: forbidden${said}`, {
      ...facts,
      hint: `bind this user to a Role in namespace ${ctx.namespace} with the rules in the Kubernetes target's README (get, list, create, patch, delete on deployments, services, secrets, ingresses, horizontalpodautoscalers; list, patch on replicasets; list on pods)`,
    });
  }
  if (code === 404 && body?.details?.kind === 'namespaces') {
    return new ConfigError(
      `${where}: namespace "${body.details.name ?? ctx.namespace}" does not exist`,
      {
        cause: err,
        hint: `create it (kubectl create namespace ${ctx.namespace}) or set deploy.kubernetes.namespace`,
      },
    );
  }
  if (code === 404) return new NotFoundError(`${where}: not found${said}`, { cause: err });
  if (code === 409) return new ConflictError(`${where}: conflict${said}`, { cause: err });
  // The API server answers 500, not 422, when an applied object does not even convert to its
  // typed form (a malformed quantity, a string where a number belongs).
  const unconvertible =
    code === 500 && /unable to convert unstructured object/.test(body?.message ?? '');
  if (code === 422 || code === 400 || unconvertible) {
    return new InvalidManifestError(`${where}: rejected by the API server${said}`, {
      cause: err,
      hint: 'the rendered manifest is invalid for this cluster: check the deploy settings (shipml render shows the objects)',
    });
  }
  const retryable = code >= 500 || code === 429;
  return new ExternalServiceError(`${where} failed (HTTP ${code})${said}`, {
    ...facts,
    retryable,
  });
}

/** HTTP status and parsed Status body of an ApiException (its body is JSON text or an object). */
function apiStatus(err: unknown): { code: number; body: Status | undefined } | undefined {
  const e = err as { code?: unknown; body?: unknown } | null;
  if (!e || typeof e.code !== 'number' || !(err instanceof Error)) return undefined;
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  return { code: e.code, body: body && typeof body === 'object' ? body : undefined };
}

/** True for a 404 from the API server (the object is absent). */
export function isNotFound(err: unknown): boolean {
  if (err instanceof NotFoundError) return true;
  return apiStatus(err)?.code === 404;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
