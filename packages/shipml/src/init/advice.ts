/** What `shipml init` tells the user after writing: what it chose, and what is left to do. */
import { AZURE_KUBECONFIG_FILE, AZURE_VARIABLE_GROUP } from './azure.js';
import type { CiSystem } from './ci.js';
import type { DetectedProject } from './detect.js';
import type { InitOptions } from './index.js';

/** Warnings about what init chose, or could not know. */
export function notes(project: DetectedProject, options: InitOptions, target: string): string[] {
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
  if (target === 'docker' && options.ci.length)
    out.push(
      'the docker target releases to the machine the release job runs on: CI needs a self-hosted runner on the Docker host (--target kubernetes releases to a cluster)',
    );
  return out;
}

export function nextSteps(input: {
  project: DetectedProject;
  options: InitOptions;
  ci: CiSystem[];
  secrets: string[];
  target: string;
  branch: string;
  version: string;
}): string[] {
  const { project, options, ci } = input;
  const steps = [
    'check shipml.yaml: deploy.readinessPath (/readyz) and livenessPath (/healthz) must be paths your app serves',
  ];
  if (project.kind === 'node' && !project.hasShipml)
    steps.push(
      `npm install --save-dev shipml@${input.version}  (optional: CI then runs the app's own shipml)`,
    );
  if (!options.image || !options.store)
    steps.push('set the missing image.repository / model.store (or run init again with --force)');
  if (ci.includes('github')) {
    const extra = input.target === 'kubernetes' ? ', KUBECONFIG (file content)' : '';
    steps.push(
      `GitHub: add the repository secrets ${input.secrets.join(', ')}${extra}; releases go to the "production" environment`,
    );
  }
  if (ci.includes('azure')) {
    const extra =
      input.target === 'kubernetes' ? ` and the secure file "${AZURE_KUBECONFIG_FILE}"` : '';
    steps.push(
      `Azure Pipelines: create the variable group "${AZURE_VARIABLE_GROUP}" with secret variables ${input.secrets.join(', ')}${extra}, then a pipeline from the YAML file`,
    );
  }
  steps.push(
    `commit the files and push; releases follow successful builds of ${input.branch} and run nightly`,
  );
  return steps;
}
