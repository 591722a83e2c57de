import { parseJsonBody } from '../body.js';
import { branchFilter, clip, isNullCommit, parseRef } from '../refs.js';
import type {
  TriggerApp,
  TriggerRequest,
  WebhookDelivery,
  WebhookTrigger,
  WebhookVerdict,
} from '../types.js';
import { headerOf, secretEquals } from '../verify.js';
import { AzureEventSchema, AzurePushResourceSchema, type AzureTriggerOptions } from './schema.js';

/**
 * Reads Azure DevOps service-hook deliveries. Credentials are checked first, in constant
 * time; then a `git.push` event queues one run per updated branch the app builds (a push can
 * update several refs), deletions (new id all zeros) never run, other events are ignored.
 */
export function azureTrigger(options: AzureTriggerOptions, app: TriggerApp): WebhookTrigger {
  const filter = branchFilter(options.branches, app.branches);
  const authorized = authorizer(options);
  return {
    mode: 'webhook',
    receive(delivery: WebhookDelivery): WebhookVerdict {
      if (!authorized(delivery.headers))
        return { result: 'rejected', status: 401, reason: 'missing or wrong credentials' };
      const parsed = parseJsonBody(delivery.body, undefined, AzureEventSchema);
      if (!parsed.ok)
        return { result: 'rejected', status: 400, reason: `malformed event: ${parsed.reason}` };
      const { id: deliveryId, eventType, resource } = parsed.value;
      if (eventType !== 'git.push')
        return {
          result: 'ignored',
          deliveryId,
          reason: `event ${clip(eventType, 40)} starts nothing`,
        };
      const push = AzurePushResourceSchema.safeParse(resource);
      if (!push.success) {
        const path = push.error.issues[0]?.path.map(String).join('.') || '(root)';
        return {
          result: 'rejected',
          status: 400,
          reason: `malformed git.push resource at ${clip(path, 80)}`,
        };
      }
      const pusher = pusherOf(push.data.pushedBy);
      const requests: TriggerRequest[] = [];
      const skipped: string[] = [];
      for (const update of push.data.refUpdates) {
        const ref = parseRef(update.name);
        if (isNullCommit(update.newObjectId)) skipped.push(`${clip(update.name)} deleted`);
        else if (ref.kind === 'other') skipped.push(`${clip(update.name)} is not a branch or tag`);
        else if (ref.kind === 'tag' && !options.tags)
          skipped.push(`tag ${clip(ref.name)} (tags are off)`);
        else if (ref.kind === 'branch' && !filter.matches(ref.name))
          skipped.push(`branch ${clip(ref.name)} is not built`);
        else {
          requests.push({
            kind: 'run',
            cause: {
              trigger: 'commit',
              source: 'azure',
              deliveryId,
              pusher,
              ...(ref.kind === 'tag' ? { detail: `tag ${clip(ref.name)}` } : {}),
            },
            branch: ref.kind === 'branch' ? ref.name : undefined,
            commit: update.newObjectId,
          });
        }
      }
      if (requests.length === 0) {
        const reason = skipped.length ? skipped.slice(0, 5).join('; ') : 'no ref updates';
        return { result: 'ignored', deliveryId, reason };
      }
      return { result: 'accepted', deliveryId, requests };
    },
  };
}

/** The configured check: Basic auth or a custom header, compared in constant time. */
function authorizer(
  options: AzureTriggerOptions,
): (headers: WebhookDelivery['headers']) => boolean {
  if (options.username !== undefined && options.password !== undefined) {
    const expected = `${options.username}:${options.password}`;
    return (headers) => {
      const match = /^basic\s+([A-Za-z0-9+/=\s]+)$/i.exec(headerOf(headers, 'authorization') ?? '');
      const given = match ? Buffer.from(match[1]!.replace(/\s/g, ''), 'base64') : Buffer.alloc(0);
      // Always compare, even without a header: a missing header takes the time a wrong one does.
      return secretEquals(expected, given) && match !== null;
    };
  }
  const name = (options.header ?? '').toLowerCase();
  const value = options.headerValue ?? '';
  return (headers) => {
    const given = headerOf(headers, name);
    return secretEquals(value, given ?? '') && given !== undefined;
  };
}

/** A display name, else the unique name without an email's domain (never an email). */
function pusherOf(
  by: { displayName?: string | undefined; uniqueName?: string | undefined } | undefined,
): string | undefined {
  const name = by?.displayName?.trim() || by?.uniqueName?.split('\\').pop()?.split('@')[0]?.trim();
  return name ? clip(name, 100) : undefined;
}
