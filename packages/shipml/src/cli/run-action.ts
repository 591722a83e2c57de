/** What `shipml run` and `shipml release` do (imported when one runs). */
import { dirname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { targetOpenerOf } from '../pipeline/assemble.js';
import {
  RunFailedError,
  releasePipeline,
  runPipeline,
  type PipelineOptions,
} from '../pipeline/run.js';
import { RunStore } from '../pipeline/runs.js';
import { STAGES, type RunReport } from '../pipeline/types.js';
import { cacheDirOf, registryAccess } from './access.js';
import { loadCliConfig, openRepository, type CliContext } from './context.js';
import type { CommonFlags } from './options.js';
import type { PipelineFlags, RunFlags } from './run.js';
import { stageDisplay } from './stages.js';

function common(
  ctx: CliContext,
  flags: PipelineFlags,
  loaded: Awaited<ReturnType<typeof loadCliConfig>>,
  image?: string,
) {
  if (!loaded.file)
    throw new ConfigError('no shipml.yaml found in this directory or its parents', {
      hint: 'run shipml init, or pass -c FILE',
    });
  const configFile = loaded.file;
  const registry = registryAccess(ctx, loaded, flags);
  const base: Omit<PipelineOptions, 'onEvent'> = {
    config: loaded.config,
    configFile,
    env: ctx.env,
    signal: ctx.signal,
    registry,
    cacheDir: cacheDirOf(ctx, loaded),
    runs: new RunStore(join(dirname(configFile), '.shipml', 'runs'), (text) =>
      ctx.redactor.redact(text),
    ),
    openTarget: targetOpenerOf(
      { config: loaded.config, configFile, env: ctx.env },
      { target: flags.target, image },
    ),
    trigger: flags.trigger,
    reason: flags.reason,
  };
  return base;
}

/** `shipml run`: the whole pipeline, shown stage by stage. */
export async function runAction(ctx: CliContext, flags: RunFlags): Promise<void> {
  const { repo, loaded } = await openRepository(ctx, flags);
  const base = common(ctx, flags, loaded);
  const until = flags.until;
  const shown = until ? STAGES.slice(0, STAGES.indexOf(until) + 1).concat('record') : [...STAGES];
  const display = await stageDisplay(ctx, shown, Boolean(flags.json));
  await finish(ctx, flags, display, () =>
    runPipeline({
      ...base,
      runner: flags.runner ? { kind: flags.runner, where: '--runner' } : undefined,
      repo: loaded.config.model?.name || flags.model ? repo : undefined,
      until,
      modelRef: flags.model,
      force: flags.force,
      onEvent: (e) => display.onEvent(e),
    }),
  );
}

/** `shipml release`: deploy and verify an image already built. */
export async function releaseAction(
  ctx: CliContext,
  flags: PipelineFlags,
  image?: string,
): Promise<void> {
  const loaded = await loadCliConfig(ctx, flags);
  const reference =
    image ??
    (loaded.config.image?.repository ? `${loaded.config.image.repository}:latest` : undefined);
  if (!reference)
    throw new ConfigError(
      'shipml release needs an image: pass one, or set image.repository in shipml.yaml',
    );
  const base = common(ctx, flags, loaded, reference);
  const display = await stageDisplay(
    ctx,
    ['resolve', 'deploy', 'verify', 'record'],
    Boolean(flags.json),
  );
  await finish(ctx, flags, display, () =>
    releasePipeline({ ...base, image: reference, onEvent: (e) => display.onEvent(e) }),
  );
}

async function finish(
  ctx: CliContext,
  flags: CommonFlags,
  display: { close(): Promise<void> },
  body: () => Promise<RunReport>,
): Promise<void> {
  let report: RunReport;
  try {
    report = await body();
  } catch (err) {
    await display.close();
    if (err instanceof RunFailedError && !flags.json) summary(ctx, err.report);
    throw err;
  }
  await display.close();
  if (flags.json) return ctx.output.json(report);
  summary(ctx, report);
}

function summary(ctx: CliContext, r: RunReport): void {
  const seconds = r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : 0;
  ctx.output.line(
    `${r.kind} ${r.id} ${r.outcome} in ${seconds.toFixed(1)} s (trigger: ${r.trigger}${r.reason ? `, ${r.reason}` : ''})`,
  );
  if (r.reusedFrom)
    ctx.output.line(`  reused  the image of run ${r.reusedFrom} (same commit, model and config)`);
  if (r.image) ctx.output.line(`  image   ${r.image.reference}`);
  if (r.signed)
    ctx.output.line(
      `  signed  key ${r.signed.key.slice(0, 23)}: ${[`signature ${r.signed.signature}`, ...r.signed.attachments.map((a) => `${a.kind} ${a.envelope}`)].join(', ')}`,
    );
  if (r.live) {
    const p = r.live.provenance;
    const what = [
      p.commit ? `commit ${p.commit.slice(0, 12)}` : undefined,
      p.model ? `model ${p.model.name}@${p.model.version}` : undefined,
    ].filter(Boolean);
    const stayed = r.outcome !== 'succeeded' ? ' (production stayed on the last good release)' : '';
    ctx.output.line(
      `  live    revision ${r.live.number}: ${what.join(', ')}${r.url ? ` at ${r.url}` : ''}${stayed}`,
    );
  } else if (r.outcome !== 'succeeded' && r.stages.some((s) => s.name === 'deploy'))
    ctx.output.line('  live    nothing serves');
  const record = r.stages.find((s) => s.name === 'record');
  if (record) ctx.output.line(`  report  ${record.detail}`);
}
