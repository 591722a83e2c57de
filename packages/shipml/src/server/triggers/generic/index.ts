import { parseJsonBody } from '../body.js';
import { pushedRun, unbuiltRef } from '../push.js';
import { branchFilter, clip, isNullCommit, parseRef } from '../refs.js';
import type { TriggerApp, WebhookDelivery, WebhookTrigger, WebhookVerdict } from '../types.js';
import { headerOf, verifyHmacSha256 } from '../verify.js';
import { GenericHookBodySchema, type GenericTriggerOptions } from './schema.js';

/** Printable ASCII, as a delivery id must be to be logged and stored as is. */
const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Reads generic hook deliveries (README.md): `X-Shipml-Signature: sha256=<hex>` of the raw
 * body first, then `X-Shipml-Delivery` (the idempotency key), then the JSON body.
 */
export function genericTrigger(options: GenericTriggerOptions, app: TriggerApp): WebhookTrigger {
  const filter = branchFilter(options.branches, app.branches);
  return {
    mode: 'webhook',
    receive(delivery: WebhookDelivery): WebhookVerdict {
      const { headers, body } = delivery;
      if (!verifyHmacSha256(options.secret, body, headerOf(headers, 'x-shipml-signature')))
        return { result: 'rejected', status: 401, reason: 'missing or wrong X-Shipml-Signature' };
      const deliveryId = headerOf(headers, 'x-shipml-delivery')?.trim();
      if (!deliveryId || !DELIVERY_ID.test(deliveryId)) {
        return {
          result: 'rejected',
          status: 400,
          reason: 'missing or invalid X-Shipml-Delivery (1-200 printable characters)',
        };
      }
      const parsed = parseJsonBody(body, undefined, GenericHookBodySchema);
      if (!parsed.ok)
        return { result: 'rejected', status: 400, reason: `malformed hook body: ${parsed.reason}` };
      const hook = parsed.value;
      const ref =
        hook.ref !== undefined
          ? parseRef(hook.ref)
          : { kind: 'branch' as const, name: hook.branch! };
      const shown = clip(hook.ref ?? hook.branch ?? '');
      if (isNullCommit(hook.commit))
        return { result: 'ignored', deliveryId, reason: `${shown} was deleted` };
      const unbuilt = unbuiltRef(ref, hook.ref ?? hook.branch ?? '', options, filter);
      if (unbuilt) return { result: 'ignored', deliveryId, reason: unbuilt };
      const pusher = hook.pusher ? clip(hook.pusher, 100) : undefined;
      return {
        result: 'accepted',
        deliveryId,
        requests: [
          pushedRun('generic', deliveryId, ref, hook.commit, { pusher, modelRef: hook.model }),
        ],
      };
    },
  };
}
