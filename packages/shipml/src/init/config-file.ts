import { modelStores } from '../model-store/registry.js';
import type { DetectedProject } from './detect.js';
import type { AppRoutes } from './routes.js';
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
  /** Where base came from: `local` is an OCI layout on this machine. */
  baseFrom: 'option' | 'local' | 'public';
  /** The health and version paths found in the app's sources. */
  routes: AppRoutes;
  /** `deploy.<target>` options from the target's own flags (e.g. --port for docker). */
  targetOptions: Record<string, string | number>;
}

/**
 * The environment a Node.js app gets in the image: listen on every interface (a server
 * that binds 127.0.0.1, a common default, cannot be reached from outside its container) on
 * the port the image exposes.
 */
export function nodeEnv(port: number): Record<string, string> {
  return { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: String(port) };
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
    lines.push(
      'image:',
      `  repository: ${q(input.image)} # pushed as latest and <commit>-<model>-<version>`,
    );
  } else {
    lines.push(
      '# image:',
      '#   repository: REGISTRY/REPOSITORY # e.g. myacr.azurecr.io/' + input.app,
    );
  }
  const { routes } = input;
  lines.push(
    '# registry: credentials from SHIPML_REGISTRY_USERNAME and SHIPML_REGISTRY_PASSWORD',
    ...testSections(project),
    'deploy:',
    `  target: ${input.target}`,
    `  app: ${q(input.app)}`,
    '  replicas: 2',
    `  port: ${input.port} # the app listens here (replicas also get PORT)`,
    routes.found.readiness
      ? '  # Answers 200 once the model is loaded, and not before (found in the sources).'
      : '  # Must answer 200 once the model is loaded, and not before: no such route was found in the\n  # sources, change it to a path your app serves.',
    `  readinessPath: ${q(routes.readinessPath)}`,
    `  livenessPath: ${q(routes.livenessPath)}`,
  );
  const options = Object.entries(input.targetOptions);
  if (input.target === 'kubernetes')
    lines.push(
      '  kubernetes:',
      ...options.map(([k, v]) => `    ${k}: ${q(v)}`),
      ...(input.targetOptions.namespace === undefined ? ['    namespace: default'] : []),
      '    service: { type: LoadBalancer, port: 80 }',
    );
  else if (options.length)
    lines.push(`  ${input.target}:`, ...options.map(([k, v]) => `    ${k}: ${q(v)}`));
  lines.push(
    'verify:',
    '  # After each deploy, GET versionPath must report the commit and the model digest the image',
  );
  if (routes.versionPath)
    lines.push(
      '  # was built from (the app has them as APP_COMMIT and MODEL_DIGEST).',
      `  versionPath: ${q(routes.versionPath)} # found in the sources`,
    );
  else
    lines.push(
      '  # was built from (the app has them as APP_COMMIT and MODEL_DIGEST). No /version route was',
      '  # found in the sources, so null skips the check: set it once the app serves one.',
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
    `  base: ${q(input.base)} # ${baseComment(input.baseFrom)}`,
  ];
  if (project.include)
    lines.push(`  include: ${flow(project.include)} # the build's output, not the sources`);
  lines.push(
    project.cmd
      ? `  cmd: ${flow(project.cmd.argv)} # from package.json ${project.cmd.from}`
      : '  # cmd: [node, server.js] # package.json has no start script, main or bin to take it from',
    `  env: ${flowMap(nodeEnv(input.port))} # listen on every interface of the container`,
    `  ports: ${flow([input.port])}`,
    `  user: ${q('1000:1000')} # not root`,
  );
  return lines;
}

function baseComment(from: ConfigInputs['baseFrom']): string {
  if (from === 'local') return 'the local base image (scripts/base-images.sh): this machine only';
  if (from === 'public') return "Docker's official image on ECR Public; any registry, or oci:DIR";
  return 'any registry, or oci:DIR';
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
