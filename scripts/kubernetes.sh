#!/usr/bin/env bash
# A real Kubernetes control plane for tests on 127.0.0.1, without a kubelet:
# etcd + kube-apiserver + kube-controller-manager (the real Deployment/ReplicaSet controllers)
# + kube-scheduler + kwok (simulates one fake Node and makes its pods Running/Ready).
#
#   scripts/kubernetes.sh install   # idempotent: builds the binaries once into the cache
#   scripts/kubernetes.sh start     # start everything; writes .shipml/kubernetes/{kubeconfig,env}
#   scripts/kubernetes.sh stop      # stop what start started (by PID), remove the state dir
#   scripts/kubernetes.sh env       # print the env file (KUBECONFIG, SHIPML_TEST_KUBE_*)
#
# Binaries are built from the Go module proxy into
# $SHIPML_CI_CACHE/kubernetes/<version>/bin (default ~/.cache/shipml-ci); only the first run on a
# machine pays for the build. Pods labelled shipml.test/never-ready=true are kept Running but
# never Ready (scripts/kubernetes/kwok-stages.yaml), so a rollout to them hits
# progressDeadlineSeconds. See scripts/kubernetes/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/kubernetes
K8S_VERSION=v1.36.3    # k8s.io/kubernetes; staging modules k8s.io/* at v0.36.3
ETCD_VERSION=v3.6.16   # go.etcd.io/etcd/server/v3 (kube-apiserver v1.36 uses the v3.6 client)
KWOK_VERSION=v0.8.0    # sigs.k8s.io/kwok
CACHE=${SHIPML_CI_CACHE:-$HOME/.cache/shipml-ci}/kubernetes/$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION
BIN=$CACHE/bin
STATE=$ROOT/.shipml/kubernetes
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
# Everything a workload needs, without node-lifecycle (kwok's heartbeats are slow), cloud, volume
# or certificate-signing controllers.
KCM_CONTROLLERS=deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller
KCM_CONTROLLERS+=,job-controller,cronjob-controller,ttl-after-finished-controller,disruption-controller
KCM_CONTROLLERS+=,serviceaccount-controller,serviceaccount-token-controller,namespace-controller
KCM_CONTROLLERS+=,garbage-collector-controller,pod-garbage-collector-controller,endpointslice-controller
KCM_CONTROLLERS+=,endpoints-controller,resourcequota-controller,root-ca-certificate-publisher-controller
KCM_CONTROLLERS+=,clusterrole-aggregation-controller,horizontal-pod-autoscaler-controller

