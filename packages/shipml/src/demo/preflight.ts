import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { dockerClient } from '../oci/docker/client.js';
import { DIGITS } from './train.js';

const run = promisify(execFile);

/** Everything the demo needs, each missing piece named with how to get it. */
export async function preflight(env: NodeJS.ProcessEnv, baseImages: string): Promise<void> {
  const { docker, where } = dockerClient(env);
  try {
    await docker.ping();
  } catch (err) {
    throw new ConfigError(
      `the demo needs a Docker Engine, and none answers at ${where} (${(err as Error).message})`,
      {
        hint: 'Debian/Ubuntu: bash scripts/demo.sh installs and starts one (apt-get install docker.io), then runs the demo',
      },
    );
  }
  for (const layout of ['node24', 'haproxy26'])
    if (!(await stat(join(baseImages, layout, 'index.json')).catch(() => undefined)))
      throw new ConfigError(`the demo needs the base image ${layout} in ${baseImages}`, {
        hint: 'bash scripts/base-images.sh build (debootstrap; Debian/Ubuntu), or bash scripts/demo.sh',
      });
  // Installed, for training (tsx); the server builds the app itself, from a clean checkout.
  if (!(await stat(join(DIGITS, 'node_modules', '.package-lock.json')).catch(() => undefined)))
    throw new ConfigError(`the demo needs examples/digits installed (${DIGITS})`, {
      hint: '(cd examples/digits && ONNXRUNTIME_NODE_INSTALL=skip npm ci), or bash scripts/demo.sh',
    });
  await run('docker-registry', ['--version']).catch(() => {
    throw new ConfigError(
      'the demo needs docker-registry (CNCF distribution) for its private registry',
      {
        hint: 'apt-get install docker-registry, or bash scripts/demo.sh',
      },
    );
  });
}
