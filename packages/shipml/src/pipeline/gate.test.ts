import { describe, expect, it } from 'vitest';
import { evaluateGate, parseMetrics } from './gate.js';

describe('evaluateGate', () => {
  const gate = {
    thresholds: { accuracy: { min: 0.92 }, latency_ms: { max: 40 } },
    champion: { metric: 'accuracy', margin: 0.01, better: 'higher' as const },
  };

  it('passes a candidate within every bound and close enough to the champion', () => {
    const v = evaluateGate(
      gate,
      { accuracy: 0.95, latency_ms: 12 },
      { label: 'm@1', metrics: { accuracy: 0.955 } },
    );
    expect(v.passed).toBe(true);
    expect(v.checks).toEqual([
      'accuracy 0.95 >= 0.92: ok',
      'latency_ms 12 <= 40: ok',
      'accuracy 0.95 >= champion m@1 0.955 - margin 0.01: ok',
    ]);
  });

  it('names the metric, value and bound of the first failure', () => {
    const v = evaluateGate(gate, { accuracy: 0.108, latency_ms: 50 });
    expect(v.passed).toBe(false);
    expect(v.failure).toBe('accuracy 0.108 >= 0.92');
    expect(v.checks).toContain('latency_ms 50 <= 40: FAILED');
    expect(v.checks).toContain('no model in production: champion/challenger skipped');
  });

  it('fails a candidate worse than the champion by more than the margin, either direction', () => {
    expect(
      evaluateGate(
        gate,
        { accuracy: 0.93, latency_ms: 1 },
        { label: 'm@1', metrics: { accuracy: 0.95 } },
      ).failure,
    ).toBe('accuracy 0.93 >= champion m@1 0.95 - margin 0.01');
    const lower = {
      thresholds: {},
      champion: { metric: 'loss', margin: 0.1, better: 'lower' as const },
    };
    expect(
      evaluateGate(lower, { loss: 0.5 }, { label: 'm@1', metrics: { loss: 0.3 } }).failure,
    ).toBe('loss 0.5 <= champion m@1 0.3 + margin 0.1');
    expect(
      evaluateGate(lower, { loss: 0.35 }, { label: 'm@1', metrics: { loss: 0.3 } }).passed,
    ).toBe(true);
  });

  it('a metric the candidate lacks fails; one the champion lacks skips the comparison', () => {
    expect(evaluateGate(gate, { latency_ms: 1 }).failure).toBe(
      "accuracy missing from the candidate's metrics (have: latency_ms)",
    );
    const v = evaluateGate(gate, { accuracy: 0.95, latency_ms: 1 }, { label: 'm@1', metrics: {} });
    expect(v.passed).toBe(true);
    expect(v.checks).toContain('champion m@1 has no accuracy: champion/challenger skipped');
  });

  it('gives every rule as data: value, bound, comparison and result', () => {
    const v = evaluateGate(
      gate,
      { accuracy: 0.93, latency_ms: 50 },
      { label: 'm@1', metrics: { accuracy: 0.95 } },
    );
    expect(v.results.map(({ text: _, ...r }) => r)).toEqual([
      { metric: 'accuracy', value: 0.93, op: '>=', bound: 0.92, ok: true },
      { metric: 'latency_ms', value: 50, op: '<=', bound: 40, ok: false },
      { metric: 'accuracy', value: 0.93, op: '>=', bound: 0.94, champion: 'm@1', ok: false },
    ]);
    expect(v.results.map((r) => r.text)).toEqual(v.checks);
    expect(evaluateGate(gate, { accuracy: 1, latency_ms: 1 }).results[2]).toMatchObject({
      ok: null,
      bound: undefined,
    });
  });
});

describe('parseMetrics', () => {
  it('takes the last JSON object line, numbers only', () => {
    expect(
      parseMetrics(
        'loading\n{"accuracy":0.5}\nevaluated 2000 samples\n{"accuracy":0.954,"n":2000,"name":"x"}\n',
      ),
    ).toEqual({
      accuracy: 0.954,
      n: 2000,
    });
  });
  it('accepts a pretty-printed object as the whole output, and nothing else', () => {
    expect(parseMetrics('{\n  "f1": 0.8\n}\n')).toEqual({ f1: 0.8 });
    expect(parseMetrics('no metrics here')).toBeUndefined();
    expect(parseMetrics('[1,2]')).toBeUndefined();
  });
});
