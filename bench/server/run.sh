#!/usr/bin/env bash
# The pipeline service's benchmarks (issue 11, "Measure"), on 127.0.0.1 only, against the
# test services (registry, base image, PostgreSQL) that scripts/services.sh starts:
#
#   bash bench/server/run.sh                          # everything, ~6 min
#   BENCH_SCENARIOS=ingest bash bench/server/run.sh   # one group: latency,burst,model,ingest,workers
#
# Scenarios (each row: result, goal, met):
#   latency   webhook → run claimed, p50/p99, SQLite and PostgreSQL      goal p99 ≤ 200 ms
#   burst     100 signed pushes in one second → builds, SQLite and PostgreSQL   goal ≤ 2
#   model     model publish → run started (model watch, file:// store)   goal ≤ interval + 1 s
#   ingest    webhook ingestion with autocannon, SQLite and PostgreSQL, one branch (every
#             delivery coalesces) and many branches (each queues a run)  goal ≥ 1,000/s, p99 ≤ 50 ms,
#                                                                         every 202 stored
#   workers   3 `shipml worker`s, 200 runs, one SIGKILLed every 4 s      goal lost 0, doubled 0
#
# Environment: BENCH_SAMPLES (latency samples, 100), BENCH_INGEST_SECONDS (10),
# BENCH_CONNECTIONS (10), BENCH_RUNS (200), BENCH_KILL_EVERY (4), BENCH_WATCH_INTERVAL (2),
# BENCH_BUILD=1 (npm run build first; the workers scenario runs dist/cli/main.js),
# BENCH_RESULTS (JSON, default bench/server/results/latest.json), BENCH_TIMEOUT (s, 1800).
#
# Everything it starts (in-process services, worker processes, databases, temp dirs) it stops
# and removes itself; the shared services are reused, never started or stopped here.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVICES_ENV=$ROOT/.shipml/services/env
TSX_LOADER=$ROOT/examples/digits/node_modules/tsx/dist/loader.mjs
CLI=$ROOT/packages/shipml/dist/cli/main.js
export BENCH_RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
TIMEOUT=${BENCH_TIMEOUT:-1800}
log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -f "$SERVICES_ENV" ] || die "$SERVICES_ENV is missing: the test services are not running (scripts/services.sh start)"
[ -f "$TSX_LOADER" ] || die "tsx is missing in examples/digits: scripts/services.sh install (npm ci there)"
# shellcheck disable=SC1090
. "$SERVICES_ENV"
[ -n "${SHIPML_TEST_POSTGRES_URL:-}" ] || die "SHIPML_TEST_POSTGRES_URL is not set in $SERVICES_ENV"
if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -f "$CLI" ]; then
  log "building ShipML (npm run build)"
  (cd "$ROOT/packages/shipml" && timeout 600 npm run build --silent) || die "npm run build failed"
fi

CHILD=
# shellcheck disable=SC2317 # called by the trap below
cleanup() { [ -z "$CHILD" ] || kill -TERM "$CHILD" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log "node $(node --version), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$ROOT/packages/shipml" # the service resolves its packages (better-sqlite3, pg) from here
timeout "$TIMEOUT" node --import "$TSX_LOADER" "$HERE/bench.ts" &
CHILD=$!
rc=0
wait "$CHILD" || rc=$?
CHILD=
exit "$rc"
