#!/usr/bin/env bash
# Zero-downtime release benchmark: ShipML's deploy targets against what a user would script
# instead, in the same run, with the same examples/digits images (built by ShipML), on
# 127.0.0.1 only.
#
#   npm run bench:rollout                   # = bench/rollout/run.sh; ~3 min
#   BENCH_KUBERNETES=0 bench/rollout/run.sh # Docker scenarios only
#
# Scenarios (each row: requests sent, failed, duration; see README.md):
#   docker: rollout v1 → v2         shipml deploy (2 replicas + HAProxy) | docker rm -f + run |
#                                   docker stop + rm + run (one container, replaced in place)
#   docker: never-ready → rollback  shipml deploy (automatic rollback) | a script that runs the
#                                   new image, waits for /readyz, and runs the old one again
#   kubernetes: rollout v1 → v2     shipml deploy | kubectl apply -f + kubectl rollout status
#   kubernetes: never-ready → rollback
#                                   shipml deploy (automatic rollback) | kubectl apply, rollout
#                                   status (fails), rollout undo, rollout status
# Docker scenarios run under constant load (GET /version and POST /predict in turn, at most
# 60 s each); Kubernetes runs on kwok (no containers), so it is measured at the API level.
#
# Environment:
#   BENCH_RATE            requests/s of the load (default 50)
#   BENCH_DEADLINE        progressDeadlineSeconds of every release (default 15)
#   BENCH_KUBERNETES=0    skip the Kubernetes scenarios
#   BENCH_STEP_TIMEOUT    seconds any set-up step may take (default 600)
#   BENCH_BUILD=1         run `npm run build` first even if dist/ is there
#   BENCH_RESULTS         JSON report path (default bench/rollout/results/latest.json)
#   BENCH_KEEP=1          keep the work directory (logs, rendered manifests, rows.json)
#
# Prints one table on stdout, progress on stderr. Exit status 0 only if every ShipML scenario
# had 0 failed requests, its rollbacks happened, and every scenario ran.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIGITS=$ROOT/examples/digits
CLI=$ROOT/packages/shipml/dist/cli/main.js
TSX=$DIGITS/node_modules/.bin/tsx
# tsx as a loader inside node, not as its CLI: the CLI wraps node in a parent that SIGKILLs it
# when it does not confirm a signal within 30 ms, and the scenarios need SIGTERM to clean up.
TSX_LOADER=$DIGITS/node_modules/tsx/dist/loader.mjs
RATE=${BENCH_RATE:-50}
DEADLINE=${BENCH_DEADLINE:-15}
KUBERNETES=${BENCH_KUBERNETES:-1}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-600}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
SERVICES_ENV=$ROOT/.shipml/services/env
KUBE_ENV=$ROOT/.shipml/kubernetes/env
DOCKER=$(command -v docker || true)

# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

for v in RATE DEADLINE STEP_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done
((RATE <= 500)) || die "BENCH_RATE must be at most 500"
((DEADLINE <= 120)) || die "BENCH_DEADLINE must be at most 120"
[[ $KUBERNETES =~ ^[01]$ ]] || die "BENCH_KUBERNETES must be 0 or 1"

# ---------------------------------------------------------------------------------------
# Cleanup: whatever the run created goes on any exit, including Ctrl-C and timeouts; services
# and the cluster only if this run started them.
WORK=
PREFIX=bench-ro-$((RANDOM % 9000 + 1000))
NAMESPACE=
STARTED_KUBE=0
PULLED=()

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  kill_child # the scenarios remove their own apps on TERM; what follows catches the rest
  if [ -n "$DOCKER" ] && [ -n "$WORK" ]; then
    local ids
    ids=$(timeout 30 "$DOCKER" ps -aq --filter "label=dev.shipml.app=$PREFIX-docker" 2>/dev/null)
    ids+=" $(timeout 30 "$DOCKER" ps -aq --filter "name=^$PREFIX-plain\$" 2>/dev/null)"
    if [ -n "${ids// /}" ]; then
      log "removing leftover containers of this run"
      # shellcheck disable=SC2086
      timeout 120 "$DOCKER" rm -f $ids >/dev/null 2>&1
    fi
    timeout 30 "$DOCKER" network rm "shipml-$PREFIX-docker" >/dev/null 2>&1
    local image
    for image in "${PULLED[@]}"; do timeout 60 "$DOCKER" rmi "$image" >/dev/null 2>&1; done
  fi
  if [ -n "$NAMESPACE" ]; then
    timeout 60 "$KUBECTL" delete namespace "$NAMESPACE" --wait=false >/dev/null 2>&1 ||
      log "warning: could not delete namespace $NAMESPACE"
  fi
  if [ "$STARTED_KUBE" = 1 ]; then
    log "stopping the Kubernetes control plane this run started"
    timeout 120 "$ROOT/scripts/kubernetes.sh" stop || log "warning: scripts/kubernetes.sh stop failed"
  fi
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

