import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { dockerClient } from '../oci/docker/client.js';
import { DIGITS } from './train.js';

const run = promisify(execFile);

const LAYOUTS = ['node24', 'haproxy26'];

async function missingLayout(baseImages: string): Promise<string | undefined> {
  for (const layout of LAYOUTS)
    if (!(await stat(join(baseImages, layout, 'index.json')).catch(() => undefined))) return layout;
  return undefined;
}

/**
 * Everything the demo needs, each missing piece named with how to get it. With `builder`
 * (the PID of the scripts/base-images.sh that scripts/demo.sh started alongside), missing base
 * images are not an error yet: {@link awaitBaseImages} waits for them.
 */
export async function preflight(
  env: NodeJS.ProcessEnv,
  baseImages: string,
  builder?: number,
): Promise<void> {
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
  if (builder === undefined) {
    const layout = await missingLayout(baseImages);
    if (layout) throw noBaseImage(layout, baseImages);
  }
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

function noBaseImage(layout: string, baseImages: string): ConfigError {
  return new ConfigError(`the demo needs the base image ${layout} in ${baseImages}`, {
    hint: 'bash scripts/base-images.sh build (debootstrap; Debian/Ubuntu), or bash scripts/demo.sh',
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Resolves once the base images are in `baseImages`: at once when they are, else when they
 * appear while `builder` runs (base-images.sh moves each finished layout into place in one
 * rename). A builder that ends without them is an error naming the missing one.
 */
export async function awaitBaseImages(
  baseImages: string,
  builder: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    const layout = await missingLayout(baseImages);
    if (!layout) return;
    if (builder === undefined || !alive(builder)) {
      // The last layout may have landed just before the builder exited.
      const still = await missingLayout(baseImages);
      if (!still) return;
      throw noBaseImage(still, baseImages);
    }
    await sleep(500, undefined, { signal });
  }
}
