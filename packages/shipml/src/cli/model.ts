import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { storeUrlForms } from '../model-store/registry.js';
import { z } from 'zod';
import { ConfigError, systemCode } from '../core/errors.js';
import type { Manifest } from '../model-store/manifest.js';
import { parseModelRef } from '../model-store/names.js';
import type { ModelRepository } from '../model-store/repository.js';
import {
  modelNameOrConfig,
  openRepository,
  listCommand,
  type CliContext,
  type CommandRunner,
  type StoreFlags,
} from './context.js';
import { registryCopyLine, registryCopyTarget } from './model-registry.js';
import { CONFIG_OPTION, collect, commonOptions } from './options.js';
import { formatBytes, shortDigest, table } from './output.js';

/** Runs a command body with a context, printing any error; supplied by main.ts. */
/** `shipml model ...`: the data scientist's commands. */
export function modelCommand(run: CommandRunner): Command {
  const model = new Command('model').description(
    'publish, list, show, pull and promote model versions in a model store',
  );

  const storeOptions = (cmd: Command): Command =>
    commonOptions(cmd)
      .option(
        '--store <url>',
        `model store URL: ${storeUrlForms()} (default: SHIPML_MODEL_STORE, then model.store in shipml.yaml, then ~/.local/share/shipml/models)`,
      )
      .option(...CONFIG_OPTION);

  // Commander calls actions with (...arguments, options, command).
  const act =
    <A extends unknown[]>(action: (ctx: CliContext, json: boolean, ...args: A) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args.at(-1) as Command;
      const { json = false, debug = false } = cmd.opts<{ json?: boolean; debug?: boolean }>();
      await run((ctx) => action(ctx, json, ...(args.slice(0, -1) as A)), { json, debug });
    };

  storeOptions(
    model
      .command('publish')
      .description(
        'publish a model directory or file as a new immutable version, then move channels to it',
      )
      .argument('<source>', 'model directory (published recursively) or single file')
      .option('-n, --name <name>', 'model name (default: model.name in shipml.yaml)')
      .requiredOption('-v, --version <version>', 'the new version, e.g. 1.4.0 (must not exist yet)')
      .option('--metrics <file>', 'JSON object of evaluation metrics to record with the version')
      .option(
        '--metadata <key=value>',
        'metadata to record, e.g. commit=abc123 (repeatable)',
        collect,
        [],
      )
      .option(
        '--channel <channel>',
        'channel to point at the new version (repeatable; default: latest)',
        collect,
        [],
      )
      .option('--no-channel', 'do not move any channel')
      .option(
        '--registry <repository>',
        'also push the version to this registry repository as a CNCF ModelPack artifact, so builds mount it (default: model.registry in shipml.yaml)',
      )
      .option('--no-registry', 'do not push to model.registry this time')
      .option('--registry-ca <file>', 'PEM CA certificate of a registry with a private certificate')
      .option('--insecure', 'allow plain HTTP to a registry that is not on loopback'),
  ).action(
    act(async (ctx, json, source: string, flags: StoreFlags & PublishFlags) => {
      const { repo, loaded } = await openRepository(ctx, flags);
      const name = modelNameOrConfig(flags.name, loaded, 'model publish');
      const registry = registryCopyTarget(ctx, loaded, flags);
      const result = await repo.publish({
        source: resolve(ctx.cwd, source),
        registry,
        name,
        version: flags.version,
        metrics: flags.metrics ? await readMetrics(resolve(ctx.cwd, flags.metrics)) : undefined,
        metadata: parseMetadata(flags.metadata),
        channels:
          flags.channel === false
            ? []
            : flags.channel.length > 0
              ? [...new Set(flags.channel)]
              : ['latest'],
        signal: ctx.signal,
      });
      if (json)
        return ctx.output.json({
          store: repo.store.displayUrl,
          manifest: result.manifest,
          registry: result.registry ?? null,
          channels: result.channels.map((c) => ({
            channel: c.pointer.channel,
            version: c.pointer.version,
            previous: c.previous?.version ?? null,
          })),
        });
      const m = result.manifest;
      ctx.output.line(`published ${m.name}@${m.version} to ${repo.store.displayUrl}`);
      ctx.output.line(`  digest  ${m.digest}`);
      ctx.output.line(`  files   ${m.files.length} (${formatBytes(m.size)})`);
      if (result.registry) ctx.output.line(registryCopyLine(result.registry));
      for (const note of result.registry?.mountFallbacks ?? []) ctx.output.line(`  note: ${note}`);
      for (const c of result.channels)
        ctx.output.line(
          `  channel ${c.pointer.channel} -> ${c.pointer.version}${c.previous ? ` (was ${c.previous.version})` : ''}`,
        );
    }),
  );

  storeOptions(
    model
      .command('list')
      .description('list the versions of a model, with the channels pointing at each')
      .argument('[name]', 'model name (default: model.name in shipml.yaml)'),
  ).action(
    act(async (ctx, json, nameArg: string | undefined, flags: StoreFlags) => {
      const { repo, loaded } = await openRepository(ctx, flags);
      const name = modelNameOrConfig(nameArg, loaded, 'model list');
      const versions = await repo.list(name, ctx.signal);
      if (json)
        return ctx.output.json({
          store: repo.store.displayUrl,
          name,
          versions: versions.map((v) => ({ ...summary(v.manifest), channels: v.channels })),
        });
      if (versions.length === 0) return ctx.output.line(await noVersions(ctx, repo, name, flags));
      const rows = versions.map((v) => [
        v.manifest.version,
        v.manifest.created,
        formatBytes(v.manifest.size),
        shortDigest(v.manifest.digest),
        v.channels.join(','),
      ]);
      for (const line of table(['VERSION', 'CREATED', 'SIZE', 'DIGEST', 'CHANNELS'], rows))
        ctx.output.line(line);
    }),
  );

  storeOptions(
    model
      .command('show')
      .description('show one version: files, digest, metrics, metadata')
      .argument('<ref>', 'name@version, name:channel, or name (= name:latest)'),
  ).action(
    act(async (ctx, json, ref: string, flags: StoreFlags) => {
      parseModelRef(ref);
      const { repo } = await openRepository(ctx, flags);
      const manifest = await repo.resolve(ref, ctx.signal);
      if (json) return ctx.output.json({ store: repo.store.displayUrl, ref, manifest });
      printManifest(ctx, repo, manifest);
    }),
  );

  storeOptions(
    model
      .command('pull')
      .description('download a version into a new directory, verifying every file (sha256)')
      .argument('<ref>', 'name@version, name:channel, or name (= name:latest)')
      .argument('<dest>', 'destination directory (must not exist, or be empty)')
      .option('--no-cache', 'bypass the local cache (always download)')
      .option(
        '--cache-dir <dir>',
        'local cache directory (default: cache.dir in shipml.yaml, SHIPML_CACHE_DIR, ~/.cache/shipml)',
      ),
  ).action(
    act(async (ctx, json, ref: string, dest: string, flags: StoreFlags) => {
      parseModelRef(ref);
      const { repo } = await openRepository(ctx, flags);
      const result = await repo.pull(ref, resolve(ctx.cwd, dest), ctx.signal);
      const m = result.manifest;
      if (json)
        return ctx.output.json({
          store: repo.store.displayUrl,
          ref,
          dest: result.dest,
          name: m.name,
          version: m.version,
          digest: m.digest,
          files: m.files.length,
          size: m.size,
          fromCache: result.fromCache,
          downloadedBytes: result.downloadedBytes,
        });
      ctx.output.line(`pulled ${m.name}@${m.version} (${shortDigest(m.digest)}) to ${result.dest}`);
      ctx.output.line(
        `  ${m.files.length} files, ${formatBytes(m.size)}; ${result.fromCache} from cache, ${formatBytes(result.downloadedBytes)} downloaded; all sha256 verified`,
      );
    }),
  );

  storeOptions(
    model
      .command('promote')
      .description('point a channel (e.g. production) at an existing version')
      .argument('<ref>', 'name@version')
      .argument('<channel>', 'channel name, e.g. production'),
  ).action(
    act(async (ctx, json, ref: string, channel: string, flags: StoreFlags) => {
      const parsed = parseModelRef(ref);
      if (parsed.version === undefined)
        throw new ConfigError(`promote needs name@version, got ${JSON.stringify(ref)}`);
      const { repo } = await openRepository(ctx, flags);
      const result = await repo.promote(parsed.name, parsed.version, channel, ctx.signal);
      if (json)
        return ctx.output.json({
          store: repo.store.displayUrl,
          name: parsed.name,
          channel,
          version: result.pointer.version,
          digest: result.pointer.digest,
          previous: result.previous?.version ?? null,
        });
      ctx.output.line(
        `${parsed.name}:${channel} -> ${result.pointer.version}${result.previous ? ` (was ${result.previous.version})` : ' (new channel)'}`,
      );
    }),
  );

  return model;
}

