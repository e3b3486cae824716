#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Genie AI Server backup runbook (DR plan, Appendix A). See scripts/README.md.
#
#   backup.sh db-dump      logical dump (parallel, compressed, manifest) kept locally + uploaded to S3
#   backup.sh db-snapshot  manual RDS snapshot before a deployment / schema change / maintenance
#   backup.sh redis        Redis RDB snapshot uploaded to S3
#   backup.sh verify       daily validation of the newest (or a given) backup
set -euo pipefail

# shellcheck disable=SC2034 # read by lib/common.sh
SCRIPT_NAME=backup.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/dump.sh
. "$SCRIPT_DIR/lib/dump.sh"

main_usage() {
  cat <<'EOF'
Usage: backup.sh <command> [options]

Commands:
  db-dump       logical dump of the database, kept locally and uploaded to s3://$BACKUP_BUCKET/db/<kind>/<ts>/
  db-snapshot   manual RDS snapshot, tagged with the reason, waits until available
  redis         Redis RDB snapshot, gzipped, uploaded to s3://$BACKUP_BUCKET/redis/<ts>/
  verify        validate the newest (or a given) logical backup

Global options (before or after the command):
  --endpoint-url URL   AWS API endpoint (default $AWS_ENDPOINT_URL; for tests against moto)
  --region REGION      AWS region (default $AWS_REGION, then $AWS_DEFAULT_REGION)
  -h, --help           help; `backup.sh <command> --help` for a command

Exit codes: 0 ok, 1 failure, 2 usage or missing setting, 3 backup failed verification.
EOF
}


need_region() { [[ -n $REGION ]] || die "$EX_USAGE" "missing setting: AWS_REGION (AWS region of the backup bucket / RDS instance); export AWS_REGION or pass --region"; }

# ----------------------------------------------------------------------------------------
db_dump_usage() {
  cat <<'EOF'
Usage: backup.sh db-dump [--kind daily|weekly|auto] [--jobs N] [--compress 0-9] [--local-only]
                         [--keep-local N] [--backup-dir DIR] [--bucket NAME]

Dumps $PGDATABASE with `pg_dump -Fd -j N` (directory format, gzip per table) from one exported
snapshot, counts rows per table in that same snapshot, writes MANIFEST.json last, uploads the
dump then the manifest to s3://$BACKUP_BUCKET/db/<kind>/<UTC timestamp>/, and only then moves
the local copy into $BACKUP_DIR/db/<kind>/<timestamp>/. Any failure exits non-zero and leaves
no manifest anywhere; older backups are never touched (unless --keep-local prunes, after success).

Settings (env, flag):
  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   standard libpq settings (PGDATABASE required)
  DB_SECRET_ID       Secrets Manager secret (JSON with password, username, host, port, dbname)
                     read when PGPASSWORD is not set; explicit PG* settings win
  BACKUP_BUCKET      --bucket       S3 bucket for backups (required unless --local-only)
  BACKUP_DIR         --backup-dir   local backup root (required)
  BACKUP_KIND        --kind         daily (default), weekly, or auto (weekly for the first run
                                    on Sunday UTC, 00:00-05:59, daily otherwise)
  BACKUP_JOBS        --jobs         parallel dump jobs (default: CPU count)
  BACKUP_COMPRESS    --compress     gzip level 0-9 (default 6)
  BACKUP_KEEP_LOCAL  --keep-local   keep only the newest N local backups of this kind (default 0 = keep all)
  BACKUP_SSE, BACKUP_KMS_KEY_ID     server-side encryption for uploads (aws:kms and a key id)
  AWS_REGION, AWS_ENDPOINT_URL      AWS region and optional endpoint

Example:
  PGHOST=db.internal PGUSER=genie PGDATABASE=genie BACKUP_BUCKET=genie-backups \
  BACKUP_DIR=/var/backups/genie AWS_REGION=us-east-1 scripts/backup.sh db-dump --kind auto
EOF
}

