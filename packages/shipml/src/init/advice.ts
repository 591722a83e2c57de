/** What `shipml init` tells the user after writing: what it chose, and what is left to do. */
import type { DetectedProject } from './detect.js';
import type { InitOptions } from './index.js';
import type { CiSpec, CiSystem } from './types.js';

/** Warnings about what init chose, or could not know. */
export function notes(project: DetectedProject, options: InitOptions, spec: CiSpec): string[] {
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
  if (!options.store)
    out.push('no --store: model.store is not set, so CI would use an empty local store');
  else if (options.store.startsWith('file://'))
    out.push(`${options.store} is a directory on this machine: CI runners cannot reach it`);
  if (!options.image)
    out.push('no --image: set image.repository in shipml.yaml before CI can push the image');
  if (spec.releaseOnRunner && options.ci.length)
    out.push(
      `the ${spec.target} target releases to the machine the release job runs on: CI needs a self-hosted runner on the Docker host (--target kubernetes releases to a cluster)`,
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
}): string[] {
  const { project, options, ci, spec } = input;
  const steps = [
    'check shipml.yaml: deploy.readinessPath (/readyz) and livenessPath (/healthz) must be paths your app serves',
  ];
  if (project.kind === 'node' && !project.hasShipml)
    steps.push(
      `npm install --save-dev shipml@${input.version}  (optional: CI then runs the app's own shipml)`,
    );
  if (!options.image || !options.store)
    steps.push('set the missing image.repository / model.store (or run init again with --force)');
  for (const system of ci) steps.push(system.setup(spec));
  steps.push(
    `commit the files and push; releases follow successful builds of ${spec.branch} and run nightly`,
  );
  return steps;
}
