#!/usr/bin/env bash
# What a command costs on each command runner (issue 13): the host runner, the container
# runner and `docker run --rm` with the same isolation flags, N times each (median, p90).
#
#   bash bench/runners/run.sh          # BENCH_RUNS=15
#
# Needs the Docker Engine and the test base image
# (scripts/services.sh start). It starts nothing else and leaves no container behind.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -f "$ROOT/.shipml/services/env" ] || { echo "[bench] the test services are not running (scripts/services.sh start)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$ROOT/.shipml/services/env"
TSX_LOADER=$ROOT/examples/digits/node_modules/tsx/dist/loader.mjs
[ -f "$TSX_LOADER" ] || { echo "[bench] tsx is missing in examples/digits (scripts/services.sh install)" >&2; exit 1; }
exec node --import "$TSX_LOADER" "$HERE/overhead.ts"
