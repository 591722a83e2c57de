/**
 * The OpenAPI 3.1 document of the API, generated from the route table's zod schemas
 * (zod's own JSON Schema output, draft 2020-12, which OpenAPI 3.1 uses as is). Served at
 * /api/v1/openapi.json and checked by an independent validator in the tests.
 */
import { z } from 'zod';
import { ErrorSchema, type Route } from './route.js';

type Json = Record<string, unknown>;

export function openApiDocument(
  routes: readonly Route[],
  version: string,
  serverUrl?: string,
): Json {
  const components: Record<string, Json> = {};
  const schema = (s: z.ZodType, io: 'input' | 'output'): Json => {
    const json = z.toJSONSchema(s, {
      io,
      target: 'draft-2020-12',
      unrepresentable: 'any',
      reused: 'inline',
    }) as Json;
    delete json.$schema;
    // Named schemas (`.meta({ id })`) come out as $defs: they become components.
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    for (const [name, def] of Object.entries(defs)) components[name] = toComponents(def);
    return toComponents(json);
  };
  const paths: Record<string, Record<string, Json>> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  components.Error = schema(ErrorSchema, 'output');
  for (const r of routes) {
    const parameters: Json[] = [];
    for (const [where, s] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!s) continue;
      const obj = schema(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, p] of Object.entries(obj.properties ?? {})) {
        const { description, ...rest } = p as Json & { description?: string };
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (obj.required ?? []).includes(name),
          schema: rest,
          ...(description ? { description } : {}),
        });
      }
    }
    const errors: Record<string, Json> = {
      '400': { description: 'bad request', content: { 'application/json': { schema: errorRef } } },
      '401': {
        description: 'no valid token',
        content: { 'application/json': { schema: errorRef } },
      },
      '403': {
        description: 'the token may not do this',
        content: { 'application/json': { schema: errorRef } },
      },
      '404': { description: 'not found', content: { 'application/json': { schema: errorRef } } },
    };
    const method = r.method.toLowerCase();
    (paths[r.path] ??= {})[method] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: [{ bearer: [] }],
      'x-shipml-scope': r.scope,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(r.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'success',
          content: { 'application/json': { schema: schema(r.response, 'output') } },
        },
        ...errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ShipML service API',
      version,
      description:
        'Runs, triggers, models and releases of the apps a `shipml server` builds. Bearer tokens from `shipml server token create`.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}

/** Rewrites `#/$defs/X` references to `#/components/schemas/X`, everywhere in `value`. */
function toComponents<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as T;
}
