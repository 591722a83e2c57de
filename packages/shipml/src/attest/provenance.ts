/**
 * Build provenance as a SLSA v1 predicate (https://slsa.dev/spec/v1.0/provenance) in an
 * in-toto v1 statement about the image. It names what went in — the commit and its tree, the
 * shipml.yaml (by hash), the base image and the model (by digest, with its layer digest) —
 * and who built it (ShipML's version). Digest sets use in-toto's registered algorithm names
 * (`gitCommit`, `gitTree`, `sha256`: attestation spec v1 digest_set.md).
 *
 * verify.ts reads it back with `provenanceClaims` and holds it against the image's own labels
 * and model layer, so provenance naming another commit or model than the image is refused.
 */
import { z } from 'zod';
import type { Digest } from '../oci/digest.js';
import { PREDICATE } from './attestations.js';
import { statementFor, type Statement } from './dsse.js';

/** SLSA's buildType says how to read externalParameters: this is ShipML's image build. */
export const BUILD_TYPE = 'urn:shipml:build-type:image:v1';
export const BUILDER_ID = 'urn:shipml:builder';

/** A base image, by reference and digest. */
export interface BaseImage {
  reference: string;
  digest: Digest;
}

/** The model an image carries, as its provenance and its SBOM name it. */
export interface ModelFacts {
  name: string;
  version: string;
  /** The model digest (its manifest's, also label `dev.shipml.model.digest`). */
  digest: string;
  /** The image layer that carries it. */
  layerDigest?: Digest | undefined;
  channel?: string | undefined;
}

/** What the pipeline knows about a build, for its provenance. */
export interface ProvenanceFacts {
  /** `registry/repository` and digest of the image. */
  image: { name: string; digest: Digest };
  /** The recorded revision (label `org.opencontainers.image.revision`, maybe `<sha>-dirty`). */
  revision?: string | undefined;
  /** The commit's tree object id. */
  tree?: string | undefined;
  /** Where the source lives (label `org.opencontainers.image.source`). */
  source?: string | undefined;
  /** shipml.yaml: its path (relative, for people) and sha256 hex of its bytes. */
  config?: { path: string; sha256: string } | undefined;
  base?: BaseImage | undefined;
  model?: ModelFacts | undefined;
  shipmlVersion: string;
  runId?: string | undefined;
  startedOn?: Date | undefined;
  finishedOn?: Date | undefined;
}

const hex = (d: string) => d.replace(/^sha256:/, '');

/** The SLSA v1 provenance statement for `facts.image`. */
export function provenanceStatement(facts: ProvenanceFacts): Statement {
  const deps: Array<Record<string, unknown>> = [];
  const commit = facts.revision?.replace(/-dirty$/, '');
  if (commit)
    deps.push({
      name: 'source',
      uri: facts.source ? `git+${facts.source}@${commit}` : `git+unknown@${commit}`,
      digest: { gitCommit: commit, ...(facts.tree ? { gitTree: facts.tree } : {}) },
    });
  if (facts.base)
    deps.push({
      name: 'base-image',
      uri: `oci://${facts.base.reference}`,
      digest: { sha256: hex(facts.base.digest) },
    });
  if (facts.model)
    deps.push({
      name: 'model',
      uri: `shipml-model:${facts.model.name}@${facts.model.version}`,
      digest: { sha256: hex(facts.model.digest) },
      ...(facts.model.layerDigest ? { annotations: { layerDigest: facts.model.layerDigest } } : {}),
    });
  const predicate = {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        ...(facts.revision ? { revision: facts.revision } : {}),
        ...(facts.source ? { source: facts.source } : {}),
        ...(facts.config
          ? { config: { path: facts.config.path, digest: { sha256: facts.config.sha256 } } }
          : {}),
        ...(facts.model
          ? {
              model: {
                name: facts.model.name,
                version: facts.model.version,
                ...(facts.model.channel ? { channel: facts.model.channel } : {}),
              },
            }
          : {}),
      },
      internalParameters: { shipmlVersion: facts.shipmlVersion },
      resolvedDependencies: deps,
    },
    runDetails: {
      builder: { id: BUILDER_ID, version: { shipml: facts.shipmlVersion } },
      metadata: {
        ...(facts.runId ? { invocationId: facts.runId } : {}),
        ...(facts.startedOn ? { startedOn: facts.startedOn.toISOString() } : {}),
        ...(facts.finishedOn ? { finishedOn: facts.finishedOn.toISOString() } : {}),
      },
    },
  };
  return statementFor(facts.image.name, facts.image.digest, PREDICATE.provenance, predicate);
}

const DepSchema = z.looseObject({
  name: z.string().optional(),
  digest: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});
const PredicateSchema = z.looseObject({
  buildDefinition: z.looseObject({
    externalParameters: z.looseObject({ revision: z.string().optional() }),
    resolvedDependencies: z.array(DepSchema).optional(),
  }),
});

/** What verify compares with the image: the claims of a (verified) provenance statement. */
export interface ProvenanceClaims {
  revision?: string | undefined;
  modelDigest?: string | undefined;
  modelLayerDigest?: string | undefined;
  baseDigest?: string | undefined;
}

/** Reads the claims back; undefined when it is not ShipML-shaped SLSA v1 provenance. */
export function provenanceClaims(statement: Statement): ProvenanceClaims | undefined {
  const parsed = PredicateSchema.safeParse(statement.predicate);
  if (!parsed.success) return undefined;
  const deps = parsed.data.buildDefinition.resolvedDependencies ?? [];
  const dep = (name: string) => deps.find((d) => d.name === name);
  const model = dep('model');
  const base = dep('base-image');
  const layer = model?.annotations?.layerDigest;
  return {
    revision: parsed.data.buildDefinition.externalParameters.revision,
    modelDigest: model?.digest?.sha256 ? `sha256:${model.digest.sha256}` : undefined,
    modelLayerDigest: typeof layer === 'string' ? layer : undefined,
    baseDigest: base?.digest?.sha256 ? `sha256:${base.digest.sha256}` : undefined,
  };
}
