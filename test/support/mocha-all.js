// `npm test`'s mocha config (issue 17): every test file, in parallel worker processes, the slowest first.
// `npx mocha test/x.test.ts` still uses .mocharc.json (one process, in order).
//
// Workers: one per core (at most 4: each worker that evaluates the stacks holds a few hundred MB),
// or GENIE_TEST_JOBS. Mocha's pool starts the files in the order given, so the files measured slowest
// (each file alone: `npx mocha <file>`) start first and the short ones fill in behind them; without
// that, one long file started last would set the wall time alone.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const base = require("../../.mocharc.json");

const ROOT = path.join(__dirname, "..", "..");

/** Measured slowest first (seconds alone, 2 cores, 2026-12-01); the rest follow in name order. */
const SLOWEST_FIRST = [
    "test/runbooks/restore-safety.test.ts", // 118 s: real PostgreSQL and moto, ~50 AWS CLI calls
    "test/runbooks/dump-restore.test.ts", // 29 s
    "test/runbooks/restore-speed.test.ts", // 28 s
    "test/policy-mutations.test.ts", // 28 s: the pack over 171 mutated stacks, twice
    "test/status-page.test.ts", // 14 s
    "test/runbooks/rds.test.ts", // 13 s
    "test/serving.test.ts", // 12 s
    "test/runbooks/redis.test.ts", // 11 s
    "test/monitoring.test.ts", // 10 s
    "test/plan.test.ts", // 9 s
    "test/status-page-browser.test.ts", // 8 s
];

function testFiles(dir) {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return testFiles(rel);
        return e.name.endsWith(".test.ts") ? [rel] : [];
    });
}

const all = testFiles("test").sort();
const stale = SLOWEST_FIRST.filter((f) => !all.includes(f));
if (stale.length > 0) throw new Error(`test/support/mocha-all.js: SLOWEST_FIRST names files that do not exist: ${stale.join(", ")}`);

const fromEnv = process.env.GENIE_TEST_JOBS;
if (fromEnv !== undefined && !/^[1-9][0-9]*$/.test(fromEnv)) throw new Error(`GENIE_TEST_JOBS must be a positive whole number of workers, got '${fromEnv}'`);
const jobs = fromEnv ? Number(fromEnv) : Math.min(4, Math.max(1, (os.availableParallelism ?? (() => os.cpus().length))()));

module.exports = {
    ...base,
    spec: [...SLOWEST_FIRST, ...all.filter((f) => !SLOWEST_FIRST.includes(f))],
    parallel: jobs > 1,
    jobs,
};
