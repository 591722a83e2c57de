/**
 * What the dashboard's browser tests share: a service with the dashboard mounted (started
 * like startService, with dashboardRoutes added before it listens unless http.ts already
 * mounts it), runs seeded through the store, and Debian's chromium driven by playwright-core.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Redactor } from '../../src/core/redact.js';
import { httpServer } from '../../src/server/api/http.js';
import { createToken } from '../../src/server/api/tokens.js';
import { parseServerConfig } from '../../src/server/config/load.js';
import { dashboardRoutes } from '../../src/server/dashboard/index.js';
import { Service } from '../../src/server/service.js';
import { openServiceStore, defaultServiceStoreUrl } from '../../src/server/store/registry.js';
import type { RunRequest, ServiceStore } from '../../src/server/store/types.js';
import type { RunReport } from '../../src/pipeline/types.js';
import type { RunningService } from './server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'dashboard');

export interface DashboardService extends RunningService {
  /** Drops every open connection (the browser's event streams reconnect). */
  dropConnections(): void;
}

export async function startDashboard(
  configText: string,
  env: NodeJS.ProcessEnv,
  dir: string,
): Promise<DashboardService> {
  const file = join(dir, 'shipml-server.yaml');
  await writeFile(file, configText);
  const loaded = parseServerConfig(configText, file, env);
  const logs: string[] = [];
  const service = await Service.open({
    loaded,
    env,
    redactor: new Redactor(),
    log: (line) => logs.push(line),
    worker: true,
    watches: false,
    retryDelaysMs: [100, 200],
  });
  const http = await httpServer(service, '0.0.0-test');
  // Once http.ts mounts the dashboard itself, this adds nothing.
  if (!http.hasRoute({ method: 'GET', url: '/ui/login' })) await dashboardRoutes(http, service);
  const url = await http.listen({ host: '127.0.0.1', port: 0 });
  return {
    service,
    url,
    logs,
    token: async (scope, o = {}) =>
      (await createToken(service.store, { scope, name: `test-${scope}`, ...o })).token,
    dropConnections: () => http.server.closeAllConnections(),
    async stop() {
      await http.close();
      await service.stop();
    },
  };
}

const HEX = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ((seed * 31 + i * 7) % 16).toString(16)).join('');

/** The model changes every 4th run (seven versions, round and round). */
const modelGen = (i: number) => Math.floor(i / 4) % 7;
const modelVersion = (i: number) => `1.${modelGen(i)}.0`;

/** The gate's checks as the pipeline records them: a threshold, and champion/challenger. */
export function seededGate(i: number, failed: boolean): NonNullable<RunReport['gate']> {
  const value = failed ? 0.88 : 0.95;
  const ok = (pass: boolean) => (pass ? 'ok' : 'FAILED');
  const accuracy = { metric: 'accuracy', value, op: '>=' as const };
  const champion = 'digits@1.2.0';
  return {
    passed: !failed,
    checks: [
      { ...accuracy, bound: 0.9, ok: !failed, text: `accuracy ${value} >= 0.9: ${ok(!failed)}` },
      {
        metric: 'latency_ms',
        value: 21.5,
        op: '<=',
        bound: 25,
        ok: true,
        text: 'latency_ms 21.5 <= 25: ok',
      },
      i % 2 === 0
        ? {
            ...accuracy,
            bound: 0.93,
            champion,
            ok: value >= 0.93,
            text: `accuracy ${value} >= champion ${champion} 0.94 - margin 0.01: ${ok(value >= 0.93)}`,
          }
        : {
            ...accuracy,
            bound: undefined,
            ok: null,
            text: 'no model in production: champion/challenger skipped',
          },
    ],
  };
}

