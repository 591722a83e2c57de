import { z } from 'zod';
import { secretNames } from '../ci.js';
import type { CiSystem } from '../types.js';
import {
  AZURE_KUBECONFIG_FILE,
  AZURE_VARIABLE_GROUP,
  azurePipelinePath,
  renderAzurePipeline,
} from './pipeline.js';

/** Azure Pipelines: one pipeline with a build stage and a release stage (README.md). */
export const azure = {
  id: 'azure',
  summary: 'Azure Pipelines: azure-pipelines.yml',
  optionsSchema: z.object({}).strict(),
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'shipml init --ci azure',
  path: azurePipelinePath,
  render: renderAzurePipeline,
  setup: (spec) =>
    `Azure Pipelines: create the variable group "${AZURE_VARIABLE_GROUP}" with secret variables ${secretNames(spec).join(', ')}${spec.kubeconfig ? ` and the secure file "${AZURE_KUBECONFIG_FILE}"` : ''}, then a pipeline from the YAML file`,
} as const satisfies CiSystem;
