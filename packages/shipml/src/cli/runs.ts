/**
 * The service's CLI client: `shipml runs list|show|logs [-f]|cancel|rerun` and `shipml trigger
 * APP`, talking to a `shipml server` at --server / SHIPML_SERVER with SHIPML_TOKEN. The token
 * goes in the Authorization header only (never a URL, never printed).
 */
import { Command } from 'commander';
import { ConfigError, ExternalServiceError } from '../core/errors.js';
import type { CliContext, CommandRunner } from './context.js';
import { commonOptions, positiveInteger, type CommonFlags } from './options.js';

interface ClientFlags extends CommonFlags {
  server?: string;
}

interface RunView {
  id: string;
  app: string;
  kind: string;
  status: string;
  cause: { trigger: string; source: string; detail?: string; pusher?: string };
  commit?: string;
  branch?: string;
  modelRef?: string;
  image?: string;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  supersededBy?: string;
  report?: {
    image?: { reference: string };
    inputs?: { commit?: string; model?: { name: string; version: string } };
  };
}

function client(ctx: CliContext, flags: ClientFlags) {
  const base = (flags.server ?? ctx.env.SHIPML_SERVER ?? '').replace(/\/+$/, '');
  if (!base)
    throw new ConfigError('no server: pass --server URL or set SHIPML_SERVER', {
      hint: 'e.g. SHIPML_SERVER=http://127.0.0.1:8750',
    });
  const token = ctx.env.SHIPML_TOKEN;
  ctx.redactor.add(token);
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ?? AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]),
      });
    } catch (err) {
      throw new ExternalServiceError(
        `cannot reach the server at ${base}: ${(err as Error).message}`,
        { retryable: true },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not an error document: show what came
      }
      throw new ConfigError(`${method} ${path}: ${res.status} ${message}`, {
        hint: res.status === 401 ? 'set SHIPML_TOKEN (shipml server token create)' : undefined,
      });
    }
    return res;
  };
  return {
    base,
    request,
    json: async <T>(method: string, path: string, body?: unknown): Promise<T> =>
      (await (await request(method, path, body)).json()) as T,
  };
}

const flagsOf = (cmd: Command) =>
  commonOptions(cmd.option('--server <url>', 'the shipml server (default: SHIPML_SERVER)'));

function line(r: RunView): string {
  const commit = r.commit ?? r.report?.inputs?.commit;
  const model =
    r.modelRef ??
    (r.report?.inputs?.model
      ? `${r.report.inputs.model.name}@${r.report.inputs.model.version}`
      : undefined);
  return [
    r.id,
    r.app,
    r.kind,
    r.status.padEnd(11),
    `${r.cause.trigger}/${r.cause.source}`,
    commit ? commit.slice(0, 12) : r.branch ? `(${r.branch})` : '',
    model ?? '',
  ]
    .filter(Boolean)
    .join('  ');
}

