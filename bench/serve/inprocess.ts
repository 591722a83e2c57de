/**
 * The limit the HTTP server is measured against: the same model's session.run rate in one
 * process, batch size 1, called back to back (no HTTP, no JSON). Also writes the request body
 * the load generator sends (one held-out digit) so every scenario scores the same input.
 *
 *   tsx bench/serve/inprocess.ts --model DIR --seconds 10 --body-out FILE
 *
 * Prints one JSON line: {"runs", "seconds", "rps", "p50_us", "p99_us", "label"}.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DigitModel, INPUT_SIZE } from '../../examples/digits/src/model.js';
import { loadSplit, sample } from '../../examples/digits/train/data.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    'body-out': { type: 'string' },
  },
});
if (!values.model) throw new Error('--model DIR is required');
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 120)) throw new Error('--seconds must be in (0, 120]');

const digit = sample(loadSplit().test, 0);
if (values['body-out']) {
  writeFileSync(
    values['body-out'],
    JSON.stringify({ input: Array.from(digit, (v) => Math.round(v * 1000) / 1000) }),
  );
}

const model = await DigitModel.load(values.model, { intraOpThreads: 1 });
const input = new Float32Array(digit);
let out = await model.run(input, 1);
// Warm-up for a second, then measure; latencies are kept in a bounded buffer.
const warmEnd = performance.now() + 1000;
while (performance.now() < warmEnd) out = await model.run(new Float32Array(input), 1);
const latencies = new Float64Array(5_000_000);
let runs = 0;
const start = performance.now();
const end = start + seconds * 1000;
for (let now = start; now < end && runs < latencies.length;) {
  // A fresh input each call, as a server would build one per request.
  const x = new Float32Array(INPUT_SIZE);
  x.set(input);
  out = await model.run(x, 1);
  const after = performance.now();
  latencies[runs++] = after - now;
  now = after;
}
const elapsed = (performance.now() - start) / 1000;
const sorted = latencies.subarray(0, runs).sort();
const pct = (p: number) =>
  Math.round(sorted[Math.min(runs - 1, Math.floor((p / 100) * runs))]! * 1000);
let best = 0;
for (let k = 1; k < out.length; k++) if (out[k]! > out[best]!) best = k;
await model.release();
process.stdout.write(
  JSON.stringify({
    runs,
    seconds: elapsed,
    rps: runs / elapsed,
    p50_us: pct(50),
    p99_us: pct(99),
    label: model.labels[best],
  }) + '\n',
);
