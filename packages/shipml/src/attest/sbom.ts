/**
 * The image's SBOM, CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/), built with
 * @cyclonedx/cyclonedx-library: the image is `metadata.component` (a container, by digest);
 * its components are the npm packages in its dependency layer (sbom-npm.ts: name, version,
 * licence, purl, the lock's integrity hash), the base image (a container, by digest), and the
 * model as a `machine-learning-model` component — its digest, version and channel, one `file`
 * sub-component with the sha256 of every model file, and a model card.
 *
 * The library (10.x) has no model for `modelCard` (CycloneDX 1.5+), so the card is added to
 * the normalised JSON by bom-ref after the library has produced it: published metrics as
 * `quantitativeAnalysis.performanceMetrics`, the gate's verdict as card properties.
 * Lists are sorted and the timestamp is the image's `created`: the same image, model and
 * gate give the same bytes.
 */
import { Enums, Models, Serialize, Spec, SPDX } from '@cyclonedx/cyclonedx-library';
import type { Digest } from '../oci/digest.js';
import type { BaseImage, ModelFacts } from './provenance.js';
import type { NpmPackage } from './sbom-npm.js';

export const SBOM_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

/** What the SBOM describes beyond the image's own layers. */
export interface SbomInput {
  /** `registry/repository` and digest of the image. */
  image: { name: string; digest: Digest; created?: string | undefined };
  /** The npm packages of the dependency layer; undefined: the image has none (not Node.js). */
  packages: readonly NpmPackage[] | undefined;
  app?: { name?: string | undefined; version?: string | undefined } | undefined;
  base?: BaseImage | undefined;
  model?:
    | (ModelFacts & {
        files: ReadonlyArray<{ path: string; size: number; sha256: string }>;
        metrics?: Record<string, unknown> | undefined;
        gate?: { passed: boolean; checks: readonly string[] } | undefined;
      })
    | undefined;
  shipmlVersion: string;
}

const MODEL_REF = 'model';

/** The CycloneDX 1.6 document (as a JSON value) for `input`. */
export function buildSbom(input: SbomInput): Record<string, unknown> {
  const bom = new Models.Bom();
  bom.metadata.timestamp = input.image.created ? new Date(input.image.created) : undefined;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'shipml', {
      version: input.shipmlVersion,
    }),
  );
  bom.metadata.component = new Models.Component(
    Enums.ComponentType.Container,
    input.app?.name ?? input.image.name,
    {
      bomRef: 'image',
      version: input.app?.version ?? input.image.digest,
      purl: ociPurl(input.image.name, input.image.digest),
      hashes: sha256(input.image.digest),
      properties: new Models.PropertyRepository([
        new Models.Property('shipml:image:reference', `${input.image.name}@${input.image.digest}`),
        ...(input.packages
          ? []
          : [new Models.Property('shipml:npm', 'no ShipML dependency layer in this image')]),
      ]),
    },
  );
  for (const pkg of input.packages ?? []) bom.components.add(npmComponent(pkg));
  if (input.base)
    bom.components.add(
      new Models.Component(Enums.ComponentType.Container, input.base.reference, {
        bomRef: 'base-image',
        version: input.base.digest,
        purl: ociPurl(input.base.reference.replace(/[:@].*$/, ''), input.base.digest),
        hashes: sha256(input.base.digest),
        description: 'base image',
      }),
    );
  if (input.model) bom.components.add(modelComponent(input.model));
  const factory = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6);
  const json = factory.makeForBom().normalize(bom, { sortLists: true }) as unknown as Record<
    string,
    unknown
  >;
  if (input.model) addModelCard(json, input.model);
  return json;
}

