// Benchmark of the WHOLE recovery path, from S3 and from local files: the DR plan's commands
// against `scripts/recovery.sh restore-dump`, same server, same data, same run.
//
//   npm run bench -- --only restore                       # scale 70 (about 1 GB), 3 rounds
//   npm run bench -- --only restore --scale 5 --rounds 1  # quick run
//   node -r ./offline/register.js bench/restore-s3.ts --scale 70 --rounds 3 [--no-write]
//
// Plan, from S3:  aws s3 cp s3://bucket/database/backup.sql.gz . ; createdb NEW ; gunzip -c | psql -d NEW ;
//                 SELECT count(*) FROM pgbench_accounts   (the plan's "verify data integrity" step)
// Ours, from S3:  recovery.sh restore-dump --yes: pick the newest backup of the database in S3 (the one
//                 backup.sh db-dump wrote), fetch, verify (manifest, sizes, sha256, archive), restore
//                 beside the live database, exact row counts of every table against the manifest,
//                 database properties, ANALYZE, rename switch.
// Local-only:     the same, from the local files (no download on either side).
// PostgreSQL 15 and moto_server are started on 127.0.0.1 by test/runbooks/support/fixtures.ts.
// The rows go to BENCHMARKS.md ("Runbooks: whole recovery path from S3") unless --no-write.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median, writeSection } from "./measure";
import { secs, settle, timed } from "./postgres";
import { BACKUP_SH, RECOVERY_SH, REPO, baseEnv, run, startMoto, startPostgres, tmpDir, which } from "../test/runbooks/support/fixtures";

function flag(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}
function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

const SCALE = positiveInt("scale", flag("scale", process.env.BENCH_PGBENCH_SCALE ?? "70"));
const ROUNDS = positiveInt("rounds", flag("rounds", process.env.BENCH_REPEAT ?? "3"));
const JOBS = positiveInt("jobs", flag("jobs", String(os.cpus().length)));
const WRITE = !process.argv.includes("--no-write");
const SERVER_SETTINGS = ["shared_buffers=1GB", "max_wal_size=2GB", ...(process.env.BENCH_PG_SETTINGS ?? "").split(",").filter(Boolean)];
const BUCKET = "genie-bench-restore";
const DB = "bench";



