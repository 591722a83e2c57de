/**
 * The DeployTarget contract: every place ShipML releases to (a Kubernetes cluster, a single
 * Docker host) implements exactly this, and one conformance suite (conformance.ts) holds
 * each of them to it.
 *
 * A target never half-releases: deploy() either ends with the new release serving on every
 * replica, or it puts the previous release back (or keeps it, if it never left) and throws a
 * RolloutError saying why and what is live.
 */
import type { z } from 'zod';
import { ShipmlError } from '../core/errors.js';
import type { Descriptor } from '../core/registry.js';

/** Where a release came from: read from the image's labels, recorded with every revision. */
export interface ReleaseProvenance {
  /** Git commit the image was built from (may end in -dirty). */
  commit?: string | undefined;
  /** The app's own version (package.json). */
  appVersion?: string | undefined;
  model?: { name: string; version: string; digest: string } | undefined;
}

/** What to release: an image pinned by digest, and what it contains. */
export interface Release {
  /** `registry/repository@sha256:...` — never a tag: a revision must mean one image. */
  image: string;
  provenance: ReleaseProvenance;
}

/** How the app runs, the same on every target. */
export interface DeploySpec {
  /** The app's name: a DNS label (lowercase letters, digits, '-'), names every object. */
  app: string;
  replicas: number;
  /** The port the app listens on inside its container. */
  port: number;
  /** HTTP path that answers 2xx once the replica may take traffic. */
  readinessPath: string;
  /** HTTP path that answers 2xx while the process is healthy. */
  livenessPath: string;
  /** Environment for the app (in addition to what the image sets). */
  env: Record<string, string>;
  /** Extra labels on every replica (targets add their own). */
  labels: Record<string, string>;
  /** A rollout that has not finished within this many seconds is rolled back. */
  progressDeadlineSeconds: number;
  /** Seconds a replica keeps serving after it leaves the load balancer, before SIGTERM. */
  drainSeconds: number;
  /** Revisions kept for rollback. */
  historyLimit: number;
}

export const DEFAULT_SPEC: Omit<DeploySpec, 'app'> = {
  replicas: 2,
  port: 8080,
  readinessPath: '/readyz',
  livenessPath: '/healthz',
  env: {},
  labels: {},
  progressDeadlineSeconds: 120,
  drainSeconds: 5,
  historyLimit: 10,
};

/** One release as it was (or is) deployed. */
export interface Revision {
  /** Increases with every deploy and rollback of the app on this target (1, 2, ...). */
  number: number;
  image: string;
  provenance: ReleaseProvenance;
  /** ISO-8601 time the revision was rolled out. */
  deployedAt: string;
}

export interface DeployStatus {
  app: string;
  /** The revision serving now; undefined when the app is not deployed. */
  live: Revision | undefined;
  replicas: { desired: number; ready: number; updated: number };
  /** Where users reach the app (load balancer URL), when the target knows it. */
  url: string | undefined;
  /** A rollout still in progress or stuck; undefined when settled. */
  rollout?: string | undefined;
}

/** Live progress of a rollout, as one-line human messages and counts. */
export interface DeployEvent {
  message: string;
  replicas?: { desired: number; ready: number; updated: number } | undefined;
}

export interface DeployOptions {
  signal?: AbortSignal | undefined;
  onEvent?: ((event: DeployEvent) => void) | undefined;
}

export interface DeployResult {
  /** The revision now serving everywhere. */
  revision: Revision;
  /** Seconds from start to every replica serving the release. */
  seconds: number;
  url: string | undefined;
}

export interface DeployTarget {
  /** `kubernetes` or `docker`. */
  readonly kind: string;
  /** Rolls `release` out; resolves once every replica serves it, else rolls back and throws RolloutError. */
  deploy(release: Release, spec: DeploySpec, options?: DeployOptions): Promise<DeployResult>;
  status(app: string): Promise<DeployStatus>;
  /** Revisions, newest first (at most spec.historyLimit). */
  history(app: string): Promise<Revision[]>;
  /** Rolls back to revision `to` (default: the one before the live one), as a new revision. */
  rollback(app: string, to?: number, options?: DeployOptions): Promise<DeployResult>;
  /** Removes every object of the app. Idempotent. */
  destroy(app: string): Promise<void>;
  /**
   * Optional capability: what a deploy would create, as objects and as text in the
   * target's own format (YAML manifests for GitOps), secrets masked, nothing applied.
   * `validate` also has the target check them (a server-side dry run). See canRender.
   */
  renderRelease?(
    release: Release,
    spec: DeploySpec,
    options?: { validate?: boolean },
  ): Promise<Rendered>;
}

/** A release rendered by a target that can (DeployTarget.renderRelease). */
export interface Rendered {
  objects: unknown[];
  text: string;
}

/** Optional DeployTarget members: `render` = renderRelease. */
export type TargetCapability = 'render';

/** Whether the target can render a release without applying it. */
export function canRender(
  target: DeployTarget,
): target is DeployTarget & Required<Pick<DeployTarget, 'renderRelease'>> {
  return typeof target.renderRelease === 'function';
}

/** Registry credentials the target pulls the image with (never from its own config). */
export interface PullCredentials {
  /** Registry host as in the image reference, e.g. myacr.azurecr.io or 127.0.0.1:5000. */
  registry: string;
  username: string;
  password: string;
}

/** What a target gets from its caller when it is opened. */
export interface TargetContext {
  env: NodeJS.ProcessEnv;
  pull?: PullCredentials | undefined;
}

/** A CLI flag that overrides one option of a target (`--port` → deploy.docker.port). */
export interface TargetFlag {
  /** commander's flag syntax, e.g. `-n, --namespace <name>`. */
  flags: string;
  /** The option of the target's schema it sets. */
  option: string;
  description: string;
  /** Parse the value as a positive integer. */
  integer?: boolean;
}

/**
 * A deploy target as the registry knows it: its `deploy.<id>` options (schema.ts, no SDK),
 * the flags that override them, and a lazy open that loads the target's client library.
 */
export interface TargetDescriptor<S extends z.ZodType = z.ZodType> extends Descriptor {
  readonly optionsSchema: S;
  readonly flags: readonly TargetFlag[];
  /** The optional DeployTarget members its targets have (the conformance suite checks it). */
  readonly capabilities: readonly TargetCapability[];
  open(options: z.output<S>, ctx: TargetContext): Promise<DeployTarget>;
}

/** Why a rollout did not complete. */
export type RolloutFailure =
  | 'image-pull' // the image could not be pulled
  | 'crash-loop' // the container exits or keeps restarting
  | 'never-ready' // the readiness check never passed
  | 'deadline' // progressDeadlineSeconds passed
  | 'cancelled'; // Ctrl-C / AbortSignal

/**
 * A rollout failed. The message says why; `live` is what serves now (after the automatic
 * rollback, or undefined if nothing was live before), `rolledBack` whether a rollback ran.
 */
export class RolloutError extends ShipmlError {
  /** CANCELLED for a cancelled rollout (exit status 130, like any cancellation), else ROLLOUT_FAILED. */
  readonly code: string;
  constructor(
    message: string,
    readonly failure: RolloutFailure,
    readonly live: Revision | undefined,
    readonly rolledBack: boolean,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.code = failure === 'cancelled' ? 'CANCELLED' : 'ROLLOUT_FAILED';
  }
}

/** `sha256:...` digest out of `repo@sha256:...`, or undefined for a tag reference. */
export function imageDigest(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  return at >= 0 ? image.slice(at + 1) : undefined;
}
