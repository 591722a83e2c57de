#!/usr/bin/env bash
# Installs, starts and stops the real servers ShipML's tests run against, on 127.0.0.1:
# MinIO (S3), Azurite (Azure Blob) and three OCI registries (plain, basic auth, TLS).
#
#   scripts/services.sh install   # idempotent: npm ci, MinIO and Azurite installed once into the cache
#   scripts/services.sh start     # start everything; writes .shipml/services/env
#   scripts/services.sh stop      # stop what start started (by PID), remove its data
#
# Expensive builds are cached in $SHIPML_CI_CACHE (default ~/.cache/shipml-ci), so only the
# first run on a machine pays for them. Later issues add services here (registry, Docker
# engine, Kubernetes API server).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SHIPML_CI_CACHE:-$HOME/.cache/shipml-ci}
STATE=$ROOT/.shipml/services
# MinIO publishes no tagged Go module versions; pin the commit we verified (2026-02-12).
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN=$CACHE/bin/minio-20260212201848
# Azurite is installed from its own lockfile (scripts/azurite/), keyed by that lockfile.
AZURITE_DIR=$CACHE/azurite-$(sha256sum "$ROOT/scripts/azurite/package-lock.json" | cut -c1-12)
# Test-only credentials for servers bound to 127.0.0.1 for the duration of a test run.
MINIO_USER=shipml-test
MINIO_PASSWORD=shipml-test-secret-$RANDOM$RANDOM
# Azurite's well-known development account (documented by Microsoft; not a secret).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { printf '[services] %s\n' "$*" >&2; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$url"; do
    if ((SECONDS > deadline)); then log "timed out waiting for $url"; return 1; fi
    sleep 0.2
  done
}

