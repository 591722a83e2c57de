/**
 * Which engine the container runner talks to: the Docker Engine (DOCKER_HOST, else its
 * local socket) or, where Docker is absent, podman's Docker-compatible API — the socket of
 * `podman system service` (systemd's podman.socket: /run/podman/podman.sock as root,
 * $XDG_RUNTIME_DIR/podman/podman.sock rootless). The runner speaks the Docker API to either
 * (dockerode); podman is daemonless, so its API is a service someone starts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';

/** Where each engine listens when DOCKER_HOST says nothing. */
export interface EngineSockets {
  docker: string;
  podman: string[];
}

export function defaultSockets(env: NodeJS.ProcessEnv): EngineSockets {
  return {
    docker: '/var/run/docker.sock',
    podman: [
      ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock')] : []),
      '/run/podman/podman.sock',
    ],
  };
}

/**
 * `env` with DOCKER_HOST naming podman's socket when DOCKER_HOST is unset, Docker's socket
 * does not exist and a podman socket does; otherwise `env` as it is (Docker, or an error
 * from the engine call naming the Docker socket it could not reach).
 */
export function engineEnv(
  env: NodeJS.ProcessEnv,
  sockets: EngineSockets = defaultSockets(env),
  exists: (path: string) => boolean = existsSync,
): NodeJS.ProcessEnv {
  if (env.DOCKER_HOST || exists(sockets.docker)) return env;
  const podman = sockets.podman.find(exists);
  return podman ? { ...env, DOCKER_HOST: `unix://${podman}` } : env;
}

/** Whether the engine behind `docker` is podman's compatible API (it names its component so). */
export async function isPodman(docker: Docker): Promise<boolean> {
  const version = (await docker.version().catch(() => undefined)) as
    { Components?: Array<{ Name?: string }> } | undefined;
  return (version?.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
}

/**
 * A tmpfs owned by the command's user: Docker takes uid=/gid= mount options (it drops a
 * sticky mode=1777); podman refuses those and has its own `U` (chown to the container's user).
 */
export function ownedTmpfs(
  sizeMiB: number,
  owner: { uid: string; gid: string },
  podman: boolean,
): string {
  const own = podman ? 'U' : `uid=${owner.uid},gid=${owner.gid}`;
  return `rw,exec,nosuid,nodev,size=${sizeMiB}m,${own},mode=0700`;
}
