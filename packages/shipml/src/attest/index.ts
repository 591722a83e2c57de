/**
 * `attest`: signatures, SBOMs and provenance for images, compatible with cosign (key-based),
 * in-toto/DSSE, SLSA v1, CycloneDX 1.6 and OCI 1.1 referrers. The pipeline's sign stage calls
 * `signRelease`; deploy's policy and `shipml verify` call `verifyImage`.
 */
export {
  generateKeyPair,
  loadSigningKey,
  loadVerifyingKey,
  fingerprintOf,
  type SigningKey,
  type VerifyingKey,
} from './keys.js';
export {
  signImage,
  checkSignatures,
  simpleSigningPayload,
  type SignResult,
  type SignatureCheck,
} from './signature.js';
export {
  attachAttestations,
  findEnvelopes,
  PREDICATE,
  ARTIFACT_TYPE,
  type Attachment,
  type AttestationKind,
} from './attestations.js';
export {
  attachArtifact,
  listReferrers,
  pushReferrer,
  referrersTag,
  type ReferrerDescriptor,
  type ReferrerMode,
} from './referrers.js';
export { buildSbom, SBOM_MEDIA_TYPE, type SbomInput } from './sbom.js';
export { npmPackagesOf, type NpmPackage } from './sbom-npm.js';
export {
  provenanceStatement,
  provenanceClaims,
  type ProvenanceFacts,
  type ProvenanceClaims,
} from './provenance.js';
export { statementFor, signStatement, openEnvelope, type Statement } from './dsse.js';
export { resolveTarget, type AttestTarget } from './target.js';
export { verifyImage, verifyReport, type VerifyPolicy, type VerifyResult } from './verify.js';
export { signRelease, type SignReleaseInput, type SignReleaseResult } from './release.js';
