# shellcheck shell=bash
# Logical dump format shared by backup.sh (writer) and recovery.sh (reader).
#
# A backup is a directory named by its UTC start time:
#   <root>/db/<daily|weekly>/<YYYYmmddTHHMMSSZ>/
#     dump/           pg_dump directory format (-Fd), one gzip file per table + toc.dat
#     MANIFEST.json   written last: sha256 and size of every file, row count per table,
#                     server version, start and end time. No manifest = not a backup.

readonly MANIFEST_FORMAT="genie-db-dump/1"
readonly STAMP_RE='^[0-9]{8}T[0-9]{6}Z$'

PSQL_BASE=(psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc)

# psql_at DB SQL: one query, unaligned tuples-only output.
psql_at() {
  local db=$1; shift
  "${PSQL_BASE[@]}" -At -d "$db" -c "$1"
}

pg_check_connect() {
  local db=$1 out
  if ! out=$(psql_at "$db" 'SELECT 1' 2>&1); then
    die "$EX_FAIL" "cannot connect to PostgreSQL database '$db' at ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-$(id -un)}: $(printf '%s' "$out" | grep -v '^\s*$' | tail -n 1)"
  fi
}

# SQL emitting one psql command per ordinary table; \gexec runs each, printing one JSON line.
readonly COUNT_SQL="SELECT format('SELECT json_build_object(''schema'', %L, ''table'', %L, ''rows'', count(*)) FROM %I.%I', n.nspname, c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  ORDER BY n.nspname, c.relname"

# count_rows DB [SNAPSHOT]: exact count(*) per table as JSON lines, sorted.
# With SNAPSHOT (from pg_export_snapshot) the counts see exactly what pg_dump sees.
count_rows() {
  local db=$1 snapshot=${2:-}
  {
    echo 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;'
    [[ -z $snapshot ]] || echo "SET TRANSACTION SNAPSHOT '$snapshot';"
    printf '%s\n\\gexec\n' "$COUNT_SQL"
    echo 'COMMIT;'
  } | "${PSQL_BASE[@]}" -At -d "$db" -f - | jq -c -s 'sort_by(.schema, .table) | .[]'
}

