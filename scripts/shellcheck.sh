#!/usr/bin/env bash
# The shell half of `npm run lint`: every *.sh under scripts/ and bench/, and .ci/run (bash
# without an extension), through shellcheck at its default severity (style and up).
# -x with source-path SCRIPTDIR follows `. "$HERE/../lib.sh"` (given `# shellcheck source=`),
# so a variable set in one file and read in the other is not reported as unused.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! command -v shellcheck >/dev/null; then
  echo "lint: shellcheck is not installed (Debian/Ubuntu: apt-get install -y shellcheck; scripts/services.sh install installs it)" >&2
  exit 1
fi

files=(.ci/run)
while IFS= read -r -d '' file; do files+=("$file"); done < <(
  find scripts bench -name node_modules -prune -o -type f -name '*.sh' -print0 | sort -z
)
shellcheck -x --source-path=SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
