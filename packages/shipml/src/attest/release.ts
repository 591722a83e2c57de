/**
 * What the pipeline's `sign` stage runs after push: sign the pushed image, build its SBOM and
 * its SLSA provenance from the image itself plus the run's facts, and attach both as signed
 * attestations. Everything is by digest; the image is not changed (attachments live beside it).
 */
import type { RegistryAccess } from '../oci/locations.js';
import type { Image } from '../oci/types.js';
import { pullImage } from '../oci/remote/read.js';
import { parseReference } from '../oci/remote/reference.js';
import { attachAttestations, PREDICATE, type Attachment } from './attestations.js';
import { statementFor } from './dsse.js';
import type { SigningKey } from './keys.js';
import { provenanceStatement, type ProvenanceFacts } from './provenance.js';
import { buildSbom, type SbomInput } from './sbom.js';
import { npmPackagesOf } from './sbom-npm.js';
import { signImage, type SignResult } from './signature.js';
import { pinnedName, resolveTarget } from './target.js';

/** The run's facts the image cannot tell by itself. */
export interface SignReleaseInput {
  /** The pushed image: `registry/repository@sha256:…` (a tag works, it is resolved first). */
  reference: string;
  access: RegistryAccess;
  key: SigningKey;
  shipmlVersion: string;
  /** The commit's tree id, shipml.yaml's hash, the run id and times (provenance). */
  build?:
    Pick<ProvenanceFacts, 'tree' | 'config' | 'runId' | 'startedOn' | 'finishedOn'> | undefined;
  base?: { reference: string; digest: ProvenanceFacts['image']['digest'] } | undefined;
  /**
   * The image as built (its layers in the local cache), to read the npm packages without
   * downloading the dependency layer again; used only when its digest is the pushed one.
   */
  image?: Image | undefined;
  /** The model as its manifest describes it, the channel it came from and the gate's verdict. */
  model?: Omit<NonNullable<SbomInput['model']>, 'layerDigest'> | undefined;
}

/** What the run report records. */
export interface SignReleaseResult {
  image: string;
  signature: SignResult;
  attachments: Attachment[];
}

/** Signs `input.reference` and attaches its SBOM and provenance (see the module comment). */
export async function signRelease(input: SignReleaseInput): Promise<SignReleaseResult> {
  const target = await resolveTarget(parseReference(input.reference), input.access);
  const image =
    input.image?.digest === target.ref.digest
      ? input.image
      : await pullImage(target.client, target.ref, { signal: input.access.signal });
  const labels = image.config.config?.Labels ?? {};
  const modelDigest = input.model?.digest ?? labels['dev.shipml.model.digest'];
  const layerDigest = image.manifest.layers.find(
    (l) => modelDigest && l.annotations?.['dev.shipml.model.digest'] === modelDigest,
  )?.digest as ProvenanceFacts['image']['digest'] | undefined;
  const model = input.model ? { ...input.model, layerDigest } : undefined;
  const imageFacts = { name: target.repositoryName, digest: target.ref.digest };

  const sbom = buildSbom({
    image: { ...imageFacts, created: image.config.created },
    packages: await npmPackagesOf(image),
    app: {
      name: target.ref.repository.split('/').pop(),
      version: labels['org.opencontainers.image.version'],
    },
    base: input.base,
    model,
    shipmlVersion: input.shipmlVersion,
  });
  const provenance = provenanceStatement({
    ...input.build,
    image: imageFacts,
    revision: labels['org.opencontainers.image.revision'],
    source: labels['org.opencontainers.image.source'],
    base: input.base,
    model: model
      ? {
          name: model.name,
          version: model.version,
          digest: model.digest,
          layerDigest,
          channel: model.channel,
        }
      : undefined,
    shipmlVersion: input.shipmlVersion,
  });
  const signature = await signImage(target, input.key, {
    annotations: labels['org.opencontainers.image.revision']
      ? { 'org.opencontainers.image.revision': labels['org.opencontainers.image.revision'] }
      : undefined,
    signal: input.access.signal,
  });
  const attachments = await attachAttestations(
    target,
    input.key,
    [
      {
        kind: 'sbom',
        statement: statementFor(imageFacts.name, imageFacts.digest, PREDICATE.sbom, sbom),
      },
      { kind: 'provenance', statement: provenance },
    ],
    input.access.signal,
  );
  return { image: pinnedName(target), signature, attachments };
}
