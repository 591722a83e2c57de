/**
 * How a run's stages are shown: a live stage list (listr2) in a terminal, plain timestamped
 * lines in CI or when stderr is not a terminal, nothing with --json (the report says it all).
 * The pipeline only emits events; this file decides how they look.
 */
import type { StageName, RunEvent, StageReport } from '../pipeline/types.js';
import type { CliContext } from './context.js';

export interface StageDisplay {
  onEvent(event: RunEvent): void;
  /** The run ended: settle the display (stages never reached show as not run). */
  close(): Promise<void>;
}

export async function stageDisplay(
  ctx: CliContext,
  stages: readonly StageName[],
  json: boolean,
): Promise<StageDisplay> {
  if (json) return { onEvent: () => undefined, close: () => Promise.resolve() };
  if (ctx.tty) return liveDisplay(ctx, stages);
  return plainDisplay(ctx);
}

const mark: Record<StageReport['status'], string> = {
  succeeded: 'ok',
  failed: 'FAILED',
  skipped: 'skipped',
};

function plainDisplay(ctx: CliContext): StageDisplay {
  const at = () => new Date().toISOString();
  return {
    onEvent(e) {
      if (e.type === 'stage-start') ctx.output.note(`${at()} ${e.stage}: started`);
      else if (e.type === 'stage-log') ctx.output.note(`${at()} ${e.stage} | ${e.line}`);
      else
        ctx.output.note(
          `${at()} ${e.stage}: ${mark[e.report.status]}${e.report.status === 'skipped' ? '' : ` (${e.report.seconds} s)`} ${e.report.detail}`,
        );
    },
    close: () => Promise.resolve(),
  };
}

interface Deferred {
  promise: Promise<StageReport | undefined>;
  resolve: (report: StageReport | undefined) => void;
  output: (line: string) => void;
}

async function liveDisplay(ctx: CliContext, stages: readonly StageName[]): Promise<StageDisplay> {
  const { Listr } = await import('listr2');
  const pending = new Map<StageName, Deferred>();
  for (const stage of stages) {
    let resolve!: Deferred['resolve'];
    const promise = new Promise<StageReport | undefined>((r) => (resolve = r));
    pending.set(stage, { promise, resolve, output: () => undefined });
  }
  const list = new Listr(
    stages.map((stage) => ({
      title: stage,
      task: async (
        _: unknown,
        task: { output: string; title: string; skip: (m: string) => void },
      ) => {
        const d = pending.get(stage)!;
        d.output = (line) => (task.output = ctx.redactor.redact(line));
        const report = await d.promise;
        if (!report) return task.skip(`${stage}: not run`);
        const detail = ctx.redactor.redact(report.detail);
        if (report.status === 'skipped') return task.skip(`${stage}: ${detail}`);
        if (report.status === 'failed') throw new Error(`${stage}: ${detail}`);
        task.title = `${stage} (${report.seconds} s): ${detail}`;
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      rendererOptions: { collapseSubtasks: false, collapseSkips: false, showErrorMessage: true },
    },
  );
  const running = list.run().catch(() => undefined);
  return {
    onEvent(e) {
      const d = pending.get(e.stage);
      if (!d) return;
      if (e.type === 'stage-log') d.output(e.line);
      else if (e.type === 'stage-end') d.resolve(e.report);
    },
    async close() {
      for (const d of pending.values()) d.resolve(undefined);
      await running;
    },
  };
}
