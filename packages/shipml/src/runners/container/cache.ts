/**
 * The npm cache a command container gets: a directory on this machine that persists between
 * the app's runs (issue 11: "Caches that make prepare fast (the npm cache) persist per
 * app"), mounted read-write at /cache/npm with npm_config_cache pointing at it. It lives in
 * ShipML's cache directory (SHIPML_CACHE_DIR, else ~/.cache/shipml) as `runner-npm`: the
 * server gives each app its own (<dataDir>/cache/<app>/shipml, server/app-runtime.ts), so
 * two apps never share one; `shipml run` shares one among a developer's own apps.
 *
 * Never the caller's npm_config_cache: npm sets that for everything it starts (`npx shipml`),
 * and it names the user's own ~/.npm, which a command container must not be handed.
 *
 * A commit of the app can leave files there for the app's later runs; npm checks every
 * tarball against the lockfile's integrity, so what it installs is still what the lockfile
 * names.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalServiceError } from '../../core/errors.js';
import { runProcess } from '../../core/process.js';
import { defaultCacheDir } from '../../model-store/cache.js';

export const NPM_CACHE_MOUNT = '/cache/npm';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The host directory mounted at NPM_CACHE_MOUNT. */
export function npmCacheDir(env: NodeJS.ProcessEnv): string {
  return join(defaultCacheDir(env), 'runner-npm');
}

/**
 * Makes `dir` and hands it to `user` (uid:gid) when ShipML runs as root. Not given back
 * after the command: concurrent runs of the app share it, all as the same user, so it is
 * re-owned only when its owner is not that user (a new directory, or a changed runner.user).
 */
export async function readyCache(dir: string, user: string | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (!user) return;
  const owner = await stat(dir);
  if (`${owner.uid}:${owner.gid}` === user) return;
  // -h and no -L: a symlink a command left there is re-owned itself, never followed.
  const result = await runProcess('chown', ['-R', '-h', user, dir], { env: { PATH } });
  // A file gone while chown walked: another command of the app removed its temporary file.
  const failures = result.tail.filter((l) => !/No such file or directory/.test(l));
  if (result.code !== 0 && failures.length > 0)
    throw new ExternalServiceError(
      `cannot hand the npm cache ${dir} to ${user}: ${failures.at(-1) ?? `chown exit ${result.code}`}`,
      { retryable: false },
    );
}
