// Benchmark: scripts/backup.sh db-dump + scripts/recovery.sh restore-dump (verification included)
// against the DR plan's own commands (pg_dump | gzip, then gunzip | psql), same server, same run.
//
//   node -r ./offline/register.js bench/runbooks.ts
//   BENCH_PGBENCH_SCALE=5 node -r ./offline/register.js bench/runbooks.ts   # quick run
//
// Env: BENCH_PGBENCH_SCALE (default 70, about 1.1 GB), BENCH_JOBS (default: CPU count),
//      BENCH_PGBENCH_PARTITIONS (default "0,8": one run unpartitioned, one with pgbench_accounts in 8 partitions),
//      BENCH_REPEAT (default 3 rounds, medians reported, order alternating),
//      BENCH_PG_SETTINGS (extra server settings, comma separated, applied to both sides).
// Prints a Markdown section and writes it to bench/out/runbooks.md.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median } from "./measure";
import { secs, settle, timed } from "./postgres";
import { BACKUP_SH, Postgres, RECOVERY_SH, REPO, baseEnv, startPostgres, tmpDir, which } from "../test/runbooks/support/fixtures";

const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const SCALE = Number(process.env.BENCH_PGBENCH_SCALE ?? 70);
const JOBS = Number(process.env.BENCH_JOBS ?? os.cpus().length);
const SERVER_SETTINGS = ["shared_buffers=1GB", "max_wal_size=2GB", ...(process.env.BENCH_PG_SETTINGS ?? "").split(",").filter(Boolean)];
const PARTITIONS = (process.env.BENCH_PGBENCH_PARTITIONS ?? "0,8").split(",").map((x) => Number(x.trim()));

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
function dirBytes(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + dirBytes(path.join(p, f)), 0);
}

interface Row {
  label: string;
  dbBytes: number;
  rows: string;
  planDump: number;
  ourDump: number;
  planBytes: number;
  ourBytes: number;
  planRestore: number;
  ourRestore: number;
  runs: Record<string, string[]>;
}

async function dataset(pg: Postgres, work: string, partitions: number): Promise<Row> {
  const db = partitions > 0 ? `bench_p${partitions}` : "bench";
  const root = path.join(work, db);
  const env = baseEnv({ ...pg.env, PGDATABASE: db, BACKUP_DIR: root, BACKUP_JOBS: String(JOBS), RESTORE_JOBS: String(JOBS) });
  await pg.psql("postgres", `CREATE DATABASE ${db}`);
  const init = ["-i", "-q", "-s", String(SCALE), ...(partitions > 0 ? [`--partitions=${partitions}`] : []), db];
  await timed(`pgbench ${init.join(" ")}`, "pgbench", init, env);
  await pg.psql(db, "VACUUM ANALYZE");
  const dbBytes = Number(await pg.psql(db, `SELECT pg_database_size('${db}')`));
  const rows = await pg.psql(db, "SELECT count(*) FROM pgbench_accounts");
  const fingerprint = "SELECT sum(abalance)::text || '/' || count(*) || '/' || (SELECT count(*) FROM pgbench_branches) || '/' || (SELECT count(*) FROM pgbench_tellers) FROM pgbench_accounts";
  const expected = await pg.psql(db, fingerprint);

  // ---- REPEAT rounds; the order of plan and scripts alternates between rounds; medians reported.
  const planFile = path.join(work, `${db}.sql.gz`);
  const t = { planDump: [] as number[], ourDump: [] as number[], planRestore: [] as number[], ourRestore: [] as number[] };
  let planBytes = 0;
  let ourBytes = 0;
  const planDumpCmd = ["-c", `set -o pipefail; pg_dump -d ${db} | gzip > '${planFile}'`];
  const planRestoreCmd = ["-c",
    `set -o pipefail; psql -X -q -d ${db} -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' && ` +
    `gunzip -c '${planFile}' | psql -X -q -d ${db} >/dev/null && psql -X -q -At -d ${db} -c 'SELECT count(*) FROM pgbench_accounts' >/dev/null`];
  for (let round = 0; round < REPEAT; round++) {
    fs.rmSync(root, { recursive: true, force: true });
    const dumps: Array<() => Promise<void>> = [
      async () => { await settle(pg); t.planDump.push((await timed(`[${round + 1}] plan: pg_dump | gzip`, "bash", planDumpCmd, env)).ms); },
      async () => { await settle(pg); t.ourDump.push((await timed(`[${round + 1}] ours: backup.sh db-dump --local-only`, BACKUP_SH, ["db-dump", "--local-only"], env)).ms); },
    ];
    const restores: Array<() => Promise<void>> = [
      async () => {
        await settle(pg);
        t.planRestore.push((await timed(`[${round + 1}] plan: DROP SCHEMA; gunzip | psql; count`, "bash", planRestoreCmd, env)).ms);
        const got = await pg.psql(db, fingerprint);
        if (got !== expected) throw new Error(`plan's restore gave different data: ${got} != ${expected}`);
      },
      async () => {
        await settle(pg);
        t.ourRestore.push((await timed(`[${round + 1}] ours: recovery.sh restore-dump`, RECOVERY_SH, ["restore-dump", "--source", "local", "--yes"], env)).ms);
        const got = await pg.psql(db, fingerprint);
        if (got !== expected) throw new Error(`restore-dump gave different data: ${got} != ${expected}`);
        const old = await pg.psql("postgres", `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '${db}\\_pre\\_restore\\_%'`);
        for (const d of old.split(",").filter(Boolean)) await pg.psql("postgres", `DROP DATABASE "${d}"`);
      },
    ];
    if (round % 2) { dumps.reverse(); restores.reverse(); }
    for (const step of dumps) await step();
    planBytes = fs.statSync(planFile).size;
    ourBytes = dirBytes(path.join(root, "db", "daily"));
    for (const step of restores) await step();
  }
  const planDump = median(t.planDump), ourDump = median(t.ourDump), planRestore = median(t.planRestore), ourRestore = median(t.ourRestore);
  const runs = { planDump: t.planDump.map(secs), ourDump: t.ourDump.map(secs), planRestore: t.planRestore.map(secs), ourRestore: t.ourRestore.map(secs) };
  // free the disk for the next dataset
  const dbs = (await pg.psql("postgres", `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '${db}%'`)).split(",");
  for (const d of dbs) await pg.psql("postgres", `DROP DATABASE "${d}"`);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(planFile, { force: true });
  const label = partitions > 0 ? `\`pgbench -i -s ${SCALE} --partitions=${partitions}\`` : `\`pgbench -i -s ${SCALE}\``;
  return { label, dbBytes, rows, planDump, ourDump, planBytes, ourBytes, planRestore, ourRestore, runs };
}

