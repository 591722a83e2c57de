import { Command } from 'commander';
import { deployTargets, type DeployTargetId } from '../deploy/registry.js';
import type { CommandRunner } from './context.js';
import type * as bodies from './deploy-action.js';
import {
  CONFIG_OPTION,
  lazyAction,
  positiveInteger,
  registryCommandOptions,
  type CommandBody,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';
import { targetOption, targetOverrideOptions } from './target-options.js';

/** Flags that choose and reach the deploy target (all commands of the release side). */
export interface TargetFlags extends RegistryFlags {
  config?: string;
  target?: DeployTargetId;
  app?: string;
  /** And each target's own flags (targetOverrideOptions). */
  [flag: string]: unknown;
}

/** `shipml deploy`'s options. */
export interface DeployFlags extends TargetFlags {
  replicas?: number;
  timeout?: number;
}

const integer = positiveInteger;
const REPLICAS = [
  '--replicas <n>',
  'replicas (default: deploy.replicas)',
  integer('--replicas'),
] as const;

function targetFlags(cmd: Command): Command {
  targetOption(cmd, `default: deploy.target, else ${deployTargets.ids[0]}`);
  targetOverrideOptions(cmd);
  return registryCommandOptions(
    cmd
      .option(...CONFIG_OPTION)
      .option('--app <name>', 'the app on the target (default: deploy.app, else the model name)'),
  );
}

/** `shipml deploy`, `status`, `rollback`, `render`, `destroy`: the operator's commands. */
export function releaseCommands(run: CommandRunner): Command[] {
  // Each command's body, from a module imported only when one of them runs.
  const body = <F extends CommonFlags>(pick: (m: typeof bodies) => CommandBody<F>) =>
    lazyAction<F>(run, async () => pick(await import('./deploy-action.js')));

  const deploy = targetFlags(
    new Command('deploy')
      .description(
        'roll an image out to the target, health-gated; rolls back by itself if it fails',
      )
      .argument('<image>', 'registry reference (tag or @sha256 digest); deployed pinned by digest')
      .option(...REPLICAS)
      .option(
        '--timeout <seconds>',
        'roll back if not done within this many seconds (default: deploy.progressDeadlineSeconds)',
        integer('--timeout'),
      ),
  ).action(body((m) => m.deployAction));

  const status = targetFlags(
    new Command('status')
      .description('what serves now: revision, image, commit, model, ready replicas, URL')
      .option('--history', 'also list the revisions kept for rollback'),
  ).action(body((m) => m.statusAction));

  const rollback = targetFlags(
    new Command('rollback')
      .description(
        'roll back to the previous revision (or --to REVISION), health-gated like deploy',
      )
      .option('--to <revision>', 'revision number (see shipml status --history)', integer('--to')),
  ).action(body((m) => m.rollbackAction));

  const destroy = targetFlags(
    new Command('destroy')
      .description('remove the app from the target: every replica, the load balancer, the history')
      .option('--yes', 'really remove it'),
  ).action(body((m) => m.destroyAction));

  const render = targetFlags(
    new Command('render')
      .description(
        "print a release's manifests (Kubernetes: YAML, for GitOps) without applying them",
      )
      .argument('<image>', 'registry reference (tag or @sha256 digest); rendered pinned by digest')
      .option(...REPLICAS)
      .option('--validate', 'also check them with a server-side dry run on the cluster'),
  ).action(body((m) => m.renderAction));

  return [deploy, status, rollback, render, destroy];
}
