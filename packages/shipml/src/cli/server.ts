/**
 * `shipml server`, `shipml worker` and `shipml server token …`: the service's processes and
 * its tokens. Everything server-side is imported when one of these runs, never before, so the
 * rest of the CLI does not load fastify or a database driver.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError } from '../core/errors.js';
import type { ServiceStore } from '../server/store/types.js';
import type { CliContext, CommandRunner } from './context.js';
import { action, commonOptions, positiveInteger, type CommonFlags } from './options.js';

interface TokenFlags extends CommonFlags {
  config?: string;
}

interface ServerFlags extends TokenFlags {
  host?: string;
  port?: number;
}

const CONFIG = [
  '-c, --config <file>',
  'the server config (default: SHIPML_SERVER_CONFIG, else ./shipml-server.yaml)',
] as const;

function configFile(ctx: CliContext, flags: { config?: string }): string {
  return resolve(ctx.cwd, flags.config ?? ctx.env.SHIPML_SERVER_CONFIG ?? 'shipml-server.yaml');
}

async function load(ctx: CliContext, flags: { config?: string }) {
  const { loadServerConfig } = await import('../server/config/load.js');
  const loaded = await loadServerConfig(configFile(ctx, flags), ctx.env);
  ctx.redactor.add(...loaded.secrets);
  return loaded;
}

function logLine(ctx: CliContext): (line: string) => void {
  return (line) => ctx.output.note(`${new Date().toISOString()} ${line}`);
}

/** The service with a worker of its own; `watches`: also its triggers (model watches, schedules, polls). */
async function openService(
  ctx: CliContext,
  loaded: Awaited<ReturnType<typeof load>>,
  watches: boolean,
) {
  const { Service } = await import('../server/service.js');
  const log = logLine(ctx);
  const service = await Service.open({
    loaded,
    env: ctx.env,
    redactor: ctx.redactor,
    log,
    worker: true,
    watches,
  });
  return { service, log };
}

export function serverCommands(run: CommandRunner, version: string): Command[] {
  const server = commonOptions(
    new Command('server')
      .description(
        'the pipeline service: webhooks, model watches, schedules, a queue, workers, an API',
      )
      .option(...CONFIG)
      .option('--host <host>', 'listen on this address (default: listen.host, 127.0.0.1)')
      .option(
        '--port <port>',
        'listen on this port (default: listen.port, 8750; 0 picks one)',
        (v) => (v === '0' ? 0 : positiveInteger('--port')(v)),
      ),
  ).action(action<ServerFlags>(run, (ctx, flags) => serve(ctx, flags, version)));
  server.addCommand(tokenCommand(run));

  const worker = commonOptions(
    new Command('worker')
      .description(
        'a worker on another machine: claims runs from the shared PostgreSQL (database in the config)',
      )
      .option(...CONFIG),
  ).action(action<ServerFlags>(run, work));
  return [server, worker];
}

async function serve(ctx: CliContext, flags: ServerFlags, version: string): Promise<void> {
  const loaded = await load(ctx, flags);
  const { httpServer } = await import('../server/api/http.js');
  const { service, log } = await openService(ctx, loaded, true);
  const http = await httpServer(service, version);
  try {
    const host = flags.host ?? loaded.config.listen.host;
    const port = flags.port ?? loaded.config.listen.port;
    const address = await http.listen({ host, port });
    log(
      `shipml server ${version} listening on ${address} (${loaded.config.apps.length} apps, store ${service.store.kind}, worker ${service.workerId})`,
    );
    if (flags.json)
      ctx.output.json({ url: address, worker: service.workerId, store: service.store.kind });
    await new Promise<void>((done) =>
      ctx.signal.addEventListener('abort', () => done(), { once: true }),
    );
    log('stopping: no new runs; runs in progress are cancelled (a started deploy rolls back)');
  } finally {
    await http.close();
    await service.stop();
  }
}

