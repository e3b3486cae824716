/**
 * `npm run bench`: wall time and peak memory of the offline plans (with the floor they are compared
 * with: node loading the two SDK modules) and of the test suite (median of 5 runs each), written to
 * BENCHMARKS.md; then the runbook benchmarks (bench/runbooks.ts, bench/restore-s3.ts).
 *   npm run bench -- --runs 3        fewer runs
 *   npm run bench -- --only plan     one target: plan (with the floor), test, runbooks or restore
 *   npm run bench -- --only restore --scale 70 --rounds 3   the whole recovery path from S3 (bench/restore-s3.ts)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { measure, median, Measurement, writeSection } from "./measure";

const ROOT = path.resolve(__dirname, "..");
const BENCHMARKS = path.join(ROOT, "BENCHMARKS.md");

/**
 * Targets (issue 17, on a 2-core machine): the offline plan of each stack within 2.5x the time node takes
 * to load the two SDK modules (the floor, measured in the same run, so the ratio means the same on any
 * machine) and within 250 MB; the whole `npm test` (type-check included) within 30 s and 1 GB.
 */
const TARGETS = {
    planRatioToFloor: 2.5,
    planPeakMemoryMb: 250,
    testWallSeconds: 30,
    testPeakMemoryMb: 1024,
};

type JobKey = "floor" | "plan" | "test";
interface Job {
    key: JobKey;
    label: string;
    command: string;
    args: string[];
}

async function main() {
    const args = process.argv.slice(2);
    const runs = Number(args[args.indexOf("--runs") + 1] ?? 5) || 5;
    const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const jobs: Job[] = [
        { key: "floor", label: "floor: `node` loading `@pulumi/pulumi` and `@pulumi/aws`", command: process.execPath, args: ["-e", "require('@pulumi/pulumi'); require('@pulumi/aws')"] },
        { key: "plan", label: "`npm run plan -- production`", command: npm, args: ["run", "-s", "plan", "--", "production"] },
        { key: "plan", label: "`npm run plan -- dr`", command: npm, args: ["run", "-s", "plan", "--", "dr"] },
        { key: "test", label: "`npm test` (tsc, then mocha)", command: npm, args: ["test"] },
    ];
    // --only plan measures the floor with the plans (their target is a ratio to it).
    const selected = jobs.filter((j) => !only || only === j.key || (only === "plan" && j.key === "floor"));
    const results = new Map<string, { wall: number; min: number; max: number; mem: number }>();
    for (const job of selected) {
        const samples: Measurement[] = [];
        for (let i = 1; i <= runs; i++) {
            const m = await measure(job.command, job.args, ROOT, { ...process.env, CI: "" });
            samples.push(m);
            console.error(`${job.label} run ${i}/${runs}: ${m.wallSeconds.toFixed(2)} s, ${m.peakMemoryMb.toFixed(0)} MB`);
        }
        const walls = samples.map((x) => x.wallSeconds);
        results.set(job.label, { wall: median(walls), min: Math.min(...walls), max: Math.max(...walls), mem: median(samples.map((x) => x.peakMemoryMb)) });
    }
    if (results.size > 0) {
        const floor = [...results.entries()].find(([label]) => label.startsWith("floor"))?.[1];
        const row = (job: Job): string | undefined => {
            const r = results.get(job.label);
            if (!r) return undefined;
            let target = "-";
            let ratio = "-";
            if (job.key === "plan" && floor) {
                const x = r.wall / floor.wall;
                ratio = `${x.toFixed(2)}x`;
                const met = x <= TARGETS.planRatioToFloor && r.mem <= TARGETS.planPeakMemoryMb;
                target = `≤ ${TARGETS.planRatioToFloor}x the floor, ≤ ${TARGETS.planPeakMemoryMb} MB: ${met ? "met" : "MISSED"}`;
            } else if (job.key === "test") {
                const met = r.wall <= TARGETS.testWallSeconds && r.mem <= TARGETS.testPeakMemoryMb;
                target = `≤ ${TARGETS.testWallSeconds} s, ≤ ${TARGETS.testPeakMemoryMb / 1024} GB: ${met ? "met" : "MISSED"}`;
            } else if (job.key === "floor") {
                target = "(what the plans are compared with)";
            }
            return `| ${job.label} | ${r.wall.toFixed(2)} s | ${r.min.toFixed(2)}–${r.max.toFixed(2)} s | ${ratio} | ${r.mem.toFixed(0)} MB | ${target} |`;
        };
        // Rows of commands this run did not measure keep their last figures.
        const previous = previousRows(fs.existsSync(BENCHMARKS) ? fs.readFileSync(BENCHMARKS, "utf8") : "");
        const rows = jobs.map((j) => row(j) ?? previous.get(j.label)).filter((r): r is string => r !== undefined);
        const body = [
            `Median of ${runs} runs on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg()[0].toFixed(1)} when it ended.`,
            "Peak memory: the largest total RSS of the command's process tree, sampled every 50 ms. The floor is measured in the same run as the plans.",
            "",
            "| command | median wall time | range | ratio to the floor | median peak memory | target |",
            "|---|---|---|---|---|---|",
            ...rows,
        ].join("\n");
        writeSection(BENCHMARKS, "Offline plan and test suite", body);
        console.log(body);
    }
    const runbooks = path.join(ROOT, "bench", "runbooks.ts");
    if ((!only || only === "runbooks") && fs.existsSync(runbooks)) {
        const r = spawnSync(process.execPath, ["-r", "./offline/register.js", runbooks], { cwd: ROOT, stdio: "inherit" });
        if (r.status !== 0) process.exit(r.status ?? 1);
    }
    // The whole recovery path from S3 (plan's commands against restore-dump): --scale N, --rounds N.
    const restore = path.join(ROOT, "bench", "restore-s3.ts");
    if (!only || only === "restore") {
        const pass = ["--scale", "--rounds", "--jobs"].flatMap((f) => (args.includes(f) ? [f, args[args.indexOf(f) + 1]] : []));
        const r = spawnSync(process.execPath, ["-r", "./offline/register.js", restore, ...pass], { cwd: ROOT, stdio: "inherit" });
        if (r.status !== 0) process.exit(r.status ?? 1);
    }
}

/** The table rows of the current "Offline plan and test suite" section, by their command label. */
function previousRows(text: string): Map<string, string> {
    const start = text.indexOf("## Offline plan and test suite\n");
    if (start < 0) return new Map();
    const next = text.indexOf("\n## ", start + 10);
    const section = text.slice(start, next < 0 ? undefined : next);
    return new Map(section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| command") && !l.startsWith("|---")).map((l) => [l.split(" | ")[0].slice(2), l]));
}

main().catch((err) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
});
