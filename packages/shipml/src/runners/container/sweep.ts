/**
 * Removes command containers a killed process left running. The container runner labels
 * each container with its run (the server's run id); a process that died mid-command (a
 * SIGKILLed server or worker) cannot remove its container, and the command would run on
 * with nobody reading it. Any worker sharing the store sweeps: a container whose run is no
 * longer running (its lease expired, it was retried or cancelled) is removed, whichever
 * process or machine started it.
 */
import { COMMAND_LABEL, RUN_LABEL } from '../labels.js';
import { connectEngine, engineCall } from '../../deploy/docker/engine.js';
import { engineEnv } from './engine-env.js';

export async function sweepCommandContainers(
  env: NodeJS.ProcessEnv,
  isRunning: (runId: string) => Promise<boolean>,
): Promise<string[]> {
  const { docker, where } = connectEngine(engineEnv(env));
  const found = await engineCall(where, 'listing command containers', () =>
    docker.listContainers({
      all: true,
      filters: { label: [`${COMMAND_LABEL}=command`, RUN_LABEL] },
    }),
  );
  const removed: string[] = [];
  for (const c of found) {
    const runId = c.Labels[RUN_LABEL];
    if (!runId || (await isRunning(runId))) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .then(() => removed.push(runId))
      .catch(() => undefined); // gone already, or another sweeper's
  }
  return removed;
}
