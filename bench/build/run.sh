#!/usr/bin/env bash
# Image build + push benchmark: ShipML's daemonless `shipml build --push` against
# `docker build` (BuildKit) + `docker push`, in the same run, with the same Node.js app, the
# same random model, the same base image and the same registry, on 127.0.0.1 only.
#
#   bench/build/run.sh                         # 1 GiB model
#   BENCH_MODEL_MIB=64 bench/build/run.sh      # quick mode
#
# Scenarios (each for both tools, in this order):
#   1 cold      empty caches: new SHIPML_CACHE_DIR; `docker builder prune -af`, no images
#   2 code      one app file edited and committed
#   3 model     a new model version published (new random bytes) and built in
#   4 nothing   nothing changed since the last build
#   5 fresh     fresh CI agent, code-only change: new SHIPML_CACHE_DIR; for Docker the run's
#               images removed, `docker builder prune -af`, and a fresh build context; the
#               model is pulled anew from the model store by Docker (ShipML mounts it)
#   6 fresh-model  fresh CI agent, model-only change: as 5, with a new model version instead
#
# Models are published with --registry (the ModelPack copy): that is when their bytes reach
# the registry, once; the publish is not part of any build's time.
#
# Environment:
#   BENCH_MODEL_MIB     model size in MiB (default 1024)
#   BENCH_STEP_TIMEOUT  seconds any single step may take (default 600)
#   BENCH_BUILD=1       run `npm run build` first even if dist/ exists
#   BENCH_RESULTS       JSON report path (default bench/build/results/latest.json)
#   BENCH_DOCKER        docker client to use (default: one that can do BuildKit builds)
#   BENCH_KEEP=1        keep the work directory (logs, events, manifests) for inspection
#
# Prints one table on stdout, progress on stderr. Exit status 0 only if every step succeeded.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODEL_MIB=${BENCH_MODEL_MIB:-1024}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-600}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
CLI=$ROOT/packages/shipml/dist/cli/main.js
SERVICES_ENV=$ROOT/.shipml/services/env
MODEL=bench

# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

