/**
 * A Release from an image reference: the image pinned by digest, its provenance read from the
 * labels ShipML's builders write (build/provenance.ts). What a target records is therefore
 * what the image itself says, not what a caller claims.
 */
import { ConfigError } from '../core/errors.js';
import { parseLocation, readImage, type RegistryAccess } from '../oci/locations.js';
import type { Release, ReleaseProvenance } from './types.js';

export async function releaseOf(reference: string, options: RegistryAccess): Promise<Release> {
  const location = parseLocation(reference);
  if (location.kind !== 'registry')
    throw new ConfigError(
      `${reference}: a release is an image in a registry (the target pulls it from there)`,
    );
  const image = await readImage(location, options);
  const { ref } = location;
  return {
    image: `${ref.registry}/${ref.repository}@${image.digest}`,
    provenance: provenanceOf(image.config.config?.Labels ?? {}),
  };
}

/** The provenance labels of an image config (see build/provenance.ts). */
export function provenanceOf(labels: Record<string, string>): ReleaseProvenance {
  const p: ReleaseProvenance = {};
  const commit = labels['org.opencontainers.image.revision'];
  if (commit) p.commit = commit;
  const version = labels['org.opencontainers.image.version'];
  if (version) p.appVersion = version;
  const name = labels['dev.shipml.model.name'];
  const modelVersion = labels['dev.shipml.model.version'];
  const digest = labels['dev.shipml.model.digest'];
  if (name && modelVersion && digest) p.model = { name, version: modelVersion, digest };
  return p;
}
