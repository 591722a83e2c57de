/** Both command runners against the conformance suite: a host process, a real container. */
import { execFileSync } from 'node:child_process';
import { runnerConformance } from '../src/runners/conformance.js';
import { runners } from '../src/runners/registry.js';

runnerConformance('host', () => runners.get('host').open({}, { env: process.env }));

let docker = true;
try {
  execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
} catch {
  docker = false;
}
const image = process.env.SHIPML_TEST_BASE_NODE;
if (!docker || !image)
  throw new Error(
    'the container runner needs the Docker Engine and SHIPML_TEST_BASE_NODE (scripts/services.sh start)',
  );
runnerConformance('container', () =>
  runners.get('container').open(runners.get('container').optionsSchema.parse({}), {
    env: process.env,
    defaultImage: image,
  }),
);
