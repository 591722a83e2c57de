import { readFile } from 'node:fs/promises';
import {
  runImageBuilderConformance,
  type BuilderConformance,
} from '../src/builders/conformance.js';
import { imageBuilders } from '../src/builders/registry.js';
import type { BuilderKind } from '../src/builders/types.js';
import { required } from './services.js';

/**
 * Every registered image builder passes the builder conformance suite with the same app and
 * models, on the same Node.js base image (scripts/base-images.sh): the node builder reads it
 * from the registry itself, the dockerfile builder's Dockerfile starts `FROM` it (BuildKit
 * pulls it into the engine). A builder without a setup here does not compile.
 */
const base = required('SHIPML_TEST_BASE_NODE');
const dockerfile = await readFile(
  new URL('./fixtures/builder-conformance/Dockerfile', import.meta.url),
  'utf8',
);
const setups: Record<BuilderKind, Pick<BuilderConformance, 'options' | 'files'>> = {
  node: { options: { base, include: ['package.json', 'server.js'] } },
  dockerfile: { options: { args: { BASE: base } }, files: { Dockerfile: dockerfile } },
};

// The engine here is Debian's 20.10, whose own CLI (/usr/bin/docker) drives BuildKit without
// the buildx plugin; a newer CLI earlier on PATH (/usr/local/bin/docker 28.x on these
// machines) refuses DOCKER_BUILDKIT=1 without buildx. The CLI tests reach /usr/bin/docker the
// same way (their env has no PATH, so the system default path applies).
const env = { ...process.env, PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` };

for (const builder of imageBuilders.all)
  runImageBuilderConformance({ builder, registry: { env }, ...setups[builder.id] });
