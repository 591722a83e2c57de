import { literal, reportImage, secretNames } from '../ci.js';
import type { CiSpec } from '../types.js';
import { comment, flow, indent, q } from '../yaml-text.js';

/** `${{ expression }}` (GitHub Actions expression syntax). */
const expr = (expression: string): string => `\${{ ${expression} }}`;

/** Where the workflow goes, relative to the repository root. */
export function githubWorkflowPath(spec: CiSpec): string {
  return spec.workdir ? `.github/workflows/shipml-${spec.app}.yml` : '.github/workflows/shipml.yml';
}

/**
 * The GitHub Actions workflow (https://docs.github.com/actions/reference/workflow-syntax-for-github-actions):
 * a build job on every push and pull request, and a release job after it, on the default
 * branch only. Secrets reach only the steps that need them, as environment variables.
 */
export function renderGithubWorkflow(spec: CiSpec): string {
  const secretList = [
    ...secretNames(spec).map((s) => `  ${s}`),
    ...(spec.kubeconfig ? ['  KUBECONFIG (the content of a kubeconfig file for the cluster)'] : []),
  ];
  const header = comment(
    `ShipML: build, test and push the app + model image on every commit; release it after a\n` +
      `successful build of ${spec.branch}, every night (a new model may be on the channel) and when a\n` +
      `new model is published. Written by \`shipml init\` (shipml ${spec.version}).\n` +
      '\n' +
      'Secrets (Settings > Secrets and variables > Actions, or on the "production" environment):\n' +
      secretList.join('\n') +
      '\n' +
      'A new model: POST /repos/OWNER/REPO/dispatches {"event_type": "model-published"}.',
  );
  const paths = spec.workdir ? [`${spec.workdir}/**`, githubWorkflowPath(spec)] : undefined;
  const on = [
    'on:',
    '  push:',
    "    branches: ['**']",
    ...(paths ? [`    paths: ${flow(paths)}`] : []),
    '  pull_request:',
    ...(paths ? [`    paths: ${flow(paths)}`] : []),
    '  schedule:',
    `    - cron: ${q(spec.schedule)} # nightly, UTC`,
    '  repository_dispatch:',
    '    types: [model-published]',
    '  workflow_dispatch:',
  ];
  const defaults = spec.workdir
    ? ['defaults:', '  run:', `    working-directory: ${q(spec.workdir)}`]
    : [];
  const trigger = expr(
    "github.event_name == 'schedule' && 'schedule' || github.event_name == 'repository_dispatch' && 'model' || github.event_name == 'workflow_dispatch' && 'manual' || 'commit'",
  );

  const build = [
    'build:',
    '  name: build, test, push',
    '  runs-on: ubuntu-latest',
    '  timeout-minutes: 30',
    '  outputs:',
    `    image: ${expr('steps.run.outputs.image')}`,
    '  steps:',
    indent(setupSteps(spec, spec.prepare.length > 0), 4),
    ...spec.prepare.map((command) => `    - run: ${q(command)}`),
    '    - name: shipml run',
    '      id: run',
    '      shell: bash',
    '      run: |',
    indent(runScript(spec), 8),
    '      env:',
    indent(secretEnv(spec.buildSecrets), 8),
  ];

  const release = [
    'release:',
    '  needs: build',
    `  # After a successful build of ${spec.branch}: a push, the nightly schedule, a new model, or by hand.`,
    `  if: ${q(`github.event_name != 'pull_request' && github.ref == ${literal(`refs/heads/${spec.branch}`)}`)}`,
    ...(spec.releaseOnRunner
      ? [
          '  # The Docker target releases to the machine it runs on: a self-hosted runner on the',
          '  # Docker host, with the label "shipml".',
          '  runs-on: [self-hosted, shipml]',
        ]
      : ['  runs-on: ubuntu-latest']),
    '  timeout-minutes: 30',
    '  environment: production',
    '  concurrency:',
    `    group: ${q(`shipml-release-${spec.app}`)}`,
    '    cancel-in-progress: false # never stop a rollout half way; the next one waits',
    '  steps:',
    indent(setupSteps(spec, spec.releasePrepare.length > 0), 4),
    ...spec.releasePrepare.map((command) => `    - run: ${q(command)}`),
    ...(spec.kubeconfig
      ? [
          '    - name: kubeconfig',
          '      run: |',
          '        umask 077',
          `        printf '%s\\n' "$KUBECONFIG_CONTENT" > "$RUNNER_TEMP/kubeconfig"`,
          '      env:',
          `        KUBECONFIG_CONTENT: ${expr('secrets.KUBECONFIG')}`,
        ]
      : []),
    '    - name: shipml release',
    '      # Exactly the image the build job pushed, by digest (a tag may have moved since).',
    `      run: ${spec.shipml} release "$IMAGE" --trigger "$SHIPML_TRIGGER"`,
    '      env:',
    `        IMAGE: ${expr('needs.build.outputs.image')}`,
    ...(spec.kubeconfig ? [`        KUBECONFIG: ${expr('runner.temp')}/kubeconfig`] : []),
    indent(secretEnv(spec.releaseSecrets), 8),
  ];

  return (
    [
      header,
      'name: shipml',
      ...on,
      'permissions:',
      '  contents: read',
      'env:',
      '  # Why a run runs, recorded in its report: commit, schedule, model (one was published) or manual.',
      `  SHIPML_TRIGGER: ${trigger}`,
      ...defaults,
      'jobs:',
      indent(build.join('\n'), 2),
      indent(release.join('\n'), 2),
    ].join('\n') + '\n'
  );
}

/**
 * The build step: the pipeline up to the push (pull requests stop after the build: they
 * push no tag that a release or a `docker pull` could take for the real thing), then the
 * pushed image's digest reference as the job's output.
 */
function runScript(spec: CiSpec): string {
  return [
    'until=push',
    'if [ "$GITHUB_EVENT_NAME" = pull_request ]; then until=build; fi',
    `${spec.shipml} run --until "$until" --trigger "$SHIPML_TRIGGER" --json > "$RUNNER_TEMP/run.json"`,
    `echo "image=$(${reportImage('"$RUNNER_TEMP/run.json"')})" >> "$GITHUB_OUTPUT"`,
  ].join('\n');
}

function setupSteps(spec: CiSpec, npmCache: boolean): string {
  const lines = [
    '- uses: actions/checkout@v4',
    '- uses: actions/setup-node@v4',
    '  with:',
    `    node-version: ${q(spec.nodeVersion)}`,
  ];
  if (npmCache && spec.lockfile)
    lines.push('    cache: npm', `    cache-dependency-path: ${q(spec.lockfile)}`);
  return lines.join('\n');
}

function secretEnv(names: string[]): string {
  return names.map((name) => `${name}: ${expr(`secrets.${name}`)}`).join('\n');
}
