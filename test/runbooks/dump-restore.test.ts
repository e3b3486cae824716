// backup.sh db-dump / verify and recovery.sh restore-dump against a real PostgreSQL 15 and moto_server (S3).
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
  BACKUP_SH, RECOVERY_SH, Moto, Postgres, baseEnv, freePort, requireTools, run, startMoto, startPostgres, tmpDir,
} from "./support/fixtures";

const DB = "genie";
const BUCKET = "genie-backups-test";

const SEED = `
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, profile jsonb, created_at timestamptz DEFAULT now());
INSERT INTO users (email, profile) SELECT 'user' || g || '@example.com', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7))
  FROM generate_series(1, 5000) g;
CREATE TABLE conversations (id bigserial PRIMARY KEY, user_id int REFERENCES users(id), title text, body bytea, score numeric(10,3));
INSERT INTO conversations (user_id, title, body, score)
  SELECT 1 + g % 5000, CASE WHEN g % 10 = 0 THEN NULL ELSE 'chat ' || g || E' with \\t tab and ''quote''' END,
         decode(md5(g::text), 'hex'), g / 7.0 FROM generate_series(1, 20000) g;
CREATE INDEX conversations_user ON conversations(user_id);
CREATE SCHEMA "Audit Log";
CREATE TABLE "Audit Log"."Events" (id int, what text);
INSERT INTO "Audit Log"."Events" VALUES (1, 'créé'), (2, NULL);
CREATE TABLE empty_table (x int);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE id % 2 = 0;
`;

/** A fingerprint of every table's content, to compare databases. */
const FINGERPRINT = `
SELECT string_agg(t || '=' || h, ' ' ORDER BY t) FROM (
  SELECT 'users' t, md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) h FROM users x
  UNION ALL SELECT 'conversations', md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM conversations x
  UNION ALL SELECT 'events', md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM "Audit Log"."Events" x
  UNION ALL SELECT 'empty', count(*)::text FROM empty_table
  UNION ALL SELECT 'view', count(*)::text FROM active_users
  UNION ALL SELECT 'seq', last_value::text FROM users_id_seq
) s;`;

function backupsUnder(root: string, kind = "daily"): string[] {
  const d = path.join(root, "db", kind);
  return fs.existsSync(d) ? fs.readdirSync(d).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort() : [];
}

function flipByte(file: string, offset = 20): void {
  const buf = fs.readFileSync(file);
  buf[Math.min(offset, buf.length - 1)] ^= 0xff;
  fs.writeFileSync(file, buf);
}

function copyBackup(src: string, root: string): string {
  const dest = path.join(root, "db", "daily", path.basename(src));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(src, dest, { recursive: true });
  return dest;
}

