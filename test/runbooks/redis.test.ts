// backup.sh redis against a real redis-server and moto_server's S3.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { BACKUP_SH, Moto, Redis, baseEnv, requireTools, run, startMoto, startRedis, tmpDir } from "./support/fixtures";

const BUCKET = "genie-redis-test";

describe("runbooks: redis RDB backup (redis-server + moto S3)", function () {
  this.timeout(90_000);
  let moto: Moto | undefined;
  let redis: Redis | undefined;
  let root = "";
  let env: NodeJS.ProcessEnv = {};

  before(async function () {
    requireTools(this, ["redis-server", "redis-cli", "moto_server", "aws", "jq"]);
    moto = await startMoto();
    redis = await startRedis();
    await moto.aws(["s3api", "create-bucket", "--bucket", BUCKET]);
    root = tmpDir("redis-backups");
    env = baseEnv({ ...moto.env, REDIS_HOST: "127.0.0.1", REDIS_PORT: String(redis.port), BACKUP_BUCKET: BUCKET, BACKUP_DIR: root });
    const set = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(redis.port), "set", "session:42", "hello-genie"], env);
    expect(set.code).to.equal(0);
  });

  after(async () => {
    await redis?.stop();
    await moto?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("uploads a gzipped RDB snapshot and its manifest to redis/<ts>/", async () => {
    const r = await run(BACKUP_SH, ["redis"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.match(/^redis ok: 127\.0\.0\.1:\d+, .* and s3:\/\/genie-redis-test\/redis\/\d{8}T\d{6}Z\/$/);
    const stamp = fs.readdirSync(path.join(root, "redis")).filter((n) => /^\d{8}T\d{6}Z$/.test(n))[0];
    const rdb = zlib.gunzipSync(fs.readFileSync(path.join(root, "redis", stamp, "dump.rdb.gz")));
    expect(rdb.subarray(0, 5).toString()).to.equal("REDIS");
    expect(rdb.includes(Buffer.from("hello-genie"))).to.equal(true);
    const keys = JSON.parse(await moto!.aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "redis/"])).Contents.map((o: { Key: string }) => o.Key);
    expect(keys).to.have.members([`redis/${stamp}/dump.rdb.gz`, `redis/${stamp}/MANIFEST.json`]);
  });

  it("missing REDIS_HOST exits 2; an unreachable Redis exits 1 and leaves nothing", async () => {
    let r = await run(BACKUP_SH, ["redis"], { ...env, REDIS_HOST: "" });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/missing setting: REDIS_HOST/);
    const before = fs.readdirSync(path.join(root, "redis"));
    r = await run(BACKUP_SH, ["redis", "--port", "1"], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: redis-cli --rdb from 127\.0\.0\.1:1 failed/m);
    expect(fs.readdirSync(path.join(root, "redis"))).to.deep.equal(before);
  });
});
