# shellcheck shell=bash
# shellcheck disable=SC2154 # EX_*, AWS_ARGS and the helpers come from lib/common.sh, sourced first
# Logical dump format shared by backup.sh (writer) and recovery.sh (reader).
# Over 300 lines on purpose: the dump format's one reader and writer (backup.sh and recovery.sh source it).
#
# A backup is a directory named by its UTC start time:
#   <root>/db/<daily|weekly>/<YYYYmmddTHHMMSSZ>/
#     dump/           pg_dump directory format (-Fd), one gzip file per table + toc.dat (default)
#     dump.sql.gz     or, with --format sql, the plan's plain SQL (pg_dump | gzip)
#     globals.json    the roles and memberships the database needs (no passwords unless asked)
#                     and its database-level properties (ACL, settings, comment, connection limit)
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
    echo 'SET LOCAL row_security = off;'
    [[ -z $snapshot ]] || echo "SET TRANSACTION SNAPSHOT '$snapshot';"
    printf '%s\n\\gexec\n' "$COUNT_SQL"
    echo 'COMMIT;'
  } | "${PSQL_BASE[@]}" -At -d "$db" -f - | jq -c -s 'sort_by(.schema, .table) | .[]'
}

# manifest_database FILE: the database a manifest is of ("" when unreadable).
manifest_database() { jq -r '.database // empty' "$1" 2>/dev/null || true; }

# pick_by_database WANT DAMAGED DESC DB: the selection rule of newest_local and newest_s3, for one
# backup (newest first): 0 = take it, 1 = skip it, and on a damaged manifest (not JSON, or no
# database: DB empty) DAMAGED decides: "take" (verify: the damaged newest backup must fail the
# check, never be passed over in silence) or "skip" (restore: warn, look at older ones).
# Only a manifest that parses and names another database is skipped without a word.
pick_by_database() {
  local want=$1 damaged=$2 desc=$3 mdb=$4
  [[ $mdb != "$want" ]] || return 0
  [[ -z $mdb ]] || return 1
  if [[ $damaged == take ]]; then return 0; fi
  warn "the backup $desc has a damaged MANIFEST.json (not JSON, or no database): skipped; looking at older ones (check it: backup.sh verify --backup ...)"
  return 1
}

# newest_local ROOT DB [DAMAGED]: path of the newest complete backup (with a manifest) of database
# DB under ROOT/db/*/; backups of other databases are never picked (DAMAGED: see pick_by_database,
# default skip).
newest_local() {
  local root=$1 want=$2 damaged=${3:-skip} d stamp
  while IFS=$'\t' read -r stamp d; do
    [[ -n $d ]] || continue
    if pick_by_database "$want" "$damaged" "$d" "$(manifest_database "$d/MANIFEST.json")"; then
      printf '%s' "$d"; return 0
    fi
  done < <(for d in "$root"/db/daily/* "$root"/db/weekly/*; do
      stamp=${d##*/}
      [[ -f $d/MANIFEST.json && $stamp =~ $STAMP_RE ]] && printf '%s\t%s\n' "$stamp" "$d"
    done | LC_ALL=C sort -r)
  return 0
}

# s3_manifest_keys BUCKET REGION: "db/<kind>/<stamp>" of every S3 backup with a manifest, newest first.
s3_manifest_keys() {
  local bucket=$1 region=$2 keys
  keys=$(aws_call "$region" s3api list-objects-v2 --bucket "$bucket" --prefix db/ \
    --query "Contents[?ends_with(Key, '/MANIFEST.json')].Key" --output text)
  printf '%s\n' "$keys" | tr '\t' '\n' | { grep -E '^db/(daily|weekly)/[0-9]{8}T[0-9]{6}Z/MANIFEST\.json$' || true; } \
    | awk -F/ '{print $3 "\t" $1 "/" $2 "/" $3}' | LC_ALL=C sort -r | cut -f2
}

# s3_read_manifest BUCKET REGION PREFIX: the manifest's JSON on stdout (dies with the S3 error).
s3_read_manifest() {
  local bucket=$1 region=$2 prefix=$3
  aws_call "$region" s3 cp --only-show-errors "s3://$bucket/$prefix/MANIFEST.json" -
}

# newest_s3 BUCKET REGION DB [DAMAGED]: "db/<kind>/<stamp>" of the newest backup of database DB in
# S3 (DAMAGED: see pick_by_database). S3 errors are reported as such (exit 1), never as "no backup".
newest_s3() {
  local bucket=$1 region=$2 want=$3 damaged=${4:-skip} prefix manifest mdb others=0
  local prefixes
  prefixes=$(s3_manifest_keys "$bucket" "$region")
  while IFS= read -r prefix; do
    [[ -n $prefix ]] || continue
    manifest=$(s3_read_manifest "$bucket" "$region" "$prefix")
    mdb=$(jq -r '.database // empty' <<<"$manifest" 2>/dev/null || true)
    if pick_by_database "$want" "$damaged" "s3://$bucket/$prefix/" "$mdb"; then
      printf '%s' "$prefix"; return 0
    fi
    [[ -z $mdb ]] || others=$((others + 1))
  done <<<"$prefixes"
  [[ $others == 0 ]] || log "skipped $others backup(s) in s3://$bucket/db/ of other databases than '$want'"
  return 0
}

