/**
 * The dashboard in a real browser (Debian's chromium, playwright-core) against a real
 * service: seeded runs in the store, a live run of a tiny app, a model with versions in a file
 * store. Every page loads, shows no admin action to a read token, and passes axe-core with no
 * serious or critical violation; an admin starts a run and follows its log live, across a
 * dropped connection, with no line missing or twice; forged posts get 403.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelStore } from '../src/model-store/registry.js';
import { ModelRepository } from '../src/model-store/repository.js';
import { seriousViolations } from './helpers/axe.js';
import {
  ARTIFACTS,
  openBrowser,
  seedRuns,
  signIn,
  startDashboard,
  type Browser,
  type DashboardService,
} from './helpers/dashboard.js';
import { testRepo, tinyApp } from './helpers/server.js';

let root: string;
let srv: DashboardService;
let browser: Browser;
let admin: string;
let reader: string;
let seededRun: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-dash-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const tiny = await testRepo(
    join(root, 'tiny'),
    tinyApp({ test: 'for i in $(seq 1 25); do echo "tick $i"; sleep 0.3; done' }),
  );
  const models = join(root, 'models');
  const digitsFiles = tinyApp();
  digitsFiles['shipml.yaml'] +=
    `model:\n  name: digits\n  store: file://${models}\ngate:\n  thresholds:\n    accuracy: { min: 0.9 }\n`;
  const digits = await testRepo(join(root, 'digits'), digitsFiles);
  const repo = new ModelRepository({
    store: await openModelStore({ url: `file://${models}` }, {}),
  });
  const weights = join(root, 'model.bin');
  await writeFile(weights, 'weights');
  for (const [version, accuracy] of [
    ['1.0.0', 0.91],
    ['1.1.0', 0.935],
    ['1.2.0', 0.88],
    ['1.3.0', 0.952],
  ] as const)
    await repo.publish({
      source: weights,
      name: 'digits',
      version,
      metrics: { accuracy, latency_ms: 12 + accuracy * 10 },
      channels: version === '1.1.0' ? ['latest'] : [],
    });
  await seedRuns(join(root, 'data'), 'tiny', 30);
  srv = await startDashboard(
    `
dataDir: ${root}/data
worker: { slots: 1, leaseSeconds: 10 }
apps:
  - name: tiny
    repository: ${tiny.bare}
    release: manual
  - name: digits
    repository: ${digits.bare}
    release: manual
`,
    { ...process.env },
    root,
  );
  admin = await srv.token('admin');
  reader = await srv.token('read');
  seededRun = (await srv.service.store.listRuns({ app: 'tiny', status: 'failed', limit: 1 }))
    .runs[0]!.id;
  browser = await openBrowser();
  browser.page.on('dialog', (d) => void d.accept());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await rm(root, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const ADMIN_BUTTONS = /Run now|Cancel|Run again|Promote|Roll back/;

describe('dashboard', () => {
  it('refuses a wrong token at sign-in and never puts the token in a URL', async () => {
    const { page } = browser;
    await page.goto(`${srv.url}/ui/`);
    expect(page.url()).toBe(`${srv.url}/ui/login`);
    await page.fill('#token', 'shipml_aaaaaaaaaaaa_' + 'x'.repeat(43));
    await page.click('button:has-text("Sign in")');
    await expect.poll(() => page.locator('.failure').textContent()).toContain('invalid token');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'login');
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await signIn(page, srv.url, reader);
    expect(urls.some((u) => u.includes(reader))).toBe(false);
    const cookie = (await browser.context.cookies()).find((c) => c.name === 'shipml_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('shows every page to a read token, with no admin action and no accessibility violation', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    const pages: Array<[string, string, string]> = [
      ['overview', '/ui/', 'tiny'],
      ['app', '/ui/apps/tiny', 'Runs'],
      ['run', `/ui/runs/${seededRun}`, 'accuracy 0.88'],
      ['models', '/ui/apps/digits/models', '1.3.0'],
      ['service', '/ui/service', 'Webhook deliveries'],
    ];
    for (const [name, path, text] of pages) {
      const res = await page.goto(`${srv.url}${path}`);
      expect(res?.status(), name).toBe(200);
      await expect.poll(() => page.locator('main').textContent()).toContain(text);
      expect(await page.locator('button', { hasText: ADMIN_BUTTONS }).count(), name).toBe(0);
      if (name === 'models')
        await page.locator('#chart canvas').first().waitFor({ timeout: 10_000 });
      expect(await seriousViolations(page), name).toEqual([]);
      await shot(page, `${name}-read`);
    }
    // The failed run says why in one line at the top, and shows its timeline and layers.
    await page.goto(`${srv.url}/ui/runs/${seededRun}`);
    expect(await page.locator('.failure').textContent()).toContain('gate: accuracy 0.88 >= 0.9');
    expect(await page.locator('.timeline tbody tr').count()).toBeGreaterThanOrEqual(5);
  });

  it('refuses forged posts: a read token with a valid CSRF token, and any post without one', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const before = (await srv.service.store.listRuns({ app: 'tiny', limit: 500 })).runs.length;
    const asReader = await page.request.post(`${srv.url}/ui/apps/tiny/run`, {
      form: { csrf, reason: 'forged' },
      maxRedirects: 0,
    });
    expect(asReader.status()).toBe(403);
    expect(await asReader.text()).toContain('admin token');
    await signIn(page, srv.url, admin);
    for (const form of [{ reason: 'no csrf' }, { csrf, reason: "the reader's csrf" }] as Array<
      Record<string, string>
    >) {
      const res = await page.request.post(`${srv.url}/ui/apps/tiny/run`, { form, maxRedirects: 0 });
      expect(res.status()).toBe(403);
    }
    const cross = await page.request.post(`${srv.url}/ui/apps/tiny/run`, {
      form: { csrf: await page.locator('input[name=csrf]').first().inputValue() },
      headers: { origin: 'https://evil.example' },
      maxRedirects: 0,
    });
    expect(cross.status()).toBe(403);
    expect((await srv.service.store.listRuns({ app: 'tiny', limit: 500 })).runs.length).toBe(
      before,
    );
  });

  it('lets an admin start a run, follow its log live and resume it after a drop, without gaps or duplicates', async () => {
    const { page } = browser;
    await signIn(page, srv.url, admin);
    await page.goto(`${srv.url}/ui/apps/tiny`);
    expect(await seriousViolations(page)).toEqual([]);
    // Revisions come from the deploy target (tiny is not deployed on it): no rollback to offer.
    // dashboard-rollback.test.ts rolls back a real deployment.
    expect(await page.locator('section[aria-labelledby=revisions-h]').textContent()).toContain(
      'Nothing deployed',
    );
    expect(await page.locator('button', { hasText: /^Roll back to \d+$/ }).count()).toBe(0);
    await shot(page, 'app-admin');
    await page.fill('input[name=reason]', 'from the browser test');
    await Promise.all([page.waitForURL(/\/ui\/runs\//), page.click('button:has-text("Run now")')]);
    const id = page.url().split('/').at(-1)!;
    // When each line became visible (ms since the epoch), by seq.
    await page.evaluate(`(() => {
      const seen = (window.seen = {});
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes) if (n.dataset && n.dataset.seq) seen[n.dataset.seq] = Date.now();
      }).observe(document.getElementById('log'), { childList: true });
    })()`);
    await page.locator('#log .l', { hasText: 'tick 3' }).waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.locator('h1 .badge').textContent(), { timeout: 10_000 })
      .toBe('running');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'run-live');

    srv.dropConnections();
    await expect
      .poll(() => page.locator('#log-state').textContent(), { timeout: 10_000 })
      .not.toBe('live');
    await expect
      .poll(() => page.locator('#log-state').textContent(), { timeout: 20_000 })
      .toBe('live');
    await page.locator('#log .l', { hasText: 'tick 25' }).waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.locator('#log-state').textContent(), { timeout: 60_000 })
      .toBe('finished');
    await expect
      .poll(() => page.locator('h1 .badge').textContent(), { timeout: 10_000 })
      .toBe('succeeded');

    const stored = await srv.service.store.readLog(id, 0, 5000);
    const shown = (
      await page.evaluate<string[]>(
        "[...document.querySelectorAll('#log .l')].map((l) => l.getAttribute('data-seq'))",
      )
    ).map(Number);
    expect(shown).toEqual(stored.map((l) => l.seq));
    expect(shown).toEqual(shown.map((_, i) => i + 1));
    const seen = await page.evaluate<Record<string, number>>('window.seen');
    const delays = stored
      .filter((l) => /^tick \d+$/.test(l.line) && seen[l.seq])
      .map((l) => seen[l.seq]! - Date.parse(l.at));
    delays.sort((a, b) => a - b);
    console.log(
      `log line emitted → visible: median ${delays[Math.floor(delays.length / 2)]} ms, max ${delays.at(-1)} ms over ${delays.length} lines (one reconnect)`,
    );
    expect(await page.locator('.timeline tbody tr').count()).toBeGreaterThanOrEqual(4);
    await shot(page, 'run-finished');
  }, 180_000);

  it('shows admin actions on the models and service pages without violations', async () => {
    const { page } = browser;
    await signIn(page, srv.url, admin);
    await page.goto(`${srv.url}/ui/apps/digits/models`);
    await page.locator('#chart canvas').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('button', { hasText: 'Promote' }).count()).toBe(3);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'models-admin');
    await Promise.all([
      page.waitForURL(/\/models$/),
      page.locator('form[aria-label="Promote 1.3.0"] button').click(),
    ]);
    await expect.poll(() => page.locator('main').textContent()).toContain('latest → 1.3.0');
    await page.goto(`${srv.url}/ui/service`);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'service');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${srv.url}/ui/`);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'overview-dark');
    await page.goto(`${srv.url}/ui/runs/${seededRun}`);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'run-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('updates the overview live: a run started elsewhere shows up without a reload', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    const row = page.locator('tr', { has: page.locator('a', { hasText: /^digits$/ }) });
    expect(await row.textContent()).toContain('none yet');
    const res = await fetch(`${srv.url}/api/v1/apps/digits/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"reason":"elsewhere"}',
    });
    const { run } = (await res.json()) as { run: { id: string } };
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain(run.id);
  }, 60_000);
});
