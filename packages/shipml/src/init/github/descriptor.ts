import { z } from 'zod';
import { secretNames } from '../ci.js';
import type { CiSystem } from '../types.js';
import { githubWorkflowPath, renderGithubWorkflow } from './workflow.js';

/** GitHub Actions: one workflow with a build job and a release job (README.md). */
export const github = {
  id: 'github',
  summary: 'GitHub Actions: .github/workflows/shipml.yml',
  optionsSchema: z.object({}).strict(),
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'shipml init --ci github',
  path: githubWorkflowPath,
  render: renderGithubWorkflow,
  setup: (spec) =>
    `GitHub: add the repository secrets ${secretNames(spec).join(', ')}${spec.kubeconfig ? ', KUBECONFIG (file content)' : ''}; releases go to the "production" environment`,
} as const satisfies CiSystem;
