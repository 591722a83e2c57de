/**
 * Every credential check of the webhook triggers goes through crypto.timingSafeEqual on
 * equal-length buffers — also for a wrong guess of another length and for a missing header
 * (Azure) — rather than an early-exit string compare. Observed by wrapping timingSafeEqual.
 */
import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  openTrigger,
  TriggerConfigSchema,
  type TriggerConfig,
} from '../src/server/triggers/registry.js';
import { isWebhook, type WebhookDelivery } from '../src/server/triggers/types.js';
import { azureDelivery, fixture, genericDelivery, githubDelivery } from './helpers/webhooks.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const compare = vi.mocked(crypto.timingSafeEqual);
const app = { name: 'digits', repository: '/r.git', branches: ['master', 'main'] };

async function receive(config: TriggerConfig, delivery: WebhookDelivery) {
  const trigger = await openTrigger(TriggerConfigSchema.parse(config), app);
  if (!isWebhook(trigger)) throw new Error('not a webhook');
  compare.mockClear();
  return trigger.receive(delivery);
}

describe('constant-time credential checks', () => {
  beforeEach(() => {
    compare.mockClear(); // (braces: a function returned from beforeEach would run as teardown)
  });

  it('github and generic compare the HMAC digests with timingSafeEqual, right or wrong', async () => {
    for (const [config, make] of [
      [
        { type: 'github', secret: 'right-secret', tags: false },
        (s: string) => githubDelivery(s, fixture('github-push.json')),
      ],
      [
        { type: 'generic', secret: 'right-secret', tags: false },
        (s: string) => genericDelivery(s, { branch: 'main', commit: 'a'.repeat(40) }),
      ],
    ] as const) {
      expect((await receive(config, make('right-secret'))).result).toBe('accepted');
      expect(compare).toHaveBeenCalledTimes(1);
      expect((await receive(config, make('wrong-secret'))).result).toBe('rejected');
      expect(compare).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0]!;
      expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  it('azure compares hashes of the credentials: same work for a wrong, short or missing one', async () => {
    const config = {
      type: 'azure',
      username: 'shipml',
      password: 'p'.repeat(40),
      tags: false,
    } as const;
    expect(
      (
        await receive(
          config,
          azureDelivery('shipml', 'p'.repeat(40), fixture('azure-git-push.json')),
        )
      ).result,
    ).toBe('accepted');
    expect(compare).toHaveBeenCalledTimes(1);
    for (const delivery of [
      azureDelivery('shipml', 'p', '{}'),
      azureDelivery('shipml', 'p'.repeat(39) + 'q', '{}'),
      { headers: {}, body: Buffer.from('{}') },
    ]) {
      expect(await receive(config, delivery)).toMatchObject({ status: 401 });
      expect(compare).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0]!;
      expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
    const header = {
      type: 'azure',
      header: 'X-Token',
      headerValue: 'v'.repeat(30),
      tags: false,
    } as const;
    expect(await receive(header, { headers: {}, body: Buffer.from('{}') })).toMatchObject({
      status: 401,
    });
    expect(compare).toHaveBeenCalledTimes(1);
  });
});
