import type { Config } from './config.js';
import type { DigitModel } from './model.js';

/** The body of GET /version: which code and which model this replica runs. */
export interface VersionInfo {
  app: { name: string; version: string; commit: string | null };
  model: {
    name: string | null;
    version: string | null;
    /** MODEL_DIGEST as deployed, else the digest computed from the files. */
    digest: string | null;
    /** ShipML model digest computed from the files under MODEL_PATH at load time. */
    computedDigest: string | null;
    /** Whether MODEL_DIGEST (if set) equals the computed digest. */
    digestVerified: boolean | null;
    path: string;
    labels: string[] | null;
    loaded: boolean;
  };
  runtime: { node: string; onnxruntime: string };
  image: string | null;
  runId: string | null;
}

export function versionInfo(
  config: Config,
  pkg: { name: string; version: string },
  model: DigitModel | undefined,
  onnxruntime: string,
): VersionInfo {
  const b = config.build;
  const computed = model?.files.digest ?? null;
  return {
    app: { name: pkg.name, version: b.appVersion ?? pkg.version, commit: b.commit ?? null },
    model: {
      name: b.modelName ?? null,
      version: b.modelVersion ?? null,
      digest: b.modelDigest ?? computed,
      computedDigest: computed,
      digestVerified: b.modelDigest && computed ? b.modelDigest === computed : null,
      path: config.modelPath,
      labels: model?.labels ?? null,
      loaded: model !== undefined,
    },
    runtime: { node: process.version, onnxruntime },
    image: b.image ?? null,
    runId: b.runId ?? null,
  };
}
