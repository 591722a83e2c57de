/**
 * The Run page's gate and image cards and the App page's revision history, against a real
 * service with seeded runs and Debian's chromium: the gate's checks come from report.gate
 * (value drawn against bound; the log only for older reports), the layers say what changed
 * since the previous build of the branch (the API's /changes), and the revision history comes
 * from the deploy target through /revisions — with a clear error, never a crash, when the
 * target cannot be opened or its engine does not answer.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/server/store/types.js';
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
import { freePort } from './helpers/ports.js';
import { testRepo, tinyApp } from './helpers/server.js';

let root: string;
let srv: DashboardService;
let browser: Browser;
let reader: string;
/** Seeded runs of tiny, oldest first: index i is the seed's i. */
let seeded: RunRecord[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-dash-details-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const tiny = await testRepo(join(root, 'tiny'), tinyApp());
  const files = tinyApp();
  files['shipml.yaml'] = files['shipml.yaml']!.replace('deploy:\n  app: tiny\n', '');
  const nodeploy = await testRepo(join(root, 'nodeploy'), files);
  files['shipml.yaml'] += 'deploy:\n  target: kubernetes\n';
  const nocluster = await testRepo(join(root, 'nocluster'), files);
  const closed = await freePort();
  await seedRuns(join(root, 'data'), 'tiny', 30);
  srv = await startDashboard(
    `
dataDir: ${root}/data
worker: { slots: 1, leaseSeconds: 10 }
apps:
  - name: tiny
    repository: ${tiny.bare}
    release: manual
  - name: nodeploy
    repository: ${nodeploy.bare}
    release: manual
  - name: nocluster
    repository: ${nocluster.bare}
    release: manual
    env: { KUBECONFIG: '${root}/no-such-kubeconfig' }
  - name: gone
    repository: ${tiny.bare}
    release: manual
    env: { DOCKER_HOST: 'tcp://127.0.0.1:${closed}' }
`,
    { ...process.env },
    root,
  );
  reader = await srv.token('read');
  seeded = (await srv.service.store.listRuns({ app: 'tiny', limit: 500 })).runs.reverse();
  browser = await openBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await rm(root, { recursive: true, force: true });
});

