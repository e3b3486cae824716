/**
 * The referenced stack's evaluation kept on disk (offline/evaluation-cache.ts): it is read back only
 * when no input changed and the process runs the code on disk, and a dr plan is the same with it,
 * without it, and while it is written.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cachedEvaluation, evaluationKey, processRunsFilesOnDisk, readEvaluation, writeEvaluation } from "../offline/evaluation-cache";
import { PROJECT_DIR, StackEvaluation } from "../offline/mock-runtime";

/** What the key must cover, written out here (not read from the module), so that dropping one fails. */
const INPUT_DIRS = ["infra", "components", "offline", "policies", "functions", "scripts"];
const INPUT_FILES = ["Pulumi.yaml", "Pulumi.production.yaml", "package-lock.json", "node_modules/.package-lock.json"];
const NOT_INPUTS = ["docs/x.md", "test/y.test.ts", "Pulumi.dr.yaml", "policies/node_modules/p/index.js", "README.md", "bench/z.ts"];

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `genie-${prefix}-`));
function write(root: string, rel: string, text: string): void {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
}
const evaluationOf = (stack: string, outputs: Record<string, unknown> = {}): StackEvaluation => ({ project: "genie-infra", stack, config: {}, resources: [], invokes: [], outputs });

/** Runs `body` with env variables set, then puts them back. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T> | T): Promise<T> {
    const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    try {
        return await body();
    } finally {
        for (const [k, v] of Object.entries(before)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

/** The dr plan as a user runs it, with the evaluation cache in `cacheDir` (or off). */
function drPlan(cacheDir: string | undefined, out: string, ...args: string[]) {
    const env: NodeJS.ProcessEnv = { ...process.env, GENIE_SOURCE_MAPS: "0" };
    if (cacheDir) env.GENIE_EVAL_CACHE_DIR = cacheDir;
    else env.GENIE_EVAL_CACHE = "0";
    const r = spawnSync(process.execPath, ["-r", "./offline/register.js", "offline/cli.ts", "dr", "--json", out, ...args], { cwd: PROJECT_DIR, encoding: "utf8", env });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    return { json: fs.readFileSync(out, "utf8"), text: r.stdout.replace(/^Wrote .*\n\(\d+(\.\d+)? s\)\n?/m, "") };
}

