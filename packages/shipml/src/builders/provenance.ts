import { createHash } from 'node:crypto';
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

/**
 * The tags an image gets when none are configured: `latest`, and a tag that names what the
 * image holds, so it never has to move: `<short-commit>-<model-name>-<model-version>`
 * (`3f2a9c1d4e5b-digits-1.4.0`), or just the short commit without a model. The same commit
 * with a new model gets a new tag instead of re-pointing the old one.
 *
 * `revision` is the recorded one (`<commit>` or `<commit>-dirty`). A dirty tree keeps its
 * `-dirty` suffix, as the revision label does: the tag must not claim the clean commit it does
 * not hold, and a clean build of that commit later gets its own tag. No commit: `latest` only
 * (a model-only tag would move on every code change).
 */
export function defaultTags(
  revision: string | undefined,
  model?: { name: string; version: string },
): string[] {
  if (!revision) return ['latest'];
  const dirty = revision.endsWith('-dirty');
  const commit = revision.replace(/-dirty$/, '').slice(0, 12);
  const parts = model ? [commit, model.name, model.version] : [commit];
  return ['latest', ociTag(parts.join('-'), dirty ? '-dirty' : '')];
}

/** The OCI tag grammar: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests */
const TAG_MAX = 128;

/**
 * `text` + `suffix` made a valid tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`): other characters
 * (a version's `+`) become `_`; too long, it is cut and ends in a hash of the whole, so two
 * long names never share a tag.
 */
export function ociTag(text: string, suffix = ''): string {
  let tag = text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]/, '_');
  if (tag.length + suffix.length > TAG_MAX) {
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
    tag = `${tag.slice(0, TAG_MAX - suffix.length - hash.length - 1)}-${hash}`;
  }
  return tag + suffix;
}
