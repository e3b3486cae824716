#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Genie AI Server recovery runbook (DR plan, Appendix B). See scripts/README.md.
# Over 300 lines on purpose: an operator runbook shipped as one script with its own usage text per command.
#
#   recovery.sh restore-dump  restore a logical backup into a new database, check it, then switch over
#   recovery.sh pitr          RDS point-in-time restore into a new instance
#   recovery.sh promote       promote the DR region's read replica (when Pulumi cannot run)
#   recovery.sh verify-app    health check of /api/health with retries and a verdict
#   recovery.sh rollback-image  return a site to the last image its deploy verification saw healthy
set -euo pipefail

# shellcheck disable=SC2034 # read by lib/common.sh
SCRIPT_NAME=recovery.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/dump.sh
. "$SCRIPT_DIR/lib/dump.sh"
# shellcheck source=lib/plan.env
. "$SCRIPT_DIR/lib/plan.env"

main_usage() {
  cat <<'EOF'
Usage: recovery.sh <command> [options]

Commands:
  restore-dump  fetch and verify a logical backup, restore it into a new database, check row
                counts against the manifest, then switch the application's database over (rename)
  pitr          restore the RDS instance to a point in time into a new instance
  promote       promote the DR region's read replica to a standalone primary
  verify-app    check https://<app>/api/health with retries; prints healthy/unhealthy
  rollback-image  set the stack's imageTag back to the last verified image and run pulumi up

Global options (before or after the command):
  --endpoint-url URL   AWS API endpoint (default $AWS_ENDPOINT_URL; for tests against moto)
  --region REGION      AWS region (default $AWS_REGION, then $AWS_DEFAULT_REGION)
  -h, --help           help; `recovery.sh <command> --help` for a command

Exit codes: 0 ok, 1 failure, 2 usage or missing setting, 3 backup failed verification,
            4 application unhealthy.
EOF
}

need_region() { [[ -n $REGION ]] || die "$EX_USAGE" "missing setting: AWS_REGION ($1); export AWS_REGION or pass --region"; }

# ----------------------------------------------------------------------------------------
restore_usage() {
  cat <<'EOF'
Usage: recovery.sh restore-dump [--backup DIR|STAMP|db/<kind>/<stamp>|s3://bucket/db/<kind>/<stamp>|FILE.sql[.gz]|s3://bucket/KEY.sql[.gz]]
                                [--source s3|local] [--db NAME] [--source-db NAME] [--maintenance-db NAME]
                                [--jobs N] [--no-switch] [--no-owner] [--no-roles] [--no-analyze]
                                [--keep-failed] [--dry-run] [--yes]

Steps (nothing is changed before step 3, and the live database is never dropped):
  0. refuse at once without --yes off a terminal (or ask on one); check the database connection
     and CREATEDB; take the restore lock of <db> on the server (in the database postgres,
     RESTORE_LOCK_DB: one restore-dump of a database at a time); name <db>_restore_* left by
     earlier runs
  1. pick the backup: --backup, else the newest backup OF THE DATABASE (--source-db, default
     --db) with a manifest (in S3 when BACKUP_BUCKET is set, else under BACKUP_DIR); a backup of
     another database is refused unless --source-db names it; download it from S3 into a
     temporary BACKUP_DIR/restore/.dl-* directory, removed afterwards
  2. verify it: manifest, file list, sha256 of every file, archive table of contents (a plain
     .sql/.sql.gz from the plan's commands, which needs --source-db NAME (a .sql file does not
     record its database): it decompresses completely, ends with pg_dump's "dump complete" line,
     and nowhere (COPY data skipped) has a psql meta-command, a role, database, tablespace or
     ALTER SYSTEM statement; the roles it names as owners and grantees exist, or --no-owner)
  3. create the backup's roles that are missing on the server (globals.json; --no-roles skips),
     create <db>_restore_<now> (template0, the owner and locale of the live database or of the
     backup) and load it: `pg_restore -j N --exit-on-error`, or psql for a .sql file
  4. compare exact row counts of every table with the manifest; give it the database-level
     properties of the backup (ACL, ALTER DATABASE/ROLE ... SET, comment, connection limit; a
     plain .sql has none: those of the live database are kept); ANALYZE
  5. switch: in one transaction, terminate sessions on <db>, rename <db> -> <db>_pre_restore_<now>
     and <db>_restore_<now> -> <db>; retried while new sessions race in
  6. print how to drop the previous database once the application is verified
A failure or a signal in steps 1-4 leaves the live database untouched; the half-restored
database is dropped (unless --keep-failed), or the exact command to drop it is printed.
--no-switch stops after step 4 (restore test). --dry-run prints the steps and changes nothing.

Settings: PGHOST PGPORT PGUSER PGPASSWORD, PGDATABASE (--db: the application's database),
          DB_SECRET_ID (Secrets Manager secret with the credentials, read when PGPASSWORD is unset),
          BACKUP_DIR, BACKUP_BUCKET, AWS_REGION, AWS_ENDPOINT_URL, RESTORE_JOBS (--jobs),
          RESTORE_MAINT_DB (--maintenance-db), RESTORE_LOCK_DB (default postgres),
          RESTORE_MAINTENANCE_WORK_MEM (optional, index builds).

Example:
  PGHOST=db.internal PGUSER=genie PGDATABASE=genie BACKUP_DIR=/var/backups/genie \
  BACKUP_BUCKET=genie-backups AWS_REGION=us-east-1 scripts/recovery.sh restore-dump --dry-run
EOF
}

# State read by the cleanup (no eval: functions read these globals).
RESTORE_DB=""
RESTORE_MAINT=""
RESTORE_DONE=0
RESTORE_KEEP_FAILED=0
RESTORE_LOCK_PID=""
RESTORE_SWITCHING=0
RESTORE_LIVE=""
RESTORE_PRE=""
# _switched: after a signal or an error during the switch, did the renames commit?
_switched() {
  local n
  if [[ -n $RESTORE_PRE ]]; then
    n=$(psql_at "$RESTORE_MAINT" "SELECT count(*) FROM pg_database WHERE datname = $(ql "$RESTORE_PRE")" 2>/dev/null) || return 2
  else
    n=$(psql_at "$RESTORE_MAINT" "SELECT count(*) FROM pg_database WHERE datname = $(ql "$RESTORE_DB")" 2>/dev/null) || return 2
    n=$(( 1 - n ))
  fi
  [[ $n == 1 ]]
}
_drop_incomplete_restore() {
  [[ -n $RESTORE_DB && $RESTORE_DONE != 1 ]] || return 0
  if [[ $RESTORE_SWITCHING == 1 ]]; then
    local st=0
    _switched || st=$?
    if [[ $st == 0 ]]; then
      log "stopped after the switch had committed: '$RESTORE_LIVE' is the restored database$([[ -z $RESTORE_PRE ]] || printf "; the previous one is kept as '%s' (drop it once the application is verified: %s)" "$RESTORE_PRE" "$(drop_cmd "$RESTORE_MAINT" "$RESTORE_PRE")")"
      return 0
    elif [[ $st == 2 ]]; then
      printf 'error: stopped during the switch and the server cannot be asked whether it committed: look for %s and %s in pg_database; if %s still exists nothing was renamed, drop it with: %s\n' \
        "$RESTORE_PRE" "$RESTORE_DB" "$RESTORE_DB" "$(drop_cmd "$RESTORE_MAINT" "$RESTORE_DB")" >&2
      return 0
    fi
  fi
  if [[ $RESTORE_KEEP_FAILED == 1 ]]; then
    log "kept the incomplete $RESTORE_DB (--keep-failed); the live database is untouched"
    return 0
  fi
  if drop_database "$RESTORE_MAINT" "$RESTORE_DB"; then
    if [[ $RESTORE_SWITCHING == 1 ]] && _switched; then
      # The renames committed while the drop waited for their lock: nothing was dropped.
      log "stopped after the switch had committed: '$RESTORE_LIVE' is the restored database$([[ -z $RESTORE_PRE ]] || printf "; the previous one is kept as '%s'" "$RESTORE_PRE")"
      return 0
    fi
    log "dropped the incomplete $RESTORE_DB; the live database is untouched"
  else
    printf 'error: could not drop the incomplete database %s: %s; the live database is untouched; drop it when the server is back with: %s\n' \
      "$RESTORE_DB" "$DROP_ERROR" "$(drop_cmd "$RESTORE_MAINT" "$RESTORE_DB")" >&2
  fi
}

# restore_dl_dir ROOT NOW: the temporary download directory ROOT/restore/.dl-NOW-* (RESTORE_DL),
# created once, removed on exit whatever happens.
RESTORE_DL=""
restore_dl_dir() {
  [[ -z $RESTORE_DL ]] || return 0
  mkdir -p "$1/restore" || die "cannot create $1/restore (check BACKUP_DIR)"
  RESTORE_DL=$(mktemp -d "$1/restore/.dl-$2-XXXXXX")
  cleanup_path "$RESTORE_DL"
}

# restore_lock MAINT DB: hold a session-level advisory lock on the server for the whole run, so
# that two restore-dump of the same database (from any host) never interleave their renames.
restore_lock() {
  local maint=$1 db=$2 got=""
  coproc LOCKSESSION { "${PSQL_BASE[@]}" -At -d "$maint" 2>&1; }
  # shellcheck disable=SC2153,SC2154 # LOCKSESSION_PID is set by coproc
  RESTORE_LOCK_PID=$LOCKSESSION_PID
  cleanup_pid "$RESTORE_LOCK_PID"
  printf 'SELECT pg_try_advisory_lock(hashtext(%s));\n' "$(ql "genie restore-dump $db")" >&"${LOCKSESSION[1]}"
  read -r -t 30 got <&"${LOCKSESSION[0]}" || true
  case $got in
    t) return 0;;
    f) die "another restore-dump of database '$db' is running on ${PGHOST:-the local server} (advisory lock 'genie restore-dump $db' held); wait for it to finish, or check pg_locks for the session holding it";;
    *) die "could not take the restore lock on ${PGHOST:-the local server}: ${got:-no answer}";;
  esac
}

