import { parseJsonBody } from '../body.js';
import { pushedRun, unbuiltRef } from '../push.js';
import { branchFilter, clip, isNullCommit, parseRef } from '../refs.js';
import type { TriggerApp, WebhookDelivery, WebhookTrigger, WebhookVerdict } from '../types.js';
import { headerOf, verifyHmacSha256 } from '../verify.js';
import { GithubPushPayloadSchema, type GithubTriggerOptions } from './schema.js';

/**
 * Reads GitHub push deliveries: signature first (on the raw bytes, before any parsing, so an
 * unsigned request costs one HMAC and nothing else), then the event: `ping` is answered,
 * `push` to a built branch (or a tag, with `tags: true`) queues a run of the pushed commit,
 * anything else is ignored.
 */
export function githubTrigger(options: GithubTriggerOptions, app: TriggerApp): WebhookTrigger {
  const filter = branchFilter(options.branches, app.branches);
  return {
    mode: 'webhook',
    receive(delivery: WebhookDelivery): WebhookVerdict {
      const { headers, body } = delivery;
      if (!verifyHmacSha256(options.secret, body, headerOf(headers, 'x-hub-signature-256'))) {
        return { result: 'rejected', status: 401, reason: 'missing or wrong X-Hub-Signature-256' };
      }
      const deliveryId = headerOf(headers, 'x-github-delivery')?.trim() || undefined;
      const event = headerOf(headers, 'x-github-event')?.trim();
      if (event === 'ping') return { result: 'pong', deliveryId };
      if (!event) return { result: 'rejected', status: 400, reason: 'missing X-GitHub-Event' };
      if (event !== 'push')
        return { result: 'ignored', deliveryId, reason: `event ${clip(event, 40)} starts nothing` };
      if (!deliveryId || deliveryId.length > 200)
        return { result: 'rejected', status: 400, reason: 'missing X-GitHub-Delivery' };

      const parsed = parseJsonBody(
        body,
        headerOf(headers, 'content-type'),
        GithubPushPayloadSchema,
      );
      if (!parsed.ok)
        return {
          result: 'rejected',
          status: 400,
          reason: `malformed push payload: ${parsed.reason}`,
        };
      const push = parsed.value;
      const ref = parseRef(push.ref);
      if (push.deleted === true || isNullCommit(push.after))
        return { result: 'ignored', deliveryId, reason: `${clip(push.ref)} was deleted` };
      const unbuilt = unbuiltRef(ref, push.ref, options, filter);
      if (unbuilt) return { result: 'ignored', deliveryId, reason: unbuilt };
      const pusher = push.pusher?.name ? clip(push.pusher.name, 100) : undefined;
      return {
        result: 'accepted',
        deliveryId,
        requests: [pushedRun('github', deliveryId, ref, push.after, { pusher })],
      };
    },
  };
}
