/**
 * The host runner: `sh -c` in the checkout as a process of this machine, in its own process
 * group (core/process.ts), with ShipML's environment plus the command's own variables —
 * what `shipml run` always did. It isolates nothing: the server uses it only when an
 * operator opts in (and says so in its log).
 */
import { runProcess } from '../../core/process.js';
import type { CommandRunner, RunnerContext } from '../types.js';

export function hostRunner(ctx: RunnerContext): CommandRunner {
  return {
    kind: 'host',
    run: (input) =>
      runProcess('sh', ['-c', input.command], {
        cwd: input.appDir,
        env: {
          ...ctx.env,
          ...input.env,
          ...(input.modelDir ? { MODEL_PATH: input.modelDir } : {}),
        },
        timeoutMs: input.timeoutSeconds * 1000,
        signal: input.signal,
        keepStdoutBytes: input.keepStdoutBytes,
        plainText: true,
        onLine: input.onLine && ((line) => input.onLine!(line)),
      }),
  };
}
