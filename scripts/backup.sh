#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Genie AI Server backup runbook (DR plan, Appendix A). See scripts/README.md.
# Over 300 lines on purpose: an operator runbook shipped as one script with its own usage text per command.
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
Usage: backup.sh db-dump [--kind daily|weekly|auto] [--format directory|sql] [--jobs N] [--compress 1-9]
                         [--compression zstd|gzip]
                         [--local-only] [--keep-local N] [--backup-dir DIR] [--bucket NAME]
                         [--with-role-passwords]

Dumps $PGDATABASE with `pg_dump -Fd -j N` (directory format, gzip per table; the default: parallel
dump and restore) or, with --format sql, as the plan's plain `pg_dump | gzip` file dump.sql.gz,
from one exported snapshot; counts rows per table in that same snapshot; saves the roles the
database needs and its database-level properties (globals.json: ACL, settings, comment; role
passwords only with --with-role-passwords, which needs a superuser and encrypted uploads
(BACKUP_KMS_KEY_ID or BACKUP_SSE)); writes MANIFEST.json last, uploads the
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
  BACKUP_FORMAT      --format       directory (default) or sql (plain SQL, gzip: what the plan's psql restores)
  BACKUP_COMPRESSION --compression  directory format: zstd (default when the zstd command is installed:
                                    pg_dump -Z0, then zstd per file; restores decompress it about 8x
                                    faster than gzip, streamed into pg_restore) or gzip (pg_dump's own)
  BACKUP_COMPRESS    --compress     compression level (gzip 0-9, default 6; zstd 1-9, default 3)
  BACKUP_KEEP_LOCAL  --keep-local   keep only the newest N local backups of this kind (default 0 = keep all)
  BACKUP_LOCK_WAIT                  seconds to wait for the lock of BACKUP_DIR held by another db-dump or
                                    verify --deep (default 0: fail at once)
  BACKUP_SSE, BACKUP_KMS_KEY_ID     server-side encryption for uploads (aws:kms and a key id)
  AWS_REGION, AWS_ENDPOINT_URL      AWS region and optional endpoint

Example:
  PGHOST=db.internal PGUSER=genie PGDATABASE=genie BACKUP_BUCKET=genie-backups \
  BACKUP_DIR=/var/backups/genie AWS_REGION=us-east-1 scripts/backup.sh db-dump --kind auto
EOF
}

cmd_db_dump() {
  local kind=${BACKUP_KIND:-daily} jobs=${BACKUP_JOBS:-} level=${BACKUP_COMPRESS:-} method=${BACKUP_COMPRESSION:-}
  local local_only=0 keep=${BACKUP_KEEP_LOCAL:-0} bucket=${BACKUP_BUCKET:-} root=${BACKUP_DIR:-}
  local format=${BACKUP_FORMAT:-directory} with_passwords=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --kind) need_value "$1" "$#"; kind=$2; shift 2;;
      --weekly) kind=weekly; shift;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      --compress|-Z) need_value "$1" "$#"; level=$2; shift 2;;
      --compression) need_value "$1" "$#"; method=$2; shift 2;;
      --local-only) local_only=1; shift;;
      --format) need_value "$1" "$#"; format=$2; shift 2;;
      --with-role-passwords) with_passwords=1; shift;;
      --keep-local) need_value "$1" "$#"; keep=$2; shift 2;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      -h|--help) db_dump_usage; return 0;;
      *) usage_error "db-dump: unknown option '$1'";;
    esac
  done
  [[ -n $jobs ]] || jobs=$(default_jobs)
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs must be a positive integer, got '$jobs'"
  if [[ -z $method ]]; then
    method=gzip
    [[ $format != directory ]] || ! command -v zstd >/dev/null 2>&1 || method=zstd
  fi
  [[ $method == gzip || $method == zstd ]] || usage_error "--compression (BACKUP_COMPRESSION) must be zstd or gzip, got '$method'"
  [[ $method == gzip || $format == directory ]] || usage_error "--compression zstd needs --format directory (--format sql writes the plan's gzip file)"
  [[ $method == gzip ]] || require_cmd zstd
  if [[ $method == zstd ]]; then level=${level:-3}; else level=${level:-6}; fi
  [[ $level =~ ^[0-9]$ ]] || usage_error "--compress must be 0-9, got '$level'"
  [[ $method == gzip || $level != 0 ]] || usage_error "--compress 0 is for gzip only (zstd levels 1-9)"
  [[ $keep =~ ^[0-9]+$ ]] || usage_error "--keep-local must be a number, got '$keep'"
  [[ $format == directory || $format == sql ]] || usage_error "--format (BACKUP_FORMAT) must be directory or sql, got '$format'"
  if [[ $with_passwords == 1 ]]; then
    [[ $local_only == 0 && -n ${BACKUP_KMS_KEY_ID:-}${BACKUP_SSE:-} ]] \
      || usage_error "--with-role-passwords needs encrypted uploads (set BACKUP_KMS_KEY_ID or BACKUP_SSE) and no --local-only: the backup would hold the roles' password hashes"
  fi
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
  mkdir -p "$dest_parent" || die "cannot create backup directory $dest_parent (check the path and permissions of BACKUP_DIR)"
  dest=$dest_parent/$stamp
  [[ ! -e $dest ]] || die "backup $dest already exists (two runs in the same second?)"

  # One dump at a time per backup root (the scheduled job and an operator may overlap).
  backup_root_lock "$root" "${BACKUP_LOCK_WAIT:-0}" db-dump

  # Under the lock no other dump runs here: temp directories left by a killed run are swept.
  local stale
  for stale in "$root"/db/daily/.tmp-* "$root"/db/weekly/.tmp-*; do
    [[ -d $stale ]] || continue
    log "removing the temp directory of an interrupted dump: $stale"
    rm -rf -- "$stale"
  done

  # Work in a temp directory next to the final one; removed on any failure.
  tmp=$dest_parent/.tmp-$stamp-$$
  mkdir "$tmp" || die "cannot create $tmp (check free space and permissions of BACKUP_DIR)"
  cleanup_path "$tmp"

  log "db-dump $kind of '$db' (${PGHOST:-socket}:${PGPORT:-5432}) format=$format jobs=$jobs $method=$level -> $dest"
  pg_check_connect "$db"
  [[ $local_only == 1 ]] || s3_preflight "$bucket" "$REGION"

  local server_version pg_dump_version
  server_version=$(psql_at "$db" 'SHOW server_version')
  pg_dump_version=$(pg_dump --version)
  pg_dump_version=${pg_dump_version#pg_dump (PostgreSQL) }

  # Hold a transaction open that exports its snapshot: pg_dump and the row counts share it.
  local snapshot=""
  coproc SNAP { "${PSQL_BASE[@]}" -At -d "$db" 2>&1; }
  # shellcheck disable=SC2153,SC2154 # SNAP_PID is set by coproc
  local snap_pid=$SNAP_PID
  cleanup_pid "$snap_pid"
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n' >&"${SNAP[1]}"
  if ! read -r -t 60 snapshot <&"${SNAP[0]}"; then die "could not export a snapshot from '$db'"; fi
  [[ $snapshot =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "could not export a snapshot from '$db': $snapshot"
  log "snapshot $snapshot exported"

  # Row counts in the background, same snapshot as the dump.
  count_rows "$db" "$snapshot" >"$tmp/.rows.jsonl" 2>"$tmp/.rows.err" &
  local counts_pid=$!
  cleanup_pid "$counts_pid"

  # pg_dump's messages go to a file outside BACKUP_DIR: when the backup disk is full, the
  # reason must still be readable.
  local dump_err
  dump_err=$(mktemp "${TMPDIR:-/tmp}/genie-pg_dump.XXXXXX"); cleanup_path "$dump_err"
  local dump_ok=1
  if [[ $format == directory ]]; then
    local pg_level=$level
    [[ $method == gzip ]] || pg_level=0
    run_child --err "$dump_err" pg_dump -Fd -j "$jobs" -Z "$pg_level" --snapshot="$snapshot" -f "$tmp/dump" -d "$db" || dump_ok=0
    if [[ $dump_ok == 1 && $method == zstd ]]; then
      # pg_dump 15 compresses the directory format with gzip only: zstd every file but toc.dat
      # (pg_restore --list reads it), JOBS at a time; --rm drops each original once compressed.
      (cd "$tmp/dump" && find . -type f ! -name toc.dat -print0 \
        | xargs -0 -r -P "$jobs" -n 1 zstd -q --rm -"$level" 2>"$dump_err") \
        || die "zstd compression of the dump in $tmp/dump failed: $(first_error "$dump_err")$(disk_full_hint "$tmp")"
    fi
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    run_child --err "$dump_err" bash -c 'set -o pipefail; pg_dump --snapshot="$1" -d "$2" | gzip -"$3" >"$4"' _ "$snapshot" "$db" "$level" "$tmp/dump.sql.gz" || dump_ok=0
  fi
  if [[ $dump_ok == 0 ]]; then
    die "pg_dump of '$db' failed: $(dump_failure_reason "$dump_err" "$tmp")"
  fi
  if ! wait "$counts_pid"; then
    die "row counts of '$db' failed: $(first_error "$tmp/.rows.err")$(disk_full_hint "$tmp")"
  fi
  dump_globals "$db" "$tmp/globals.json" "$with_passwords"
  # Role password hashes (--with-role-passwords) are readable by the owner only.
  chmod 600 "$tmp/globals.json"
  printf 'COMMIT;\n\\q\n' >&"${SNAP[1]}" || true
  wait "$snap_pid" 2>/dev/null || true
  local dumped_size ntables
  dumped_size=$(du -sh "$tmp" | cut -f1)
  ntables=$(wc -l <"$tmp/.rows.jsonl")
  log "dump written ($dumped_size), $ntables tables counted"

  # Checksums of every file (parallel), then the manifest, written last.
  local what=(globals.json dump)
  [[ $format == directory ]] || what=(globals.json dump.sql.gz)
  (cd "$tmp" && find "${what[@]}" -type f -printf '%s %p\n' | LC_ALL=C sort -k2) >"$tmp/.sizes" \
    || die "listing the dump's files in $tmp failed$(disk_full_hint "$tmp")"
  (cd "$tmp" && find "${what[@]}" -type f -print0 | xargs -0 -P "$jobs" -n 4 sha256sum | LC_ALL=C sort -k2) >"$tmp/.sums" \
    || die "checksums of the dump's files in $tmp failed$(disk_full_hint "$tmp")"
  local finished
  finished=$(utc_iso)
  jq -n \
    --arg format "$MANIFEST_FORMAT" --arg kind "$kind" --arg db "$db" --arg stamp "$stamp" \
    --arg server_version "$server_version" --arg pg_dump_version "$pg_dump_version" \
    --arg started "$started" --arg finished "$finished" --arg snapshot "$snapshot" \
    --arg host "$(hostname)" --arg pghost "${PGHOST:-}" \
    --argjson jobs "$jobs" --argjson level "$level" --arg method "$method" --arg dformat "$([[ $format == sql ]] && echo plain || echo directory)" \
    --rawfile sizes "$tmp/.sizes" --rawfile sums "$tmp/.sums" --slurpfile tables "$tmp/.rows.jsonl" '
    ($sizes | split("\n") | map(select(length > 0) | capture("^(?<bytes>[0-9]+) (?<path>.*)$"))
       | map({key: .path, value: (.bytes | tonumber)}) | from_entries) as $size
    | ($sums | split("\n") | map(select(length > 0) | capture("^(?<sha256>[0-9a-f]{64})  (?<path>.*)$"))) as $files
    | {
        format: $format, kind: $kind, timestamp: $stamp, database: $db,
        server_version: $server_version, pg_dump_version: $pg_dump_version,
        started_at: $started, finished_at: $finished, snapshot: $snapshot,
        dump: ({format: $dformat, compression: "\($method):\($level)", jobs: $jobs} + (if $dformat == "plain" then {file: "dump.sql.gz"} else {} end)),
        source: {host: $host, pghost: $pghost},
        total_bytes: ([$files[] | $size[.path]] | add),
        files: [$files[] | {path, sha256, bytes: $size[.path]}],
        tables: $tables
      }' >"$tmp/.manifest.json" || die "writing the manifest in $tmp failed$(disk_full_hint "$tmp")"
  rm -f "$tmp/.rows.jsonl" "$tmp/.rows.err" "$tmp/.sizes" "$tmp/.sums" "$dump_err"
  local nfiles
  nfiles=$(jq '.files | length' "$tmp/.manifest.json")
  [[ $nfiles -gt 0 ]] || die "manifest lists no files"
  mv "$tmp/.manifest.json" "$tmp/MANIFEST.json"
  local nrows
  nrows=$(jq '[.tables[].rows] | add // 0' "$tmp/MANIFEST.json")

  # Upload: data first, manifest last (a prefix without a manifest is not a backup).
  local total_bytes prefix=db/$kind/$stamp
  total_bytes=$(jq '.total_bytes' "$tmp/MANIFEST.json")
  if [[ $local_only == 0 ]]; then
    s3_sse_args
    log "uploading $nfiles files ($(human_size "$total_bytes")) to s3://$bucket/$prefix/"
    if [[ $format == directory ]]; then
      aws_call "$REGION" s3 cp --recursive --only-show-errors "${SSE_ARGS[@]+"${SSE_ARGS[@]}"}" "$tmp/dump" "s3://$bucket/$prefix/dump/" >/dev/null
    else
      aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]+"${SSE_ARGS[@]}"}" "$tmp/dump.sql.gz" "s3://$bucket/$prefix/dump.sql.gz" >/dev/null
    fi
    aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]+"${SSE_ARGS[@]}"}" "$tmp/globals.json" "s3://$bucket/$prefix/globals.json" >/dev/null
    aws_call "$REGION" s3 cp --only-show-errors "${SSE_ARGS[@]+"${SSE_ARGS[@]}"}" "$tmp/MANIFEST.json" "s3://$bucket/$prefix/MANIFEST.json" >/dev/null
  fi

  # Publish the local copy atomically.
  mv -T "$tmp" "$dest"

  if [[ $keep -gt 0 ]]; then prune_local "$dest_parent" "$keep" "$stamp"; fi

  local where=$dest secs hsize
  [[ $local_only == 1 ]] || where="$dest and s3://$bucket/$prefix/"
  secs=$(elapsed); hsize=$(human_size "$total_bytes")
  log "done in ${secs}s"
  printf 'db-dump ok: %s %s (%s), %s files, %s, %s tables, %s rows, %ss -> %s\n' "$kind" "$db" "$format" "$nfiles" \
    "$hsize" "$ntables" "$nrows" "$secs" "$where"
}