# newest_local ROOT: path of the newest complete backup (with a manifest) under ROOT/db/*/.
newest_local() {
  local root=$1 best="" best_stamp="" d stamp
  for d in "$root"/db/daily/* "$root"/db/weekly/*; do
    [[ -f $d/MANIFEST.json ]] || continue
    stamp=$(basename "$d")
    [[ $stamp =~ $STAMP_RE ]] || continue
    if [[ -z $best_stamp || $stamp > "$best_stamp" ]]; then best=$d; best_stamp=$stamp; fi
  done
  printf '%s' "$best"
}

# newest_s3 BUCKET REGION: "db/<kind>/<stamp>" of the newest backup in S3 that has a manifest.
newest_s3() {
  local bucket=$1 region=$2 keys
  keys=$(aws_call "$region" s3api list-objects-v2 --bucket "$bucket" --prefix db/ \
    --query "Contents[?ends_with(Key, '/MANIFEST.json')].Key" --output text)
  printf '%s\n' "$keys" | tr '\t' '\n' | grep -E '^db/(daily|weekly)/[0-9]{8}T[0-9]{6}Z/MANIFEST\.json$' \
    | awk -F/ '{print $3 "\t" $1 "/" $2 "/" $3}' | sort | tail -n 1 | cut -f2 || true
}

# fetch_s3 BUCKET REGION PREFIX DEST: download a backup (data first, manifest last).
fetch_s3() {
  local bucket=$1 region=$2 prefix=$3 dest=$4
  mkdir -p "$dest"
  log "downloading s3://$bucket/$prefix/ to $dest"
  aws_call "$region" s3 cp --recursive --only-show-errors "s3://$bucket/$prefix/" "$dest/" >/dev/null
}

# verify_backup DIR DEEP JOBS: exit 3 with the reason when the backup is not good.
# Checks: manifest present and complete, paths safe, every listed file present with matching
# sha256 and size, no unlisted file, pg_restore reads the table of contents, every table in
# the manifest has data in the archive; DEEP=1 also tests every gzip stream.
verify_backup() {
  local dir=$1 deep=${2:-1} jobs=${3:-2} manifest bad
  manifest=$dir/MANIFEST.json
  [[ -d $dir ]] || die "$EX_VERIFY" "verify failed: backup directory not found: $dir"
  [[ -f $manifest ]] || die "$EX_VERIFY" "verify failed: no MANIFEST.json in $dir (incomplete or failed backup)"
  jq -e . "$manifest" >/dev/null 2>&1 || die "$EX_VERIFY" "verify failed: MANIFEST.json in $dir is not valid JSON"
  bad=$(jq -r --arg fmt "$MANIFEST_FORMAT" '
      [ (if .format != $fmt then "format is not \($fmt)" else empty end),
        (if (.database | type) != "string" or .database == "" then "database missing" else empty end),
        (if (.server_version | type) != "string" then "server_version missing" else empty end),
        (if (.started_at | type) != "string" then "started_at missing" else empty end),
        (if (.finished_at | type) != "string" then "finished_at missing" else empty end),
        (if (.files | type) != "array" or (.files | length) == 0 then "files list missing or empty" else empty end),
        (if (.tables | type) != "array" then "tables list missing" else empty end),
        (if (.files | type) == "array" and any(.files[]; (.path | type) != "string" or (.sha256 | type) != "string" or (.bytes | type) != "number") then "a files entry lacks path, sha256 or bytes" else empty end),
        (if (.files | type) == "array" and any(.files[]; (.path | tostring | test("(^/)|(^|/)\\.\\.(/|$)"))) then "a files entry has an unsafe path" else empty end),
        (if (.tables | type) == "array" and any(.tables[]; (.rows | type) != "number") then "a tables entry lacks rows" else empty end)
      ] | first // empty' "$manifest")
  [[ -z $bad ]] || die "$EX_VERIFY" "verify failed: manifest incomplete in $dir: $bad"

  # Listed versus present files.
  local listed present missing extra
  listed=$(jq -r '.files[].path' "$manifest" | LC_ALL=C sort)
  present=$(cd "$dir" && find . -type f ! -name MANIFEST.json -printf '%P\n' | LC_ALL=C sort)
  missing=$(LC_ALL=C comm -23 <(printf '%s\n' "$listed") <(printf '%s\n' "$present") | head -n 3 | paste -sd, -)
  [[ -z $missing ]] || die "$EX_VERIFY" "verify failed: file(s) listed in the manifest are missing: $missing (in $dir)"
  extra=$(LC_ALL=C comm -13 <(printf '%s\n' "$listed") <(printf '%s\n' "$present") | grep -v '^$' | head -n 3 | paste -sd, - || true)
  [[ -z $extra ]] || die "$EX_VERIFY" "verify failed: file(s) not in the manifest: $extra (in $dir)"

  # Sizes (cheap) then checksums (parallel).
  local expected actual diff
  expected=$(jq -r '.files[] | "\(.bytes) \(.path)"' "$manifest" | LC_ALL=C sort)
  actual=$(cd "$dir" && printf '%s\n' "$listed" | xargs -d '\n' stat -c '%s %n' | LC_ALL=C sort)
  diff=$(LC_ALL=C comm -23 <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | head -n 1 | cut -d' ' -f2-)
  [[ -z $diff ]] || die "$EX_VERIFY" "verify failed: size mismatch for $diff (in $dir)"
  expected=$(jq -r '.files[] | "\(.sha256)  \(.path)"' "$manifest" | LC_ALL=C sort)
  actual=$(cd "$dir" && printf '%s\n' "$listed" | xargs -d '\n' -P "$jobs" -n 4 sha256sum | LC_ALL=C sort)
  diff=$(LC_ALL=C comm -23 <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | head -n 1 | sed 's/^[0-9a-f]*  //')
  [[ -z $diff ]] || die "$EX_VERIFY" "verify failed: checksum mismatch for $diff (in $dir)"

  # The archive must be readable by pg_restore and hold data for every table counted.
  local toc
  if ! toc=$(pg_restore --list "$dir/dump" 2>&1); then
    die "$EX_VERIFY" "verify failed: pg_restore cannot read the archive in $dir/dump: $(printf '%s' "$toc" | tail -n 1)"
  fi
  local missing_data
  missing_data=$(jq -r '.tables[] | "\(.schema) \(.table)"' "$manifest" | while IFS= read -r st; do
      grep -qF " TABLE DATA $st " <<<"$toc" || printf '%s\n' "$st"
    done | head -n 3 | paste -sd, -)
  [[ -z $missing_data ]] || die "$EX_VERIFY" "verify failed: archive has no data for table(s): $missing_data (in $dir)"

  if [[ $deep == 1 ]]; then
    local gz_bad
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    gz_bad=$(cd "$dir" || exit 1
      printf '%s\n' "$listed" | grep '\.gz$' \
        | xargs -d '\n' -r -P "$jobs" -n 1 sh -c 'gzip -t "$1" 2>/dev/null || echo "$1"' _ \
        | head -n 3 | paste -sd, - || true)
    [[ -z $gz_bad ]] || die "$EX_VERIFY" "verify failed: unreadable compressed data: $gz_bad (in $dir)"
  fi
  return 0
}

# pg_credentials_from_secret REGION: when DB_SECRET_ID is set and PGPASSWORD is not, read the
# database credentials from Secrets Manager (a JSON secret with "password" and optionally
# "username", "host", "port", "dbname", as RDS and most Pulumi programs store them, or a bare
# password string). Explicit PG* settings win over the secret's.
pg_credentials_from_secret() {
  local region=$1 secret
  [[ -n ${DB_SECRET_ID:-} && -z ${PGPASSWORD:-} ]] || return 0
  [[ -n $region ]] || die "$EX_USAGE" "missing setting: AWS_REGION (region of the secret DB_SECRET_ID)"
  require_cmd aws jq
  secret=$(aws_call "$region" secretsmanager get-secret-value --secret-id "$DB_SECRET_ID" --query SecretString --output text)
  if jq -e 'type == "object"' >/dev/null 2>&1 <<<"$secret"; then
    PGPASSWORD=$(jq -r '.password // empty' <<<"$secret")
    [[ -n ${PGUSER:-} ]] || PGUSER=$(jq -r '.username // empty' <<<"$secret")
    [[ -n ${PGHOST:-} ]] || PGHOST=$(jq -r '.host // empty' <<<"$secret")
    [[ -n ${PGPORT:-} ]] || PGPORT=$(jq -r '.port // empty | tostring' <<<"$secret")
    [[ -n ${PGDATABASE:-} ]] || PGDATABASE=$(jq -r '.dbname // empty' <<<"$secret")
  else
    PGPASSWORD=$secret
  fi
  [[ -n $PGPASSWORD ]] || die "secret $DB_SECRET_ID has no password"
  export PGPASSWORD PGUSER PGHOST PGPORT PGDATABASE
  [[ -n $PGUSER ]] || unset PGUSER
  [[ -n $PGHOST ]] || unset PGHOST
  [[ -n $PGPORT ]] || unset PGPORT
  [[ -n $PGDATABASE ]] || unset PGDATABASE
  log "database credentials read from secret $DB_SECRET_ID"
}
