/**
 * Rollback from the dashboard, on a real deployment: the service builds a tiny app twice and
 * releases each build to the Docker target (one replica behind HAProxy on 127.0.0.1), then an
 * admin in Chromium clicks "Roll back to 1" on the App page, confirms, and revision 1's image
 * serves again as revision 3 — checked through the API, on the page and at the load balancer.
 * A read token sees no rollback button, and a forged rollback gets 403.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../src/deploy/docker/target.js';
import {
  ARTIFACTS,
  openBrowser,
  signIn,
  startDashboard,
  type Browser,
  type DashboardService,
} from './helpers/dashboard.js';
import { dockerDeploySection } from './helpers/docker-deploy.js';
import { freePort } from './helpers/ports.js';
import { eventually, testRepo, tinyApp, type TestRepo } from './helpers/server.js';
import { required } from './services.js';

const app = `dashrb-${Math.random().toString(36).slice(2, 7)}`;
const port = await freePort();
const proxyImage = required('SHIPML_TEST_PROXY_IMAGE');
const docker = new DockerTarget({ port, proxyImage });
// The only thing this test may lack is the engine itself: say so, and skip.
const noEngine = await docker.status(app).then(
  () => undefined,
  (err: Error) => err.message,
);
if (noEngine)
  console.warn(
    `dashboard-rollback: skipped, the Docker Engine (DOCKER_HOST or /var/run/docker.sock) is not reachable: ${noEngine}`,
  );

type Revisions = {
  live?: number;
  revisions: Array<{ number: number; image: string; live: boolean; run?: string }>;
};
type Run = { id: string; status: string; report?: { live?: { number: number; image: string } } };

let root: string;
let repo: TestRepo;
let srv: DashboardService;
let browser: Browser;
let admin: string;
let reader: string;

async function api<T>(path: string, token: string, body?: unknown) {
  const res = await fetch(`${srv.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Starts a run of the app and waits (bounded) until it is final. */
async function build(): Promise<Run> {
  const { body } = await api<{ run: Run }>(`/api/v1/apps/${app}/runs`, admin, {});
  return eventually(
    async () => {
      const run = (await api<Run>(`/api/v1/runs/${body.run.id}`, admin)).body;
      return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(run.status)
        ? run
        : undefined;
    },
    `run ${body.run.id}`,
    120_000,
  );
}

/** What the load balancer answers (each revision's app answers its own word). */
async function serving(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

beforeAll(async () => {
  if (noEngine) return;
  root = await mkdtemp(join(tmpdir(), 'shipml-dash-rollback-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const files = tinyApp();
  files['shipml.yaml'] = files['shipml.yaml']!.replace(
    'deploy:\n  app: tiny\n',
    dockerDeploySection(app, port, proxyImage),
  );
  const answer = (word: string) =>
    `require('http').createServer((q, s) => s.end('${word}')).listen(8080, '0.0.0.0');\n`;
  files['index.js'] = answer('one');
  repo = await testRepo(join(root, 'repo'), files);
  srv = await startDashboard(
    `dataDir: ${root}/data\napps:\n  - name: ${app}\n    repository: ${repo.bare}\n    release: on-success\n`,
    { ...process.env },
    root,
  );
  admin = await srv.token('admin');
  reader = await srv.token('read');
  const first = await build();
  expect(first.status).toBe('succeeded');
  await repo.commit({ 'index.js': answer('two') }, 'two');
  const second = await build();
  expect(second.status).toBe('succeeded');
  expect(second.report?.live?.number).toBe(2);
  expect(await serving()).toBe('two');
  browser = await openBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  // Everything the target created for this app (its replicas and its HAProxy), by its labels.
  if (!noEngine) await docker.destroy(app).catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(Boolean(noEngine))('rollback from the dashboard', () => {
  it('an admin rolls back to revision 1 on the App page: after confirming, revision 1 serves again', async () => {
    const { page } = browser;
    const before = (await api<Revisions>(`/api/v1/apps/${app}/revisions`, admin)).body;
    expect(before.live).toBe(2);
    expect(before.revisions.map((r) => [r.number, r.live])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(before.revisions.every((r) => r.run)).toBe(true);
    const image1 = before.revisions.find((r) => r.number === 1)!.image;

    await signIn(page, srv.url, admin);
    await page.goto(`${srv.url}/ui/apps/${app}`);
    const rows = page.locator('#revisions tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.locator('#revisions tr.live th').textContent()).toMatch(/^\s*2\s+live\s*$/);
    // The live revision offers no rollback to itself.
    const buttons = page.locator('#revisions button');
    expect(await buttons.allTextContents()).toEqual(['Roll back to 1']);
    await page.screenshot({ path: join(ARTIFACTS, 'app-rollback-before.png'), fullPage: true });

    // Dismissing the confirmation sends nothing.
    const dialogs: string[] = [];
    page.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.click('button:text-is("Roll back to 1")');
    await expect.poll(() => dialogs.length).toBe(1);
    expect((await api<Revisions>(`/api/v1/apps/${app}/revisions`, admin)).body.live).toBe(2);

    page.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    const posted = page.waitForResponse(
      (r) => r.url().endsWith(`/ui/apps/${app}/rollback`) && r.request().method() === 'POST',
      { timeout: 120_000 },
    );
    await page.click('button:text-is("Roll back to 1")');
    expect((await posted).status()).toBe(303);
    await page.waitForLoadState('domcontentloaded');
    expect(dialogs).toEqual([`Roll ${app} back to revision 1?`, `Roll ${app} back to revision 1?`]);

    const after = (await api<Revisions>(`/api/v1/apps/${app}/revisions`, admin)).body;
    expect(after.live).toBe(3);
    expect(after.revisions[0]).toMatchObject({ number: 3, live: true, image: image1 });
    expect(after.revisions[0]!.run).toBeUndefined();
    expect(await serving()).toBe('one');
    await expect
      .poll(() => page.locator('#revisions tr.live').getAttribute('data-revision'))
      .toBe('3');
    expect(await page.locator('#revisions tr.live').textContent()).toContain('image of 1');
    expect(await page.locator('#app-live').textContent()).toContain('revision 3');
    expect(await page.locator('#revisions button').allTextContents()).toEqual([
      'Roll back to 2',
      'Roll back to 1',
    ]);
    await page.screenshot({ path: join(ARTIFACTS, 'app-rollback-after.png'), fullPage: true });
  }, 180_000);

  it('shows a read token no rollback button, and refuses a forged rollback with 403', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    await page.goto(`${srv.url}/ui/apps/${app}`);
    expect(await page.locator('#revisions tbody tr').count()).toBe(3);
    expect(await page.locator('button', { hasText: /Roll back/ }).count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'app-rollback-read.png'), fullPage: true });
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const forged = await page.request.post(`${srv.url}/ui/apps/${app}/rollback`, {
      form: { csrf, revision: '2' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('admin token');
    const direct = await api<{ error: { code: string } }>(`/api/v1/apps/${app}/rollback`, reader, {
      revision: 2,
    });
    expect(direct.status).toBe(403);
    expect((await api<Revisions>(`/api/v1/apps/${app}/revisions`, reader)).body.live).toBe(3);
    expect(await serving()).toBe('one');
  }, 60_000);
});
