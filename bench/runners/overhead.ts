/**
 * Per-command cost of the command runners (issue 13, "Measure"): the same trivial command
 * (`true`) N times on the host runner, on the container runner, and with `docker run --rm`
 * under the same isolation flags (what a user would script instead). Median and p90 in ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runners } from '../../packages/shipml/src/runners/registry.js';
import type { CommandInput } from '../../packages/shipml/src/runners/types.js';

const N = Number(process.env.BENCH_RUNS ?? 15);
const image = process.env.SHIPML_TEST_BASE_NODE;
if (!image) throw new Error('SHIPML_TEST_BASE_NODE is not set: source .shipml/services/env');

const checkout = mkdtempSync(join(tmpdir(), 'shipml-bench-runner-'));
const at = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

async function time(label: string, once: () => Promise<unknown>): Promise<number> {
  await once(); // warm: image present, code loaded
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = at(ms, 0.5);
  console.log(
    `${label.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   p90 ${at(ms, 0.9).toFixed(0).padStart(5)} ms`,
  );
  return median;
}

try {
  const input: CommandInput = { command: 'true', appDir: checkout, env: {}, timeoutSeconds: 60 };
  const host = await runners.get('host').open({}, { env: process.env });
  const container = await runners
    .get('container')
    .open(runners.get('container').optionsSchema.parse({}), {
      env: process.env,
      defaultImage: image,
    });
  console.log(`[bench] node ${process.version}, N=${N}, image ${image}`);
  const h = await time('host runner (sh -c true)', () => host.run(input));
  const c = await time('container runner (isolated, limits)', () => container.run(input));
  const d = await time('docker run --rm (same flags, docker CLI)', () =>
    Promise.resolve(
      execFileSync(
        'docker',
        [
          ...['run', '--rm', '--read-only', '--cap-drop', 'ALL'],
          ...['--security-opt', 'no-new-privileges', '--network', 'none'],
          ...['--user', '65532:65532', '--memory', '2g', '--pids-limit', '512', '--tmpfs', '/tmp'],
          ...['-v', `${checkout}:/workspace`, '-w', '/workspace', image, 'sh', '-c', 'true'],
        ],
        { stdio: 'ignore' },
      ),
    ),
  );
  console.log(
    `container runner − host runner: ${(c - h).toFixed(0)} ms per command; container runner / docker run: ${(c / d).toFixed(2)}×`,
  );
} finally {
  rmSync(checkout, { recursive: true, force: true });
}