# ---------------------------------------------------------------------------------------
# Prerequisites, ShipML, services, cluster.
for tool in node curl python3 timeout; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
[ -n "$DOCKER" ] || die "docker (the client) is not on PATH"
if [ ! -x "$TSX" ] || [ ! -f "$TSX_LOADER" ]; then
  die "tsx is missing in examples/digits: scripts/services.sh install (npm ci there)"
fi

if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -f "$CLI" ] ||
  [ ! -f "$ROOT/packages/shipml/dist/deploy/kubernetes/index.js" ]; then
  log "building ShipML (npm run build)"
  (cd "$ROOT" && bounded npm run build --silent) || die "npm run build failed"
fi

services_answer() {
  [ -f "$SERVICES_ENV" ] || return 1
  (
    # shellcheck disable=SC1090
    . "$SERVICES_ENV"
    [ -n "${SHIPML_TEST_REGISTRY:-}" ] && curl -s -o /dev/null --max-time 5 "http://$SHIPML_TEST_REGISTRY/v2/" &&
      timeout 30 "$DOCKER" info >/dev/null 2>&1
  )
}
ensure_services 'services (registry, Docker Engine)'
# shellcheck disable=SC1090
. "$SERVICES_ENV"
[[ ${SHIPML_TEST_REGISTRY:-} == 127.0.0.1:* ]] || die "SHIPML_TEST_REGISTRY must be on 127.0.0.1, got '${SHIPML_TEST_REGISTRY:-}'"
[ -n "${SHIPML_TEST_BASE_NODE:-}" ] || die "SHIPML_TEST_BASE_NODE is not set in $SERVICES_ENV"
[ -n "${SHIPML_TEST_PROXY_IMAGE:-}" ] || die "SHIPML_TEST_PROXY_IMAGE is not set in $SERVICES_ENV"

kube_answer() {
  [ -f "$KUBE_ENV" ] || return 1
  (
    # shellcheck disable=SC1090
    . "$KUBE_ENV"
    [ -x "${SHIPML_TEST_KUBECTL:-}" ] && timeout 20 "$SHIPML_TEST_KUBECTL" get --raw /readyz >/dev/null 2>&1
  )
}
KUBECTL=
if [ "$KUBERNETES" = 1 ]; then
  if kube_answer; then
    log "reusing the running Kubernetes control plane ($KUBE_ENV)"
  else
    log "starting the Kubernetes control plane (scripts/kubernetes.sh)"
    bounded "$ROOT/scripts/kubernetes.sh" install || die "scripts/kubernetes.sh install failed"
    STARTED_KUBE=1
    bounded "$ROOT/scripts/kubernetes.sh" start || die "scripts/kubernetes.sh start failed"
    kube_answer || die "the Kubernetes control plane started but does not answer"
  fi
  # shellcheck disable=SC1090
  . "$KUBE_ENV"
  KUBECTL=$SHIPML_TEST_KUBECTL
  [[ ${SHIPML_TEST_KUBE_SERVER:-} == https://127.0.0.1:* ]] || die "the test cluster must be on 127.0.0.1, got '${SHIPML_TEST_KUBE_SERVER:-}'"
fi

unset SHIPML_MODEL_STORE HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export CI=true

# ---------------------------------------------------------------------------------------
# The releases: examples/digits built by ShipML with two small models (v1, v2), and a
# never-ready image (a server that answers 503 on /readyz and 200 on everything else).
WORK=$(mktemp -d /tmp/shipml-bench-rollout.XXXXXX)
mkdir -p "$WORK/logs" "$WORK/home"
STORE=file://$WORK/store
REPOSITORY=$SHIPML_TEST_REGISTRY/bench/rollout-digits
shipml() { HOME=$WORK/home bounded node "$CLI" "$@"; }

log "building examples/digits (tsc)"
(cd "$DIGITS" && bounded "$DIGITS/node_modules/.bin/tsc" -p tsconfig.build.json) || die "examples/digits does not build"
for version in 1 2; do
  log "training model v$version (seed $version, 1 epoch, 300 samples) and publishing it"
  (cd "$DIGITS" && bounded "$TSX" train/main.ts --out "$WORK/model-$version" --seed "$version" \
    --epochs 1 --train-limit 300 2>"$WORK/logs/train-$version.log") ||
    die "training failed: $(tail -3 "$WORK/logs/train-$version.log")"
  shipml model publish "$WORK/model-$version" -n digits -v "$version" --store "$STORE" --json \
    >"$WORK/logs/publish-$version.json" || die "shipml model publish failed"
done

NEVER_READY_JS="require('node:http').createServer((q, s) => { s.statusCode = q.url === '/readyz' ? 503 : 200; s.end(JSON.stringify({ status: q.url === '/readyz' ? 'warming up forever' : 'ok' })); }).listen(Number(process.env.PORT || 8080), '0.0.0.0');"
write_config() { # dir cmd-as-json-array
  mkdir -p "$1"
  cat >"$1/shipml.yaml" <<YAML
model:
  name: digits
  store: $STORE
build:
  context: $DIGITS
  base: $SHIPML_TEST_BASE_NODE
  include: [package.json, package-lock.json, dist, public]
  cmd: $2
  env: { HOST: 0.0.0.0, PORT: '8080' }
  user: '1000:1000'
image:
  repository: $REPOSITORY
YAML
}
write_config "$WORK/app" '[node, dist/src/main.js]'
write_config "$WORK/never-ready" "$(node -e 'process.stdout.write(JSON.stringify(["node", "-e", process.argv[1]]))' "$NEVER_READY_JS")"

build() { # name config-dir model-version -> prints the pushed reference (by digest)
  log "shipml build --push: $1"
  (cd "$2" && shipml build --model "digits@$3" --push --tag "$1" --json >"$WORK/logs/build-$1.json") ||
    die "shipml build ($1) failed"
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).reference)' \
    "$WORK/logs/build-$1.json"
}
V1=$(build v1 "$WORK/app" 1)
V2=$(build v2 "$WORK/app" 2)
NEVER_READY=$(build never-ready "$WORK/never-ready" 2)