function npmComponent(pkg: NpmPackage): Models.Component {
  const scoped = /^(@[^/]+)\/(.+)$/.exec(pkg.name);
  const hashes = new Models.HashDictionary();
  const integrity = /^(sha512|sha384|sha256|sha1)-(.+)$/.exec(pkg.integrity ?? '');
  if (integrity)
    hashes.set(HASH_NAMES[integrity[1]!]!, Buffer.from(integrity[2]!, 'base64').toString('hex'));
  const component = new Models.Component(
    Enums.ComponentType.Library,
    scoped ? scoped[2]! : pkg.name,
    {
      bomRef: `npm:${pkg.path}`,
      group: scoped?.[1],
      version: pkg.version,
      purl: `pkg:npm/${scoped ? `${encodeURIComponent(scoped[1]!)}/${scoped[2]}` : pkg.name}@${encodeURIComponent(pkg.version)}`,
      hashes,
      properties: new Models.PropertyRepository([new Models.Property('shipml:npm:path', pkg.path)]),
    },
  );
  if (pkg.license) component.licenses.add(license(pkg.license));
  if (pkg.resolved)
    component.externalReferences.add(
      new Models.ExternalReference(pkg.resolved, Enums.ExternalReferenceType.Distribution),
    );
  return component;
}

const HASH_NAMES: Record<string, Enums.HashAlgorithm> = {
  sha512: Enums.HashAlgorithm['SHA-512'],
  sha384: Enums.HashAlgorithm['SHA-384'],
  sha256: Enums.HashAlgorithm['SHA-256'],
  sha1: Enums.HashAlgorithm['SHA-1'],
};

function license(value: string): Models.License {
  if (SPDX.isSupportedSpdxId(value)) return new Models.SpdxLicense(value);
  if (/\s(OR|AND|WITH)\s|[()]/.test(value)) return new Models.LicenseExpression(value);
  return new Models.NamedLicense(value);
}

function modelComponent(model: NonNullable<SbomInput['model']>): Models.Component {
  const component = new Models.Component(Enums.ComponentType.MachineLearningModel, model.name, {
    bomRef: MODEL_REF,
    version: model.version,
    hashes: sha256(model.digest),
    properties: new Models.PropertyRepository([
      new Models.Property('shipml:model:digest', model.digest),
      ...(model.channel ? [new Models.Property('shipml:model:channel', model.channel)] : []),
      ...(model.layerDigest ? [new Models.Property('shipml:model:layer', model.layerDigest)] : []),
    ]),
  });
  for (const file of model.files)
    component.components.add(
      new Models.Component(Enums.ComponentType.File, file.path, {
        bomRef: `model-file:${file.path}`,
        hashes: new Models.HashDictionary([[Enums.HashAlgorithm['SHA-256'], file.sha256]]),
        properties: new Models.PropertyRepository([
          new Models.Property('shipml:size', String(file.size)),
        ]),
      }),
    );
  return component;
}

/** component.modelCard (CycloneDX 1.6 `modelCard`): metrics and the gate's verdict. */
function addModelCard(json: Record<string, unknown>, model: NonNullable<SbomInput['model']>): void {
  const components = (json.components ?? []) as Array<Record<string, unknown>>;
  const target = components.find((c) => c['bom-ref'] === MODEL_REF);
  if (!target) return;
  const metrics = Object.entries(model.metrics ?? {})
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, value]) => ({ type, value: String(value) }));
  const properties = model.gate
    ? [
        { name: 'shipml:gate:result', value: model.gate.passed ? 'passed' : 'failed' },
        ...model.gate.checks.map((check) => ({ name: 'shipml:gate:check', value: check })),
      ]
    : [{ name: 'shipml:gate:result', value: 'not evaluated' }];
  target.modelCard = {
    'bom-ref': `${MODEL_REF}-card`,
    ...(metrics.length ? { quantitativeAnalysis: { performanceMetrics: metrics } } : {}),
    properties,
  };
}

function sha256(digest: string): Models.HashDictionary {
  return new Models.HashDictionary([
    [Enums.HashAlgorithm['SHA-256'], digest.replace(/^sha256:/, '')],
  ]);
}

/** purl for an OCI artifact (purl-spec types: `oci`), pinned by digest. */
function ociPurl(name: string, digest: string): string {
  const repository = name.split('/').slice(1).join('/') || name;
  const last = repository.split('/').pop() ?? repository;
  return `pkg:oci/${last}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(name)}`;
}
