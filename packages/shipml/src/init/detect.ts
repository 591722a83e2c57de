import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, systemCode } from '../core/errors.js';

/** What `shipml init` found in an app directory. */
export type DetectedProject = NodeProject | DockerfileProject;

interface ProjectBase {
  /** The app directory (absolute). */
  dir: string;
  /** Both a package.json and a Dockerfile were found (the other builder was not chosen). */
  alsoFound: string | undefined;
  /** The name of the app directory, the default model name's source. */
  dirName: string;
}

export interface NodeProject extends ProjectBase {
  kind: 'node';
  packageName: string | undefined;
  scripts: { build?: string; test?: string; start?: string };
  /** The container command, and where it came from; undefined when nothing says. */
  cmd: { argv: string[]; from: string } | undefined;
  /** Paths for the app layer when a build step produces the runnable app; else undefined (all). */
  include: string[] | undefined;
  /** shipml is a (dev)dependency: CI runs the project's own copy. */
  hasShipml: boolean;
}

export interface DockerfileProject extends ProjectBase {
  kind: 'dockerfile';
  dockerfile: string;
  /** The first port the Dockerfile EXPOSEs, if any. */
  port: number | undefined;
}

const PackageJsonSchema = z.looseObject({
  name: z.string().optional(),
  main: z.string().optional(),
  bin: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  scripts: z.record(z.string(), z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
  devDependencies: z.record(z.string(), z.string()).optional(),
});

/** Directories of static files an app commonly serves beside its built code. */
const ASSET_DIRS = ['public', 'static', 'views'];

/**
 * Finds out how to build the app in `dir`: a package.json makes it a Node.js app (the native
 * builder), a Dockerfile a Dockerfile build. When both are there the Dockerfile wins unless
 * `prefer` says otherwise: it is the author's own statement of how the app runs in a
 * container (system packages, a build stage), which the native builder would silently ignore.
 */
export async function detectProject(
  dir: string,
  prefer?: DetectedProject['kind'],
): Promise<DetectedProject> {
  const [pkgText, hasDockerfile] = await Promise.all([
    readOptional(join(dir, 'package.json')),
    isFile(join(dir, 'Dockerfile')),
  ]);
  const dirName = basename(dir);
  const useNode =
    pkgText !== undefined && (prefer === 'node' || (prefer === undefined && !hasDockerfile));

  if (prefer === 'node' && pkgText === undefined)
    throw new ConfigError(`--builder node: no package.json in ${dir}`);
  if (prefer === 'dockerfile' && !hasDockerfile)
    throw new ConfigError(`--builder dockerfile: no Dockerfile in ${dir}`);

  if (pkgText !== undefined && useNode) {
    const project = await nodeProject(dir, pkgText);
    return { ...project, dirName, alsoFound: hasDockerfile ? 'Dockerfile' : undefined };
  }
  if (hasDockerfile) {
    const text = await readFile(join(dir, 'Dockerfile'), 'utf8');
    return {
      kind: 'dockerfile',
      dir,
      dirName,
      dockerfile: 'Dockerfile',
      port: exposedPort(text),
      alsoFound: pkgText !== undefined ? 'package.json' : undefined,
    };
  }
  throw new ConfigError(
    `no app found in ${dir}: looked for package.json (a Node.js app) and Dockerfile (any other app)`,
    { hint: 'run shipml init in the directory of your app, or pass that directory' },
  );
}

async function nodeProject(
  dir: string,
  text: string,
): Promise<Omit<NodeProject, 'dirName' | 'alsoFound'>> {
  const file = join(dir, 'package.json');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
  const parsed = PackageJsonSchema.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const pkg = parsed.data;
  if (!(await isFile(join(dir, 'package-lock.json')))) {
    const other = (await isFile(join(dir, 'yarn.lock')))
      ? 'yarn.lock'
      : (await isFile(join(dir, 'pnpm-lock.yaml')))
        ? 'pnpm-lock.yaml'
        : undefined;
    throw new ConfigError(
      `${dir}: package.json but no package-lock.json${other ? ` (found ${other})` : ''}: ShipML's Node.js builder installs exactly what package-lock.json lists`,
      {
        hint: other
          ? 'add a Dockerfile (then shipml init uses it), or switch to npm and commit package-lock.json'
          : 'run npm install once and commit package-lock.json',
      },
    );
  }

  const scripts = { ...pkg.scripts };
  // `npm init`'s placeholder is no test suite.
  if (scripts.test?.includes('no test specified')) delete scripts.test;
  const cmd = commandOf(pkg);
  const entryDir = cmd ? entryDirectory(cmd.argv) : undefined;
  let include: string[] | undefined;
  // A build step means the runnable app is its output, not the sources: ship that, the
  // manifests and the static files, so sources and tests stay out of the image.
  if (scripts.build && entryDir) {
    const assets: string[] = [];
    for (const name of ASSET_DIRS)
      if (name !== entryDir && (await isDirectory(join(dir, name)))) assets.push(name);
    include = ['package.json', 'package-lock.json', entryDir, ...assets];
  }
  return {
    kind: 'node',
    dir,
    packageName: pkg.name,
    scripts: {
      ...(scripts.build ? { build: scripts.build } : {}),
      ...(scripts.test ? { test: scripts.test } : {}),
      ...(scripts.start ? { start: scripts.start } : {}),
    },
    cmd,
    include,
    hasShipml: Boolean(pkg.dependencies?.shipml ?? pkg.devDependencies?.shipml),
  };
}

/**
 * The container command: `scripts.start` when it is a plain `node FILE ...` (no shell
 * syntax; the image runs no shell and no npm), else `main`, else the first `bin`.
 */
function commandOf(pkg: z.infer<typeof PackageJsonSchema>): NodeProject['cmd'] {
  const start = pkg.scripts?.start?.trim();
  if (start && !/[|&;<>()$`\\"'*?[\]{}~]/.test(start)) {
    const argv = start.split(/\s+/);
    if (argv[0] === 'node' && argv.slice(1).some((a) => !a.startsWith('-')))
      return { argv, from: 'scripts.start' };
  }
  if (pkg.main) return { argv: ['node', pkg.main], from: 'main' };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  if (bin) return { argv: ['node', bin], from: 'bin' };
  return undefined;
}

/** `dist` for `node dist/src/main.js`; undefined when the entry file sits at the top. */
function entryDirectory(argv: string[]): string | undefined {
  const file = argv.slice(1).find((a) => !a.startsWith('-'));
  const segments = (file ?? '').replace(/^\.\//, '').split('/');
  return segments.length > 1 && segments[0] && segments[0] !== '..' ? segments[0] : undefined;
}

/** The first port of the first EXPOSE instruction (`EXPOSE 8000`, `EXPOSE 8000/tcp`). */
function exposedPort(dockerfile: string): number | undefined {
  const match = /^\s*EXPOSE\s+(\d+)/im.exec(dockerfile);
  const port = match ? Number(match[1]) : undefined;
  return port !== undefined && port >= 1 && port <= 65535 ? port : undefined;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