# Azurite from its own lockfile, into the cache (idempotent; start calls it too).
install_azurite() {
  [ ! -f "$AZURITE_DIR/node_modules/azurite/package.json" ] || return 0
  log "npm ci (Azurite, into $AZURITE_DIR)"
  rm -rf "$AZURITE_DIR.partial" && mkdir -p "$AZURITE_DIR.partial"
  cp "$ROOT/scripts/azurite/package.json" "$ROOT/scripts/azurite/package-lock.json" "$AZURITE_DIR.partial/"
  (cd "$AZURITE_DIR.partial" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  rm -rf "$AZURITE_DIR" && mv "$AZURITE_DIR.partial" "$AZURITE_DIR"
}

install() {
  if [ ! -x "$ROOT/node_modules/.bin/tsc" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "npm ci"
    (cd "$ROOT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
  fi
  install_azurite
  local digits=$ROOT/examples/digits
  if [ ! -d "$digits/node_modules" ] || [ "$digits/package-lock.json" -nt "$digits/node_modules/.package-lock.json" ]; then
    log "npm ci (examples/digits)"
    (cd "$digits" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
  fi
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v umoci >/dev/null || missing+=(umoci)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v podman >/dev/null || missing+=(podman runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v chromium >/dev/null || missing+=(chromium) # examples/digits browser test
  command -v shellcheck >/dev/null || missing+=(shellcheck) # npm run lint (scripts/shellcheck.sh)
  command -v strace >/dev/null || missing+=(strace) # counts how often publish opens a model file
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  if [ ! -x "$MINIO_BIN" ]; then
    command -v go >/dev/null || { log "Go is needed to build MinIO: apt-get install golang-go"; exit 1; }
    log "building MinIO from the Go module proxy (first run only, ~4 min)"
    local gobin
    gobin=$(mktemp -d)
    GOBIN=$gobin GOFLAGS=-mod=mod go install "$MINIO_MODULE"
    mkdir -p "$(dirname "$MINIO_BIN")"
    mv "$gobin/minio" "$MINIO_BIN"
    rm -rf "$gobin"
  fi
  # podman: crun fails on these hosts (hybrid cgroups) and containers need the nofile ulimit.
  if [ ! -f /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n\n[engine]\nruntime = "runc"\n' >/etc/containers/containers.conf
  fi
  "$ROOT/scripts/postgres.sh" install # the service store's PostgreSQL back end
  "$ROOT/scripts/attest-tools.sh" install # cosign, oras, a CycloneDX validator (signing tests)
  "$ROOT/scripts/base-images.sh" build
}

start() {
  stop_quietly
  mkdir -p "$STATE"
  local minio_port console_port azurite_port
  minio_port=$(free_port); console_port=$(free_port); azurite_port=$(free_port)

  mkdir -p "$STATE/minio-data"
  MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_BROWSER=off \
    "$MINIO_BIN" server --quiet --address "127.0.0.1:$minio_port" --console-address "127.0.0.1:$console_port" \
    "$STATE/minio-data" >"$STATE/minio.log" 2>&1 &
  echo $! >"$STATE/minio.pid"

  install_azurite
  mkdir -p "$STATE/azurite-data"
  node "$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort "$azurite_port" \
    --location "$STATE/azurite-data" --skipApiVersionCheck --disableTelemetry --silent --loose \
    >"$STATE/azurite.log" 2>&1 &
  echo $! >"$STATE/azurite.pid"

  DOCKER_TLS_ENV=''
  start_registries
  start_docker

  wait_http "http://127.0.0.1:$minio_port/minio/health/live" 60
  wait_http "http://127.0.0.1:$azurite_port/" 60
  cat >"$STATE/env" <<ENV
export SHIPML_TEST_S3_ENDPOINT=http://127.0.0.1:$minio_port
export SHIPML_TEST_S3_ACCESS_KEY=$MINIO_USER
export SHIPML_TEST_S3_SECRET_KEY=$MINIO_PASSWORD
export SHIPML_TEST_AZURITE_ENDPOINT=http://127.0.0.1:$azurite_port/$AZURITE_ACCOUNT
export SHIPML_TEST_AZURITE_ACCOUNT=$AZURITE_ACCOUNT
export SHIPML_TEST_AZURITE_KEY='$AZURITE_KEY'
export SHIPML_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
export SHIPML_TEST_REGISTRY_AUTH=127.0.0.1:$REGISTRY_AUTH_PORT
export SHIPML_TEST_REGISTRY_TLS=127.0.0.1:$REGISTRY_TLS_PORT
export SHIPML_TEST_REGISTRY_USER=$REGISTRY_USER
export SHIPML_TEST_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
export SHIPML_TEST_REGISTRY_CA=$STATE/registry-tls/ca.pem
export SHIPML_TEST_REGISTRY_TOKEN=127.0.0.1:$REGISTRY_TOKEN_PORT
export SHIPML_TEST_TOKEN_SERVER_PORT=$TOKEN_SERVER_PORT
export SHIPML_TEST_TOKEN_KEY=$STATE/registry-tls/token-key.pem
export SHIPML_TEST_TOKEN_CERT=$STATE/registry-tls/token-cert.pem
export SHIPML_TEST_BASE_NODE=127.0.0.1:$REGISTRY_PORT/shipml/node:24
export SHIPML_TEST_BASE_PYTHON=127.0.0.1:$REGISTRY_PORT/shipml/python:3.11
export SHIPML_TEST_PROXY_IMAGE=127.0.0.1:$REGISTRY_PORT/shipml/haproxy:2.6
${DOCKER_TLS_ENV:-}
ENV
  "$ROOT/scripts/postgres.sh" start
  cat "$STATE/postgres/env" >>"$STATE/env"
  "$ROOT/scripts/base-images.sh" push "127.0.0.1:$REGISTRY_PORT"
  log "MinIO on 127.0.0.1:$minio_port, Azurite on 127.0.0.1:$azurite_port, registries on 127.0.0.1:$REGISTRY_PORT (plain), :$REGISTRY_AUTH_PORT (basic auth), :$REGISTRY_TLS_PORT (TLS) (env: $STATE/env)"
}

# Three CNCF distribution registries (Debian's docker-registry): plain HTTP, htpasswd basic
# auth, and TLS with a self-signed CA (certificate for IP 127.0.0.1).
REGISTRY_USER=shipml
REGISTRY_PASSWORD=registry-test-$RANDOM$RANDOM
start_registries() {
  REGISTRY_PORT=$(free_port); REGISTRY_AUTH_PORT=$(free_port); REGISTRY_TLS_PORT=$(free_port)
  REGISTRY_TOKEN_PORT=$(free_port); TOKEN_SERVER_PORT=$(free_port)
  local tls=$STATE/registry-tls
  mkdir -p "$tls"
  htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$STATE/registry.htpasswd" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shipml test CA" \
    -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/key.pem" -out "$tls/csr.pem" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
  openssl x509 -req -in "$tls/csr.pem" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial \
    -days 2 -extfile "$tls/san.ext" -out "$tls/cert.pem" 2>/dev/null
  # Docker token auth: the registry trusts JWTs signed with this key; the token server itself
  # runs inside the test that needs it (test/helpers/token-server.ts), on TOKEN_SERVER_PORT.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shipml token issuer" \
    -keyout "$tls/token-key.pem" -out "$tls/token-cert.pem" 2>/dev/null
  local name port extra
  for name in plain auth tls token; do
    case $name in
      plain) port=$REGISTRY_PORT; extra='' ;;
      auth) port=$REGISTRY_AUTH_PORT; extra=$'auth:\n  htpasswd:\n    realm: shipml-test\n    path: '"$STATE/registry.htpasswd" ;;
      tls) port=$REGISTRY_TLS_PORT; extra=$'  tls:\n    certificate: '"$tls/cert.pem"$'\n    key: '"$tls/key.pem" ;;
      token) port=$REGISTRY_TOKEN_PORT; extra=$'auth:\n  token:\n    realm: http://127.0.0.1:'"$TOKEN_SERVER_PORT"$'/token\n    service: shipml-test-registry\n    issuer: shipml-test-issuer\n    rootcertbundle: '"$tls/token-cert.pem" ;;
    esac
    mkdir -p "$STATE/registry-$name"
    {
      printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
      printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$STATE/registry-$name"
      printf 'http:\n  addr: 127.0.0.1:%s\n  secret: %s\n' "$port" "secret-$RANDOM$RANDOM"
      if [ "$name" = tls ]; then printf '%s\n' "$extra"; fi
      if [ "$name" = auth ] || [ "$name" = token ]; then printf '%s\n' "$extra"; fi
    } >"$STATE/registry-$name.yml"
    docker-registry serve "$STATE/registry-$name.yml" >"$STATE/registry-$name.log" 2>&1 &
    echo $! >"$STATE/registry-$name.pid"
  done
  wait_http "http://127.0.0.1:$REGISTRY_PORT/v2/" 30
  wait_http "http://127.0.0.1:$REGISTRY_AUTH_PORT/v2/" 30
  wait_http "http://127.0.0.1:$REGISTRY_TOKEN_PORT/v2/" 30
  until curl -s -o /dev/null --cacert "$tls/ca.pem" "https://127.0.0.1:$REGISTRY_TLS_PORT/v2/"; do sleep 0.2; done
}

# The Docker Engine: started here unless one already answers. Containers need the nofile
# ulimit set in daemon.json (the VM lacks CAP_SYS_RESOURCE; see ENVIRONMENT.md). The engine we
# start also listens on tcp://127.0.0.1 with mutual TLS, as remote engines are reached
# (DOCKER_HOST=tcp://..., DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH): tests of that path use it.
start_docker() {
  if docker info >/dev/null 2>&1; then
    log "a Docker Engine already runs (not started here): DOCKER_HOST over TLS is not tested"
    return 0
  fi
  mkdir -p /etc/docker
  if [ ! -f /etc/docker/daemon.json ]; then
    echo '{"default-ulimits":{"nofile":{"Name":"nofile","Soft":1024,"Hard":1024}}}' >/etc/docker/daemon.json
  fi
  local certs=$STATE/docker-tls
  docker_tls_certs "$certs"
  DOCKER_TLS_PORT=$(free_port)
  dockerd -H unix:///var/run/docker.sock -H "tcp://127.0.0.1:$DOCKER_TLS_PORT" \
    --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/server-cert.pem" --tlskey "$certs/server-key.pem" \
    >"$STATE/dockerd.log" 2>&1 &
  echo $! >"$STATE/dockerd.pid"
  local deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then log "dockerd did not start: $(tail -3 "$STATE/dockerd.log")"; return 1; fi
    sleep 0.5
  done
  DOCKER_TLS_ENV="export SHIPML_TEST_DOCKER_TLS_HOST=tcp://127.0.0.1:$DOCKER_TLS_PORT
export SHIPML_TEST_DOCKER_CERT_PATH=$certs"
}

# A CA, a server certificate for 127.0.0.1 and a client certificate, named as the docker CLI
# expects them in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem).
docker_tls_certs() { # dir
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shipml docker test CA" \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server-key.pem" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server-cert.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=shipml test client" \
    -keyout "$dir/key.pem" -out "$dir/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext"
  openssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
    -days 2 -extfile "$dir/client.ext" -out "$dir/cert.pem" 2>/dev/null
}

stop_quietly() {
  [ -d "$STATE" ] || return 0
  "$ROOT/scripts/postgres.sh" stop || true
  local pidfile pid
  for pidfile in "$STATE"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -rf "$STATE"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_quietly; log "stopped" ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
