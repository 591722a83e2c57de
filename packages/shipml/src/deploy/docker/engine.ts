/**
 * The Docker Engine connection the Docker target uses (dockerode), with the engine's failures
 * turned into ShipML's one-line errors.
 */
import type Docker from 'dockerode';
import { LABEL, names, readState, type AppState, type Replica } from './state.js';
import { ExternalServiceError, NotFoundError } from '../../core/errors.js';
import { dockerClient } from '../../oci/docker/client.js';
import { answerHint, engineAnswer, engineFailure } from '../../oci/docker/engine-errors.js';

export { engineAnswer };

/**
 * The engine `env` names (DOCKER_HOST unix://, tcp:// with DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH, ssh://; /var/run/docker.sock by default) and where it is, for messages.
 */
export function connectEngine(env: NodeJS.ProcessEnv = process.env): {
  docker: Docker;
  where: string;
} {
  const { docker, where } = dockerClient(env);
  return { docker, where };
}

/** Runs one engine call; "unreachable" and unexpected answers become ExternalServiceErrors. */
export async function engineCall<T>(
  where: string,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const answer = engineAnswer(err);
    if (!answer) throw engineFailure(where, err) ?? err;
    if (answer.status === 404)
      throw new NotFoundError(`${what}: ${answer.message}`, { cause: err });
    throw new ExternalServiceError(
      `${what}: Docker Engine answered ${answer.status}: ${answer.message}`,
      {
        retryable: answer.status >= 500,
        status: answer.status,
        cause: err,
        hint: answerHint(answer.message),
      },
    );
  }
}

/** True when the engine says the object does not exist. */
export function isMissing(err: unknown): boolean {
  return engineAnswer(err)?.status === 404;
}

/**
 * Docker's multiplexed stream (exec and logs without a TTY): frames with an 8-byte header,
 * byte 0 naming the stream (1 stdout, 2 stderr). Text without frames is returned as stdout.
 */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length && raw[offset]! <= 2 && raw[offset + 1] === 0) {
    const size = raw.readUInt32BE(offset + 4);
    (raw[offset] === 2 ? err : out).push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset === 0) return { stdout: raw.toString('utf8'), stderr: '' };
  return {
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Credentials the engine pulls with (X-Registry-Auth). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** One Docker Engine and what the Docker target reads from it: the app's containers, images, addresses. */
export class Engine {
  readonly docker: Docker;
  readonly where: string;

  constructor(
    env: NodeJS.ProcessEnv = process.env,
    private readonly registryAuth?: RegistryAuth,
  ) {
    ({ docker: this.docker, where: this.where } = connectEngine(env));
  }

  async list(app: string): Promise<Docker.ContainerInfo[]> {
    return engineCall(this.where, `listing ${app}'s containers`, () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${app}`] } }),
    );
  }

  async read(app: string): Promise<AppState> {
    return readState(await this.list(app));
  }

  async ensureImage(image: string, say?: (message: string) => void): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    say?.(`pulling ${image}`);
    const stream = await engineCall(this.where, `pulling ${image}`, () =>
      this.docker.pull(image, this.registryAuth ? { authconfig: this.registryAuth } : {}),
    );
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, messages: Array<{ error?: string }>) => {
          const failed = err?.message ?? messages.find((m) => m.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
      ),
    );
  }

  /** Load balancer servers for running replicas (those without an address are left out). */
  async servers(
    replicas: readonly Replica[],
    app: string,
  ): Promise<Array<{ slot: number; address: string }>> {
    const found = await Promise.all(
      replicas.map(async (r) => ({ slot: r.slot, address: await this.addressOf(r, app) })),
    );
    return found.filter((s): s is { slot: number; address: string } => s.address !== undefined);
  }

  /** The replica's address on the app's network; undefined when it has none (not running). */
  async addressOf(replica: Replica, app: string): Promise<string | undefined> {
    const info = await engineCall(this.where, `inspecting ${replica.name}`, () =>
      this.docker.getContainer(replica.id).inspect(),
    );
    return info.NetworkSettings.Networks[names.network(app)]?.IPAddress || undefined;
  }
}
