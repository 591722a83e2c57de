/**
 * The server's caps on what a repository's `runner:` may ask for (runners/limits.ts): an ask
 * over a cap fails with one line naming the setting, the value and the cap; a default over a
 * cap becomes the cap (checked inside a real container: its cgroup's memory limit); the time
 * cap ends a command whose own timeout is longer; and through `shipml server`, an app's
 * caps (server-wide, overridden per app) decide its runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { parseServerConfig } from '../src/server/config/load.js';
import { RunnerConfigSchema } from '../src/runners/config-schema.js';
import { capOptions } from '../src/runners/limits.js';
import { openRunner } from '../src/runners/open.js';
import { runners } from '../src/runners/registry.js';
import { eventually, startService, testRepo, tinyApp } from './helpers/server.js';

const image = process.env.SHIPML_TEST_BASE_NODE;
if (!image) throw new Error('SHIPML_TEST_BASE_NODE is not set (scripts/services.sh start)');
const defaults = runners.get('container').optionsSchema.parse({});
const container = (written: Record<string, unknown>) =>
  RunnerConfigSchema.parse({ kind: 'container', ...written });

describe('runner caps', () => {
  it('refuses an ask over a cap with the setting, the value and the cap; lowers a default', () => {
    const asked = { memoryMiB: 8192 };
    const over = () =>
      capOptions({ ...defaults, ...asked }, asked, { memoryMiB: 4096 }, 'runnerLimits');
    expect(over).toThrow(ConfigError);
    expect(over).toThrow(
      "shipml.yaml runner.memoryMiB asks for 8192, above the server's cap of 4096 (runnerLimits.memoryMiB)",
    );
    // Nobody asked: the runner's default (2048 MiB, 512 pids) is lowered to the cap.
    expect(capOptions(defaults, {}, { memoryMiB: 1024, pids: 100 }, 'runnerLimits')).toEqual({
      ...defaults,
      memoryMiB: 1024,
      pids: 100,
    });
    // Under or at the cap: what was asked.
    expect(
      capOptions({ ...defaults, cpus: 1 }, { cpus: 1 }, { cpus: 1, diskMiB: 9000 }, 'x'),
    ).toEqual({ ...defaults, cpus: 1 });
  });

  it('refuses the bridge network where the cap is none', () => {
    const asked = { network: 'bridge' };
    expect(() =>
      capOptions({ ...defaults, ...asked }, asked, { network: 'none' }, 'runnerLimits'),
    ).toThrow(
      "shipml.yaml runner.network asks for bridge, above the server's cap of none (runnerLimits.network)",
    );
    expect(capOptions({ ...defaults, ...asked }, asked, { network: 'bridge' }, 'r').network).toBe(
      'bridge',
    );
  });

  it('fails before the engine is touched; a capped default reaches the container', async () => {
    const choice = { kind: 'container', where: 'test', limits: { memoryMiB: 256 } };
    // The engine is unreachable here: a refusal must come from the cap, before any call.
    const nowhere = { env: { DOCKER_HOST: 'tcp://127.0.0.1:1' }, defaultImage: image };
    await expect(openRunner(container({ memoryMiB: 512 }), choice, nowhere)).rejects.toThrow(
      "shipml.yaml runner.memoryMiB asks for 512, above the server's cap of 256",
    );

    const runner = await openRunner(container({}), choice, {
      env: process.env,
      defaultImage: image,
    });
    const lines: string[] = [];
    const root = await mkdtemp(join(tmpdir(), 'shipml-caps-'));
    try {
      const r = await runner.run({
        // cgroup v1 (these hosts) or v2.
        command:
          'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
        appDir: root,
        env: {},
        timeoutSeconds: 30,
        onLine: (l) => lines.push(l),
      });
      expect(r.code, lines.join('\n')).toBe(0);
      expect(lines).toContain(String(256 * 1024 * 1024));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('ends a command at the time cap when its own timeout is longer, and says so', async () => {
    const runner = await openRunner(
      undefined,
      { kind: 'host', where: 'test', limits: { timeoutSeconds: 1 } },
      { env: process.env },
    );
    const started = Date.now();
    const r = await runner.run({
      command: 'sleep 20',
      appDir: tmpdir(),
      env: {},
      timeoutSeconds: 600,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.timedOut).toBe(true);
    expect(r.limit).toBe("the server's time cap of 1 s (runnerLimits.timeoutSeconds) ended it");
    // Within the cap, the command's own timeout holds.
    const fast = await runner.run({
      command: 'true',
      appDir: tmpdir(),
      env: {},
      timeoutSeconds: 1,
    });
    expect(fast).toMatchObject({ code: 0, timedOut: false });
    expect(fast.limit).toBeUndefined();
  }, 30_000);

  it('reads runnerLimits server-wide and per app, the app overriding key by key', () => {
    const loaded = parseServerConfig(
      [
        'runnerLimits: { memoryMiB: 1024, network: none, timeoutSeconds: 600 }',
        'apps:',
        '  - { name: a, repository: /r/a }',
        '  - { name: b, repository: /r/b, runnerLimits: { memoryMiB: 4096, network: bridge } }',
      ].join('\n'),
      '/etc/shipml-server.yaml',
      {},
    );
    const [a, b] = loaded.config.apps;
    expect(a!.runnerLimits).toEqual({ memoryMiB: 1024, network: 'none', timeoutSeconds: 600 });
    expect(b!.runnerLimits).toEqual({ memoryMiB: 4096, network: 'bridge', timeoutSeconds: 600 });
    expect(() =>
      parseServerConfig('runnerLimits: { memory: 1 }\n', '/etc/shipml-server.yaml', {}),
    ).toThrow(/runnerLimits/);
  });
});

describe('runner caps under shipml server', () => {
  let root: string;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'shipml-caps-srv-'));
  });
  afterAll(async () => {
    await stop?.();
    await rm(root, { recursive: true, force: true });
  });

  it("fails an app's run that asks over its cap; another app's own cap lets the same ask run", async () => {
    const files = tinyApp();
    // The repository asks for 1024 MiB (tinyApp's shipml.yaml plus a runner: section).
    files['shipml.yaml'] += 'runner:\n  kind: container\n  memoryMiB: 1024\n';
    const repo = await testRepo(join(root, 'repo'), files);
    const srv = await startService(
      [
        `dataDir: ${root}/data`,
        'runnerLimits: { memoryMiB: 512 }',
        'apps:',
        `  - { name: capped, repository: ${repo.bare}, release: manual }`,
        `  - { name: roomy, repository: ${repo.bare}, release: manual, runnerLimits: { memoryMiB: 2048 } }`,
      ].join('\n'),
      process.env,
    );
    stop = () => srv.stop();
    const admin = await srv.token('admin');
    type Run = { id: string; status: string; error?: string };
    const call = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
      const res = await fetch(`${srv.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      return (await res.json()) as T;
    };
    const finished = (id: string) =>
      eventually(
        async () => {
          const run = await call<Run>(`/api/v1/runs/${id}`);
          return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
        },
        `run ${id}`,
        90_000,
      );
    const start = (app: string) =>
      call<{ run: Run }>(`/api/v1/apps/${app}/runs`, { method: 'POST', body: '{}' });
    const capped = await start('capped');
    const roomy = await start('roomy');
    const refused = await finished(capped.run.id);
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain(
      "shipml.yaml runner.memoryMiB asks for 1024, above the server's cap of 512 (runnerLimits.memoryMiB)",
    );
    const ran = await finished(roomy.run.id);
    expect(ran.status, ran.error).toBe('succeeded');
  }, 180_000);
});
