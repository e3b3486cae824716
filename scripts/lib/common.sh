# shellcheck shell=bash
# Shared helpers for scripts/backup.sh and scripts/recovery.sh.
# Sourced, never executed. Callers run with `set -euo pipefail`.

# Exit codes used by both scripts (documented in scripts/README.md).
readonly EX_OK=0
readonly EX_FAIL=1      # an operation failed (database, S3, RDS, verification ...)
readonly EX_USAGE=2     # bad usage or a missing setting
readonly EX_VERIFY=3    # a backup failed verification (checksum, missing file, bad manifest)
readonly EX_UNHEALTHY=4 # verify-app: the application never answered healthy
export EX_OK EX_FAIL EX_USAGE EX_VERIFY EX_UNHEALTHY

shopt -s inherit_errexit
SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0")}
_START_EPOCH=$(date +%s)

# Progress goes to stderr with a UTC timestamp; stdout is kept for results.
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2; }
warn() { printf '%s %s: warning: %s\n' "$(date -u +%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2; }

# die [code] message: one line `error: ...` on stderr, then exit.
die() {
  local code=$EX_FAIL
  if [[ $# -gt 1 && $1 =~ ^[0-9]+$ ]]; then code=$1; shift; fi
  printf 'error: %s\n' "$*" >&2
  exit "$code"
}

usage_error() { die "$EX_USAGE" "$* (see --help)"; }

# require_env VAR "what it is for": exit 2 naming the variable when unset or empty.
require_env() {
  local var=$1 what=$2
  if [[ -z ${!var:-} ]]; then
    die "$EX_USAGE" "missing setting: $var ($what); export $var or pass the matching flag (see --help)"
  fi
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "$EX_FAIL" "required command not found: $c"
  done
}

# Flag value helper: need_value --flag "$#" ; fails when the flag has no value.
need_value() {
  if [[ $2 -lt 2 ]]; then usage_error "$1 needs a value"; fi
}

elapsed() { echo $(( $(date +%s) - _START_EPOCH )); }

# phase NAME: end the current phase (its wall time is recorded) and start NAME; phase "" ends it.
# phase_times: the recorded phases as "name 1.2s, name 0.3s" (for the final log line).
_PHASES=()
_PHASE_NAME=""
_PHASE_T0=0
phase() {
  local now=${EPOCHREALTIME//[.,]/} d
  if [[ -n $_PHASE_NAME ]]; then
    d=$(( (now - _PHASE_T0 + 50000) / 100000 ))
    _PHASES+=("$_PHASE_NAME $((d / 10)).$((d % 10))s")
  fi
  _PHASE_NAME=$1; _PHASE_T0=$now
}
phase_times() {
  phase ""
  local out="" p
  for p in "${_PHASES[@]+"${_PHASES[@]}"}"; do out+="${out:+, }$p"; done
  printf '%s' "$out"
}

utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }
utc_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

human_size() {
  local bytes=$1
  if command -v numfmt >/dev/null 2>&1; then
    numfmt --to=iec --suffix=B "$bytes"
  else
    echo "${bytes}B"
  fi
}

# Lowercase slug usable in RDS identifiers: [a-z0-9-], no double or trailing hyphens.
slugify() {
  local s
  s=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '-' | tr -s '-')
  s=${s#-}; s=${s%-}
  s=${s:0:40}; s=${s%-}
  printf '%s' "${s:-manual}"
}

default_jobs() {
  local n
  n=$(nproc 2>/dev/null || echo 2)
  [[ $n -ge 1 ]] || n=1
  echo "$n"
}

# ---------- cleanup and signals: no eval of data ----------
# Paths to remove, processes to stop and functions to call (by name, no arguments) on exit,
# newest first. Children started with run_child are stopped at once on SIGTERM/SIGINT/SIGHUP,
# then the cleanups run and the script exits 128+signal.
_CLEANUP_PATHS=()
_CLEANUP_FNS=()
_CHILD_PIDS=()
_SIGNAL=""
cleanup_path() { _CLEANUP_PATHS+=("$1"); }
cleanup_fn() { _CLEANUP_FNS+=("$1"); }
cleanup_pid() { _CHILD_PIDS+=("$1"); }

# _descendants PID: PID's children, grandchildren ... (Linux /proc).
_descendants() {
  local pid=$1 c f
  for f in /proc/"$pid"/task/*/children; do
    [[ -r $f ]] || continue
    for c in $(<"$f"); do
      printf '%s\n' "$c"
      _descendants "$c"
    done
  done
}

# stop_children: TERM every tracked child and its descendants, then KILL what is left after 5 s.
stop_children() {
  local pids=() p i
  for p in "${_CHILD_PIDS[@]+"${_CHILD_PIDS[@]}"}"; do
    kill -0 "$p" 2>/dev/null || continue
    pids+=("$p")
    mapfile -t -O "${#pids[@]}" pids < <(_descendants "$p" || true)
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do
    local alive=0
    for p in "${pids[@]}"; do if kill -0 "$p" 2>/dev/null; then alive=1; break; fi; done
    [[ $alive == 1 ]] || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for p in "${_CHILD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

_run_cleanups() {
  local rc=$? i
  trap - EXIT
  [[ -z $_SIGNAL ]] || rc=$_SIGNAL
  stop_children
  for (( i=${#_CLEANUP_FNS[@]}-1; i>=0; i-- )); do
    "${_CLEANUP_FNS[$i]}" || true
  done
  for (( i=${#_CLEANUP_PATHS[@]}-1; i>=0; i-- )); do
    rm -rf -- "${_CLEANUP_PATHS[$i]}" || true
  done
  exit "$rc"
}

_on_signal() {
  local name=$1 num=$2
  trap '' INT TERM HUP
  _SIGNAL=$(( 128 + num ))
  printf '%s %s: received SIG%s: stopping\n' "$(date -u +%H:%M:%SZ || true)" "$SCRIPT_NAME" "$name" >&2
  exit "$_SIGNAL"
}
trap _run_cleanups EXIT
trap '_on_signal INT 2' INT
trap '_on_signal TERM 15' TERM
trap '_on_signal HUP 1' HUP

# run_child [--err FILE] [--out FILE] CMD...: run a long command as a tracked child and wait for
# it (a signal interrupts the wait at once, so SIGTERM reaches the script while pg_restore or a
# download runs). Redirections are given here, for the child only: the script's own stderr stays
# the terminal's when a signal arrives.
run_child() {
  local err="" out=""
  while [[ $1 == --err || $1 == --out ]]; do
    if [[ $1 == --err ]]; then err=$2; else out=$2; fi
    shift 2
  done
  if [[ -n $err && -n $out ]]; then "$@" >"$out" 2>"$err" &
  elif [[ -n $err ]]; then "$@" 2>"$err" &
  elif [[ -n $out ]]; then "$@" >"$out" &
  else "$@" &
  fi
  local pid=$!
  cleanup_pid "$pid"
  wait "$pid"
}

# ---------- AWS ----------
# Endpoint: --endpoint-url flag sets AWS_ENDPOINT_URL (also read by the CLI itself).
aws_base_args() {
  AWS_ARGS=()
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then AWS_ARGS+=(--endpoint-url "$AWS_ENDPOINT_URL"); fi
}

# aws_call REGION what... -- runs `aws` with region/endpoint; on failure dies with the CLI's last line.
aws_call() {
  local region=$1; shift
  local out rc=0
  aws_base_args
  out=$(aws "${AWS_ARGS[@]}" --region "$region" "$@" 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then
    local last
    last=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1)
    die "$EX_FAIL" "aws $1 $2 failed (region $region${AWS_ENDPOINT_URL:+, endpoint $AWS_ENDPOINT_URL}): ${last:-exit $rc}"
  fi
  printf '%s' "$out"
}

s3_sse_args() {
  SSE_ARGS=()
  if [[ -n ${BACKUP_SSE:-} ]]; then SSE_ARGS+=(--sse "$BACKUP_SSE"); fi
  if [[ -n ${BACKUP_KMS_KEY_ID:-} ]]; then
    [[ -n ${BACKUP_SSE:-} ]] || SSE_ARGS+=(--sse aws:kms)
    SSE_ARGS+=(--sse-kms-key-id "$BACKUP_KMS_KEY_ID")
  fi
}

# Fail fast (before an hour-long dump) when the bucket cannot be reached.
s3_preflight() {
  local bucket=$1 region=$2
  aws_call "$region" s3api head-bucket --bucket "$bucket" >/dev/null
}

# Poll an RDS resource until it reaches a status. kind: instance|snapshot
rds_wait_status() {
  local kind=$1 id=$2 region=$3 want=$4 timeout=${5:-7200} interval=${RDS_POLL_INTERVAL:-30}
  local deadline=$(( $(date +%s) + timeout )) status last=""
  while :; do
    if [[ $kind == snapshot ]]; then
      status=$(aws_call "$region" rds describe-db-snapshots --db-snapshot-identifier "$id" \
        --query 'DBSnapshots[0].Status' --output text)
    else
      status=$(aws_call "$region" rds describe-db-instances --db-instance-identifier "$id" \
        --query 'DBInstances[0].DBInstanceStatus' --output text)
    fi
    if [[ $status != "$last" ]]; then log "$kind $id: $status"; last=$status; fi
    [[ $status == "$want" ]] && return 0
    case $status in
      failed|incompatible-*|deleting|deleted|storage-full|inaccessible-encryption-credentials*)
        die "$EX_FAIL" "$kind $id entered status '$status' while waiting for '$want'";;
    esac
    if [[ $(date +%s) -ge $deadline ]]; then
      die "$EX_FAIL" "timed out after ${timeout}s waiting for $kind $id to be '$want' (last status '$status')"
    fi
    sleep "$interval"
  done
}

# Interactive confirmation; non-interactive callers must pass --yes.
confirm() {
  local prompt=$1 yes=$2
  [[ $yes == 1 ]] && return 0
  if [[ -t 0 ]]; then
    local answer
    read -r -p "$prompt Type 'yes' to continue: " answer
    [[ $answer == yes ]] || die "$EX_FAIL" "aborted by operator"
  else
    die "$EX_USAGE" "refusing to continue without confirmation: not a terminal, pass --yes"
  fi
}

# first_error FILE: the most telling line of a tool's stderr (first "error:"/"FATAL:" line, else the last line).
first_error() {
  local line
  line=$(grep -m 1 -E '(error|FATAL|ERROR):' "$1" 2>/dev/null || true)
  [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 || true)
  printf '%s' "$line"
}

# Global flags of both runbooks. REGION: the AWS region (flag, then $AWS_REGION, then $AWS_DEFAULT_REGION).
# shellcheck disable=SC2034 # read by backup.sh and recovery.sh
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}

# Splits the global flags (--endpoint-url, --region) out of the arguments into their settings;
# the rest goes to ARGS, for the command to parse.
ARGS=()
# shellcheck disable=SC2034 # REGION is read by backup.sh and recovery.sh
parse_globals() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      --endpoint-url) need_value "$1" "$#"; export AWS_ENDPOINT_URL=$2; shift 2;;
      --endpoint-url=*) export AWS_ENDPOINT_URL=${1#*=}; shift;;
      --region) need_value "$1" "$#"; REGION=$2; shift 2;;
      --region=*) REGION=${1#*=}; shift;;
      *) ARGS+=("$1"); shift;;
    esac
  done
}
