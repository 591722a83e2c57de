/**
 * Decoding webhook bodies: JSON (or GitHub's `application/x-www-form-urlencoded` form with a
 * `payload` field), validated with a zod schema. Never throws: a bad body is a reason.
 */
import type { z } from 'zod';
import { clip } from './refs.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes and validates `body`; the reason names the first bad field, never a value. */
export function parseJsonBody<S extends z.ZodType>(
  body: Buffer,
  contentType: string | undefined,
  schema: S,
): Parsed<z.infer<S>> {
  let text = body.toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) return { ok: false, reason: 'form body without a payload field' };
    text = payload;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') || '(root)';
  return { ok: false, reason: `${clip(path, 80)}: ${clip(issue?.message ?? 'invalid', 120)}` };
}
