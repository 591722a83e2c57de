import { Command } from 'commander';
import { imageBuilders } from '../builders/registry.js';
import { ConfigError } from '../core/errors.js';
import { deployTargets } from '../deploy/registry.js';
import {
  ciSystems,
  DEFAULT_TARGET,
  describeChange,
  initProject,
  PUBLIC_NODE_BASE,
  remoteStoreForms,
  type CiSystemId,
} from '../init/index.js';
import type { CliContext, CommandRunner } from './context.js';
import { action, commonOptions, type CommonFlags } from './options.js';
import { targetOverrideOptions, targetOverrides } from './target-options.js';

interface InitFlags extends CommonFlags {
  model?: string;
  store?: string;
  image?: string;
  target?: string;
  builder?: string;
  base?: string;
  ci: string;
  branch?: string;
  force?: boolean;
}

/** `shipml init [dir]`: set up an existing repository for ShipML. */
export function initCommand(run: CommandRunner): Command {
  const cmd = new Command('init')
    .description(
      'detect the app (package.json or Dockerfile) and write shipml.yaml and CI definitions that call shipml',
    )
    .argument('[dir]', 'the app directory', '.')
    .option('--model <name>', 'model name (default: from the directory name)')
    .option('--store <url>', `model store: ${remoteStoreForms()}`)
    .option(
      '--image <repository>',
      'where images go: registry/repository, e.g. myacr.azurecr.io/app',
    )
    .option(
      '--target <kind>',
      `where releases go: ${deployTargets.choices} (default: ${DEFAULT_TARGET})`,
    )
    .option(
      '--builder <kind>',
      `${imageBuilders.choices}, when both package.json and Dockerfile exist (default: dockerfile)`,
    )
    .option(
      '--base <image>',
      `base image of the Node.js builder (default: the local one scripts/base-images.sh built, else ${PUBLIC_NODE_BASE})`,
    )
    .option(
      '--ci <list>',
      `CI definitions to write: ${ciSystems.ids.join(',')} or none`,
      ciSystems.ids.join(','),
    )
    .option('--branch <name>', 'releases come from this branch (default: the repository default)')
    .option('--force', 'overwrite existing CI files; change values an existing shipml.yaml sets');
  // The deploy targets' own flags (--port for docker, ...) go into deploy.<target>.
  targetOverrideOptions(cmd);
  return commonOptions(cmd).action(action<InitFlags>(run, init));
}

async function init(ctx: CliContext, flags: InitFlags, dir: string): Promise<void> {
  const target =
    flags.target === undefined ? undefined : deployTargets.get(flags.target, '--target').id;
  const result = await initProject({
    dir,
    cwd: ctx.cwd,
    model: flags.model,
    store: flags.store,
    image: flags.image,
    // An unknown id is a ConfigError naming the valid ones (the registries' own message).
    target,
    targetOptions: targetOverrides(target ?? DEFAULT_TARGET, { ...flags }) as Record<
      string,
      string | number
    >,
    env: ctx.env,
    builder:
      flags.builder === undefined ? undefined : imageBuilders.get(flags.builder, '--builder').id,
    base: flags.base,
    ci: ciList(flags.ci),
    branch: flags.branch,
    force: Boolean(flags.force),
  });
  if (flags.json) return ctx.output.json(result);

  const out = ctx.output;
  const { project } = result;
  const kind = project.kind === 'node' ? 'a Node.js app' : 'an app with a Dockerfile';
  out.line(`${kind} in ${project.dir}: model ${project.model}, app ${project.app}`);
  for (const file of result.files) {
    out.line(`  ${file.action} ${file.display}`);
    if (file.what === 'config')
      for (const change of result.changes)
        if (change.action !== 'kept') out.line(`    ${describeChange(change)}`);
  }
  for (const note of result.notes) out.note(`note: ${note}`);
  out.line('');
  out.line('next steps:');
  result.nextSteps.forEach((step, i) => out.line(`  ${i + 1}. ${step}`));
}

/** `github,azure` or `none`: each a CI system's id. */
function ciList(value: string): CiSystemId[] {
  if (value.trim() === 'none') return [];
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new ConfigError(
      `--ci needs one or more of ${ciSystems.ids.join(', ')} (comma-separated) or none`,
    );
  return list.map((item) => ciSystems.get(item, '--ci').id);
}
