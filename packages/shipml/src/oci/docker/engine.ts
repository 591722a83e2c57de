import { PassThrough, type Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ExternalServiceError } from '../../core/errors.js';
import type { Image } from '../types.js';
import { writeDockerArchive } from './archive.js';
import { dockerClient } from './client.js';
import { answerHint, engineAnswer, engineFailure } from './engine-errors.js';

/**
 * Loads an image into the Docker Engine `env` names (POST /images/load), streaming the docker
 * archive straight into the API: no temporary file, no `docker` CLI needed.
 * https://docs.docker.com/engine/api/v1.41/#tag/Image/operation/ImageLoad
 */
export async function loadIntoEngine(
  image: Image,
  tags: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const { docker, where } = dockerClient(env);
  // Asked first, so that an engine refusing the connection says why (a TLS alert, say) before
  // the upload starts; mid-upload the same refusal only shows as ECONNRESET.
  try {
    await docker.ping();
  } catch (err) {
    throw failed(where, 'image load failed', err);
  }
  const body = new PassThrough();
  let archiveError: Error | undefined;
  const archive = writeDockerArchive(image, body, tags);
  // docker-modem aborts the request when its body stream errors: the archive's own error wins.
  archive.catch((err: unknown) => {
    archiveError = err as Error;
    body.destroy(err as Error);
  });
  let messages: string;
  try {
    messages = await text((await docker.loadImage(body, { quiet: true })) as Readable);
  } catch (err) {
    if (archiveError !== undefined) throw archiveError;
    body.destroy(); // the engine is gone: let the archive writer stop instead of waiting forever
    throw failed(where, 'image load failed', err);
  }
  await archive;
  // The API answers 200 and reports failures inside its JSON message stream.
  const failure = messages
    .split('\n')
    .map((line) => safeParse(line))
    .find((m) => m?.error ?? m?.errorDetail);
  if (failure)
    throw new ExternalServiceError(
      `Docker Engine at ${where}: image load failed: ${failure.error ?? failure.errorDetail?.message}`,
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
 * Streams an image out of the engine `env` names (GET /images/{name}/get, the `docker save`
 * format).
 * https://docs.docker.com/engine/api/v1.41/#tag/Image/operation/ImageGet
 */
export async function saveFromEngine(name: string, env: NodeJS.ProcessEnv): Promise<Readable> {
  const { docker, where } = dockerClient(env);
  try {
    return (await docker.getImage(name).get()) as Readable;
  } catch (err) {
    throw failed(where, `cannot export ${name}`, err);
  }
}

/** The engine's answer (`what (HTTP status: message)`), or why none came, as one error. */
function failed(where: string, what: string, err: unknown): unknown {
  const answer = engineAnswer(err);
  if (!answer) return engineFailure(where, err) ?? err;
  return new ExternalServiceError(
    `Docker Engine at ${where}: ${what} (HTTP ${answer.status}: ${answer.message.slice(0, 300)})`,
    { retryable: false, status: answer.status, cause: err, hint: answerHint(answer.message) },
  );
}
