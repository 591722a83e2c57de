#!/usr/bin/env bash
# Smoke test for scripts/kubernetes.sh, run by hand after `scripts/kubernetes.sh start`:
#   scripts/kubernetes/smoke.sh
# Exercises the real Deployment controller against kwok's fake node: create -> Available,
# rolling image update, a rollout to never-ready pods that hits progressDeadlineSeconds,
# rollout undo, and a server-side dry-run apply. Prints the time each step took.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC1091
source "$ROOT/.shipml/kubernetes/env"
k() { "$SHIPML_TEST_KUBECTL" -n shipml-smoke "$@"; }
jp() { k get deployment smoke -o jsonpath="$1"; }
now() { date +%s.%N; }
step() { # name command...
  local name=$1 t0 t1; shift
  t0=$(now)
  "$@"
  t1=$(now)
  printf '[smoke] %-44s %6.2fs\n' "$name" "$(echo "$t1 - $t0" | bc)"
}

manifest() { # image [never-ready] [progressDeadlineSeconds]
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  namespace: shipml-smoke
spec:
  replicas: 3
  progressDeadlineSeconds: ${3:-600}
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels:
        app: smoke
$( [ -n "${2:-}" ] && echo "        shipml.test/never-ready: \"true\"" )
    spec:
      containers:
      - name: app
        image: $1
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
EOF
}

status() {
  echo "  generation=$(jp '{.metadata.generation}') observedGeneration=$(jp '{.status.observedGeneration}')" \
    "replicas=$(jp '{.status.replicas}') updated=$(jp '{.status.updatedReplicas}')" \
    "ready=$(jp '{.status.readyReplicas}') available=$(jp '{.status.availableReplicas}')" \
    "unavailable=$(jp '{.status.unavailableReplicas}')"
  echo "  Available=$(jp '{.status.conditions[?(@.type=="Available")].status}')" \
    "Progressing=$(jp '{.status.conditions[?(@.type=="Progressing")].status}')/$(jp '{.status.conditions[?(@.type=="Progressing")].reason}')" \
    "image=$(jp '{.spec.template.spec.containers[0].image}')"
}

assert_complete() { # image
  [ "$(jp '{.metadata.generation}')" = "$(jp '{.status.observedGeneration}')" ]
  [ "$(jp '{.status.updatedReplicas}')" = 3 ]
  [ "$(jp '{.status.availableReplicas}')" = 3 ]
  [ "$(jp '{.status.conditions[?(@.type=="Available")].status}')" = True ]
  [ "$(jp '{.spec.template.spec.containers[0].image}')" = "$1" ]
}

create() {
  "$SHIPML_TEST_KUBECTL" create namespace shipml-smoke >/dev/null
  # The namespace's default ServiceAccount comes from the serviceaccount controller.
  until k get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
  manifest registry.invalid/app:1 | k apply -f - >/dev/null
  k rollout status deployment/smoke --timeout=60s >/dev/null
  k wait --for=condition=Available deployment/smoke --timeout=30s >/dev/null
  assert_complete registry.invalid/app:1
  k get pods -l app=smoke -o \
    jsonpath='{range .items[*]}  pod {.metadata.name} node={.spec.nodeName} phase={.status.phase} ready={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
  [ "$(k get pods -l app=smoke -o jsonpath='{.items[*].spec.nodeName}')" = "$SHIPML_TEST_KUBE_NODE $SHIPML_TEST_KUBE_NODE $SHIPML_TEST_KUBE_NODE" ]
  status
}

update() {
  k set image deployment/smoke app=registry.invalid/app:2 >/dev/null
  k rollout status deployment/smoke --timeout=60s >/dev/null
  assert_complete registry.invalid/app:2
  status
}

never_ready() {
  manifest registry.invalid/app:3 never-ready 10 | k apply -f - >/dev/null
  if k rollout status deployment/smoke --timeout=60s 2>"$ROOT/.shipml/kubernetes/smoke-rollout.err" >/dev/null; then
    echo "  rollout to never-ready pods unexpectedly succeeded" >&2; return 1
  fi
  echo "  kubectl rollout status: $(cat "$ROOT/.shipml/kubernetes/smoke-rollout.err")"
  [ "$(jp '{.status.conditions[?(@.type=="Progressing")].status}')" = False ]
  [ "$(jp '{.status.conditions[?(@.type=="Progressing")].reason}')" = ProgressDeadlineExceeded ]
  k get pods -l app=smoke -o \
    jsonpath='{range .items[*]}  pod {.metadata.name} image={.spec.containers[0].image} phase={.status.phase} ready={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
  status
}

undo() {
  k rollout undo deployment/smoke >/dev/null 2>&1
  k rollout status deployment/smoke --timeout=60s >/dev/null
  assert_complete registry.invalid/app:2
  k wait --for=jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}'=NewReplicaSetAvailable \
    deployment/smoke --timeout=30s >/dev/null
  status
}

dry_run() {
  local gen
  gen=$(jp '{.metadata.generation}')
  # Fields last written by `kubectl set image`/client-side apply belong to other field managers,
  # so a server-side apply that changes them conflicts (HTTP 409) unless it forces ownership.
  if manifest registry.invalid/app:9 | k apply --server-side --dry-run=server --field-manager shipml -f - \
    >/dev/null 2>"$ROOT/.shipml/kubernetes/smoke-ssa.err"; then
    echo "  server-side apply without --force-conflicts unexpectedly succeeded" >&2; return 1
  fi
  echo "  without --force-conflicts: $(head -n1 "$ROOT/.shipml/kubernetes/smoke-ssa.err")"
  manifest registry.invalid/app:9 | k apply --server-side --force-conflicts --dry-run=server --field-manager shipml -o \
    jsonpath='  with --force-conflicts: dry-run result image={.spec.template.spec.containers[0].image} generation={.metadata.generation}{"\n"}' -f -
  [ "$(jp '{.metadata.generation}')" = "$gen" ]
  [ "$(jp '{.spec.template.spec.containers[0].image}')" = registry.invalid/app:2 ]
  echo "  stored object unchanged: generation=$gen image=registry.invalid/app:2"
}

cleanup() {
  "$SHIPML_TEST_KUBECTL" delete namespace shipml-smoke --wait --timeout=60s >/dev/null
}

"$SHIPML_TEST_KUBECTL" version 2>/dev/null | sed 's/^/  /'
step "create 3 replicas -> Available" create
step "set image app:2 -> rollout complete" update
step "never-ready rollout -> ProgressDeadlineExceeded" never_ready
step "rollout undo -> Available" undo
step "server-side dry-run apply" dry_run
step "delete namespace" cleanup
echo "[smoke] all steps passed"
