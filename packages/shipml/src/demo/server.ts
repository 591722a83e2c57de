/**
 * The demo's `shipml server`: a real server process (the CLI's), detached like the demo
 * registry so the API stays up after the demo for a look around, stopped by `shipml demo
 * --stop` by the PID it recorded. It builds digits from a local bare git repository the
 * demo pushes to, and watches the demo's model store.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { ExternalServiceError } from '../core/errors.js';
import { createToken } from '../server/api/tokens.js';
import { defaultServiceStoreUrl, openServiceStore } from '../server/store/registry.js';

/** The built CLI (from dist/, or from src/ when this module runs as TypeScript in tests). */
const CLI = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../dist/cli/main.js' : '../cli/main.js',
    import.meta.url,
  ),
);

export interface DemoServer {
  url: string;
  pid: number;
  /** The webhook secret (GitHub format) the demo signs its pushes with. */
  hookSecret: string;
  /** An admin token for the API (also in `tokenFile`, mode 0600). */
  token: string;
  tokenFile: string;
  config: string;
  log: string;
}

export function serverConfig(options: {
  dir: string;
  app: string;
  repository: string;
  port: number;
  env: Record<string, string>;
}): string {
  return `# Written by shipml demo: the service that builds digits on every push and every new model.
dataDir: ${join(options.dir, 'server')}
listen: { host: 127.0.0.1, port: ${options.port} }
apps:
  - name: ${options.app}
    repository: ${options.repository}
    branches: [main]
    release: on-success
    # digits' prepare runs npm ci, which needs npm and the registry: the local base image has
    # neither, so the demo's commands run on the host (the server logs a warning).
    runner: host
    env: ${JSON.stringify(options.env)}
    triggers:
      - type: github
        secret: \${SHIPML_DEMO_HOOK_SECRET}
      - type: model-watch
        intervalSeconds: 1
`;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts the demo's server (stopping one a previous demo left running) and waits until it is ready. */
export async function startServer(
  dir: string,
  configText: string,
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<DemoServer> {
  await stopServer(dir);
  const config = join(dir, 'shipml-server.yaml');
  await writeFileAtomic(config, configText);
  const hookSecret = randomBytes(24).toString('hex');
  // The token is created in the server's store before the server starts (SQLite, shared).
  const store = await openServiceStore(defaultServiceStoreUrl(join(dir, 'server')));
  const { token } = await createToken(store, { scope: 'admin', name: 'shipml demo' }).finally(() =>
    store.close(),
  );
  const tokenFile = join(dir, 'api-token');
  await writeFileAtomic(tokenFile, token + '\n');
  await chmod(tokenFile, 0o600);

  const log = join(dir, 'server.log');
  await mkdir(dir, { recursive: true });
  const out = await open(log, 'a');
  const child = spawn(process.execPath, [CLI, 'server', '-c', config], {
    detached: true,
    stdio: ['ignore', out.fd, out.fd],
    env: { ...env, SHIPML_DEMO_HOOK_SECRET: hookSecret },
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  await out.close();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && exited === undefined && !(await answers(url)); i++) await sleep(100);
  if (!(await answers(url))) {
    const last = (await readFile(log, 'utf8').catch(() => ''))
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new ExternalServiceError(
      `the demo's shipml server did not start on ${url}${exited !== undefined ? ` (it exited with ${exited})` : ''}${last ? `: ${last}` : ''} (its log: ${log})`,
      { retryable: false },
    );
  }
  const server: DemoServer = { url, pid: child.pid!, hookSecret, token, tokenFile, config, log };
  await writeFileAtomic(join(dir, 'server.json'), JSON.stringify({ pid: server.pid, url }) + '\n');
  return server;
}

/** Stops the demo's server by its recorded PID (it cancels what runs and exits). */
export async function stopServer(dir: string): Promise<boolean> {
  const file = join(dir, 'server.json');
  const state = await readFile(file, 'utf8')
    .then((t) => JSON.parse(t) as { pid: number })
    .catch(() => undefined);
  if (!state) return false;
  try {
    process.kill(state.pid, 'SIGTERM');
    for (let i = 0; i < 100; i++) {
      process.kill(state.pid, 0);
      await sleep(100);
    }
  } catch {
    // gone
  }
  await rm(file, { force: true });
  return true;
}
