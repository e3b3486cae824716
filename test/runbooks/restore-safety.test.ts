// Over 300 lines on purpose: test corpus: the runbooks' restore safety against real PostgreSQL and
// moto_server, one case per fault.
// Issue 15 (runbooks 2): never restore the wrong backup, restore everything a database is, read the
// plan's own .sql backups, and end every fault well. Real PostgreSQL 15 and moto_server (S3, RDS).
import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  BACKUP_SH, IN_CI, RECOVERY_SH, Moto, PATH, Postgres, baseEnv, requireTools, run, startMoto, startPostgres, tmpDir, which,
} from "./support/fixtures";
import { DR_PLAN } from "../../infra/dr-plan";
import { PLAN_ENV, planEnv } from "./support/plan-env";

const DB = "genie";
const BUCKET = "genie-backups-safety";

/** A realistic schema: extensions, enum, domain, identity, partitioned and unlogged tables, a materialized
 * view, row-level security, column grants, default privileges, a large object, database-level GRANT and SET. */
const ROLES = `
CREATE ROLE app_owner NOLOGIN; CREATE ROLE app_rw LOGIN PASSWORD 'rw-secret-1'; CREATE ROLE app_ro LOGIN PASSWORD 'ro-secret-1';
GRANT app_ro TO app_rw;`;
const SCHEMA = `
CREATE EXTENSION citext; CREATE EXTENSION pgcrypto;
CREATE SCHEMA app AUTHORIZATION app_owner;
SET ROLE app_owner;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.email AS citext CHECK (VALUE LIKE '%@%');
CREATE TABLE app.users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email app.email NOT NULL, mood app.mood, secret text, token bytea DEFAULT gen_random_bytes(8));
INSERT INTO app.users (email, mood, secret) SELECT 'u' || g || '@x.io', (ARRAY['sad','ok','happy'])[1 + g % 3]::app.mood, 's' || g FROM generate_series(1, 3000) g;
CREATE TABLE app.events (id bigint, at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_2026 PARTITION OF app.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO app.events SELECT g, DATE '2025-06-01' + (g % 400), 'e' || g FROM generate_series(1, 4000) g;
CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v jsonb);
INSERT INTO app.cache SELECT 'k' || g, jsonb_build_object('g', g) FROM generate_series(1, 500) g;
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) n FROM app.users GROUP BY mood;
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app.users FOR SELECT TO app_ro USING (mood <> 'sad');
GRANT USAGE ON SCHEMA app TO app_ro;
GRANT SELECT (id, email, mood) ON app.users TO app_ro;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO app_ro;
CREATE TABLE app.later (x int);
RESET ROLE;
SELECT lo_from_bytea(424242, 'large object payload');
ALTER LARGE OBJECT 424242 OWNER TO app_owner;
`;
const DB_PROPS = (db: string) => `
REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${db} TO app_ro, app_rw;
ALTER DATABASE ${db} SET search_path = "$user", app, public;
ALTER DATABASE ${db} SET statement_timeout = '41s';
ALTER ROLE app_ro IN DATABASE ${db} SET work_mem = '7MB';
COMMENT ON DATABASE ${db} IS 'Genie''s database';`;

/** Database-level properties as the server holds them. */
const PROPS_SQL = (db: string) => `
SELECT json_build_object(
  'acl', (SELECT array_agg(a::text ORDER BY a::text)::text FROM pg_database, unnest(datacl) a WHERE datname = '${db}'),
  'settings', (SELECT json_agg(json_build_object('role', coalesce(pg_get_userbyid(nullif(setrole, 0)), '-'), 'config', setconfig) ORDER BY setrole)
               FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = '${db}')),
  'comment', (SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '${db}'))`;

/** What the schema holds, to compare databases (ownership and grants included). */
const FINGERPRINT = `
SELECT json_build_object(
  'users', (SELECT md5(string_agg(id || email || mood || secret, ',' ORDER BY id)) FROM app.users),
  'events', (SELECT count(*) || '/' || sum(id) FROM app.events), 'e2026', (SELECT count(*) FROM app.events_2026),
  'cache', (SELECT count(*) FROM app.cache), 'mv', (SELECT string_agg(mood || '=' || n, ',' ORDER BY mood) FROM app.mood_counts),
  'lo', (SELECT encode(lo_get(424242), 'escape')), 'lo_owner', (SELECT pg_get_userbyid(lomowner) FROM pg_largeobject_metadata WHERE oid = 424242),
  'owner', (SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = 'users'),
  'rls', (SELECT relrowsecurity FROM pg_class WHERE oid = 'app.users'::regclass),
  'colgrant', has_column_privilege('app_ro', 'app.users', 'email', 'SELECT'), 'nocolgrant', has_column_privilege('app_ro', 'app.users', 'secret', 'SELECT'),
  'defacl', has_table_privilege('app_ro', 'app.later', 'SELECT'),
  'unlogged', (SELECT relpersistence FROM pg_class WHERE oid = 'app.cache'::regclass),
  'identity', (SELECT attidentity FROM pg_attribute WHERE attrelid = 'app.users'::regclass AND attname = 'id'))`;

