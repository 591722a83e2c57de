import { PassThrough, type Readable } from 'node:stream';
import { ExternalServiceError, systemCode } from '../../core/errors.js';
import type { Image } from '../types.js';
import { writeDockerArchive } from './archive.js';

/** The Docker Engine's socket: DOCKER_HOST (unix://), else /var/run/docker.sock. */
export function dockerSocket(env: NodeJS.ProcessEnv): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

/**
 * Loads an image into a local Docker Engine (POST /images/load), streaming the docker
 * archive straight into the API: no temporary file, no `docker` CLI needed.
 * https://docs.docker.com/engine/api/v1.41/#tag/Image/operation/ImageLoad
 */
export async function loadIntoEngine(
  image: Image,
  tags: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const socketPath = dockerSocket(env);
  const body = new PassThrough();
  const archive = writeDockerArchive(image, body, tags);
  archive.catch((err: unknown) => body.destroy(err as Error));
  let text: string;
  try {
    const { Agent, request } = await import('undici');
    const res = await request('http://docker/images/load?quiet=1', {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body,
      dispatcher: new Agent({ connect: { socketPath } }),
    });
    text = await res.body.text();
    if (res.statusCode >= 400)
      throw new ExternalServiceError(
        `Docker Engine at ${socketPath}: image load failed (HTTP ${res.statusCode}: ${text.trim().slice(0, 300)})`,
        { retryable: false, status: res.statusCode },
      );
  } catch (err) {
    if (err instanceof ExternalServiceError) throw err;
    throw new ExternalServiceError(
      `Docker Engine at ${socketPath} is unreachable (${systemCode(err) ?? (err as Error).message})`,
      {
        retryable: false,
        cause: err,
        hint: 'is dockerd running? (scripts/services.sh starts one for the tests)',
      },
    );
  }
  await archive;
  // The API answers 200 and reports failures inside its JSON message stream.
  const failure = text
    .split('\n')
    .map((line) => safeParse(line))
    .find((m) => m?.error ?? m?.errorDetail);
  if (failure)
    throw new ExternalServiceError(
      `Docker Engine: image load failed: ${failure.error ?? failure.errorDetail?.message}`,
      { retryable: false },
    );
}

function safeParse(
  line: string,
): { error?: string; errorDetail?: { message?: string } } | undefined {
  try {
    return line.trim() ? (JSON.parse(line) as { error?: string }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Streams an image out of the engine (GET /images/{name}/get, the `docker save` format).
 * https://docs.docker.com/engine/api/v1.41/#tag/Image/operation/ImageGet
 */
export async function saveFromEngine(name: string, env: NodeJS.ProcessEnv): Promise<Readable> {
  const socketPath = dockerSocket(env);
  try {
    const { Agent, request } = await import('undici');
    const res = await request(`http://docker/images/${encodeURIComponent(name)}/get`, {
      method: 'GET',
      dispatcher: new Agent({ connect: { socketPath } }),
    });
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      throw new ExternalServiceError(
        `Docker Engine at ${socketPath}: cannot export ${name} (HTTP ${res.statusCode}: ${text.trim().slice(0, 200)})`,
        { retryable: false, status: res.statusCode },
      );
    }
    return res.body;
  } catch (err) {
    if (err instanceof ExternalServiceError) throw err;
    throw new ExternalServiceError(
      `Docker Engine at ${socketPath} is unreachable (${systemCode(err) ?? (err as Error).message})`,
      { retryable: false, cause: err },
    );
  }
}
