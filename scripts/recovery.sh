#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Genie AI Server recovery runbook (DR plan, Appendix B). See scripts/README.md.
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
Usage: recovery.sh restore-dump [--backup DIR|STAMP|s3://bucket/db/<kind>/<stamp>] [--source s3|local]
                                [--db NAME] [--maintenance-db NAME] [--jobs N] [--no-switch]
                                [--no-owner] [--no-analyze] [--keep-failed] [--dry-run] [--yes]

Steps (nothing is changed before step 3, and the live database is never dropped):
  1. pick the backup: --backup, else the newest with a manifest (in S3 when BACKUP_BUCKET is
     set, else under BACKUP_DIR); download it from S3 into BACKUP_DIR/restore/<stamp>/
  2. verify it: manifest, file list, sha256 of every file, archive table of contents
  3. create <db>_restore_<now> (template0, the live database's owner and locale) and
     `pg_restore -j N --exit-on-error` into it
  4. compare exact row counts of every table with the manifest; ANALYZE
  5. switch: in one transaction, terminate sessions on <db>, rename <db> -> <db>_pre_restore_<now>
     and <db>_restore_<now> -> <db>; retried while new sessions race in
  6. print how to drop the previous database once the application is verified
A failure in steps 1-4 leaves the live database untouched (the half-restored database is
dropped unless --keep-failed). --no-switch stops after step 4 (restore test). --dry-run prints
the steps and changes nothing. Switching needs --yes when not run from a terminal.

Settings: PGHOST PGPORT PGUSER PGPASSWORD, PGDATABASE (--db: the application's database),
          DB_SECRET_ID (Secrets Manager secret with the credentials, read when PGPASSWORD is unset),
          BACKUP_DIR, BACKUP_BUCKET, AWS_REGION, AWS_ENDPOINT_URL, RESTORE_JOBS (--jobs),
          RESTORE_MAINTENANCE_WORK_MEM (optional, for index builds during the restore).

Example:
  PGHOST=db.internal PGUSER=genie PGDATABASE=genie BACKUP_DIR=/var/backups/genie \
  BACKUP_BUCKET=genie-backups AWS_REGION=us-east-1 scripts/recovery.sh restore-dump --dry-run
EOF
}

# quote an identifier for SQL
qi() { printf '"%s"' "${1//\"/\"\"}"; }
# quote a literal for SQL
ql() { printf "'%s'" "${1//\'/\'\'}"; }

cmd_restore_dump() {
  local target="" source="" db=${PGDATABASE:-} maint=${RESTORE_MAINT_DB:-postgres} jobs=${RESTORE_JOBS:-}
  local switch=1 no_owner=0 analyze=1 keep_failed=0 dry=0 yes=0
  local root=${BACKUP_DIR:-} bucket=${BACKUP_BUCKET:-}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --backup) need_value "$1" "$#"; target=$2; shift 2;;
      --source) need_value "$1" "$#"; source=$2; shift 2;;
      --db) need_value "$1" "$#"; db=$2; shift 2;;
      --maintenance-db) need_value "$1" "$#"; maint=$2; shift 2;;
      --jobs|-j) need_value "$1" "$#"; jobs=$2; shift 2;;
      --no-switch) switch=0; shift;;
      --no-owner) no_owner=1; shift;;
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
  if [[ -z $source ]]; then
    if [[ $target == s3://* ]]; then source=s3
    elif [[ -n $target && -d $target ]]; then source=local
    elif [[ -n $bucket ]]; then source=s3
    else source=local; fi
  fi
  [[ $source == s3 || $source == local ]] || usage_error "--source must be s3 or local, got '$source'"
  BACKUP_DIR=$root; require_env BACKUP_DIR "local backup directory (backups, and downloads from S3)"
  require_cmd psql pg_restore jq sha256sum

  local now restore_db pre_db
  now=$(date -u +%Y%m%d%H%M%S)
  restore_db=${db}_restore_$now
  pre_db=${db}_pre_restore_$now
  [[ ${#pre_db} -le 63 ]] || die "$EX_USAGE" "database name '$db' too long for the '${db}_pre_restore_<ts>' naming (63 bytes max)"

  # Step 1: which backup.
  local dir="" prefix=""
  if [[ $source == s3 ]]; then
    if [[ $target == s3://* ]]; then
      local rest=${target#s3://}; bucket=${rest%%/*}; prefix=${rest#*/}; prefix=${prefix%/}
    fi
    BACKUP_BUCKET=$bucket; require_env BACKUP_BUCKET "S3 bucket that holds the backups (or --source local)"
    need_region "region of the backup bucket"; require_cmd aws
    if [[ -z $prefix && -n $target ]]; then
      if [[ $target =~ ^db/ ]]; then prefix=${target%/}
      else die "$EX_USAGE" "--backup for S3 must be s3://bucket/db/<kind>/<stamp> or db/<kind>/<stamp>"; fi
    fi
    if [[ -z $prefix ]]; then
      prefix=$(newest_s3 "$bucket" "$REGION")
      [[ -n $prefix ]] || die "$EX_VERIFY" "no backup with a manifest in s3://$bucket/db/"
    fi
    dir=$root/restore/$(basename "$prefix")
  else
    if [[ -n $target && -d $target ]]; then dir=$target
    elif [[ -n $target ]]; then
      for d in "$root/db/daily/$target" "$root/db/weekly/$target"; do [[ -d $d ]] && dir=$d; done
      [[ -n $dir ]] || die "$EX_VERIFY" "backup $target not found under $root/db/"
    else
      dir=$(newest_local "$root")
      [[ -n $dir ]] || die "$EX_VERIFY" "no complete backup (with MANIFEST.json) under $root/db/"
    fi
  fi

  if [[ $dry == 1 ]]; then
    local src=$dir
    [[ $source == local ]] || src="s3://$bucket/$prefix/"
    cat <<EOF
dry-run: restore-dump would (nothing has been changed):
  1. use backup $src${prefix:+ (download to $dir)}
  2. verify it: manifest complete, sha256 of every file, no extra file, pg_restore --list
  3. CREATE DATABASE $(qi "$restore_db") TEMPLATE template0 (owner and locale of $(qi "$db")) on ${PGHOST:-socket}:${PGPORT:-5432}
     pg_restore -j $jobs --exit-on-error$([[ $no_owner == 0 ]] || printf ' --no-owner') -d $(qi "$restore_db") $dir/dump
  4. compare row counts of every table with the manifest$([[ $analyze == 0 ]] || printf '; ANALYZE')
EOF
    if [[ $switch == 1 ]]; then
      cat <<EOF
  5. switch (one transaction): terminate sessions on $(qi "$db");
     ALTER DATABASE $(qi "$db") RENAME TO $(qi "$pre_db");
     ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db")
  6. keep $(qi "$pre_db"); drop it later with: psql -d $maint -c 'DROP DATABASE $(qi "$pre_db")'
EOF
    else
      echo "  5. no switch (--no-switch): $(qi "$restore_db") is left for inspection"
    fi
    return 0
  fi

  if [[ $source == s3 ]]; then
    # Always a fresh download (an earlier, possibly partial or damaged, copy is replaced).
    local dl=$dir.partial-$$
    add_cleanup "rm -rf -- '$dl'"
    fetch_s3 "$bucket" "$REGION" "$prefix" "$dl"
    rm -rf -- "$dir"
    mv -T "$dl" "$dir"
  fi

  # Step 2: verify before touching anything.
  log "step 2: verifying $dir"
  verify_backup "$dir" 0 "$jobs"
  local manifest=$dir/MANIFEST.json mdb
  mdb=$(jq -r .database "$manifest")
  [[ $mdb == "$db" ]] || warn "backup is of database '$mdb', restoring as '$db'"
  log "backup ok: $(jq -r '.kind + " " + .timestamp' "$manifest"), $(jq '.tables | length' "$manifest") tables"

  # Step 3: new database, restore.
  pg_check_connect "$maint"
  local live_exists owner="" create
  live_exists=$(psql_at "$maint" "SELECT count(*) FROM pg_database WHERE datname = $(ql "$db")")
  create="CREATE DATABASE $(qi "$restore_db") TEMPLATE template0"
  if [[ $live_exists == 1 ]]; then
    local enc coll ctype
    IFS='|' read -r owner enc coll ctype < <(psql_at "$maint" "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = $(ql "$db")")
    create+=" OWNER $(qi "$owner") ENCODING $(ql "$enc") LC_COLLATE $(ql "$coll") LC_CTYPE $(ql "$ctype")"
  else
    warn "database '$db' does not exist: the restore will create it"
  fi
  log "step 3: $create"
  psql_at "$maint" "$create" >/dev/null || die "could not create database $restore_db"
  if [[ $keep_failed == 0 ]]; then
    add_cleanup "[[ \${RESTORE_DONE:-0} == 1 ]] || { log $(printf %q "dropping the incomplete $restore_db (live database untouched)"); psql_at $(printf %q "$maint") $(printf %q "DROP DATABASE IF EXISTS $(qi "$restore_db")") >/dev/null 2>&1; }"
  fi

  local restore_args=(-j "$jobs" --exit-on-error -d "$restore_db")
  [[ $no_owner == 0 ]] || restore_args+=(--no-owner --no-privileges)
  local err
  err=$(mktemp); add_cleanup "rm -f -- '$err'"
  log "step 3: pg_restore -j $jobs into $restore_db"
  # Session settings for the restore's connections: no wait for WAL flush per commit (a crash
  # mid-restore means restarting it anyway); optional maintenance_work_mem for index builds.
  local pgopts="${PGOPTIONS:-} -c synchronous_commit=off"
  [[ -z ${RESTORE_MAINTENANCE_WORK_MEM:-} ]] || pgopts+=" -c maintenance_work_mem=$RESTORE_MAINTENANCE_WORK_MEM"
  if ! PGOPTIONS=$pgopts pg_restore "${restore_args[@]}" "$dir/dump" 2>"$err"; then
    die "pg_restore into $restore_db failed: $(first_error "$err"); live database '$db' untouched"
  fi

  # Step 4: row counts against the manifest.
  log "step 4: counting rows in $restore_db"
  local counts diff
  counts=$(count_rows "$restore_db" | jq -s -c .)
  diff=$(jq -r --argjson got "$counts" '
      (.tables | map({key: "\(.schema).\(.table)", value: .rows}) | from_entries) as $want
      | ($got | map({key: "\(.schema).\(.table)", value: .rows}) | from_entries) as $have
      | [ ($want | to_entries[] | select($have[.key] != .value) | "\(.key): manifest \(.value), restored \($have[.key] // "missing")"),
          ($have | to_entries[] | select($want[.key] == null) | "\(.key): not in manifest") ]
      | .[:5] | join("; ")' "$manifest")
  [[ -z $diff ]] || die "$EX_VERIFY" "row counts differ from the manifest: $diff; live database '$db' untouched"
  local nrows
  nrows=$(jq '[.tables[].rows] | add // 0' "$manifest")
  log "row counts match the manifest ($(jq '.tables | length' "$manifest") tables, $nrows rows)"
  if [[ $analyze == 1 ]]; then
    psql_at "$restore_db" "ANALYZE" >/dev/null
  fi

  if [[ $switch == 0 ]]; then
    RESTORE_DONE=1
    printf 'restore-dump ok: %s restored into %s (not switched), %s rows checked, %ss\n' "$dir" "$restore_db" "$nrows" "$(elapsed)"
    printf 'drop it when done: psql -d %s -c %s\n' "$maint" "$(ql "DROP DATABASE $(qi "$restore_db")")"
    return 0
  fi

  # Step 5: switch.
  confirm "About to replace database '$db' with the restored copy (the current one is kept as '$pre_db')." "$yes"
  local sql attempt out
  if [[ $live_exists == 1 ]]; then
    sql="BEGIN;
SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname IN ($(ql "$db"), $(ql "$restore_db")) AND pid <> pg_backend_pid();
ALTER DATABASE $(qi "$db") RENAME TO $(qi "$pre_db");
ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db");
COMMIT;"
  else
    sql="ALTER DATABASE $(qi "$restore_db") RENAME TO $(qi "$db");"
  fi
  for attempt in 1 2 3 4 5; do
    log "step 5: switching (attempt $attempt)"
    if out=$("${PSQL_BASE[@]}" -At -d "$maint" <<<"$sql" 2>&1); then RESTORE_DONE=1; break; fi
    warn "switch attempt $attempt failed: $(printf '%s' "$out" | grep -v '^\s*$' | tail -n 1)"
    sleep 1
  done
  if [[ ${RESTORE_DONE:-0} != 1 ]]; then
    # Renames are transactional: nothing changed. Keep the verified copy for a manual switch.
    RESTORE_DONE=1
    die "could not switch databases after 5 attempts (sessions keep connecting to '$db'?); nothing was renamed, the verified copy is $restore_db"
  fi
  printf 'restore-dump ok: %s is now %s (from %s), %s rows checked, %ss\n' "$db" "$(jq -r '.kind + "/" + .timestamp' "$manifest")" "$dir" "$nrows" "$(elapsed)"
  if [[ $live_exists == 1 ]]; then
    printf 'previous database kept as %s; once the application is verified, drop it with:\n  psql -d %s -c %s\n' \
      "$pre_db" "$maint" "$(ql "DROP DATABASE $(qi "$pre_db")")"
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
          BACKUP_RETENTION_DAYS (--backup-retention, default 7), RDS_POLL_INTERVAL (default 30 s).

Example:
  DR_DB_INSTANCE_ID=genie-dr DR_REGION=us-west-2 scripts/recovery.sh promote --yes
EOF
}

cmd_promote() {
  local replica=${DR_DB_INSTANCE_ID:-} region=${DR_REGION:-} retention=${BACKUP_RETENTION_DAYS:-7} wait=1 timeout=7200 yes=0
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
