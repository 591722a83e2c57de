#!/usr/bin/env bash
# Model store transfer benchmark: ShipML publish/pull of one large random file on each
# back end (file://, s3:// on MinIO, azblob:// on Azurite) against the tool a user would
# use instead (cp, aws s3 cp, azure-storage-blob), in the same run, on 127.0.0.1 only.
#
#   bench/model-store/run.sh                      # 1 GiB file
#   BENCH_SIZE_MIB=64 bench/model-store/run.sh    # quick mode
#
# Environment:
#   BENCH_SIZE_MIB      file size in MiB (default 1024)
#   BENCH_RUNS          repetitions; the table shows the median time, max RSS (default 1)
#   BENCH_STEP_TIMEOUT  seconds each measured or setup step may take (default 600)
#   BENCH_BUILD=1       run `npm run build` first even if dist/ exists
#   BENCH_RESULTS       JSON report path (default bench/model-store/results/latest.json)
#   SHIPML_BENCH_CACHE  where the Python venv for the baselines lives (default ~/.cache/shipml-bench)
#   BENCH_CLI           the ShipML CLI to measure (default packages/shipml/dist/cli/main.js), e.g.
#                       another build of the tree, to compare before and after a change
#
# Prints a table on stdout, progress on stderr. Exit status 0 only if every step succeeded
# and every downloaded copy is byte-identical to the source.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-1}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-600}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.json}
CACHE=${SHIPML_BENCH_CACHE:-$HOME/.cache/shipml-bench}
VENV=$CACHE/venv
CLI=${BENCH_CLI:-$ROOT/packages/shipml/dist/cli/main.js}
SERVICES_ENV=$ROOT/.shipml/services/env
MODEL=bench-model

# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive integer, got '$SIZE_MIB'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
[[ $STEP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_STEP_TIMEOUT must be a positive integer, got '$STEP_TIMEOUT'"

# ---------------------------------------------------------------------------------------
# Cleanup: whatever was created is removed on any exit, including Ctrl-C and timeouts.
WORK=
BUCKET=
CONTAINER=
AWS=
PY=


cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  kill_child
  if [ -n "$BUCKET" ]; then
    log "removing bucket s3://$BUCKET"
    timeout 120 "$AWS" s3 rb "s3://$BUCKET" --force --endpoint-url "$SHIPML_TEST_S3_ENDPOINT" \
      >/dev/null || log "warning: could not remove bucket $BUCKET"
  fi
  if [ -n "$CONTAINER" ]; then
    log "removing container $CONTAINER"
    timeout 120 "$PY" "$HERE/azblob_tool.py" delete-container "$CONTAINER" >/dev/null ||
      log "warning: could not remove container $CONTAINER"
  fi
  if [ "$STARTED_SERVICES" = 1 ]; then
    log "stopping the services this run started"
    timeout 120 "$ROOT/scripts/services.sh" stop || log "warning: scripts/services.sh stop failed"
  fi
  [ -n "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---------------------------------------------------------------------------------------
# Prerequisites.
command -v node >/dev/null || die "node is not on PATH"
command -v curl >/dev/null || die "curl is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH"
if [ ! -x /usr/bin/time ]; then
  log "GNU time is missing: apt-get install time"
  bounded apt-get install -y -q time >/dev/null ||
    { bounded apt-get update -q >/dev/null && bounded apt-get install -y -q time >/dev/null; } ||
    die "could not install GNU time (apt package 'time')"
fi
/usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "/usr/bin/time is not GNU time (need -f %M)"

[ -z "${BENCH_CLI:-}" ] || [ -f "$CLI" ] || die "BENCH_CLI=$CLI does not exist"
if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -f "$CLI" ]; then
  log "building ShipML (npm run build)"
  (cd "$ROOT" && bounded npm run build --silent) || die "npm run build failed"
fi

if ! "$VENV/bin/python" -c 'import azure.storage.blob' 2>/dev/null; then
  log "creating $VENV with azure-storage-blob (first run only)"
  mkdir -p "$CACHE"
  [ -x "$VENV/bin/python" ] || bounded python3 -m venv "$VENV" || die "python3 -m venv failed"
  bounded "$VENV/bin/pip" install -q --disable-pip-version-check azure-storage-blob ||
    die "pip install azure-storage-blob failed"
fi
PY=$VENV/bin/python

if command -v aws >/dev/null; then
  AWS=$(command -v aws)
  # Measure the CLI itself, not a version manager's shim in front of it.
  if [[ $AWS == */shims/* ]] && command -v pyenv >/dev/null; then AWS=$(pyenv which aws 2>/dev/null || echo "$AWS"); fi
else
  if [ ! -x "$VENV/bin/aws" ]; then
    log "aws is not on PATH: installing AWS CLI v1 (pip install awscli) into $VENV"
    bounded "$VENV/bin/pip" install -q --disable-pip-version-check awscli || die "pip install awscli failed"
  fi
  AWS=$VENV/bin/aws
fi

# ---------------------------------------------------------------------------------------
# Services: reuse running ones (and leave them running), else start them and stop them at exit.
services_answer() {
  [ -f "$SERVICES_ENV" ] || return 1
  (
    # shellcheck disable=SC1090
    . "$SERVICES_ENV"
    curl -sf -o /dev/null --max-time 5 "$SHIPML_TEST_S3_ENDPOINT/minio/health/live" &&
      curl -s -o /dev/null --max-time 5 "$SHIPML_TEST_AZURITE_ENDPOINT"
  )
}
ensure_services 'MinIO and Azurite'
# shellcheck disable=SC1090
. "$SERVICES_ENV"
for url in "$SHIPML_TEST_S3_ENDPOINT" "$SHIPML_TEST_AZURITE_ENDPOINT"; do
  [[ $url == http://127.0.0.1:* ]] || die "refusing to benchmark against $url: only 127.0.0.1 is allowed"
done

# The environment every measured command sees: local credentials only, no proxies, no
# user AWS config, no instance metadata lookups.
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN AZURE_STORAGE_KEY \
  AZURE_STORAGE_SAS_TOKEN SHIPML_MODEL_STORE HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export AWS_ACCESS_KEY_ID=$SHIPML_TEST_S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SHIPML_TEST_S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$SHIPML_TEST_AZURITE_ACCOUNT;AccountKey=$SHIPML_TEST_AZURITE_KEY;BlobEndpoint=$SHIPML_TEST_AZURITE_ENDPOINT;"
export CI=true

# ---------------------------------------------------------------------------------------
# Work area, test data, remote bucket and container.
WORK=$(mktemp -d /tmp/shipml-bench.XXXXXX)
mkdir -p "$WORK/src" "$WORK/pull" "$WORK/logs" "$WORK/home"
export AWS_CONFIG_FILE=$WORK/home/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/home/aws-credentials
export SHIPML_CACHE_DIR=$WORK/home/shipml-cache
SAMPLES=$WORK/samples.jsonl
: >"$SAMPLES"
cd "$WORK" # no shipml.yaml up the tree from here
SRC=$WORK/src/model.bin

log "writing $SIZE_MIB MiB of random bytes to $SRC"
bounded head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$SRC" || die "could not write the test file"

suffix=$(date +%s)-$$
BUCKET=shipml-bench-$suffix
CONTAINER=shipml-bench-$suffix
bounded "$AWS" s3 mb "s3://$BUCKET" --endpoint-url "$SHIPML_TEST_S3_ENDPOINT" >/dev/null ||
  { BUCKET=; die "could not create bucket"; }
bounded "$PY" "$HERE/azblob_tool.py" create-container "$CONTAINER" ||
  { CONTAINER=; die "could not create container"; }

# ---------------------------------------------------------------------------------------
FAILURES=0

# measure BACKEND TOOL DIRECTION RUN CHECK -- COMMAND...
# Runs COMMAND under GNU time (peak RSS, %M in KiB) and timeout, times it by wall clock,
# and appends a sample to $SAMPLES. CHECK is a file that must then equal $SRC, or '-'.
measure() {
  local backend=$1 tool=$2 direction=$3 run=$4 check=$5
  shift 6
  local tag=$backend-${tool// /_}-$direction-$run
  local out=$WORK/logs/$tag.log rssf=$WORK/logs/$tag.rss
  local t0 t1 rc=0 rss status=ok secs
  log "$backend: $tool $direction (run $run of $RUNS)"
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$rssf" timeout "$STEP_TIMEOUT" "$@" >"$out" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  t1=$EPOCHREALTIME
  CHILD=
  rss=$(tail -n 1 "$rssf" 2>/dev/null || true)
  [[ $rss =~ ^[0-9]+$ ]] || rss=0
  if ((rc == 124)); then
    status=timeout
  elif ((rc != 0)); then
    status=failed
  elif [ "$check" != - ] && ! cmp -s "$SRC" "$check"; then
    status=corrupt
  fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  if [ "$status" != ok ]; then
    FAILURES=$((FAILURES + 1))
    log "  $status (exit $rc); last lines of its output:"
    tail -n 20 "$out" | sed 's/^/    /' >&2
  else
    log "  $secs s, peak RSS $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
  fi
  [ "$check" = - ] || rm -rf "$check"
  printf '{"backend":"%s","tool":"%s","direction":"%s","run":%d,"seconds":%s,"rssKiB":%d,"exitCode":%d,"status":"%s"}\n' \
    "$backend" "$tool" "$direction" "$run" "$secs" "$rss" "$rc" "$status" >>"$SAMPLES"
}

# Publish with the registry copy (issue 14): ShipML's one read feeds the store and the
# registry; the usual way is the store tool, then `oras push` of the same file.
REG=$SHIPML_TEST_REGISTRY
[[ $REG == 127.0.0.1:* ]] || die "refusing to benchmark against registry $REG: only 127.0.0.1 is allowed"
ORAS=$(bash "$ROOT/scripts/attest-tools.sh" env | sed -n 's/^SHIPML_ORAS=//p')
[ -x "$ORAS" ] || die "oras is not installed: run scripts/attest-tools.sh install"
oras_push() { # repository: the file as a ModelPack raw weight
  (cd "$(dirname "$SRC")" && DOCKER_CONFIG=$WORK/home/docker "$ORAS" push --plain-http --no-tty \
    --artifact-type application/vnd.cncf.model.manifest.v1+json \
    "$REG/$1:1" "$(basename "$SRC"):application/vnd.cncf.model.weight.v1.raw" >/dev/null)
}
export -f oras_push
export ORAS REG SRC WORK

S3_URL="s3://$BUCKET/shipml?endpoint=$SHIPML_TEST_S3_ENDPOINT"
AZ_URL="azblob://$SHIPML_TEST_AZURITE_ACCOUNT/$CONTAINER/shipml"
S3_FLAGS=(--endpoint-url "$SHIPML_TEST_S3_ENDPOINT" --no-progress --only-show-errors)

for run in $(seq 1 "$RUNS"); do
  version=1.0.$run

  # file:// — ShipML vs cp into a directory and back; sha256sum alone as the verify floor.
  FILE_STORE=$WORK/file-store-$run
  CP_DIR=$WORK/cp-store-$run
  mkdir -p "$CP_DIR"
  measure file shipml upload "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL" --version "$version" --store "file://$FILE_STORE" --json
  measure file cp upload "$run" - -- cp "$SRC" "$CP_DIR/model.bin"
  measure file shipml download "$run" "$WORK/pull/file-shipml/model.bin" -- \
    node "$CLI" model pull "$MODEL@$version" "$WORK/pull/file-shipml" --store "file://$FILE_STORE" --no-cache --json
  measure file cp download "$run" "$WORK/pull/file-cp.bin" -- cp "$CP_DIR/model.bin" "$WORK/pull/file-cp.bin"
  measure file sha256sum read+hash "$run" - -- sha256sum "$SRC"
  measure file shipml publish+registry "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL" --version "$version" --store "file://$FILE_STORE-reg" \
    --registry "$REG/bench-$suffix/file-shipml-$run" --json
  # shellcheck disable=SC2016 # the inner bash expands them
  measure file "cp + sha256sum + oras push" publish+registry "$run" - -- \
    bash -c 'cp "$1" "$2/model-reg.bin" && sha256sum "$1" >/dev/null && oras_push "$3"' _ \
    "$SRC" "$CP_DIR" "bench-$suffix/file-oras-$run"
  rm -rf "$FILE_STORE" "$FILE_STORE-reg" "$CP_DIR"

  # s3:// on MinIO — ShipML vs aws s3 cp (AWS CLI v1, default multipart settings).
  measure s3 shipml upload "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL" --version "$version" --store "$S3_URL" --json
  measure s3 "aws s3 cp" upload "$run" - -- \
    "$AWS" s3 cp "$SRC" "s3://$BUCKET/baseline/model-$run.bin" "${S3_FLAGS[@]}"
  measure s3 shipml download "$run" "$WORK/pull/s3-shipml/model.bin" -- \
    node "$CLI" model pull "$MODEL@$version" "$WORK/pull/s3-shipml" --store "$S3_URL" --no-cache --json
  measure s3 "aws s3 cp" download "$run" "$WORK/pull/s3-aws.bin" -- \
    "$AWS" s3 cp "s3://$BUCKET/baseline/model-$run.bin" "$WORK/pull/s3-aws.bin" "${S3_FLAGS[@]}"

  measure s3 shipml publish+registry "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL-reg" --version "$version" --store "$S3_URL" \
    --registry "$REG/bench-$suffix/s3-shipml-$run" --json
  # shellcheck disable=SC2016 # the inner bash expands them
  measure s3 "aws s3 cp + oras push" publish+registry "$run" - -- \
    bash -c '"$1" s3 cp "$SRC" "$2" "${@:4}" && oras_push "$3"' _ \
    "$AWS" "s3://$BUCKET/baseline/model-reg-$run.bin" "bench-$suffix/s3-oras-$run" "${S3_FLAGS[@]}"

  # azblob:// on Azurite — ShipML vs azure-storage-blob (Python), max_concurrency=4.
  measure azblob shipml upload "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL" --version "$version" --store "$AZ_URL" --json
  measure azblob azure-storage-blob upload "$run" - -- \
    "$PY" "$HERE/azblob_tool.py" upload "$CONTAINER" "baseline/model-$run.bin" "$SRC"
  measure azblob shipml publish+registry "$run" - -- \
    node "$CLI" model publish "$SRC" --name "$MODEL-reg" --version "$version" --store "$AZ_URL" \
    --registry "$REG/bench-$suffix/az-shipml-$run" --json
  # shellcheck disable=SC2016 # the inner bash expands them
  measure azblob "azure-storage-blob + oras push" publish+registry "$run" - -- \
    bash -c '"$1" "$2" upload "$3" "$4" "$SRC" && oras_push "$5"' _ \
    "$PY" "$HERE/azblob_tool.py" "$CONTAINER" "baseline/model-reg-$run.bin" "bench-$suffix/az-oras-$run"
  measure azblob shipml download "$run" "$WORK/pull/az-shipml/model.bin" -- \
    node "$CLI" model pull "$MODEL@$version" "$WORK/pull/az-shipml" --store "$AZ_URL" --no-cache --json
  measure azblob azure-storage-blob download "$run" "$WORK/pull/az-py.bin" -- \
    "$PY" "$HERE/azblob_tool.py" download "$CONTAINER" "baseline/model-$run.bin" "$WORK/pull/az-py.bin"
done

# ---------------------------------------------------------------------------------------
# Start-up cost of each client with no transfer, to read small-file numbers against.
startup() {
  local t0 t1
  t0=$EPOCHREALTIME
  timeout 60 "$@" >/dev/null 2>&1 || { echo null; return; }
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
su_shipml=$(startup node "$CLI" --version)
su_aws=$(startup "$AWS" --version)
su_py=$(startup "$PY" -c 'import azure.storage.blob')

jstr() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }
git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=false
# Uncommitted changes to the CLI's sources (dist/ may have been built from them).
[ -z "$(git -C "$ROOT" status --porcelain -- packages/shipml/src packages/shipml/package.json 2>/dev/null)" ] ||
  git_dirty=true
shipml_version=$(node -p "require('$ROOT/packages/shipml/package.json').version")
aws_version=$("$AWS" --version 2>&1 | head -n 1)
azblob_version=$("$PY" -c 'import azure.storage.blob as b; print(b.__version__)')
python_version=$("$PY" -c 'import platform; print(platform.python_version())')
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
mem_mib=$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo 2>/dev/null || echo 0)
dist_built=$(date -u -r "$CLI" +%Y-%m-%dT%H:%M:%SZ)

cat >"$WORK/meta.json" <<JSON
{
  "sizeMiB": $SIZE_MIB,
  "sizeBytes": $((SIZE_MIB * 1024 * 1024)),
  "runs": $RUNS,
  "stepTimeoutSeconds": $STEP_TIMEOUT,
  "host": { "cpus": $(nproc), "cpuModel": $(jstr "$cpu_model"), "memTotalMiB": $mem_mib, "kernel": $(jstr "$(uname -r)") },
  "versions": {
    "shipml": $(jstr "$shipml_version"),
    "gitCommit": $(jstr "$git_commit"),
    "gitDirty": $git_dirty,
    "distBuiltAt": $(jstr "$dist_built"),
    "node": $(jstr "$(node --version)"),
    "awsCli": $(jstr "$aws_version"),
    "azureStorageBlob": $(jstr "$azblob_version"),
    "python": $(jstr "$python_version")
  },
  "services": { "reused": $([ "$STARTED_SERVICES" = 1 ] && echo false || echo true) },
  "startupSeconds": { "shipml --version": $su_shipml, "aws --version": $su_aws, "python import azure.storage.blob": $su_py }
}
JSON

report_rc=0
python3 "$HERE/report.py" "$WORK/meta.json" "$SAMPLES" "$RESULTS" || report_rc=$?
if ((FAILURES > 0 || report_rc != 0)); then
  log "$FAILURES step(s) failed; see the table"
  exit 1
fi
