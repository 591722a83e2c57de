/**
 * Git refs as triggers see them: which branch or tag a ref names, whether a push deleted
 * it, and branch filters with globs (GitHub Actions' semantics: `*` stays within one path
 * segment, `**` crosses `/`, `?` is one character).
 */

/** A commit id: SHA-1 (40 hex) or SHA-256 (64 hex) object names. */
export const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** All zeros: git's "no object", the new id of a deleted ref. */
export function isNullCommit(sha: string): boolean {
  return /^0+$/.test(sha);
}

export type ParsedRef =
  | { kind: 'branch'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'other'; name: string };

/** `refs/heads/main` → branch main; `refs/tags/v1` → tag v1; anything else → other. */
export function parseRef(ref: string): ParsedRef {
  if (ref.startsWith('refs/heads/') && ref.length > 11)
    return { kind: 'branch', name: ref.slice(11) };
  if (ref.startsWith('refs/tags/') && ref.length > 10) return { kind: 'tag', name: ref.slice(10) };
  return { kind: 'other', name: ref };
}

/** A predicate over branch names from patterns (exact names or globs). */
export function branchMatcher(patterns: readonly string[]): (branch: string) => boolean {
  const regexes = patterns.map(globToRegExp);
  return (branch) => regexes.some((re) => re.test(branch));
}

/** The branch filter of a trigger: its own `branches` option, else the app's branches. */
export function branchFilter(
  own: readonly string[] | undefined,
  app: readonly string[],
): { matches: (branch: string) => boolean; patterns: readonly string[] } {
  const patterns = own && own.length > 0 ? own : app;
  return { matches: branchMatcher(patterns), patterns };
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * Text from a delivery, made safe for a verdict reason or a log line: control characters
 * dropped (no forged log lines), at most `max` characters.
 */
export function clip(text: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
