import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import {
  CancelledError,
  ConfigError,
  ExternalServiceError,
  systemCode,
} from '../../core/errors.js';
import { telltaleLine } from '../../core/log-lines.js';
import { runProcess } from '../../core/process.js';
import { readDockerArchive } from '../../oci/docker/archive-read.js';
import { saveFromEngine } from '../../oci/docker/engine.js';
import { finishImage } from '../finish.js';
import type { BuildInput, BuildResult, ImageBuilder } from '../types.js';
import type { DockerfileBuilderOptions } from './schema.js';

/**
 * Builds apps that are not Node.js: BuildKit builds the Dockerfile (which never copies the
 * model), ShipML reads the result out of the engine and appends the model layer natively,
 * so a new model never re-runs the Dockerfile and BuildKit never compresses the weights.
 */
export const dockerfileBuilder: ImageBuilder<DockerfileBuilderOptions> = {
  async build(input: BuildInput<DockerfileBuilderOptions>): Promise<BuildResult> {
    const { options } = input;
    const hash = createHash('sha256').update(input.appDir).digest('hex').slice(0, 16);
    const tag = `shipml-build/${hash}:latest`;
    const args = [
      'build',
      '--file',
      resolve(input.appDir, options.dockerfile),
      '--tag',
      tag,
      ...Object.entries(options.args ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      input.appDir,
    ];
    const env = {
      ...input.env,
      DOCKER_BUILDKIT: '1',
      ...(input.sourceDateEpoch !== undefined
        ? { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch) }
        : {}),
    };
    await dockerBuild(args, env, input);
    const app = await readDockerArchive(await saveFromEngine(tag, input.env), input.blobs);
    const created =
      input.sourceDateEpoch !== undefined
        ? new Date(input.sourceDateEpoch * 1000)
        : (input.git?.commitTime ?? new Date(1000));
    return finishImage(app, {
      appended: [],
      report: [],
      models: input.models,
      git: input.git,
      created,
      version: undefined,
      config: input.config,
      blobs: input.blobs,
    });
  },
};

async function dockerBuild(
  args: string[],
  env: NodeJS.ProcessEnv,
  input: Pick<BuildInput, 'signal' | 'onLog'>,
): Promise<void> {
  const result = await runProcess('docker', args, {
    env,
    signal: input.signal,
    tailLines: 15,
    onLine: (line) => {
      if (line.trim()) input.onLog?.(line);
    },
  }).catch((err: unknown) => {
    if (systemCode(err) !== 'ENOENT') throw err;
    throw new ConfigError('the Dockerfile builder needs the docker CLI and a Docker Engine', {
      hint: 'install docker.io (scripts/services.sh install does) or use build.kind: node',
      cause: err,
    });
  });
  if (result.cancelled) throw new CancelledError('docker build was cancelled');
  if (result.code === 0) return;
  const last = telltaleLine(result.tail) ?? '';
  // Docker CLIs 23+ hand BuildKit builds to the buildx plugin and fail without it.
  const hint = /buildx/i.test(last)
    ? 'install the docker buildx plugin (docker-buildx), then build again'
    : 'run with --debug to see the build output';
  throw new ExternalServiceError(
    `docker build failed (exit ${result.code ?? result.signal}): ${last.slice(0, 300)}`,
    { retryable: false, hint },
  );
}
