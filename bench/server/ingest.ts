/**
 * Webhook ingestion with autocannon: signed generic deliveries, each with its own delivery
 * id, against the real HTTP server (no worker, so only the front is measured); afterwards
 * the store's rows are counted: every delivery answered 202 must be stored as accepted and
 * have queued (or superseded into) a run.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { defaultServiceStoreUrl } from '../../packages/shipml/src/server/store/registry.js';
import { startProcess } from '../../packages/shipml/test/helpers/server-process.js';
import { cpuSnapshot, cpuUse } from './cpu.js';
import { bench, codeChange, delivery, HOOK_SECRET, log, type Backend } from './setup.js';
import type { Row } from './scenarios.js';

const require = createRequire(import.meta.url);
// autocannon is CommonJS; its types are not installed.
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p97_5: number };
  statusCodeStats: Record<string, { count: number }>;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}>;

export async function ingestion(
  backend: Backend,
  options: { seconds: number; connections: number; branches: 'one' | 'many' },
): Promise<Row> {
  // The repository and database come from the in-process helper (no worker, its HTTP unused);
  // the server measured is `shipml server`, a process of its own, so autocannon's work in this
  // process does not share its event loop.
  const b = await bench(backend, { slots: 0 });
  const file = join(b.root, 'ingest-server.yaml');
  await writeFile(
    file,
    [
      `dataDir: ${b.root}/data-ingest`,
      `database: "${b.db.setting === 'sqlite' ? defaultServiceStoreUrl(join(b.root, 'data')) : b.db.setting}"`,
      'worker: { slots: 0 }',
      'apps:',
      '  - name: app',
      `    repository: ${b.repo.bare}`,
      '    release: manual',
      '    triggers:',
      '      - { type: generic, secret: "${HOOK_SECRET}", branches: ["*"] }',
    ].join('\n'),
  );
  const profile = process.env.BENCH_PROFILE; // a directory: the server writes a CPU profile there
  const server = await startProcess(
    'server',
    file,
    { ...process.env, HOOK_SECRET },
    {
      nodeArgs: [
        ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
        // Extra node options for the server process (experiments: --import a preload, ...).
        ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
    },
  );
  try {
    const commit = await b.repo.commit(codeChange('ingest'));
    // One branch: every delivery coalesces with the queued run (the usual push burst); many:
    // each queues a run of its own branch. Signed before the run: autocannon shares the two
    // cores with the server, and an HMAC and a JSON body per request were its CPU, not the
    // server's.
    const make = (i: number) =>
      delivery(commit, `ingest-${i}`, options.branches === 'one' ? 'main' : `b${i % 1000}`);
    const signed = Array.from({ length: 3000 * options.seconds }, (_, i) => make(i));
    let n = 0;
    const before = cpuSnapshot(server.pid);
    const result = await autocannon({
      url: `${server.url}/hooks/app/generic`,
      connections: options.connections,
      duration: options.seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (req: Record<string, unknown>) => {
            const i = n++;
            const d = signed[i] ?? make(i); // beyond the signed ones: signed now
            return { ...req, headers: d.headers, body: d.body };
          },
        },
      ],
    });
    const after = cpuSnapshot(server.pid);
    // Deliveries in flight when autocannon stopped counting are stored too: wait for them.
    await new Promise((r) => setTimeout(r, 1000));
    const accepted = result.statusCodeStats['202']?.count ?? 0;
    const stored = await b.db.count(
      "select count(*) as n from deliveries where result = 'accepted'",
    );
    const runs = await b.db.count('select count(*) as n from runs');
    const rate = Math.round(accepted / result.duration);
    const { p50, p99 } = result.latency;
    const cpu = cpuUse(before, after, accepted);
    const ok = rate >= 1000 && p99 <= 50 && stored >= accepted && runs >= accepted;
    log(
      `ingestion ${backend} (${options.branches} branch${options.branches === 'one' ? '' : 'es'}): ${rate}/s, p50 ${p50} ms, p99 ${p99} ms, 202 ${accepted}, stored ${stored}, runs ${runs}, other ${result.non2xx} errors ${result.errors}; CPU ms/delivery: server ${cpu.serverMs}, autocannon ${cpu.clientMs}, postgres ${cpu.postgresMs}; cores busy ${cpu.busyCores} (others ${cpu.otherCores})`,
    );
    return {
      scenario: `webhook ingestion (autocannon, ${options.connections} conns, ${options.seconds} s, ${options.branches} branch${options.branches === 'one' ? '' : 'es'})`,
      backend,
      result: `${rate} deliveries/s, p50 ${p50} ms, p99 ${p99} ms; 202: ${accepted}, stored accepted: ${stored}, runs: ${runs}, non-2xx ${result.non2xx}, errors ${result.errors + result.timeouts}`,
      goal: '≥ 1,000/s at p99 ≤ 50 ms, all stored',
      met: ok,
      numbers: {
        rate,
        p50,
        p99,
        accepted,
        stored,
        runs,
        non2xx: result.non2xx,
        errors: result.errors,
        ...cpu,
      },
    };
  } finally {
    await server.stop('SIGTERM');
    await b.close();
  }
}
