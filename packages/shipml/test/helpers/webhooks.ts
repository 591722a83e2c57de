/** Signed deliveries for webhook trigger tests, built the way each sender builds them. */
import { readFileSync } from 'node:fs';
import {
  openTrigger,
  TriggerConfigSchema,
  type TriggerConfig,
} from '../../src/server/triggers/registry.js';
import {
  isWebhook,
  type TriggerApp,
  type WebhookDelivery,
  type WebhookTrigger,
} from '../../src/server/triggers/types.js';
import { signHmacSha256 } from '../../src/server/triggers/verify.js';

/** The app the webhook tests use. */
export const testApp: TriggerApp = {
  name: 'digits',
  repository: '/srv/git/digits.git',
  branches: ['main'],
};

/** Opens a webhook trigger from a config entry, through the registry. */
export async function openWebhook(
  config: TriggerConfig,
  app: TriggerApp = testApp,
): Promise<WebhookTrigger> {
  const trigger = await openTrigger(TriggerConfigSchema.parse(config), app);
  if (!isWebhook(trigger)) throw new Error(`${config.type} is not a webhook`);
  return trigger;
}

export const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/triggers/${name}`, import.meta.url), 'utf8');

/** A GitHub delivery of `event` with `payload`, signed with `secret`. */
export function githubDelivery(
  secret: string,
  payload: unknown,
  event = 'push',
  id = '72d3162e-cc78-11e3-81ab-4c9367dc0958',
): WebhookDelivery {
  const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return {
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': signHmacSha256(secret, body),
    },
    body,
  };
}

/** A generic-hook delivery, signed with `secret`. */
export function genericDelivery(secret: string, payload: unknown, id = 'd-1'): WebhookDelivery {
  const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return {
    headers: { 'x-shipml-signature': signHmacSha256(secret, body), 'x-shipml-delivery': id },
    body,
  };
}

/** An Azure DevOps delivery with Basic auth. */
export function azureDelivery(user: string, password: string, payload: unknown): WebhookDelivery {
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    },
    body: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  };
}