async function get<T>(path: string, token = reader): Promise<{ status: number; body: T }> {
  const res = await fetch(`${srv.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as T };
}

type Changes = {
  previous?: { id: string };
  layers: Array<{
    kind: string;
    change: string;
    now?: { digest: string; size: number };
    before?: { digest: string };
  }>;
  model?: { changed: boolean; before?: { version: string }; now?: { version: string } };
};

describe('run details through the API', () => {
  it('compares a build with the previous succeeded build of its branch, layer by layer', async () => {
    // Independently of the route: the previous succeeded run with layers, from the store's list.
    const previousOf = (i: number) =>
      seeded
        .slice(0, i)
        .reverse()
        .find((r) => r.status === 'succeeded' && r.report?.layers?.length);
    for (const i of [8, 9, 11]) {
      const run = seeded[i]!;
      const prev = previousOf(i)!;
      const { status, body } = await get<Changes>(`/api/v1/runs/${run.id}/changes`);
      expect(status).toBe(200);
      expect(body.previous?.id, `run ${i}`).toBe(prev.id);
      const kinds = Object.fromEntries(body.layers.map((l) => [l.kind, l]));
      expect(Object.keys(kinds)).toEqual(['dependencies', 'app', 'model']);
      for (const l of run.report!.layers!) {
        const b = prev.report!.layers!.find((x) => x.kind === l.kind)!;
        expect(kinds[l.kind]).toMatchObject({
          change: b.digest === l.digest ? 'unchanged' : 'changed',
          now: { digest: l.digest, size: l.size },
          before: { digest: b.digest },
        });
      }
      expect(body.model).toMatchObject({
        changed: prev.report!.inputs!.model!.digest !== run.report!.inputs!.model!.digest,
        before: { version: prev.report!.inputs!.model!.version },
        now: { version: run.report!.inputs!.model!.version },
      });
    }
    // The seed changes the model every 4th run: 7 → 8 changed it, 8 → 9 did not.
    expect((await get<Changes>(`/api/v1/runs/${seeded[8]!.id}/changes`)).body.model?.changed).toBe(
      true,
    );
    expect((await get<Changes>(`/api/v1/runs/${seeded[9]!.id}/changes`)).body.model?.changed).toBe(
      false,
    );
    const first = await get<Changes>(`/api/v1/runs/${seeded[0]!.id}/changes`);
    expect(first.body.previous).toBeUndefined();
    expect(first.body.layers.map((l) => l.change)).toEqual(['added', 'added', 'added']);
    const failed = await get<Changes>(`/api/v1/runs/${seeded[10]!.id}/changes`);
    expect(failed.body.layers).toEqual([]);
    expect((await fetch(`${srv.url}/api/v1/runs/${seeded[8]!.id}/changes`)).status).toBe(401);
    expect((await get<unknown>('/api/v1/runs/no-such-run/changes')).status).toBe(404);
  });

  it('lists revisions from the deploy target, and says clearly why when it cannot', async () => {
    const tiny = await get<{ target: string; app: string; revisions: unknown[] }>(
      '/api/v1/apps/tiny/revisions',
    );
    expect(tiny.status).toBe(200);
    expect(tiny.body).toMatchObject({ target: 'docker', app: 'tiny', revisions: [] });
    // No deploy section: the service deploys such an app to the default target under its own
    // name (app-runtime.ts), so that is where its history is.
    const none = await get<{ target: string; app: string }>('/api/v1/apps/nodeploy/revisions');
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ target: 'docker', app: 'nodeploy' });
    const misconfigured = await get<{ error: { code: string; message: string } }>(
      '/api/v1/apps/nocluster/revisions',
    );
    expect(misconfigured.status, JSON.stringify(misconfigured.body)).toBeLessThan(500);
    expect(misconfigured.status).toBeGreaterThanOrEqual(400);
    expect(misconfigured.body.error.message).toContain('no-such-kubeconfig');
    const gone = await get<{ error: { code: string; message: string } }>(
      '/api/v1/apps/gone/revisions',
    );
    expect(gone.status).toBe(502);
    expect(gone.body.error.code).not.toBe('INTERNAL');
    expect(gone.body.error.message).toMatch(/127\.0\.0\.1|engine|answer/);
    expect(gone.body.error.message).not.toContain('\n');
    expect((await get<unknown>('/api/v1/apps/nobody/revisions')).status).toBe(404);
    const doc = await get<{ paths: Record<string, unknown> }>('/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/apps/{app}/revisions', '/api/v1/runs/{id}/changes']),
    );
  });
});

describe('run details in the browser', () => {
  it("draws the gate's checks from report.gate, and parses the log only for older reports", async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    await page.goto(`${srv.url}/ui/runs/${seeded[8]!.id}`);
    const rows = page.locator('table.gate tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await page.locator('#gate-h .badge').textContent()).toBe('passed');
    const cells = await page.evaluate<string[][]>(
      "[...document.querySelectorAll('table.gate tbody tr')].map((tr) => [...tr.children].slice(0, 4).map((c) => c.textContent.trim()))",
    );
    expect(cells[0]).toEqual(['accuracy', '0.95', '>= 0.9', 'passed']);
    expect(cells[1]).toEqual(['latency_ms', '21.5', '<= 25', 'passed']);
    expect(cells[2]![2]).toContain('champion digits@1.2.0');
    expect(await page.locator('table.gate svg.gate-bar').count()).toBe(3);
    expect(await page.locator('table.gate svg').first().getAttribute('aria-label')).toBe(
      'accuracy 0.95, bound >= 0.9: passed',
    );
    expect(await seriousViolations(page)).toEqual([]);
    await page.locator('#gate-h').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'run-gate-layers.png'), fullPage: true });

    // A failed check: the value's marker sits on the failing side of the bound.
    await page.goto(`${srv.url}/ui/runs/${seeded[10]!.id}`);
    expect(await page.locator('#gate-h .badge').textContent()).toBe('failed');
    const marker = page.locator('table.gate tbody tr').first();
    expect(await marker.locator('td').nth(2).textContent()).toContain('failed');
    const x = async (sel: string) => Number(await marker.locator(sel).getAttribute('x'));
    expect(await x('.gate-value.gate-failed')).toBeLessThan(await x('.gate-bound'));
    expect(await page.locator('table.gate tbody tr').nth(2).textContent()).toContain('champion');
    await page.screenshot({ path: join(ARTIFACTS, 'run-gate-failed.png'), fullPage: true });
    // Champion/challenger with no model in production: skipped, said in words, no bar.
    await page.goto(`${srv.url}/ui/runs/${seeded[9]!.id}`);
    const skipped = page.locator('table.gate tbody tr').nth(2);
    expect(await skipped.locator('td').nth(2).textContent()).toContain('skipped');
    expect(await skipped.locator('svg').count()).toBe(0);
    expect(await skipped.textContent()).toContain('no model in production');

    // A report from before report.gate: the checks come from the gate stage's log lines.
    expect(seeded[11]!.report?.gate).toBeUndefined();
    await page.goto(`${srv.url}/ui/runs/${seeded[11]!.id}`);
    const old = await page.locator('table.gate tbody tr').first().textContent();
    expect(old).toMatch(/accuracy\s*0\.95\s*>=\s*0\.9\s*passed/);
    expect(await page.locator('table.gate svg').count()).toBe(0);
  });

  it('shows per layer whether its digest changed since the last build, and the model before → after', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    await page.goto(`${srv.url}/ui/runs/${seeded[8]!.id}`);
    const change = async (kind: string) =>
      (await page.locator(`table.layers tr:has(th:text-is("${kind}")) td .badge`).textContent())!;
    expect(await change('dependencies')).toBe('unchanged');
    expect(await change('app')).toBe('changed');
    expect(await change('model')).toBe('changed');
    const summary = await page.locator('section[aria-labelledby=img-h]').textContent();
    expect(summary).toContain(seeded[7]!.id);
    expect(summary).toContain('digits@1.1.0 → digits@1.2.0');
    expect(summary).toMatch(/was [0-9a-f]{12}/);
    await page.goto(`${srv.url}/ui/runs/${seeded[9]!.id}`);
    expect(await change('model')).toBe('unchanged');
    expect(await page.locator('section[aria-labelledby=img-h]').textContent()).toContain(
      'same model',
    );
    await page.goto(`${srv.url}/ui/runs/${seeded[0]!.id}`);
    expect(await page.locator('section[aria-labelledby=img-h]').textContent()).toContain(
      'First build of this branch',
    );
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('shows why there is no revision history on the App page instead of failing', async () => {
    const { page } = browser;
    await signIn(page, srv.url, reader);
    for (const [app, text] of [
      ['nocluster', 'no-such-kubeconfig'],
      ['gone', 'unreachable'],
      ['tiny', 'Nothing deployed on docker as tiny yet'],
    ] as const) {
      const res = await page.goto(`${srv.url}/ui/apps/${app}`);
      expect(res?.status(), app).toBe(200);
      expect(await page.locator('section[aria-labelledby=revisions-h]').textContent()).toContain(
        text,
      );
      expect(await seriousViolations(page), app).toEqual([]);
    }
    await page.goto(`${srv.url}/ui/apps/gone`);
    await page.screenshot({ path: join(ARTIFACTS, 'app-target-unreachable.png'), fullPage: true });
  }, 60_000);
});
