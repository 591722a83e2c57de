/**
 * `shipml/testing`: the conformance suites, for back ends of your own. Each registers vitest
 * cases (vitest is a peer dependency of this entry only) that drive a back end against the
 * real thing — a store server, a Docker Engine or a Kubernetes API server — through the same
 * contract ShipML's own back ends pass.
 */
export { runModelStoreConformance, type ConformanceTarget } from './model-store/conformance.js';
export { runDeployConformance, type DeployConformance } from './deploy/conformance.js';
export { runImageBuilderConformance, type BuilderConformance } from './builders/conformance.js';
export {
  writeConformanceApp,
  CONFORMANCE_APP_PORT,
  type VersionReport,
} from './builders/conformance-app.js';
export { runServiceStoreConformance, type OpenServiceStore } from './server/store/conformance.js';
