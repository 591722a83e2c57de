/**
 * The run history on this machine: one JSON report per run under `.shipml/runs/` beside
 * shipml.yaml, written atomically. The skip rule reads the last successful run from here.
 * (`shipml server` keeps the same reports in its database.)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunInputs, RunReport } from './types.js';

export class RunStore {
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
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${report.id}.json`);
    const temp = `${file}.${process.pid}.partial`;
    await writeFile(temp, this.redact(JSON.stringify(report, null, 2)) + '\n');
    await rename(temp, file);
    return file;
  }

  /** Runs, newest first. */
  async list(): Promise<RunReport[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const reports: RunReport[] = [];
    for (const name of names
      .filter((n) => n.endsWith('.json'))
      .sort()
      .reverse()) {
      try {
        reports.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as RunReport);
      } catch {
        // a report being written by a concurrent run, or damaged: not a basis for skipping
      }
    }
    return reports;
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
