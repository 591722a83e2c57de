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
  /\/node_modules\/(@kubernetes\/client-node|dockerode|docker-modem|ssh2|@grpc|@aws-sdk|@azure|fastify|kysely|pg|libsql|@libsql|prom-client|croner|@cyclonedx)\//;

/**
 * What the CLI loads only for the command that needs it (src/cli/commands.ts): every command's
 * definition and body, the config loader, the registries and what they bring along.
 */
const LAZY =
  /\/node_modules\/(zod|yaml|listr2|cli-progress|tar-stream)\/|\/dist\/(config|model-store|deploy|builders|pipeline|oci|attest|init|runners|server|demo)\/|\/dist\/cli\/(?!(main|commands|output)\.js$)[\w-]+\.js$/;

/**
 * The CLI is a bundle (scripts/bundle.mjs): dist/cli/main.js and chunks in dist/cli-chunks/,
 * with dist/cli-chunks/inputs.json naming the source modules and package files in each. A
 * loaded bundle file stands for what went into it, under the path it has without the
 * bundle (src/cli/build.ts: dist/cli/build.js; a package's file: its node_modules path), so
 * the checks below mean the same for both builds.
 */
async function bundleInputs(): Promise<Map<string, string[]> | undefined> {
  const file = join(pkg, 'dist', 'cli-chunks', 'inputs.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const byOutput = JSON.parse(text) as Record<string, string[]>;
  const inputs = new Map<string, string[]>();
  for (const [output, sources] of Object.entries(byOutput))
    inputs.set(
      join(pkg, 'dist', output),
      sources.map((s) =>
        s.startsWith('src/')
          ? join(pkg, 'dist', s.slice('src/'.length).replace(/\.ts$/, '.js'))
          : join(pkg, s),
      ),
    );
  return inputs;
}

let work: string;
let bundled: Map<string, string[]> | undefined;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-loads-'));
  bundled = await bundleInputs();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * The modules a node process loads for `args` (run in the package, so `shipml` resolves to
 * dist/); `exit` is the exit code the process must end with.
 */
async function loadsOf(name: string, args: string[], exit = 0): Promise<string[]> {
  const file = join(work, `${name}.txt`);
  const code = await run(process.execPath, ['--import', register, ...args], {
    cwd: pkg,
    env: { ...process.env, SHIPML_LOADS_FILE: file },
  }).then(
    () => 0,
    (err: { code?: number }) => err.code,
  );
  expect(code, args.join(' ')).toBe(exit);
  const loads = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  return loads.flatMap((l) => {
    const path = l.startsWith('file:') ? fileURLToPath(l) : l;
    const inputs = bundled?.get(path);
    return inputs ? [path, ...inputs] : [l];
  });
}

const sdks = (loads: string[]) => [...new Set(loads.filter((l) => SDKS.test(l)))];
const lazy = (loads: string[]) => [...new Set(loads.filter((l) => LAZY.test(l)))];

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

  it('the bin is the bundle: `shipml --version` reads a handful of files, not hundreds', async () => {
    expect(bundled, 'dist/cli-chunks/inputs.json (npm run build bundles the CLI)').toBeDefined();
    expect(bundled!.get(join(pkg, 'dist', 'cli', 'main.js'))).toContain(
      join(pkg, 'scripts', 'cli-entry.mjs'),
    );
    const loads = await loadsOf('version-files', ['dist/cli/main.js', '--version']);
    const files = new Set(loads.filter((l) => l.startsWith('file:') || l.startsWith('/')));
    const read = [...files].filter((l) =>
      bundled!.has(l.startsWith('file:') ? fileURLToPath(l) : l),
    );
    expect(read.length).toBeGreaterThan(0);
    expect(read.length).toBeLessThan(10);
  });

  it('`shipml --version` loads none of them either', async () => {
    const loads = await loadsOf('version', ['dist/cli/main.js', '--version']);
    expect(loads.some((l) => l.endsWith('/dist/cli/main.js'))).toBe(true);
    expect(sdks(loads)).toEqual([]);
  });

  it('`shipml --version` and `shipml --help` load no command, registry, config loader or zod', async () => {
    for (const flag of ['--version', '--help']) {
      const loads = await loadsOf(flag, ['dist/cli/main.js', flag]);
      expect(loads.some((l) => l.endsWith('/dist/cli/commands.js'))).toBe(true);
      expect(lazy(loads), flag).toEqual([]);
    }
  });

  it("`shipml build --help` loads build's definition only; running build loads the rest", async () => {
    const help = await loadsOf('build-help', ['dist/cli/main.js', 'build', '--help']);
    expect(
      lazy(help)
        .map((l) => l.slice(l.indexOf('/dist/')))
        .sort(),
    ).toEqual(['/dist/cli/build.js', '/dist/cli/options.js']);
    // The same recorder sees what build loads when it runs (here: up to the missing config).
    const missing = join(work, 'missing.yaml');
    const built = await loadsOf('build', ['dist/cli/main.js', 'build', '-c', missing], 2);
    for (const module of ['/dist/cli/build-action.js', '/dist/config/load.js'])
      expect(
        built.some((l) => l.endsWith(module)),
        module,
      ).toBe(true);
    expect(built.some((l) => l.includes('/node_modules/zod/'))).toBe(true);
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
