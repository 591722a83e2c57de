/**
 * The quality gate: absolute thresholds, and champion/challenger against the model that
 * serves in production. Pure: metrics in, a verdict out, so every rule is unit-tested.
 */
import type { ShipmlConfig } from '../config/schema.js';

export type GateConfig = NonNullable<ShipmlConfig['gate']>;
export type Metrics = Record<string, number>;

export interface GateVerdict {
  passed: boolean;
  /** One line per rule, e.g. "accuracy 0.954 >= 0.92: ok". */
  checks: string[];
  /** The first failed rule, as the run's one-line reason. */
  failure: string | undefined;
}

const fmt = (n: number) => String(+n.toPrecision(6));

export function evaluateGate(
  gate: GateConfig,
  candidate: Metrics,
  champion?: { label: string; metrics: Metrics | undefined },
): GateVerdict {
  const checks: string[] = [];
  const failures: string[] = [];
  const check = (ok: boolean, text: string) => {
    checks.push(`${text}: ${ok ? 'ok' : 'FAILED'}`);
    if (!ok) failures.push(text);
  };
  for (const [metric, bound] of Object.entries(gate.thresholds)) {
    const value = candidate[metric];
    if (value === undefined) {
      check(
        false,
        `${metric} missing from the candidate's metrics (have: ${Object.keys(candidate).join(', ') || 'none'})`,
      );
      continue;
    }
    if (bound.min !== undefined)
      check(value >= bound.min, `${metric} ${fmt(value)} >= ${fmt(bound.min)}`);
    if (bound.max !== undefined)
      check(value <= bound.max, `${metric} ${fmt(value)} <= ${fmt(bound.max)}`);
  }
  const rule = gate.champion;
  if (rule && champion) {
    const value = candidate[rule.metric];
    const best = champion.metrics?.[rule.metric];
    if (value === undefined) check(false, `${rule.metric} missing from the candidate's metrics`);
    else if (best === undefined)
      checks.push(`champion ${champion.label} has no ${rule.metric}: champion/challenger skipped`);
    else if (rule.better === 'higher')
      check(
        value >= best - rule.margin,
        `${rule.metric} ${fmt(value)} >= champion ${champion.label} ${fmt(best)} - margin ${fmt(rule.margin)}`,
      );
    else
      check(
        value <= best + rule.margin,
        `${rule.metric} ${fmt(value)} <= champion ${champion.label} ${fmt(best)} + margin ${fmt(rule.margin)}`,
      );
  } else if (rule) checks.push('no model in production: champion/challenger skipped');
  return { passed: failures.length === 0, checks, failure: failures[0] };
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
