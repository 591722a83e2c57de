/**
 * The pipeline's vocabulary: stages, what triggered a run, and the run report every run
 * leaves behind (under .shipml/runs/, and as `--json` output).
 */
import type { GateCheck } from './gate.js';
import type { Revision } from '../deploy/types.js';

export const STAGES = [
  'resolve',
  'fetch-model',
  'prepare',
  'test',
  'evaluate',
  'gate',
  'build',
  'push',
  'sign',
  'deploy',
  'verify',
  'record',
] as const;
export type StageName = (typeof STAGES)[number];

/** The stages from `first` to `last`, both included, in pipeline order. */
export function stagesFrom(first: StageName, last: StageName): StageName[] {
  return STAGES.slice(STAGES.indexOf(first), STAGES.indexOf(last) + 1);
}

/** Why a run ran. */
export type Trigger = 'commit' | 'model' | 'schedule' | 'manual';

export type StageStatus = 'succeeded' | 'failed' | 'skipped';

export interface StageReport {
  name: StageName;
  status: StageStatus;
  seconds: number;
  /** One line: what the stage did, why it was skipped, or why it failed. */
  detail: string;
}

/** Exactly what a run built from: equal inputs mean an equal image (the skip rule). */
export interface RunInputs {
  commit: string | undefined;
  /** The commit's tree hash: the code, whatever the commit message or parents. */
  tree: string | undefined;
  /** Uncommitted changes: such a run is never skipped, never reused. */
  dirty: boolean;
  model: { name: string; version: string; digest: string } | undefined;
  /** sha256 of shipml.yaml as written (before ${VAR} interpolation: no secret goes in). */
  configHash: string;
}

export interface RunReport {
  id: string;
  kind: 'run' | 'release';
  trigger: Trigger;
  /** Free text: the new model version, the schedule, who asked. */
  reason: string | undefined;
  startedAt: string;
  finishedAt: string | undefined;
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'running';
  /** The stage that failed, and why. */
  failure: { stage: StageName; message: string } | undefined;
  inputs: RunInputs | undefined;
  /** The run reused the image of an earlier run with the same inputs. */
  reusedFrom: string | undefined;
  image: { reference: string; digest: string } | undefined;
  /** The image's layers as built (or reused): what changed since the last build shows here. */
  layers: Array<{ kind: string; digest: string; size: number; status: string }> | undefined;
  metrics: Record<string, number> | undefined;
  /** The quality gate's rules and results (absent when the run has no gate or did not reach it). */
  gate?: { passed: boolean; checks: GateCheck[] } | undefined;
  /** What the sign stage attached to the image (absent: not signed by this run). */
  signed?: SignedImage | undefined;
  stages: StageReport[];
  /** What serves after the run (undefined when it stopped before deploying). */
  live: Revision | undefined;
  url: string | undefined;
}

/** The signature and attestations on the image, by digest (run report `signed`). */
export interface SignedImage {
  /** `SHA256:<hex>` of the signing key's public half. */
  key: string;
  /** The cosign signature manifest (`sha256-<digest>.sig`). */
  signature: string;
  /** One per attestation: the DSSE envelope blob and the OCI 1.1 referrer manifest listing it. */
  attachments: Array<{ kind: 'sbom' | 'provenance'; envelope: string; referrer: string }>;
  /** Set when this run did not sign: the run whose signature the reused image carries. */
  reusedFrom?: string | undefined;
}

/** What a running pipeline tells its display. */
export type RunEvent =
  | { type: 'stage-start'; stage: StageName }
  | { type: 'stage-log'; stage: StageName; line: string }
  | { type: 'stage-end'; stage: StageName; report: StageReport };
