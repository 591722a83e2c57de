/**
 * What the service's tests share: a real git repository (a working clone and a bare
 * "remote" the server fetches from), a tiny Node app that builds in about a second and
 * pushes to the test registry, and a service started in-process on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redactor } from '../../src/core/redact.js';
import { httpServer } from '../../src/server/api/http.js';
import { createToken } from '../../src/server/api/tokens.js';
import { parseServerConfig } from '../../src/server/config/load.js';
import { Service } from '../../src/server/service.js';
import type { TokenScope } from '../../src/server/store/types.js';
import { required } from '../services.js';

const exec = promisify(execFile);

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec(
    'git',
    ['-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args],
    {
      cwd,
    },
  );
  return stdout.trim();
}

export interface TestRepo {
  /** The working clone. */
  work: string;
  /** The bare repository the server fetches (its `repository`). */
  bare: string;
  /** Commits `files` (path → content) and pushes; returns the commit. */
  commit(files: Record<string, string>, message?: string): Promise<string>;
}

/** A tiny app: no model, a test command, a Node build pushed to the test registry. */
export function tinyApp(
  options: {
    test?: string;
    /** The test command's env: (the container runner passes only these). */
    testEnv?: Record<string, string>;
    prepare?: string;
    repository?: string;
  } = {},
): Record<string, string> {
  const registry = required('SHIPML_TEST_REGISTRY');
  return {
    'package.json': JSON.stringify({ name: 'tiny', version: '1.0.0', private: true }),
    'package-lock.json': JSON.stringify({
      name: 'tiny',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'tiny', version: '1.0.0' } },
    }),
    'index.js': "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0');\n",
    'shipml.yaml': [
      'build:',
      '  kind: node',
      `  base: ${required('SHIPML_TEST_BASE_NODE')}`,
      '  include: [package.json, index.js]',
      '  cmd: [node, index.js]',
      'image:',
      `  repository: ${options.repository ?? `${registry}/tiny-${Math.random().toString(36).slice(2, 8)}`}`,
      ...(options.prepare ? ['prepare:', `  command: ${JSON.stringify(options.prepare)}`] : []),
      'test:',
      `  command: ${JSON.stringify(options.test ?? 'node -e "console.log(\'tests pass\')"')}`,
      ...(options.testEnv ? [`  env: ${JSON.stringify(options.testEnv)}`] : []),
      'deploy:',
      '  app: tiny',
      '',
    ].join('\n'),
  };
}

export async function testRepo(root: string, files: Record<string, string>): Promise<TestRepo> {
  const work = join(root, 'work');
  const bare = join(root, 'remote.git');
  await mkdir(work, { recursive: true });
  await git(work, 'init', '-q', '-b', 'main');
  await exec('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  await git(work, 'remote', 'add', 'origin', bare);
  const repo: TestRepo = {
    work,
    bare,
    async commit(changes, message = 'change') {
      for (const [path, content] of Object.entries(changes)) {
        await mkdir(join(work, path, '..'), { recursive: true });
        await writeFile(join(work, path), content);
      }
      await git(work, 'add', '-A');
      await git(work, 'commit', '-q', '--allow-empty', '-m', message);
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      return git(work, 'rev-parse', 'HEAD');
    },
  };
  await repo.commit(files, 'first');
  return repo;
}

export interface RunningService {
  service: Service;
  url: string;
  logs: string[];
  token(scope: TokenScope, options?: { expiresInDays?: number; now?: Date }): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a service from config text on 127.0.0.1 (port 0), in this process. */
export async function startService(
  configText: string,
  env: NodeJS.ProcessEnv,
  options: { dir?: string; worker?: boolean; watches?: boolean } = {},
): Promise<RunningService> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'shipml-server-')));
  const file = join(dir, 'shipml-server.yaml');
  await writeFile(file, configText);
  const loaded = parseServerConfig(configText, file, env);
  const logs: string[] = [];
  const redactor = new Redactor();
  const service = await Service.open({
    loaded,
    env,
    redactor,
    log: (line) => logs.push(line),
    worker: options.worker ?? true,
    watches: options.watches ?? true,
    retryDelaysMs: [100, 200],
  });
  const http = await httpServer(service, '0.0.0-test');
  const url = await http.listen({ host: '127.0.0.1', port: 0 });
  return {
    service,
    url,
    logs,
    token: async (scope, o = {}) =>
      (await createToken(service.store, { scope, name: `test-${scope}`, ...o })).token,
    async stop() {
      await http.close();
      await service.stop();
    },
  };
}

/** Polls `check` until it returns a value (bounded). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
