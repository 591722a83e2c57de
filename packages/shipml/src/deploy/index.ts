/**
 * `shipml/deploy`: what sits between an image and a target — the release an image makes
 * (pinned by digest, with the provenance its labels carry), opening the configured target
 * through the registry, and the bounded load generator that proves zero-downtime rollouts.
 */
export { releaseOf, provenanceOf } from './release.js';
export { openTarget, type TargetSelection } from './targets.js';
export {
  startLoad,
  type LoadOptions,
  type LoadReport,
  type LoadRequest,
  type LoadRun,
} from './load.js';
