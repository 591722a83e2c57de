import { defineRegistry } from '../core/registry.js';
import { container } from './container/descriptor.js';
import { host } from './host/descriptor.js';

/**
 * Where the app's own commands run. Adding one = a folder with schema.ts, descriptor.ts,
 * index.ts and README.md, its entry here, and the runner conformance suite (conformance.ts)
 * passing. The first is the default of `shipml run`; `shipml server` and `shipml worker`
 * default to `container` (server/config: an app's `runner`). A test checks this list
 * against the folders.
 */
export const runners = defineRegistry('command runner', [host, container]);
