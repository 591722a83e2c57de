/**
 * The quality gate: absolute thresholds, and champion/challenger against the model that
 * serves in production. Pure: metrics in, a verdict out, so every rule is unit-tested.
 */
import type { ShipmlConfig } from '../config/schema.js';

export type GateConfig = NonNullable<ShipmlConfig['gate']>;
export type Metrics = Record<string, number>;

/** One rule of the gate, as data (the dashboard draws the value against its bound). */
export interface GateCheck {
  metric: string;
  /** The candidate's value; undefined when its metrics lack it. */
  value: number | undefined;
  op: '>=' | '<=';
  /** The threshold, or the champion's value with the margin applied. */
  bound: number | undefined;
  /** Champion/challenger: the production model it was compared with. */
  champion?: string | undefined;
  /** true passed, false failed, null skipped (no champion, or it lacks the metric). */
  ok: boolean | null;
  /** The line the log shows, e.g. "accuracy 0.954 >= 0.92: ok". */
  text: string;
}

export interface GateVerdict {
  passed: boolean;
  /** One line per rule, e.g. "accuracy 0.954 >= 0.92: ok". */
  checks: string[];
  /** The same rules as data, in the same order. */
  results: GateCheck[];
  /** The first failed rule, as the run's one-line reason. */
  failure: string | undefined;
}

const fmt = (n: number) => String(+n.toPrecision(6));

export function evaluateGate(
  gate: GateConfig,
  candidate: Metrics,
  champion?: { label: string; metrics: Metrics | undefined },
): GateVerdict {
  const results: GateCheck[] = [];
  const check = (ok: boolean | null, text: string, rule: Omit<GateCheck, 'ok' | 'text'>) =>
    results.push({ ...rule, ok, text: ok === null ? text : `${text}: ${ok ? 'ok' : 'FAILED'}` });
  for (const [metric, bound] of Object.entries(gate.thresholds)) {
    const value = candidate[metric];
    if (value === undefined) {
      check(
        false,
        `${metric} missing from the candidate's metrics (have: ${Object.keys(candidate).join(', ') || 'none'})`,
        { metric, value, op: bound.min !== undefined ? '>=' : '<=', bound: bound.min ?? bound.max },
      );
      continue;
    }
    if (bound.min !== undefined)
      check(value >= bound.min, `${metric} ${fmt(value)} >= ${fmt(bound.min)}`, {
        metric,
        value,
        op: '>=',
        bound: bound.min,
      });
    if (bound.max !== undefined)
      check(value <= bound.max, `${metric} ${fmt(value)} <= ${fmt(bound.max)}`, {
        metric,
        value,
        op: '<=',
        bound: bound.max,
      });
  }
  const rule = gate.champion;
  if (rule) {
    const value = candidate[rule.metric];
    const best = champion?.metrics?.[rule.metric];
    const higher = rule.better === 'higher';
    const base = {
      metric: rule.metric,
      value,
      op: higher ? ('>=' as const) : ('<=' as const),
      bound: best === undefined ? undefined : higher ? best - rule.margin : best + rule.margin,
      champion: champion?.label,
    };
    if (!champion) check(null, 'no model in production: champion/challenger skipped', base);
    else if (value === undefined)
      check(false, `${rule.metric} missing from the candidate's metrics`, base);
    else if (best === undefined)
      check(
        null,
        `champion ${champion.label} has no ${rule.metric}: champion/challenger skipped`,
        base,
      );
    else
      check(
        higher ? value >= best - rule.margin : value <= best + rule.margin,
        `${rule.metric} ${fmt(value)} ${higher ? '>=' : '<='} champion ${champion.label} ${fmt(best)} ${higher ? '-' : '+'} margin ${fmt(rule.margin)}`,
        base,
      );
  }
  const failures = results.filter((r) => r.ok === false);
  return {
    passed: failures.length === 0,
    checks: results.map((r) => r.text),
    results,
    failure: failures[0]?.text.replace(/: FAILED$/, ''),
  };
}

/** The metrics object in a command's output: the last stdout line that is a JSON object of numbers. */
export function parseMetrics(stdout: string): Metrics | undefined {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value))
        return numbersOf(value as Record<string, unknown>);
    } catch {
      // not this line
    }
  }
  try {
    const whole = JSON.parse(stdout) as unknown;
    if (whole && typeof whole === 'object' && !Array.isArray(whole))
      return numbersOf(whole as Record<string, unknown>);
  } catch {
    // no JSON object at all
  }
  return undefined;
}

function numbersOf(record: Record<string, unknown>): Metrics {
  return Object.fromEntries(
    Object.entries(record).filter(
      (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
    ),
  );
}
