#!/usr/bin/env bash
# End-to-end time of `shipml run` for examples/digits, commit → serving, split by stage:
#   cold   a fresh local cache (model files and image layers fetched and built anew)
#   warm   the same run again on the same cache (--force: the skip rule would reuse the image)
# Each run gets its own SOURCE_DATE_EPOCH, so its image differs from the live one and the
# deploy stage is a real rolling replacement of the 2 replicas (not a no-op).
# The run ships the demo's setup (`shipml demo --dir`: model store, registry, HAProxy on
# 127.0.0.1) so it needs what the demo needs (bash scripts/demo.sh installs it).
#
#   bench/pipeline/run.sh            # prints a table; JSON in bench/pipeline/results/latest.json
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CLI=(node "$ROOT/packages/shipml/dist/cli/main.js")
WORK=$(mktemp -d)
PORT=${BENCH_PORT:-18190}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
log() { printf '[bench] %s\n' "$*" >&2; }
cleanup() {
  "${CLI[@]}" demo --stop --dir "$WORK/demo" --port "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "setting up with shipml demo (model store, registry, app on 127.0.0.1:$PORT)"
timeout 600 "${CLI[@]}" demo --dir "$WORK/demo" --port "$PORT" >"$WORK/demo.log" 2>&1 || { tail -20 "$WORK/demo.log"; exit 1; }

export SHIPML_CACHE_DIR=$WORK/cache
for scenario in cold warm; do
  log "$scenario: shipml run --force"
  # A new creation time makes a new image (same layers), so the deploy really rolls out.
  SOURCE_DATE_EPOCH=$(date +%s)
  export SOURCE_DATE_EPOCH
  start=$(date +%s.%N)
  timeout 600 "${CLI[@]}" run -c "$WORK/demo/shipml.yaml" --model digits@2 --force --json >"$WORK/$scenario.json" 2>"$WORK/$scenario.err" || { tail -20 "$WORK/$scenario.err"; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc >"$WORK/$scenario.wall"
done

mkdir -p "$(dirname "$RESULTS")"
python3 - "$WORK" "$RESULTS" <<'PY'
import json, sys
work, results = sys.argv[1], sys.argv[2]
rows = {}
for s in ('cold', 'warm'):
    r = json.load(open(f'{work}/{s}.json'))
    rows[s] = {'wall': float(open(f'{work}/{s}.wall').read()),
               'stages': {x['name']: x['seconds'] for x in r['stages']},
               'layers': {l['kind']: l['status'] for l in (r.get('layers') or [])}}
stages = list(rows['cold']['stages'])
print(f"{'stage':<12} {'cold s':>8} {'warm s':>8}")
for st in stages:
    print(f"{st:<12} {rows['cold']['stages'][st]:>8.2f} {rows['warm']['stages'].get(st, 0):>8.2f}")
print(f"{'total (wall)':<12} {rows['cold']['wall']:>8.2f} {rows['warm']['wall']:>8.2f}")
print('layers cold:', rows['cold']['layers'], ' warm:', rows['warm']['layers'])
json.dump(rows, open(results, 'w'), indent=2)
PY
