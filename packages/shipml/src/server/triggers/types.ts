/**
 * The contract of a trigger: what starts runs. Two shapes, one registry (registry.ts):
 *
 * - A **webhook** trigger reads one HTTP delivery (GitHub push, Azure DevOps git.push, a
 *   generic signed JSON hook): it verifies it on the raw body bytes and says what to queue.
 *   Pure: no I/O, no clock. The server does the HTTP, the idempotency (by delivery id,
 *   through the store), the queueing and the answer.
 * - A **watch** trigger is checked by the server's scheduler loop at the times it names (git
 *   polling, the model-channel watch, cron schedules): each check looks at the world through
 *   its context and says what to queue. The server owns the timers, so a check never runs
 *   twice at once for one app, and stopping the server stops every trigger.
 *
 * Both answer with `TriggerRequest`s; the server adds the app and queues them (coalescing a
 * burst into one run).
 */
import type { z } from 'zod';
import type { Descriptor } from '../../core/registry.js';
import type { RunRequest } from '../store/types.js';

/**
 * What a trigger asks for: a run request without the app, whether the run deploys, and what
 * it retries, which the server fills in.
 */
export type TriggerRequest = Pick<
  RunRequest,
  'kind' | 'cause' | 'branch' | 'commit' | 'modelRef' | 'image'
>;

/** The app as a trigger sees it (from the server config; never its secrets). */
export interface TriggerApp {
  name: string;
  /** The repository URL as configured (https, ssh, file://, or a local path). */
  repository: string;
  /** The branches the app builds (a trigger's own `branches` option narrows these). */
  branches: readonly string[];
}

// ---------------------------------------------------------------------------- webhooks

/** One HTTP delivery as it arrived. Header names are lowercase. */
export interface WebhookDelivery {
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body bytes: signatures are computed on these, never on re-serialized JSON. */
  body: Buffer;
}

/**
 * What a webhook trigger makes of a delivery. `rejected` is answered with its status and
 * reason (401 bad or missing signature/credentials, 400 malformed); the reason never quotes a
 * secret or a signature. `pong` answers a ping (200). `ignored` (200): a well-signed delivery
 * that starts nothing (a tag, a branch deletion, a branch not built, another event type).
 */
export type WebhookVerdict =
  | { result: 'rejected'; status: 400 | 401; reason: string }
  | { result: 'pong'; deliveryId: string | undefined }
  | { result: 'ignored'; deliveryId: string | undefined; reason: string }
  | { result: 'accepted'; deliveryId: string; requests: TriggerRequest[] };

export interface WebhookTrigger {
  readonly mode: 'webhook';
  /** Verifies (constant-time) and reads one delivery. Must not throw on any input. */
  receive(delivery: WebhookDelivery): WebhookVerdict;
}

// ---------------------------------------------------------------------------- watches

/** A channel pointer read conditionally: `unchanged` when its ETag still matches. */
export type ChannelRead =
  | { status: 'unchanged' }
  | { status: 'absent' }
  | { status: 'found'; version: string; etag: string };

/** What a watch trigger may look at; the server implements it per app. */
export interface WatchContext {
  app: TriggerApp;
  signal: AbortSignal;
  /** Small values kept between checks, in the store (per app and trigger). */
  state: {
    get(key: string): Promise<string | undefined>;
    set(key: string, value: string): Promise<void>;
  };
  /** True for exactly one process per fire time (schedules with several servers). */
  claimFire(schedule: string, fireAt: Date): Promise<boolean>;
  /** `git ls-remote` of the app's repository: ref name (refs/heads/main) → commit. */
  lsRemote(): Promise<Map<string, string>>;
  /** The app's model channel (from its shipml.yaml), read conditionally on `etag`. */
  readModelChannel(
    etag: string | undefined,
  ): Promise<ChannelRead & { model?: string | undefined; channel?: string | undefined }>;
  /** The commit live in production (the deploy target's status), if anything is live. */
  liveCommit(): Promise<{ commit: string; branch?: string | undefined } | undefined>;
  /** The image of the newest successful build of `branch` (for a scheduled release). */
  lastSuccessfulImage(branch: string | undefined): Promise<string | undefined>;
  /** Says something about the trigger in the server's log (never a secret). */
  log(line: string): void;
}

export interface WatchTrigger {
  readonly mode: 'watch';
  /** The next time to check, strictly after `after` (an interval, or the next cron fire). */
  next(after: Date): Date | undefined;
  /**
   * One check, at the time `next` named. The first check of a fresh server only remembers
   * what it sees (refs, the channel's version) and queues nothing, so a restart never starts
   * a build storm; schedules are the exception (a fire is a fire).
   */
  check(ctx: WatchContext, at: Date): Promise<TriggerRequest[]>;
}

export type Trigger = WebhookTrigger | WatchTrigger;

export function isWebhook(t: Trigger): t is WebhookTrigger {
  return t.mode === 'webhook';
}

/**
 * A trigger back end as the registry knows it: its folder holds schema.ts (options; secrets
 * as `${VAR}` in the server config), descriptor.ts and index.ts (`open`). The options schema
 * is an object schema, so the registry can add the `type` discriminator to it (registry.ts).
 */
export interface TriggerDescriptor<S extends z.ZodObject = z.ZodObject> extends Descriptor {
  readonly mode: 'webhook' | 'watch';
  readonly optionsSchema: S;
  /** Makes the trigger of one app from its validated options. */
  open(options: z.infer<S>, app: TriggerApp): Promise<Trigger>;
}
