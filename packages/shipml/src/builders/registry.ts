import { defineRegistry } from '../core/registry.js';
import { dockerfile } from './dockerfile/descriptor.js';
import { node } from './node/descriptor.js';

/**
 * The image builders. Adding one = a folder with schema.ts (its keys of `build:`),
 * descriptor.ts, index.ts (the ImageBuilder) and README.md, its entry here, and the builder
 * conformance suite (conformance.ts, shipml/testing) passing. The first is the default
 * `build.kind`. A test checks this list against the folders.
 */
export const imageBuilders = defineRegistry('image builder', [node, dockerfile]);
