import { defineRegistry } from '../core/registry.js';
import { docker } from './docker/descriptor.js';
import { kubernetes } from './kubernetes/descriptor.js';

/**
 * The deploy targets. Adding one = a folder with schema.ts (its `deploy.<id>` options),
 * descriptor.ts, index.ts or target.ts (the DeployTarget) and README.md, its entry here, and
 * the deploy conformance suite (shipml/testing) passing against the real thing. The first is
 * the default `deploy.target`. A test checks this list against the folders.
 */
export const deployTargets = defineRegistry('deploy target', [docker, kubernetes]);

/** A deploy target's id (`docker`, `kubernetes`). */
export type DeployTargetId = (typeof deployTargets)['ids'][number];