cmd_db_dump() {
  local kind=${BACKUP_KIND:-daily} jobs=${BACKUP_JOBS:-} level=${BACKUP_COMPRESS:-6}
  local local_only=0 keep=${BACKUP_KEEP_LOCAL:-0} bucket=${BACKUP_BUCKET:-} root=${BACKUP_DIR:-}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --kind) need_value "$1" "$#"; kind=$2; shift 2;;
      --weekly) kind=weekly; shift;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      --compress|-Z) need_value "$1" "$#"; level=$2; shift 2;;
      --local-only) local_only=1; shift;;
      --keep-local) need_value "$1" "$#"; keep=$2; shift 2;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      -h|--help) db_dump_usage; return 0;;
      *) usage_error "db-dump: unknown option '$1'";;
    esac
  done
  [[ -n $jobs ]] || jobs=$(default_jobs)
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs must be a positive integer, got '$jobs'"
  [[ $level =~ ^[0-9]$ ]] || usage_error "--compress must be 0-9, got '$level'"
  [[ $keep =~ ^[0-9]+$ ]] || usage_error "--keep-local must be a number, got '$keep'"
  case $kind in
    daily|weekly) ;;
    auto) if [[ $(date -u +%u) == 7 && $(date -u +%-H) -lt 6 ]]; then kind=weekly; else kind=daily; fi;;
    *) usage_error "--kind must be daily, weekly or auto, got '$kind'";;
  esac
  pg_credentials_from_secret "$REGION"
  require_env PGDATABASE "name of the database to dump"
  BACKUP_DIR=$root; require_env BACKUP_DIR "local directory that keeps a copy of every backup"
  if [[ $local_only == 0 ]]; then
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that receives the backups (or pass --local-only)"
    need_region
  fi
  require_cmd pg_dump pg_restore psql jq sha256sum
  [[ $local_only == 1 ]] || require_cmd aws

  local db=$PGDATABASE stamp started dest_parent tmp dest
  started=$(utc_iso)
  stamp=$(utc_stamp)
  dest_parent=$root/db/$kind
  mkdir -p "$dest_parent" || die "cannot create backup directory $dest_parent"
  dest=$dest_parent/$stamp
  [[ ! -e $dest ]] || die "backup $dest already exists (two runs in the same second?)"

  # One dump at a time per backup root (the scheduled job and an operator may overlap).
  exec 9>"$root/.db-dump.lock"
  flock -n 9 || die "another db-dump is running (lock $root/.db-dump.lock)"

  # Work in a temp directory next to the final one; removed on any failure.
  tmp=$dest_parent/.tmp-$stamp-$$
  mkdir "$tmp"
  add_cleanup "rm -rf -- '$tmp'"

  log "db-dump $kind of '$db' (${PGHOST:-socket}:${PGPORT:-5432}) jobs=$jobs gzip=$level -> $dest"
  pg_check_connect "$db"
  [[ $local_only == 1 ]] || s3_preflight "$bucket" "$REGION"

  local server_version pg_dump_version
  server_version=$(psql_at "$db" 'SHOW server_version')
  pg_dump_version=$(pg_dump --version | sed 's/^pg_dump (PostgreSQL) //')

  # Hold a transaction open that exports its snapshot: pg_dump and the row counts share it.
  local snapshot=""
  coproc SNAP { "${PSQL_BASE[@]}" -At -d "$db" 2>&1; }
  # shellcheck disable=SC2153 # SNAP_PID is set by coproc
  local snap_pid=$SNAP_PID
  add_cleanup "kill $snap_pid 2>/dev/null || true"
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n' >&"${SNAP[1]}"
  if ! read -r -t 60 snapshot <&"${SNAP[0]}"; then die "could not export a snapshot from '$db'"; fi
  [[ $snapshot =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "could not export a snapshot from '$db': $snapshot"
  log "snapshot $snapshot exported"

  # Row counts in the background, same snapshot as the dump.
  count_rows "$db" "$snapshot" >"$tmp/.rows.jsonl" 2>"$tmp/.rows.err" &
  local counts_pid=$!
  add_cleanup "kill $counts_pid 2>/dev/null || true"

  local dump_err=$tmp/.pg_dump.err
  if ! pg_dump -Fd -j "$jobs" -Z "$level" --snapshot="$snapshot" -f "$tmp/dump" -d "$db" 2>"$dump_err"; then
    die "pg_dump of '$db' failed: $(first_error "$dump_err")"
  fi
  if ! wait "$counts_pid"; then
    die "row counts of '$db' failed: $(first_error "$tmp/.rows.err")"
  fi
  printf 'COMMIT;\n\\q\n' >&"${SNAP[1]}" || true
  wait "$snap_pid" 2>/dev/null || true
  log "dump written ($(du -sh "$tmp/dump" | cut -f1)), $(wc -l <"$tmp/.rows.jsonl") tables counted"

  # Checksums of every file (parallel), then the manifest, written last.
  (cd "$tmp" && find dump -type f -printf '%s %p\n' | LC_ALL=C sort -k2) >"$tmp/.sizes"
  (cd "$tmp" && find dump -type f -print0 | xargs -0 -P "$jobs" -n 4 sha256sum | LC_ALL=C sort -k2) >"$tmp/.sums"
  local finished
  finished=$(utc_iso)
  jq -n \
    --arg format "$MANIFEST_FORMAT" --arg kind "$kind" --arg db "$db" --arg stamp "$stamp" \
    --arg server_version "$server_version" --arg pg_dump_version "$pg_dump_version" \
    --arg started "$started" --arg finished "$finished" --arg snapshot "$snapshot" \
    --arg host "$(hostname)" --arg pghost "${PGHOST:-}" \
    --argjson jobs "$jobs" --argjson level "$level" \
    --rawfile sizes "$tmp/.sizes" --rawfile sums "$tmp/.sums" --slurpfile tables "$tmp/.rows.jsonl" '
    ($sizes | split("\n") | map(select(length > 0) | capture("^(?<bytes>[0-9]+) (?<path>.*)$"))
       | map({key: .path, value: (.bytes | tonumber)}) | from_entries) as $size
    | ($sums | split("\n") | map(select(length > 0) | capture("^(?<sha256>[0-9a-f]{64})  (?<path>.*)$"))) as $files
    | {
        format: $format, kind: $kind, timestamp: $stamp, database: $db,
        server_version: $server_version, pg_dump_version: $pg_dump_version,
        started_at: $started, finished_at: $finished, snapshot: $snapshot,
        dump: {format: "directory", compression: "gzip:\($level)", jobs: $jobs},
        source: {host: $host, pghost: $pghost},
        total_bytes: ([$files[] | $size[.path]] | add),
        files: [$files[] | {path, sha256, bytes: $size[.path]}],
        tables: $tables
      }' >"$tmp/.manifest.json"
  rm -f "$tmp/.rows.jsonl" "$tmp/.rows.err" "$tmp/.sizes" "$tmp/.sums" "$dump_err"
  local nfiles
  nfiles=$(jq '.files | length' "$tmp/.manifest.json")
  [[ $nfiles -gt 0 ]] || die "manifest lists no files"
  mv "$tmp/.manifest.json" "$tmp/MANIFEST.json"

  # Upload: data first, manifest last (a prefix without a manifest is not a backup).
  local total_bytes prefix=db/$kind/$stamp
  total_bytes=$(jq '.total_bytes' "$tmp/MANIFEST.json")
  if [[ $local_only == 0 ]]; then
    s3_sse_args
    log "uploading $nfiles files ($(human_size "$total_bytes")) to s3://$bucket/$prefix/"
    aws_call "$REGION" s3 cp --recursive --only-show-errors "${SSE_ARGS[@]}" "$tmp/dump" "s3://$bucket/$prefix/dump/" >/dev/null
    aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]}" "$tmp/MANIFEST.json" "s3://$bucket/$prefix/MANIFEST.json" >/dev/null
  fi

  # Publish the local copy atomically.
  mv -T "$tmp" "$dest"

  if [[ $keep -gt 0 ]]; then prune_local "$dest_parent" "$keep" "$stamp"; fi

  local where=$dest
  [[ $local_only == 1 ]] || where="$dest and s3://$bucket/$prefix/"
  log "done in $(elapsed)s"
  printf 'db-dump ok: %s %s, %s files, %s, %s tables, %ss -> %s\n' "$kind" "$db" "$nfiles" \
    "$(human_size "$total_bytes")" "$(jq '.tables | length' "$dest/MANIFEST.json")" "$(elapsed)" "$where"
}