export function runsCommands(run: CommandRunner): Command[] {
  const go = (flags: CommonFlags, body: (ctx: CliContext) => Promise<void>) =>
    run(body, { json: Boolean(flags.json), debug: Boolean(flags.debug) });
  const runs = new Command('runs').description(
    "the server's runs: list, show, logs, cancel, rerun",
  );
  runs.addCommand(
    flagsOf(
      new Command('list')
        .description('runs, newest first')
        .option('--app <app>')
        .option(
          '--status <status>',
          'queued | running | succeeded | failed | cancelled | superseded | interrupted',
        )
        .option('--limit <n>', 'at most this many (default 20)', positiveInteger('--limit'), 20),
    ).action(async (flags: ClientFlags & { app?: string; status?: string; limit: number }) => {
      await go(flags, async (ctx) => {
        const q = new URLSearchParams({ limit: String(flags.limit) });
        if (flags.app) q.set('app', flags.app);
        if (flags.status) q.set('status', flags.status);
        const page = await client(ctx, flags).json<{ runs: RunView[] }>(
          'GET',
          `/api/v1/runs?${q.toString()}`,
        );
        if (flags.json) return ctx.output.json(page);
        for (const r of page.runs) ctx.output.line(line(r));
        if (page.runs.length === 0) ctx.output.note('no runs');
      });
    }),
  );
  runs.addCommand(
    flagsOf(new Command('show').description('one run').argument('<id>')).action(
      async (id: string, flags: ClientFlags) => {
        await go(flags, async (ctx) => {
          const r = await client(ctx, flags).json<RunView>(
            'GET',
            `/api/v1/runs/${encodeURIComponent(id)}`,
          );
          if (flags.json) return ctx.output.json(r);
          ctx.output.line(line(r));
          ctx.output.line(
            `  why     ${r.cause.trigger} via ${r.cause.source}${r.cause.pusher ? ` by ${r.cause.pusher}` : ''}${r.cause.detail ? `: ${r.cause.detail}` : ''}`,
          );
          ctx.output.line(
            `  queued  ${r.queuedAt}${r.startedAt ? `, started ${r.startedAt}` : ''}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}`,
          );
          if (r.report?.image) ctx.output.line(`  image   ${r.report.image.reference}`);
          if (r.supersededBy) ctx.output.line(`  superseded by ${r.supersededBy}`);
          if (r.error) ctx.output.line(`  error   ${r.error}`);
        });
      },
    ),
  );
  runs.addCommand(
    flagsOf(
      new Command('logs')
        .description("a run's log")
        .argument('<id>')
        .option('-f, --follow', 'follow until the run ends'),
    ).action(async (id: string, flags: ClientFlags & { follow?: boolean }) => {
      await go(flags, (ctx) => logs(ctx, flags, id));
    }),
  );
  for (const [verb, what] of [
    ['cancel', 'cancel a queued run or stop a running one'],
    ['rerun', 'queue the same run again'],
  ] as const) {
    runs.addCommand(
      flagsOf(new Command(verb).description(what).argument('<id>')).action(
        async (id: string, flags: ClientFlags) => {
          await go(flags, async (ctx) => {
            const answer = await client(ctx, flags).json<RunView | { run: RunView }>(
              'POST',
              `/api/v1/runs/${encodeURIComponent(id)}/${verb}`,
            );
            if (flags.json) return ctx.output.json(answer);
            ctx.output.line(line('run' in answer ? answer.run : answer));
          });
        },
      ),
    );
  }

  const trigger = flagsOf(
    new Command('trigger')
      .description('start a run of an app on the server (or a release of an image)')
      .argument('<app>')
      .option('--commit <sha>', 'the commit to build (default: the branch head)')
      .option('--branch <branch>', 'the branch (default: the app’s first)')
      .option('--model <ref>', 'the model to ship (name@version or name:channel)')
      .option('--release <image>', 'deploy this image instead of building')
      .option('--reason <text>', 'recorded with the run'),
  ).action(
    async (
      app: string,
      flags: ClientFlags & {
        commit?: string;
        branch?: string;
        model?: string;
        release?: string;
        reason?: string;
      },
    ) => {
      await go(flags, async (ctx) => {
        const { commit, branch, model, release, reason } = flags;
        const answer = await client(ctx, flags).json<{ run: RunView; superseded: string[] }>(
          'POST',
          `/api/v1/apps/${encodeURIComponent(app)}/runs`,
          JSON.parse(JSON.stringify({ commit, branch, model, release, reason })),
        );
        if (flags.json) return ctx.output.json(answer);
        ctx.output.line(`queued ${line(answer.run)}`);
        if (answer.superseded.length) ctx.output.note(`superseded ${answer.superseded.join(', ')}`);
      });
    },
  );
  return [runs, trigger];
}

async function logs(
  ctx: CliContext,
  flags: ClientFlags & { follow?: boolean },
  id: string,
): Promise<void> {
  const c = client(ctx, flags);
  const path = `/api/v1/runs/${encodeURIComponent(id)}`;
  if (!flags.follow) {
    const text = await (await c.request('GET', `${path}/log.txt`)).text();
    process.stdout.write(ctx.redactor.redact(text));
    return;
  }
  // Server-sent events, resumed after the last line seen when the connection drops.
  let after = 0;
  for (let attempt = 0; attempt < 100 && !ctx.signal.aborted; attempt++) {
    const res = await c.request('GET', `${path}/events?after=${after}`, undefined, ctx.signal);
    const decoder = new TextDecoder();
    let buffer = '';
    let ended: { status: string; error?: string } | undefined;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (!data) continue;
          if (event === 'log') {
            const l = JSON.parse(data) as { seq: number; stage: string; line: string };
            after = l.seq;
            ctx.output.line(`${l.stage.padEnd(11)} ${l.line}`);
          } else if (event === 'end')
            ended = JSON.parse(data) as { status: string; error?: string };
        }
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      ctx.output.note(`connection lost (${(err as Error).message}); resuming after line ${after}`);
    }
    if (ended) {
      ctx.output.note(`run ${id} ${ended.status}${ended.error ? `: ${ended.error}` : ''}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
