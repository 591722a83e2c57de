import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The base image of the native Node.js builder when neither --base nor a local one is there:
 * Docker's official `node` image as Amazon ECR Public mirrors it. Fully qualified on purpose:
 * a bare `node:22-bookworm-slim` means Docker Hub, which rate-limits anonymous pulls and is
 * out of reach on many CI runners and air-gapped hosts.
 */
export const PUBLIC_NODE_BASE = 'public.ecr.aws/docker/library/node:22-bookworm-slim';

/** The directory scripts/base-images.sh builds its OCI layouts in (it reads the same variable). */
export function baseImageCache(env: NodeJS.ProcessEnv): string {
  return join(
    env.SHIPML_CI_CACHE || join(env.HOME || homedir(), '.cache', 'shipml-ci'),
    'base-images',
  );
}

/** The base image init writes, and why (for init's notes). */
export interface BaseChoice {
  base: string;
  from: 'option' | 'local' | 'public';
  why: string;
}

/**
 * `--base` when given; else the project's own Node.js base image when scripts/base-images.sh
 * built it on this machine (an OCI layout the builder reads directly: no registry, no
 * engine); else the public default. Looks at one file, contacts nothing.
 */
export async function chooseNodeBase(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<BaseChoice> {
  if (explicit) return { base: explicit, from: 'option', why: 'build.base from --base' };
  const layout = join(baseImageCache(env), 'node24');
  if ((await stat(join(layout, 'index.json')).catch(() => undefined))?.isFile())
    return {
      base: `oci:${layout}:24`,
      from: 'local',
      why: `build.base is the local Node.js 24 base image in ${layout} (built by scripts/base-images.sh); it exists on this machine only: CI runners need --base pointing at a registry they reach`,
    };
  return {
    base: PUBLIC_NODE_BASE,
    from: 'public',
    why: `build.base is ${PUBLIC_NODE_BASE} (Docker's official image, mirrored by Amazon ECR Public; no local base image in ${layout}): pass --base to use your own registry's`,
  };
}
