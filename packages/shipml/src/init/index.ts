import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { deployTargets } from '../deploy/registry.js';
import { appName } from '../deploy/spec.js';
import { modelStores } from '../model-store/registry.js';
import { validateName } from '../model-store/names.js';
import { parseReference } from '../oci/remote/reference.js';
import { ciSpec, secretNames } from './ci.js';
import { nextSteps, notes } from './advice.js';
import { chooseNodeBase, PUBLIC_NODE_BASE } from './base-image.js';
import { remoteStoreForms, renderConfig } from './config-file.js';
import { detectProject, type DetectedProject } from './detect.js';
import {
  checkMerged,
  describeChange,
  existingValue,
  mergeConfig,
  readExisting,
  type ConfigChange,
} from './merge.js';
import { appRoutes } from './routes.js';
import { ciSystems } from './registry.js';
import type { CiSystemId, DeployTargetId, ImageBuilderId } from './types.js';
import { writeAll, type PlannedFile, type WrittenFile } from './write.js';

export { ciSystems } from './registry.js';
export { remoteStoreForms } from './config-file.js';
export { describeChange, type ConfigChange } from './merge.js';
export { PUBLIC_NODE_BASE, baseImageCache } from './base-image.js';
export type { CiSpec, CiSystem, CiSystemId, DeployTargetId, ImageBuilderId } from './types.js';
export type { DetectedProject } from './detect.js';

/**
 * The base image of the native Node.js builder when --base is not given and no local one
 * exists (see base-image.ts: the local one from scripts/base-images.sh comes first).
 */
export const DEFAULT_NODE_BASE = PUBLIC_NODE_BASE;
const DEFAULT_PORT = 8080;
/** Where releases go without --target: the deploy-target registry's first (its default). */
export const DEFAULT_TARGET: DeployTargetId = deployTargets.ids[0];

export interface InitOptions {
  /** The app directory. */
  dir: string;
  /** Where paths are shown relative to (the user's working directory). */
  cwd: string;
  model?: string | undefined;
  store?: string | undefined;
  /** registry/repository, without tag or digest. */
  image?: string | undefined;
  target?: DeployTargetId | undefined;
  /** Which builder when both a package.json and a Dockerfile are there (default: dockerfile). */
  builder?: ImageBuilderId | undefined;
  /** Base image of the Node.js builder. */
  base?: string | undefined;
  ci: CiSystemId[];
  /** The branch releases come from (default: origin's default branch, else the current one, else main). */
  branch?: string | undefined;
  force: boolean;
  /** `deploy.<target>` options from the target's own flags (`--port` → deploy.docker.port). */
  targetOptions?: Record<string, string | number> | undefined;
  /** Where the local base images are looked for (SHIPML_CI_CACHE, HOME); default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The shipml version CI should run when the app has no shipml of its own (default: this one). */
  version?: string | undefined;
}

export interface InitResult {
  project: {
    dir: string;
    kind: DetectedProject['kind'];
    alsoFound: string | null;
    model: string;
    app: string;
    cmd: string[] | null;
  };
  files: Array<WrittenFile & { what: 'config' | CiSystemId }>;
  /** What merging into an existing shipml.yaml added, changed or kept (empty for a new file). */
  changes: ConfigChange[];
  /** The base image written to build.base (null for a Dockerfile build), and why. */
  base: { image: string; from: 'option' | 'local' | 'public' } | null;
  /** Secret names the CI definitions read (GitHub secrets; Azure secret variables). */
  secrets: string[];
  notes: string[];
  nextSteps: string[];
}