/**
 * Why `model list` found nothing: this model has no versions but others exist, or the
 * location holds no models at all (most often a mistyped store URL or prefix).
 */
async function noVersions(
  ctx: CliContext,
  repo: ModelRepository,
  name: string,
  flags: StoreFlags,
): Promise<string> {
  const where = repo.store.displayUrl;
  const found = await repo.models({ signal: ctx.signal });
  if (found.names.length === 0)
    return found.complete
      ? `no versions of ${name}: ${where} holds no models at all (${found.empty ? 'nothing is stored there' : 'nothing ShipML published'}); check the store URL for a typo`
      : `no versions of ${name}, and no models among the first objects of ${where}; check the store URL`;
  const names = found.names.join(', ') + (found.complete ? '' : ', ...');
  return `no versions of ${name} in ${where}; it holds: ${names} (e.g. ${listCommand(found.names[0]!, flags)})`;
}

function printManifest(ctx: CliContext, repo: ModelRepository, m: Manifest): void {
  const out = ctx.output;
  out.line(`${m.name}@${m.version}  (${repo.store.displayUrl})`);
  out.line(`  digest   ${m.digest}`);
  out.line(`  created  ${m.created}`);
  out.line(`  size     ${formatBytes(m.size)} in ${m.files.length} files`);
  for (const line of table(
    ['PATH', 'SIZE', 'SHA256'],
    m.files.map((f) => [f.path, formatBytes(f.size), f.sha256]),
  ))
    out.line(`    ${line}`);
  if (m.metrics) out.line(`  metrics  ${JSON.stringify(m.metrics)}`);
  for (const [k, v] of Object.entries(m.metadata ?? {})) out.line(`  ${k}: ${v}`);
}

function summary(m: Manifest) {
  return {
    version: m.version,
    created: m.created,
    size: m.size,
    files: m.files.length,
    digest: m.digest,
    metrics: m.metrics ?? null,
  };
}

interface PublishFlags {
  name?: string;
  version: string;
  metrics?: string;
  metadata: string[];
  /** false with --no-channel */
  channel: string[] | false;
  /** false with --no-registry */
  registry?: string | false;
  registryCa?: string;
  insecure?: boolean;
}

const MetricsSchema = z.record(z.string(), z.unknown());

async function readMetrics(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `--metrics ${file}: ${systemCode(err) === 'ENOENT' ? 'file does not exist' : (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--metrics ${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = MetricsSchema.safeParse(json);
  if (!parsed.success || Array.isArray(json))
    throw new ConfigError(
      `--metrics ${file}: expected a JSON object of metrics, e.g. {"accuracy": 0.97}`,
    );
  return parsed.data;
}

function parseMetadata(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--metadata ${JSON.stringify(pair)}: expected key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