describe("runbooks: logical dump, verify and restore (PostgreSQL + moto S3)", function () {
  this.timeout(180_000);
  let pg: Postgres | undefined;
  let moto: Moto | undefined;
  let root = "";
  let env: NodeJS.ProcessEnv = {};
  let original = "";
  let firstBackup = "";
  const dirs: string[] = [];

  const databases = async () => (await pg!.psql("postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")).split(",");

  before(async function () {
    requireTools(this, ["psql", "pg_dump", "pg_restore", "jq", "sha256sum", "moto_server", "aws", "flock"]);
    pg = await startPostgres();
    moto = await startMoto();
    await moto.aws(["s3api", "create-bucket", "--bucket", BUCKET]);
    await pg.psql("postgres", `CREATE DATABASE ${DB}`);
    await pg.psql(DB, SEED);
    original = await pg.psql(DB, FINGERPRINT);
    root = tmpDir("backups");
    dirs.push(root);
    env = baseEnv({ ...pg.env, ...moto.env, PGDATABASE: DB, BACKUP_DIR: root, BACKUP_BUCKET: BUCKET, BACKUP_JOBS: "2" });
  });

  after(async function () {
    await pg?.stop();
    await moto?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("db-dump writes a verified backup locally and to s3://<bucket>/db/daily/<ts>/ with the manifest", async () => {
    const r = await run(BACKUP_SH, ["db-dump"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^db-dump ok: daily genie \(directory\), \d+ files/);
    const stamps = backupsUnder(root);
    expect(stamps).to.have.length(1);
    firstBackup = path.join(root, "db", "daily", stamps[0]);
    const manifest = JSON.parse(fs.readFileSync(path.join(firstBackup, "MANIFEST.json"), "utf8"));
    expect(manifest.format).to.equal("genie-db-dump/1");
    expect(manifest.server_version).to.match(/^15\./);
    expect(manifest.started_at).to.match(/Z$/);
    expect(manifest.finished_at >= manifest.started_at).to.equal(true);
    const rows = Object.fromEntries(manifest.tables.map((t: { schema: string; table: string; rows: number }) => [`${t.schema}.${t.table}`, t.rows]));
    expect(rows).to.deep.equal({ "Audit Log.Events": 2, "public.conversations": 20000, "public.empty_table": 0, "public.users": 5000 });
    for (const f of manifest.files) expect(f.sha256).to.match(/^[0-9a-f]{64}$/);
    // no leftovers from the temp directory
    expect(fs.readdirSync(path.join(root, "db", "daily")).filter((n) => n.startsWith(".tmp"))).to.deep.equal([]);

    const keys = JSON.parse(await moto!.aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", `db/daily/${stamps[0]}/`]))
      .Contents.map((o: { Key: string }) => o.Key) as string[];
    expect(keys).to.include(`db/daily/${stamps[0]}/MANIFEST.json`);
    expect(keys).to.include(`db/daily/${stamps[0]}/dump/toc.dat`);
    expect(keys).to.have.length(manifest.files.length + 1);
  });

  it("db-dump --kind weekly goes under db/weekly/", async () => {
    const r = await run(BACKUP_SH, ["db-dump", "--kind", "weekly"], env);
    expect(r.code, r.stderr).to.equal(0);
    const stamps = backupsUnder(root, "weekly");
    expect(stamps).to.have.length(1);
    const list = JSON.parse(await moto!.aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "db/weekly/"]));
    expect(list.Contents.map((o: { Key: string }) => o.Key)).to.include(`db/weekly/${stamps[0]}/MANIFEST.json`);
  });

  it("verify passes on a good backup, locally and from S3", async () => {
    let r = await run(BACKUP_SH, ["verify", "--backup", firstBackup], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^verify ok: .*4 tables, 25002 rows/);
    r = await run(BACKUP_SH, ["verify", "--from-s3"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^verify ok: s3:\/\/genie-backups-test\/db\/(daily|weekly)\//);
  });

  it("verify catches a flipped byte and a missing file (exit 3 with the reason)", async () => {
    const copyRoot = tmpDir("verify");
    dirs.push(copyRoot);
    const copy = copyBackup(firstBackup, copyRoot);
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, "MANIFEST.json"), "utf8"));
    const dataFile = manifest.files.map((f: { path: string }) => f.path).find((p: string) => /\.dat\.(gz|zst)$/.test(p));
    flipByte(path.join(copy, dataFile));
    let r = await run(BACKUP_SH, ["verify"], { ...env, BACKUP_DIR: copyRoot });
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(new RegExp(`error: verify failed: checksum mismatch for ${dataFile.replace(".", "\\.")}`));

    flipByte(path.join(copy, dataFile)); // restore it, then remove another file
    r = await run(BACKUP_SH, ["verify"], { ...env, BACKUP_DIR: copyRoot });
    expect(r.code, r.stderr).to.equal(0);
    fs.rmSync(path.join(copy, "dump", "toc.dat"));
    r = await run(BACKUP_SH, ["verify"], { ...env, BACKUP_DIR: copyRoot });
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(/error: verify failed: file\(s\) listed in the manifest are missing: dump\/toc\.dat/);

    fs.rmSync(path.join(copy, "MANIFEST.json"));
    r = await run(BACKUP_SH, ["verify", "--backup", copy], env);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(/no MANIFEST\.json/);
  });

  it("restore-dump --dry-run prints the steps and changes nothing", async () => {
    const before = await databases();
    const r = await run(RECOVERY_SH, ["restore-dump", "--dry-run"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/dry-run/);
    expect(r.stdout).to.match(/ALTER DATABASE "genie" RENAME TO "genie_pre_restore_\d+"/);
    expect(await databases()).to.deep.equal(before);
  });

  it("restore-dump refuses a corrupted dump before creating anything; live database untouched", async () => {
    await pg!.psql(DB, "INSERT INTO users (email) VALUES ('live-after-backup@example.com')");
    const live = await pg!.psql(DB, FINGERPRINT);
    const before = await databases();
    const badRoot = tmpDir("bad");
    dirs.push(badRoot);
    const copy = copyBackup(firstBackup, badRoot);
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, "MANIFEST.json"), "utf8"));
    const big = [...manifest.files].sort((a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes)[0];
    flipByte(path.join(copy, big.path), 100);
    const r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], { ...env, BACKUP_DIR: badRoot });
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(/error: verify failed: checksum mismatch/);
    expect(await databases()).to.deep.equal(before);
    expect(await pg!.psql(DB, FINGERPRINT)).to.equal(live);
  });

  it("restore-dump (newest from S3) restores identical data and keeps the previous database", async () => {
    // change the live database after the backup: the restore must bring back the backed-up state
    await pg!.psql(DB, "DELETE FROM conversations WHERE id % 3 = 0; UPDATE users SET email = 'changed' || id WHERE id < 10");
    const changed = await pg!.psql(DB, FINGERPRINT);
    expect(changed).to.not.equal(original);
    const r = await run(RECOVERY_SH, ["restore-dump", "--backup", `db/daily/${path.basename(firstBackup)}`, "--yes"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^restore-dump ok: genie is now daily\//);
    expect(r.stderr).to.match(/row counts match the manifest \(4 tables, 25002 rows\)/);
    expect(await pg!.psql(DB, FINGERPRINT)).to.equal(original);
    const pre = (await databases()).filter((d) => d.startsWith("genie_pre_restore_"));
    expect(pre).to.have.length(1);
    expect(await pg!.psql(pre[0], FINGERPRINT)).to.equal(changed);
    expect((await databases()).filter((d) => d.includes("_restore_") && !d.includes("pre_restore"))).to.deep.equal([]);
    expect(r.stdout).to.include(`DROP DATABASE IF EXISTS "${pre[0]}" WITH (FORCE)`);
  });

  it("restore-dump --no-switch restores beside the live database (restore test)", async () => {
    const r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--no-switch"], env);
    expect(r.code, r.stderr).to.equal(0);
    const restored = (await databases()).filter((d) => /^genie_restore_\d+$/.test(d));
    expect(restored).to.have.length(1);
    expect(await pg!.psql(restored[0], "SELECT count(*) FROM users")).to.equal("5000");
    await pg!.psql("postgres", `DROP DATABASE "${restored[0]}"`);
  });

  it("db-dump reads the credentials from DB_SECRET_ID when PGPASSWORD is not set (the scheduled job's way)", async () => {
    await moto!.aws(["secretsmanager", "create-secret", "--name", "genie/db", "--secret-string",
      JSON.stringify({ username: "postgres", password: "unused-with-trust-auth", dbname: DB })]);
    const secretRoot = tmpDir("secret");
    dirs.push(secretRoot);
    const { PGUSER: _u, PGDATABASE: _d, ...rest } = env;
    const r = await run(BACKUP_SH, ["db-dump", "--kind", "auto"], { ...rest, DB_SECRET_ID: "genie/db", BACKUP_DIR: secretRoot });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include("database credentials read from secret genie/db");
    expect(r.stdout).to.match(/^db-dump ok: (daily|weekly) genie \(directory\),/);
  });

  describe("failures exit non-zero with a clear error and leave no manifest", () => {
    const snapshot = () => ({ daily: backupsUnder(root), weekly: backupsUnder(root, "weekly"), all: fs.existsSync(path.join(root, "db", "daily")) ? fs.readdirSync(path.join(root, "db", "daily")) : [] });

    it("missing settings: exit 2 naming the variable", async () => {
      let r = await run(BACKUP_SH, ["db-dump"], { ...env, PGDATABASE: "" });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error: missing setting: PGDATABASE \(name of the database to dump\)/m);
      r = await run(BACKUP_SH, ["db-dump"], { ...env, BACKUP_BUCKET: "" });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/error: missing setting: BACKUP_BUCKET/);
      r = await run(BACKUP_SH, ["db-dump"], { ...env, BACKUP_DIR: "" });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/error: missing setting: BACKUP_DIR/);
      r = await run(RECOVERY_SH, ["restore-dump"], { ...env, PGDATABASE: "" });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/error: missing setting: PGDATABASE/);
      r = await run(BACKUP_SH, ["verify"], { ...env, BACKUP_DIR: "" });
      expect(r.code).to.equal(2);
      r = await run(BACKUP_SH, ["no-such-command"], env);
      expect(r.code).to.equal(2);
    });

    it("unreachable database", async () => {
      const before = snapshot();
      const r = await run(BACKUP_SH, ["db-dump"], { ...env, PGPORT: String(await freePort()) });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: cannot connect to PostgreSQL database 'genie' at 127\.0\.0\.1:\d+/m);
      expect(snapshot()).to.deep.equal(before);
    });

    it("unreachable S3 endpoint: fails before dumping, previous backups untouched", async () => {
      const before = snapshot();
      const firstManifest = fs.readFileSync(path.join(firstBackup, "MANIFEST.json"), "utf8");
      const r = await run(BACKUP_SH, ["db-dump"], { ...env, AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}` });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: aws s3api head-bucket failed \(region us-east-1, endpoint http:\/\/127\.0\.0\.1:\d+\)/m);
      expect(snapshot()).to.deep.equal(before);
      expect(fs.readFileSync(path.join(firstBackup, "MANIFEST.json"), "utf8")).to.equal(firstManifest);
    });

    it("a failing pg_dump (unreadable table) leaves no backup directory and no manifest", async () => {
      await pg!.psql(DB, "CREATE ROLE dumper LOGIN; GRANT CONNECT ON DATABASE genie TO dumper; GRANT USAGE ON SCHEMA public TO dumper; GRANT SELECT ON users TO dumper");
      const before = snapshot();
      const s3Manifests = async () => ((JSON.parse(await moto!.aws(["s3api", "list-objects-v2", "--bucket", BUCKET])).Contents ?? []) as Array<{ Key: string }>)
        .filter((o) => o.Key.endsWith("MANIFEST.json")).map((o) => o.Key).sort();
      const manifestsBefore = await s3Manifests();
      const r = await run(BACKUP_SH, ["db-dump"], { ...env, PGUSER: "dumper" });
      expect(r.code).to.equal(1);
      expect(r.stderr, r.stderr).to.match(/^error: (pg_dump|row counts) of .genie. failed: .*permission denied/m);
      expect(snapshot()).to.deep.equal(before);
      expect(await s3Manifests()).to.deep.equal(manifestsBefore);
    });
  });
});
