#!/usr/bin/env bash
# Helpers the benchmarks share: logging, steps bounded in time that Ctrl-C can stop, and
# reusing the test services when they already run (else starting them, and stopping them
# in the caller's cleanup when STARTED_SERVICES=1). Sourced by bench/*/run.sh, which set
# ROOT and STEP_TIMEOUT and define services_answer (their own health check).

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CHILD=            # PID of the running bounded step (GNU time or timeout), if any
STARTED_SERVICES=0

# Stops the running bounded step, if any.
kill_child() {
  [ -n "$CHILD" ] || return 0
  if kill -0 "$CHILD" 2>/dev/null; then
    # CHILD is `time` (whose child is `timeout`) or `timeout` itself; timeout passes TERM on
    # to the command it watches.
    local pid
    for pid in $(pgrep -P "$CHILD" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  CHILD=
}

# Runs a setup step bounded by STEP_TIMEOUT, in the background so Ctrl-C reaches our trap.
bounded() {
  local rc=0
  timeout "$STEP_TIMEOUT" "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  ((rc != 124)) || log "timed out after ${STEP_TIMEOUT}s: $*"
  return "$rc"
}

# Reuses the running services if services_answer says so, else installs and starts them.
ensure_services() { # what (for messages)
  if services_answer; then
    log "reusing the running $1 (${SERVICES_ENV})"
    return 0
  fi
  log "starting $1 (scripts/services.sh)"
  bounded "$ROOT/scripts/services.sh" install || die "scripts/services.sh install failed"
  # shellcheck disable=SC2034 # read by the sourcing run.sh (its cleanup stops what it started)
  STARTED_SERVICES=1
  bounded "$ROOT/scripts/services.sh" start || die "scripts/services.sh start failed"
  services_answer || die "services started but $1 do not answer"
}
