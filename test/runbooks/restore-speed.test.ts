// Issue 15, "faster than the plan's commands": zstd dumps streamed into pg_restore, the S3 fast path
// (the newest backup downloaded at once), ANALYZE beside the row counts, the timings line. Every
// speed change keeps its safety check: these tests are about the checks.
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  BACKUP_SH, PATH, RECOVERY_SH, Moto, Postgres, baseEnv, requireTools, run, startMoto, startPostgres, tmpDir,
} from "./support/fixtures";

const DB = "speedy";
const BUCKET = "genie-backups-speed";
const SEED = `
CREATE TABLE big (id int PRIMARY KEY, note text);
INSERT INTO big SELECT g, 'row ' || g || repeat(' x', g % 13) FROM generate_series(1, 40000) g;
CREATE TABLE small (k text PRIMARY KEY, v int);
INSERT INTO small SELECT 'k' || g, g FROM generate_series(1, 50) g;
SELECT lo_from_bytea(0, '\\x0102030405');
`;
const FINGERPRINT = "SELECT md5(string_agg(b::text, '|' ORDER BY b.id)) || '/' || (SELECT count(*) FROM small) || '/' || (SELECT count(*) FROM pg_largeobject_metadata) FROM big b";

describe("runbooks 2: faster recovery, same checks (zstd streaming, S3 fast path)", function () {
  this.timeout(180_000);
  let pg: Postgres | undefined;
  let moto: Moto | undefined;
  let env: NodeJS.ProcessEnv = {};
  let original = "";
  const dirs: string[] = [];
  const dbs = async () => (await pg!.psql("postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")).split(",");
  const dropPre = async () => {
    for (const d of await dbs()) if (d.startsWith(`${DB}_pre_restore_`)) await pg!.psql("postgres", `DROP DATABASE "${d}"`);
  };
  const newest = (root: string) => {
    const d = path.join(root, "db", "daily");
    return path.join(d, fs.readdirSync(d).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort().pop()!);
  };

  before(async function () {
    requireTools(this, ["psql", "pg_dump", "pg_restore", "jq", "sha256sum", "moto_server", "aws", "flock", "zstd"]);
    pg = await startPostgres();
    moto = await startMoto();
    await moto.aws(["s3api", "create-bucket", "--bucket", BUCKET]);
    await pg.psql("postgres", `CREATE DATABASE ${DB}`);
    await pg.psql(DB, SEED);
    original = await pg.psql(DB, FINGERPRINT);
    const root = tmpDir("speed");
    dirs.push(root);
    // A temp directory of the suite's own: the leftover checks below read it while other suites run in parallel.
    const scratch = tmpDir("speed-tmp");
    dirs.push(scratch);
    env = baseEnv({ ...pg.env, ...moto.env, PGDATABASE: DB, BACKUP_DIR: root, BACKUP_BUCKET: BUCKET, BACKUP_JOBS: "2", RESTORE_JOBS: "2", TMPDIR: scratch });
  });

  after(async () => {
    await pg?.stop();
    await moto?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("db-dump compresses with zstd by default (gzip on request); both restore identical data, streamed through named pipes", async () => {
    let r = await run(BACKUP_SH, ["db-dump"], env);
    expect(r.code, r.stderr).to.equal(0);
    const zdir = newest(env.BACKUP_DIR!);
    const manifest = JSON.parse(fs.readFileSync(path.join(zdir, "MANIFEST.json"), "utf8"));
    expect(manifest.dump.compression).to.equal("zstd:3");
    const files: string[] = manifest.files.map((f: { path: string }) => f.path);
    expect(files.filter((p) => p.startsWith("dump/") && p !== "dump/toc.dat").every((p) => p.endsWith(".zst")), files.join(",")).to.equal(true);
    r = await run(BACKUP_SH, ["verify", "--deep"], env);
    expect(r.code, r.stderr).to.equal(0);

    // Every file streamed (STAGE_STREAM_BYTES=0): from S3, the newest backup, downloaded at once.
    r = await run(RECOVERY_SH, ["restore-dump", "--yes"], { ...env, STAGE_STREAM_BYTES: "0" });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^restore-dump ok: speedy is now daily\//);
    expect(r.stderr).to.match(/timings: connect [0-9.]+s, select [0-9.]+s, download [0-9.]+s, .*verify [0-9.]+s, .*load [0-9.]+s, count [0-9.]+s, .*analyze [0-9.]+s, switch [0-9.]+s/);
    expect(await pg!.psql(DB, FINGERPRINT)).to.equal(original);
    // ANALYZE ran (beside the counts): the planner has statistics for the restored table.
    expect(await pg!.psql(DB, "SELECT count(*) FROM pg_stats WHERE tablename = 'big'")).to.not.equal("0");
    expect(fs.readdirSync(path.join(env.BACKUP_DIR!, "restore"))).to.deep.equal([]);
    expect(fs.readdirSync(env.TMPDIR!).filter((n) => n.startsWith("genie-stage."))).to.deep.equal([]);
    await dropPre();

    r = await run(BACKUP_SH, ["db-dump", "--local-only", "--compression", "gzip"], env);
    expect(r.code, r.stderr).to.equal(0);
    const gdir = newest(env.BACKUP_DIR!);
    expect(JSON.parse(fs.readFileSync(path.join(gdir, "MANIFEST.json"), "utf8")).dump.compression).to.equal("gzip:6");
    r = await run(RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(await pg!.psql(DB, FINGERPRINT)).to.equal(original);
    await dropPre();

    r = await run(BACKUP_SH, ["db-dump", "--local-only", "--compression", "lz4"], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/error: --compression \(BACKUP_COMPRESSION\) must be zstd or gzip, got 'lz4'/);
  });

  it("a damaged zstd stream behind a consistent manifest is refused, streamed or not, and nothing is switched", async () => {
    let r = await run(BACKUP_SH, ["db-dump", "--local-only"], env);
    expect(r.code, r.stderr).to.equal(0);
    const bad = tmpDir("speed-bad");
    dirs.push(bad);
    const copy = path.join(bad, "db", "daily", path.basename(newest(env.BACKUP_DIR!)));
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.cpSync(newest(env.BACKUP_DIR!), copy, { recursive: true });
    const toc = spawnSync("pg_restore", ["-l", path.join(copy, "dump")], { encoding: "utf8", env: { PATH } }).stdout;
    const id = /^(\d+);.* TABLE DATA public big /m.exec(toc)![1];
    const file = path.join(copy, "dump", `${id}.dat.zst`);
    // Cut the compressed stream in half and re-make the manifest: checksums and sizes agree.
    const buf = fs.readFileSync(file);
    fs.writeFileSync(file, buf.subarray(0, Math.floor(buf.length / 2)));
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, "MANIFEST.json"), "utf8"));
    for (const f of manifest.files) {
      const p = path.join(copy, f.path);
      f.bytes = fs.statSync(p).size;
      f.sha256 = spawnSync("sha256sum", [p], { encoding: "utf8" }).stdout.split(" ")[0];
    }
    fs.writeFileSync(path.join(copy, "MANIFEST.json"), JSON.stringify(manifest));

    r = await run(BACKUP_SH, ["verify", "--backup", copy], env);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(new RegExp(`error: verify failed: unreadable compressed data: dump/${id}\\.dat\\.zst`));
    for (const stream of ["0", "1073741824"]) {
      r = await run(RECOVERY_SH, ["restore-dump", "--backup", copy, "--yes"], { ...env, STAGE_STREAM_BYTES: stream });
      expect(r.code, `STAGE_STREAM_BYTES=${stream}: ${r.stderr}`).to.not.equal(0);
      expect(r.stderr).to.match(new RegExp(`^error: loading the backup into speedy_restore_\\d+ failed: decompressing (.*/)?${id}\\.dat\\.zst failed`, "m"));
      expect(r.stderr).to.match(/dropped the incomplete speedy_restore_\d+/);
      expect((await dbs()).filter((d) => d !== "postgres" && !d.startsWith("template"))).to.deep.equal([DB]);
      expect(await pg!.psql(DB, FINGERPRINT)).to.equal(original);
    }
  });

  it("the S3 fast path never restores another database's backup, even when it is the newest", async () => {
    await pg!.psql("postgres", "CREATE DATABASE intruder");
    await pg!.psql("intruder", "CREATE TABLE big (id int PRIMARY KEY, note text); INSERT INTO big VALUES (1, 'not mine')");
    const r0 = await run(BACKUP_SH, ["db-dump"], { ...env, PGDATABASE: "intruder" });
    expect(r0.code, r0.stderr).to.equal(0);
    const r = await run(RECOVERY_SH, ["restore-dump", "--yes"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/the newest backup s3:\/\/genie-backups-speed\/db\/daily\/\d+T\d+Z\/ is not of database 'speedy': looking at older ones/);
    expect(await pg!.psql(DB, FINGERPRINT)).to.equal(original);
    expect(fs.readdirSync(path.join(env.BACKUP_DIR!, "restore"))).to.deep.equal([]);
    await dropPre();
  });
});
