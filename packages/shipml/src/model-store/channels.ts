import { z } from 'zod';
import { ConflictError, IntegrityError } from '../core/errors.js';
import { layout } from './layout.js';
import type { ModelStore } from './types.js';

/**
 * A channel pointer, at `<name>/channels/<channel>.json`: which version the channel names
 * now, plus the last pointers it held (newest first), so `promote` can say what it replaced
 * and an operator can see how a channel moved.
 */
export const ChannelPointerSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string(),
  channel: z.string(),
  version: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  updated: z.iso.datetime(),
  history: z.array(
    z.object({ version: z.string(), digest: z.string(), updated: z.iso.datetime() }),
  ),
});

export type ChannelPointer = z.infer<typeof ChannelPointerSchema>;

const HISTORY_LIMIT = 50;
/** Attempts of the read-modify-write loop before a (very) contended channel gives up. */
const MAX_ATTEMPTS = 20;

export async function readChannel(
  store: ModelStore,
  name: string,
  channel: string,
  signal?: AbortSignal,
): Promise<{ pointer: ChannelPointer; etag: string } | undefined> {
  const key = layout.channel(name, channel);
  const stored = await store.readSmall(key, { signal });
  if (!stored) return undefined;
  return { pointer: decodeChannel(stored.bytes, `${store.displayUrl}/${key}`), etag: stored.etag };
}

/** What a conditional read of a channel pointer found (see readChannelIfChanged). */
export type ChannelChange =
  | { status: 'unchanged' }
  | { status: 'absent' }
  | { status: 'found'; pointer: ChannelPointer; etag: string };

/**
 * Reads a channel pointer only if it changed since `etag` (undefined: read it anyway): a
 * conditional GET, so a watcher polling every few seconds costs one small request per poll
 * and moves no bytes while nothing changes.
 */
export async function readChannelIfChanged(
  store: ModelStore,
  name: string,
  channel: string,
  etag: string | undefined,
  signal?: AbortSignal,
): Promise<ChannelChange> {
  const key = layout.channel(name, channel);
  const stored =
    etag === undefined
      ? await store.readSmall(key, { signal })
      : await store.readIfChanged(key, etag, { signal });
  if (stored === 'unchanged') return { status: 'unchanged' };
  if (!stored) return { status: 'absent' };
  return {
    status: 'found',
    pointer: decodeChannel(stored.bytes, `${store.displayUrl}/${key}`),
    etag: stored.etag,
  };
}

/**
 * Points `channel` at `version`. A read-modify-write with a conditional write (ETag/If-Match,
 * or create-only when the channel is new), repeated on conflict: two concurrent promoters
 * both succeed, one after the other, and neither update is lost from the history.
 */
export async function moveChannel(
  store: ModelStore,
  target: { name: string; channel: string; version: string; digest: string; now: () => Date },
  signal?: AbortSignal,
): Promise<{ pointer: ChannelPointer; previous: ChannelPointer | undefined }> {
  const key = layout.channel(target.name, target.channel);
  for (let attempt = 1; ; attempt++) {
    const current = await readChannel(store, target.name, target.channel, signal);
    const previous = current?.pointer;
    const pointer: ChannelPointer = {
      schemaVersion: 1,
      name: target.name,
      channel: target.channel,
      version: target.version,
      digest: target.digest,
      updated: target.now().toISOString(),
      history: previous
        ? [
            { version: previous.version, digest: previous.digest, updated: previous.updated },
            ...previous.history,
          ].slice(0, HISTORY_LIMIT)
        : [],
    };
    const condition = current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const };
    try {
      await store.writeSmall(key, Buffer.from(JSON.stringify(pointer, null, 2) + '\n'), {
        condition,
        signal,
      });
      return { pointer, previous };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      // Someone else moved the channel between our read and write: read again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

function decodeChannel(bytes: Buffer, where: string): ChannelPointer {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(`${where}: channel pointer is not valid JSON`);
  }
  const parsed = ChannelPointerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(
      `${where}: invalid channel pointer at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data;
}