log() { printf '[kubernetes] %s\n' "$*" >&2; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# --- install ---------------------------------------------------------------------------------

build_kubernetes() {
  local work staging_v gomod
  work=$(mktemp -d)
  staging_v=v0.${K8S_VERSION#v1.}
  local info
  info=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION")
  gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
  # k8s.io/kubernetes replaces its staging modules with ./staging/src/k8s.io/*, which `go install`
  # refuses; a wrapper module pins every staging module it requires to the published v0.Y.Z.
  local mods
  mods=$(awk '/=> \.\/staging\/src\// {print $1}' "$gomod" | while read -r m; do
    grep -qE "^[[:space:]]+$m v0\.0\.0" "$gomod" && echo "$m"; done)
  {
    echo "module shipml.local/kubebuild"
    echo
    echo "go $(awk '/^go / {print $2}' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    for m in $mods; do echo "require $m $staging_v"; done
    for m in $mods; do echo "replace $m => $m $staging_v"; done
  } >"$work/go.mod"
  cat >"$work/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1) || true
  (cd "$work" && GOFLAGS=-mod=mod go mod download)
  mkdir -p "$BIN.tmp"
  local pkgs=()
  for b in "${K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # What hack/lib/version.sh stamps in, so `version` reports v1.x.y rather than v0.0.0-master.
  local commit date minor ldflags="-s -w" p
  local infofile
  infofile=$(sed -n 's/.*"Info": "\(.*\)".*/\1/p' <<<"$info")
  commit=$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$infofile")
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$infofile")
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$BIN.tmp/" "${pkgs[@]}")
  rm -rf "$work"
}

build_etcd() {
  local work
  work=$(mktemp -d)
  # etcd's server module also replaces its sibling modules with ../; pin them to the same tag.
  cat >"$work/go.mod" <<EOF
module shipml.local/etcdbuild

go 1.24

require (
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
EOF
  cat >"$work/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1) || true
  mkdir -p "$BIN.tmp"
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work"
}

install() {
  command -v go >/dev/null || { log "go is required"; exit 1; }
  command -v openssl >/dev/null || { log "openssl is required"; exit 1; }
  local b missing=0
  for b in etcd kwok "${K8S_BINS[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
  if ((missing == 0)); then log "binaries present in $BIN"; return; fi
  local t0=$SECONDS
  rm -rf "$BIN.tmp"
  mkdir -p "$BIN.tmp"
  [ -x "$BIN/etcd" ] && cp "$BIN/etcd" "$BIN.tmp/"
  [ -x "$BIN/etcd" ] || { log "building etcd $ETCD_VERSION"; build_etcd; }
  [ -x "$BIN/kwok" ] && cp "$BIN/kwok" "$BIN.tmp/"
  if [ ! -x "$BIN/kwok" ]; then
    log "building kwok $KWOK_VERSION"
    CGO_ENABLED=0 GOBIN="$BIN.tmp" go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  fi
  log "building kubernetes $K8S_VERSION (${K8S_BINS[*]}); several minutes on a cold cache"
  build_kubernetes
  rm -rf "$BIN"
  mv "$BIN.tmp" "$BIN"
  log "installed into $BIN in $((SECONDS - t0))s"
}

# --- start / stop ----------------------------------------------------------------------------

certs() { # CA, apiserver serving cert for 127.0.0.1, admin client cert, service-account key pair
  local d=$STATE/pki
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shipml-test-kubernetes-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=shipml-admin" -keyout admin.key -out admin.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext ca.srl
  )
}

kubeconfig() { # server -> admin kubeconfig with embedded credentials
  local d=$STATE/pki
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: shipml-test
  cluster:
    server: $1
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
- name: shipml-admin
  user:
    client-certificate-data: $(base64 -w0 "$d/admin.crt")
    client-key-data: $(base64 -w0 "$d/admin.key")
contexts:
- name: shipml-test
  context:
    cluster: shipml-test
    user: shipml-admin
    namespace: default
current-context: shipml-test
EOF
}

run() { # name command... : start in the background, log and PID in $STATE
  local name=$1; shift
  "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

alive() { # name: fail with its log tail if the process died
  local pid
  pid=$(cat "$STATE/$1.pid")
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$1 exited; last lines of $STATE/$1.log:"
    tail -n 30 "$STATE/$1.log" >&2
    return 1
  fi
}

wait_for() { # name seconds command... : poll until the command succeeds
  local name=$1 deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$name" || return 1
    if ((SECONDS > deadline)); then log "timed out waiting for $name"; tail -n 30 "$STATE/$name.log" >&2; return 1; fi
    sleep 0.2
  done
}

start() {
  local b
  for b in etcd kwok "${K8S_BINS[@]}"; do
    [ -x "$BIN/$b" ] || { log "$BIN/$b missing: run scripts/kubernetes.sh install"; exit 1; }
  done
  stop_quietly
  mkdir -p "$STATE"
  local t0=$SECONDS
  certs
  local pki=$STATE/pki etcd_port peer_port api_port kcm_port sched_port server
  etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
  server=https://127.0.0.1:$api_port
  kubeconfig "$server" >"$STATE/kubeconfig"
  chmod 600 "$STATE/kubeconfig"
  local kubectl=("$BIN/kubectl" --kubeconfig "$STATE/kubeconfig")

  run etcd "$BIN/etcd" --name shipml-test --data-dir "$STATE/etcd-data" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "shipml-test=http://127.0.0.1:$peer_port" --log-level warn
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

  run kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --endpoint-reconciler-type none \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --profiling=false
  wait_for kube-apiserver 90 curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$server/readyz"

  # Picked only now: while the apiserver starts, its connections to etcd take ephemeral ports,
  # and a port picked earlier may be one of them by the time a later server binds it.
  kcm_port=$(free_port); sched_port=$(free_port)
  run kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kubeconfig" --authentication-kubeconfig "$STATE/kubeconfig" \
    --authorization-kubeconfig "$STATE/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
    --controllers "$KCM_CONTROLLERS" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials=false --concurrent-deployment-syncs 5 --profiling=false
  run kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$STATE/kubeconfig" --authentication-kubeconfig "$STATE/kubeconfig" \
    --authorization-kubeconfig "$STATE/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false --profiling=false
  run kwok "$BIN/kwok" --kubeconfig "$STATE/kubeconfig" --config "$HERE/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address 127.0.0.1:0 --node-ip 10.0.0.1 --cidr 10.0.0.1/16

  "${kubectl[@]}" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  # shellcheck disable=SC2016 # "$@" is the inner sh's: kubectl and its flags, passed after _
  wait_for kwok 60 sh -c '[ "$("$@" get node kwok-node-0 -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]' _ "${kubectl[@]}"
  # The apiserver taints new nodes node.kubernetes.io/not-ready; the node-lifecycle controller,
  # which would lift it, is not run (it would also evict pods when kwok's heartbeat is late).
  "${kubectl[@]}" taint node kwok-node-0 node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  # shellcheck disable=SC2016 # as above
  wait_for kwok 30 sh -c '[ -z "$("$@" get node kwok-node-0 -o jsonpath="{.spec.taints}")" ]' _ "${kubectl[@]}"
  wait_for kube-controller-manager 60 "${kubectl[@]}" get serviceaccount default -n default
  alive kube-scheduler

  cat >"$STATE/env" <<EOF
export KUBECONFIG=$STATE/kubeconfig
export SHIPML_TEST_KUBE_SERVER=$server
export SHIPML_TEST_KUBE_CA=$pki/ca.crt
export SHIPML_TEST_KUBE_CLIENT_CERT=$pki/admin.crt
export SHIPML_TEST_KUBE_CLIENT_KEY=$pki/admin.key
export SHIPML_TEST_KUBE_NODE=kwok-node-0
export SHIPML_TEST_KUBE_NEVER_READY_LABEL=shipml.test/never-ready=true
export SHIPML_TEST_KUBECTL=$BIN/kubectl
EOF
  log "started in $((SECONDS - t0))s: $server (source $STATE/env)"
}

stop_quietly() {
  [ -d "$STATE" ] || return 0
  # etcd last, so the apiserver can shut down cleanly; the others in parallel.
  stop_pids kwok kube-scheduler kube-controller-manager kube-apiserver
  stop_pids etcd
  rm -rf "$STATE"
}

stop_pids() { # names...: SIGTERM, wait up to 10s, then SIGKILL
  local name pid pids=()
  for name in "$@"; do
    [ -e "$STATE/$name.pid" ] || continue
    pid=$(cat "$STATE/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    rm -f "$STATE/$name.pid"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

case "${1:-}" in
  install) install ;;
  start)
    # A free port can still be taken between picking and binding it (by another program's
    # outgoing connection): a start that fails is stopped and tried again, at most 3 times.
    for attempt in 1 2 3; do
      if bash "${BASH_SOURCE[0]}" start-once; then exit 0; fi
      log "start failed (attempt $attempt of 3)"
      stop_quietly
    done
    exit 1
    ;;
  start-once) start ;;
  stop) stop_quietly; log "stopped" ;;
  env) cat "$STATE/env" ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
