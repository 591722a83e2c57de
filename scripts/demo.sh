#!/usr/bin/env bash
# The README's main job on a fresh Debian/Ubuntu machine: installs what `shipml demo` needs
# (idempotently; apt needs root), then runs it. Everything it starts listens on 127.0.0.1.
#   - npm dependencies (the repo and examples/digits, the latter in parallel with what follows)
#   - apt: docker.io (the Docker Engine), docker-registry (the demo's private registry),
#     debootstrap (base images: no Docker Hub needed)
#   - the Docker Engine, started if none answers (it keeps running: the demo app lives in it)
#   - base images node:24 and haproxy:2.6 (scripts/base-images.sh, cached in ~/.cache/shipml-ci,
#     built while the demo trains its first model; the proxy then loaded into the Docker
#     Engine as shipml/haproxy:2.6)
# Arguments go to `shipml demo` (e.g. --port 8081, --stop).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '[demo] %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi
# digits' install runs alongside the rest (apt, dockerd, base images); the demo only trains with
# it (the server builds the app itself, from a clean checkout, with these node_modules cached).
digits=
if [ ! -f examples/digits/node_modules/.package-lock.json ] || [ examples/digits/package-lock.json -nt examples/digits/node_modules/.package-lock.json ]; then
  log "npm ci (examples/digits, in the background)"
  (cd examples/digits && ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefer-offline --no-audit --no-fund --loglevel=error) &
  digits=$!
fi
[ -f packages/shipml/dist/cli/main.js ] || npm run build --workspaces --if-present

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "needs root to apt-get install ${missing[*]} (or install them yourself)"; exit 1; }
  log "apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { log "no Docker Engine answers; start one (e.g. sudo systemctl start docker)"; exit 1; }
  mkdir -p /etc/docker "$ROOT/.shipml/demo"
  # Containers need the nofile ulimit on hosts without CAP_SYS_RESOURCE (see ENVIRONMENT.md).
  [ -f /etc/docker/daemon.json ] ||
    echo '{"default-ulimits":{"nofile":{"Name":"nofile","Soft":1024,"Hard":1024}}}' >/etc/docker/daemon.json
  log "starting dockerd (log: .shipml/demo/dockerd.log; it keeps running for the demo app)"
  nohup dockerd >"$ROOT/.shipml/demo/dockerd.log" 2>&1 &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start: $(tail -3 "$ROOT/.shipml/demo/dockerd.log")"; exit 1; }
fi

# Only the images the demo uses (not python), built when missing, alongside the demo: it
# trains its first model meanwhile and waits for them before it pushes them. Then the proxy
# goes into the engine too, so `shipml deploy` with the default proxy image works after
# (`scripts/base-images.sh load` puts the others there).
scripts/base-images.sh build node haproxy &
images=$!
(tail --pid="$images" -f /dev/null && scripts/base-images.sh load haproxy) &
loaded=$!
if [ -n "$digits" ] && ! wait "$digits"; then
  log "npm ci in examples/digits failed (its output is above)"
  exit 1
fi
status=0
node packages/shipml/dist/cli/main.js demo --wait-for-base-images "$images" "$@" || status=$?
wait "$images" || status=1
wait "$loaded" || status=1
exit "$status"
