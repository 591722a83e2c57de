/**
 * The CI-independent half of `shipml init`'s CI definitions: what to run and which secrets
 * each job needs, derived from the registries of the other kinds (the model store's and the
 * deploy target's `ciEnv`), never listed here.
 */
import { deployTargets } from '../deploy/registry.js';
import { modelStores } from '../model-store/registry.js';
import type { DetectedProject } from './detect.js';
import type { CiSpec, DeployTargetId } from './types.js';

export const NIGHTLY = '0 2 * * *';

/** The registry credentials every shipml command reads (README: registry credentials). */
const REGISTRY_SECRETS = ['SHIPML_REGISTRY_USERNAME', 'SHIPML_REGISTRY_PASSWORD'];

/**
 * A kubeconfig is a file, not a value: CI keeps its content and each CI system writes it out
 * its own way (a file from a secret on GitHub, a secure file on Azure) and sets the path.
 */
const KUBECONFIG = 'KUBECONFIG';

/**
 * The environment variables CI must provide for a model store at `url`: its back end's
 * `ciEnv`. None for a store init does not know (or no store; a file:// store needs none, and
 * is only reachable on one machine).
 */
export function storeSecrets(url: string | undefined): string[] {
  const scheme = /^([a-z0-9]+):\/\//.exec(url ?? '')?.[1] ?? '';
  return modelStores.has(scheme) ? [...modelStores.get(scheme).ciEnv] : [];
}

export function ciSpec(input: {
  project: DetectedProject;
  app: string;
  workdir: string;
  branch: string;
  store: string | undefined;
  target: DeployTargetId;
  version: string;
}): CiSpec {
  const { project } = input;
  const node = project.kind === 'node' ? project : undefined;
  const at = (file: string) => (input.workdir ? `${input.workdir}/${file}` : file);
  const targetEnv: readonly string[] = deployTargets.get(input.target).ciEnv;
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
    releaseSecrets: [...REGISTRY_SECRETS, ...targetEnv.filter((name) => name !== KUBECONFIG)],
    target: input.target,
    kubeconfig: targetEnv.includes(KUBECONFIG),
    releaseOnRunner: targetEnv.length === 0,
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

/** A string literal in a CI expression (GitHub's and Azure's alike): single quotes, a quote doubled. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