async function main(): Promise<void> {
  for (const t of ["psql", "pg_dump", "pg_restore", "pgbench", "jq", "gzip"]) {
    if (!which(t)) throw new Error(`bench needs ${t} (bash .ci/runbook-prereqs.sh)`);
  }
  const load0 = os.loadavg()[0];
  const pg = await startPostgres(SERVER_SETTINGS);
  const work = tmpDir("bench");
  const stopOnSignal = () => {
    pg.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  try {
    const results: Row[] = [];
    for (const p of PARTITIONS) results.push(await dataset(pg, work, p));
    const cpu = os.cpus();
    const version = (await pg.psql("postgres", "SHOW server_version")).split(" ")[0];
    const out = [
      "## Runbooks: dump and restore",
      "",
      `Measured by \`bench/runbooks.ts\` on ${new Date().toISOString().slice(0, 10)}: ${cpu.length} CPU (${cpu[0]?.model.trim() ?? "?"}), ` +
        `${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, PostgreSQL ${version} on 127.0.0.1 ` +
        `(${SERVER_SETTINGS.join(", ")}; same server and settings for both sides), jobs=${JOBS}.`,
      "Plan: `pg_dump | gzip`; restore = `DROP SCHEMA public CASCADE; CREATE SCHEMA public`, `gunzip | psql`, `SELECT count(*)`.",
      `Scripts: \`backup.sh db-dump --local-only\` (\`pg_dump -Fd -j ${JOBS}\`, exact row counts in the dump's snapshot, sha256, manifest);` +
        ` \`recovery.sh restore-dump --source local --yes\` (verify checksums and archive, \`pg_restore -j ${JOBS}\` into a new database, exact row counts against the manifest, ANALYZE, rename switch).`,
      `Each figure is the median of ${REPEAT} rounds (plan first in odd rounds, scripts first in even ones); before every timed step: CHECKPOINT and sync.`,
      `Load average (1 min) at start ${load0.toFixed(1)}, at end ${os.loadavg()[0].toFixed(1)}` +
        (Math.max(load0, os.loadavg()[0]) > cpu.length * 0.75 ? ": other work was running on the machine, figures are noisy." : "."),
      "Both restores were checked to give the same data after every round. S3 upload is not included on either side.",
      "",
      "| data | size | dump: plan | dump: scripts | restore: plan | restore: scripts | restore ratio (plan / scripts) |",
      "|---|---|---|---|---|---|---|",
      ...results.map((r) =>
        `| ${r.label}, ${r.rows} accounts | ${mb(r.dbBytes)} | ${secs(r.planDump)} s (${mb(r.planBytes)}) | ${secs(r.ourDump)} s (${mb(r.ourBytes)}) | ` +
          `${secs(r.planRestore)} s | ${secs(r.ourRestore)} s | **${(r.planRestore / r.ourRestore).toFixed(2)}x** |`),
      "",
      "Every round, in seconds:",
      "",
      ...results.map((r) => `- ${r.label}: dump plan ${r.runs.planDump.join(" / ")}, scripts ${r.runs.ourDump.join(" / ")}; restore plan ${r.runs.planRestore.join(" / ")}, scripts ${r.runs.ourRestore.join(" / ")}`),
      "",
    ];
    const md = out.join("\n");
    process.stdout.write(md + "\n");
    const outDir = path.join(REPO, "bench", "out");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "runbooks.md"), md + "\n");
  } finally {
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
