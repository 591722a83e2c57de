import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError } from '../core/errors.js';
import type { DeployTargetId } from '../deploy/registry.js';
import { defaultCacheDir } from '../model-store/cache.js';
import { targetOpenerOf } from '../pipeline/assemble.js';
import {
  RunFailedError,
  releasePipeline,
  runPipeline,
  type PipelineOptions,
} from '../pipeline/run.js';
import { RunStore } from '../pipeline/runs.js';
import { runners } from '../runners/registry.js';
import { STAGES, type RunReport, type StageName, type Trigger } from '../pipeline/types.js';
import {
  loadCliConfig,
  openRepository,
  registryAccess,
  type CliContext,
  type CommandRunner,
} from './context.js';
import {
  CONFIG_OPTION,
  commonOptions,
  registryOptions,
  targetOption,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';
import { stageDisplay } from './stages.js';

interface PipelineFlags extends CommonFlags, RegistryFlags {
  config?: string;
  trigger: Trigger;
  reason?: string;
  target?: DeployTargetId;
}

interface RunFlags extends PipelineFlags {
  runner?: string;
  store?: string;
  until?: StageName;
  model?: string;
  force?: boolean;
}

const TRIGGERS: readonly Trigger[] = ['commit', 'model', 'schedule', 'manual'];

function pipelineFlags(cmd: Command): Command {
  targetOption(cmd, 'default: deploy.target');
  return commonOptions(
    registryOptions(
      cmd
        .option(...CONFIG_OPTION)
        .option(
          '--trigger <why>',
          `why this run runs: ${TRIGGERS.join(' | ')} (recorded in the report)`,
          (v: string) => {
            if (!TRIGGERS.includes(v as Trigger))
              throw new ConfigError(`--trigger must be one of ${TRIGGERS.join(', ')}, got "${v}"`);
            return v;
          },
          'manual',
        )
        .option('--reason <text>', 'free text for the report (new model version, schedule name)'),
    ),
  );
}

/** `shipml run` and `shipml release`: the pipeline. */
export function pipelineCommands(run: CommandRunner): Command[] {
  const runCmd = pipelineFlags(
    new Command('run')
      .description(
        'the whole pipeline: resolve → fetch model → test → evaluate → gate → build → push → sign → deploy → verify → record',
      )
      .option(
        '--until <stage>',
        'stop after this stage, e.g. push (release later with shipml release)',
        (v: string) => {
          if (!(STAGES as readonly string[]).includes(v) || v === 'record')
            throw new ConfigError(
              `--until must be a stage (${STAGES.slice(0, -1).join(', ')}), got "${v}"`,
            );
          return v;
        },
      )
      .option(
        '--model <ref>',
        'model to ship instead of model.name:model.channel (name@version or name:channel)',
      )
      .option('--store <url>', 'model store URL (default: as for `shipml model`)')
      .addOption(
        new Option(
          '--runner <kind>',
          `where prepare, test and evaluate run: ${runners.choices} (default: runner.kind, else host)`,
        ).choices(runners.ids),
      )
      .option('--force', 'rebuild even if the inputs equal the last successful run'),
  ).action(async (flags: RunFlags) => {
    await run((ctx) => runAction(ctx, flags), {
      json: Boolean(flags.json),
      debug: Boolean(flags.debug),
    });
  });

  const releaseCmd = pipelineFlags(
    new Command('release')
      .description(
        'deploy and verify an image already built (default: image.repository:latest), e.g. nightly',
      )
      .argument('[image]', 'registry reference (default: image.repository:latest)'),
  ).action(async (image: string | undefined, flags: PipelineFlags) => {
    await run((ctx) => releaseAction(ctx, flags, image), {
      json: Boolean(flags.json),
      debug: Boolean(flags.debug),
    });
  });
  return [runCmd, releaseCmd];
}

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
  const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const base: Omit<PipelineOptions, 'onEvent'> = {
    config: loaded.config,
    configFile,
    env: ctx.env,
    signal: ctx.signal,
    registry,
    cacheDir,
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

async function runAction(ctx: CliContext, flags: RunFlags): Promise<void> {
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

async function releaseAction(ctx: CliContext, flags: PipelineFlags, image?: string): Promise<void> {
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
