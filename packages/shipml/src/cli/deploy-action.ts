/** What the release side's commands do (imported when one runs). */
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
import { registryAccess } from './access.js';
import { loadCliConfig, type CliContext } from './context.js';
import type { DeployFlags, TargetFlags } from './deploy.js';
import { shortDigest, table } from './output.js';
import { targetOverrides } from './target-options.js';

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

export async function deployAction(
  ctx: CliContext,
  flags: DeployFlags,
  image?: string,
): Promise<void> {
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

export async function statusAction(
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

export async function rollbackAction(
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

export async function renderAction(
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

export async function destroyAction(
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