cmd_restore_dump() {
  local target="" source="" db=${PGDATABASE:-} maint=${RESTORE_MAINT_DB:-postgres} jobs=${RESTORE_JOBS:-}
  local switch=1 no_owner=0 roles=1 analyze=1 keep_failed=0 dry=0 yes=0 source_db=""
  local root=${BACKUP_DIR:-} bucket=${BACKUP_BUCKET:-}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --backup) need_value "$1" "$#"; target=$2; shift 2;;
      --source) need_value "$1" "$#"; source=$2; shift 2;;
      --db) need_value "$1" "$#"; db=$2; shift 2;;
      --source-db) need_value "$1" "$#"; source_db=$2; shift 2;;
      --maintenance-db) need_value "$1" "$#"; maint=$2; shift 2;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      --no-switch) switch=0; shift;;
      --no-owner) no_owner=1; shift;;
      --no-roles) roles=0; shift;;
      --no-analyze) analyze=0; shift;;
      --keep-failed) keep_failed=1; shift;;
      --dry-run) dry=1; shift;;
      --yes|-y) yes=1; shift;;
      --backup-dir) need_value "$1" "$#"; root=$2; shift 2;;
      --bucket) need_value "$1" "$#"; bucket=$2; shift 2;;
      -h|--help) restore_usage; return 0;;
      *) usage_error "restore-dump: unknown option '$1'";;
    esac
  done
  [[ -n $jobs ]] || jobs=$(default_jobs)
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs must be a positive integer, got '$jobs'"
  if [[ -n $db ]]; then PGDATABASE=$db; fi
  pg_credentials_from_secret "$REGION"
  db=${PGDATABASE:-}
  require_env PGDATABASE "the application's database that the restore replaces"
  local source_db_given=0
  if [[ -n $source_db ]]; then source_db_given=1; else source_db=$db; fi
  local is_sql=0
  [[ $target =~ \.sql(\.gz|\.zst)?$ ]] && is_sql=1
  if [[ $is_sql == 1 && $source_db_given == 0 ]]; then
    # A plain .sql file has no manifest: nothing says which database it was dumped from.
    die "$EX_USAGE" "a .sql file does not record which database it is a dump of: pass --source-db NAME (the database it was dumped from; --source-db $(shq "$db") if it is a backup of '$db') to restore it as '$db'"
  fi
  if [[ -z $source ]]; then
    if [[ $target == s3://* ]]; then source=s3
    elif [[ -n $target && ( -d $target || -f $target ) ]]; then source=local
    elif [[ -n $bucket ]]; then source=s3
    else source=local; fi
  fi
  [[ $source == s3 || $source == local ]] || usage_error "--source must be s3 or local, got '$source'"
  BACKUP_DIR=$root; require_env BACKUP_DIR "local backup directory (backups, and downloads from S3)"
  require_cmd psql pg_restore jq sha256sum
  # Refuse before any work when the switch cannot be confirmed.
  if [[ $dry == 0 && $switch == 1 && $yes == 0 && ! -t 0 ]]; then
    die "$EX_USAGE" "refusing to start: the switch needs confirmation and stdin is not a terminal; pass --yes (or --no-switch, or --dry-run)"
  fi

  local now restore_db pre_db
  now=$(date -u +%Y%m%d%H%M%S)
  restore_db=${db}_restore_$now
  pre_db=${db}_pre_restore_$now
  [[ ${#pre_db} -le 63 ]] || die "$EX_USAGE" "database name '$db' too long for the '${db}_pre_restore_<ts>' naming (63 bytes max)"

  if [[ $dry == 0 ]]; then
    # Wrong credentials or an unreachable server are found before any download.
    phase connect
    pg_check_connect "$maint"
    pg_check_createdb "$maint" "restore-dump"
    # The lock lives in one fixed database (advisory locks are per database): --maintenance-db
    # does not change which lock is taken.
    local lockdb=${RESTORE_LOCK_DB:-postgres}
    [[ $lockdb == "$maint" ]] || pg_check_connect "$lockdb"
    restore_lock "$lockdb" "$db"
    # Under the lock no other restore-dump of <db> runs: what an earlier, killed one left is named.
    local name sessions
    while IFS='|' read -r name sessions; do
      [[ -n $name ]] || continue
      if [[ $sessions == 0 ]]; then
        warn "database $name was left by an earlier restore-dump (killed, --no-switch or --keep-failed); once it is not needed, drop it with: $(drop_cmd "$maint" "$name")"
      else
        warn "database $name, left by an earlier restore-dump, has $sessions session(s): a pg_restore or psql that outlived its restore-dump (kill -9?) may still be loading it; end them and drop it with: $(drop_cmd "$maint" "$name")"
      fi
    done < <(leftover_databases "$maint" "$db" restore)
  fi

  # Step 1: which backup.
  phase select
  local dir="" prefix="" key="" mdb="" manifest_json=""
  if [[ $source == s3 ]]; then
    if [[ $target == s3://* ]]; then
      local rest=${target#s3://}; bucket=${rest%%/*}; prefix=${rest#*/}; prefix=${prefix%/}
    elif [[ -n $target ]]; then
      prefix=${target%/}
    fi
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that holds the backups (or --source local)"
    need_region "region of the backup bucket"; require_cmd aws
    if [[ $is_sql == 1 ]]; then
      key=$prefix; prefix=""
      [[ -n $key && $key != */ ]] || die "$EX_USAGE" "--backup s3://bucket/KEY.sql[.gz]: the key is missing"
    elif [[ -n $prefix ]]; then
      if [[ $prefix =~ $STAMP_RE ]]; then
        # A bare timestamp: the daily or weekly backup of that time.
        local k
        k=$(s3_manifest_keys "$bucket" "$REGION")
        k=$(grep -m 1 -E "^db/(daily|weekly)/$prefix\$" <<<"$k" || true)
        [[ -n $k ]] || die "$EX_VERIFY" "no backup $prefix with a manifest in s3://$bucket/db/daily/ or db/weekly/"
        prefix=$k
      fi
      s3_backup_prefix_ok "$prefix" || die "$EX_USAGE" "--backup for S3 must be s3://bucket/db/<daily|weekly>/<YYYYmmddTHHMMSSZ>, db/<kind>/<stamp> or an s3://bucket/KEY.sql[.gz] file, got '$target'"
      manifest_json=$(s3_read_manifest "$bucket" "$REGION" "$prefix")
      mdb=$(jq -r '.database // empty' <<<"$manifest_json" 2>/dev/null || true)
    else
      if [[ $dry == 0 && ( $yes == 1 || $switch == 0 ) ]]; then
        # No question to ask first: download the newest backup at once and read which database it
        # is of from its downloaded manifest (one S3 request less than reading the manifest first).
        local keys newest
        keys=$(s3_manifest_keys "$bucket" "$REGION")
        newest=${keys%%$'\n'*}
        if [[ -n $newest ]]; then
          phase download
          restore_dl_dir "$root" "$now"
          fetch_s3 "$bucket" "$REGION" "$newest" "$RESTORE_DL"
          local newest_db
          newest_db=$(manifest_database "$RESTORE_DL/MANIFEST.json")
          if [[ $newest_db == "$source_db" ]]; then
            prefix=$newest; dir=$RESTORE_DL
          else
            if [[ -z $newest_db ]]; then
              warn "the backup s3://$bucket/$newest/ has a damaged MANIFEST.json (not JSON, or no database): skipped; looking at older ones (check it: backup.sh verify --backup s3://$bucket/$newest)"
            else
              log "the newest backup s3://$bucket/$newest/ is not of database '$source_db': looking at older ones"
            fi
            find "$RESTORE_DL" -mindepth 1 -delete
          fi
          phase select
        fi
      fi
      [[ -n $prefix ]] || prefix=$(newest_s3 "$bucket" "$REGION" "$source_db")
      [[ -n $prefix ]] || die "$EX_VERIFY" "no backup of database '$source_db' with a manifest in s3://$bucket/db/ (backups of other databases are never picked; --source-db NAME restores those of NAME)"
      mdb=$source_db
    fi
  else
    if [[ -n $target && ( -d $target || -f $target ) ]]; then
      dir=$target
    elif [[ -n $target ]]; then
      local d
      for d in "$root/db/daily/$target" "$root/db/weekly/$target" "$root/$target"; do [[ -d $d ]] && dir=$d; done
      [[ -n $dir ]] || die "$EX_VERIFY" "backup $target not found (not a directory or file, nor under $root/db/)"
    else
      dir=$(newest_local "$root" "$source_db")
      [[ -n $dir ]] || die "$EX_VERIFY" "no complete backup (with MANIFEST.json) of database '$source_db' under $root/db/ (backups of other databases are never picked; --source-db NAME restores those of NAME)"
    fi
    if [[ -d $dir ]]; then
      mdb=$(manifest_database "$dir/MANIFEST.json")
    fi
  fi
  if [[ $is_sql == 0 && -n $mdb && $mdb != "$source_db" ]]; then
    local which=$dir
    [[ -z $prefix ]] || which=s3://$bucket/$prefix
    die "$EX_USAGE" "the backup $which is of database '$mdb', not '$source_db'; to restore it as '$db' anyway, pass --source-db $mdb"
  fi

  local src_desc
  if [[ -n $key ]]; then src_desc="s3://$bucket/$key (plain SQL, no manifest; of database '$source_db' per --source-db)"
  elif [[ -n $prefix ]]; then src_desc="s3://$bucket/$prefix/ (backup of database '$mdb')"
  elif [[ -f $dir ]]; then src_desc="$dir (plain SQL, no manifest; of database '$source_db' per --source-db)"
  else src_desc="$dir (backup of database '$mdb')"; fi

  if [[ $dry == 1 ]]; then
    cat <<EOF
dry-run: restore-dump would (nothing has been changed):
  1. use backup $src_desc$([[ $source == local ]] || printf '\n     download it to a temporary directory under %s/restore/, removed afterwards' "$root")
  2. verify it: manifest complete, sha256 of every file, no extra file, archive readable
  3. create the backup's missing roles$([[ $roles == 1 ]] || printf ' (skipped: --no-roles)'); CREATE DATABASE $(qi "$restore_db") TEMPLATE template0 (owner and locale of $(qi "$db")) on ${PGHOST:-socket}:${PGPORT:-5432}
     load it: pg_restore -j $jobs --exit-on-error$([[ $no_owner == 0 ]] || printf ' --no-owner --no-privileges') -d $(qi "$restore_db") (psql for a .sql file)
  4. compare row counts of every table with the manifest; database-level properties (ACL, settings, comment)$([[ $analyze == 0 ]] || printf '; ANALYZE')
EOF
    if [[ $switch == 1 ]]; then
      cat <<EOF
  5. switch (one transaction): terminate sessions on $(qi "$db");
     ALTER DATABASE $(qi "$db") RENAME TO $(qi "$pre_db");
     ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db")
  6. keep $(qi "$pre_db"); drop it later with: $(drop_cmd "$maint" "$pre_db")
EOF
    else
      echo "  5. no switch (--no-switch): $(qi "$restore_db") is left for inspection; drop it with: $(drop_cmd "$maint" "$restore_db")"
    fi
    return 0
  fi

  if [[ $switch == 1 && $yes == 0 ]]; then
    confirm "About to restore $src_desc and replace database '$db' with it (the current one is kept as '$pre_db')." "$yes"
  fi

  if [[ $source == s3 && -z $dir ]]; then
    phase download
    restore_dl_dir "$root" "$now"
    local dl=$RESTORE_DL
    if [[ -n $key ]]; then
      dir=$dl/${key##*/}
      log "downloading s3://$bucket/$key"
      local err
      err=$(mktemp); cleanup_path "$err"
      aws_base_args
      run_child --out /dev/null --err "$err" aws "${AWS_ARGS[@]}" --region "$REGION" s3 cp --only-show-errors "s3://$bucket/$key" "$dir" \
        || die "download of s3://$bucket/$key failed: $(first_error "$err")"
    else
      fetch_s3 "$bucket" "$REGION" "$prefix" "$dl"
      dir=$dl
    fi
  fi

  # Step 2: verify before touching anything.
  phase verify
  log "step 2: verifying $dir"
  local manifest="" globals=""
  if [[ -f $dir ]]; then
    sql_dump_check "$dir" || die "$EX_VERIFY" "verify failed: $SQL_DUMP_PROBLEM"
  else
    verify_backup "$dir" 0 "$jobs"
    manifest=$dir/MANIFEST.json
    [[ ! -f $dir/globals.json ]] || globals=$dir/globals.json
    log "backup ok: $(jq -r '"\(.kind) \(.timestamp) of database \(.database)"' "$manifest"), $(jq '.tables | length' "$manifest") tables"
  fi

  # Step 3: roles, new database, load.
  phase create
  local live_exists owner="" create out is_plain=0
  [[ -f $dir ]] || [[ $(jq -r '.dump.format // "directory"' "$manifest") != plain ]] || is_plain=1
  [[ -f $dir ]] && is_plain=1
  live_exists=$(psql_at "$maint" "SELECT count(*) FROM pg_database WHERE datname = $(ql "$db")")
  if [[ -z $globals && $live_exists == 1 ]]; then
    # A plain .sql holds no database-level properties: keep those of the live database.
    globals=$(mktemp); cleanup_path "$globals"
    dump_globals "$db" "$globals"
  fi
  if [[ -n $globals && $roles == 1 && $no_owner == 0 ]]; then
    local created
    created=$(restore_roles "$globals" "$maint")
    [[ -z $created ]] || log "step 3: created the missing role(s): $(paste -sd, - <<<"$created")"
    roles_report "$globals" "$maint" "$created"
  fi
  if [[ $is_plain == 1 && $no_owner == 0 && ${#SQL_ROLES[@]} -gt 0 ]]; then
    # Owners and grantees the SQL names must exist, or psql stops at the first one: say so now.
    local have_roles missing_roles
    have_roles=$(psql_at "$maint" "SELECT rolname FROM pg_roles")
    missing_roles=$(LC_ALL=C comm -23 <(printf '%s\n' "${SQL_ROLES[@]}" | LC_ALL=C sort -u) <(LC_ALL=C sort -u <<<"$have_roles") | paste -sd, -)
    [[ -z $missing_roles ]] || die "the SQL dump names role(s) this server does not have (as owners or grantees): $missing_roles; create them first (e.g. psql -d postgres -c $(shq "CREATE ROLE $(qi "${missing_roles%%,*}") NOLOGIN")), or pass --no-owner to restore without owners and grants; nothing was changed"
  fi
  # Owner, encoding and locale (provider, ICU locale) of the live database, else of the backup.
  local dbinfo
  if [[ $live_exists == 1 ]]; then
    dbinfo=$(psql_at "$maint" "SELECT json_build_object('owner', pg_get_userbyid(d.datdba), 'encoding', pg_encoding_to_char(d.encoding),
      'collate', d.datcollate, 'ctype', d.datctype, 'locale_provider', to_jsonb(d) ->> 'datlocprovider',
      'icu_locale', coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale')) FROM pg_database d WHERE d.datname = $(ql "$db")")
  else
    warn "database '$db' does not exist: the restore will create it"
    dbinfo='{}'
    [[ -z $globals ]] || dbinfo=$(jq -c '.database' "$globals")
    owner=$(jq -r '.owner // empty' <<<"$dbinfo")
    if [[ -n $owner && ( $no_owner == 1 || $(psql_at "$maint" "SELECT count(*) FROM pg_roles WHERE rolname = $(ql "$owner")") != 1 ) ]]; then
      dbinfo=$(jq -c 'del(.owner)' <<<"$dbinfo")
    fi
  fi
  owner=$(jq -r '.owner // empty' <<<"$dbinfo")
  create="CREATE DATABASE $(qi "$restore_db") TEMPLATE template0$(jq -r "$JQ_SQL_DEFS"'
    [ (if .owner then " OWNER \(.owner | qi)" else empty end),
      (if .encoding then " ENCODING \(.encoding | ql)" else empty end),
      (if .collate then " LC_COLLATE \(.collate | ql)" else empty end),
      (if .ctype then " LC_CTYPE \(.ctype | ql)" else empty end),
      (if .locale_provider == "i" then " LOCALE_PROVIDER icu ICU_LOCALE \(.icu_locale | ql)"
       elif .locale_provider == "b" then " LOCALE_PROVIDER builtin BUILTIN_LOCALE \(.icu_locale | ql)"
       elif .locale_provider == "c" then " LOCALE_PROVIDER libc" else empty end) ] | join("")' <<<"$dbinfo")"
  log "step 3: $create"
  RESTORE_MAINT=$maint
  RESTORE_KEEP_FAILED=$keep_failed
  out=$(psql_at "$maint" "$create" 2>&1) || die "could not create database $restore_db: $(first_error_text "$out")"
  RESTORE_DB=$restore_db
  cleanup_fn _drop_incomplete_restore
  [[ -n $owner ]] || owner=$(psql_at "$maint" "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $(ql "$restore_db")")

  log "step 3: loading into $restore_db (jobs $jobs)"
  phase load
  load_backup "$dir" "$restore_db" "$jobs" "$no_owner" \
    || die "loading the backup into $restore_db failed: $LOAD_ERROR; live database '$db' untouched"

  # Step 4: row counts against the manifest, database properties, statistics.
  phase count
  local nrows="?" ntables="?" analyze_pid="" analyze_err="" checked
  if [[ $analyze == 1 ]]; then
    # ANALYZE runs in its own session while the rows are counted (both only read the tables);
    # its result is checked below, before the switch.
    analyze_err=$(mktemp "${TMPDIR:-/tmp}/genie-analyze.XXXXXX"); cleanup_path "$analyze_err"
    psql_at "$restore_db" "ANALYZE" >"$analyze_err" 2>&1 &
    analyze_pid=$!
    cleanup_pid "$analyze_pid"
  fi
  if [[ -n $manifest ]]; then
    log "step 4: counting rows in $restore_db"
    count_diff "$restore_db" "$manifest"
    [[ -z $COUNT_DIFF ]] || die "$EX_VERIFY" "row counts differ from the manifest: $COUNT_DIFF; live database '$db' untouched"
    nrows=$(jq '[.tables[].rows] | add // 0' "$manifest")
    ntables=$(jq '.tables | length' "$manifest")
    checked="rows checked against the manifest"
    log "row counts match the manifest ($ntables tables, $nrows rows)"
  else
    count_rows_file "$restore_db"
    nrows=$(jq -s '[.[].rows] | add // 0' "$COUNTS_FILE")
    ntables=$(jq -s 'length' "$COUNTS_FILE")
    checked="rows loaded (a .sql file has no manifest: not checked)"
    log "loaded $ntables tables, $nrows rows (a plain SQL file has no manifest to compare with)"
    if [[ $live_exists == 1 && $source_db == "$db" ]]; then
      # The file's database is only the operator's word: a file of another database shares no
      # table with the live one.
      local tsql="SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1"
      local live_tables new_tables common
      live_tables=$(psql_at "$db" "$tsql")
      new_tables=$(psql_at "$restore_db" "$tsql")
      common=$(LC_ALL=C comm -12 <(LC_ALL=C sort <<<"$live_tables") <(LC_ALL=C sort <<<"$new_tables") | grep -c . || true)
      if [[ -n $live_tables && $common == 0 ]]; then
        die "$EX_VERIFY" "the .sql file shares no table with the live database '$db' (file: $(head -n 3 <<<"$new_tables" | paste -sd, -); live: $(head -n 3 <<<"$live_tables" | paste -sd, -)): it is not a dump of '$db'; live database '$db' untouched (--source-db NAME with the file's own database restores it anyway)"
      fi
      local only_live
      only_live=$(LC_ALL=C comm -23 <(LC_ALL=C sort <<<"$live_tables") <(LC_ALL=C sort <<<"$new_tables") | head -n 5 | paste -sd, -)
      [[ -z $only_live ]] || warn "table(s) of the live database '$db' that the .sql file does not have: $only_live"
    fi
  fi
  phase properties
  if [[ -n $globals ]]; then
    local have props_file props_err skipped
    have=$(psql_at "$maint" "SELECT coalesce(json_agg(rolname), '[]') FROM pg_roles")
    props_file=$(mktemp "${TMPDIR:-/tmp}/genie-props.XXXXXX"); cleanup_path "$props_file"
    props_err=$(mktemp "${TMPDIR:-/tmp}/genie-props-err.XXXXXX"); cleanup_path "$props_err"
    database_properties_sql "$globals" "$restore_db" "$have" "$owner" >"$props_file"
    if [[ -s $props_file ]]; then
      # Connected to the restored database: the settings are checked against its own catalog.
      run_child --out /dev/null --err "$props_err" "${PSQL_BASE[@]}" -At -d "$restore_db" -f "$props_file" \
        || die "giving $restore_db the database-level properties (ACL, settings, comment) failed: $(first_error "$props_err"); live database '$db' untouched"
      log "step 4: database-level properties applied (ACL, settings, comment)"
    fi
    skipped=$(database_properties_skipped "$globals" "$have" "$owner" | paste -sd';' -)
    [[ -z $skipped ]] || warn "database-level properties of role(s) this server does not have were skipped: $skipped"
  fi
  if [[ -n $analyze_pid ]]; then
    phase analyze
    wait "$analyze_pid" || die "ANALYZE of $restore_db failed: $(first_error "$analyze_err"); live database '$db' untouched (--no-analyze skips it)"
  fi

  if [[ $switch == 0 ]]; then
    RESTORE_DONE=1
    log "timings: $(phase_times)"
    printf 'restore-dump ok: %s restored into %s (not switched), %s %s, %ss\n' "$src_desc" "$restore_db" "$nrows" "$checked" "$(elapsed)"
    printf 'drop it when done: %s\n' "$(drop_cmd "$maint" "$restore_db")"
    return 0
  fi

  # Step 5: switch. Through run_child (a signal stops it at once); the cleanup asks the server
  # whether the renames committed before it says anything.
  phase switch
  local sql attempt sql_file switch_err
  if [[ $live_exists == 1 ]]; then
    sql="BEGIN;
SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname IN ($(ql "$db"), $(ql "$restore_db")) AND pid <> pg_backend_pid();
ALTER DATABASE $(qi "$db") RENAME TO $(qi "$pre_db");
ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db");
COMMIT;"
    RESTORE_PRE=$pre_db
  else
    sql="ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db");"
  fi
  RESTORE_LIVE=$db
  sql_file=$(mktemp "${TMPDIR:-/tmp}/genie-switch.XXXXXX"); cleanup_path "$sql_file"
  switch_err=$(mktemp "${TMPDIR:-/tmp}/genie-switch-err.XXXXXX"); cleanup_path "$switch_err"
  printf '%s\n' "$sql" >"$sql_file"
  RESTORE_SWITCHING=1
  for attempt in 1 2 3 4 5; do
    log "step 5: switching (attempt $attempt)"
    if run_child --out /dev/null --err "$switch_err" "${PSQL_BASE[@]}" -At -d "$maint" -f "$sql_file"; then RESTORE_DONE=1; break; fi
    warn "switch attempt $attempt failed: $(first_error "$switch_err")"
    sleep 1
  done
  RESTORE_SWITCHING=0
  if [[ $RESTORE_DONE != 1 ]]; then
    # Renames are transactional: nothing changed. Keep the verified copy for a manual switch.
    RESTORE_DONE=1
    die "could not switch databases after 5 attempts (sessions keep connecting to '$db'?); nothing was renamed, the verified copy is $restore_db: stop the application and run the renames of --dry-run by hand"
  fi
  local what
  if [[ -n $manifest ]]; then what=$(jq -r '.kind + "/" + .timestamp' "$manifest"); else what=${key:-$dir}; what=${what##*/}; fi
  log "timings: $(phase_times)"
  printf 'restore-dump ok: %s is now %s (from %s), %s %s, %ss\n' "$db" "$what" "$src_desc" "$nrows" "$checked" "$(elapsed)"
  if [[ $live_exists == 1 ]]; then
    printf 'previous database kept as %s; once the application is verified, drop it with:\n  %s\n' "$pre_db" "$(drop_cmd "$maint" "$pre_db")"
  fi
}

# ----------------------------------------------------------------------------------------
pitr_usage() {
  cat <<'EOF'
Usage: recovery.sh pitr (--restore-time YYYY-MM-DDTHH:MM:SSZ | --latest) [--source ID] [--target ID]
                        [--instance-class CLASS] [--subnet-group NAME] [--security-group-ids sg-1,sg-2]
                        [--no-multi-az] [--no-wait] [--timeout SECONDS]

Restores $DB_INSTANCE_ID (--source) to a point in time into a NEW instance (--target, default
<source>-pitr-<YYYYmmdd-HHMMSS>), in the source's subnet group and security groups, Multi-AZ
and deletion-protected like production, waits until it is available, and prints its endpoint
and how to point the application at it. The source is not modified.

Settings: DB_INSTANCE_ID, AWS_REGION, AWS_ENDPOINT_URL, RDS_POLL_INTERVAL (default 30 s).

Example:
  DB_INSTANCE_ID=genie-production AWS_REGION=us-east-1 \
  scripts/recovery.sh pitr --restore-time 2026-11-30T09:55:00Z
EOF
}

cmd_pitr() {
  local source=${DB_INSTANCE_ID:-} target="" time="" latest=0 class="" subnet="" sgs="" multi_az=1 wait=1 timeout=7200
  while [[ $# -gt 0 ]]; do
    case $1 in
      --restore-time) need_value "$1" "$#"; time=$2; shift 2;;
      --latest) latest=1; shift;;
      --source) need_value "$1" "$#"; source=$2; shift 2;;
      --target) need_value "$1" "$#"; target=$2; shift 2;;
      --instance-class) need_value "$1" "$#"; class=$2; shift 2;;
      --subnet-group) need_value "$1" "$#"; subnet=$2; shift 2;;
      --security-group-ids) need_value "$1" "$#"; sgs=$2; shift 2;;
      --no-multi-az) multi_az=0; shift;;
      --no-wait) wait=0; shift;;
      --timeout) need_value "$1" "$#"; timeout=$2; shift 2;;
      -h|--help) pitr_usage; return 0;;
      *) usage_error "pitr: unknown option '$1'";;
    esac
  done
  DB_INSTANCE_ID=$source; require_env DB_INSTANCE_ID "RDS instance to restore from (--source)"
  need_region "region of the RDS instance"; require_cmd aws jq
  if [[ $latest == 1 && -n $time ]]; then usage_error "pitr: give --restore-time or --latest, not both"; fi
  if [[ $latest == 0 && -z $time ]]; then usage_error "pitr: choose the point in time: --restore-time YYYY-MM-DDTHH:MM:SSZ or --latest"; fi
  if [[ -n $time && ! $time =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]; then
    usage_error "pitr: --restore-time must be UTC like 2026-11-30T09:55:00Z, got '$time'"
  fi
  [[ -n $target ]] || target="$source-pitr-$(date -u +%Y%m%d-%H%M%S)"

  local info
  info=$(aws_call "$REGION" rds describe-db-instances --db-instance-identifier "$source" --output json)
  [[ -n $subnet ]] || subnet=$(jq -r '.DBInstances[0].DBSubnetGroup.DBSubnetGroupName // empty' <<<"$info")
  [[ -n $sgs ]] || sgs=$(jq -r '[.DBInstances[0].VpcSecurityGroups[]?.VpcSecurityGroupId] | join(",")' <<<"$info")
  [[ -n $class ]] || class=$(jq -r '.DBInstances[0].DBInstanceClass // empty' <<<"$info")
  local latest_time
  latest_time=$(jq -r '.DBInstances[0].LatestRestorableTime // "unknown"' <<<"$info")

  local args=(rds restore-db-instance-to-point-in-time --source-db-instance-identifier "$source"
    --target-db-instance-identifier "$target" --deletion-protection --copy-tags-to-snapshot
    --tags "$(jq -nc --arg s "$source" --arg t "${time:-latest}" '[{Key:"restored-from",Value:$s},{Key:"restore-time",Value:$t},{Key:"created-by",Value:"recovery.sh"}]')")
  if [[ $latest == 1 ]]; then args+=(--use-latest-restorable-time); else args+=(--restore-time "$time"); fi
  [[ -z $class ]] || args+=(--db-instance-class "$class")
  [[ -z $subnet ]] || args+=(--db-subnet-group-name "$subnet")
  if [[ -n $sgs ]]; then IFS=',' read -r -a sg_list <<<"$sgs"; args+=(--vpc-security-group-ids "${sg_list[@]}"); fi
  if [[ $multi_az == 1 ]]; then args+=(--multi-az); else args+=(--no-multi-az); fi
  log "restoring $source to ${time:-the latest restorable time ($latest_time)} as $target ($REGION)"
  aws_call "$REGION" "${args[@]}" >/dev/null
  if [[ $wait == 0 ]]; then
    printf 'pitr started: %s (not waiting; check with: aws rds describe-db-instances --db-instance-identifier %s)\n' "$target" "$target"
    return 0
  fi
  rds_wait_status instance "$target" "$REGION" available "$timeout"
  local endpoint
  endpoint=$(aws_call "$REGION" rds describe-db-instances --db-instance-identifier "$target" \
    --query 'DBInstances[0].[Endpoint.Address,Endpoint.Port]' --output text | tr '\t' ':')
  printf 'pitr ok: %s restored to %s as %s, endpoint %s, %ss\n' "$source" "${time:-latest}" "$target" "$endpoint" "$(elapsed)"
  cat <<EOF
next, point the application at it (the source $source is unchanged):
  a) check the data: PGHOST=${endpoint%:*} psql -d <db> -c 'SELECT count(*) FROM users'
  b) either rename the instances so the app's configured endpoint moves to the restored one:
       aws rds modify-db-instance --region $REGION --db-instance-identifier $source --new-db-instance-identifier $source-old --apply-immediately
       aws rds modify-db-instance --region $REGION --db-instance-identifier $target --new-db-instance-identifier $source --apply-immediately
     or set the application's database host to ${endpoint%:*} (its secret/config) and roll the app instances
  c) scripts/recovery.sh verify-app --url https://<app>/api/health
  d) reconcile Pulumi: pulumi refresh, then import or adopt the restored instance
