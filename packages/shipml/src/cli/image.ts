import { Command, InvalidArgumentError } from 'commander';
import type { CommandRunner } from './context.js';
import {
  collect,
  commonOptions,
  lazyAction,
  registryOptions,
  type RegistryFlags,
} from './options.js';

/** `shipml image add-model`'s options. */
export interface AddModelFlags extends RegistryFlags {
  config?: string;
  store?: string;
  output?: string;
  tag: string[];
  modelPath?: string;
}

/** `shipml image import`'s options. */
export interface ImportFlags extends RegistryFlags {
  output: string;
  tag: string[];
  env: string[];
  cmd?: string;
  exclude: string[];
  gzipLevel?: number;
}

/** `shipml image copy`'s options. */
export interface CopyFlags extends RegistryFlags {
  tag: string[];
}

const body = () => import('./image-action.js');

/** `shipml image ...`: operations on built images. */
export function imageCommand(run: CommandRunner): Command {
  const image = new Command('image').description(
    'operate on images: inject a new model without rebuilding',
  );
  registryOptions(commonOptions(image.command('add-model')))
    .description(
      'the image plus a model layer (the model replaces nothing: it is a new top layer), pushed or exported',
    )
    .argument('<image>', 'source image: registry reference or oci:DIR[:name]')
    .argument('<model-ref>', 'model: name@version or name:channel')
    .option('-o, --output <where>', 'destination (default: the source repository)')
    .option('-t, --tag <tag>', 'tag to apply (repeatable; default: the source tag)', collect, [])
    .option('--model-path <path>', 'where the model lands (default /models/<name>)')
    .option('--store <url>', 'model store URL')
    .option('-c, --config <file>', 'shipml.yaml to use')
    .action(lazyAction<AddModelFlags>(run, async () => (await body()).addModel));
  image.addCommand(importCommand(run));
  image.addCommand(copyCommand(run));
  return image;
}

/** `shipml image import`: a root filesystem directory as a one-layer image (like `docker import`). */
export function importCommand(run: CommandRunner): Command {
  return registryOptions(commonOptions(new Command('import')))
    .description(
      'make a one-layer image from a root filesystem directory (e.g. from debootstrap), like docker import',
    )
    .argument('<rootfs>', 'directory holding the root filesystem')
    .requiredOption(
      '-o, --output <where>',
      'registry reference | oci:DIR[:name] | docker-archive:FILE | docker',
    )
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: the output reference tag)',
      collect,
      [],
    )
    .option('--env <name=value>', 'environment variable (repeatable)', collect, [])
    .option('--cmd <json>', 'default command as a JSON array, e.g. ["node"]')
    .option(
      '--exclude <dir>',
      'top-level directory to leave out (repeatable; default dev, proc, sys)',
      collect,
      [],
    )
    .option(
      '--gzip-level <level>',
      'gzip level of the layer, 1 (fastest) to 9 (default 6)',
      gzipLevel,
    )
    .action(lazyAction<ImportFlags>(run, async () => (await body()).importRootfs));
}

/** `shipml image copy`: any source to any sink (registry, layout, archive, engine), like crane copy. */
export function copyCommand(run: CommandRunner): Command {
  return registryOptions(commonOptions(new Command('copy')))
    .description(
      'copy an image between registries, OCI layouts, docker archives and the Docker Engine (blobs the target has are skipped)',
    )
    .argument('<source>', 'registry reference or oci:DIR[:name]')
    .argument('<destination>', 'registry reference | oci:DIR[:name] | docker-archive:FILE | docker')
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: the destination or source tag)',
      collect,
      [],
    )
    .action(lazyAction<CopyFlags>(run, async () => (await body()).copy));
}

function gzipLevel(value: string): number {
  const level = Number(value);
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new InvalidArgumentError(
      `--gzip-level must be a whole number from 1 to 9, got "${value}"`,
    );
  return level;
}
