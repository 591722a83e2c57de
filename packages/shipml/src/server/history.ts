/**
 * The pipeline's RunHistory on the service's store: the skip rule looks across every run the
 * service ever did (a branch and a tag pushing one commit, or a rerun, build once), and
 * reports also land on disk beside the run's command logs.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { inputsKey, type RunHistory } from '../pipeline/runs.js';
import type { RunInputs, RunReport } from '../pipeline/types.js';
import type { ServiceStore } from './store/types.js';

export class StoreHistory implements RunHistory {
  constructor(
    private readonly store: ServiceStore,
    readonly dir: string,
    readonly redact: (text: string) => string,
  ) {}

  async save(report: RunReport): Promise<string> {
    const file = join(this.dir, report.id, 'report.json');
    await writeFileAtomic(file, this.redact(JSON.stringify(report, null, 2)) + '\n');
    return `run ${report.id} (${file})`;
  }

  async lastSuccessWith(inputs: RunInputs): Promise<RunReport | undefined> {
    if (inputs.dirty || !inputs.tree) return undefined;
    return (await this.store.lastSuccessWith(inputsKey(inputs)))?.report;
  }
}