# prune_local DIR KEEP NEWEST: delete complete local backups beyond the newest KEEP; never NEWEST.
prune_local() {
  local dir=$1 keep=$2 newest=$3 d n=0
  while IFS= read -r d; do
    [[ -n $d ]] || continue
    n=$((n + 1))
    [[ $n -gt $keep && $d != "$newest" ]] || continue
    [[ -f $dir/$d/MANIFEST.json ]] || continue
    log "pruning local backup $dir/$d (keeping newest $keep)"
    rm -rf -- "${dir:?}/$d"
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E "$STAMP_RE" | LC_ALL=C sort -r)
}

# ----------------------------------------------------------------------------------------
verify_usage() {
  cat <<'EOF'
Usage: backup.sh verify [--backup DIR|STAMP|s3://bucket/db/<kind>/<stamp>] [--from-s3] [--quick]
                        [--backup-dir DIR] [--bucket NAME] [--jobs N]

The plan's daily validation. Picks the newest complete local backup under $BACKUP_DIR (or with
--from-s3 the newest in s3://$BACKUP_BUCKET/db/, downloaded to a temp dir) and checks: manifest
present and complete, every listed file present with the recorded size and sha256, no unlisted
file, pg_restore reads the archive and it holds data for every table of the manifest, and
(unless --quick) every gzip stream decompresses. Exit 0 and `verify ok: ...`, or exit 3 with
`error: verify failed: <reason>`.

Example:
  BACKUP_DIR=/var/backups/genie scripts/backup.sh verify
  BACKUP_BUCKET=genie-backups AWS_REGION=us-east-1 scripts/backup.sh verify --from-s3
EOF
}

cmd_verify() {
  local target="" from_s3=0 deep=1 root=${BACKUP_DIR:-} bucket=${BACKUP_BUCKET:-} jobs
  jobs=$(default_jobs)
  while [[ $# -gt 0 ]]; do
    case $1 in
      --backup) need_value "$1" "$#"; target=$2; shift 2;;
      --from-s3) from_s3=1; shift;;
      --quick) deep=0; shift;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      -h|--help) verify_usage; return 0;;
      *) usage_error "verify: unknown option '$1'";;
    esac
  done
  require_cmd jq sha256sum pg_restore
  local dir prefix=""
  if [[ $target == s3://* ]]; then
    local rest=${target#s3://}; bucket=${rest%%/*}; prefix=${rest#*/}; prefix=${prefix%/}
    from_s3=1
  elif [[ $from_s3 == 1 && -n $target ]]; then
    prefix=$target
  fi
  if [[ $from_s3 == 1 ]]; then
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that holds the backups"
    need_region; require_cmd aws
    if [[ -z $prefix ]]; then
      prefix=$(newest_s3 "$bucket" "$REGION")
      [[ -n $prefix ]] || die "$EX_VERIFY" "verify failed: no backup with a manifest in s3://$bucket/db/"
    elif [[ $prefix =~ $STAMP_RE ]]; then
      die "$EX_USAGE" "give the full S3 prefix (db/daily/$prefix or db/weekly/$prefix)"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/genie-verify.XXXXXX")
    add_cleanup "rm -rf -- '$dir'"
    fetch_s3 "$bucket" "$REGION" "$prefix" "$dir"
  elif [[ -n $target && -d $target ]]; then
    dir=$target
  else
    BACKUP_DIR=$root; require_env BACKUP_DIR "local directory that keeps the backups"
    if [[ -n $target ]]; then
      [[ $target =~ $STAMP_RE ]] || die "$EX_VERIFY" "verify failed: backup not found: $target"
      dir=""
      for d in "$root/db/daily/$target" "$root/db/weekly/$target"; do [[ -d $d ]] && dir=$d; done
      [[ -n $dir ]] || die "$EX_VERIFY" "verify failed: backup $target not found under $root/db/"
    else
      dir=$(newest_local "$root")
      [[ -n $dir ]] || die "$EX_VERIFY" "verify failed: no complete backup (with MANIFEST.json) under $root/db/"
    fi
  fi
  log "verifying ${prefix:+s3://$bucket/$prefix/ via }$dir"
  verify_backup "$dir" "$deep" "$jobs"
  local m=$dir/MANIFEST.json
  printf 'verify ok: %s (%s, database %s, PostgreSQL %s, %s files, %s, %s tables, %s rows, finished %s)\n' \
    "${prefix:+s3://$bucket/$prefix}${prefix:-$dir}" "$(jq -r .kind "$m")" "$(jq -r .database "$m")" \
    "$(jq -r .server_version "$m")" "$(jq '.files | length' "$m")" "$(human_size "$(jq '.total_bytes // 0' "$m")")" \
    "$(jq '.tables | length' "$m")" "$(jq '[.tables[].rows] | add // 0' "$m")" "$(jq -r .finished_at "$m")"
}

# ----------------------------------------------------------------------------------------
db_snapshot_usage() {
  cat <<'EOF'
Usage: backup.sh db-snapshot --reason TEXT [--instance ID] [--no-wait] [--timeout SECONDS]

The plan's manual backup (before a major deployment, a schema change, maintenance): creates the
RDS snapshot genie-manual-<reason-slug>-<YYYYmmdd-HHMMSS> of $DB_INSTANCE_ID, tagged
reason=<TEXT>, created-by=backup.sh, and waits until it is available (default timeout 7200 s).
Prints the snapshot identifier on stdout.

Settings: DB_INSTANCE_ID (--instance), AWS_REGION (--region), AWS_ENDPOINT_URL,
          RDS_POLL_INTERVAL (seconds between status checks, default 30).

Example:
  DB_INSTANCE_ID=genie-production AWS_REGION=us-east-1 \
  scripts/backup.sh db-snapshot --reason "before deploy v2.3.0"
EOF
}

cmd_db_snapshot() {
  local reason="" instance=${DB_INSTANCE_ID:-} wait=1 timeout=7200
  while [[ $# -gt 0 ]]; do
    case $1 in
      --reason) need_value "$1" "$#"; reason=$2; shift 2;;
      --instance) need_value "$1" "$#"; instance=$2; shift 2;;
      --no-wait) wait=0; shift;;
      --timeout) need_value "$1" "$#"; timeout=$2; shift 2;;
      -h|--help) db_snapshot_usage; return 0;;
      *) usage_error "db-snapshot: unknown option '$1'";;
    esac
  done
  [[ -n $reason ]] || usage_error "db-snapshot: --reason is required (why this snapshot is taken, e.g. \"before deploy v2.3\")"
  DB_INSTANCE_ID=$instance; require_env DB_INSTANCE_ID "RDS instance identifier to snapshot"
  need_region; require_cmd aws jq
  local id tags
  id="genie-manual-$(slugify "$reason")-$(date -u +%Y%m%d-%H%M%S)"
  tags=$(jq -nc --arg r "${reason:0:256}" '[{Key: "reason", Value: $r}, {Key: "created-by", Value: "backup.sh"}]')
  log "creating snapshot $id of $instance ($REGION): $reason"
  aws_call "$REGION" rds create-db-snapshot --db-instance-identifier "$instance" \
    --db-snapshot-identifier "$id" --tags "$tags" >/dev/null
  if [[ $wait == 1 ]]; then rds_wait_status snapshot "$id" "$REGION" available "$timeout"; fi
  log "done in $(elapsed)s"
  printf '%s\n' "$id"
}