const dbs = async (pg: Postgres) => (await pg.psql("postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")).split(",");
const restoring = async (pg: Postgres) => (await dbs(pg)).filter((d) => /_restore_\d+$/.test(d) && !d.includes("_pre_restore_"));
const stamps = (root: string, kind = "daily") => {
  const d = path.join(root, "db", kind);
  return fs.existsSync(d) ? fs.readdirSync(d).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort() : [];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Start a script in its own process group; resolves on exit with the time it took. */
function startScript(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; at: number }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, at: Date.now() })));
  return { child, done, stderr: () => stderr };
}

describe("runbooks 2: the right backup, everything a database is, the plan's .sql files, faults that end well", function () {
  this.timeout(180_000);
  let pg: Postgres;
  let moto: Moto;
  let root = "";
  let env: NodeJS.ProcessEnv = {};
  let original = "";
  let originalProps = "";
  let genieBackup = "";
  const dirs: string[] = [];
  const servers: Postgres[] = [];

  before(async function () {
    requireTools(this, ["psql", "pg_dump", "pg_restore", "jq", "sha256sum", "moto_server", "aws", "flock", "gzip"]);
    pg = await startPostgres();
    servers.push(pg);
    moto = await startMoto();
    await moto.aws(["s3api", "create-bucket", "--bucket", BUCKET]);
    await pg.psql("postgres", `${ROLES} CREATE DATABASE ${DB}; CREATE DATABASE other; ${DB_PROPS(DB)}`);
    await pg.psql(DB, SCHEMA);
    await pg.psql("other", "CREATE TABLE only_in_other (x int); INSERT INTO only_in_other VALUES (1)");
    original = await pg.psql(DB, FINGERPRINT);
    originalProps = await pg.psql("postgres", PROPS_SQL(DB));
    root = tmpDir("safety");
    dirs.push(root);
    env = baseEnv({ ...pg.env, ...moto.env, PGDATABASE: DB, BACKUP_DIR: root, BACKUP_BUCKET: BUCKET, BACKUP_JOBS: "2", RESTORE_JOBS: "2" });
    let r = await run(BACKUP_SH, ["db-dump"], env);
    expect(r.code, r.stderr).to.equal(0);
    genieBackup = path.join(root, "db", "daily", stamps(root)[0]);
    await sleep(1100); // the other database's backup is the newest in the bucket
    r = await run(BACKUP_SH, ["db-dump"], { ...env, PGDATABASE: "other" });
    expect(r.code, r.stderr).to.equal(0);
    expect(stamps(root)).to.have.length(2);
  });

  after(async () => {
    for (const s of servers) await s.stop();
    await moto?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  describe("wrong or lost data", () => {
    it("1. picks only backups of the target database; another database's backup is refused unless --source-db names it", async () => {
      const newestPrefix = `db/daily/${stamps(root)[1]}`;
      let r = await run(RECOVERY_SH, ["restore-dump", "--dry-run"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`db/daily/${path.basename(genieBackup)}/ (backup of database 'genie')`);
      const before = await dbs(pg);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", newestPrefix, "--yes"], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error: the backup s3:\/\/genie-backups-safety\/db\/daily\/\d+T\d+Z is of database 'other', not 'genie'; .*--source-db other/m);
      expect(await dbs(pg)).to.deep.equal(before);
      r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--no-switch"], env);
      expect(r.code, r.stderr).to.equal(0);
      const [restored] = await restoring(pg);
      expect(await pg.psql(restored, "SELECT count(*) FROM app.users")).to.equal("3000");
      await pg.psql("postgres", `DROP DATABASE "${restored}"`);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", newestPrefix, "--source-db", "other", "--no-switch"], env);
      expect(r.code, r.stderr).to.equal(0);
      const [fromOther] = await restoring(pg);
      expect(await pg.psql(fromOther, "SELECT count(*) FROM only_in_other")).to.equal("1");
      await pg.psql("postgres", `DROP DATABASE "${fromOther}"`);
    });

    it("2. the restored database keeps its ACL, ALTER DATABASE/ROLE ... SET and comment (and everything in the schema)", async () => {
      await pg.psql(DB, "DELETE FROM app.users WHERE id < 100");
      const r = await run(RECOVERY_SH, ["restore-dump", "--backup", `db/daily/${path.basename(genieBackup)}`, "--yes"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
      expect(JSON.parse(await pg.psql("postgres", PROPS_SQL(DB)))).to.deep.equal(JSON.parse(originalProps));
      expect(await pg.psql("postgres", "SELECT has_database_privilege('public', 'genie', 'CONNECT')")).to.equal("f");
      // search_path with "$user" keeps its meaning (three elements, not one quoted string)
      expect(await pg.psql(DB, "SHOW search_path")).to.equal('"$user", app, public');
    });

    it("3. a restore onto a new server (the DR case) creates the missing roles, owners and grants; no passwords in the backup", async () => {
      const globals = JSON.parse(fs.readFileSync(path.join(genieBackup, "globals.json"), "utf8"));
      expect(globals.roles.map((x: { name: string }) => x.name)).to.include.members(["app_owner", "app_ro", "app_rw"]);
      expect(JSON.stringify(globals)).to.not.match(/SCRAM|md5[0-9a-f]{32}|secret-1/);
      const dr = await startPostgres();
      servers.push(dr);
      const drEnv = { ...env, ...dr.env };
      const r = await run(RECOVERY_SH, ["restore-dump", "--backup", genieBackup, "--yes"], drEnv);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/created the missing role\(s\): app_owner,app_ro,app_rw/);
      expect(r.stderr).to.match(/warning: role app_rw was created with LOGIN and no password/);
      expect(await dr.psql(DB, FINGERPRINT)).to.equal(original);
      expect(JSON.parse(await dr.psql("postgres", PROPS_SQL(DB)))).to.deep.equal(JSON.parse(originalProps));
      expect(await dr.psql("postgres", "SELECT string_agg(pg_get_userbyid(roleid) || '>' || pg_get_userbyid(member), ',') FROM pg_auth_members WHERE pg_get_userbyid(member) = 'app_rw'")).to.equal("app_ro>app_rw");
    });

    it("4. verify --deep proves a backup restorable: a consistent manifest over truncated data is exit 3", async () => {
      let r = await run(BACKUP_SH, ["verify", "--deep", "--backup", genieBackup], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^verify ok: .*restored and counted/);
      const bad = tmpDir("deep");
      dirs.push(bad);
      fs.cpSync(genieBackup, bad, { recursive: true });
      // Replace the users data with 1000 of its 3000 rows and re-make the manifest's checksums: the shallow verify passes.
      const toc = spawnSync("pg_restore", ["-l", path.join(bad, "dump")], { encoding: "utf8", env: { PATH } }).stdout;
      const id = /^(\d+);.* TABLE DATA app users /m.exec(toc)![1];
      // db-dump compresses with zstd when it is installed, else gzip: rewrite whichever it wrote.
      const zst = fs.existsSync(path.join(bad, "dump", `${id}.dat.zst`));
      const file = path.join(bad, "dump", `${id}.dat.${zst ? "zst" : "gz"}`);
      const tool = zst ? "zstd" : "gzip";
      const lines = spawnSync("bash", ["-c", `${tool} -dc '${file}' | head -n 1000`], { encoding: "utf8" }).stdout;
      fs.writeFileSync(file, spawnSync(tool, ["-q", "-c"], { input: lines + "\\.\n\n" }).stdout);
      const manifest = JSON.parse(fs.readFileSync(path.join(bad, "MANIFEST.json"), "utf8"));
      for (const f of manifest.files) {
        const p = path.join(bad, f.path);
        f.bytes = fs.statSync(p).size;
        f.sha256 = spawnSync("sha256sum", [p], { encoding: "utf8" }).stdout.split(" ")[0];
      }
      fs.writeFileSync(path.join(bad, "MANIFEST.json"), JSON.stringify(manifest));
      r = await run(BACKUP_SH, ["verify", "--backup", bad], env);
      expect(r.code, "the shallow verify cannot see it").to.equal(0);
      r = await run(BACKUP_SH, ["verify", "--deep", "--backup", bad], env);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/error: verify failed: restored row counts differ from the manifest: app\.users: manifest 3000, restored 1000/);
      expect((await dbs(pg)).filter((d) => d.includes("_verify_"))).to.deep.equal([]);
    });

    it("5. two restores at once: the second is refused while the first runs, and only the first renames", async () => {
      const first = startScript(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], env);
      await until("the first restore's database", async () => (await restoring(pg)).length > 0);
      process.kill(-first.child.pid!, "SIGSTOP");
      let second;
      try {
        second = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], env, { timeoutMs: 60_000 });
      } finally {
        process.kill(-first.child.pid!, "SIGCONT");
      }
      expect(second.code).to.equal(1);
      expect(second.stderr).to.match(/error: another restore-dump of database 'genie' is running/);
      const r = await first.done;
      expect(r.code, r.stderr).to.equal(0);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
      expect(await restoring(pg)).to.deep.equal([]);
    });

    it("6. promote sets the plan's daily-backup retention by default (scripts/lib/plan.env is generated from DR_PLAN)", async () => {
      expect(fs.readFileSync(PLAN_ENV, "utf8")).to.equal(planEnv());
      expect(planEnv()).to.include(`PLAN_DB_DAILY_RETENTION_DAYS=${DR_PLAN.dbDailyRetentionDays}\n`);
      const arn = JSON.parse(await moto.aws(["rds", "create-db-instance", "--db-instance-identifier", "genie-p", "--engine", "postgres",
        "--db-instance-class", "db.t3.micro", "--allocated-storage", "20", "--master-username", "genie", "--master-user-password", "not-a-secret-1",
        "--backup-retention-period", "7"])).DBInstance.DBInstanceArn as string;
      await moto.aws(["rds", "create-db-instance-read-replica", "--db-instance-identifier", "genie-r", "--source-db-instance-identifier", arn,
        "--db-instance-class", "db.t3.micro"], "us-west-2");
      const r = await run(RECOVERY_SH, ["promote", "--yes", "--no-wait"], { ...env, DR_REGION: "us-west-2", DR_DB_INSTANCE_ID: "genie-r" });
      expect(r.code, r.stderr).to.equal(0);
      const inst = JSON.parse(await moto.aws(["rds", "describe-db-instances", "--db-instance-identifier", "genie-r"], "us-west-2")).DBInstances[0];
      expect(inst.BackupRetentionPeriod).to.equal(DR_PLAN.dbDailyRetentionDays);
    });
  });

  describe("faults that end badly", () => {
    it("7. an S3 failure is reported as such (exit 1 with the S3 error), not as 'no backup'", async () => {
      for (const args of [["restore-dump", "--yes"], ["verify", "--from-s3"]]) {
        const script = args[0] === "verify" ? BACKUP_SH : RECOVERY_SH;
        const r = await run(script, args, { ...env, BACKUP_BUCKET: "no-such-bucket-here" });
        expect(r.code, `${args[0]}: ${r.stderr}`).to.equal(1);
        expect(r.stderr).to.match(/error: aws s3api list-objects-v2 failed .*NoSuchBucket/);
        expect(r.stderr).to.not.match(/no backup/);
      }
    });

    it("8. no data is evaluated as code: a quote in --backup or BACKUP_DIR runs nothing and cleanup still works", async () => {
      const work = tmpDir("inject");
      dirs.push(work);
      const pwned = path.join(work, "PWNED");
      const r = await run(RECOVERY_SH, ["restore-dump", "--backup", `s3://${BUCKET}/db/daily/x'$(touch ${pwned})'`, "--yes"], env);
      expect(r.code).to.equal(2);
      expect(fs.existsSync(pwned)).to.equal(false);
      const quoted = path.join(work, "it's");
      const d = await run(BACKUP_SH, ["db-dump"], { ...env, BACKUP_DIR: quoted, AWS_ENDPOINT_URL: "http://127.0.0.1:9" });
      expect(d.code).to.equal(1);
      expect(fs.readdirSync(path.join(quoted, "db", "daily"))).to.deep.equal([]);
    });

    it("9. SIGTERM mid-restore stops pg_restore at once, drops the half-restored database, exits 143", async () => {
      await pg.psql("postgres", "CREATE DATABASE slow");
      await pg.psql("slow", `CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN true; END $$;
        CREATE TABLE t (x int CHECK (public.slow_ok(x))); ALTER TABLE t DISABLE TRIGGER ALL;`);
      await pg.psql("slow", "ALTER TABLE t DROP CONSTRAINT t_x_check; INSERT INTO t SELECT generate_series(1, 2000); ALTER TABLE t ADD CONSTRAINT t_x_check CHECK (public.slow_ok(x)) NOT VALID;");
      // NOT VALID constraints are dumped after the data: make it a plain one so the COPY evaluates it (40 s).
      await pg.psql("slow", "UPDATE pg_constraint SET convalidated = true WHERE conname = 't_x_check'");
      const slowEnv = { ...env, PGDATABASE: "slow" };
      const r = await run(BACKUP_SH, ["db-dump", "--local-only"], slowEnv);
      expect(r.code, r.stderr).to.equal(0);
      const job = startScript(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], slowEnv);
      await until("the COPY into the restore database", async () =>
        (await pg.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'slow_restore_%' AND query LIKE 'COPY%'")) !== "0");
      const t0 = Date.now();
      job.child.kill("SIGTERM");
      const res = await job.done;
      expect(res.at - t0, "exits at once, not when pg_restore ends").to.be.lessThan(8000);
      expect(res.code).to.equal(143);
      expect(res.stderr).to.match(/received SIGTERM/);
      expect(res.stderr).to.match(/dropped the incomplete slow_restore_\d+/);
      expect((await dbs(pg)).filter((d) => d.startsWith("slow_restore_"))).to.deep.equal([]);
      expect(spawnSync("bash", ["-c", "pgrep -f '^pg_restore .*slow_restore_' || true"], { encoding: "utf8" }).stdout.trim()).to.equal("");
    });

    it("9. a server stopped mid-restore: the log says exactly what is left and how to drop it", async () => {
      const dr = servers[1] ?? (await startPostgres());
      await dr.psql("postgres", "CREATE DATABASE slow2");
      await dr.psql("slow2", `CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN true; END $$;
        CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 2000);
        ALTER TABLE t ADD CONSTRAINT t_x_check CHECK (public.slow_ok(x)) NOT VALID; UPDATE pg_constraint SET convalidated = true WHERE conname = 't_x_check';`);
      const e = { ...env, ...dr.env, PGDATABASE: "slow2" };
      expect((await run(BACKUP_SH, ["db-dump", "--local-only"], e)).code).to.equal(0);
      const job = startScript(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], e);
      await until("the COPY", async () => (await dr.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%'")) !== "0");
      await dr.stop();
      const res = await job.done;
      expect(res.code).to.equal(1);
      expect(res.stderr).to.match(/^error: loading the backup into slow2_restore_\d+ failed/m);
      expect(res.stderr).to.match(/error: could not drop the incomplete database slow2_restore_\d+: .*drop it when the server is back with: psql -d postgres -c 'DROP DATABASE IF EXISTS "slow2_restore_\d+" WITH \(FORCE\)'/);
      expect(res.stderr).to.not.match(/dropped the incomplete/);
    });

    it("10. no leftovers: S3 downloads removed, db/ refused, stale .tmp-* swept, no --yes refused before any work", async () => {
      let r = await run(RECOVERY_SH, ["restore-dump", "--no-switch"], env);
      expect(r.code, r.stderr).to.equal(0);
      for (const d of await restoring(pg)) await pg.psql("postgres", `DROP DATABASE "${d}"`);
      expect(fs.readdirSync(path.join(root, "restore"))).to.deep.equal([]);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", "db/", "--yes"], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/--backup for S3 must be/);
      expect(r.stderr).to.not.match(/downloading/);
      const stale = path.join(root, "db", "daily", ".tmp-20200101T000000Z-99999");
      fs.mkdirSync(path.join(stale, "dump"), { recursive: true });
      r = await run(BACKUP_SH, ["db-dump", "--local-only"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(fs.existsSync(stale)).to.equal(false);
      const before = await dbs(pg);
      const t0 = Date.now();
      r = await run(RECOVERY_SH, ["restore-dump"], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error: refusing to start: .*pass --yes/m);
      expect(r.stderr).to.not.match(/downloading|step 2/);
      expect(Date.now() - t0).to.be.lessThan(5000);
      expect(await dbs(pg)).to.deep.equal(before);
    });

    it("11. every failure says what failed: ANALYZE, a full disk, an empty manifest, a wrong user before any download", async () => {
      // ANALYZE fails (a shim psql refuses it): an error line, the half-restored database dropped.
      const shim = tmpDir("shim");
      dirs.push(shim);
      fs.writeFileSync(path.join(shim, "psql"), `#!/usr/bin/env bash\nfor a in "$@"; do [[ $a == ANALYZE ]] && { echo 'ERROR:  canceling statement due to statement timeout' >&2; exit 1; }; done\nexec ${which("psql")} "$@"\n`, { mode: 0o755 });
      let r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], { ...env, PATH: `${shim}:${PATH}` });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: ANALYZE of genie_restore_\d+ failed: ERROR: +canceling statement due to statement timeout; live database 'genie' untouched/m);
      expect(await restoring(pg)).to.deep.equal([]);

      // An empty manifest is reported as such.
      const empty = tmpDir("empty");
      dirs.push(empty);
      fs.cpSync(genieBackup, empty, { recursive: true });
      fs.writeFileSync(path.join(empty, "MANIFEST.json"), "");
      r = await run(BACKUP_SH, ["verify", "--backup", empty], env);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/error: verify failed: MANIFEST\.json in .* is empty \(0 bytes\)/);

      // A wrong user is found before the download.
      r = await run(RECOVERY_SH, ["restore-dump", "--yes"], { ...env, PGUSER: "no_such_user" });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: cannot connect to PostgreSQL database 'postgres' .* as no_such_user: .*no_such_user/m);
      expect(r.stderr).to.not.match(/downloading/);

      // A full disk during db-dump names it (a 48 KiB tmpfs as BACKUP_DIR, in a private mount namespace).
      const probe = spawnSync("unshare", ["-r", "-m", "true"]);
      if (probe.status !== 0) {
        if (IN_CI) throw new Error("CI=true: the full-disk case needs unshare -r -m (user and mount namespaces), which is not permitted here");
        console.warn("    (full-disk case skipped: unshare -r -m is not permitted here)");
        return;
      }
      const mnt = tmpDir("full");
      dirs.push(mnt);
      const full = await run("unshare", ["-r", "-m", "bash", "-c", `mount -t tmpfs -o size=48k tmpfs '${mnt}' && exec '${BACKUP_SH}' db-dump --local-only`], { ...env, BACKUP_DIR: mnt });
      expect(full.code).to.equal(1);
      expect(full.stderr).to.match(/^error: .*(pg_dump|row counts|checksums|manifest).* failed: .*(No space left on device|no space left on the device)/m);
      expect(full.stderr).to.not.match(/failed: $/m);
    });
  });

  describe("the plan's own backups (.sql, .sql.gz) and db-dump --format sql", () => {
    it("restores a plan-style pg_dump | gzip file, local and from S3, beside the live database then switched", async () => {
      const work = tmpDir("plan");
      dirs.push(work);
      const file = path.join(work, "backup_20261130.sql.gz");
      const d = spawnSync("bash", ["-c", `set -o pipefail; pg_dump -d ${DB} | gzip > '${file}'`], { env: { ...env } });
      expect(d.status, String(d.stderr)).to.equal(0);
      await pg.psql(DB, "DELETE FROM app.events WHERE id < 500");
      let r = await run(RECOVERY_SH, ["restore-dump", "--backup", file, "--source-db", DB, "--yes"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^restore-dump ok: genie is now backup_20261130\.sql\.gz .* rows loaded \(a \.sql file has no manifest: not checked\)/);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
      expect(JSON.parse(await pg.psql("postgres", PROPS_SQL(DB)))).to.deep.equal(JSON.parse(originalProps));
      await moto.aws(["s3", "cp", file, `s3://${BUCKET}/plan/backup_20261130.sql.gz`]);
      const plain = path.join(work, "backup.sql");
      spawnSync("bash", ["-c", `gzip -dc '${file}' > '${plain}'`]);
      await moto.aws(["s3", "cp", plain, `s3://${BUCKET}/plan/backup.sql`]);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", `s3://${BUCKET}/plan/backup.sql`, "--source-db", DB, "--no-switch"], env);
      expect(r.code, r.stderr).to.equal(0);
      const [restored] = await restoring(pg);
      expect(await pg.psql(restored, FINGERPRINT)).to.equal(original);
      await pg.psql("postgres", `DROP DATABASE "${restored}"`);
      expect(fs.readdirSync(path.join(root, "restore"))).to.deep.equal([]);
    });

    it("refuses a truncated .sql.gz and a dump taken with --create before creating anything", async () => {
      const work = tmpDir("plan-bad");
      dirs.push(work);
      const good = path.join(work, "good.sql.gz");
      spawnSync("bash", ["-c", `pg_dump -d ${DB} | gzip > '${good}'`], { env: { ...env } });
      const cut = path.join(work, "cut.sql.gz");
      const buf = fs.readFileSync(good);
      fs.writeFileSync(cut, buf.subarray(0, Math.floor(buf.length / 2)));
      const created = path.join(work, "create.sql");
      spawnSync("bash", ["-c", `pg_dump -C -d ${DB} > '${created}'`], { env: { ...env } });
      const before = await dbs(pg);
      let r = await run(RECOVERY_SH, ["restore-dump", "--backup", cut, "--source-db", DB, "--yes"], env);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/error: verify failed: SQL dump .*cut\.sql\.gz does not decompress completely/);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", created, "--source-db", DB, "--yes"], env);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/error: verify failed: SQL dump .* line \d+: 'CREATE DATABASE/);
      expect(await dbs(pg)).to.deep.equal(before);
    });

    it("db-dump --format sql writes the plan's dump.sql.gz with a manifest; verify --deep and restore-dump read it", async () => {
      const sqlRoot = tmpDir("sqlfmt");
      dirs.push(sqlRoot);
      const e = { ...env, BACKUP_DIR: sqlRoot };
      let r = await run(BACKUP_SH, ["db-dump", "--format", "sql"], e);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^db-dump ok: daily genie \(sql\)/);
      const b = path.join(sqlRoot, "db", "daily", stamps(sqlRoot)[0]);
      expect(fs.readdirSync(b).sort()).to.deep.equal(["MANIFEST.json", "dump.sql.gz", "globals.json"]);
      // what the plan's own command restores
      expect(spawnSync("bash", ["-c", `gzip -dc '${b}/dump.sql.gz' | tail -n 8`], { encoding: "utf8" }).stdout).to.match(/PostgreSQL database dump complete/);
      r = await run(BACKUP_SH, ["verify", "--deep", "--backup", b], e);
      expect(r.code, r.stderr).to.equal(0);
      r = await run(BACKUP_SH, ["db-dump", "--format", "tar"], e);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/--format \(BACKUP_FORMAT\) must be directory or sql, got 'tar'/);
      await pg.psql(DB, "DELETE FROM app.cache");
      r = await run(RECOVERY_SH, ["restore-dump", "--source", "s3", "--yes"], e);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/row counts match the manifest/);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
    });
  });

  describe("hostile review of issue 15: .sql files, damaged manifests, the switch, new servers", () => {
    /** pg_dump of DB (its text changed by edit), gzipped, as the plan's commands write it. */
    const sqlFile = (name: string, db: string, edit = (t: string) => t) => {
      const work = tmpDir("review");
      dirs.push(work);
      const file = path.join(work, name);
      const d = spawnSync("pg_dump", ["-d", db], { env: { ...env }, encoding: "utf8", maxBuffer: 1 << 28 });
      expect(d.status, d.stderr).to.equal(0);
      fs.writeFileSync(file, spawnSync("gzip", ["-c"], { input: edit(d.stdout), maxBuffer: 1 << 28 }).stdout);
      return file;
    };
    const beforeEnd = (extra: string) => (t: string) => t.replace(/^-- PostgreSQL database dump complete/m, `${extra}\n-- PostgreSQL database dump complete`);

    it("R1. a .sql file of ANOTHER database never replaces the live one: --source-db is required, and a file sharing no table with it is exit 3", async () => {
      const file = sqlFile("backup_other.sql.gz", "other");
      const before = await dbs(pg);
      let r = await run(RECOVERY_SH, ["restore-dump", "--backup", file, "--yes"], env);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(/^error: a \.sql file does not record which database it is a dump of: pass --source-db NAME/m);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", file, "--source-db", DB, "--yes"], env);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/^error: the \.sql file shares no table with the live database 'genie' \(file: public\.only_in_other; live: app\./m);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
      expect(await dbs(pg)).to.deep.equal(before);
    });

    it("R2/R3. the whole .sql stream is scanned (COPY data skipped): \\connect after the data, roles with passwords, ALTER SYSTEM are refused before anything changes", async () => {
      // An older pg_dump (no \restrict), then what would write into ANOTHER database after the data.
      const connect = sqlFile("connect.sql.gz", DB, (t) => beforeEnd("\\connect other\nDROP TABLE only_in_other;")(t.replace(/^\\(un)?restrict .*\n/gm, "")));
      const text = spawnSync("bash", ["-c", `gzip -dc '${connect}'`], { encoding: "utf8" }).stdout;
      expect(text).to.not.match(/^\\restrict/m);
      expect(text.indexOf("\\connect other")).to.be.greaterThan(text.indexOf("FROM stdin;"));
      // pg_dumpall -g output in front of a pg_dump: a role with a password.
      const roles = sqlFile("roles.sql.gz", DB, (t) => `CREATE ROLE intruder;\nALTER ROLE intruder WITH LOGIN PASSWORD 'x';\n${t}`);
      const system = sqlFile("system.sql.gz", DB, beforeEnd("ALTER SYSTEM SET work_mem = '1GB';"));
      const before = await dbs(pg);
      let r = await run(RECOVERY_SH, ["restore-dump", "--backup", connect, "--source-db", DB, "--yes"], env);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/^error: verify failed: SQL dump .*connect\.sql\.gz line \d+: '\\connect other': only what pg_dump of one database writes/m);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", roles, "--source-db", DB, "--yes"], env);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/line 1: 'CREATE ROLE intruder;'.*remove those lines, e\.g\. with: sed -E/);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", system, "--source-db", DB, "--yes"], env);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/'ALTER SYSTEM SET work_mem/);
      expect(await pg.psql("other", "SELECT count(*) FROM only_in_other")).to.equal("1");
      expect(await pg.psql("postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'")).to.equal("0");
      expect(await dbs(pg)).to.deep.equal(before);
    });

    it("R4. a damaged MANIFEST.json of the newest backup fails verify (exit 3, local and S3); restore-dump warns and takes the older one", async () => {
      const dmg = tmpDir("damaged");
      dirs.push(dmg);
      const older = path.join(dmg, "db", "daily", "20300101T000000Z");
      const newer = path.join(dmg, "db", "daily", "20300102T000000Z");
      fs.cpSync(genieBackup, older, { recursive: true });
      fs.cpSync(genieBackup, newer, { recursive: true });
      fs.writeFileSync(path.join(newer, "MANIFEST.json"), '{"format": "genie-db-dump/1", "database": "gen');
      const e = { ...env, BACKUP_DIR: dmg };
      let r = await run(BACKUP_SH, ["verify", "--quick"], e);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/error: verify failed: MANIFEST\.json in .*20300102T000000Z is not a JSON object/);
      r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--dry-run"], e);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/warning: the backup .*20300102T000000Z has a damaged MANIFEST\.json/);
      expect(r.stdout).to.include("20300101T000000Z (backup of database 'genie')");
      await moto.aws(["s3", "cp", path.join(newer, "MANIFEST.json"), `s3://${BUCKET}/db/daily/20300102T000000Z/MANIFEST.json`]);
      try {
        r = await run(BACKUP_SH, ["verify", "--from-s3", "--quick"], env);
        expect(r.code, r.stderr).to.equal(3);
        expect(r.stderr).to.match(/error: verify failed: .*(not a JSON object|missing)/);
      } finally {
        await moto.aws(["s3", "rm", `s3://${BUCKET}/db/daily/20300102T000000Z/MANIFEST.json`]);
      }
    });

    it("R5/R9. database settings are applied in the restored database (a text search configuration only it has), also with --no-owner, which keeps the PUBLIC revoke", async () => {
      await pg.psql(DB, "CREATE TEXT SEARCH CONFIGURATION public.mycfg (COPY = english)");
      await pg.psql("postgres", `ALTER DATABASE ${DB} SET default_text_search_config = 'public.mycfg'`);
      const own = tmpDir("tsconfig");
      dirs.push(own);
      const e = { ...env, BACKUP_DIR: own };
      try {
        let r = await run(BACKUP_SH, ["db-dump", "--local-only"], e);
        expect(r.code, r.stderr).to.equal(0);
        for (const extra of [[], ["--no-owner"]]) {
          r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--no-switch", ...extra], e);
          expect(r.code, `${extra}: ${r.stderr}`).to.equal(0);
          const [restored] = await restoring(pg);
          try {
            expect(await pg.psql(restored, "SHOW default_text_search_config")).to.equal("public.mycfg");
            expect(await pg.psql(restored, "SHOW statement_timeout")).to.equal("41s");
            expect(await pg.psql("postgres", `SELECT has_database_privilege('public', '${restored}', 'CONNECT')`)).to.equal("f");
          } finally {
            await pg.psql("postgres", `DROP DATABASE "${restored}"`);
          }
        }
      } finally {
        await pg.psql("postgres", `ALTER DATABASE ${DB} RESET default_text_search_config`);
        await pg.psql(DB, "DROP TEXT SEARCH CONFIGURATION public.mycfg");
      }
    });

    it("R6. SIGTERM once the switch has committed: exit 143 at once, and the log says the switch happened (not 'dropped')", async () => {
      const shim = tmpDir("switch-shim");
      dirs.push(shim);
      // psql as usual; the run that ends with one more genie_pre_restore_* database than at the start (the switch) then hangs.
      const count = "SELECT count(*) FROM pg_database WHERE datname LIKE 'genie\\_pre\\_restore\\_%'";
      const start = await pg.psql("postgres", count);
      fs.writeFileSync(path.join(shim, "psql"), `#!/usr/bin/env bash
${which("psql")} "$@"; rc=$?
n=$(${which("psql")} -X -At -d postgres -c "${count}" 2>/dev/null)
if [[ -n $n && $n -gt ${start} && ! -e ${shim}/hung ]]; then touch ${shim}/hung; sleep 60; fi
exit $rc
`, { mode: 0o755 });
      const job = startScript(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], { ...env, PATH: `${shim}:${PATH}` });
      await until("the switch", async () => fs.existsSync(path.join(shim, "hung")));
      const t0 = Date.now();
      job.child.kill("SIGTERM");
      const res = await job.done;
      expect(res.at - t0, "exits at once").to.be.lessThan(8000);
      expect(res.code, res.stderr).to.equal(143);
      expect(res.stderr).to.match(/stopped after the switch had committed: 'genie' is the restored database; the previous one is kept as 'genie_pre_restore_\d+'/);
      expect(res.stderr).to.not.match(/dropped the incomplete|live database is untouched/);
      expect(await pg.psql(DB, FINGERPRINT)).to.equal(original);
      expect(await restoring(pg)).to.deep.equal([]);
    });

    it("R7/R8/R10/R14. onto a new server: a .sql naming missing roles is refused up front (names them), --no-owner restores it; verify --deep of --format sql works there; the backup's locale is kept; globals.json is 0600", async () => {
      await pg.psql("postgres", "CREATE DATABASE plain TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LC_COLLATE 'C' LC_CTYPE 'C'");
      await pg.psql("plain", "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 10); ALTER TABLE t OWNER TO app_owner; GRANT SELECT ON t TO app_ro;");
      const file = sqlFile("plain.sql.gz", "plain");
      const sqlRoot = tmpDir("plain-sql");
      dirs.push(sqlRoot);
      let r = await run(BACKUP_SH, ["db-dump", "--format", "sql", "--local-only"], { ...env, PGDATABASE: "plain", BACKUP_DIR: sqlRoot });
      expect(r.code, r.stderr).to.equal(0);
      const b = path.join(sqlRoot, "db", "daily", stamps(sqlRoot)[0]);
      expect(fs.statSync(path.join(b, "globals.json")).mode & 0o777).to.equal(0o600);
      const fresh = await startPostgres();
      servers.push(fresh);
      const fe = { ...env, ...fresh.env, PGDATABASE: "plain" };
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", file, "--source-db", "plain", "--yes"], fe);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/^error: the SQL dump names role\(s\) this server does not have \(as owners or grantees\): app_owner,app_ro; create them first .*or pass --no-owner/m);
      expect(await fresh.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'plain%'")).to.equal("0");
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", file, "--source-db", "plain", "--no-owner", "--yes"], fe);
      expect(r.code, r.stderr).to.equal(0);
      expect(await fresh.psql("plain", "SELECT count(*) FROM t")).to.equal("10");
      r = await run(BACKUP_SH, ["verify", "--deep", "--backup", b], { ...fe, BACKUP_DIR: sqlRoot });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/restored and counted/);
      // The backup's locale on a server where the database does not exist.
      await fresh.psql("postgres", "DROP DATABASE plain");
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", b, "--no-owner", "--yes"], fe);
      expect(r.code, r.stderr).to.equal(0);
      expect(await fresh.psql("postgres", "SELECT datcollate || '/' || datctype || '/' || datlocprovider::text || '/' || daticulocale FROM pg_database WHERE datname = 'plain'")).to.equal("C/C/i/en-US");
    });

    it("R11/R12/R15. leftovers of killed runs are named (restore) or dropped (verify --deep); the lock ignores --maintenance-db; no CREATEDB is found before any download", async () => {
      await pg.psql("postgres", "CREATE DATABASE genie_restore_20200101000000; CREATE DATABASE genie_verify_20200101000000; CREATE ROLE nocreate LOGIN");
      let r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--backup", "20000101T000000Z", "--yes"], env);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/warning: database genie_restore_20200101000000 was left by an earlier restore-dump .* drop it with: psql -d postgres -c 'DROP DATABASE IF EXISTS "genie_restore_20200101000000" WITH \(FORCE\)'/);
      await pg.psql("postgres", "DROP DATABASE genie_restore_20200101000000");
      r = await run(BACKUP_SH, ["verify", "--deep", "--backup", genieBackup], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/dropped genie_verify_20200101000000, left by an earlier verify --deep/);
      expect((await dbs(pg)).filter((d) => d.includes("_verify_"))).to.deep.equal([]);
      // The restore lock is the same whatever --maintenance-db says.
      const holder = spawn("psql", ["-X", "-At", "-d", "postgres", "-c", "SELECT pg_advisory_lock(hashtext('genie restore-dump genie')), pg_sleep(60)"], { env: { ...env }, stdio: "ignore" });
      try {
        await until("the lock holder", async () => (await pg.psql("postgres", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")) !== "0");
        r = await run(RECOVERY_SH, ["restore-dump", "--maintenance-db", "template1", "--source", "local", "--yes"], env, { timeoutMs: 60_000 });
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.match(/error: another restore-dump of database 'genie' is running/);
      } finally {
        holder.kill("SIGKILL");
      }
      // A role without CREATEDB: said before any download.
      r = await run(BACKUP_SH, ["verify", "--deep", "--from-s3"], { ...env, PGUSER: "nocreate" });
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/^error: verify --deep needs to create a database, and role 'nocreate' has neither CREATEDB nor SUPERUSER/m);
      expect(r.stderr).to.not.match(/downloading/);
    });

    it("R13/R16. printed DROP commands paste into a shell for any database name; --backup <timestamp> works for S3", async () => {
      const odd = "o'neil db";
      let r = await run(RECOVERY_SH, ["restore-dump", "--backup", genieBackup, "--source-db", DB, "--db", odd, "--dry-run"], env);
      expect(r.code, r.stderr).to.equal(0);
      const cmd = /drop it later with: (psql .*)$/m.exec(r.stdout)![1];
      const name = /RENAME TO "(o'neil db_pre_restore_\d+)"/.exec(r.stdout)![1];
      await pg.psql("postgres", `CREATE DATABASE "${name}"`);
      const sh = spawnSync("bash", ["-c", cmd], { env: { ...env }, encoding: "utf8" });
      expect(sh.status, sh.stderr).to.equal(0);
      expect(await dbs(pg)).to.not.include(name);
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", path.basename(genieBackup), "--dry-run"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`use backup s3://${BUCKET}/db/daily/${path.basename(genieBackup)}/ (backup of database 'genie')`);
    });
  });
});
