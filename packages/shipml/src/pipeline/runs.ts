/**
 * The run history on this machine: one JSON report per run under `.shipml/runs/` beside
 * shipml.yaml, written atomically. The skip rule reads the last successful run from here.
 * (`shipml server` keeps the same reports in its database.)
 *
 * Reports are read back through RunReportSchema: a file that is not JSON (damaged, or cut
 * short by a full disk) or not shaped like a report (edited by hand, written by something
 * else) is left out with its reason, never a basis for reusing an image.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { describeIssues } from '../deploy/spec-schema.js';
import { RunReportSchema } from './report-schema.js';
import type { RunInputs, RunReport } from './types.js';

/** A report file left out of the history, and why. */
export interface IgnoredReport {
  file: string;
  reason: string;
}

/**
 * Where a pipeline keeps its history: the skip rule's lookups, the report at the end, and a
 * directory for a run's command logs. RunStore (files beside shipml.yaml) is the CLI's;
 * `shipml server` keeps the same reports in its database.
 */
export interface RunHistory {
  /** A run's command logs go to `<dir>/<run id>/` (prepare.log, test.log). */
  readonly dir: string;
  /** Masks secrets in what is written. */
  readonly redact: (text: string) => string;
  /** Writes the report; returns where it went (shown as the record stage's detail). */
  save(report: RunReport): Promise<string>;
  /** The newest successful run that built (or reused) an image from exactly these inputs. */
  lastSuccessWith(inputs: RunInputs): Promise<RunReport | undefined>;
}

export class RunStore implements RunHistory {
  /** `redact` masks secrets (the CLI passes its redactor): reports are read by people and tools. */
  constructor(
    readonly dir: string,
    readonly redact: (text: string) => string = (text) => text,
  ) {}

  /** A sortable, unique run id: time, then randomness. */
  static newId(now = new Date()): string {
    return `${now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  }

  async save(report: RunReport): Promise<string> {
    const file = join(this.dir, `${report.id}.json`);
    await writeFileAtomic(file, this.redact(JSON.stringify(report, null, 2)) + '\n');
    return file;
  }

  /** Runs, newest first (reports that do not read are left out: see scan). */
  async list(): Promise<RunReport[]> {
    return (await this.scan()).reports;
  }

  /** Runs, newest first, and the report files left out with the reason. */
  async scan(): Promise<{ reports: RunReport[]; ignored: IgnoredReport[] }> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const reports: RunReport[] = [];
    const ignored: IgnoredReport[] = [];
    // Temporaries of writeFileAtomic end in .partial: a report being written is not listed.
    for (const name of names
      .filter((n) => n.endsWith('.json'))
      .sort()
      .reverse()) {
      const file = join(this.dir, name);
      let data: unknown;
      try {
        data = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        ignored.push({ file, reason: `not readable as JSON: ${(err as Error).message}` });
        continue;
      }
      const parsed = RunReportSchema.safeParse(data);
      if (parsed.success) reports.push(parsed.data);
      else ignored.push({ file, reason: `not a run report: ${describeIssues(parsed.error)}` });
    }
    return { reports, ignored };
  }

  /** The newest successful run that built (or reused) an image from exactly these inputs. */
  async lastSuccessWith(inputs: RunInputs): Promise<RunReport | undefined> {
    if (inputs.dirty || !inputs.tree) return undefined;
    const key = inputsKey(inputs);
    return (await this.list()).find(
      (r) =>
        r.kind === 'run' &&
        r.outcome === 'succeeded' &&
        r.image &&
        r.inputs &&
        inputsKey(r.inputs) === key,
    );
  }
}

/** Commit, tree, model digest and config hash: what the skip rule compares. */
export function inputsKey(inputs: RunInputs): string {
  return JSON.stringify([
    inputs.commit,
    inputs.tree,
    inputs.model?.digest ?? null,
    inputs.configHash,
  ]);
}
