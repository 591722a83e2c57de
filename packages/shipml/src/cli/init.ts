import { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { CI_SYSTEMS, initProject, type CiSystem } from '../init/index.js';
import type { CliContext, CommandRunner } from './context.js';
import { commonOptions, type CommonFlags } from './options.js';

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
    .option('--store <url>', 'model store: s3://BUCKET/PREFIX or azblob://ACCOUNT/CONTAINER/PREFIX')
    .option(
      '--image <repository>',
      'where images go: registry/repository, e.g. myacr.azurecr.io/app',
    )
    .option('--target <kind>', 'where releases go: docker | kubernetes (default: docker)')
    .option(
      '--builder <kind>',
      'node | dockerfile, when both package.json and Dockerfile exist (default: dockerfile)',
    )
    .option('--base <image>', 'base image of the Node.js builder (default: node:22-bookworm-slim)')
    .option(
      '--ci <list>',
      `CI definitions to write: ${CI_SYSTEMS.join(',')} or none`,
      'github,azure',
    )
    .option('--branch <name>', 'releases come from this branch (default: the repository default)')
    .option('--force', 'overwrite existing files');
  return commonOptions(cmd).action(async (dir: string, flags: InitFlags) => {
    await run((ctx) => init(ctx, dir, flags), {
      json: Boolean(flags.json),
      debug: Boolean(flags.debug),
    });
  });
}

async function init(ctx: CliContext, dir: string, flags: InitFlags): Promise<void> {
  const result = await initProject({
    dir,
    cwd: ctx.cwd,
    model: flags.model,
    store: flags.store,
    image: flags.image,
    target: oneOf('--target', flags.target, ['docker', 'kubernetes']),
    builder: oneOf('--builder', flags.builder, ['node', 'dockerfile']),
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
  for (const file of result.files) out.line(`  ${file.action} ${file.display}`);
  for (const note of result.notes) out.note(`note: ${note}`);
  out.line('');
  out.line('next steps:');
  result.nextSteps.forEach((step, i) => out.line(`  ${i + 1}. ${step}`));
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as string[]).includes(value)) return value as T;
  throw new ConfigError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
}

function ciList(value: string): CiSystem[] {
  if (value.trim() === 'none') return [];
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new ConfigError('--ci needs github, azure, both (github,azure) or none');
  return list.map((item) => oneOf('--ci', item, [...CI_SYSTEMS])!);
}