# Pulled before anything is measured, so no scenario's time includes a pull.
log "docker pull: the three releases and the load balancer image"
for image in "$V1" "$V2" "$NEVER_READY" "$SHIPML_TEST_PROXY_IMAGE"; do
  bounded "$DOCKER" pull -q "$image" >/dev/null || die "docker pull $image failed"
  [ "$image" = "$SHIPML_TEST_PROXY_IMAGE" ] || PULLED+=("$image")
done

if [ "$KUBERNETES" = 1 ]; then
  NAMESPACE=$PREFIX
  timeout 60 "$KUBECTL" create namespace "$NAMESPACE" >/dev/null || die "kubectl create namespace $NAMESPACE failed"
  # Pods are admitted only once the namespace's default ServiceAccount exists.
  for _ in $(seq 100); do
    timeout 10 "$KUBECTL" -n "$NAMESPACE" get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

# ---------------------------------------------------------------------------------------
# The scenarios (rollout.ts), bounded as a whole; on TERM they remove their own apps.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "scenarios: $RATE req/s, progressDeadlineSeconds $DEADLINE, prefix $PREFIX"
rc=0
env BENCH_WORK="$WORK" BENCH_PREFIX="$PREFIX" BENCH_DOCKER="$DOCKER" \
  BENCH_PROXY_IMAGE="$SHIPML_TEST_PROXY_IMAGE" BENCH_V1="$V1" BENCH_V2="$V2" \
  BENCH_NEVER_READY="$NEVER_READY" BENCH_RATE="$RATE" BENCH_DEADLINE="$DEADLINE" \
  BENCH_KUBERNETES="$KUBERNETES" BENCH_KUBECTL="$KUBECTL" BENCH_NAMESPACE="$NAMESPACE" \
  BENCH_NEVER_READY_LABEL="${SHIPML_TEST_KUBE_NEVER_READY_LABEL:-}" \
  timeout 1200 node --import "$TSX_LOADER" "$HERE/rollout.ts" &
CHILD=$!
wait "$CHILD" || rc=$?
CHILD=
((rc == 0)) || log "the scenarios exited with status $rc"
[ -s "$WORK/rows.json" ] || die "the scenarios wrote no results"

{
  echo "git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "git_dirty=$([ -z "$(git -C "$ROOT" status --porcelain -- packages/shipml/src 2>/dev/null)" ] && echo false || echo true)"
  echo "dist_built=$(date -u -r "$ROOT/packages/shipml/dist/index.js" +%Y-%m-%dT%H:%M:%SZ)"
  echo "node=$(node --version)"
  echo "docker_engine=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"
  echo "proxy_image=$SHIPML_TEST_PROXY_IMAGE"
  if [ "$KUBERNETES" = 1 ]; then
    echo "kubernetes=$(timeout 20 "$KUBECTL" version -o json 2>/dev/null |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' 2>/dev/null || echo unknown) + kwok"
  else
    echo "kubernetes=skipped"
  fi
  echo "services_reused=$([ "$STARTED_SERVICES" = 1 ] && echo false || echo true)"
  echo "cluster_reused=$([ "$STARTED_KUBE" = 1 ] && echo false || echo true)"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
  echo "loadavg_start=$LOAD_START"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/meta.txt"

report_rc=0
python3 "$HERE/report.py" "$WORK" "$RESULTS" || report_rc=$?
if [ -x "$ROOT/node_modules/.bin/prettier" ] && [ -f "$RESULTS" ]; then
  timeout 60 "$ROOT/node_modules/.bin/prettier" --write "$RESULTS" >/dev/null 2>&1 || true
fi
((rc == 0 && report_rc == 0)) || exit 1
