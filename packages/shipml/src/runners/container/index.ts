/**
 * The container runner: each command in a fresh container on the Docker Engine that sees
 * only the checkout (read-write, at /workspace), the verified model (read-only, at /model)
 * and a scratch in memory (/tmp, HOME=/scratch); a read-only root file system, no
 * capabilities, no-new-privileges, a non-root user, no Docker socket, limits on CPU,
 * memory, processes, disk and time, network none or the default bridge. The command gets
 * the variables it declares (its `env:`) and nothing of ShipML's environment; registry and
 * store credentials, kubeconfig and the server's files stay outside. Ending the container
 * ends the command's whole process tree (its PID namespace). The app's npm cache persists
 * between its runs at /cache/npm (cache.ts).
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { ConfigError, ExternalServiceError } from '../../core/errors.js';
import { lineSplitter, runProcess } from '../../core/process.js';
import { stripAnsi } from '../../core/ansi.js';
import { Engine, engineCall } from '../../deploy/docker/engine.js';
import type { CommandInput, CommandOutcome, CommandRunner, RunnerContext } from '../types.js';
import type { ContainerRunnerOptions } from './schema.js';
import { watchLimits } from './watch.js';
import { NPM_CACHE_MOUNT, npmCacheDir, readyCache } from './cache.js';
import { engineEnv, isPodman, ownedTmpfs } from './engine-env.js';
import { COMMAND_LABEL } from '../labels.js';

export const WORKSPACE = '/workspace';
export const MODEL_MOUNT = '/model';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MiB = 1024 * 1024;
/** What shells and runtimes say when the process limit refuses a fork (dash, bash, node, python). */
const FORK_REFUSED =
  /Cannot fork|fork: (retry: )?Resource temporarily unavailable|spawn EAGAIN|BlockingIOError/;

export async function openContainerRunner(
  options: ContainerRunnerOptions,
  ctx: RunnerContext,
): Promise<CommandRunner> {
  const image = options.image ?? ctx.defaultImage;
  if (!image)
    throw new ConfigError('runner.image: the container runner needs an image (or build.base)');
  if (image.startsWith('oci:'))
    throw new ConfigError(
      `runner.image: ${image} is an OCI layout; the container runner needs an image the Docker Engine can pull`,
    );
  const engine = new Engine(
    engineEnv(ctx.env),
    ctx.pull && {
      username: ctx.pull.username,
      password: ctx.pull.password,
      serveraddress: ctx.pull.registry,
    },
  );
  await engine.ensureImage(image, ctx.say);
  const labels = { ...ctx.labels, [COMMAND_LABEL]: 'command' };
  const podman = await isPodman(engine.docker);
  return {
    kind: 'container',
    run: (input) => runInContainer(engine, image, options, input, { labels, env: ctx.env, podman }),
  };
}

/**
 * uid:gid the command runs as, and how to give the checkout back. Not root: ShipML's own
 * uid:gid (the checkout is already theirs). Root: runner.user, lent the checkout for the
 * command's time and handed back after it (git refuses a repository owned by another user,
 * and the build reads it next).
 */
async function lendCheckout(
  options: ContainerRunnerOptions,
  checkout: string,
): Promise<{ user: string; giveBack: () => Promise<void> }> {
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0)
    return { user: `${uid}:${process.getgid?.() ?? uid}`, giveBack: async () => {} };
  const owner = await stat(checkout);
  const chownTree = async (to: string) => {
    // chown -R: a checkout can hold many files; the tool is faster than a walk in JS.
    const result = await runProcess('chown', ['-R', '-h', to, checkout], { env: { PATH } });
    if (result.code !== 0)
      throw new ExternalServiceError(
        `cannot hand ${checkout} to ${to}: ${result.tail.at(-1) ?? `chown exit ${result.code}`}`,
        { retryable: false },
      );
  };
  await chownTree(options.user);
  return { user: options.user, giveBack: () => chownTree(`${owner.uid}:${owner.gid}`) };
}

