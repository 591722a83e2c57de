import { Command } from 'commander';
import type { CommandRunner } from './context.js';
import {
  collect,
  CONFIG_OPTION,
  lazyAction,
  registryCommandOptions,
  type RegistryFlags,
} from './options.js';

/** `shipml build`'s options. */
export interface BuildFlags extends RegistryFlags {
  config?: string;
  store?: string;
  push?: boolean;
  tag: string[];
  output?: string;
  /** false with --no-model */
  model?: string | false;
}

/** `shipml build`: the app developer's command. */
export function buildCommand(run: CommandRunner): Command {
  const cmd = new Command('build')
    .description('build the app + model image without a Docker daemon, and push or export it')
    .option('--push', 'push to image.repository in shipml.yaml (same as --output registry)')
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: image.tags, else latest and <short-commit>-<model>-<version>)',
      collect,
      [],
    )
    .option(
      '-o, --output <where>',
      'registry | oci:DIR[:name] | docker-archive:FILE | docker | a registry reference',
    )
    .option(
      '--model <ref>',
      'model to package instead of model.name:model.channel (name@version, name:channel, or oci://REGISTRY/REPO:TAG for a ModelPack artifact)',
    )
    .option('--no-model', 'build without a model layer')
    .option('--store <url>', 'model store URL (default: as for `shipml model`)')
    .option(...CONFIG_OPTION);
  return registryCommandOptions(cmd).action(
    lazyAction<BuildFlags>(run, async () => (await import('./build-action.js')).build),
  );
}
