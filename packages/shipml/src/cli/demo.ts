import { Command, InvalidArgumentError } from 'commander';
import type { CliContext, CommandRunner } from './context.js';

interface DemoFlags {
  dir?: string;
  port?: number;
  apiPort?: number;
  baseImages?: string;
  waitForBaseImages?: number;
  stop?: boolean;
  debug?: boolean;
}

/** `shipml demo`: the whole system on this machine (src/demo/), shown in the terminal. */
export function demoCommand(runner: CommandRunner): Command {
  return new Command('demo')
    .description(
      'the whole system on this machine: train + publish a model, run the pipeline, roll out v2 under load, watch the gate stop a worse v3',
    )
    .option(
      '--dir <dir>',
      'where the demo keeps its model store, registry and runs (default: ~/.local/share/shipml/demo)',
    )
    .option(
      '--port <port>',
      'the app’s port on 127.0.0.1 (default 8080, or the next free one)',
      portNumber('--port'),
    )
    .option(
      '--api-port <port>',
      'the demo server’s API port on 127.0.0.1 (default 8750, or the next free one)',
      portNumber('--api-port'),
    )
    .option(
      '--base-images <dir>',
      'OCI layouts of the base images (default: what scripts/base-images.sh builds)',
    )
    .option(
      '--wait-for-base-images <pid>',
      'the base images are being built by process PID (scripts/demo.sh starts scripts/base-images.sh alongside): train meanwhile, wait for them before pushing',
      processId,
    )
    .option('--stop', 'remove the demo app and stop the demo server and registry')
    .option('--debug', 'print stack traces of errors')
    .action(async (flags: DemoFlags) => {
      await runner((ctx) => demo(ctx, flags), { json: false, debug: Boolean(flags.debug) });
    });
}

async function demo(ctx: CliContext, flags: DemoFlags): Promise<void> {
  // Loaded on use: the demo pulls in the Docker target, the pipeline and the model stores.
  const { runDemo } = await import('../demo/index.js');
  await runDemo(
    {
      env: ctx.env,
      signal: ctx.signal,
      line: (text) => ctx.output.line(text),
      redact: (text) => ctx.redactor.redact(text),
    },
    {
      dir: flags.dir,
      port: flags.port,
      apiPort: flags.apiPort,
      baseImages: flags.baseImages,
      baseImagesBuilder: flags.waitForBaseImages,
      stop: flags.stop,
    },
  );
}

function portNumber(flag: string): (value: string) => number {
  return (value) => {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidArgumentError(`${flag} must be a port number, got "${value}"`);
    return port;
  };
}

function processId(value: string): number {
  const pid = Number(value);
  if (!Number.isInteger(pid) || pid < 1)
    throw new InvalidArgumentError(`--wait-for-base-images must be a process id, got "${value}"`);
  return pid;
}