/**
 * `shipml init`: detects the app in `dir`, then writes shipml.yaml beside it and CI
 * definitions that call shipml at the repository root: all of them, or none when any would
 * replace an existing file without `force`.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.cwd, options.dir);
  const target = options.target ?? DEFAULT_TARGET;
  if (options.image) checkImage(options.image);
  if (options.store) checkStoreUrl(options.store);
  if (options.model) validateName(options.model);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new ConfigError(`${dir} is not a directory`);

  const project = await detectProject(dir, options.builder);
  const configFile = join(dir, 'shipml.yaml');
  const existing = await readExisting(configFile);
  // An existing shipml.yaml names the model and the app already: the CI files use its names.
  const mine = (...path: string[]) => (existing ? existingValue(existing, path) : undefined);
  const model = options.model ?? mine('model', 'name') ?? modelNameFrom(project.dirName);
  const app =
    mine('deploy', 'app') ?? appName({ model: { name: model, channel: 'latest' } }, undefined, dir);
  const root = (await repositoryRoot(dir)) ?? dir;
  const workdir = relative(root, dir).split(sep).join('/');
  const branch = options.branch ?? (await defaultBranch(root)) ?? 'main';
  const version = options.version ?? ownVersion();
  const port = (project.kind === 'dockerfile' ? project.port : undefined) ?? DEFAULT_PORT;

  const display = (path: string) => relative(options.cwd, path) || path;
  const planned: Array<PlannedFile & { what: 'config' | CiSystemId }> = [];
  const add = (what: 'config' | CiSystemId, path: string, content: string, mergedFrom?: string) =>
    planned.push({ what, path, display: display(path), content, mergedFrom });

  const env = options.env ?? process.env;
  const base = await chooseNodeBase(options.base, env);
  const generated = renderConfig({
    project,
    model,
    store: options.store,
    image: options.image,
    target,
    app,
    port,
    base: base.base,
    baseFrom: base.from,
    routes: await appRoutes(dir),
    targetOptions: options.targetOptions ?? {},
  });
  let changes: ConfigChange[] = [];
  if (existing === undefined) add('config', configFile, generated);
  else {
    const merged = mergeConfig(existing, generated, display(configFile), options.force);
    changes = merged.changes;
    checkMerged(merged.text, configFile, display(configFile), env);
    add('config', configFile, merged.text, existing);
  }
  const spec = ciSpec({ project, app, workdir, branch, store: options.store, target, version });
  // In the registry's order, whatever the order of --ci, each once.
  const chosen = new Set<string>(options.ci);
  const ci = ciSystems.all.filter((system) => chosen.has(system.id));
  for (const system of ci) add(system.id, join(root, system.path(spec)), system.render(spec));

  const written = await writeAll(planned, options.force);
  const secrets = ci.length ? secretNames(spec) : [];
  const have = {
    store: Boolean(options.store ?? mine('model', 'store')),
    image: Boolean(options.image ?? mine('image', 'repository')),
  };
  return {
    project: {
      dir,
      kind: project.kind,
      alsoFound: project.alsoFound ?? null,
      model,
      app,
      cmd: project.kind === 'node' ? (project.cmd?.argv ?? null) : null,
    },
    files: written.map((w, i) => ({ ...w, what: planned[i]!.what })),
    changes,
    base: project.kind === 'node' ? { image: base.base, from: base.from } : null,
    secrets,
    notes: notes(project, options, spec, {
      // Said only when it is what the file now holds (not when the user's own base was kept).
      base:
        project.kind === 'node' &&
        !changes.some((c) => c.action === 'kept' && ['build', 'build.base'].includes(c.path))
          ? base
          : undefined,
      kept: changes.filter((c) => c.action === 'kept').map(describeChange),
      hasStore: have.store,
      hasImage: have.image,
      hasProxyImage: Boolean(mine('deploy', 'docker', 'proxyImage')),
    }),
    nextSteps: nextSteps({ project, options, ci, spec, version, have }),
  };
}

/** A model name from a directory name: `My App` -> `my-app`. */
function modelNameFrom(dirName: string): string {
  const name = dirName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 128);
  try {
    return validateName(name);
  } catch {
    throw new ConfigError(`cannot derive a model name from the directory name "${dirName}"`, {
      hint: 'pass --model NAME (lowercase letters and digits separated by ., _ or -)',
    });
  }
}

/**
 * The store URL's shape, as the store registry reads it (the back end checks bucket and
 * account names when it opens the store; init opens nothing and contacts nothing).
 */
function checkStoreUrl(url: string): void {
  const match = /^([a-z0-9]+):\/\/([^?#]*)/.exec(url);
  const schemes = modelStores.ids.map((k) => `${k}://`);
  if (!match || !modelStores.has(match[1]!) || !match[2])
    throw new ConfigError(`--store: invalid store URL: expected one of ${schemes.join(', ')}`, {
      hint: `e.g. ${remoteStoreForms()}`,
    });
  if (/^[^/]*@/.test(match[2]))
    // Never echo it: whatever sits before the '@' is probably a password.
    throw new ConfigError('--store: store URLs must not carry credentials (user:password@)', {
      hint: 'CI passes credentials as environment variables from its secret store',
    });
}

function checkImage(image: string): void {
  const ref = parseReference(image);
  const last = image.split('/').at(-1) ?? '';
  if (ref.digest || last.includes(':'))
    throw new ConfigError(
      `--image ${image}: expected a repository (registry/repository, e.g. myacr.azurecr.io/digits) without tag or digest`,
      { hint: 'tags come from image.tags, else latest and <commit>-<model>-<version>' },
    );
}

/** The nearest directory at or above `dir` holding `.git` (a directory, or a worktree's file). */
async function repositoryRoot(dir: string): Promise<string | undefined> {
  for (let current = dir; ; current = dirname(current)) {
    if (await stat(join(current, '.git')).catch(() => undefined)) return current;
    if (dirname(current) === current) return undefined;
  }
}

const run = promisify(execFile);

/** origin's default branch, else the checked-out branch; undefined outside git. */
async function defaultBranch(root: string): Promise<string | undefined> {
  const git = async (...args: string[]) =>
    (await run('git', ['-C', root, ...args], { timeout: 10_000 })).stdout.trim();
  const origin = await git('symbolic-ref', '--short', 'refs/remotes/origin/HEAD').catch(() => '');
  if (origin.startsWith('origin/')) return origin.slice('origin/'.length);
  const current = await git('symbolic-ref', '--short', 'HEAD').catch(() => '');
  return current || undefined;
}

function ownVersion(): string {
  // src/init/ and dist/init/ are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
