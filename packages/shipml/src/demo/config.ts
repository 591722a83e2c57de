/** The demo's shipml.yaml and the little state it keeps between runs (its port). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { DIGITS } from './train.js';

export function demoConfig(dir: string, app: string, registry: string, port: number): string {
  return `# Written by shipml demo: examples/digits, shipped from this machine to this machine.
model:
  name: digits
  store: file://${join(dir, 'models')}
build:
  context: ${DIGITS}
  base: ${registry}/shipml/node:24
  include: [package.json, package-lock.json, dist, public]
  cmd: [node, dist/src/main.js]
  env: { HOST: 0.0.0.0, PORT: '8080' }
  user: '1000:1000'
image:
  repository: ${registry}/demo/digits
test:
  command: npm run -s test:model
gate:
  thresholds: { accuracy: { min: 0.92 } }
  champion: { metric: accuracy, margin: 0.02 }
verify:
  request: { method: POST, path: /predict, body: '{"input": [${new Array(784).fill(0).join(',')}]}' }
deploy:
  app: ${app}
  replicas: 2
  drainSeconds: 2
  env: { LOG_LEVEL: warn }
  docker:
    port: ${port}
    proxyImage: ${registry}/shipml/haproxy:2.6
`;
}

export interface DemoState {
  port?: number;
}

export async function loadState(dir: string): Promise<DemoState> {
  return readFile(join(dir, 'demo.json'), 'utf8')
    .then((t) => JSON.parse(t) as DemoState)
    .catch(() => ({}));
}

export async function saveState(dir: string, state: DemoState): Promise<void> {
  await writeFileAtomic(join(dir, 'demo.json'), JSON.stringify(state) + '\n');
}
