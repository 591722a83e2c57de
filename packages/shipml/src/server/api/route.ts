/**
 * The API's routes as data: method, path, scope, and zod schemas for params, query, body and
 * answer. The same table registers the fastify handlers (validating every request) and
 * generates the OpenAPI 3.1 document (openapi.ts), so the document cannot drift from what
 * the server accepts.
 */
import { z } from 'zod';
import type { TokenRecord, TokenScope } from '../store/types.js';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  token: TokenRecord;
}

export interface Route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI style: `/api/v1/runs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  scope: TokenScope;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** Success status (default 200). */
  status?: 200 | 201 | 202;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** Keeps each route's own types while the table holds them all. */
export function route<
  P extends z.ZodType = z.ZodObject,
  Q extends z.ZodType = z.ZodObject,
  B extends z.ZodType = z.ZodUndefined,
  R extends z.ZodType = z.ZodType,
>(r: Route<P, Q, B, R>): Route {
  return r;
}

/** The error answer of every endpoint. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .meta({ description: 'machine-readable: NOT_FOUND, CONFIG, UNAUTHORIZED, …' }),
      message: z.string().meta({ description: 'one line saying what was wrong and where' }),
    }),
  })
  .meta({ id: 'Error' });

/** `/api/v1/runs/{id}` → fastify's `/api/v1/runs/:id`. */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