describe("the referenced stack's evaluation cache", () => {
    const cleanup: string[] = [];
    after(() => cleanup.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const dir = (prefix: string) => {
        const d = tmp(prefix);
        cleanup.push(d);
        return d;
    };

    it("keys on every input, byte for byte (a same-length edit, an added or removed file), on the stack and on Node; nothing else", () => {
        const root = dir("evalkey");
        const inputs = [...INPUT_DIRS.map((d) => `${d}/a/x.ts`), ...INPUT_FILES];
        for (const f of inputs) write(root, f, `content of ${f}`);
        for (const f of NOT_INPUTS) write(root, f, "not an input");
        const base = evaluationKey(root, "production")!;
        expect(base).to.match(/^[0-9a-f]{64}$/);
        expect(evaluationKey(root, "production"), "stable").to.equal(base);
        expect(evaluationKey(root, "dr"), "per stack").to.not.equal(base);
        expect(evaluationKey(root, "production", "v99.0.0"), "per Node version").to.not.equal(base);
        for (const f of inputs) {
            write(root, f, `Content of ${f}`); // one byte, same length
            expect(evaluationKey(root, "production"), `${f} changed`).to.not.equal(base);
            write(root, f, `content of ${f}`);
        }
        for (const d of INPUT_DIRS) {
            write(root, `${d}/new.ts`, "added");
            expect(evaluationKey(root, "production"), `a file added under ${d}/`).to.not.equal(base);
            fs.rmSync(path.join(root, `${d}/new.ts`));
        }
        fs.rmSync(path.join(root, "functions/a/x.ts"));
        expect(evaluationKey(root, "production"), "a file removed").to.not.equal(base);
        write(root, "functions/a/x.ts", "content of functions/a/x.ts");
        expect(evaluationKey(root, "production")).to.equal(base);
        for (const f of NOT_INPUTS) write(root, f, "changed, still not an input");
        expect(evaluationKey(root, "production"), "files that are not inputs").to.equal(base);
        // A symlink's target could change without the key: such a tree is not cacheable.
        fs.symlinkSync(path.join(root, "docs/x.md"), path.join(root, "scripts/a/link.sh"));
        expect(evaluationKey(root, "production")).to.equal(undefined);
    });

    it("its inputs cover every project file an evaluation loads, reads, lists or looks for", function () {
        this.timeout(60_000);
        // A process of its own (test/support/evaluation-inputs.ts): only what evaluating production touches.
        const r = spawnSync(process.execPath, ["-r", "./offline/register.js", "test/support/evaluation-inputs.ts"], { cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, GENIE_EVAL_CACHE: "0" } });
        expect(r.status, r.stderr).to.equal(0);
        const project = (JSON.parse(r.stdout) as string[])
            .filter((f) => f.startsWith(PROJECT_DIR + path.sep))
            .map((f) => path.relative(PROJECT_DIR, f))
            .filter((f) => !f.split(path.sep).includes("node_modules") && !f.startsWith(`test${path.sep}`));
        expect(project.some((f) => f.startsWith("scripts")), "the evaluation reads the runbook scripts (sanity)").to.equal(true);
        expect(project.some((f) => f.startsWith("components")), "the evaluation loads the components (sanity)").to.equal(true);
        const covered = (f: string) => INPUT_FILES.includes(f) || /^Pulumi\.[^/]+\.yaml$/.test(f) || INPUT_DIRS.some((d) => f === d || f.startsWith(`${d}${path.sep}`));
        expect(project.filter((f) => !covered(f)), "project files an evaluation uses that the cache key leaves out").to.deep.equal([]);
    });

    it("reads back only a whole evaluation of the same stack; keeps the newest 8; leaves no partial file", async () => {
        const root = dir("evalread");
        const cache = dir("evalcache");
        await withEnv({ GENIE_EVAL_CACHE_DIR: cache }, () => {
            const ev = evaluationOf("production", { a: "b" });
            writeEvaluation(root, "a".repeat(64), ev);
            expect(readEvaluation(root, "production", "a".repeat(64))).to.deep.equal(ev);
            expect(readEvaluation(root, "dr", "a".repeat(64)), "another stack's").to.equal(undefined);
            expect(readEvaluation(root, "production", "b".repeat(64)), "none").to.equal(undefined);
            fs.writeFileSync(path.join(cache, `${"c".repeat(64)}.json`), '{"stack": "production", "resources": [');
            expect(readEvaluation(root, "production", "c".repeat(64)), "half a file").to.equal(undefined);
            // A write that fails (the target is a directory) leaves no partial file behind.
            fs.mkdirSync(path.join(cache, `${"d".repeat(64)}.json`));
            fs.writeFileSync(path.join(cache, `${"d".repeat(64)}.json`, "x"), "");
            writeEvaluation(root, "d".repeat(64), ev);
            expect(fs.readdirSync(cache).filter((f) => f.endsWith(".tmp")), "no partial files left").to.deep.equal([]);
        });
        const pruned = dir("evalcache");
        await withEnv({ GENIE_EVAL_CACHE_DIR: pruned }, () => {
            const ev = evaluationOf("production");
            const past = Date.now() / 1000 - 1000; // older than anything written now, in the order written
            for (let i = 0; i < 12; i++) {
                const key = i.toString(16).padStart(64, "0");
                writeEvaluation(root, key, ev);
                fs.utimesSync(path.join(pruned, `${key}.json`), past + i, past + i);
            }
            writeEvaluation(root, "e".repeat(64), ev);
            const left = fs.readdirSync(pruned).sort();
            expect(left).to.have.length(8);
            expect(left).to.include(`${"e".repeat(64)}.json`).and.include(`${(11).toString(16).padStart(64, "0")}.json`);
            expect(left).not.to.include(`${"0".repeat(64)}.json`);
        });
    });

    it("is neither read nor kept when the process runs code that is not what is on disk, or an input changes during the evaluation", async () => {
        // This process loaded its TypeScript through offline/register.js: its record matches the disk.
        expect(processRunsFilesOnDisk(PROJECT_DIR)).to.equal(true);
        const loaded: Map<string, string> = require.cache[path.join(PROJECT_DIR, "offline", "register.js")]!.exports.loadedSources;
        const file = path.join(PROJECT_DIR, "offline", "evaluation-cache.ts");
        const onDisk = loaded.get(file)!;
        const cache = dir("evalcache");
        let calls = 0;
        const evaluate = async () => (calls++, evaluationOf("production", { run: calls }));
        await withEnv({ GENIE_EVAL_CACHE_DIR: cache }, async () => {
            // Loaded before the file changed: evaluated every time, never kept.
            loaded.set(file, "an older version");
            try {
                expect(processRunsFilesOnDisk(PROJECT_DIR)).to.equal(false);
                await cachedEvaluation(PROJECT_DIR, "production", evaluate);
                expect(fs.readdirSync(cache), "nothing kept").to.deep.equal([]);
            } finally {
                loaded.set(file, onDisk);
            }
            // Loaded as on disk: kept under the key of the files, then read back without evaluating.
            const first = await cachedEvaluation(PROJECT_DIR, "production", evaluate);
            expect(fs.readdirSync(cache)).to.deep.equal([`${evaluationKey(PROJECT_DIR, "production")}.json`]);
            const again = await cachedEvaluation(PROJECT_DIR, "production", evaluate);
            expect(calls).to.equal(2);
            expect(again).to.deep.equal(first);
            await withEnv({ GENIE_EVAL_CACHE: "0" }, async () => {
                await cachedEvaluation(PROJECT_DIR, "production", evaluate);
                expect(calls, "GENIE_EVAL_CACHE=0 evaluates").to.equal(3);
            });
        });
        // An input that changes while the stack is evaluated: not kept (a root of its own, with a record that matches it).
        const root = dir("evalroot");
        for (const f of [...INPUT_DIRS.map((d) => `${d}/a/x.ts`), ...INPUT_FILES]) write(root, f, `content of ${f}`);
        const registerPath = path.join(root, "offline", "register.js");
        require.cache[registerPath] = { exports: { loadedSources: new Map() } } as unknown as NodeJS.Module;
        try {
            await withEnv({ GENIE_EVAL_CACHE_DIR: cache }, async () => {
                const before = fs.readdirSync(cache).length;
                await cachedEvaluation(root, "production", async () => {
                    write(root, "scripts/a/x.ts", "changed during the evaluation");
                    return evaluationOf("production");
                });
                expect(fs.readdirSync(cache).length, "nothing kept").to.equal(before);
                await cachedEvaluation(root, "production", async () => evaluationOf("production"));
                expect(fs.readdirSync(cache).length, "kept once nothing changed").to.equal(before + 1);
            });
        } finally {
            delete require.cache[registerPath];
        }
    });

    it("gives the same dr plan without it, when it writes it and when it reads it; and it is really read", function () {
        this.timeout(120_000);
        const cache = dir("evalcache");
        const out = dir("evalplan");
        const off = drPlan(undefined, path.join(out, "off.json"));
        const cold = drPlan(cache, path.join(out, "cold.json"));
        expect(fs.readdirSync(cache), "the production evaluation is kept under its key").to.deep.equal([`${evaluationKey(PROJECT_DIR, "production")}.json`]);
        const warm = drPlan(cache, path.join(out, "warm.json"));
        expect(cold.json).to.equal(off.json);
        expect(warm.json).to.equal(off.json);
        expect(cold.text).to.equal(off.text);
        expect(warm.text).to.equal(off.text);
        // Read back: an output changed in the kept file reaches the dr stack through its StackReference.
        const file = path.join(cache, fs.readdirSync(cache)[0]);
        const ev = JSON.parse(fs.readFileSync(file, "utf8"));
        expect(ev.outputs.databaseArn).to.match(/^arn:aws:rds:/);
        expect(off.json, "the dr plan names the production database (its replica's source)").to.include(ev.outputs.databaseArn);
        ev.outputs.databaseArn = ev.outputs.databaseArn.replace(":db:", ":db:TAMPERED-");
        fs.writeFileSync(file, JSON.stringify(ev));
        expect(drPlan(cache, path.join(out, "tampered.json")).json, "the kept databaseArn is what the dr plan used").to.include(ev.outputs.databaseArn);
    });
});
