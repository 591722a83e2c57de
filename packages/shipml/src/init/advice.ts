/** What `shipml init` tells the user after writing: what it chose, and what is left to do. */
import { baseImageCache, type BaseChoice } from './base-image.js';
import type { DetectedProject } from './detect.js';
import type { InitOptions } from './index.js';
import type { CiSpec, CiSystem } from './types.js';

/** Warnings about what init chose, or could not know. */
export function notes(
  project: DetectedProject,
  options: InitOptions,
  spec: CiSpec,
  chosen: {
    /** The Node.js builder's base image (undefined for a Dockerfile build). */
    base: BaseChoice | undefined;
    /** Values of an existing shipml.yaml init did not change (without --force). */
    kept: string[];
    /** model.store / image.repository are set (by a flag or the existing shipml.yaml). */
    hasStore: boolean;
    hasImage: boolean;
    /** deploy.docker.proxyImage is set in the existing shipml.yaml. */
    hasProxyImage: boolean;
  },
): string[] {
  const out: string[] = [];
  if (project.alsoFound === 'package.json')
    out.push(
      'found both package.json and a Dockerfile: building with the Dockerfile, which says how the app runs in a container (--builder node builds natively, without Docker)',
    );
  if (project.alsoFound === 'Dockerfile')
    out.push('found both package.json and a Dockerfile: building natively (--builder node)');
  if (project.kind === 'node' && !project.cmd)
    out.push(
      'package.json has no `node FILE` start script, main or bin: set build.cmd in shipml.yaml',
    );
  if (chosen.base) out.push(chosen.base.why);
  for (const kept of chosen.kept) out.push(`shipml.yaml: ${kept}`);
  if (!chosen.hasStore)
    out.push('no --store: model.store is not set, so CI would use an empty local store');
  else if (options.store?.startsWith('file://'))
    out.push(`${options.store} is a directory on this machine: CI runners cannot reach it`);
  if (!chosen.hasImage)
    out.push('no --image: set image.repository in shipml.yaml before CI can push the image');
  if (spec.releaseOnRunner && options.ci.length)
    out.push(
      `the ${spec.target} target releases to the machine the release job runs on: CI needs a self-hosted runner on the Docker host (--target kubernetes releases to a cluster)`,
    );
  if (spec.target === 'docker' && !chosen.hasProxyImage)
    out.push(
      `the docker target's load balancer runs shipml/haproxy:2.6 from the Docker Engine: scripts/base-images.sh load puts it there from ${baseImageCache(options.env ?? process.env)} (or set deploy.docker.proxyImage to a registry the engine pulls from)`,
    );
  return out;
}

export function nextSteps(input: {
  project: DetectedProject;
  options: InitOptions;
  /** The CI systems chosen, in the registry's order. */
  ci: readonly CiSystem[];
  spec: CiSpec;
  version: string;
  /** model.store / image.repository are set (by a flag or the existing shipml.yaml). */
  have: { store: boolean; image: boolean };
}): string[] {
  const { project, ci, spec, have } = input;
  const steps = [
    'check shipml.yaml: deploy.readinessPath (/readyz) and livenessPath (/healthz) must be paths your app serves',
  ];
  if (project.kind === 'node' && !project.hasShipml)
    steps.push(
      `npm install --save-dev shipml@${input.version}  (optional: CI then runs the app's own shipml)`,
    );
  if (!have.image || !have.store)
    steps.push(
      'set the missing image.repository / model.store (or run init again with --image / --store: it adds them)',
    );
  for (const system of ci) steps.push(system.setup(spec));
  steps.push(
    `commit the files and push; releases follow successful builds of ${spec.branch} and run nightly`,
  );
  return steps;
}