async function work(ctx: CliContext, flags: ServerFlags): Promise<void> {
  const loaded = await load(ctx, flags);
  if (loaded.config.database === 'sqlite' || loaded.config.database.startsWith('sqlite:'))
    throw new ConfigError(
      `${loaded.file}: database: a worker on its own needs the shared PostgreSQL`,
      {
        hint: 'set database: postgres://… (the same as the server’s); `shipml server` has a worker of its own',
      },
    );
  const { service, log } = await openService(ctx, loaded, false);
  log(
    `shipml worker ${service.workerId} claiming runs of ${[...service.apps.keys()].join(', ') || 'no apps'}`,
  );
  await new Promise<void>((done) =>
    ctx.signal.addEventListener('abort', () => done(), { once: true }),
  );
  await service.stop();
}

function tokenCommand(run: CommandRunner): Command {
  const token = new Command('token').description('API tokens: create (shown once), list, revoke');
  token.addCommand(
    commonOptions(
      new Command('create')
        .description('create a token and print it (only its hash is stored)')
        .option(...CONFIG)
        .addOption(
          new Option('--scope <scope>', 'read: see everything; admin: also act')
            .choices(['read', 'admin'])
            .default('read'),
        )
        .requiredOption('--name <name>', 'what it is for (shown in lists)')
        .option(
          '--expires-days <days>',
          'valid for this many days (default: until revoked)',
          positiveInteger('--expires-days'),
        ),
    ).action(
      action<TokenFlags & { scope: 'read' | 'admin'; name: string; expiresDays?: number }>(
        run,
        (ctx, flags) =>
          withStore(ctx, flags, async (store) => {
            const { createToken } = await import('../server/api/tokens.js');
            const { token: secret, record } = await createToken(store, {
              scope: flags.scope,
              name: flags.name,
              expiresInDays: flags.expiresDays,
            });
            if (flags.json)
              return ctx.output.json({
                token: secret,
                id: record.id,
                scope: record.scope,
                expiresAt: record.expiresAt,
              });
            ctx.output.line(secret);
            ctx.output.note(
              `token ${record.id} (${record.scope}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}): shown once, keep it in a secret store`,
            );
          }),
      ),
    ),
  );
  token.addCommand(
    commonOptions(
      new Command('list')
        .description('tokens (ids, scopes, names; never the tokens)')
        .option(...CONFIG),
    ).action(
      action<TokenFlags>(run, (ctx, flags) =>
        withStore(ctx, flags, async (store) => {
          const tokens = await store.listTokens();
          if (flags.json) return ctx.output.json(tokens.map(({ hash: _hash, ...t }) => t));
          for (const t of tokens)
            ctx.output.line(
              `${t.id}  ${t.scope.padEnd(5)}  ${t.name}  created ${t.createdAt}${t.revokedAt ? `  revoked ${t.revokedAt}` : t.expiresAt ? `  expires ${t.expiresAt}` : ''}`,
            );
        }),
      ),
    ),
  );
  token.addCommand(
    commonOptions(
      new Command('revoke')
        .description('revoke a token by its id')
        .argument('<id>')
        .option(...CONFIG),
    ).action(
      action<TokenFlags>(run, (ctx, flags, id) =>
        withStore(ctx, flags, async (store) => {
          if (!(await store.revokeToken(id, new Date().toISOString())))
            throw new ConfigError(`no token ${id}`, {
              hint: 'shipml server token list shows the ids',
            });
          ctx.output.line(`revoked ${id}`);
        }),
      ),
    ),
  );
  return token;
}

async function withStore<T>(
  ctx: CliContext,
  flags: { config?: string },
  body: (store: ServiceStore) => Promise<T>,
): Promise<T> {
  const loaded = await load(ctx, flags);
  const { openServiceStore, defaultServiceStoreUrl } = await import('../server/store/registry.js');
  const url =
    loaded.config.database === 'sqlite'
      ? defaultServiceStoreUrl(loaded.dataDir)
      : loaded.config.database;
  const store = await openServiceStore(url, { where: `${loaded.file}: database` });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}
