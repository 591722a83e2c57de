import type { GitInfo } from './git.js';

/** What an image records about its inputs, as labels (config) and annotations (manifest). */
export interface ProvenanceInput {
  git?: GitInfo | undefined;
  created: Date;
  /** The app's version (package.json). */
  version?: string | undefined;
  models: Array<{ name: string; version: string; digest: string; target: string }>;
}

/**
 * The OCI pre-defined annotation keys (https://github.com/opencontainers/image-spec/blob/main/annotations.md)
 * plus ShipML's model keys. Production can read them back from the image (labels), from the
 * registry (annotations) or from the running app (env): which commit, which model.
 */
export function provenance(input: ProvenanceInput): Record<string, string> {
  const out: Record<string, string> = {
    'org.opencontainers.image.created': input.created.toISOString(),
  };
  if (input.git) {
    out['org.opencontainers.image.revision'] = input.git.dirty
      ? `${input.git.commit}-dirty`
      : input.git.commit;
    if (input.git.source) out['org.opencontainers.image.source'] = input.git.source;
  }
  if (input.version) out['org.opencontainers.image.version'] = input.version;
  const first = input.models[0];
  if (first) {
    out['dev.shipml.model.name'] = first.name;
    out['dev.shipml.model.version'] = first.version;
    out['dev.shipml.model.digest'] = first.digest;
    out['dev.shipml.model.path'] = first.target;
  }
  if (input.models.length > 1) out['dev.shipml.models'] = JSON.stringify(input.models);
  return out;
}

/** The same facts as environment variables for the app (its /version endpoint reads them). */
export function provenanceEnv(input: ProvenanceInput): Record<string, string> {
  const env: Record<string, string> = {};
  const first = input.models[0];
  if (first) {
    env.MODEL_PATH = first.target;
    env.MODEL_NAME = first.name;
    env.MODEL_VERSION = first.version;
    env.MODEL_DIGEST = first.digest;
  }
  if (input.git) env.APP_COMMIT = input.git.dirty ? `${input.git.commit}-dirty` : input.git.commit;
  if (input.version) env.APP_VERSION = input.version;
  return env;
}

/** The tags an image gets when none are configured: latest and the short commit. */
export function defaultTags(revision: string | undefined): string[] {
  return revision ? ['latest', revision.slice(0, 12).replace(/-dirty$/, '')] : ['latest'];
}
