/**
 * The server benchmarks (see README.md): runs the scenarios BENCH_SCENARIOS names (default
 * all), prints one table on stdout and writes the rows as JSON to BENCH_RESULTS.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ingestion } from './ingest.js';
import { burst, claimLatency, modelPublish, type Row } from './scenarios.js';
import { log } from './setup.js';
import { killWorkers } from './workers.js';

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const SAMPLES = int('BENCH_SAMPLES', 100);
const INGEST_S = int('BENCH_INGEST_SECONDS', 10);
const CONNECTIONS = int('BENCH_CONNECTIONS', 10);
const RUNS = int('BENCH_RUNS', 200);
const KILL_EVERY_S = int('BENCH_KILL_EVERY', 4);
const WATCH_S = int('BENCH_WATCH_INTERVAL', 2);
const wanted = new Set(
  (process.env.BENCH_SCENARIOS ?? 'latency,burst,model,ingest,workers')
    .split(',')
    .map((s) => s.trim()),
);

// BENCH_INGEST=sqlite-one,postgres-many,…: only these ingestion rows (default all four).
const ingestRows = process.env.BENCH_INGEST?.split(',').map((s) => s.trim());
const ingest = (
  backend: 'sqlite' | 'postgres',
  branches: 'one' | 'many',
): [string, () => Promise<Row>] => [
  ingestRows && !ingestRows.includes(`${backend}-${branches}`) ? 'ingest-skipped' : 'ingest',
  () => ingestion(backend, { seconds: INGEST_S, connections: CONNECTIONS, branches }),
];

const scenarios: Array<[string, () => Promise<Row>]> = [
  ['latency', () => claimLatency('sqlite', SAMPLES)],
  ['latency', () => claimLatency('postgres', SAMPLES)],
  ['burst', () => burst('sqlite')],
  ['burst', () => burst('postgres')],
  ['model', () => modelPublish(WATCH_S, 5)],
  ingest('sqlite', 'one'),
  ingest('sqlite', 'many'),
  ingest('postgres', 'one'),
  ingest('postgres', 'many'),
  ['workers', () => killWorkers(RUNS, KILL_EVERY_S, 600)],
];

const rows: Row[] = [];
let failures = 0;
for (const [name, scenario] of scenarios) {
  if (!wanted.has(name)) continue;
  try {
    rows.push(await scenario());
  } catch (err) {
    failures++;
    log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    rows.push({
      scenario: name,
      backend: '-',
      result: `error: ${(err as Error).message.split('\n')[0]}`,
      goal: '-',
      met: false,
      numbers: {},
    });
  }
}

const head = ['scenario', 'store', 'result', 'goal', 'met'];
const table = rows.map((r) => [
  r.scenario,
  r.backend,
  r.result,
  r.goal,
  r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
process.stdout.write(
  `${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${table.map(line).join('\n')}\n`,
);

const results = process.env.BENCH_RESULTS;
if (results) {
  await mkdir(dirname(results), { recursive: true });
  await writeFile(
    results,
    JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n',
  );
}
process.exit(failures > 0 ? 1 : 0);
