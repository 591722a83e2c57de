import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ConfigError, ExternalServiceError } from '../core/errors.js';
import type { BlobDir } from '../oci/blobs.js';
import { readDockerArchive } from '../oci/docker/archive-read.js';
import { saveFromEngine } from '../oci/docker/engine.js';
import type { ConfigPatch } from '../oci/mutate.js';
import { finishImage, type BuildResult } from './finish.js';
import type { GitInfo } from './git.js';
import type { ModelLayerInput } from './model-layer.js';

export interface DockerfileBuildInput {
  context: string;
  /** Path of the Dockerfile (default: Dockerfile in the context). */
  dockerfile: string;
  args: Record<string, string>;
  models: readonly ModelLayerInput[];
  config: ConfigPatch;
  git: GitInfo | undefined;
  sourceDateEpoch?: number | undefined;
  blobs: BlobDir;
  env: NodeJS.ProcessEnv;
  /** Lines of BuildKit's output, as they come. */
  onLog?: (line: string) => void;
  signal?: AbortSignal | undefined;
}

/**
 * Builds apps that are not Node.js: BuildKit builds the Dockerfile (which never copies the
 * model), ShipML reads the result out of the engine and appends the model layer natively,
 * so a new model never re-runs the Dockerfile and BuildKit never compresses the weights.
 */
export async function buildWithDockerfile(input: DockerfileBuildInput): Promise<BuildResult> {
  const tag = `shipml-build/${createHash('sha256').update(input.context).digest('hex').slice(0, 16)}:latest`;
  const args = [
    'build',
    '--file',
    input.dockerfile,
    '--tag',
    tag,
    ...Object.entries(input.args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    input.context,
  ];
  const env = {
    ...input.env,
    DOCKER_BUILDKIT: '1',
    ...(input.sourceDateEpoch !== undefined
      ? { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch) }
      : {}),
  };
  await dockerBuild(args, env, input.onLog, input.signal);
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
}

function dockerBuild(
  args: string[],
  env: NodeJS.ProcessEnv,
  onLog?: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    const tail: string[] = [];
    const collect = (data: Buffer) => {
      for (const line of data.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 15) tail.shift();
        onLog?.(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new ConfigError('the Dockerfile builder needs the docker CLI and a Docker Engine', {
              hint: 'install docker.io (scripts/services.sh install does) or use build.kind: node',
            })
          : err,
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const last = tail.filter((l) => /error|failed/i.test(l)).at(-1) ?? tail.at(-1) ?? '';
      reject(
        new ExternalServiceError(`docker build failed (exit ${code}): ${last.trim()}`, {
          retryable: false,
          hint: 'run with --debug to see the build output',
        }),
      );
    });
  });
}
