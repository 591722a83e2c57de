import { Command } from 'commander';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError, ConfirmationRequiredError } from '../core/errors.js';
import { releaseOf } from '../deploy/release.js';
import { appName, deployConfig, deploySpec, type DeployConfig } from '../deploy/spec.js';
import { deployTargets, type DeployTargetId } from '../deploy/registry.js';
import { openTarget } from '../deploy/targets.js';
import { enforceDeployPolicy } from '../pipeline/policy.js';
import {
  canRender,
  type DeployEvent,
  type DeploySpec,
  type DeployTarget,
  type Revision,
  type TargetDescriptor,
} from '../deploy/types.js';
import { parseReference } from '../oci/remote/reference.js';
import { loadCliConfig, registryAccess, type CliContext, type CommandRunner } from './context.js';
import {
  CONFIG_OPTION,
  commonOptions,
  positiveInteger,
  registryOptions,
  targetOption,
  targetOverrideOptions,
  targetOverrides,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';
import { shortDigest, table } from './output.js';

/** Flags that choose and reach the deploy target (all commands of the release side). */
interface TargetFlags extends CommonFlags, RegistryFlags {
  config?: string;
  target?: DeployTargetId;
  app?: string;
  /** And each target's own flags (targetOverrideOptions). */
  [flag: string]: unknown;
}

interface DeployFlags extends TargetFlags {
  replicas?: number;
  timeout?: number;
}

const integer = positiveInteger;

function targetFlags(cmd: Command): Command {
  targetOption(cmd, `default: deploy.target, else ${deployTargets.ids[0]}`);
  targetOverrideOptions(cmd);
  return commonOptions(
    registryOptions(
      cmd
        .option(...CONFIG_OPTION)
        .option('--app <name>', 'the app on the target (default: deploy.app, else the model name)'),
    ),
  );
}

/** `shipml deploy`, `status`, `rollback`, `render`, `destroy`: the operator's commands. */
export function releaseCommands(run: CommandRunner): Command[] {
  const runner =
    <F extends CommonFlags>(
      body: (ctx: CliContext, flags: F, ...args: string[]) => Promise<void>,
    ) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.opts<F>();
      const positional = args.slice(0, -2) as string[];
      await run((ctx) => body(ctx, flags, ...positional), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    };

  const deploy = targetFlags(
    new Command('deploy')
      .description(
        'roll an image out to the target, health-gated; rolls back by itself if it fails',
      )
      .argument('<image>', 'registry reference (tag or @sha256 digest); deployed pinned by digest')
      .option('--replicas <n>', 'replicas (default: deploy.replicas)', integer('--replicas'))
      .option(
        '--timeout <seconds>',
        'roll back if not done within this many seconds (default: deploy.progressDeadlineSeconds)',
        integer('--timeout'),
      ),
  ).action(runner<DeployFlags>(deployAction));

  const status = targetFlags(
    new Command('status')
      .description('what serves now: revision, image, commit, model, ready replicas, URL')
      .option('--history', 'also list the revisions kept for rollback'),
  ).action(runner<TargetFlags & { history?: boolean }>(statusAction));

  const rollback = targetFlags(
    new Command('rollback')
      .description(
        'roll back to the previous revision (or --to REVISION), health-gated like deploy',
      )
      .option('--to <revision>', 'revision number (see shipml status --history)', integer('--to')),
  ).action(runner<TargetFlags & { to?: number }>(rollbackAction));

  const destroy = targetFlags(
    new Command('destroy')
      .description('remove the app from the target: every replica, the load balancer, the history')
      .option('--yes', 'really remove it'),
  ).action(runner<TargetFlags & { yes?: boolean }>(destroyAction));

  const render = targetFlags(
    new Command('render')
      .description(
        "print a release's manifests (Kubernetes: YAML, for GitOps) without applying them",
      )
      .argument('<image>', 'registry reference (tag or @sha256 digest); rendered pinned by digest')
      .option('--replicas <n>', 'replicas (default: deploy.replicas)', integer('--replicas'))
      .option('--validate', 'also check them with a server-side dry run on the cluster'),
  ).action(runner<DeployFlags & { validate?: boolean }>(renderAction));

  return [deploy, status, rollback, render, destroy];
}

interface Selected {
  loaded: LoadedConfig;
  deploy: DeployConfig;
  app: string;
  target: DeployTarget;
}

/**
 * The target the flags and shipml.yaml select, opened. `fallback` picks the target when no
 * --target is given, from the configured one (render: the configured one only if it can).
 */
async function select(
  ctx: CliContext,
  flags: TargetFlags,
  image?: string,
  fallback: (configured: DeployTargetId) => DeployTargetId = (configured) => configured,
): Promise<Selected> {
  const loaded = await loadCliConfig(ctx, flags);
  const deploy = deployConfig(loaded.config);
  const app = flags.app ?? appName(loaded.config, loaded.file, ctx.cwd);
  const registry = image ? parseReference(image).registry : undefined;
  const kind = flags.target ?? fallback(deploy.target);
  const target = await openTarget(
    {
      kind,
      where: flags.target ? '--target' : `${loaded.file ?? 'shipml.yaml'}: deploy.target`,
      deploy,
      overrides: targetOverrides(kind, flags),
      registry,
      registryConfig: loaded.config.registry,
    },
    ctx.env,
  );
  return { loaded, deploy, app, target };
}

function progress(ctx: CliContext, json: boolean | undefined) {
  return (event: DeployEvent) => {
    if (json) return;
    const counts = event.replicas
      ? ` [${event.replicas.ready}/${event.replicas.desired} ready, ${event.replicas.updated} updated]`
      : '';
    ctx.output.note(`${new Date().toISOString()} ${event.message}${counts}`);
  };
}

function describe(r: Revision): string {
  const p = r.provenance;
  const parts = [
    `revision ${r.number}`,
    r.image.replace(/@sha256:.*/, '@' + shortDigest(r.image.slice(r.image.indexOf('@') + 1))),
  ];
  if (p.commit) parts.push(`commit ${p.commit.slice(0, 12)}`);
  if (p.model) parts.push(`model ${p.model.name}@${p.model.version}`);
  return parts.join(', ');
}

async function deployAction(ctx: CliContext, flags: DeployFlags, image?: string): Promise<void> {
  const { loaded, deploy, app, target } = await select(ctx, flags, image);
  const spec: DeploySpec = {
    ...deploySpec(deploy, app),
    ...(flags.replicas ? { replicas: flags.replicas } : {}),
    ...(flags.timeout ? { progressDeadlineSeconds: flags.timeout } : {}),
  };
  const access = registryAccess(ctx, loaded, flags);
  const release = await releaseOf(image!, access);
  // deploy.verify: verified by digest before the target is touched; a refusal changes nothing.
  const verified = await enforceDeployPolicy(
    release.image,
    deploy.verify,
    { configFile: loaded.file, cwd: ctx.cwd, env: ctx.env },
    access,
  );
  if (!flags.json) for (const line of verified ?? []) ctx.output.note(line);
  const result = await target.deploy(release, spec, {
    signal: ctx.signal,
    onEvent: progress(ctx, flags.json),
  });
  if (flags.json)
    return ctx.output.json({
      app,
      target: target.kind,
      ...result,
      ...(verified ? { verified } : {}),
    });
  ctx.output.line(`deployed ${describe(result.revision)} in ${result.seconds} s`);
  if (result.url) ctx.output.line(`serving at ${result.url}`);
}

async function statusAction(
  ctx: CliContext,
  flags: TargetFlags & { history?: boolean },
): Promise<void> {
  const { app, target } = await select(ctx, flags);
  const status = await target.status(app);
  const history = flags.history ? await target.history(app) : undefined;
  if (flags.json) return ctx.output.json({ ...status, target: target.kind, history });
  if (!status.live) ctx.output.line(`${app}: not deployed (${target.kind})`);
  else {
    ctx.output.line(`${app} on ${target.kind}: ${describe(status.live)}`);
    ctx.output.line(`  image     ${status.live.image}`);
    if (status.live.provenance.model)
      ctx.output.line(
        `  model     ${status.live.provenance.model.name}@${status.live.provenance.model.version} (${status.live.provenance.model.digest})`,
      );
    ctx.output.line(`  replicas  ${status.replicas.ready}/${status.replicas.desired} ready`);
    ctx.output.line(`  since     ${status.live.deployedAt}`);
    if (status.url) ctx.output.line(`  url       ${status.url}`);
  }
  if (status.rollout) ctx.output.line(`  rollout   ${status.rollout}`);
  if (history?.length) {
    ctx.output.line('');
    for (const line of table(
      ['REVISION', 'DEPLOYED', 'COMMIT', 'MODEL', 'IMAGE'],
      history.map((r) => [
        String(r.number) + (r.number === status.live?.number ? '*' : ''),
        r.deployedAt,
        r.provenance.commit?.slice(0, 12) ?? '-',
        r.provenance.model ? `${r.provenance.model.name}@${r.provenance.model.version}` : '-',
        r.image,
      ]),
    ))
      ctx.output.line(line);
  }
}

async function rollbackAction(
  ctx: CliContext,
  flags: TargetFlags & { to?: number },
): Promise<void> {
  const { app, target } = await select(ctx, flags);
  const result = await target.rollback(app, flags.to, {
    signal: ctx.signal,
    onEvent: progress(ctx, flags.json),
  });
  if (flags.json) return ctx.output.json({ app, target: target.kind, ...result });
  ctx.output.line(`rolled back: ${describe(result.revision)} serves (${result.seconds} s)`);
}

async function renderAction(
  ctx: CliContext,
  flags: DeployFlags & { validate?: boolean },
  image?: string,
): Promise<void> {
  // Rendering is for targets that apply manifests: without --target, the configured target
  // if it can, else the first that can (a docker-configured app renders for Kubernetes).
  const able = renderingTargets();
  const { loaded, deploy, app, target } = await select(ctx, flags, image, (configured) =>
    able.includes(configured) ? configured : (able[0] ?? configured),
  );
  if (!canRender(target)) {
    throw new ConfigError(`the ${target.kind} target cannot render manifests`, {
      hint: `render with --target ${able.join(' or --target ')}`,
    });
  }
  const spec = {
    ...deploySpec(deploy, app),
    ...(flags.replicas ? { replicas: flags.replicas } : {}),
  };
  const release = await releaseOf(image!, registryAccess(ctx, loaded, flags));
  const rendered = await target.renderRelease(release, spec, { validate: flags.validate });
  if (flags.json) return ctx.output.json(rendered.objects);
  ctx.output.line(rendered.text.replace(/\n$/, ''));
}

async function destroyAction(
  ctx: CliContext,
  flags: TargetFlags & { yes?: boolean },
): Promise<void> {
  const { app, target } = await select(ctx, flags);
  if (!flags.yes)
    throw new ConfirmationRequiredError(
      `shipml destroy removes ${app} from ${target.kind} with its history`,
      { hint: 'add --yes to do it' },
    );
  await target.destroy(app);
  if (flags.json) return ctx.output.json({ app, target: target.kind, destroyed: true });
  ctx.output.line(`${app} removed from ${target.kind}`);
}

/** The registered targets that can render, by id. */
function renderingTargets(): DeployTargetId[] {
  const all: readonly TargetDescriptor[] = deployTargets.all;
  return all.filter((d) => d.capabilities.includes('render')).map((d) => d.id as DeployTargetId);
}
