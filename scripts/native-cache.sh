#!/usr/bin/env bash
# better-sqlite3 (the service store's SQLite driver) has no prebuilt binary reachable here
# (prebuild-install downloads them from GitHub), so every `npm ci` compiles it: about 2 minutes
# on 2 cores. After a compile, this puts the result where prebuild-install looks first — its own
# cache, ~/.npm/_prebuilds/ (the path it prints with --verbose) — so the next `npm ci` on this
# machine installs it in a second. Idempotent; does nothing when the cached file exists.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkg=$ROOT/node_modules/better-sqlite3
built=$pkg/build/Release/better_sqlite3.node
[ -f "$built" ] || exit 0
cached=$(cd "$pkg" && "$ROOT/node_modules/.bin/prebuild-install" --verbose --dry-run 2>&1 |
  sed -n 's/.*looking for cached prebuild @ //p' | head -n 1) || true
[ -n "$cached" ] || exit 0
[ -f "$cached" ] && exit 0
mkdir -p "$(dirname "$cached")"
tmp=$(mktemp "$cached.XXXXXX")
tar -czf "$tmp" -C "$pkg" build/Release/better_sqlite3.node
mv "$tmp" "$cached"
printf '[native-cache] cached better-sqlite3 for the next npm ci: %s\n' "$cached" >&2