# s3_safe_prefix PREFIX: a backup prefix is db/<daily|weekly>/<stamp>, nothing shorter (a shorter
# one would download a whole tree).
s3_backup_prefix_ok() { [[ $1 =~ ^db/(daily|weekly)/[0-9]{8}T[0-9]{6}Z$ ]]; }

# fetch_s3 BUCKET REGION PREFIX DEST: download one backup (data first, manifest last).
fetch_s3() {
  local bucket=$1 region=$2 prefix=$3 dest=$4
  s3_backup_prefix_ok "$prefix" || die "$EX_USAGE" "not a backup prefix: '$prefix' (expected db/<daily|weekly>/<YYYYmmddTHHMMSSZ>)"
  mkdir -p "$dest"
  log "downloading s3://$bucket/$prefix/ to $dest"
  aws_base_args
  local err
  err=$(mktemp); cleanup_path "$err"
  if ! run_child --out /dev/null --err "$err" aws "${AWS_ARGS[@]}" --region "$region" s3 cp --recursive --only-show-errors "s3://$bucket/$prefix/" "$dest/"; then
    die "download of s3://$bucket/$prefix/ failed: $(first_error "$err") (check the bucket, the credentials and free space in $dest)"
  fi
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
  [[ -s $manifest ]] || die "$EX_VERIFY" "verify failed: MANIFEST.json in $dir is empty (0 bytes): the backup's manifest was never written completely; use another backup"
  jq -e 'type == "object"' "$manifest" >/dev/null 2>&1 || die "$EX_VERIFY" "verify failed: MANIFEST.json in $dir is not a JSON object (damaged manifest); use another backup"
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
        (if (.tables | type) == "array" and any(.tables[]; (.rows | type) != "number") then "a tables entry lacks rows" else empty end),
        (if .dump.format == "plain" and (.dump.file as $f | ($f | type) != "string" or ([.files[]?.path] | index([$f]) | not)) then "dump.file is not one of the listed files" else empty end)
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

  # The archive must be readable and hold data for every table counted.
  local fmt
  fmt=$(jq -r '.dump.format // "directory"' "$manifest")
  if [[ $fmt == plain ]]; then
    local sqlfile
    sqlfile=$(jq -r '.dump.file // "dump.sql.gz"' "$manifest")
    sql_dump_check "$dir/$sqlfile" || die "$EX_VERIFY" "verify failed: $SQL_DUMP_PROBLEM (in $dir)"
    return 0
  fi
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
      printf '%s\n' "$listed" | { grep -E '\.(gz|zst)$' || true; } \
        | xargs -d '\n' -r -P "$jobs" -n 1 sh -c 'case $1 in *.zst) zstd -q -t "$1";; *) gzip -t "$1";; esac 2>/dev/null || echo "$1"' _ \
        | head -n 3 | paste -sd, -)
    [[ -z $gz_bad ]] || die "$EX_VERIFY" "verify failed: unreadable compressed data: $gz_bad (in $dir)"
  fi
  return 0
}

# decompress_cmd FILE: the command that writes FILE's SQL to stdout (by its extension).
decompress_cmd() {
  case $1 in
    *.gz) DECOMPRESS=(gzip -dc -- "$1");;
    *.zst) command -v zstd >/dev/null 2>&1 || die "zstd is needed to read $1 (install the zstd package)"; DECOMPRESS=(zstd -q -dc -- "$1");;
    *) DECOMPRESS=(cat -- "$1");;
  esac
}

