import type { DetectedProject } from './detect.js';

/** The CI systems `shipml init` writes definitions for. */
export const CI_SYSTEMS = ['github', 'azure'] as const;
export type CiSystem = (typeof CI_SYSTEMS)[number];

/**
 * What both CI definitions do, independent of the CI system. The build runs on every commit
 * and pull request; the release follows a successful build on the default branch, and runs
 * nightly (the model channel may have moved without any commit) and when a new model is
 * published: the design's three triggers besides a manual run.
 */
export interface CiSpec {
  /** The app's name (a DNS label): names the release's concurrency group. */
  app: string;
  /** The app directory relative to the repository root (posix), '' at the root. */
  workdir: string;
  /** Releases happen from this branch only. */
  branch: string;
  nodeVersion: string;
  /** The npm lockfile relative to the repository root (the dependency cache key), if any. */
  lockfile: string | undefined;
  /** Shell commands before `shipml run`: install the app's dependencies, build it. */
  prepare: string[];
  /** Shell commands before `shipml release` (install the app's own shipml, if it has one). */
  releasePrepare: string[];
  /** How CI invokes shipml: the app's own copy, else a pinned version from npm. */
  shipml: string;
  /** Environment variables from secrets, for the build (registry, model store). */
  buildSecrets: string[];
  /** Environment variables from secrets, for the release (registry). */
  releaseSecrets: string[];
  target: 'docker' | 'kubernetes';
  /** Cron (UTC) of the nightly release. */
  schedule: string;
  /** The shipml version that wrote the file (for the header). */
  version: string;
}

export const NIGHTLY = '0 2 * * *';

/** The registry credentials every shipml command reads (README: registry credentials). */
const REGISTRY_SECRETS = ['SHIPML_REGISTRY_USERNAME', 'SHIPML_REGISTRY_PASSWORD'];

/**
 * The environment variables a model store at `url` takes its credentials from, by scheme
 * (the back ends' READMEs). A file:// store needs none (and is only reachable on one machine).
 */
export function storeSecrets(url: string | undefined): string[] {
  const scheme = /^([a-z0-9]+):\/\//.exec(url ?? '')?.[1];
  if (scheme === 's3') return ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
  if (scheme === 'azblob') return ['AZURE_STORAGE_CONNECTION_STRING'];
  return [];
}

export function ciSpec(input: {
  project: DetectedProject;
  app: string;
  workdir: string;
  branch: string;
  store: string | undefined;
  target: 'docker' | 'kubernetes';
  version: string;
}): CiSpec {
  const { project } = input;
  const node = project.kind === 'node' ? project : undefined;
  const at = (file: string) => (input.workdir ? `${input.workdir}/${file}` : file);
  return {
    app: input.app,
    workdir: input.workdir,
    branch: input.branch,
    nodeVersion: '22',
    lockfile: node ? at('package-lock.json') : undefined,
    prepare: node ? ['npm ci', ...(node.scripts.build ? ['npm run build'] : [])] : [],
    releasePrepare: node?.hasShipml ? ['npm ci'] : [],
    // The app's own shipml (a devDependency, installed by npm ci) keeps CI and laptops on one
    // version; otherwise the version that wrote this file, pinned, never "whatever is newest".
    shipml: node?.hasShipml ? 'npx shipml' : `npx --yes shipml@${input.version}`,
    buildSecrets: [...REGISTRY_SECRETS, ...storeSecrets(input.store)],
    releaseSecrets: [...REGISTRY_SECRETS],
    target: input.target,
    schedule: NIGHTLY,
    version: input.version,
  };
}

/** Secrets the CI definitions read, for the next steps (the kubeconfig is a file on Azure). */
export function secretNames(spec: CiSpec): string[] {
  return [...new Set([...spec.buildSecrets, ...spec.releaseSecrets])];
}

/** A shell command printing the image reference (registry/repository@digest) in a run report. */
export function reportImage(file: string): string {
  return `node -p 'require(process.argv[1]).image?.reference ?? ""' ${file}`;
}
