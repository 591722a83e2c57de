#!/usr/bin/env bash
# Installs the independent tools that check ShipML's signatures, attestations and SBOMs
# (test infrastructure only; ShipML itself needs none of them):
#   cosign  v2.6.5  (Sigstore)          — `cosign verify` / `verify-attestation` / `sign`
#   oras    v1.3.6  (ORAS project)      — `oras discover` lists referrers / attachments
#   referrers-registry (go-containerregistry v0.22.1's registry, scripts/referrers-registry):
#                                         a registry WITH the OCI 1.1 referrers API, which
#                                         distribution 2.8 lacks (`crane registry serve` has it off)
#   cyclonedx-python-lib (CycloneDX)    — JSON-schema validation of CycloneDX 1.6 SBOMs
#   crane   v0.22.1 (go-containerregistry) — `crane export` lists what an image holds
#
#   scripts/attest-tools.sh install   # idempotent; Go builds cached in $SHIPML_CI_CACHE/bin
#   scripts/attest-tools.sh env       # prints where they are (SHIPML_COSIGN=..., one a line)
#
# cosign takes ~8 minutes to build on 2 cores (ENVIRONMENT.md), so it is built once per machine
# into a versioned file name; tests find the binaries at the same paths (test/helpers/attest-tools.ts).
set -euo pipefail

CACHE=${SHIPML_CI_CACHE:-$HOME/.cache/shipml-ci}
COSIGN_VERSION=v2.6.5
ORAS_VERSION=v1.3.6
CRANE_VERSION=v0.22.1
# Pinned so a new release cannot change what "valid" means under us; [json-validation] pulls
# jsonschema, which the validator needs. The 1.6 schema ships inside the package (offline).
CDX_LIB_VERSION=11.12.0
COSIGN_BIN=$CACHE/bin/cosign-$COSIGN_VERSION
ORAS_BIN=$CACHE/bin/oras-$ORAS_VERSION
CRANE_BIN=$CACHE/bin/crane-$CRANE_VERSION
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RR_SRC=$ROOT/scripts/referrers-registry
# Named by a hash of its sources, so a change to them rebuilds it.
RR_BIN=$CACHE/bin/referrers-registry-$(cat "$RR_SRC/main.go" "$RR_SRC/go.mod" "$RR_SRC/go.sum" | sha256sum | cut -c1-12)
CDX_VENV=$CACHE/cyclonedx-venv-$CDX_LIB_VERSION

log() { printf '[attest-tools] %s\n' "$*" >&2; }

go_build() { # module@version target-file
  local module=$1 target=$2 gobin
  [ -x "$target" ] && return 0
  command -v go >/dev/null || { log "Go is needed to build $module"; return 1; }
  log "building $module (first run only)"
  gobin=$(mktemp -d)
  GOBIN=$gobin GOFLAGS=-mod=mod go install "$module"
  mkdir -p "$(dirname "$target")"
  # Move into place only when complete, so an interrupted build is never mistaken for a cached one.
  mv "$gobin/$(basename "${module%@*}")" "$target.partial"
  mv "$target.partial" "$target"
  rm -rf "$gobin"
}

cdx_validator() {
  if [ -x "$CDX_VENV/bin/python" ] && "$CDX_VENV/bin/python" -c 'import cyclonedx.validation.json' 2>/dev/null; then
    return 0
  fi
  log "creating $CDX_VENV (cyclonedx-python-lib $CDX_LIB_VERSION)"
  rm -rf "$CDX_VENV"
  # Debian splits venv's ensurepip into python3-venv.
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    log "apt-get install python3-venv"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
  fi
  python3 -m venv "$CDX_VENV"
  "$CDX_VENV/bin/pip" install -q --disable-pip-version-check \
    "cyclonedx-python-lib[json-validation]==$CDX_LIB_VERSION"
}

install() {
  # The small tools first: oras and the registry build in a minute or two, cosign in about eight.
  go_build "oras.land/oras/cmd/oras@$ORAS_VERSION" "$ORAS_BIN"
  go_build "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" "$CRANE_BIN"
  if [ ! -x "$RR_BIN" ]; then
    log "building the referrers registry (go-containerregistry)"
    mkdir -p "$(dirname "$RR_BIN")"
    (cd "$RR_SRC" && GOFLAGS=-mod=mod go build -o "$RR_BIN.partial" .)
    mv "$RR_BIN.partial" "$RR_BIN"
  fi
  go_build "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" "$COSIGN_BIN"
  cdx_validator
  log "ready: $COSIGN_BIN, $ORAS_BIN, $CRANE_BIN, $RR_BIN, $CDX_VENV/bin/python"
}

print_env() {
  printf 'SHIPML_COSIGN=%s\nSHIPML_ORAS=%s\nSHIPML_CRANE=%s\nSHIPML_REFERRERS_REGISTRY=%s\nSHIPML_CDX_PYTHON=%s\n' \
    "$COSIGN_BIN" "$ORAS_BIN" "$CRANE_BIN" "$RR_BIN" "$CDX_VENV/bin/python"
}

case ${1:-} in
  install) install ;;
  env) print_env ;;
  *)
    echo "usage: $0 install|env" >&2
    exit 2
    ;;
esac
