/**
 * `npm run bench`: wall time and peak memory of the offline plan and of the test suite (median of
 * 5 runs each), written to BENCHMARKS.md; then the runbook benchmark (bench/runbooks.ts), if present.
 *   npm run bench -- --runs 3        fewer runs
 *   npm run bench -- --only plan     one target: plan, test, runbooks or restore
 *   npm run bench -- --only restore --scale 70 --rounds 3   the whole recovery path from S3 (bench/restore-s3.ts)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { measure, median, Measurement, writeSection } from "./measure";

const ROOT = path.resolve(__dirname, "..");
const BENCHMARKS = path.join(ROOT, "BENCHMARKS.md");

/** Targets from the foundation issue, on a 2-core machine. */
const TARGETS = {
    plan: { wallSeconds: 3, peakMemoryMb: 1536 },
    test: { wallSeconds: 60, peakMemoryMb: 1536 },
};

async function main() {
    const args = process.argv.slice(2);
    const runs = Number(args[args.indexOf("--runs") + 1] ?? 5) || 5;
    const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
    const rows: string[] = [];
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const jobs: { key: keyof typeof TARGETS; label: string; args: string[] }[] = [
        { key: "plan", label: "`npm run plan -- production`", args: ["run", "-s", "plan", "--", "production"] },
        { key: "test", label: "`npm test` (tsc, then mocha)", args: ["test"] },
    ];
    for (const job of jobs) {
        if (only && only !== job.key) continue;
        const samples: Measurement[] = [];
        for (let i = 1; i <= runs; i++) {
            const m = await measure(npm, job.args, ROOT, { ...process.env, CI: "" });
            samples.push(m);
            console.error(`${job.key} run ${i}/${runs}: ${m.wallSeconds.toFixed(2)} s, ${m.peakMemoryMb.toFixed(0)} MB`);
        }
        const wall = median(samples.map((s) => s.wallSeconds));
        const mem = median(samples.map((s) => s.peakMemoryMb));
        const target = TARGETS[job.key];
        const verdict = wall <= target.wallSeconds && mem <= target.peakMemoryMb ? "met" : "MISSED";
        rows.push(
            `| ${job.label} | ${wall.toFixed(2)} s | ${Math.min(...samples.map((s) => s.wallSeconds)).toFixed(2)}–${Math.max(...samples.map((s) => s.wallSeconds)).toFixed(2)} s | ${mem.toFixed(0)} MB | ≤ ${target.wallSeconds} s, ≤ ${(target.peakMemoryMb / 1024).toFixed(1)} GB: ${verdict} |`,
        );
    }
    if (rows.length > 0) {
        const body = [
            `Median of ${runs} runs on ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
            "Peak memory: the largest total RSS of the command's process tree, sampled every 50 ms.",
            "",
            "| command | median wall time | range | median peak memory | target |",
            "|---|---|---|---|---|",
            ...rows,
        ].join("\n");
        writeSection(BENCHMARKS, "Offline plan and test suite", body);
        console.log(body);
    }
    const runbooks = path.join(ROOT, "bench", "runbooks.ts");
    if ((!only || only === "runbooks") && fs.existsSync(runbooks)) {
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", runbooks], { cwd: ROOT, stdio: "inherit" });
        if (r.status !== 0) process.exit(r.status ?? 1);
    }
    // The whole recovery path from S3 (plan's commands against restore-dump): --scale N, --rounds N.
    const restore = path.join(ROOT, "bench", "restore-s3.ts");
    if (!only || only === "restore") {
        const pass = ["--scale", "--rounds", "--jobs"].flatMap((f) => (args.includes(f) ? [f, args[args.indexOf(f) + 1]] : []));
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", restore, ...pass], { cwd: ROOT, stdio: "inherit" });
        if (r.status !== 0) process.exit(r.status ?? 1);
    }
}

main().catch((err) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
});
