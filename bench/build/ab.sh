#!/usr/bin/env bash
# A/B timing of ShipML's small-change builds: two builds of the CLI (A and B, e.g. before and
# after a change) run `shipml build --push --json` alternately in the same session, each
# against its own app clone, cache and image repository, so that a noisy machine weighs on
# both alike. Prints the median (and min/max) wall clock and CPU time (user + system, git's included)
# of each scenario per build.
#
#   bench/build/ab.sh A_MAIN_JS B_MAIN_JS [ROUNDS]      # default 7 rounds
#
# Scenarios (each round: A then B, or B then A on odd rounds):
#   code     warm cache, one app file edited and committed
#   nothing  warm cache, nothing changed since the previous build
#   fresh    empty cache (fresh CI agent), code-only change
#   fmodel   empty cache, a new model version published (to the store and, as a ModelPack
#            copy, to the registry) since the last build
#
# Needs the services of scripts/services.sh (.shipml/services/env: the base image) and
# docker-registry; starts a private registry of its own. BENCH_MODEL_MIB (default 64).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
A=${1:?usage: ab.sh A_MAIN_JS B_MAIN_JS [ROUNDS]}
B=${2:?usage: ab.sh A_MAIN_JS B_MAIN_JS [ROUNDS]}
ROUNDS=${3:-7}
MODEL_MIB=${BENCH_MODEL_MIB:-64}
STEP_TIMEOUT=120
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck disable=SC1091
. "$ROOT/.shipml/services/env"

unset SHIPML_MODEL_STORE HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy DOCKER_HOST
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost CI=true

WORK=$(mktemp -d /tmp/shipml-ab.XXXXXX)
REGISTRY_PID=
cleanup() {
  set +e
  if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null; wait "$REGISTRY_PID" 2>/dev/null; fi
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
REG=127.0.0.1:$PORT
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
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 "http://$REG/v2/" && break; sleep 0.1; done
BASE=$REG/bench/node:24
bounded node "$A" image copy "$SHIPML_TEST_BASE_NODE" "$BASE" --json >/dev/null || die "base copy failed"
STORE=file://$WORK/store

VERSION=0
publish() {
  VERSION=$((VERSION + 1))
  rm -rf "$WORK/msrc" && mkdir -p "$WORK/msrc"
  head -c "$((MODEL_MIB * 1024 * 1024))" /dev/urandom >"$WORK/msrc/model.bin"
  bounded node "$A" model publish "$WORK/msrc" --name bench --version "$VERSION" --store "$STORE" \
    --registry "$REG/bench/models/bench" --json >/dev/null 2>&1 || die "publish failed"
}

make_app() { # which
  local app=$WORK/app-$1
  mkdir -p "$app/dist"
  printf '{"name":"app","version":"1.0.0","private":true,"main":"dist/server.js"}\n' >"$app/package.json"
  printf '{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0"}}}\n' >"$app/package-lock.json"
  printf "'use strict';\nexports.x = 1;\n" >"$app/dist/model.js"
  printf "'use strict';\nrequire('node:http').createServer((q, s) => s.end('ok')).listen(8080);\n" >"$app/dist/server.js"
  cat >"$app/shipml.yaml" <<YAML
model:
  name: bench
  store: $STORE
build:
  base: $BASE
  cmd: [node, dist/server.js]
image:
  repository: $REG/bench/app-${1,,}
  tags: [latest]
YAML
  git init -q "$app"
  git -C "$app" -c user.name=b -c user.email=b@127.0.0.1 add -A
  git -C "$app" -c user.name=b -c user.email=b@127.0.0.1 -c commit.gpgsign=false commit -qm app
}
CHANGES=0
change() { # which
  CHANGES=$((CHANGES + 1))
  printf '// change %d\n' "$CHANGES" >>"$WORK/app-$1/dist/server.js"
  git -C "$WORK/app-$1" -c user.name=b -c user.email=b@127.0.0.1 -c commit.gpgsign=false commit -qam "c$CHANGES"
}

# run WHICH SCENARIO CACHE: one timed build; its wall clock and CPU seconds (user + system,
# with git's processes) appended to WORK/times-WHICH-SCENARIO and WORK/cpu-WHICH-SCENARIO.
run() {
  local which=$1 scenario=$2 cache=$3 cli t0 t1
  if [ "$which" = A ]; then cli=$A; else cli=$B; fi
  t0=$EPOCHREALTIME
  env -C "$WORK/app-$which" SHIPML_CACHE_DIR="$cache" timeout "$STEP_TIMEOUT" \
    /usr/bin/time -f '%U %S' -o "$WORK/cpu.txt" node "$cli" build --push --json \
    >"$WORK/out-$which-$scenario.json" 2>"$WORK/err-$which-$scenario.log" ||
    die "$which $scenario failed: $(tail -3 "$WORK/err-$which-$scenario.log")"
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$WORK/times-$which-$scenario"
  awk '{ printf "%.3f\n", $1 + $2 }' "$WORK/cpu.txt" >>"$WORK/cpu-$which-$scenario"
}

publish
make_app A
make_app B
run A cold "$WORK/cache-A"
run B cold "$WORK/cache-B"
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order="A B"; else order="B A"; fi
  for w in $order; do change "$w"; run "$w" code "$WORK/cache-$w"; done
  for w in $order; do run "$w" nothing "$WORK/cache-$w"; done
  for w in $order; do rm -rf "$WORK/fresh-$w"; change "$w"; run "$w" fresh "$WORK/fresh-$w"; done
  publish
  for w in $order; do rm -rf "$WORK/fresh-$w"; run "$w" fmodel "$WORK/fresh-$w"; done
  # The warm caches see the new model too (as on a real agent), outside the timed steps.
  for w in $order; do run "$w" warmup "$WORK/cache-$w"; done
  log "round $round done (load $(cut -d' ' -f1 /proc/loadavg))"
done

stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f (%.3f-%.3f)", m, v[1], v[NR] }'; }
printf '%-8s  %-22s  %-22s  %-22s  %-22s\n' scenario "A wall median (min-max)" "B wall" "A cpu" "B cpu"
for s in code nothing fresh fmodel; do
  printf '%-8s  %-22s  %-22s  %-22s  %-22s\n' "$s" "$(stats "$WORK/times-A-$s")" "$(stats "$WORK/times-B-$s")" \
    "$(stats "$WORK/cpu-A-$s")" "$(stats "$WORK/cpu-B-$s")"
done
if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; fi
