import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../src/core/errors.js';
import { LABEL, names, replicaLabels } from '../src/deploy/docker/state.js';
import { DockerTarget } from '../src/deploy/docker/target.js';
import { DEFAULT_SPEC } from '../src/deploy/types.js';
import { freePort } from './helpers/ports.js';
import { required } from './services.js';

/**
 * The Docker target reading its state from labels on real containers (the Docker Engine of
 * scripts/services.sh): damaged and foreign labels, as a user or another tool could leave
 * them. The containers run `sleep` in the proxy image; no app is needed to read labels.
 */
const docker = new Docker();
const app = `l${Date.now().toString(36)}`;
const image = () => required('SHIPML_TEST_PROXY_IMAGE');
const spec = { ...DEFAULT_SPEC, app, replicas: 1 };
let target: DockerTarget;

async function pull(reference: string): Promise<void> {
  const stream = await docker.pull(reference);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** A container of the app with `labels`, running `sleep` or created and left stopped. */
async function plant(name: string, labels: Record<string, string>, running: boolean) {
  const container = await docker.createContainer({
    name,
    Image: image(),
    Entrypoint: ['sleep'],
    Cmd: ['300'],
    Labels: { [LABEL.app]: app, ...labels },
  });
  if (running) await container.start();
  return container;
}

function labelsOf(number: number, slot: number): Record<string, string> {
  return replicaLabels(
    {
      number,
      image: image(),
      provenance: { commit: `c${number}` },
      deployedAt: new Date().toISOString(),
      spec,
    },
    slot,
  );
}

beforeAll(async () => {
  await pull(image());
  target = new DockerTarget({ port: await freePort(), proxyImage: image() });
}, 120_000);
afterAll(async () => {
  await target.destroy(app);
});

describe('Docker target: labels read back from the engine', () => {
  it('leaves out foreign containers and damaged records, and reads a good one', async () => {
    await plant(`${app}-sidecar`, {}, true);
    await plant(names.replica(app, 1, 1), labelsOf(1, 3), false);
    await plant(
      names.replica(app, 2, 1),
      { ...labelsOf(2, 4), [LABEL.spec]: JSON.stringify({ ...spec, port: 'http' }) },
      false,
    );
    await plant(names.replica(app, 3, 1), labelsOf(3, 5), true);

    const history = await target.history(app);
    expect(history.map((r) => [r.number, r.provenance.commit])).toEqual([
      [3, 'c3'],
      [1, 'c1'],
    ]);
    const status = await target.status(app);
    expect(status.live?.number).toBe(3);
    expect(status.replicas.desired).toBe(1);
    expect(status.rollout).toBeUndefined();
    // Revision 2 is the one before the live one: its damaged record is named, not skipped.
    const rollback = target.rollback(app);
    await expect(rollback).rejects.toThrow(ConflictError);
    await expect(rollback).rejects.toThrow(
      `app ${app}'s revision 2 cannot be rolled back to: its record ${names.replica(app, 2, 1)} has damaged labels (dev.shipml.spec.port:`,
    );
  });

  it('refuses to work on an app with a running replica it cannot read; destroy still cleans up', async () => {
    await plant(names.replica(app, 4, 1), { ...labelsOf(4, 6), [LABEL.revision]: 'four' }, true);
    const status = target.status(app);
    await expect(status).rejects.toThrow(ConflictError);
    await expect(status).rejects.toThrow(
      `container ${names.replica(app, 4, 1)} of app ${app} runs with damaged labels (dev.shipml.revision: expected a positive whole number)`,
    );
    await expect(target.deploy({ image: image(), provenance: {} }, spec)).rejects.toThrow(
      ConflictError,
    );

    await target.destroy(app);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.app}=${app}`] },
    });
    expect(left).toEqual([]);
    await expect(target.rollback(app)).rejects.toThrow(NotFoundError);
    expect((await target.status(app)).live).toBeUndefined();
  });
});