EOF
}

# ----------------------------------------------------------------------------------------
promote_usage() {
  cat <<'EOF'
Usage: recovery.sh promote [--replica ID] [--dr-region REGION] [--backup-retention DAYS]
                           [--no-wait] [--timeout SECONDS] [--yes]

Promotes the DR region's cross-region read replica to a standalone primary: what
`pulumi up -s dr` with siteRole=active does, for when Pulumi itself cannot run. Irreversible:
asks for confirmation on a terminal, needs --yes otherwise. Idempotent: a replica that is
already standalone is reported and left alone. Waits until the instance is available and no
longer a replica, then prints its endpoint. Afterwards set siteRole=active in Pulumi.dr.yaml so
the next `pulumi up -s dr` agrees with what was done.

Settings: DR_DB_INSTANCE_ID (--replica), DR_REGION (--dr-region), AWS_ENDPOINT_URL,
          BACKUP_RETENTION_DAYS (--backup-retention, default: the plan's daily-backup retention,
          PLAN_DB_DAILY_RETENTION_DAYS from lib/plan.env, generated from DR_PLAN), RDS_POLL_INTERVAL (default 30 s).

Example:
  DR_DB_INSTANCE_ID=genie-dr DR_REGION=us-west-2 scripts/recovery.sh promote --yes
EOF
}