# backup_root_lock ROOT WAIT WHAT: the lock of the backup root ($ROOT/.db-dump.lock, fd 9), held
# until exit: one db-dump, or verify --deep, at a time on this host. WAIT seconds to wait for it
# (BACKUP_LOCK_WAIT; 0: fail at once).
backup_root_lock() {
  local root=$1 lock_wait=$2 caller=$3
  [[ $lock_wait =~ ^[0-9]+$ ]] || usage_error "BACKUP_LOCK_WAIT must be a number of seconds, got '$lock_wait'"
  mkdir -p "$root" || die "cannot create $root (check BACKUP_DIR)"
  exec 9>"$root/.db-dump.lock"
  if [[ $lock_wait == 0 ]]; then
    flock -n 9 || die "another db-dump or verify --deep is running (lock $root/.db-dump.lock); wait for it to finish (or set BACKUP_LOCK_WAIT=<seconds> to wait)"
  else
    flock -n 9 || { log "$caller: waiting up to ${lock_wait}s for the db-dump/verify --deep running on this host (lock $root/.db-dump.lock)"
      flock -w "$lock_wait" 9 || die "another db-dump or verify --deep held the lock $root/.db-dump.lock for more than ${lock_wait}s (BACKUP_LOCK_WAIT)"; }
  fi
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

# disk_full_hint DIR: "; no space left ..." when the filesystem of DIR is (nearly) full.
disk_full_hint() {
  local avail
  avail=$(df -P -k -- "$1" 2>/dev/null | awk 'NR == 2 {print $4}' || true)
  if [[ -n $avail && $avail -lt 1024 ]]; then
    printf '; no space left on the device of %s (%s KiB free): free space or point BACKUP_DIR elsewhere' "$1" "$avail"
  fi
}

# dump_failure_reason ERRFILE DIR: pg_dump's own message, or what else is known.
dump_failure_reason() {
  local reason hint
  reason=$(first_error "$1")
  hint=$(disk_full_hint "$2")
  if [[ -z $reason && -z $hint ]]; then reason="pg_dump stopped without a message (killed? out of memory?)"; fi
  printf '%s%s' "$reason" "$hint"
}

# ----------------------------------------------------------------------------------------
verify_usage() {
  cat <<'EOF'
Usage: backup.sh verify [--backup DIR|STAMP|s3://bucket/db/<kind>/<stamp>] [--from-s3] [--db NAME]
                        [--deep] [--quick] [--backup-dir DIR] [--bucket NAME] [--jobs N]

The plan's daily validation. Picks the newest complete local backup of $PGDATABASE (--db; any
database when unset) under $BACKUP_DIR (or with --from-s3 the newest in s3://$BACKUP_BUCKET/db/,
downloaded to a temp dir) and checks: manifest present and complete, every listed file present
with the recorded size and sha256, no unlisted file, the archive is readable and holds data for
every table of the manifest, and (unless --quick) every compressed stream decompresses.
--deep also proves it restorable: restores it into a throwaway database <db>_verify_<now> on the
PG* server (RESTORE_MAINT_DB, default postgres, is used to create and drop it), compares the
exact row count of every table with the manifest, and drops it. It needs CREATEDB (checked before
any download), takes the lock of $BACKUP_DIR shared with db-dump (waiting BACKUP_LOCK_WAIT seconds,
default 7200), drops the <db>_verify_* databases a killed run left (when nobody is connected), and
downloads to $BACKUP_DIR/restore/ (else $TMPDIR). A damaged manifest of the newest backup fails
the check. Exit 0 and `verify ok: ...`, or exit 3 with `error: verify failed: <reason>`.

Example:
  BACKUP_DIR=/var/backups/genie scripts/backup.sh verify
  BACKUP_BUCKET=genie-backups AWS_REGION=us-east-1 PGHOST=db.internal PGUSER=genie \
    scripts/backup.sh verify --from-s3 --deep
EOF
}

VERIFY_DB=""
VERIFY_MAINT=""
_drop_verify_db() {
  [[ -n $VERIFY_DB ]] || return 0
  if drop_database "$VERIFY_MAINT" "$VERIFY_DB"; then
    log "dropped the throwaway database $VERIFY_DB"
  else
    printf 'error: could not drop the throwaway database %s: %s; drop it with: %s\n' \
      "$VERIFY_DB" "$DROP_ERROR" "$(drop_cmd "$VERIFY_MAINT" "$VERIFY_DB")" >&2
  fi
}

cmd_verify() {
  local target="" from_s3=0 gz=1 restore=0 root=${BACKUP_DIR:-} bucket=${BACKUP_BUCKET:-} jobs want=${PGDATABASE:-}
  jobs=$(default_jobs)
  while [[ $# -gt 0 ]]; do
    case $1 in
      --backup) need_value "$1" "$#"; target=$2; shift 2;;
      --from-s3) from_s3=1; shift;;
      --quick) gz=0; shift;;
      --deep) restore=1; shift;;
      --db) need_value "$1" "$#"; want=$2; shift 2;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      -h|--help) verify_usage; return 0;;
      *) usage_error "verify: unknown option '$1'";;
    esac
  done
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs must be a positive integer, got '$jobs'"
  require_cmd jq sha256sum pg_restore
  local maint=${RESTORE_MAINT_DB:-postgres}
  if [[ $restore == 1 ]]; then
    # The server is needed: check the connection before downloading anything.
    pg_credentials_from_secret "$REGION"
    [[ -n $want ]] || want=${PGDATABASE:-}
    require_cmd psql
    pg_check_connect "$maint"
    pg_check_createdb "$maint" "verify --deep"
    # Shares the backup root's lock with db-dump: the daily deep check never runs beside a dump
    # on this host (it waits for it, BACKUP_LOCK_WAIT, default 2 h).
    [[ -z $root ]] || backup_root_lock "$root" "${BACKUP_LOCK_WAIT:-7200}" "verify --deep"
  fi
  local dir prefix=""
  if [[ $target == s3://* ]]; then
    local rest=${target#s3://}; bucket=${rest%%/*}; prefix=${rest#*/}; prefix=${prefix%/}
    from_s3=1
  elif [[ $from_s3 == 1 && -n $target ]]; then
    prefix=${target%/}
  fi
  if [[ $from_s3 == 1 ]]; then
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that holds the backups"
    need_region; require_cmd aws
    if [[ -z $prefix ]]; then
      if [[ -n $want ]]; then
        prefix=$(newest_s3 "$bucket" "$REGION" "$want" take)
      else
        prefix=$(s3_manifest_keys "$bucket" "$REGION" | head -n 1)
      fi
      # shellcheck disable=SC2016 # the quotes are text in the message
      [[ -n $prefix ]] || die "$EX_VERIFY" "verify failed: no backup${want:+ of database '$want'} with a manifest in s3://$bucket/db/"
    elif ! s3_backup_prefix_ok "$prefix"; then
      die "$EX_USAGE" "--backup for S3 must be s3://bucket/db/<daily|weekly>/<YYYYmmddTHHMMSSZ> or db/<kind>/<stamp>, got '$prefix'"
    fi
    # On the backup disk when BACKUP_DIR is set (not /tmp: a tmpfs, in memory, on Amazon Linux 2023).
    local dl_base=${TMPDIR:-/tmp}
    if [[ -n $root ]]; then dl_base=$root/restore; mkdir -p "$dl_base" || die "cannot create $dl_base (check BACKUP_DIR)"; fi
    dir=$(mktemp -d "$dl_base/.verify-XXXXXX")
    cleanup_path "$dir"
    fetch_s3 "$bucket" "$REGION" "$prefix" "$dir"
  elif [[ -n $target && -d $target ]]; then
    dir=$target
  else
    BACKUP_DIR=$root; require_env BACKUP_DIR "local directory that keeps the backups"
    if [[ -n $target ]]; then
      [[ $target =~ $STAMP_RE ]] || die "$EX_VERIFY" "verify failed: backup not found: $target"
      dir=""
      local d
      for d in "$root/db/daily/$target" "$root/db/weekly/$target"; do [[ -d $d ]] && dir=$d; done
      [[ -n $dir ]] || die "$EX_VERIFY" "verify failed: backup $target not found under $root/db/"
    elif [[ -n $want ]]; then
      dir=$(newest_local "$root" "$want" take)
      [[ -n $dir ]] || die "$EX_VERIFY" "verify failed: no complete backup (with MANIFEST.json) of database '$want' under $root/db/"
    else
      local d best=""
      for d in "$root"/db/daily/* "$root"/db/weekly/*; do
        [[ -f $d/MANIFEST.json && ${d##*/} =~ $STAMP_RE ]] || continue
        if [[ -z $best || ${d##*/} > "${best##*/}" ]]; then best=$d; fi
      done
      dir=$best
      [[ -n $dir ]] || die "$EX_VERIFY" "verify failed: no complete backup (with MANIFEST.json) under $root/db/"
    fi
  fi
  log "verifying ${prefix:+s3://$bucket/$prefix/ via }$dir"
  verify_backup "$dir" "$gz" "$jobs"
  local m=$dir/MANIFEST.json
  local restored=""
  if [[ $restore == 1 ]]; then
    local mdb
    mdb=$(jq -r .database "$m")
    VERIFY_MAINT=$maint
    # Throwaway databases a killed verify --deep left (an SSM timeout, kill -9) are dropped when
    # nobody is connected to them; ones in use are named.
    local name sessions
    while IFS='|' read -r name sessions; do
      [[ -n $name ]] || continue
      if [[ $sessions == 0 ]]; then
        if drop_database "$maint" "$name"; then log "dropped $name, left by an earlier verify --deep"
        else warn "could not drop $name, left by an earlier verify --deep: $DROP_ERROR; drop it with: $(drop_cmd "$maint" "$name")"; fi
      else
        warn "$name, left by an earlier verify --deep, has $sessions session(s) (a pg_restore that outlived it, or a verify --deep running elsewhere); once it is over, drop it with: $(drop_cmd "$maint" "$name")"
      fi
    done < <(leftover_databases "$maint" "${mdb:0:40}" verify)
    VERIFY_DB=${mdb:0:40}_verify_$(date -u +%Y%m%d%H%M%S)
    log "deep: restoring into the throwaway database $VERIFY_DB"
    local out
    out=$(psql_at "$maint" "CREATE DATABASE $(qi "$VERIFY_DB") TEMPLATE template0" 2>&1) \
      || die "could not create the throwaway database $VERIFY_DB: $(first_error_text "$out")"
    cleanup_fn _drop_verify_db
    load_backup "$dir" "$VERIFY_DB" "$jobs" 1 \
      || die "$EX_VERIFY" "verify failed: the backup does not restore: $LOAD_ERROR (in $dir)"
    local diff
    count_diff "$VERIFY_DB" "$m"; diff=$COUNT_DIFF
    [[ -z $diff ]] || die "$EX_VERIFY" "verify failed: restored row counts differ from the manifest: $diff (in $dir)"
    restored=", restored and counted"
  fi
  local where=$dir
  [[ -z $prefix ]] || where=s3://$bucket/$prefix
  local summary
  summary=$(jq -r --arg where "$where" --arg restored "$restored" '
    "\($where) (\(.kind), database \(.database), \(.dump.format // "directory") format, PostgreSQL \(.server_version), \(.files | length) files, \(.total_bytes // 0) bytes, \(.tables | length) tables, \([.tables[].rows] | add // 0) rows\($restored), finished \(.finished_at))"' "$m")
  printf 'verify ok: %s\n' "$summary"
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
  mkdir "$tmp" || die "cannot create $tmp (check free space and permissions of BACKUP_DIR)"
  cleanup_path "$tmp"
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
