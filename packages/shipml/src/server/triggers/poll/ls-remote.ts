/**
 * `git ls-remote` of a repository, the real implementation behind WatchContext.lsRemote:
 * one round trip that lists every branch and tag with its commit, through whatever
 * transport git speaks (https, ssh, git://, file://, a local path) and whatever credentials
 * the environment gives git. Never prompts: a missing credential fails at once.
 */
import { CancelledError, ExternalServiceError, AuthenticationError } from '../../../core/errors.js';
import { runProcess } from '../../../core/process.js';

export interface LsRemoteOptions {
  /** Ends git after this long (default 60 s). */
  timeoutMs?: number | undefined;
  /** The git program (default `git` on PATH). */
  git?: string | undefined;
}

/**
 * The refs of the repository at `url`: `refs/heads/*` and `refs/tags/*` → commit. Annotated
 * tags map to the commit they point at (the peeled `^{}` line), not the tag object. Errors
 * are one line naming the URL without its credentials.
 */
export async function lsRemote(
  url: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
  options: LsRemoteOptions = {},
): Promise<Map<string, string>> {
  const shown = displayUrl(url);
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  const errors: string[] = [];
  const result = await runProcess(options.git ?? 'git', ['ls-remote', '--heads', '--tags', url], {
    env: {
      ...env,
      GIT_TERMINAL_PROMPT: '0', // fail instead of asking for a password on a terminal
      GIT_SSH_COMMAND: env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
      LC_ALL: 'C', // git's messages in English, so they can be classified
    },
    signal,
    timeoutMs: options.timeoutMs ?? 60_000,
    killGraceMs: 1000,
    onLine: (line, stream) => {
      if (stream === 'stderr') {
        if (errors.length < 20) errors.push(line);
        return;
      }
      const match = /^([0-9a-f]{40}|[0-9a-f]{64})\t(refs\/\S+)$/.exec(line);
      if (!match) return;
      const [, sha, ref] = match as unknown as [string, string, string];
      if (ref.endsWith('^{}')) peeled.set(ref.slice(0, -3), sha);
      else refs.set(ref, sha);
    },
  }).catch((err: unknown) => {
    throw new ExternalServiceError(
      `git ls-remote ${shown}: cannot run git (${(err as Error).message})`,
      {
        retryable: false,
        cause: err,
      },
    );
  });
  if (result.cancelled) throw new CancelledError(`git ls-remote ${shown}: cancelled`);
  if (result.timedOut)
    throw new ExternalServiceError(
      `git ls-remote ${shown}: no answer within ${(options.timeoutMs ?? 60_000) / 1000} s`,
      {
        retryable: true,
      },
    );
  if (result.code !== 0) throw failure(shown, url, errors, result.code);
  for (const [ref, sha] of peeled) if (refs.has(ref)) refs.set(ref, sha);
  return refs;
}

function failure(
  shown: string,
  url: string,
  stderr: readonly string[],
  code: number | null,
): Error {
  const lines = stderr.map((l) => l.trim()).filter(Boolean);
  // git says the specific thing first ("does not appear to be a git repository"), then a
  // generic "Could not read from remote repository": report the first.
  const first =
    lines.find((l) => /^(fatal|error|remote):/i.test(l)) ?? lines[0] ?? `exit code ${code}`;
  const said = withoutSecrets(first, url).replace(/^fatal:\s*/i, '');
  const message = `git ls-remote ${shown} failed: ${said}`;
  const all = lines.join('\n');
  if (
    /authentication failed|could not read (username|password)|terminal prompts disabled|permission denied \(publickey|\b(401|403)\b/i.test(
      all,
    )
  )
    return new AuthenticationError(message, {
      hint: 'give git credentials for this URL in the server environment (a credential helper, GIT_ASKPASS or an ssh key)',
    });
  const permanent =
    /not found|does not appear to be a git repository|no such file|not a git repository|not exported/i.test(
      all,
    );
  return new ExternalServiceError(message, { retryable: !permanent });
}

/** The URL with any user info (`user:token@`) replaced: safe to print. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

/** A line of git's output with the URL's credentials removed (raw and percent-decoded). */
function withoutSecrets(line: string, url: string): string {
  let out = line.split(url).join(displayUrl(url));
  const info = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(url)?.[1];
  if (info) {
    for (const part of info.split(':').flatMap((p) => [p, safeDecode(p)])) {
      if (part.length >= 3) out = out.split(part).join('***');
    }
  }
  return out.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