cmd_promote() {
  local replica=${DR_DB_INSTANCE_ID:-} region=${DR_REGION:-} retention=${BACKUP_RETENTION_DAYS:-$PLAN_DB_DAILY_RETENTION_DAYS} wait=1 timeout=7200 yes=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --replica) need_value "$1" "$#"; replica=$2; shift 2;;
      --dr-region) need_value "$1" "$#"; region=$2; shift 2;;
      --backup-retention) need_value "$1" "$#"; retention=$2; shift 2;;
      --no-wait) wait=0; shift;;
      --timeout) need_value "$1" "$#"; timeout=$2; shift 2;;
      --yes|-y) yes=1; shift;;
      -h|--help) promote_usage; return 0;;
      *) usage_error "promote: unknown option '$1'";;
    esac
  done
  DR_DB_INSTANCE_ID=$replica; require_env DR_DB_INSTANCE_ID "identifier of the read replica in the DR region"
  DR_REGION=$region; require_env DR_REGION "the DR region that holds the replica, e.g. us-west-2"
  [[ $retention =~ ^[0-9]+$ && $retention -ge 1 && $retention -le 35 ]] || usage_error "--backup-retention must be 1-35 days"
  require_cmd aws jq
  local info source status
  info=$(aws_call "$region" rds describe-db-instances --db-instance-identifier "$replica" --output json)
  source=$(jq -r '.DBInstances[0].ReadReplicaSourceDBInstanceIdentifier // empty' <<<"$info")
  status=$(jq -r '.DBInstances[0].DBInstanceStatus' <<<"$info")
  if [[ -z $source ]]; then
    printf 'promote: %s in %s is not a read replica (status %s): already promoted, nothing to do\n' "$replica" "$region" "$status"
    return 0
  fi
  log "replica $replica ($region, status $status) of $source"
  confirm "About to promote $replica in $region to a standalone primary; replication from $source stops for good." "$yes"
  aws_call "$region" rds promote-read-replica --db-instance-identifier "$replica" \
    --backup-retention-period "$retention" >/dev/null
  log "promotion requested"
  if [[ $wait == 1 ]]; then
    local deadline=$(( $(date +%s) + timeout ))
    while :; do
      info=$(aws_call "$region" rds describe-db-instances --db-instance-identifier "$replica" --output json)
      source=$(jq -r '.DBInstances[0].ReadReplicaSourceDBInstanceIdentifier // empty' <<<"$info")
      status=$(jq -r '.DBInstances[0].DBInstanceStatus' <<<"$info")
      [[ -n $source || $status != available ]] || break
      [[ $(date +%s) -lt $deadline ]] || die "timed out after ${timeout}s waiting for $replica to be promoted (status $status)"
      log "waiting: status $status${source:+, still replicating from $source}"
      sleep "${RDS_POLL_INTERVAL:-30}"
    done
  fi
  local endpoint
  endpoint=$(jq -r '.DBInstances[0] | "\(.Endpoint.Address // "?"):\(.Endpoint.Port // "?")"' <<<"$info")
  if [[ $wait == 0 ]]; then
    printf 'promote requested: %s in %s (not waiting; it is done when describe-db-instances shows no ReadReplicaSourceDBInstanceIdentifier and status available)\n' "$replica" "$region"
    return 0
  fi
  printf 'promote ok: %s in %s is a standalone primary, endpoint %s, %ss\n' "$replica" "$region" "$endpoint" "$(elapsed)"
  echo 'next: set siteRole=active for stack dr (Pulumi.dr.yaml) so "pulumi up -s dr" matches, scale the DR app group, then run verify-app'
}

