import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const register = fileURLToPath(new URL('./fixtures/record-loads/register.mjs', import.meta.url));
/** The SDKs that must load only when their back end is used. */
const SDKS =
  /\/node_modules\/(@kubernetes\/client-node|dockerode|docker-modem|ssh2|@grpc|@aws-sdk|@azure|fastify|kysely|pg|better-sqlite3|prom-client|croner|@cyclonedx)\//;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-loads-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The modules a node process loads for `args` (run in the package, so `shipml` resolves to dist/). */
async function loadsOf(name: string, args: string[]): Promise<string[]> {
  const file = join(work, `${name}.txt`);
  await run(process.execPath, ['--import', register, ...args], {
    cwd: pkg,
    env: { ...process.env, SHIPML_LOADS_FILE: file },
  });
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean);
}

const sdks = (loads: string[]) => [...new Set(loads.filter((l) => SDKS.test(l)))];

describe('entry points (built: npm run build)', () => {
  it("importing 'shipml' loads no Docker, Kubernetes, AWS or Azure SDK", async () => {
    const loads = await loadsOf('index', [
      '--input-type=module',
      '-e',
      "const m = await import('shipml'); if (!m.deployTargets || !m.modelStores || !m.imageBuilders || !m.ciSystems) process.exit(3);",
    ]);
    expect(loads.some((l) => l.endsWith('/dist/index.js'))).toBe(true);
    expect(sdks(loads)).toEqual([]);
  });

  it('`shipml --version` loads none of them either', async () => {
    const loads = await loadsOf('version', ['dist/cli/main.js', '--version']);
    expect(loads.some((l) => l.endsWith('/dist/cli/main.js'))).toBe(true);
    expect(sdks(loads)).toEqual([]);
  });

  it('the subpath of a heavy back end does load its SDK (the recorder sees both module kinds)', async () => {
    const kube = await loadsOf('kubernetes', [
      '--input-type=module',
      '-e',
      "await import('shipml/deploy/kubernetes');",
    ]);
    expect(sdks(kube).some((l) => l.includes('@kubernetes/client-node'))).toBe(true);
    const docker = await loadsOf('docker', [
      '--input-type=module',
      '-e',
      "const { dockerClient } = await import('shipml/oci'); dockerClient({});",
    ]);
    expect(sdks(docker).some((l) => l.includes('/dockerode/'))).toBe(true);
  });

  it('every subpath export resolves and exports something', async () => {
    const manifest = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const subpaths = Object.keys(manifest.exports).filter((k) => k !== './package.json');
    const script = subpaths
      .map(
        (s) =>
          `{ const m = await import('${join('shipml', s)}'); if (Object.keys(m).length === 0) throw new Error('${s} exports nothing'); }`,
      )
      .join('\n');
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg });
  });
});
