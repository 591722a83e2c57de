import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** Paths init looks for, in order of preference, for readiness and liveness checks. */
export const READINESS_PATHS = ['/readyz', '/ready', '/health/ready', '/healthz', '/health'];
export const LIVENESS_PATHS = ['/healthz', '/livez', '/health/live', '/health'];
export const VERSION_PATH = '/version';

const SOURCE = new Set([
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.mts',
  '.cts',
  '.py',
  '.go',
  '.rb',
  '.java',
  '.kt',
  '.rs',
  '.cs',
  '.php',
]);
/** Dependencies, VCS and caches say nothing about the app's own routes; tests call routes, they do not serve them. */
const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  '.shipml',
  '.cache',
  'coverage',
  'test',
  'tests',
  '__tests__',
  'venv',
  '.venv',
  'vendor',
  'target',
]);
const MAX_FILES = 2000;
const MAX_BYTES = 512 * 1024;
const MAX_DEPTH = 6;

/**
 * Which of `candidates` the app's sources (or built files) mention as a quoted string
 * (`'/version'`, `"/readyz"`, `` `/healthz` ``): a cheap, language-independent sign that the
 * app serves the route. Bounded in files, bytes and depth, so a huge tree costs little.
 */
export async function findRoutes(dir: string, candidates: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const patterns = candidates.map((path) => ({
    path,
    re: new RegExp(`['"\`]${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"\`]`),
  }));
  let files = 0;
  const walk = async (current: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || found.size === candidates.length) return;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (files >= MAX_FILES || found.size === candidates.length) return;
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await walk(path, depth + 1);
        continue;
      }
      if (!entry.isFile() || !SOURCE.has(extname(entry.name))) continue;
      if (/\.(test|spec)\.[^.]+$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
      if (((await stat(path).catch(() => undefined))?.size ?? MAX_BYTES + 1) > MAX_BYTES) continue;
      files++;
      const text = await readFile(path, 'utf8').catch(() => '');
      for (const { path: route, re } of patterns) if (re.test(text)) found.add(route);
    }
  };
  await walk(dir, 0);
  return found;
}

/** The app's health and version paths as init writes them, and whether each was found. */
export interface AppRoutes {
  readinessPath: string;
  livenessPath: string;
  /** null: no /version route found, so verify skips the check. */
  versionPath: string | null;
  /** Found in the sources (false: init's default, to be checked). */
  found: { readiness: boolean; liveness: boolean };
}

export async function appRoutes(dir: string): Promise<AppRoutes> {
  const found = await findRoutes(dir, [
    ...new Set([...READINESS_PATHS, ...LIVENESS_PATHS, VERSION_PATH]),
  ]);
  const readiness = READINESS_PATHS.find((p) => found.has(p));
  const liveness = LIVENESS_PATHS.find((p) => found.has(p));
  return {
    readinessPath: readiness ?? READINESS_PATHS[0]!,
    livenessPath: liveness ?? readiness ?? LIVENESS_PATHS[0]!,
    versionPath: found.has(VERSION_PATH) ? VERSION_PATH : null,
    found: { readiness: readiness !== undefined, liveness: liveness !== undefined },
  };
}
