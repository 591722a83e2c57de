/**
 * The container runner on podman, where Docker is absent: podman's Docker-compatible API
 * (`podman system service`, started here on a socket of this test's own, where a rootless
 * user's podman.socket listens: $XDG_RUNTIME_DIR/podman/podman.sock) found by engineEnv when
 * Docker's socket is not there; then the runner conformance suite and the containment that
 * matters most (memory, network, the read-only root) on real podman containers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerConformance } from '../src/runners/conformance.js';
import { engineEnv } from '../src/runners/container/engine-env.js';
import { runners } from '../src/runners/registry.js';
import type { CommandRunner } from '../src/runners/types.js';
import { required } from './services.js';

const image = required('SHIPML_TEST_BASE_NODE');
try {
  execFileSync('podman', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('podman is not installed (scripts/services.sh install installs it)');
}

let root: string;
let service: ChildProcess | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-podman-'));
  const runtime = join(root, 'run');
  const socket = join(runtime, 'podman', 'podman.sock');
  await mkdir(join(runtime, 'podman'), { recursive: true });
  // The test registry is plain HTTP on 127.0.0.1: podman pulls from it only when told so.
  const registries = join(root, 'registries.conf');
  await writeFile(
    registries,
    `[[registry]]\nlocation = "${image.split('/')[0]}"\ninsecure = true\n`,
  );
  service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: { ...process.env, CONTAINERS_REGISTRIES_CONF: registries },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) throw new Error(`podman system service did not listen on ${socket}`);
  // Docker absent (its socket is not there): the runner takes podman's.
  const chosen = engineEnv(
    { PATH: process.env.PATH, XDG_RUNTIME_DIR: runtime },
    { docker: join(root, 'no-docker.sock'), podman: [socket] },
  );
  expect(chosen.DOCKER_HOST).toBe(`unix://${socket}`);
  env = { ...chosen, SHIPML_CACHE_DIR: join(root, 'cache') };
}, 60_000);

afterAll(async () => {
  service?.kill();
  await rm(root, { recursive: true, force: true });
});

const open = (options: Record<string, unknown> = {}) =>
  runners
    .get('container')
    .open(runners.get('container').optionsSchema.parse(options), { env, defaultImage: image });

describe('engineEnv', () => {
  it('keeps Docker where it is, and DOCKER_HOST where it is set', () => {
    const sockets = { docker: '/d.sock', podman: ['/p.sock'] };
    expect(engineEnv({}, sockets, (p) => p === '/d.sock' || p === '/p.sock')).toEqual({});
    expect(engineEnv({ DOCKER_HOST: 'tcp://x:2376' }, sockets, () => false).DOCKER_HOST).toBe(
      'tcp://x:2376',
    );
    expect(engineEnv({}, sockets, () => false).DOCKER_HOST).toBeUndefined();
  });
});

runnerConformance('container on podman', () => open());

describe('the container runner on podman contains a command', () => {
  let runner: CommandRunner;
  let checkout: string;
  beforeAll(async () => {
    runner = await open({ memoryMiB: 128, pids: 64, scratchMiB: 16 });
    checkout = join(root, 'checkout');
    await mkdir(checkout, { recursive: true });
  }, 120_000);
  const run = async (command: string) => {
    const lines: string[] = [];
    const r = await runner.run({
      command,
      appDir: checkout,
      env: {},
      timeoutSeconds: 30,
      onLine: (l) => lines.push(l),
    });
    return { ...r, text: lines.join('\n') };
  };

  it('names the memory limit when the command is killed past it', async () => {
    const r = await run(
      'node -e "const a = []; for (;;) a.push(Buffer.alloc(8 * 1024 * 1024, 1))"',
    );
    expect(r.code).not.toBe(0);
    expect(r.limit).toMatch(/memory limit 128 MiB/);
  }, 60_000);

  it('has no network, a read-only root and no capabilities, as a non-root user', async () => {
    const r = await run(
      [
        "node -e \"require('net').connect(443, '1.1.1.1').on('error', e => console.log('net:', e.code)).on('connect', () => console.log('net: connected'))\"",
        'touch /etc/owned 2>/dev/null && echo root: writable || echo root: read-only',
        'grep CapEff /proc/self/status',
        'id -u',
      ].join('; '),
    );
    expect(r.text).toMatch(/net: (ENETUNREACH|EHOSTUNREACH|ECONNREFUSED)/);
    expect(r.text).toContain('root: read-only');
    expect(r.text).toMatch(/CapEff:\s+0000000000000000/);
    expect(r.text).not.toMatch(/^0$/m);
  }, 60_000);
});