/** "timings: connect 0.1s, select 1.2s, ..." from restore-dump's log, as name -> seconds. */
function phases(stderr: string): Record<string, number> {
  const line = stderr.split("\n").reverse().find((l) => l.includes("timings: "));
  const out: Record<string, number> = {};
  for (const part of (line?.split("timings: ")[1] ?? "").split(", ")) {
    const m = /^(\S+) ([0-9.]+)s$/.exec(part.trim());
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

async function main(): Promise<void> {
  for (const t of ["psql", "pg_dump", "pg_restore", "pgbench", "createdb", "jq", "gzip", "aws", "moto_server"]) {
    if (!which(t)) throw new Error(`bench needs ${t} (bash .ci/runbook-prereqs.sh)`);
  }
  const loads = [os.loadavg()[0]];
  const pg = await startPostgres(SERVER_SETTINGS);
  const moto = await startMoto();
  const work = tmpDir("bench-restore");
  const stop = async () => {
    await pg.stop();
    await moto.stop();
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stop().finally(() => process.exit(130)));
  process.once("SIGTERM", () => void stop().finally(() => process.exit(143)));
  try {
    const root = path.join(work, "backups");
    const env = baseEnv({
      ...pg.env, ...moto.env, PGDATABASE: DB, BACKUP_DIR: root, BACKUP_BUCKET: BUCKET,
      BACKUP_JOBS: String(JOBS), RESTORE_JOBS: String(JOBS),
    });
    await moto.aws(["s3api", "create-bucket", "--bucket", BUCKET]);
    await pg.psql("postgres", `CREATE DATABASE ${DB}`);
    await timed(`pgbench -i -s ${SCALE}`, "pgbench", ["-i", "-q", "-s", String(SCALE), DB], env);
    await pg.psql(DB, "VACUUM ANALYZE");
    const dbBytes = Number(await pg.psql(DB, `SELECT pg_database_size('${DB}')`));
    const accounts = await pg.psql(DB, "SELECT count(*) FROM pgbench_accounts");
    const fingerprint = "SELECT sum(abalance)::text || '/' || count(*) || '/' || (SELECT count(*) FROM pgbench_branches) || '/' || (SELECT count(*) FROM pgbench_tellers) FROM pgbench_accounts";
    const expected = await pg.psql(DB, fingerprint);

    // The plan's backup: pg_dump | gzip, uploaded with aws s3 cp (untimed).
    const planDir = path.join(work, "plan");
    fs.mkdirSync(planDir);
    const planFile = path.join(planDir, "backup.sql.gz");
    const planKey = "database/backup.sql.gz";
    await timed("plan backup: pg_dump | gzip; aws s3 cp", "bash",
      ["-c", `set -eo pipefail; pg_dump -d ${DB} | gzip > '${planFile}'; aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --only-show-errors '${planFile}' s3://${BUCKET}/${planKey}`], env);
    // Ours: backup.sh db-dump with its defaults, to S3 and the local copy (untimed).
    await timed("ours backup: backup.sh db-dump", BACKUP_SH, ["db-dump"], env);
    const planBytes = fs.statSync(planFile).size;
    const manifest = (await run("bash", ["-c", `cat '${root}'/db/daily/*/MANIFEST.json`], env)).stdout;
    const ourBytes = Number(JSON.parse(manifest).total_bytes);
    const ourFormat = `${JSON.parse(manifest).dump.format}, ${JSON.parse(manifest).dump.compression}`;

    const dropPre = async () => {
      const old = await pg.psql("postgres", `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '${DB}\\_pre\\_restore\\_%'`);
      for (const d of old.split(",").filter(Boolean)) await pg.psql("postgres", `DROP DATABASE "${d}"`);
    };
    const planRestore = (fromS3: boolean) => {
      const dl = path.join(work, "plan-dl");
      const file = fromS3 ? path.join(dl, "backup.sql.gz") : planFile;
      const fetch = fromS3 ? `mkdir -p '${dl}'; aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --only-show-errors s3://${BUCKET}/${planKey} '${file}'; ` : "";
      return ["-c", `set -eo pipefail; ${fetch}createdb -T template0 ${DB}_plan; gunzip -c '${file}' | psql -X -q -d ${DB}_plan >/dev/null; ` +
        `psql -X -q -At -d ${DB}_plan -c 'SELECT count(*) FROM pgbench_accounts' >/dev/null`];
    };
    type Key = "planS3" | "oursS3" | "planLocal" | "oursLocal";
    const t: Record<Key, number[]> = { planS3: [], oursS3: [], planLocal: [], oursLocal: [] };
    const ph: Record<"s3" | "local", Record<string, number>[]> = { s3: [], local: [] };
    const steps: Record<Key, (round: number) => Promise<void>> = {
      planS3: async (round) => {
        await settle(pg);
        t.planS3.push((await timed(`[${round}] plan from S3: aws s3 cp; createdb; gunzip | psql; count`, "bash", planRestore(true), env)).ms);
        const got = await pg.psql(`${DB}_plan`, fingerprint);
        if (got !== expected) throw new Error(`the plan's restore gave different data: ${got} != ${expected}`);
        await pg.psql("postgres", `DROP DATABASE ${DB}_plan`);
        fs.rmSync(path.join(work, "plan-dl"), { recursive: true, force: true });
      },
      planLocal: async (round) => {
        await settle(pg);
        t.planLocal.push((await timed(`[${round}] plan local: createdb; gunzip | psql; count`, "bash", planRestore(false), env)).ms);
        const got = await pg.psql(`${DB}_plan`, fingerprint);
        if (got !== expected) throw new Error(`the plan's restore gave different data: ${got} != ${expected}`);
        await pg.psql("postgres", `DROP DATABASE ${DB}_plan`);
      },
      oursS3: async (round) => {
        await settle(pg);
        const r = await timed(`[${round}] ours from S3: recovery.sh restore-dump --yes`, RECOVERY_SH, ["restore-dump", "--yes"], env);
        t.oursS3.push(r.ms);
        ph.s3.push(phases(r.stderr));
        const got = await pg.psql(DB, fingerprint);
        if (got !== expected) throw new Error(`restore-dump gave different data: ${got} != ${expected}`);
        await dropPre();
      },
      oursLocal: async (round) => {
        await settle(pg);
        const r = await timed(`[${round}] ours local: recovery.sh restore-dump --source local --yes`, RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], env);
        t.oursLocal.push(r.ms);
        ph.local.push(phases(r.stderr));
        const got = await pg.psql(DB, fingerprint);
        if (got !== expected) throw new Error(`restore-dump gave different data: ${got} != ${expected}`);
        await dropPre();
      },
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Key[] = ["planS3", "oursS3", "planLocal", "oursLocal"];
      if (round % 2 === 0) order.reverse();
      for (const k of order) await steps[k](round);
      loads.push(os.loadavg()[0]);
    }

    const m = (k: Key) => median(t[k]);
    const phaseMedians = (rows: Record<string, number>[]) => {
      const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return names.map((n) => `${n} ${median(rows.map((r) => r[n] ?? 0)).toFixed(1)} s`).join(", ");
    };
    const cpu = os.cpus();
    const version = (await pg.psql("postgres", "SHOW server_version")).split(" ")[0];
    const maxLoad = Math.max(...loads);
    const body = [
      `Measured by \`bench/restore-s3.ts\` (\`npm run bench -- --only restore --scale ${SCALE} --rounds ${ROUNDS}\`) on ${new Date().toISOString().slice(0, 10)}: ` +
        `${cpu.length} cores (${cpu[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, PostgreSQL ${version} on 127.0.0.1 ` +
        `(${SERVER_SETTINGS.join(", ")}), moto_server as S3 on 127.0.0.1, jobs=${JOBS}.`,
      `Data: \`pgbench -i -s ${SCALE}\`, ${accounts} accounts, ${(dbBytes / 2 ** 20).toFixed(0)} MiB. ` +
        `Plan's backup: \`pg_dump | gzip\`, ${(planBytes / 2 ** 20).toFixed(1)} MiB; ours: \`backup.sh db-dump\` (${ourFormat}), ${(ourBytes / 2 ** 20).toFixed(1)} MiB.`,
      "Plan's path: `aws s3 cp` of the .sql.gz, `createdb`, `gunzip -c | psql` into the new database, `SELECT count(*) FROM pgbench_accounts`.",
      "Our path: `recovery.sh restore-dump --yes` (newest backup of the database in S3, fetch, verify manifest, sizes and sha256 of every file and the archive, " +
        "restore beside the live database, exact row count of every table against the manifest, database properties, ANALYZE, rename switch). " +
        "Local-only: both from the local files, no download.",
      `Median of ${ROUNDS} round(s), the order alternating between rounds; CHECKPOINT and sync before every timed step; both sides checked to give the same data every round. ` +
        `Load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${maxLoad.toFixed(1)}` +
        (maxLoad > cpu.length * 0.75 ? " (other work was running: figures are noisy)." : "."),
      "",
      "| path | plan | ours | ratio (plan / ours) | target |",
      "|---|---|---|---|---|",
      `| whole path from S3 | ${secs(m("planS3"))} s | ${secs(m("oursS3"))} s | **${(m("planS3") / m("oursS3")).toFixed(2)}x** | ≥ 1.5x: ${m("planS3") / m("oursS3") >= 1.5 ? "met" : "MISSED"} |`,
      `| local files only | ${secs(m("planLocal"))} s | ${secs(m("oursLocal"))} s | **${(m("planLocal") / m("oursLocal")).toFixed(2)}x** | ≥ 1.0x: ${m("planLocal") / m("oursLocal") >= 1.0 ? "met" : "MISSED"} |`,
      "",
      `Every round, in seconds: plan from S3 ${t.planS3.map(secs).join(" / ")}; ours from S3 ${t.oursS3.map(secs).join(" / ")}; ` +
        `plan local ${t.planLocal.map(secs).join(" / ")}; ours local ${t.oursLocal.map(secs).join(" / ")}.`,
      "",
      `Where our path's time goes (restore-dump's \`timings:\` log line, medians): from S3: ${phaseMedians(ph.s3)}; local: ${phaseMedians(ph.local)}.`,
    ].join("\n");
    process.stdout.write(`${body}\n`);
    const outDir = path.join(REPO, "bench", "out");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "restore-s3.md"), `${body}\n`);
    if (WRITE) writeSection(path.join(REPO, "BENCHMARKS.md"), "Runbooks: whole recovery path from S3", body);
  } finally {
    await stop();
  }
}

main().catch((e) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
