#!/usr/bin/env bash
# Operator notes on the public status page (the plan's "Communication Plan": real-time status updates).
# Invokes the status page's function in the DR region, which adds the note to the open incident (or a
# new notice) and re-renders the page. Conventions: scripts/README.md.
set -euo pipefail

PROG=status.sh
NOTE_STATUSES="investigating identified monitoring resolved update"

usage() {
  cat <<'USAGE'
usage: status.sh [--region REGION] [--endpoint-url URL] [--function NAME] post MESSAGE [--status STATUS] [--new [--title TITLE]]

Commands:
  post MESSAGE   add MESSAGE to the status page: to the open incident, or as a new notice (--new)

Options:
  --status STATUS  investigating | identified | monitoring | resolved | update (default: update);
                   resolved also closes the incident
  --new            start a new notice instead of updating the open incident
  --title TITLE    the new notice's title (default: Notice)
  --function NAME  the status page's function (default: STATUS_FUNCTION, then genie-status-function)
  --region REGION  the DR region, where the page's function runs (default: AWS_REGION, then AWS_DEFAULT_REGION)
  --endpoint-url URL  AWS endpoint (default: AWS_ENDPOINT_URL)
  -h, --help       this help

Prints "posted: <note id>" on success. Exit codes: 0 ok, 1 the function failed, 2 bad usage or a missing setting.
USAGE
}

log() { local now; now=$(date -u +%H:%M:%SZ); printf '%s %s: %s\n' "${now}" "${PROG}" "$*" >&2; }
die() { printf 'error: %s\n' "$2" >&2; exit "$1"; }

region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
endpoint=${AWS_ENDPOINT_URL:-}
function_name=${STATUS_FUNCTION:-genie-status-function}
command=""
message=""
note_status=update
new=false
title=""

while [[ $# -gt 0 ]]; do
  case $1 in
    -h|--help) usage; exit 0;;
    --region) [[ $# -ge 2 ]] || die 2 "--region needs a value"; region=$2; shift 2;;
    --endpoint-url) [[ $# -ge 2 ]] || die 2 "--endpoint-url needs a value"; endpoint=$2; shift 2;;
    --function) [[ $# -ge 2 ]] || die 2 "--function needs a value"; function_name=$2; shift 2;;
    --status) [[ $# -ge 2 ]] || die 2 "--status needs a value"; note_status=$2; shift 2;;
    --title) [[ $# -ge 2 ]] || die 2 "--title needs a value"; title=$2; shift 2;;
    --new) new=true; shift;;
    -*) die 2 "unknown option: $1 (see --help)";;
    *)
      if [[ -z ${command} ]]; then command=$1
      elif [[ -z ${message} ]]; then message=$1
      else die 2 "unexpected argument: $1 (quote the message)"
      fi
      shift;;
  esac
done

[[ ${command} == post ]] || die 2 "unknown or missing command: '${command}' (allowed: post; see --help)"
[[ -n ${message//[[:space:]]/} ]] || die 2 "post needs a MESSAGE (what customers should read)"
case " ${NOTE_STATUSES} " in
  *" ${note_status} "*) ;;
  *) die 2 "--status ${note_status}: allowed: ${NOTE_STATUSES// /, }";;
esac
[[ -n ${region} ]] || die 2 "missing setting: AWS_REGION (--region: the DR region, where the status page's function runs)"
command -v aws >/dev/null 2>&1 || die 2 "the AWS CLI (aws) is not on PATH"
command -v jq >/dev/null 2>&1 || die 2 "jq is not on PATH"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
jq -n --arg message "${message}" --arg status "${note_status}" --argjson new "${new}" --arg title "${title}" \
  '{kind: "note", message: $message, status: $status} + (if $new then {new: true} else {} end) + (if $title != "" then {title: $title} else {} end)' \
  >"${work}/payload.json"

aws_args=(--region "${region}" --output json)
[[ -z ${endpoint} ]] || aws_args+=(--endpoint-url "${endpoint}")
log "posting to ${function_name} in ${region}"
# fileb:// is read as raw bytes by both AWS CLI v1 and v2 (v2 would base64-decode a plain --payload string).
if ! aws "${aws_args[@]}" lambda invoke --function-name "${function_name}" --payload "fileb://${work}/payload.json" "${work}/response.json" >"${work}/invoke.json" 2>"${work}/stderr"; then
  die 1 "invoking ${function_name} failed: $(tail -n 3 "${work}/stderr" || true)"
fi
function_error=$(jq -r '.FunctionError // empty' "${work}/invoke.json")
if [[ -n ${function_error} ]]; then
  die 1 "${function_name} refused the note: $(jq -r '.errorMessage // .' "${work}/response.json" || true)"
fi
note=$(jq -r '.note // empty' "${work}/response.json")
[[ -n ${note} ]] || die 1 "${function_name} answered without a note id: $(cat "${work}/response.json" || true)"
printf 'posted: %s\n' "${note}"