# ----------------------------------------------------------------------------------------
redis_usage() {
  cat <<'EOF'
Usage: backup.sh redis [--host HOST] [--port PORT] [--tls] [--bucket NAME] [--backup-dir DIR] [--local-only]

Takes an RDB snapshot with `redis-cli --rdb` (needs SYNC: self-managed Redis; for ElastiCache use
its scheduled snapshots), gzips it, writes MANIFEST.json (sha256, size, time) and uploads both to
s3://$BACKUP_BUCKET/redis/<UTC timestamp>/ (manifest last); a local copy stays in
$BACKUP_DIR/redis/<timestamp>/.

Settings: REDIS_HOST (--host, required), REDIS_PORT (--port, default 6379), REDISCLI_AUTH (password),
          REDIS_TLS=1 (--tls), BACKUP_BUCKET, BACKUP_DIR, AWS_REGION, BACKUP_SSE, BACKUP_KMS_KEY_ID.

Example:
  REDIS_HOST=127.0.0.1 BACKUP_BUCKET=genie-backups BACKUP_DIR=/var/backups/genie \
  AWS_REGION=us-east-1 scripts/backup.sh redis
EOF
}

cmd_redis() {
  local host=${REDIS_HOST:-} port=${REDIS_PORT:-6379} tls=${REDIS_TLS:-0} local_only=0
  local bucket=${BACKUP_BUCKET:-} root=${BACKUP_DIR:-}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --host) need_value "$1" "$#"; host=$2; shift 2;;
      --port) need_value "$1" "$#"; port=$2; shift 2;;
      --tls) tls=1; shift;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --local-only) local_only=1; shift;;
      -h|--help) redis_usage; return 0;;
      *) usage_error "redis: unknown option '$1'";;
    esac
  done
  REDIS_HOST=$host; require_env REDIS_HOST "Redis host to snapshot"
  BACKUP_DIR=$root; require_env BACKUP_DIR "local directory that keeps a copy of every backup"
  if [[ $local_only == 0 ]]; then
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that receives the backups (or pass --local-only)"
    need_region; require_cmd aws
  fi
  require_cmd redis-cli gzip sha256sum jq
  local stamp started tmp dest
  stamp=$(utc_stamp); started=$(utc_iso)
  mkdir -p "$root/redis"
  dest=$root/redis/$stamp
  tmp=$root/redis/.tmp-$stamp-$$
  mkdir "$tmp"
  add_cleanup "rm -rf -- '$tmp'"
  local cli=(redis-cli -h "$host" -p "$port")
  [[ $tls != 1 ]] || cli+=(--tls)
  [[ $local_only == 1 ]] || s3_preflight "$bucket" "$REGION"
  log "redis snapshot of $host:$port -> $dest"
  local out
  if ! out=$("${cli[@]}" --rdb "$tmp/dump.rdb" 2>&1); then
    die "redis-cli --rdb from $host:$port failed: $(printf '%s' "$out" | grep -v '^\s*$' | tail -n 1)"
  fi
  [[ -s $tmp/dump.rdb ]] || die "redis-cli --rdb from $host:$port wrote an empty file"
  head -c 5 "$tmp/dump.rdb" | grep -q '^REDIS' || die "redis-cli --rdb from $host:$port: not an RDB file"
  gzip -1 "$tmp/dump.rdb"
  local sum bytes
  sum=$(sha256sum "$tmp/dump.rdb.gz" | cut -d' ' -f1)
  bytes=$(stat -c %s "$tmp/dump.rdb.gz")
  jq -n --arg stamp "$stamp" --arg started "$started" --arg finished "$(utc_iso)" --arg host "$host" \
    --arg sum "$sum" --argjson bytes "$bytes" --arg port "$port" \
    '{format: "genie-redis-rdb/1", timestamp: $stamp, source: "\($host):\($port)", started_at: $started,
      finished_at: $finished, files: [{path: "dump.rdb.gz", sha256: $sum, bytes: $bytes}]}' >"$tmp/.manifest.json"
  mv "$tmp/.manifest.json" "$tmp/MANIFEST.json"
  if [[ $local_only == 0 ]]; then
    s3_sse_args
    aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]}" "$tmp/dump.rdb.gz" "s3://$bucket/redis/$stamp/dump.rdb.gz" >/dev/null
    aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]}" "$tmp/MANIFEST.json" "s3://$bucket/redis/$stamp/MANIFEST.json" >/dev/null
  fi
  mv -T "$tmp" "$dest"
  printf 'redis ok: %s:%s, %s, %ss -> %s%s\n' "$host" "$port" "$(human_size "$bytes")" "$(elapsed)" "$dest" \
    "$([[ $local_only == 1 ]] || printf ' and s3://%s/redis/%s/' "$bucket" "$stamp")"
}

# ----------------------------------------------------------------------------------------
main() {
  parse_globals "$@"
  set -- "${ARGS[@]+"${ARGS[@]}"}"
  [[ $# -gt 0 ]] || { main_usage >&2; exit "$EX_USAGE"; }
  local cmd=$1; shift
  case $cmd in
    db-dump) cmd_db_dump "$@";;
    db-snapshot) cmd_db_snapshot "$@";;
    redis) cmd_redis "$@";;
    verify) cmd_verify "$@";;
    -h|--help|help) main_usage;;
    *) printf 'error: unknown command: %s\n' "$cmd" >&2; main_usage >&2; exit "$EX_USAGE";;
  esac
}

main "$@"
