import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { collectEntries, type TarEntry } from '../../oci/tar.js';
import { isOtherPlatform, type NodePlatform } from './platform-prune.js';

/** `os`/`cpu` as npm records them: a list (a lone string is read as one; anything else as none). */
const PlatformList = z
  .union([z.string().transform((s) => [s]), z.array(z.string())])
  .optional()
  .catch(undefined);

const LockSchema = z.looseObject({
  lockfileVersion: z.number(),
  packages: z
    .record(
      z.string(),
      z.looseObject({
        dev: z.boolean().optional(),
        link: z.boolean().optional(),
        os: PlatformList,
        cpu: PlatformList,
      }),
    )
    .optional(),
});

/**
 * The production dependencies of a Node.js app, as tar entries under `target`: every package
 * package-lock.json (v2/v3) lists under node_modules/ that is not dev-only, taken from the
 * installed node_modules (so native modules built by `npm ci` come along). Dev dependencies
 * never reach the image. With `platform`, what only another platform can load is left out
 * (platform-prune.ts): other OSes' and CPUs' prebuilt binaries, and packages whose `os`/`cpu`
 * exclude it — what `npm ci` on that platform would not have installed.
 */
export async function productionDependencies(
  appDir: string,
  target: string,
  options: { platform?: NodePlatform | undefined } = {},
): Promise<TarEntry[]> {
  const lockFile = join(appDir, 'package-lock.json');
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch {
    throw new ConfigError(`${lockFile} not found: the Node.js builder needs a lockfile`, {
      hint: 'run npm install once and commit package-lock.json',
    });
  }
  const lock = LockSchema.safeParse(JSON.parse(text) as unknown);
  if (!lock.success || lock.data.lockfileVersion < 2 || !lock.data.packages) {
    throw new ConfigError(`${lockFile}: expected lockfileVersion 2 or 3 (npm 7+)`);
  }
  const production = Object.entries(lock.data.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && !meta.link)
    .map(([path]) => path)
    .sort();
  if (production.length > 0 && !(await stat(join(appDir, 'node_modules')).catch(() => undefined))) {
    throw new ConfigError(
      `${join(appDir, 'node_modules')} is missing: the Node.js builder packages installed dependencies`,
      { hint: `run npm ci in ${appDir} first` },
    );
  }
  const packages = lock.data.packages;
  const { platform } = options;
  const entries: TarEntry[] = [];
  for (const pkg of production) {
    // Nested packages (a/node_modules/b) are collected with their parent; skip them here.
    if (production.some((other) => other !== pkg && pkg.startsWith(`${other}/`))) continue;
    const present = await stat(join(appDir, pkg)).catch(() => undefined);
    if (!present) continue; // optional dependencies for other platforms are not installed
    entries.push(
      ...(await collectEntries(appDir, {
        target,
        include: [pkg],
        exclude: (rel) =>
          isDevOnlyNested(rel, packages) ||
          (platform !== undefined && isOtherPlatform(rel, platform, packages)),
      })),
    );
  }
  return entries;
}

function isDevOnlyNested(
  rel: string,
  packages: Record<string, { dev?: boolean | undefined }>,
): boolean {
  return packages[rel]?.dev === true;
}
