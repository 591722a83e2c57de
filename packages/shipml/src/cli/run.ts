import { Command, Option } from 'commander';
import { ConfigError } from '../core/errors.js';
import type { DeployTargetId } from '../deploy/registry.js';
import { STAGES, type StageName, type Trigger } from '../pipeline/types.js';
import { runners } from '../runners/registry.js';
import type { CommandRunner } from './context.js';
import {
  CONFIG_OPTION,
  lazyAction,
  registryCommandOptions,
  type RegistryFlags,
} from './options.js';
import { targetOption } from './target-options.js';

/** The options `shipml run` and `shipml release` share. */
export interface PipelineFlags extends RegistryFlags {
  config?: string;
  trigger: Trigger;
  reason?: string;
  target?: DeployTargetId;
}

/** `shipml run`'s options. */
export interface RunFlags extends PipelineFlags {
  runner?: string;
  store?: string;
  until?: StageName;
  model?: string;
  force?: boolean;
}

const TRIGGERS: readonly Trigger[] = ['commit', 'model', 'schedule', 'manual'];

function pipelineFlags(cmd: Command): Command {
  targetOption(cmd, 'default: deploy.target');
  return registryCommandOptions(
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
  ).action(lazyAction<RunFlags>(run, async () => (await import('./run-action.js')).runAction));

  const releaseCmd = pipelineFlags(
    new Command('release')
      .description(
        'deploy and verify an image already built (default: image.repository:latest), e.g. nightly',
      )
      .argument('[image]', 'registry reference (default: image.repository:latest)'),
  ).action(
    lazyAction<PipelineFlags>(run, async () => (await import('./run-action.js')).releaseAction),
  );
  return [runCmd, releaseCmd];
}