# ----------------------------------------------------------------------------------------
verify_app_usage() {
  cat <<'EOF'
Usage: recovery.sh verify-app [--url URL] [--retries N] [--delay SECONDS] [--timeout SECONDS]

Calls the health endpoint (--url, else $APP_URL/api/health) until it answers 2xx, at most N
times (default 10) with DELAY seconds between attempts (default 5), each attempt bounded by
TIMEOUT seconds (default 5). Prints one verdict line on stdout:
  healthy: <url> after N attempt(s) (HTTP 200)        exit 0
  unhealthy: <url> after N attempt(s): <last error>    exit 4

Example:
  APP_URL=https://genie.example.com scripts/recovery.sh verify-app --retries 30 --delay 10
EOF
}

cmd_verify_app() {
  local url="" retries=${VERIFY_RETRIES:-10} delay=${VERIFY_DELAY:-5} timeout=${VERIFY_TIMEOUT:-5}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --url) need_value "$1" "$#"; url=$2; shift 2;;
      --retries) need_value "$1" "$#"; retries=$2; shift 2;;
      --delay) need_value "$1" "$#"; delay=$2; shift 2;;
      --timeout) need_value "$1" "$#"; timeout=$2; shift 2;;
      -h|--help) verify_app_usage; return 0;;
      *) usage_error "verify-app: unknown option '$1'";;
    esac
  done
  if [[ -z $url ]]; then
    require_env APP_URL "base URL of the application, e.g. https://genie.example.com (or pass --url)"
    # shellcheck disable=SC2154 # checked by require_env just above
    url=${APP_URL%/}/api/health
  fi
  [[ $retries =~ ^[1-9][0-9]*$ ]] || usage_error "--retries must be a positive integer"
  [[ $delay =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--delay must be a number of seconds"
  [[ $timeout =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--timeout must be a number of seconds"
  require_cmd curl
  local attempt code last=""
  for (( attempt = 1; attempt <= retries; attempt++ )); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$timeout" "$url" 2>/dev/null) || code=${code:-000}
    if [[ $code =~ ^2[0-9][0-9]$ ]]; then
      printf 'healthy: %s after %d attempt(s) (HTTP %s)\n' "$url" "$attempt" "$code"
      return 0
    fi
    if [[ $code == 000 ]]; then last="no response (connection failed or timed out after ${timeout}s)"; else last="HTTP $code"; fi
    log "attempt $attempt/$retries: $last"
    [[ $attempt -eq $retries ]] || sleep "$delay"
  done
  printf 'unhealthy: %s after %d attempt(s): %s\n' "$url" "$retries" "$last"
  exit "$EX_UNHEALTHY"
}

# ----------------------------------------------------------------------------------------
rollback_image_usage() {
  cat <<'EOF'
Usage: recovery.sh rollback-image --stack STACK [--to TAG] [--cwd DIR] [--dry-run] [--yes]

Returns a site to the last image its deploy verification saw healthy, through Pulumi, so the next
`pulumi up` keeps it: `pulumi config set imageTag <tag>`, then `pulumi up`, which rolls the group
(one more instance refresh) and awaits and checks the rollout like any other.

Which tag, from the stack's outputs (written by the deploy verification):
  - the stack's imageTag differs from verifiedAppImageTag: the last rollout was never verified
    (pulumi up failed at the deploy verification): back to verifiedAppImageTag;
  - they are equal: that image verified, but is bad: back to previousVerifiedAppImageTag;
  - --to TAG: that tag (pulumi up checks it is in the registry before anything rolls).
The record is the verification command's output, kept in the stack's state: every rollout updates
it (never replaces it), and a failed verification leaves it as it was. It holds the last two
verified images only: after a rollback the image you left becomes previousVerifiedAppImageTag, so
a second rollback-image would return to it (use --to). It starts empty again when the command is
created anew (a new or rebuilt stack, pulumi up --replace of it).
Not the instance refresh's own rollback: it returns to the configuration the group had when the
refresh started, which the provider has already set to the new launch template version
(terraform-provider-aws #34189); it is off.

Settings: PULUMI_STACK (--stack: production or dr), PULUMI_CWD (--cwd: the Pulumi project
          directory, default the repository root). Needs the pulumi CLI, logged in to the backend.

Example:
  scripts/recovery.sh rollback-image --stack production --dry-run
EOF
}

cmd_rollback_image() {
  local stack=${PULUMI_STACK:-} cwd=${PULUMI_CWD:-} to="" dry=0 yes=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --stack|-s) need_value "$1" "$#"; stack=$2; shift 2;;
      --to) need_value "$1" "$#"; to=$2; shift 2;;
      --cwd) need_value "$1" "$#"; cwd=$2; shift 2;;
      --dry-run) dry=1; shift;;
      --yes|-y) yes=1; shift;;
      -h|--help) rollback_image_usage; return 0;;
      *) usage_error "rollback-image: unknown option '$1'";;
    esac
  done
  PULUMI_STACK=$stack; require_env PULUMI_STACK "the stack to return to its last verified image: production or dr"
  [[ -n $cwd ]] || cwd=$(cd "$SCRIPT_DIR/.." && pwd)
  require_cmd pulumi
  local current verified previous target why
  current=$(pulumi -C "$cwd" config get -s "$stack" imageTag) || die "cannot read imageTag of stack $stack (pulumi config get)"
  verified=$(pulumi -C "$cwd" stack output -s "$stack" verifiedAppImageTag 2>/dev/null) || verified=""
  previous=$(pulumi -C "$cwd" stack output -s "$stack" previousVerifiedAppImageTag 2>/dev/null) || previous=""
  if [[ -n $to ]]; then
    target=$to; why="chosen with --to"
  elif [[ -n $verified && $current != "$verified" ]]; then
    target=$verified; why="imageTag $current was never verified on this site; $verified was the last"
  elif [[ -n $previous ]]; then
    target=$previous; why="$current is the last verified image; $previous was verified before it"
  else
    die "no earlier verified image recorded for stack $stack (verifiedAppImageTag '$verified', previousVerifiedAppImageTag '$previous'); pass --to TAG"
  fi
  [[ $target =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "not an image tag: '$target'"
  [[ $target != "$current" ]] || die "stack $stack already has imageTag $target: run pulumi up -s $stack to roll it out"
  if [[ $dry == 1 ]]; then
    cat <<EOF
dry-run: rollback-image would (nothing has been changed):
  1. pulumi -C $cwd config set -s $stack imageTag $target   (now $current: $why)
  2. pulumi -C $cwd up -s $stack$([[ $yes == 0 ]] || printf ' --yes')   (checks the image is in the registry, rolls the group, awaits and checks the rollout)
EOF
    return 0
  fi
  log "stack $stack: imageTag $current -> $target ($why)"
  confirm "About to set imageTag of stack $stack to $target and run pulumi up." "$yes"
  pulumi -C "$cwd" config set -s "$stack" imageTag "$target" || die "pulumi config set failed"
  local up=(pulumi -C "$cwd" up -s "$stack")
  [[ $yes == 0 ]] || up+=(--yes)
  "${up[@]}" >&2 || die "pulumi up -s $stack failed with imageTag $target (the config now says $target; see the output above)"
  printf 'rollback-image ok: stack %s runs %s again (was %s), rollout verified by pulumi up\n' "$stack" "$target" "$current"
}

# ----------------------------------------------------------------------------------------
main() {
  parse_globals "$@"
  set -- "${ARGS[@]+"${ARGS[@]}"}"
  [[ $# -gt 0 ]] || { main_usage >&2; exit "$EX_USAGE"; }
  local cmd=$1; shift
  case $cmd in
    restore-dump) cmd_restore_dump "$@";;
    pitr) cmd_pitr "$@";;
    promote) cmd_promote "$@";;
    verify-app) cmd_verify_app "$@";;
    rollback-image) cmd_rollback_image "$@";;
    -h|--help|help) main_usage;;
    *) printf 'error: unknown command: %s\n' "$cmd" >&2; main_usage >&2; exit "$EX_USAGE";;
  esac
}

main "$@"
