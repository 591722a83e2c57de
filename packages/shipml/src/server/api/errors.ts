/**
 * Errors to HTTP answers, in one place: a ShipML error keeps its code and one-line message,
 * fastify's own (body too large, malformed body) keep their status, anything unexpected is a
 * 500 whose message says nothing about internals (the server's log has it, redacted).
 */
import { ZodError } from 'zod';
import {
  ConfigError,
  ConflictError,
  ExternalServiceError,
  NotFoundError,
  ShipmlError,
} from '../../core/errors.js';
import { describeIssues } from '../../deploy/spec-schema.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorAnswer {
  status: number;
  body: { error: { code: string; message: string } };
  /** Worth a line in the server's log (5xx). */
  unexpected: boolean;
}

export function errorAnswer(err: unknown, redact: (text: string) => string): ErrorAnswer {
  const answer = (status: number, code: string, message: string, unexpected = false) => ({
    status,
    body: { error: { code, message: redact(message) } },
    unexpected,
  });
  if (err instanceof HttpError) return answer(err.status, err.code, err.message);
  if (err instanceof ZodError) return answer(400, 'BAD_REQUEST', describeIssues(err));
  if (err instanceof NotFoundError) return answer(404, err.code, err.message);
  if (err instanceof ConflictError) return answer(409, err.code, err.message);
  if (err instanceof ConfigError) return answer(400, err.code, err.message);
  if (err instanceof ExternalServiceError) return answer(502, err.code, err.message, true);
  if (err instanceof ShipmlError) return answer(500, err.code, err.message, true);
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) {
    const code =
      status === 413 ? 'BODY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    const message =
      status === 413
        ? 'the request body is larger than 1 MiB'
        : (err as Error).message.split('\n')[0]!;
    return answer(status, code, message);
  }
  return answer(500, 'INTERNAL', 'internal error (see the server log)', true);
}