function environment(input: CommandInput): string[] {
  const env: Record<string, string> = {
    PATH,
    HOME: '/scratch',
    TMPDIR: '/tmp',
    npm_config_cache: NPM_CACHE_MOUNT,
    ...input.env,
    ...(input.modelDir ? { MODEL_PATH: MODEL_MOUNT } : {}),
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

async function runInContainer(
  engine: Engine,
  image: string,
  options: ContainerRunnerOptions,
  input: CommandInput,
  from: { labels: Record<string, string>; env: NodeJS.ProcessEnv; podman: boolean },
): Promise<CommandOutcome> {
  const { user, giveBack } = await lendCheckout(options, input.appDir);
  const [uid, gid] = user.split(':');
  try {
    const npmCache = npmCacheDir(from.env);
    await readyCache(npmCache, process.getuid?.() === 0 ? user : undefined);
    return await runAs(engine, image, options, input, {
      uid: uid!,
      gid: gid!,
      user,
      labels: from.labels,
      npmCache,
      podman: from.podman,
    });
  } finally {
    await giveBack();
  }
}

async function runAs(
  engine: Engine,
  image: string,
  options: ContainerRunnerOptions,
  input: CommandInput,
  as: {
    uid: string;
    gid: string;
    user: string;
    labels: Record<string, string>;
    npmCache: string;
    podman: boolean;
  },
): Promise<CommandOutcome> {
  const { uid, gid, user } = as;
  const name = `shipml-command-${randomBytes(6).toString('hex')}`;
  const container: Docker.Container = await engineCall(engine.where, `creating ${name}`, () =>
    engine.docker.createContainer({
      name,
      Image: image,
      Cmd: ['sh', '-c', input.command],
      WorkingDir: WORKSPACE,
      User: user,
      Env: environment(input),
      Labels: as.labels,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      NetworkDisabled: options.network === 'none',
      HostConfig: {
        Binds: [
          `${input.appDir}:${WORKSPACE}:rw`,
          ...(input.modelDir ? [`${input.modelDir}:${MODEL_MOUNT}:ro`] : []),
          `${as.npmCache}:${NPM_CACHE_MOUNT}:rw`,
        ],
        // The command's own (one user). `exec`: tools unpack binaries there (Docker's default
        // for tmpfs is noexec).
        Tmpfs: {
          '/tmp': ownedTmpfs(options.scratchMiB, { uid, gid }, as.podman),
          '/scratch': ownedTmpfs(options.scratchMiB, { uid, gid }, as.podman),
        },
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        NetworkMode: options.network,
        NanoCpus: Math.round(options.cpus * 1e9),
        Memory: options.memoryMiB * MiB,
        MemorySwap: options.memoryMiB * MiB, // no swap: the limit is the limit
        PidsLimit: options.pids,
        IpcMode: 'private',
      },
    }),
  );
  try {
    return await attachAndWait(engine, container, options, input, as.podman);
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

async function attachAndWait(
  engine: Engine,
  container: Docker.Container,
  options: ContainerRunnerOptions,
  input: CommandInput,
  podman: boolean,
): Promise<CommandOutcome> {
  const tail: string[] = [];
  let stdout = '';
  const keep = input.keepStdoutBytes ?? 0;
  let forkRefused = false;
  const take = (raw: string) => {
    const line = stripAnsi(raw);
    if (FORK_REFUSED.test(line)) forkRefused = true;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    input.onLine?.(line);
  };
  const out = new PassThrough();
  const err = new PassThrough();
  const outLines = lineSplitter(take);
  const errLines = lineSplitter(take);
  out.on('data', (chunk: Buffer) => {
    if (keep > 0) stdout = (stdout + chunk.toString('utf8')).slice(-keep);
    outLines.push(chunk);
  });
  err.on('data', (chunk: Buffer) => errLines.push(chunk));
  const stream = await engineCall(engine.where, 'attaching to the command', () =>
    container.attach({ stream: true, stdout: true, stderr: true }),
  );
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  engine.docker.modem.demuxStream(stream, out, err);

  let timedOut = false;
  let cancelled = false;
  const kill = () => void container.kill().catch(() => undefined);
  // The watch takes its baseline (free space, the checkout's usage) before the command
  // starts: a fast write can be over before a baseline taken after start would see it.
  const watch = await watchLimits(
    {
      containerId: container.id,
      checkout: input.appDir,
      diskMiB: options.diskMiB,
      pids: options.pids,
    },
    kill,
  );
  try {
    await engineCall(engine.where, 'starting the command', () => container.start());
  } catch (e) {
    await watch.stop();
    throw e;
  }
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, input.timeoutSeconds * 1000);
  const onAbort = () => {
    cancelled = true;
    kill();
  };
  input.signal?.addEventListener('abort', onAbort, { once: true });
  if (input.signal?.aborted) onAbort();
  try {
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await watch.stop();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    outLines.end();
    errLines.end();
    const state = (await container.inspect()).State;
    const hits = watch.hits();
    const killed = StatusCode === 137 && !timedOut && !cancelled && !hits.includes('disk');
    const limits = [
      ...(state.OOMKilled || hits.includes('memory')
        ? [`memory limit ${options.memoryMiB} MiB (the command was killed)`]
        : // podman on cgroup v1 reports no OOM kill, and its cgroup can be gone before the
          // watch reads the counter: a SIGKILL nobody here sent is most likely the limit.
          podman && killed
          ? [`memory limit ${options.memoryMiB} MiB, most likely (the command was SIGKILLed)`]
          : []),
      ...(hits.includes('disk')
        ? [`disk limit ${options.diskMiB} MiB: it wrote more than that to the checkout`]
        : []),
      ...(hits.includes('pids') || forkRefused
        ? [`process limit ${options.pids}: forks were refused`]
        : []),
    ];
    return {
      code: StatusCode,
      signal: null,
      stdout: stripAnsi(stdout),
      tail,
      timedOut,
      cancelled,
      limit: limits.length > 0 ? limits.join('; ') : undefined,
    };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
    await watch.stop();
  }
}
