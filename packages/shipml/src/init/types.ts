/**
 * The CiSystem contract: every CI system `shipml init` writes a definition for (GitHub
 * Actions, Azure Pipelines) is one folder holding a descriptor of this shape, its renderer and
 * a README, and one line in registry.ts.
 *
 * What every generated definition promises, whatever the CI system (test/init.test.ts holds
 * each renderer to it):
 * - **Build on every push** (every branch) and on pull requests: `shipml run` up to the push.
 * - **Pull requests stop at the build** (`--until build`): they push nothing that a release
 *   or a `docker pull` could take for the real thing.
 * - **Release of the exact digest**: after a successful build of the default branch only, a
 *   release job runs `shipml release IMAGE@DIGEST` with the digest the build job pushed
 *   (never a tag, which may have moved since), one release at a time per app.
 * - **Nightly**: the release also runs on a schedule (UTC cron, `CiSpec.schedule`), without any
 *   commit: the model channel may have moved.
 * - **Model published**: a way to run when a new model is published (GitHub: a
 *   `repository_dispatch` of type `model-published`; where the CI has no such event, the
 *   file's header says how to queue a run). Each run records why it ran (`--trigger`).
 * - **Secrets mapped into env**: every secret a step needs (registry, model store, what the
 *   deploy target needs) reaches only that step, as an environment variable from the CI's own
 *   secret store; the file names them in its header, and never holds a value.
 * - **Valid against the CI's published schema** (vendored in test/fixtures/ci-schemas).
 */
import type { imageBuilders } from '../builders/registry.js';
import type { Descriptor } from '../core/registry.js';
import type { DeployTargetId } from '../deploy/registry.js';
import type { ciSystems } from './registry.js';

export type { DeployTargetId };
/** A CI system's id, as `--ci` takes it (`github`, `azure`). */
export type CiSystemId = (typeof ciSystems)['ids'][number];
/** An image builder's id, as `--builder` takes it. */
export type ImageBuilderId = (typeof imageBuilders)['ids'][number];

/**
 * One CI system `shipml init` writes a definition for. It takes no options today (`--ci`
 * takes ids only: `optionsSchema` is `z.object({}).strict()`), and reads no secrets itself:
 * `secretEnv` and `ciEnv` are empty, the secrets its file maps come from the other kinds.
 */
export interface CiSystem extends Descriptor {
  /** Where its definition goes, relative to the repository root (posix). */
  path(spec: CiSpec): string;
  /** The definition's text (YAML), keeping every promise above. */
  render(spec: CiSpec): string;
  /** The next step for the user: which secrets (and files) to create in this CI, and where. */
  setup(spec: CiSpec): string;
}

/**
 * What every CI definition does, independent of the CI system. The build runs on every commit
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
  /** Environment variables from secrets, for the release (registry, the deploy target's). */
  releaseSecrets: string[];
  target: DeployTargetId;
  /**
   * The deploy target reads a kubeconfig (KUBECONFIG is in its `ciEnv`): CI keeps the file's
   * content in its secret store and hands the release step a path to it.
   */
  kubeconfig: boolean;
  /**
   * The deploy target needs nothing from CI to reach where it releases (an empty `ciEnv`),
   * so it releases to the machine the release job runs on: a self-hosted runner there.
   */
  releaseOnRunner: boolean;
  /** Cron (UTC) of the nightly release. */
  schedule: string;
  /** The shipml version that wrote the file (for the header). */
  version: string;
}
