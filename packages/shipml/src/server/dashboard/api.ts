/**
 * The dashboard reads and acts through the service's own REST API — the one the CLI uses,
 * with the signed-in user's token — by injecting requests into the same fastify instance
 * (no network hop, no private back door: a read token is refused an admin call exactly as
 * it is on /api/v1).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type {
  AppDetailSchema,
  AppSchema,
  DeliveryListSchema,
  ModelsSchema,
  QueuedSchema,
  RevisionsSchema,
  RunChangesSchema,
  RunListSchema,
  RunSchema,
} from '../api/schemas.js';
import type { Session } from './session.js';

export type ApiRun = z.output<typeof RunSchema>;
export type ApiApp = z.output<typeof AppSchema>;
export type ApiAppDetail = z.output<typeof AppDetailSchema>;
export type ApiModels = z.output<typeof ModelsSchema>;
export type ApiRunList = z.output<typeof RunListSchema>;
export type ApiDeliveries = z.output<typeof DeliveryListSchema>;
export type ApiQueued = z.output<typeof QueuedSchema>;
export type ApiRevisions = z.output<typeof RevisionsSchema>;
export type ApiRunChanges = z.output<typeof RunChangesSchema>;

/** An API answer that was not a success: its status and one-line message. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Api = <T>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>;

export function apiFor(app: FastifyInstance, session: Session): Api {
  return async <T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
    const res = await app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${session.secret}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    const json = (res.body ? JSON.parse(res.body) : {}) as {
      error?: { code: string; message: string };
    };
    if (res.statusCode >= 400)
      throw new ApiRefusal(
        res.statusCode,
        json.error?.code ?? 'ERROR',
        json.error?.message ?? `the API answered ${res.statusCode}`,
      );
    return json as T;
  };
}

/** `?a=1&b=` from an object (absent and empty values left out). */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}
