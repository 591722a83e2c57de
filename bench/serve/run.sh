#!/usr/bin/env bash
# Serving benchmark for examples/digits (a benchmark, not a test): requests/s and p50/p99 at
# batch size 1 under wrk on 127.0.0.1, for
#   in-process   the same model's session.run rate in one Node process (no HTTP): the limit
#   node         examples/digits (Fastify + onnxruntime-node), one process
#   node x2      examples/digits with WEB_CONCURRENCY=2 (node:cluster, one worker per core)
#   flask        Python Flask + gunicorn (sync workers, one per core) + onnxruntime from PyPI
# all serving the same ONNX model, the same request body, in the same run.
#
#   bench/serve/run.sh
#
# Environment:
#   BENCH_SECONDS        measured seconds per scenario (default 10; each also gets a 2 s warm-up)
#   BENCH_CONNECTIONS    concurrent connections wrk keeps open (default 16)
#   BENCH_WORKERS        processes for "node xN" and gunicorn (default: nproc)
#   BENCH_RESULTS        JSON report path (default bench/serve/results/latest.json)
#   SHIPML_BENCH_CACHE   where the Python venv lives (default ~/.cache/shipml-bench)
#
# Needs: node/npm, python3 with venv, wrk (apt-get install wrk). Prints a table on stdout,
# progress on stderr; exit status 0 when every scenario ran without errors (targets missed
# are reported, not failed).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APP=$ROOT/examples/digits
SECONDS_PER=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WORKERS=${BENCH_WORKERS:-$(nproc)}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
CACHE=${SHIPML_BENCH_CACHE:-$HOME/.cache/shipml-bench}
VENV=$CACHE/serve-venv
PY_DEPS=(flask==3.1.3 gunicorn==27.0.1 onnxruntime==1.31.1 numpy==2.4.6)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for v in SECONDS_PER CONNECTIONS WORKERS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((SECONDS_PER <= 120)) || die "BENCH_SECONDS must be at most 120"
((CONNECTIONS <= 1000)) || die "BENCH_CONNECTIONS must be at most 1000"

WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_ready() { # url seconds
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    ((SECONDS < deadline)) || { log "timed out waiting for $1"; return 1; }
    kill -0 "$SERVER_PID" 2>/dev/null || { log "server exited"; return 1; }
    sleep 0.2
  done
}

# --- set-up ---------------------------------------------------------------------------
command -v wrk >/dev/null || die "wrk is needed: apt-get install -y wrk"
command -v curl >/dev/null || die "curl is needed: apt-get install -y curl"
if [ ! -d "$APP/node_modules/onnxruntime-node" ] || [ "$APP/package-lock.json" -nt "$APP/node_modules/.package-lock.json" ]; then
  log "npm ci in examples/digits"
  (cd "$APP" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund >&2)
fi
log "building examples/digits"
(cd "$APP" && npm run --silent build >&2)
if [ ! -x "$VENV/bin/gunicorn" ] || ! "$VENV/bin/python" -c 'import flask, onnxruntime, numpy' 2>/dev/null; then
  log "creating the Python venv in $VENV (flask, gunicorn, onnxruntime, numpy from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_DEPS[@]}" >&2
fi
MODEL=$WORK/model
log "training the model (seed 42)"
(cd "$APP" && npm run --silent train -- --out "$MODEL" --seed 42 2>"$WORK/train.log") || { cat "$WORK/train.log" >&2; die "training failed"; }
BODY=$WORK/body.json

# --- scenarios ------------------------------------------------------------------------
log "in-process: session.run, batch 1, ${SECONDS_PER} s"
"$APP/node_modules/.bin/tsx" "$HERE/inprocess.ts" --model "$MODEL" --seconds "$SECONDS_PER" \
  --body-out "$BODY" >"$WORK/inprocess.json"

run_wrk() { # name url
  local name=$1 url=$2
  log "$name: warm-up 2 s"
  timeout 30 wrk -t1 -c"$CONNECTIONS" -d2s -s "$HERE/wrk-report.lua" "$url" >/dev/null
  log "$name: wrk -t1 -c$CONNECTIONS -d${SECONDS_PER}s"
  WRK_BODY_FILE=$BODY timeout $((SECONDS_PER + 30)) \
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER}s" --timeout 10s -s "$HERE/wrk-report.lua" "$url" \
    | sed -n 's/^WRK_JSON //p' >"$WORK/$name.json"
  [ -s "$WORK/$name.json" ] || die "$name: wrk printed no summary"
}
export WRK_BODY_FILE=$BODY

start_node() { # workers
  local port
  port=$(free_port)
  (cd "$APP" && exec env HOST=127.0.0.1 PORT="$port" MODEL_PATH="$MODEL" LOG_LEVEL=warn \
    WEB_CONCURRENCY="$1" node dist/src/main.js >"$WORK/node-$1.log" 2>&1) &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$port/readyz" 60
  URL=http://127.0.0.1:$port/predict
}

start_node 1
run_wrk node "$URL"
stop_server

start_node "$WORKERS"
run_wrk node-cluster "$URL"
stop_server

port=$(free_port)
(cd "$HERE" && exec env MODEL_PATH="$MODEL" "$VENV/bin/gunicorn" -w "$WORKERS" -b "127.0.0.1:$port" \
  --log-level warning flask_app:app >"$WORK/flask.log" 2>&1) &
SERVER_PID=$!
wait_ready "http://127.0.0.1:$port/healthz" 60
curl -sf -H 'content-type: application/json' --data-binary @"$BODY" "http://127.0.0.1:$port/predict" >/dev/null \
  || die "flask baseline does not answer /predict"
run_wrk flask "http://127.0.0.1:$port/predict"
stop_server

# --- report ---------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")"
"$VENV/bin/python" "$HERE/report.py" --work "$WORK" --workers "$WORKERS" --connections "$CONNECTIONS" \
  --seconds "$SECONDS_PER" --out "$RESULTS"
