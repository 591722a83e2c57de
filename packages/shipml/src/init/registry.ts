import { defineRegistry } from '../core/registry.js';
import { azure } from './azure/descriptor.js';
import { github } from './github/descriptor.js';

/**
 * The CI systems `shipml init` writes definitions for, in the order it writes them (and the
 * default of `--ci`: all of them). Adding one = a folder with descriptor.ts, its renderer and
 * README.md, its entry here, and test/init.test.ts validating its output against the CI's
 * published schema. A test checks this list against the folders.
 */
export const ciSystems = defineRegistry('CI system', [github, azure]);