[[ $MODEL_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_MODEL_MIB must be a positive integer, got '$MODEL_MIB'"
[[ $STEP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_STEP_TIMEOUT must be a positive integer, got '$STEP_TIMEOUT'"

# ---------------------------------------------------------------------------------------
# Cleanup: whatever the run created is removed on any exit, including Ctrl-C and timeouts.
WORK=
REGISTRY_PID=
EVENTS_PID=
DOCKER=
DOCKER_TOUCHED=0  # 1 once this run has built with Docker (or pruned its build cache)


stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

remove_docker_images() {
  [ -n "$WORK" ] && [ -s "$WORK/docker-images" ] || return 0
  local id ids
  mapfile -t ids < <(sort -u "$WORK/docker-images")
  for id in "${ids[@]}"; do
    timeout 120 "$DOCKER" rmi "$id" >/dev/null 2>&1 || true
  done
  : >"$WORK/docker-images"
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  kill_child
  if [ "$DOCKER_TOUCHED" = 1 ]; then
    log "removing the Docker images this run built and the BuildKit cache"
    remove_docker_images
    timeout 300 "$DOCKER" builder prune -af >/dev/null 2>&1 || log "warning: docker builder prune failed"
  fi
  stop_pid "$REGISTRY_PID"
  stop_pid "$EVENTS_PID"
  if [ "$STARTED_SERVICES" = 1 ]; then
    log "stopping the services this run started"
    timeout 120 "$ROOT/scripts/services.sh" stop || log "warning: scripts/services.sh stop failed"
  fi
  if [ -n "$WORK" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK (BENCH_KEEP=1)"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# timed OUT ERR CMD...: runs CMD bounded by STEP_TIMEOUT with stdout to OUT and stderr to
# ERR ('-': to OUT too); sets SECS (wall clock, whole command) and RC.
SECS=0
RC=0
timed() {
  local out=$1 err=$2 t0 t1
  shift 2
  RC=0
  t0=$EPOCHREALTIME
  if [ "$err" = - ]; then
    timeout "$STEP_TIMEOUT" "$@" >"$out" 2>&1 &
  else
    timeout "$STEP_TIMEOUT" "$@" >"$out" 2>"$err" &
  fi
  CHILD=$!
  wait "$CHILD" || RC=$?
  t1=$EPOCHREALTIME
  CHILD=
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  if ((RC == 124)); then log "  timed out after ${STEP_TIMEOUT}s: $*"; fi
  if ((RC != 0 && RC != 124)); then
    log "  failed (exit $RC): $*; last lines of its output:"
    { tail -n 15 "$out"; [ "$err" = - ] || tail -n 15 "$err"; } 2>/dev/null | sed 's/^/    /' >&2
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -s -o /dev/null --max-time 2 "$url"; do
    ((SECONDS <= deadline)) || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------
# Prerequisites.
for tool in node curl python3 git docker-registry timeout; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH (docker-registry: apt-get install docker-registry)"
done

# A docker client that can build with BuildKit: newer clients need the buildx plugin; clients
# before 23.0 have BuildKit built in (DOCKER_BUILDKIT=1).
pick_docker() {
  local c major
  for c in ${BENCH_DOCKER:-} "$(command -v docker || true)" /usr/bin/docker /usr/local/bin/docker; do
    if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
    if [ -n "${BENCH_DOCKER:-}" ] || "$c" buildx version >/dev/null 2>&1; then echo "$c"; return 0; fi
    major=$("$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true)
    if [[ $major =~ ^[0-9]+$ ]] && ((major < 23)); then echo "$c"; return 0; fi
  done
  return 1
}

if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -f "$CLI" ]; then
  log "building ShipML (npm run build)"
  (cd "$ROOT" && bounded npm run build --silent) || die "npm run build failed"
fi

# ---------------------------------------------------------------------------------------
# Services: reuse running ones (and leave them running), else start them and stop them at exit.
services_answer() {
  [ -f "$SERVICES_ENV" ] || return 1
  (
    # shellcheck disable=SC1090
    . "$SERVICES_ENV"
    [ -n "${SHIPML_TEST_REGISTRY:-}" ] && curl -s -o /dev/null --max-time 5 "http://$SHIPML_TEST_REGISTRY/v2/"
  )
}
ensure_services 'services'
# shellcheck disable=SC1090
. "$SERVICES_ENV"
[[ ${SHIPML_TEST_REGISTRY:-} == 127.0.0.1:* ]] || die "SHIPML_TEST_REGISTRY must be on 127.0.0.1, got '${SHIPML_TEST_REGISTRY:-}'"
[[ ${SHIPML_TEST_BASE_NODE:-} == 127.0.0.1:* ]] || die "SHIPML_TEST_BASE_NODE must be on 127.0.0.1, got '${SHIPML_TEST_BASE_NODE:-}'"

DOCKER=$(pick_docker) || die "no docker client that builds with BuildKit (install the buildx plugin, or set BENCH_DOCKER)"
timeout 60 "$DOCKER" info >/dev/null 2>&1 || die "the Docker Engine does not answer ($DOCKER info)"
log "docker client $DOCKER ($("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null)), engine $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"

unset SHIPML_MODEL_STORE HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy DOCKER_HOST
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export CI=true

# ---------------------------------------------------------------------------------------
# Work area: model store, app, Docker build context, ShipML caches, a private registry.
WORK=$(mktemp -d /tmp/shipml-bench-build.XXXXXX)
mkdir -p "$WORK/steps" "$WORK/logs"
: >"$WORK/docker-images"
STORE_URL=file://$WORK/store
APP=$WORK/app
DCTX=$WORK/docker-ctx
cd "$WORK" # no shipml.yaml up the tree from here

# The registry both tools push to: a CNCF distribution instance of our own, so that its
# notifications give a registry-side count of every blob each client uploads (and so that
# gigabytes of model layers do not pile up in the shared test registry).
EVENTS=$WORK/registry-events.jsonl
: >"$EVENTS"
python3 "$HERE/registry_events.py" "$EVENTS" "$WORK/events.port" 2>"$WORK/logs/events.log" &
EVENTS_PID=$!
for _ in $(seq 100); do [ -s "$WORK/events.port" ] && break; sleep 0.1; done
[ -s "$WORK/events.port" ] || die "the registry event receiver did not start: $(tail -3 "$WORK/logs/events.log")"
EVENTS_PORT=$(cat "$WORK/events.port")
REG_PORT=$(free_port)
REG=127.0.0.1:$REG_PORT
cat >"$WORK/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $REG
  secret: bench-$RANDOM$RANDOM
notifications:
  endpoints:
    - name: bench
      url: http://127.0.0.1:$EVENTS_PORT/events
      timeout: 5s
      threshold: 3
      backoff: 1s
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/logs/registry.log" 2>&1 &
REGISTRY_PID=$!
wait_http "http://$REG/v2/" 30 || die "the benchmark registry did not start: $(tail -3 "$WORK/logs/registry.log")"
log "benchmark registry on $REG"

# The base image, copied into that registry: both tools pull it from there and mount its
# layers into their own repositories.
BASE=$REG/bench/node:24
bounded node "$CLI" image copy "$SHIPML_TEST_BASE_NODE" "$BASE" --json >"$WORK/logs/base-copy.json" ||
  die "could not copy $SHIPML_TEST_BASE_NODE to $BASE"
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json'
fetch_manifest() { # repo:tag out
  curl -sf --max-time 30 -H "Accept: $ACCEPT" "http://$REG/v2/${1%:*}/manifests/${1##*:}" >"$2" || echo '{}' >"$2"
}
fetch_manifest bench/node:24 "$WORK/base-manifest.json"

SHIPML_IMAGE=$REG/bench/shipml-app
DOCKER_IMAGE=$REG/bench/docker-app:latest

# publish_model VERSION: new random bytes, published to the store (moves channel latest).
publish_model() {
  local version=$1 src=$WORK/model-src
  rm -rf "$src" && mkdir -p "$src"
  log "model $MODEL@$version: writing $MODEL_MIB MiB of random bytes and publishing it"
  bounded head -c "$((MODEL_MIB * 1024 * 1024))" /dev/urandom >"$src/model.bin" || die "could not write the model"
  # --registry: the model's layer reaches the registry once, here; builds mount it from there.
  bounded node "$CLI" model publish "$src" --name "$MODEL" --version "$version" --store "$STORE_URL" \
    --registry "$REG/bench/models/$MODEL" --json \
    >"$WORK/logs/publish-$version.json" || die "shipml model publish failed"
  rm -rf "$src"
}

# The app: a small Node.js HTTP server, no dependencies, in its own git repository.
git_app() { git -C "$APP" -c user.name=bench -c user.email=bench@127.0.0.1 -c commit.gpgsign=false "$@"; }
make_app() {
  mkdir -p "$APP/dist"
  cat >"$APP/package.json" <<'JSON'
{
  "name": "app",
  "version": "1.0.0",
  "private": true,
  "main": "dist/server.js"
}
JSON
  cat >"$APP/package-lock.json" <<'JSON'
{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0"
    }
  }
}
JSON
  cat >"$APP/dist/model.js" <<'JS'
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = process.env.MODEL_DIR || '/models/bench';
exports.describe = () => {
  const files = fs.existsSync(root) ? fs.readdirSync(root) : [];
  return files.map((f) => ({ file: f, bytes: fs.statSync(path.join(root, f)).size }));
};
JS
  cat >"$APP/dist/server.js" <<'JS'
'use strict';
const http = require('node:http');
const { describe } = require('./model.js');

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok\n');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ model: describe() }) + '\n');
});
server.listen(Number(process.env.PORT || 8080));
JS
  cat >"$APP/shipml.yaml" <<YAML
model:
  name: $MODEL
  store: $STORE_URL
build:
  base: $BASE
  cmd: [node, dist/server.js]
image:
  repository: $SHIPML_IMAGE
  tags: [latest]
YAML
  git init -q "$APP"
  git_app add -A
  git_app commit -qm "app"
}
CODE_CHANGES=0
change_code() {
  CODE_CHANGES=$((CODE_CHANGES + 1))
  printf '// change %d\n' "$CODE_CHANGES" >>"$APP/dist/server.js"
  git_app commit -qam "change $CODE_CHANGES"
}

# The Docker build context: the model in model/, the app's files in app/ (what a checkout
# plus a model download would give a Docker-based pipeline).
make_docker_ctx() {
  mkdir -p "$DCTX/model"
  cat >"$DCTX/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY model /models/$MODEL
COPY app /app
WORKDIR /app
CMD ["node", "dist/server.js"]
DOCKERFILE
}
sync_docker_app() {
  rm -rf "$DCTX/app" && mkdir -p "$DCTX/app"
  cp -a "$APP/package.json" "$APP/package-lock.json" "$APP/dist" "$DCTX/app/"
}

# ---------------------------------------------------------------------------------------
# Measured steps. Each leaves STEP_DIR/step.txt (key=value), the tool's output, the pushed
# manifest, its start and end time (to pick its registry events by their timestamps) and
# the range of lines the event log grew by meanwhile.
FAILURES=0
put() { printf '%s=%s\n' "$2" "$3" >>"$1/step.txt"; }

# Waits until the registry has delivered its notifications (the file stops growing), then
# prints how many envelopes the file holds.
events_mark() {
  local prev=-1 cur stable=0
  for _ in $(seq 100); do
    cur=$(wc -c <"$EVENTS")
    if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
    ((stable < 3)) || break
    prev=$cur
    sleep 0.1
  done
  wc -l <"$EVENTS" | tr -d ' '
}

shipml_step() { # scenario cache-dir
  local scenario=$1 cache=$2 d=$WORK/steps/$1-shipml status=ok
  mkdir -p "$d"
  log "$scenario: shipml build --push"
  put "$d" events_from "$(events_mark)"
  put "$d" t_start "$EPOCHREALTIME"
  timed "$d/out.json" "$d/err.log" env -C "$APP" SHIPML_CACHE_DIR="$cache" node "$CLI" build --push --json
  put "$d" t_end "$EPOCHREALTIME"
  ((RC == 0)) || { status=failed; ((RC != 124)) || status=timeout; FAILURES=$((FAILURES + 1)); }
  put "$d" seconds "$SECS"
  put "$d" status "$status"
  put "$d" exit "$RC"
  put "$d" events_to "$(events_mark)"
  fetch_manifest bench/shipml-app:latest "$d/manifest.json"
  log "  $SECS s ($status)"
}

docker_step() { # scenario fetch-model(0|1)
  local scenario=$1 fetch=$2 d=$WORK/steps/$1-docker status=ok total=0
  mkdir -p "$d"
  put "$d" events_from "$(events_mark)"
  put "$d" t_start "$EPOCHREALTIME"
  if [ "$fetch" = 1 ]; then
    log "$scenario: model into the build context (shipml model pull --no-cache)"
    rm -rf "$DCTX/model"
    timed "$d/fetch.json" "$d/fetch.log" node "$CLI" model pull --no-cache "$MODEL:latest" "$DCTX/model" --store "$STORE_URL" --json
    put "$d" fetch_seconds "$SECS"
    total=$SECS
    ((RC == 0)) || status=failed
  fi
  if [ "$status" = ok ]; then
    log "$scenario: docker build (BuildKit)"
    DOCKER_TOUCHED=1
    timed "$d/build.log" - env DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -t "$DOCKER_IMAGE" "$DCTX"
    put "$d" build_seconds "$SECS"
    total=$(awk -v a="$total" -v b="$SECS" 'BEGIN { printf "%.3f", a + b }')
    "$DOCKER" image inspect -f '{{.Id}}' "$DOCKER_IMAGE" >>"$WORK/docker-images" 2>/dev/null || true
    ((RC == 0)) || status=failed
  fi
  if [ "$status" = ok ]; then
    log "$scenario: docker push"
    timed "$d/push.log" - "$DOCKER" push "$DOCKER_IMAGE"
    put "$d" push_seconds "$SECS"
    total=$(awk -v a="$total" -v b="$SECS" 'BEGIN { printf "%.3f", a + b }')
    ((RC == 0)) || status=failed
  fi
  put "$d" t_end "$EPOCHREALTIME"
  ((RC != 124)) || status=timeout
  [ "$status" = ok ] || FAILURES=$((FAILURES + 1))
  put "$d" seconds "$total"
  put "$d" status "$status"
  put "$d" exit "$RC"
  put "$d" events_to "$(events_mark)"
  fetch_manifest bench/docker-app:latest "$d/manifest.json"
  log "  $total s ($status)"
}

# A fresh CI agent for Docker: none of this run's images, an empty BuildKit cache (so the
# base image is pulled again), a new build context.
docker_fresh_agent() {
  DOCKER_TOUCHED=1
  remove_docker_images
  bounded "$DOCKER" builder prune -af >/dev/null || die "docker builder prune -af failed"
  rm -rf "$DCTX"
  make_docker_ctx
  sync_docker_app
}

# ---------------------------------------------------------------------------------------
# The run.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
make_app
publish_model 1

# 1: cold. Empty ShipML cache; for Docker an empty BuildKit cache and no images (the
# registry is new, so no image of this run exists yet). Both pull the model from the store.
docker_fresh_agent
shipml_step 1-cold "$WORK/shipml-cache-a"
docker_step 1-cold 1

# 2: code-only change.
change_code
sync_docker_app
shipml_step 2-code "$WORK/shipml-cache-a"
docker_step 2-code 0

# 3: model-only change: a new version moves channel latest; both pull it.
publish_model 2
shipml_step 3-model "$WORK/shipml-cache-a"
docker_step 3-model 1

# 4: nothing changed.
shipml_step 4-nothing "$WORK/shipml-cache-a"
docker_step 4-nothing 0

# 5: fresh CI agent, code-only change.
rm -rf "$WORK/shipml-cache-a"
change_code
docker_fresh_agent
shipml_step 5-fresh "$WORK/shipml-cache-b"
docker_step 5-fresh 1

# 6: fresh CI agent, model-only change: ShipML should neither download nor send the model.
rm -rf "$WORK/shipml-cache-b"
publish_model 3
docker_fresh_agent
shipml_step 6-fresh-model "$WORK/shipml-cache-c"
put "$WORK/steps/6-fresh-model-shipml" model_downloaded "$([ -n "$(ls -A "$WORK/shipml-cache-c/model-dirs" 2>/dev/null)" ] && echo true || echo false)"
docker_step 6-fresh-model 1

# ---------------------------------------------------------------------------------------
# Context for reading the numbers, then the report.
# startup CMD...: median wall clock of 3 runs of a command that transfers nothing.
startup() {
  local t0 t1 samples=()
  for _ in 1 2 3; do
    t0=$EPOCHREALTIME
    timeout 60 "$@" >/dev/null 2>&1 || { echo null; return; }
    t1=$EPOCHREALTIME
    samples+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${samples[@]}" | sort -n | sed -n 2p
}
SDKS="await import('@aws-sdk/client-s3'); await import('@azure/storage-blob')"
{
  echo "model_mib=$MODEL_MIB"
  echo "step_timeout=$STEP_TIMEOUT"
  echo "registry=$REG"
  echo "base=$BASE"
  echo "base_source=$SHIPML_TEST_BASE_NODE"
  echo "services_reused=$([ "$STARTED_SERVICES" = 1 ] && echo false || echo true)"
  echo "startup_shipml=$(startup node "$CLI" --version)"
  echo "startup_node=$(startup node -e 0)"
  echo "startup_sdks=$(startup env -C "$ROOT/packages/shipml" node --input-type=module -e "$SDKS")"
  echo "startup_docker=$(startup "$DOCKER" version)"
  echo "shipml_version=$(node -p "require('$ROOT/packages/shipml/package.json').version")"
  echo "git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "git_dirty=$([ -z "$(git -C "$ROOT" status --porcelain -- packages/shipml/src 2>/dev/null)" ] && echo false || echo true)"
  echo "dist_built=$(date -u -r "$CLI" +%Y-%m-%dT%H:%M:%SZ)"
  echo "node=$(node --version)"
  echo "docker_client=$DOCKER $("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null)"
  echo "docker_engine=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"
  echo "docker_storage=$("$DOCKER" info --format '{{.Driver}}' 2>/dev/null)"
  echo "registry_version=$(docker-registry --version 2>/dev/null | awk '{ print $NF }')"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
  echo "mem_mib=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo 2>/dev/null || echo 0)"
  echo "kernel=$(uname -r)"
  echo "loadavg_start=$LOAD_START"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/meta.txt"

report_rc=0
python3 "$HERE/report.py" "$WORK" "$RESULTS" || report_rc=$?
# In the repository's own style, so that `prettier --check .` stays clean.
if [ -x "$ROOT/node_modules/.bin/prettier" ] && [ -f "$RESULTS" ]; then
  timeout 60 "$ROOT/node_modules/.bin/prettier" --write "$RESULTS" >/dev/null 2>&1 || true
fi
if ((FAILURES > 0 || report_rc != 0)); then
  log "$FAILURES step(s) failed; see the table"
  exit 1
fi