# SQL_SCAN_AWK: reads a plain SQL dump as psql would, skipping COPY ... FROM stdin data (up to
# its "\." line), and refuses what would act outside the new database: any psql meta-command but
# \restrict/\unrestrict (\connect, \c, \!, \o, \i, \ir, \copy ...: at a line's start, or after a
# statement's ";"), CREATE/ALTER/DROP ROLE|USER|GROUP|DATABASE|TABLESPACE, ALTER SYSTEM,
# REASSIGN/DROP OWNED, LOAD, COPY from or to a server file or PROGRAM (what pg_dumpall, pg_dump
# --create and older pg_dump versions write). It is a check for the wrong kind of file, not a
# sandbox for a hostile one: a .sql file runs with the restoring user's rights.
# Prints "bad<TAB>line number<TAB>line" for the first refused line, else "lines<TAB>N<TAB>line of
# pg_dump's "dump complete" comment (0: none)", then "role<TAB>name" for every role the file
# names as an owner (OWNER TO) or a grantee (GRANT ... TO, ALTER DEFAULT PRIVILEGES ... TO).
# POSIX awk (mawk 1.3.4 has no regex intervals).
# shellcheck disable=SC2016 # an awk program
readonly SQL_SCAN_AWK='
function addrole(r) {
  if (r ~ /^"/) { r = substr(r, 2, length(r) - 2); gsub(/""/, "\"", r) }
  else if (toupper(r) == "PUBLIC") return
  if (r != "") roles[r] = 1
}
BEGIN { incopy = 0; complete = 0; bad = "" }
incopy { if ($0 == "\\.") incopy = 0; next }
{
  line = $0
  u = toupper(substr(line, 1, 120))
  if (line ~ /^[ \t]*\\/) {
    if (line ~ /^\\(restrict|unrestrict) /) next
    bad = line; exit
  }
  if (line ~ /;[ \t]*\\[A-Za-z!?]/) { bad = line; exit }
  if (u ~ /^(CREATE|ALTER|DROP) (ROLE|USER|GROUP|DATABASE|TABLESPACE)[ ;]/ || u ~ /^ALTER SYSTEM[ ;]/ \
      || u ~ /^(REASSIGN|DROP) OWNED[ ;]/ || u ~ /^LOAD[ ;]/) { bad = line; exit }
  if (u ~ /^COPY /) {
    if (toupper(line) ~ / (FROM|TO)[ \t]+(PROGRAM|\047)/) { bad = line; exit }
    if (line ~ / FROM stdin;$/) incopy = 1
    next
  }
  if (line ~ /^-- PostgreSQL database dump complete/) { complete = NR; next }
  if (u ~ /^ALTER / && line ~ / OWNER TO [^ ]+;$/) {
    r = line; sub(/.* OWNER TO /, "", r); sub(/;$/, "", r); addrole(r)
  } else if ((u ~ /^GRANT / || u ~ /^ALTER DEFAULT PRIVILEGES /) && line ~ / TO .*;$/) {
    r = line; sub(/.* TO /, "", r); sub(/;$/, "", r); sub(/ WITH (GRANT|ADMIN) OPTION$/, "", r)
    n = split(r, parts, ", ")
    for (i = 1; i <= n; i++) addrole(parts[i])
  }
}
END {
  if (bad != "") { printf "bad\t%d\t%s\n", NR, substr(bad, 1, 160); exit }
  printf "lines\t%d\t%d\n", NR, complete
  for (r in roles) printf "role\t%s\n", r
}'

# SQL_NO_OWNER_AWK: a plain SQL dump without ownership and privileges, what pg_restore --no-owner
# --no-privileges does for an archive: drops ALTER ... OWNER TO, GRANT, REVOKE, ALTER DEFAULT
# PRIVILEGES and SET SESSION AUTHORIZATION statements (pg_dump writes each on one line), never a
# line of COPY data.
# shellcheck disable=SC2016 # an awk program
readonly SQL_NO_OWNER_AWK='
incopy { print; if ($0 == "\\.") incopy = 0; next }
{
  u = toupper(substr($0, 1, 40))
  if (u ~ /^COPY / && $0 ~ / FROM stdin;$/) incopy = 1
  else if (u ~ /^ALTER / && $0 ~ / OWNER TO [^ ]+;$/) next
  else if (u ~ /^(GRANT|REVOKE) / || u ~ /^ALTER DEFAULT PRIVILEGES / || u ~ /^SET SESSION AUTHORIZATION /) next
  print
}'

