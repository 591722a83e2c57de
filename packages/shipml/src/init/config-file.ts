import { modelStores } from '../model-store/registry.js';
import type { DetectedProject } from './detect.js';
import type { DeployTargetId } from './types.js';
import { comment, flow, flowMap, q } from './yaml-text.js';

/** What goes into the generated shipml.yaml. */
export interface ConfigInputs {
  project: DetectedProject;
  model: string;
  store: string | undefined;
  /** registry/repository */
  image: string | undefined;
  target: DeployTargetId;
  app: string;
  /** The port the app listens on in the container. */
  port: number;
  /** Base image of the native Node.js builder. */
  base: string;
}

/**
 * The shipml.yaml `shipml init` writes: every key is one the schema (config/schema.ts) accepts,
 * and what init cannot know (a test command without a test script, the gate's metrics) is
 * an example in a comment, since the loader refuses unknown keys and a wrong guess would fail
 * the pipeline.
 */
export function renderConfig(input: ConfigInputs): string {
  const { project } = input;
  const lines: string[] = [
    comment(
      'How ShipML builds, tests and releases this app (written by `shipml init`; every key is in\n' +
        "the configuration reference of ShipML's README). Credentials never go here: they come from\n" +
        'the environment, which CI fills from its secret store.',
    ),
    'model:',
    `  name: ${q(input.model)}`,
    '  channel: latest # builds take the version this channel points at',
    input.store
      ? `  store: ${q(input.store)}`
      : `  # store: ${remoteStoreForms()} (else SHIPML_MODEL_STORE)`,
    'build:',
    ...buildSection(input),
  ];
  if (input.image) {
    lines.push('image:', `  repository: ${q(input.image)} # pushed as latest and the short commit`);
  } else {
    lines.push(
      '# image:',
      '#   repository: REGISTRY/REPOSITORY # e.g. myacr.azurecr.io/' + input.app,
    );
  }
  lines.push(
    '# registry: credentials from SHIPML_REGISTRY_USERNAME and SHIPML_REGISTRY_PASSWORD',
    ...testSections(project),
    'deploy:',
    `  target: ${input.target}`,
    `  app: ${q(input.app)}`,
    '  replicas: 2',
    `  port: ${input.port} # the app listens here (replicas also get PORT)`,
    '  # Must answer 200 once the model is loaded, and not before: change it to a path your app serves.',
    '  readinessPath: /readyz',
    '  livenessPath: /healthz',
  );
  if (input.target === 'kubernetes')
    lines.push(
      '  kubernetes:',
      '    namespace: default',
      '    service: { type: LoadBalancer, port: 80 }',
    );
  lines.push(
    'verify:',
    '  # After each deploy, GET versionPath must report the commit and the model digest the image',
    '  # was built from (the app has them as APP_COMMIT and MODEL_DIGEST). null skips the check:',
    '  # set it (e.g. /version) once the app serves them.',
    '  versionPath: null',
  );
  return lines.join('\n') + '\n';
}

function buildSection(input: ConfigInputs): string[] {
  const { project } = input;
  if (project.kind === 'dockerfile') {
    return [
      '  kind: dockerfile # BuildKit builds the app from the Dockerfile; ShipML appends the model layer',
      `  dockerfile: ${q(project.dockerfile)} # it must not copy the model: MODEL_PATH says where it is`,
    ];
  }
  const before = ['npm ci', ...(project.scripts.build ? ['npm run build'] : [])].join(' && ');
  const lines = [
    `  kind: node # the native builder, no Docker daemon (after \`${before}\`)`,
    `  base: ${q(input.base)} # any registry, or oci:DIR`,
  ];
  if (project.include)
    lines.push(`  include: ${flow(project.include)} # the build's output, not the sources`);
  lines.push(
    project.cmd
      ? `  cmd: ${flow(project.cmd.argv)} # from package.json ${project.cmd.from}`
      : '  # cmd: [node, server.js] # package.json has no start script, main or bin to take it from',
    `  env: ${flowMap({ NODE_ENV: 'production' })}`,
    `  ports: ${flow([input.port])}`,
    `  user: ${q('1000:1000')} # not root`,
  );
  return lines;
}

/**
 * The pipeline's stages between fetching the model and building: the app's own tests run
 * against the candidate model (MODEL_PATH), then the quality gate on its metrics. Only what
 * init can know is live; the gate's metric names are the data scientists' to choose.
 */
function testSections(project: DetectedProject): string[] {
  const lines: string[] = [];
  if (project.kind === 'node' && project.scripts.test) {
    lines.push(
      'test:',
      '  command: npm test # from package.json; runs in this directory with MODEL_PATH set to the candidate model',
    );
  } else {
    lines.push(
      comment(
        'test:\n' +
          '  command: YOUR TEST COMMAND # runs in this directory with MODEL_PATH set to the candidate model',
      ),
    );
  }
  lines.push(
    comment(
      "The quality gate, on the candidate model's metrics: those its version was published with,\n" +
        'or what `evaluate.command` prints (a JSON object) when set.\n' +
        'evaluate:\n' +
        '  command: node dist/evaluate.js\n' +
        'gate:\n' +
        '  thresholds: { accuracy: { min: 0.9 } }\n' +
        '  champion: { metric: accuracy, margin: 0.005 } # no worse than the model in production',
    ),
  );
  return lines;
}

/**
 * The URL forms of the model stores CI can reach, for examples: those whose back end takes
 * credentials from CI (`ciEnv`); a store that needs none from CI is on one machine (file://).
 */
export function remoteStoreForms(): string {
  return modelStores.all
    .filter((store) => store.ciEnv.length > 0)
    .map((store) => store.urlForm)
    .join(' or ');
}
