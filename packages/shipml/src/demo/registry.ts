/**
 * The demo's private registry: CNCF distribution (`docker-registry` from Debian) on
 * 127.0.0.1, storage in the demo's directory. It keeps running after the demo (the app it
 * deployed pulls from it on a rollback), is reused by the next demo, and `shipml demo --stop`
 * stops it by the PID it recorded.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, ExternalServiceError } from '../core/errors.js';

export interface LocalRegistry {
  /** host:port */
  address: string;
  pid: number;
}

async function answers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Reuses the demo registry if it answers, else starts it (on `preferredPort` when free). */
export async function ensureRegistry(
  dir: string,
  preferredPort: number,
  binary = 'docker-registry',
): Promise<LocalRegistry> {
  const stateFile = join(dir, 'registry.json');
  const previous = await readFile(stateFile, 'utf8')
    .then((t) => JSON.parse(t) as LocalRegistry)
    .catch(() => undefined);
  if (previous && (await answers(previous.address))) return previous;

  let port = preferredPort;
  while (!(await portFree(port))) port++;
  const address = `127.0.0.1:${port}`;
  await mkdir(join(dir, 'registry'), { recursive: true });
  const config = join(dir, 'registry.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: error, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'registry')} }, delete: { enabled: true } }`,
      `http: { addr: "${address}" }`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', config], { detached: true, stdio: 'ignore' });
  const started = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', resolve);
  });
  await started.catch((err: unknown) => {
    throw new ConfigError(`cannot start ${binary}: ${(err as Error).message}`, {
      hint: 'install it (Debian/Ubuntu: apt-get install docker-registry), or run bash scripts/demo.sh',
    });
  });
  child.unref();
  for (let i = 0; i < 100 && !(await answers(address)); i++) await sleep(100);
  if (!(await answers(address)))
    throw new ExternalServiceError(`the demo registry on ${address} did not start`, {
      retryable: false,
    });
  const registry = { address, pid: child.pid! };
  await writeFile(stateFile, JSON.stringify(registry) + '\n');
  return registry;
}

/** Stops the demo registry this machine's demo started, by its recorded PID. */
export async function stopRegistry(dir: string): Promise<boolean> {
  const stateFile = join(dir, 'registry.json');
  const state = await readFile(stateFile, 'utf8')
    .then((t) => JSON.parse(t) as LocalRegistry)
    .catch(() => undefined);
  if (!state) return false;
  try {
    process.kill(state.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await rm(stateFile, { force: true });
  return true;
}
