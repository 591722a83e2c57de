/** The demo's shipml.yaml (committed to its git repository) and the little state it keeps between runs (its ports). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { createServer } from 'node:net';

export function demoConfig(dir: string, app: string, registry: string, port: number): string {
  return `# Written by shipml demo: examples/digits, shipped from this machine to this machine by shipml server.
model:
  name: digits
  store: file://${join(dir, 'models')}
build:
  base: ${registry}/shipml/node:24
  include: [package.json, package-lock.json, dist, public]
  cmd: [node, dist/src/main.js]
  env: { HOST: 0.0.0.0, PORT: '8080' }
  user: '1000:1000'
image:
  repository: ${registry}/demo/digits
prepare: # a clean checkout: install (unless the server's dependency cache had this lock) and build
  command: '{ test -f node_modules/.package-lock.json || npm ci --prefer-offline --no-audit --no-fund; } && npm run -s build'
  env: { ONNXRUNTIME_NODE_INSTALL: skip }
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
  /** The demo server's API port. */
  apiPort?: number;
}

/** `preferred` if it is free on 127.0.0.1, else the next free port after it. */
export async function freePortNear(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 100; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  return 0;
}

export async function loadState(dir: string): Promise<DemoState> {
  return readFile(join(dir, 'demo.json'), 'utf8')
    .then((t) => JSON.parse(t) as DemoState)
    .catch(() => ({}));
}

export async function saveState(dir: string, state: DemoState): Promise<void> {
  await writeFileAtomic(join(dir, 'demo.json'), JSON.stringify(state) + '\n');
}