# sql_dump_check FILE: a plain pg_dump file (.sql, .sql.gz, .sql.zst) decompresses completely,
# ends with pg_dump's "dump complete" line and holds nothing that acts outside the database it is
# loaded into (SQL_SCAN_AWK; one pass over the whole stream). Sets SQL_DUMP_PROBLEM, and SQL_ROLES
# (the roles the file names as owners or grantees).
SQL_DUMP_PROBLEM=""
# shellcheck disable=SC2034 # read by recovery.sh
SQL_ROLES=()
sql_dump_check() {
  local file=$1 scan rc=0 kind n rest
  SQL_DUMP_PROBLEM=""; SQL_ROLES=()
  [[ -s $file ]] || { SQL_DUMP_PROBLEM="SQL dump $file is missing or empty"; return 1; }
  decompress_cmd "$file"
  scan=$(mktemp "${TMPDIR:-/tmp}/genie-sqlscan.XXXXXX"); cleanup_path "$scan"
  # shellcheck disable=SC2016 # expanded by the inner bash
  run_child --out "$scan" --err /dev/null bash -c 'set -o pipefail; "${@:2}" | awk "$1"' _ "$SQL_SCAN_AWK" "${DECOMPRESS[@]}" || rc=$?
  IFS=$'\t' read -r kind n rest <"$scan" || kind=""
  if [[ $kind == bad ]]; then
    SQL_DUMP_PROBLEM="SQL dump $file line $n: '$rest': only what pg_dump of one database writes (without --create) is restored; this acts outside the new database (a psql meta-command such as \\connect, a role, database, tablespace or server-file statement, as pg_dumpall, pg_dump --create or an older pg_dump write); take the dump with pg_dump <db> (no --create, no pg_dumpall), or remove those lines, e.g. with: sed -E '/^(CREATE|ALTER|DROP) (ROLE|USER|DATABASE) /d; /^\\\\connect /d'"
    return 1
  fi
  if [[ $rc -ne 0 || $kind != lines ]]; then
    SQL_DUMP_PROBLEM="SQL dump $file does not decompress completely (truncated or damaged)"; return 1
  fi
  if [[ $rest == 0 || $(( n - rest )) -gt 8 ]]; then
    SQL_DUMP_PROBLEM="SQL dump $file does not end with pg_dump's '-- PostgreSQL database dump complete' line (truncated, or not a pg_dump file)"; return 1
  fi
  # shellcheck disable=SC2034 # read by recovery.sh
  mapfile -t SQL_ROLES < <(sed -n 's/^role\t//p' "$scan")
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

# ---------- globals: roles the database needs and its database-level properties ----------
# Roles: every role that is not PostgreSQL's (pg_*, the bootstrap superuser) nor RDS's (rdsadmin,
# rds_*), their attributes, role-level settings and memberships; passwords only when asked.
# Database: owner, encoding, locale, connection limit, ACL (GRANT/REVOKE ON DATABASE), settings
# (ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET) and comment. pg_restore without
# --create restores none of these, and a restore onto a new server has none of the roles.
readonly GLOBALS_FORMAT="genie-db-globals/1"
globals_sql() {
  local with_passwords=${1:-0} pw="NULL::text"
  [[ $with_passwords == 0 ]] || pw="(SELECT a.rolpassword FROM pg_authid a WHERE a.oid = r.oid)"
  cat <<SQL
SELECT json_build_object(
  'format', '$GLOBALS_FORMAT',
  'with_passwords', $([[ $with_passwords == 0 ]] && echo false || echo true),
  'database', (SELECT json_build_object(
      'name', d.datname, 'owner', pg_get_userbyid(d.datdba), 'encoding', pg_encoding_to_char(d.encoding),
      'collate', d.datcollate, 'ctype', d.datctype, 'connlimit', d.datconnlimit,
      'locale_provider', to_jsonb(d) ->> 'datlocprovider',
      'icu_locale', coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale'),
      'acl', CASE WHEN d.datacl IS NULL THEN NULL ELSE (SELECT coalesce(json_agg(json_build_object(
          'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
          'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.grantee, a.privilege_type), '[]') FROM aclexplode(d.datacl) a) END,
      'comment', shobj_description(d.oid, 'pg_database'),
      'settings', (SELECT coalesce(json_agg(json_build_object(
          'role', CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, 'config', s.setconfig)
          ORDER BY s.setrole), '[]') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid))
    FROM pg_database d WHERE d.datname = current_database()),
  'roles', (SELECT coalesce(json_agg(json_build_object(
      'name', r.rolname, 'login', r.rolcanlogin, 'inherit', r.rolinherit, 'createdb', r.rolcreatedb,
      'createrole', r.rolcreaterole, 'superuser', r.rolsuper, 'replication', r.rolreplication,
      'bypassrls', r.rolbypassrls, 'connlimit', r.rolconnlimit, 'valid_until', r.rolvaliduntil,
      'password', $pw,
      'settings', (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = 0 AND s.setrole = r.oid))
      ORDER BY r.rolname), '[]')
    FROM pg_roles r WHERE r.oid >= 16384 AND r.rolname !~ '^(pg_|rds_|rdsadmin$|rdsrepladmin$)'),
  'memberships', (SELECT coalesce(json_agg(json_build_object(
      'role', pg_get_userbyid(m.roleid), 'member', pg_get_userbyid(m.member), 'admin', m.admin_option)
      ORDER BY m.roleid, m.member), '[]')
    FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
    WHERE r.oid >= 16384 AND r.rolname !~ '^(pg_|rds_|rdsadmin$|rdsrepladmin$)')
)
SQL
}

# dump_globals DB FILE [WITH_PASSWORDS]: write the globals of DB as JSON.
dump_globals() {
  local db=$1 file=$2 with_passwords=${3:-0} out
  if ! out=$(psql_at "$db" "$(globals_sql "$with_passwords")" 2>&1); then
    die "reading roles and database properties of '$db' failed: $(printf '%s' "$out" | tail -n 1)$([[ $with_passwords == 0 ]] || printf ' (role passwords need a superuser: pg_authid)')"
  fi
  jq -e --arg f "$GLOBALS_FORMAT" '.format == $f' >/dev/null <<<"$out" || die "reading roles and database properties of '$db' returned no JSON"
  printf '%s\n' "$out" >"$file"
}

# jq helpers: SQL identifier and literal quoting.
readonly JQ_SQL_DEFS='def qi: "\"" + gsub("\""; "\"\"") + "\""; def ql: "'"'"'" + gsub("'"'"'"; "'"'"''"'"'") + "'"'"'";'

# restore_roles GLOBALS MAINT: create the roles of GLOBALS that do not exist on the server, and the
# memberships that are missing. Prints the created roles' names. Existing roles are left as they are.
restore_roles() {
  local globals=$1 maint=$2 existing sql out
  existing=$(psql_at "$maint" "SELECT coalesce(json_agg(rolname), '[]') FROM pg_roles")
  sql=$(jq -r --argjson have "$existing" "$JQ_SQL_DEFS"'
    [.roles[] | select(.name as $n | $have | index($n) | not)] as $new
    | ($new | map(.name)) as $newnames
    | [ ($new[] | "CREATE ROLE \(.name | qi) " + ([
          (if .login then "LOGIN" else "NOLOGIN" end),
          (if .inherit then "INHERIT" else "NOINHERIT" end),
          (if .createdb then "CREATEDB" else empty end),
          (if .createrole then "CREATEROLE" else empty end),
          (if .superuser then "SUPERUSER" else empty end),
          (if .replication then "REPLICATION" else empty end),
          (if .bypassrls then "BYPASSRLS" else empty end),
          (if .connlimit != -1 then "CONNECTION LIMIT \(.connlimit)" else empty end),
          (if .valid_until != null then "VALID UNTIL \(.valid_until | ql)" else empty end),
          (if .password != null then "PASSWORD \(.password | ql)" else empty end)
        ] | join(" ")) + ";"),
        ($new[] | .name as $r | (.settings // [])[] | capture("^(?<k>[^=]+)=(?<v>.*)$")
          | "BEGIN; SELECT set_config(\(.k | ql), \(.v | ql), true); ALTER ROLE \($r | qi) SET \(.k | qi) FROM CURRENT; COMMIT;"),
        (.memberships[] | select((.role as $x | ($have + $newnames) | index($x)) and (.member as $x | ($have + $newnames) | index($x)))
          | "GRANT \(.role | qi) TO \(.member | qi)\(if .admin then " WITH ADMIN OPTION" else "" end);")
      ] | .[]' "$globals")
  [[ -n $sql ]] || return 0
  if ! out=$("${PSQL_BASE[@]}" -At -d "$maint" <<<"$sql" 2>&1); then
    die "creating the backup's missing roles failed: $(first_error_text "$out") (create them by hand, or pass --no-owner to restore without owners and grants)"
  fi
  jq -r --argjson have "$existing" '.roles[] | select(.name as $n | $have | index($n) | not) | .name' "$globals"
}

# roles_report GLOBALS MAINT CREATED: warn about the backup's roles that exist on the server with
# other attributes (left as they are), and about LOGIN roles created without a password.
roles_report() {
  local globals=$1 maint=$2 created=$3 server line
  server=$(psql_at "$maint" "SELECT coalesce(json_agg(json_build_object('name', rolname, 'login', rolcanlogin, 'inherit', rolinherit,
    'createdb', rolcreatedb, 'createrole', rolcreaterole, 'superuser', rolsuper, 'replication', rolreplication, 'bypassrls', rolbypassrls)), '[]') FROM pg_roles")
  while IFS= read -r line; do
    [[ -z $line ]] || warn "$line"
  done < <(jq -r --argjson server "$server" --arg created "$created" '
    ($created | split("\n")) as $new
    | .roles[] as $r
    | ($server | map(select(.name == $r.name)) | first) as $s
    | if ($new | index([$r.name])) then
        (if $r.login and $r.password == null then "role \($r.name) was created with LOGIN and no password (the backup holds none): set one with ALTER ROLE ... PASSWORD before the application connects as it" else empty end)
      elif $s != null then
        ([ "login", "inherit", "createdb", "createrole", "superuser", "replication", "bypassrls" ] | map(select($s[.] != $r[.]) | "\(.) \($s[.]) (backup: \($r[.]))")) as $d
        | if ($d | length) > 0 then "role \($r.name) exists on this server with other attributes, left as it is: \($d | join(", "))" else empty end
      else empty end' "$globals")
}

# database_properties_sql GLOBALS TARGET HAVE OWNER: SQL that gives database TARGET (owned by
# OWNER) the ACL, settings, role settings, comment and connection limit recorded in GLOBALS; HAVE
# is the JSON array of the roles on the server: grants to and settings of other roles are left out
# (database_properties_skipped lists them). The backup's owner's privileges go to OWNER. Run it
# CONNECTED TO TARGET: a setting is stored with set_config(...) then SET ... FROM CURRENT, so its
# value keeps its exact meaning (search_path lists) and is checked against the restored database's
# own catalog (a text search configuration or a schema that exists only there).
database_properties_sql() {
  local globals=$1 target=$2 have=$3 owner=$4
  jq -r --arg t "$target" --arg owner "$owner" --argjson have "$have" "$JQ_SQL_DEFS"'
    .database as $d | ($t | qi) as $db
    | def grantee: if .grantee == null then null elif .grantee == $d.owner then $owner else .grantee end;
      [ (if $d.connlimit != null and $d.connlimit != -1 then "ALTER DATABASE \($db) CONNECTION LIMIT \($d.connlimit);" else empty end),
        (if $d.acl != null then
           "REVOKE ALL ON DATABASE \($db) FROM PUBLIC;", "REVOKE ALL ON DATABASE \($db) FROM \($owner | qi);",
           ($d.acl[] | grantee as $g | select($g == null or ($have | index([$g])))
             | "GRANT \(.privilege) ON DATABASE \($db) TO \(if $g == null then "PUBLIC" else ($g | qi) end)\(if .grantable then " WITH GRANT OPTION" else "" end);")
         else empty end),
        ($d.settings[] | .role as $r | select($r == null or ($have | index([$r]))) | .config[] | capture("^(?<k>[^=]+)=(?<v>.*)$")
          | "BEGIN; SELECT set_config(\(.k | ql), \(.v | ql), true); ALTER \(if $r == null then "DATABASE \($db)" else "ROLE \($r | qi) IN DATABASE \($db)" end) SET \(.k | qi) FROM CURRENT; COMMIT;"),
        (if $d.comment != null then "COMMENT ON DATABASE \($db) IS \($d.comment | ql);" else empty end)
      ] | .[]' "$globals"
}

# database_properties_skipped GLOBALS HAVE OWNER: what database_properties_sql leaves out (roles
# missing on the server), one item per line.
database_properties_skipped() {
  local globals=$1 have=$2 owner=$3
  jq -r --arg owner "$owner" --argjson have "$have" '
    .database as $d
    | ([ ($d.acl // [])[] | (if .grantee == $d.owner then $owner else .grantee end) as $g
         | select($g != null and ($have | index([$g]) | not)) | "\(.privilege) ON DATABASE to \($g)" ]
       + [ $d.settings[] | .role as $r | select($r != null and ($have | index([$r]) | not)) | "settings of role \(.role) IN DATABASE (\(.config | join(", ")))" ])
    | unique | .[]' "$globals"
}

first_error_text() {
  local line
  line=$(grep -m 1 -E '(error|FATAL|ERROR):' <<<"$1" || true)
  [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' <<<"$1" | tail -n 1 || true)
  printf '%s' "$line"
}

# ---------- restoring a backup into a database ----------
# quote an identifier / a literal for SQL
qi() { printf '"%s"' "${1//\"/\"\"}"; }
# shq: quote a word for a POSIX shell (a command printed for the operator to paste)
shq() {
  if [[ $1 =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then printf '%s' "$1"; return 0; fi
  local q="'\\''"; printf "'%s'" "${1//\'/$q}"
}
ql() { printf "'%s'" "${1//\'/\'\'}"; }

# load_backup DIR DB JOBS NO_OWNER: load the backup in DIR (directory or plain format, by its
# manifest; or a bare .sql/.sql.gz/.sql.zst file as DIR) into the existing empty database DB.
# Session settings for the load: no wait for the WAL flush per commit (a crash mid-restore means
# restarting it anyway); optional RESTORE_MAINTENANCE_WORK_MEM for index builds.
load_backup() {
  local src=$1 db=$2 jobs=$3 no_owner=$4 err
  err=$(mktemp "${TMPDIR:-/tmp}/genie-restore.XXXXXX"); cleanup_path "$err"
  local pgopts="${PGOPTIONS:-} -c synchronous_commit=off"
  [[ -z ${RESTORE_MAINTENANCE_WORK_MEM:-} ]] || pgopts+=" -c maintenance_work_mem=$RESTORE_MAINTENANCE_WORK_MEM"
  local sqlfile=""
  if [[ -f $src ]]; then sqlfile=$src
  elif [[ $(jq -r '.dump.format // "directory"' "$src/MANIFEST.json") == plain ]]; then
    sqlfile=$src/$(jq -r '.dump.file // "dump.sql.gz"' "$src/MANIFEST.json")
  fi
  if [[ -n $sqlfile ]]; then
    decompress_cmd "$sqlfile"
    # shellcheck disable=SC2016 # expanded by the inner bash
    local load=(bash -c 'set -o pipefail; "${@:2}" | psql -X -q --no-psqlrc -v ON_ERROR_STOP=1 -d "$1"' _ "$db" "${DECOMPRESS[@]}")
    # --no-owner: the statements that name owners and grantees are left out of the stream.
    # shellcheck disable=SC2016 # expanded by the inner bash
    [[ $no_owner == 0 ]] || load=(bash -c 'set -o pipefail; "${@:3}" | awk "$2" | psql -X -q --no-psqlrc -v ON_ERROR_STOP=1 -d "$1"' _ "$db" "$SQL_NO_OWNER_AWK" "${DECOMPRESS[@]}")
    if ! PGOPTIONS=$pgopts run_child --out /dev/null --err "$err" "${load[@]}"; then
      # shellcheck disable=SC2034 # read by the callers
      LOAD_ERROR=$(first_error "$err")
      [[ -n $LOAD_ERROR ]] || LOAD_ERROR="psql failed without a message"
      local missing
      missing=$(grep -o -m 1 -E 'role "[^"]+" does not exist' "$err" || true)
      if [[ -n $missing ]]; then
        LOAD_ERROR+=" (the file names a role this server lacks: create it, e.g. psql -d postgres -c $(shq "CREATE ROLE $(qi "$(sed -E 's/^role "(.*)" does not exist$/\1/' <<<"$missing")") NOLOGIN")$([[ $no_owner == 1 ]] && printf '; --no-owner leaves out owners and grants, not the roles that policies name' || printf ', or pass --no-owner to restore without owners and grants'))"
      fi
      return 1
    fi
    return 0
  fi
  local args=(-j "$jobs" --exit-on-error -d "$db") dump=$src/dump
  [[ $no_owner == 0 ]] || args+=(--no-owner --no-privileges)
  local zst=()
  mapfile -t zst < <(cd "$dump" && find . -maxdepth 1 -type f -name '*.zst' -printf '%P\n')
  if [[ ${#zst[@]} -gt 0 ]]; then
    stage_zstd_dump "$dump" || return 1
    dump=$STAGE_DIR
  fi
  if ! PGOPTIONS=$pgopts run_child --err "$err" pg_restore "${args[@]}" "$dump"; then
    # shellcheck disable=SC2034 # read by the callers
    LOAD_ERROR=$(first_error "$err")
    [[ -n $LOAD_ERROR ]] || LOAD_ERROR="pg_restore failed without a message"
    return 1
  fi
  [[ ${#zst[@]} -eq 0 ]] || stage_zstd_check || return 1
}

# stage_zstd_dump DUMP: a directory STAGE_DIR that pg_restore reads as DUMP decompressed. pg_restore
# 15 reads gzip only. Files of at least STAGE_STREAM_BYTES (default 1 MiB) compressed are streamed:
# a named pipe per file, fed by `zstd -dc` (started now, blocked until pg_restore opens the pipe),
# so the data is decompressed while it loads and never written out; smaller ones are decompressed
# to files first. pg_restore -j orders tables by their file size, which is 0 for a pipe: the big
# tables start after the small ones, in archive order.
STAGE_DIR=""
_STAGE_PIDS=()
_STAGE_FILES=()
_STAGE_ERR=""
stage_zstd_dump() {
  local dump=$1 f name min=${STAGE_STREAM_BYTES:-1048576}
  require_cmd zstd
  STAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/genie-stage.XXXXXX"); cleanup_path "$STAGE_DIR"
  _STAGE_ERR=$STAGE_DIR/.zstd.err
  _STAGE_PIDS=(); _STAGE_FILES=()
  for f in "$dump"/*; do
    name=${f##*/}
    if [[ $name != *.zst ]]; then
      ln -s -- "$f" "$STAGE_DIR/$name"
    elif [[ $(stat -c %s -- "$f") -ge $min ]]; then
      mkfifo -- "$STAGE_DIR/${name%.zst}"
      zstd -q -dc -- "$f" >"$STAGE_DIR/${name%.zst}" 2>>"$_STAGE_ERR" &
      _STAGE_PIDS+=("$!"); _STAGE_FILES+=("$name")
      cleanup_pid "$!"
    elif ! zstd -q -dc -- "$f" >"$STAGE_DIR/${name%.zst}" 2>>"$_STAGE_ERR"; then
      # shellcheck disable=SC2034 # read by the callers
      LOAD_ERROR="decompressing $f failed: $(first_error "$_STAGE_ERR")"; return 1
    fi
  done
}

# stage_zstd_check: after pg_restore succeeded, every streamed file must have been read to its end
# and decompressed without error (a damaged stream would otherwise load only part of a table).
stage_zstd_check() {
  local i pid state n
  for i in "${!_STAGE_PIDS[@]}"; do
    pid=${_STAGE_PIDS[$i]}
    # A writer that pg_restore read to the end has exited (a zombie until waited for: state Z);
    # one still blocked opening its pipe was never read.
    for (( n = 0; n < 50; n++ )); do
      state=Z
      [[ ! -r /proc/$pid/stat ]] || read -r _ _ state _ <"/proc/$pid/stat" || state=Z
      [[ $state != Z ]] || break
      sleep 0.1
    done
    if [[ $state != Z ]]; then
      kill "$pid" 2>/dev/null || true
      # shellcheck disable=SC2034 # read by the callers
      LOAD_ERROR="pg_restore did not read ${_STAGE_FILES[$i]}"; return 1
    fi
    if ! wait "$pid"; then
      # shellcheck disable=SC2034 # read by the callers
      LOAD_ERROR="decompressing ${_STAGE_FILES[$i]} failed: $(first_error "$_STAGE_ERR")"; return 1
    fi
  done
}
# shellcheck disable=SC2034 # read by the callers
LOAD_ERROR=""

# count_rows_file DB: count_rows of DB into the file COUNTS_FILE, as a tracked child (a signal stops
# it at once). Dies with the reason when counting fails.
COUNTS_FILE=""
count_rows_file() {
  local db=$1 err
  COUNTS_FILE=$(mktemp "${TMPDIR:-/tmp}/genie-counts.XXXXXX"); cleanup_path "$COUNTS_FILE"
  err=$(mktemp "${TMPDIR:-/tmp}/genie-counts-err.XXXXXX"); cleanup_path "$err"
  run_child --out "$COUNTS_FILE" --err "$err" count_rows "$db" || die "counting rows in $db failed: $(first_error "$err")"
}

# count_diff DB MANIFEST: COUNT_DIFF = the differences between the exact row counts of DB and the
# manifest (empty when they match). Dies with the reason when counting fails. Not to be called in
# $(...): the count runs as a tracked child so that a signal stops it at once.
# shellcheck disable=SC2034 # read by the callers
COUNT_DIFF=""
count_diff() {
  local db=$1 manifest=$2 counts
  count_rows_file "$db"
  counts=$(jq -s -c . "$COUNTS_FILE")
  # shellcheck disable=SC2034 # read by the callers
  COUNT_DIFF=$(jq -r --argjson got "$counts" '
      (.tables | map({key: "\(.schema).\(.table)", value: .rows}) | from_entries) as $want
      | ($got | map({key: "\(.schema).\(.table)", value: .rows}) | from_entries) as $have
      | [ ($want | to_entries[] | select($have[.key] != .value) | "\(.key): manifest \(.value), restored \($have[.key] // "missing")"),
          ($have | to_entries[] | select($want[.key] == null) | "\(.key): not in manifest") ]
      | .[:5] | join("; ")' "$manifest")
}

# drop_cmd MAINT DB: the shell command that drops DB, quoted for pasting into a shell.
drop_cmd() { printf 'psql -d %s -c %s' "$(shq "$1")" "$(shq "DROP DATABASE IF EXISTS $(qi "$2") WITH (FORCE)")"; }

# pg_check_createdb MAINT WHAT: the connected role can create databases (CREATEDB or superuser);
# checked before any download.
pg_check_createdb() {
  local maint=$1 what=$2 ok
  ok=$(psql_at "$maint" "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
  [[ $ok == t ]] || die "$what needs to create a database, and role '${PGUSER:-$(id -un)}' has neither CREATEDB nor SUPERUSER: ALTER ROLE ... CREATEDB (as an administrator), or connect as a role that has it"
}

# leftover_databases MAINT DB KIND: "name|sessions" of every database <DB>_<KIND>_<14 digits>
# (KIND restore or verify) on the server: what a killed restore-dump or verify --deep left.
leftover_databases() {
  local maint=$1 prefix="$2_$3_"
  psql_at "$maint" "SELECT d.datname || '|' || (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname)
    FROM pg_database d WHERE left(d.datname, length($(ql "$prefix"))) = $(ql "$prefix")
      AND substr(d.datname, length($(ql "$prefix")) + 1) ~ '^[0-9]{14}\$' ORDER BY 1"
}

# drop_database MAINT DB: DROP DATABASE ... WITH (FORCE) (ends the sessions still in it, PG 13+).
# Returns non-zero and sets DROP_ERROR when it could not be dropped.
# shellcheck disable=SC2034 # read by the callers
DROP_ERROR=""
drop_database() {
  local maint=$1 db=$2 out
  if ! out=$(psql_at "$maint" "DROP DATABASE IF EXISTS $(qi "$db") WITH (FORCE)" 2>&1); then
    # shellcheck disable=SC2034 # read by the callers
    DROP_ERROR=$(first_error_text "$out"); return 1
  fi
}
