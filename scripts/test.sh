#!/usr/bin/env bash
# The one command that runs all of ShipML's tests on a fresh machine (README, .ci/run):
# installs what they need, starts the real servers on 127.0.0.1 (services.sh: registries, MinIO,
# Azurite, ...; kubernetes.sh: a Kubernetes control plane), runs lint, type checks and tests,
# and stops the servers again, whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

scripts/services.sh install
scripts/kubernetes.sh install
# Stop both, whatever happens (the first failing must not skip the second).
trap 'scripts/kubernetes.sh stop || true; scripts/services.sh stop' EXIT
scripts/services.sh start
scripts/kubernetes.sh start
# shellcheck disable=SC1091
source .shipml/services/env
# KUBECONFIG and SHIPML_TEST_KUBE_*: the control plane the Kubernetes target's tests use.
# shellcheck disable=SC1091
source .shipml/kubernetes/env

npm run build
npm run lint
npm run typecheck --workspaces --if-present
# test/runner-container-digits.test.ts runs the sample app's prepare and tests in the container
# runner: its image needs npm and chromium (built once per machine, cached like the others).
scripts/base-images.sh load toolchain
npm test

# The sample AI app is a standalone package (its production node_modules become an image layer).
(cd examples/digits && npm test)