/** A finished run's report, shaped like the pipeline's. */
export function seededReport(
  id: string,
  i: number,
  failed: boolean,
  at: Date,
  revision?: number,
): RunReport {
  const stages = [
    'resolve',
    'fetch-model',
    'prepare',
    'test',
    'evaluate',
    'gate',
    'build',
    'push',
  ] as const;
  const failAt = failed ? 5 : -1;
  return {
    id,
    kind: 'run',
    trigger: 'commit',
    reason: undefined,
    startedAt: at.toISOString(),
    finishedAt: new Date(at.getTime() + 42_000).toISOString(),
    outcome: failed ? 'failed' : 'succeeded',
    failure: failed ? { stage: 'gate', message: 'accuracy 0.88 >= 0.9' } : undefined,
    inputs: {
      commit: HEX(40, i),
      tree: HEX(40, i + 1),
      dirty: false,
      model: {
        name: 'digits',
        version: modelVersion(i),
        digest: `sha256:${HEX(64, modelGen(i) + 8)}`,
      },
      configHash: `sha256:${HEX(64, i + 3)}`,
    },
    reusedFrom: undefined,
    image: failed
      ? undefined
      : {
          reference: `127.0.0.1:5000/tiny@sha256:${HEX(64, i + 4)}`,
          digest: `sha256:${HEX(64, i + 4)}`,
        },
    layers: failed
      ? undefined
      : [
          {
            kind: 'dependencies',
            digest: `sha256:${HEX(64, 15)}`,
            size: 48_211_000,
            status: 'mounted',
          },
          {
            kind: 'app',
            digest: `sha256:${HEX(64, i + 5)}`,
            size: 18_400 + (i % 3) * 512,
            status: 'pushed',
          },
          {
            kind: 'model',
            digest: `sha256:${HEX(64, modelGen(i) + 1)}`,
            size: 1_200_000 + modelGen(i) * 4096,
            status: i % 4 === 0 ? 'pushed' : 'reused',
          },
        ],
    metrics: { accuracy: failed ? 0.88 : 0.95, latency_ms: 21.5 },
    // Every 5th report is from before the gate was data (the page parses its log instead).
    gate: i % 5 === 1 ? undefined : seededGate(i, failed),
    stages: stages.slice(0, failed ? failAt + 1 : stages.length).map((name, k) => ({
      name,
      status: k === failAt ? 'failed' : name === 'fetch-model' && i % 2 ? 'skipped' : 'succeeded',
      seconds: [0.4, 1.2, 6, 9.5, 3.1, 0.01, 14, 7.5][k]!,
      detail: k === failAt ? 'accuracy 0.88 >= 0.9: FAILED' : `${name} done`,
    })),
    live:
      revision && !failed
        ? {
            number: revision,
            image: `127.0.0.1:5000/tiny@sha256:${HEX(64, i + 4)}`,
            provenance: {
              commit: HEX(40, i),
              model: {
                name: 'digits',
                version: modelVersion(i),
                digest: `sha256:${HEX(64, modelGen(i) + 8)}`,
              },
            },
            deployedAt: new Date(at.getTime() + 40_000).toISOString(),
          }
        : undefined,
    url: undefined,
  };
}

/** The log lines a run with this report would have written: stage markers and gate checks. */
export function seededLog(
  report: RunReport,
  at: Date,
): Array<{ at: string; stage: string; line: string }> {
  const lines = [{ at: at.toISOString(), stage: 'service', line: 'claimed by seed-worker' }];
  let t = at.getTime();
  for (const s of report.stages) {
    const mark = s.status === 'succeeded' ? '\u2713' : s.status === 'failed' ? '\u2717' : '\u2212';
    lines.push({ at: new Date(t).toISOString(), stage: s.name, line: `\u25b6 ${s.name}` });
    if (s.name === 'test')
      lines.push({ at: new Date(t + 500).toISOString(), stage: 'test', line: '12 tests pass' });
    t += s.seconds * 1000;
    if (s.name === 'gate')
      lines.push({
        at: new Date(t).toISOString(),
        stage: 'gate',
        line: `accuracy ${report.metrics!.accuracy} >= 0.9: ${report.metrics!.accuracy! >= 0.9 ? 'ok' : 'FAILED'}`,
      });
    lines.push({
      at: new Date(t).toISOString(),
      stage: s.name,
      line: `${mark} ${s.name} ${s.status} in ${s.seconds} s: ${s.detail}`,
    });
  }
  return lines;
}

/**
 * Seeds `count` finished runs of `app` straight into the store of `dataDir` (before the
 * service starts, so no worker picks them up): mostly succeeded, every 7th failed at the gate.
 */
export async function seedRuns(dataDir: string, app: string, count: number): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const store: ServiceStore = await openServiceStore(defaultServiceStoreUrl(dataDir));
  try {
    const t0 = Date.now() - count * 60_000;
    for (let i = 0; i < count; i++) {
      const at = new Date(t0 + i * 60_000);
      const request: RunRequest = {
        app,
        kind: 'run',
        cause: { trigger: 'commit', source: 'github', pusher: 'octocat', deliveryId: `d-${i}` },
        branch: 'main',
        commit: HEX(40, i),
        deploys: i % 10 === 9,
      };
      await store.enqueue(request, { now: at.toISOString(), coalesce: false });
      const run = await store.claim({
        worker: 'seed-worker',
        now: at.toISOString(),
        leaseMs: 60_000,
        concurrency: () => 1000,
        apps: [app],
      });
      if (!run) throw new Error('seed: nothing to claim');
      const failed = i % 7 === 3;
      const report = seededReport(
        run.id,
        i,
        failed,
        at,
        i % 10 === 9 ? Math.floor(i / 10) + 1 : undefined,
      );
      await store.appendLog(run.id, seededLog(report, at));
      await store.finish(run.id, 'seed-worker', {
        now: new Date(at.getTime() + 42_000).toISOString(),
        status: failed ? 'failed' : 'succeeded',
        error: failed ? 'gate: accuracy 0.88 >= 0.9' : undefined,
        report,
      });
    }
    const delivery = { source: 'github', app, at: new Date().toISOString() };
    await store.receive({
      delivery: { ...delivery, id: 'd-ok', result: 'accepted', detail: '1 request(s)' },
      requests: [],
    });
    await store.receive({
      delivery: {
        ...delivery,
        id: undefined,
        result: 'rejected',
        detail: 'the signature does not match',
      },
      requests: [],
    });
  } finally {
    await store.close();
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'shipml-dash-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1280, height: 900 },
    // axe-core is injected as a script; the dashboard's CSP (rightly) allows none but its own.
    bypassCSP: true,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form (the token goes in a POST body, never a URL). */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${url}/ui/login`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(`${url}/ui/`), page.click('button:has-text("Sign in")')]);
}
