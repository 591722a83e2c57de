import { literal, reportImage, secretNames } from '../ci.js';
import type { CiSpec } from '../types.js';
import { comment, flow, indent, q } from '../yaml-text.js';

/** The variable group holding the secrets (Pipelines > Library). */
export const AZURE_VARIABLE_GROUP = 'shipml';
/** The secure file holding the kubeconfig (Pipelines > Library > Secure files). */
export const AZURE_KUBECONFIG_FILE = 'kubeconfig';

/** Where the pipeline goes, relative to the repository root. */
export function azurePipelinePath(spec: CiSpec): string {
  return spec.workdir ? `azure-pipelines-${spec.app}.yml` : 'azure-pipelines.yml';
}

/**
 * The Azure Pipelines definition (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema):
 * a build stage on every push and pull request, and a release stage after it on the default
 * branch, also run by a nightly schedule. Azure Pipelines never hands secret variables to
 * scripts as environment variables on its own, so each step maps the ones it needs in `env:`.
 */
export function renderAzurePipeline(spec: CiSpec): string {
  const header = comment(
    `ShipML: build, test and push the app + model image on every commit; release it after a\n` +
      `successful build of ${spec.branch} and every night (a new model may be on the channel).\n` +
      `Written by \`shipml init\` (shipml ${spec.version}).\n` +
      '\n' +
      `Secrets: a variable group "${AZURE_VARIABLE_GROUP}" (Pipelines > Library) with these secret variables:\n` +
      secretNames(spec)
        .map((s) => `  ${s}`)
        .join('\n') +
      '\n' +
      (spec.kubeconfig
        ? `The cluster: a secure file "${AZURE_KUBECONFIG_FILE}" (Library > Secure files), a kubeconfig.\n`
        : '') +
      'A new model: queue a run (az pipelines run --name PIPELINE), or add a webhook resource\n' +
      '(resources.webhooks, with an "Incoming WebHook" service connection) for the model store.\n' +
      'Releases must not overlap: add an "Exclusive lock" check on the environment "production".\n' +
      '`pr` applies to GitHub and Bitbucket repositories; Azure Repos use a build validation policy.',
  );
  const paths = spec.workdir
    ? [
        '  paths:',
        '    include:',
        `      - ${q(`${spec.workdir}/*`)}`,
        `      - ${q(azurePipelinePath(spec))}`,
      ]
    : [];
  const releaseCondition =
    "and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'), " +
    `eq(variables['Build.SourceBranch'], ${literal(`refs/heads/${spec.branch}`)}))`;

  const buildSteps = [
    ...setupSteps(spec, spec.prepare.length > 0),
    ...spec.prepare.map((command) => script(spec, command)),
    script(spec, runScript(spec), {
      name: 'run',
      displayName: 'shipml run',
      env: secretEnv(spec.buildSecrets),
    }),
  ];
  const releaseSteps = [
    ...setupSteps(spec, spec.releasePrepare.length > 0),
    ...spec.releasePrepare.map((command) => script(spec, command)),
    ...(spec.kubeconfig
      ? [
          [
            '- task: DownloadSecureFile@1',
            `  name: ${AZURE_KUBECONFIG_FILE}`,
            '  displayName: kubeconfig',
            '  inputs:',
            `    secureFile: ${AZURE_KUBECONFIG_FILE}`,
          ].join('\n'),
        ]
      : []),
    // Exactly the image the build stage pushed, by digest (a tag may have moved since).
    script(spec, `${spec.shipml} release "$IMAGE" --trigger "$SHIPML_TRIGGER"`, {
      displayName: 'shipml release',
      env: [
        'IMAGE: $(shipmlImage)',
        'SHIPML_TRIGGER: $(shipmlTrigger)',
        ...(spec.kubeconfig ? [`KUBECONFIG: $(${AZURE_KUBECONFIG_FILE}.secureFilePath)`] : []),
        ...secretEnv(spec.releaseSecrets),
      ],
    }),
  ];

  const lines = [
    header,
    'trigger:',
    '  branches:',
    "    include: ['*']",
    ...paths,
    'pr:',
    '  branches:',
    "    include: ['*']",
    ...paths,
    'schedules:',
    `  - cron: ${q(spec.schedule)}`,
    '    displayName: nightly release',
    '    branches:',
    `      include: ${flow([spec.branch])}`,
    '    always: true # also without new commits: the model channel may have moved',
    'variables:',
    `  - group: ${AZURE_VARIABLE_GROUP}`,
    '  - name: npm_config_cache',
    '    value: $(Pipeline.Workspace)/.npm',
    'stages:',
    '  - stage: build',
    '    displayName: build, test, push',
    '    jobs:',
    '      - job: build',
    '        pool:',
    '          vmImage: ubuntu-latest',
    '        timeoutInMinutes: 30',
    '        steps:',
    indent(buildSteps.join('\n'), 10),
    '  - stage: release',
    '    dependsOn: build',
    `    # After a successful build of ${spec.branch}: a push, the nightly schedule, or by hand.`,
    `    condition: ${q(releaseCondition)}`,
    '    jobs:',
    '      - deployment: release',
    '        environment: production',
    '        pool:',
    ...(spec.releaseOnRunner
      ? [
          '          # The Docker target releases to the machine it runs on: a self-hosted agent',
          `          # on the Docker host, in an agent pool named "shipml".`,
          '          name: shipml',
        ]
      : ['          vmImage: ubuntu-latest']),
    '        timeoutInMinutes: 30',
    '        variables:',
    "          shipmlImage: $[ stageDependencies.build.build.outputs['run.image'] ]",
    "          shipmlTrigger: $[ stageDependencies.build.build.outputs['run.trigger'] ]",
    '        strategy:',
    '          runOnce:',
    '            deploy:',
    '              steps:',
    indent(releaseSteps.join('\n'), 16),
  ];
  return lines.join('\n') + '\n';
}

function setupSteps(spec: CiSpec, npmCache: boolean): string[] {
  const steps = [
    '- checkout: self', // deployment jobs do not check out by themselves
    ['- task: NodeTool@0', '  inputs:', `    versionSpec: ${q(`${spec.nodeVersion}.x`)}`].join(
      '\n',
    ),
  ];
  if (npmCache && spec.lockfile)
    steps.push(
      [
        '- task: Cache@2',
        '  displayName: npm cache',
        '  inputs:',
        `    key: ${q(`npm | "$(Agent.OS)" | ${spec.lockfile}`)}`,
        `    restoreKeys: ${q('npm | "$(Agent.OS)"')}`,
        '    path: $(npm_config_cache)',
      ].join('\n'),
    );
  return steps;
}

function script(
  spec: CiSpec,
  command: string,
  options: { name?: string; displayName?: string; env?: string[] } = {},
): string {
  const lines = command.includes('\n')
    ? ['- script: |', indent(command, 4)]
    : [`- script: ${q(command)}`];
  if (options.name) lines.push(`  name: ${options.name}`);
  if (options.displayName) lines.push(`  displayName: ${q(options.displayName)}`);
  if (spec.workdir)
    lines.push(`  workingDirectory: ${q(`$(Build.SourcesDirectory)/${spec.workdir}`)}`);
  if (options.env?.length) lines.push('  env:', ...options.env.map((e) => `    ${e}`));
  return lines.join('\n');
}

/**
 * The build step: why the run runs (Build.Reason, for the run report), the pipeline up to
 * the push (pull requests stop after the build: they push no tag anything could take for the
 * real thing), then the pushed image's digest reference and the trigger as output variables
 * for the release stage. Azure runs scripts without `-e`: the first line makes a failed
 * command fail the step.
 */
function runScript(spec: CiSpec): string {
  return [
    'set -e',
    'case "$BUILD_REASON" in',
    '  Schedule) trigger=schedule ;;',
    '  ResourceTrigger) trigger=model ;;',
    '  Manual) trigger=manual ;;',
    '  *) trigger=commit ;;',
    'esac',
    'until=push',
    'if [ "$BUILD_REASON" = PullRequest ]; then until=build; fi',
    `${spec.shipml} run --until "$until" --trigger "$trigger" --json > "$AGENT_TEMPDIRECTORY/run.json"`,
    `image=$(${reportImage('"$AGENT_TEMPDIRECTORY/run.json"')})`,
    'echo "##vso[task.setvariable variable=image;isOutput=true]$image"',
    'echo "##vso[task.setvariable variable=trigger;isOutput=true]$trigger"',
  ].join('\n');
}

/** `NAME: $(NAME)`: a secret variable mapped into a step's environment. */
function secretEnv(names: string[]): string[] {
  return names.map((name) => `${name}: $(${name})`);
}
