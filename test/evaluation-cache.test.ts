/**
 * The referenced stack's evaluation kept on disk (offline/evaluation-cache.ts): it is read back only
 * when no input changed, and a dr plan is the same with it, without it, and while it is written.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EVALUATION_INPUTS, evaluationKey, readEvaluation, writeEvaluation } from "../offline/evaluation-cache";
import { evaluateStack, PROJECT_DIR, StackEvaluation } from "../offline/mock-runtime";

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `genie-${prefix}-`));

function write(root: string, rel: string, text: string): void {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
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
    it("keys on every input: a changed, added or removed source, the stack's own file, the lockfiles and the project file; nothing else", () => {
        const root = tmp("evalkey");
        const inputs = [
            ...EVALUATION_INPUTS.dirs.map((d) => `${d}/a/x.ts`),
            ...EVALUATION_INPUTS.files,
            "Pulumi.production.yaml",
        ];
        for (const f of inputs) write(root, f, `content of ${f}`);
        for (const f of ["docs/x.md", "test/y.test.ts", "Pulumi.dr.yaml", "policies/node_modules/p/index.js", "README.md"]) write(root, f, "not an input");
        const base = evaluationKey(root, "production");
        expect(evaluationKey(root, "production"), "stable").to.equal(base);
        expect(evaluationKey(root, "dr"), "per stack").to.not.equal(base);
        for (const f of inputs) {
            write(root, f, `changed ${f}`);
            expect(evaluationKey(root, "production"), `${f} changed`).to.not.equal(base);
            write(root, f, `content of ${f}`);
        }
        for (const d of EVALUATION_INPUTS.dirs) {
            write(root, `${d}/new.ts`, "added");
            expect(evaluationKey(root, "production"), `a file added under ${d}/`).to.not.equal(base);
            fs.rmSync(path.join(root, `${d}/new.ts`));
        }
        fs.rmSync(path.join(root, "functions/a/x.ts"));
        expect(evaluationKey(root, "production"), "a file removed").to.not.equal(base);
        write(root, "functions/a/x.ts", "content of functions/a/x.ts");
        expect(evaluationKey(root, "production")).to.equal(base);
        for (const f of ["docs/x.md", "test/y.test.ts", "Pulumi.dr.yaml", "policies/node_modules/p/index.js", "README.md"]) write(root, f, "changed, still not an input");
        expect(evaluationKey(root, "production"), "files that are not inputs").to.equal(base);
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("its inputs cover every project file an evaluation loads or reads", async () => {
        // Node's own fs module (an `import * as fs` is a copy whose members read it): what the program reads.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const nodeFs: typeof fs = require("fs");
        const read: string[] = [];
        const readFileSync = nodeFs.readFileSync;
        (nodeFs as any).readFileSync = function (this: unknown, file: fs.PathOrFileDescriptor, ...rest: unknown[]) {
            if (typeof file === "string") read.push(path.resolve(file));
            return (readFileSync as any).call(this, file, ...rest);
        };
        try {
            await evaluateStack("production");
        } finally {
            (nodeFs as any).readFileSync = readFileSync;
        }
        const project = (files: string[]) =>
            files
                .filter((f) => f.startsWith(PROJECT_DIR + path.sep))
                .map((f) => path.relative(PROJECT_DIR, f))
                .filter((f) => !f.split(path.sep).includes("node_modules") && !f.startsWith(`test${path.sep}`));
        const loaded = project([...Object.keys(require.cache), ...read]);
        expect(loaded.some((f) => f.startsWith("scripts")), "the evaluation reads the runbook scripts (sanity)").to.equal(true);
        const covered = (f: string) =>
            EVALUATION_INPUTS.files.includes(f) || /^Pulumi\.[^/]+\.yaml$/.test(f) || EVALUATION_INPUTS.dirs.some((d) => f.startsWith(`${d}${path.sep}`));
        expect(loaded.filter((f) => !covered(f)), "project files an evaluation uses that the cache key leaves out").to.deep.equal([]);
    });

    it("reads back only a whole evaluation of the same stack", () => {
        const root = tmp("evalread");
        const dir = tmp("evalcache");
        const previous = process.env.GENIE_EVAL_CACHE_DIR;
        process.env.GENIE_EVAL_CACHE_DIR = dir;
        try {
            const ev = { project: "genie-infra", stack: "production", config: {}, resources: [], invokes: [], outputs: { a: "b" } } as StackEvaluation;
            writeEvaluation(root, "k1", ev);
            expect(readEvaluation(root, "production", "k1")).to.deep.equal(ev);
            expect(readEvaluation(root, "dr", "k1"), "another stack's").to.equal(undefined);
            expect(readEvaluation(root, "production", "k2"), "none").to.equal(undefined);
            fs.writeFileSync(path.join(dir, "k3.json"), '{"stack": "production", "resources": [');
            expect(readEvaluation(root, "production", "k3"), "half a file").to.equal(undefined);
            expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")), "no partial files left").to.deep.equal([]);
        } finally {
            if (previous === undefined) delete process.env.GENIE_EVAL_CACHE_DIR;
            else process.env.GENIE_EVAL_CACHE_DIR = previous;
            fs.rmSync(root, { recursive: true, force: true });
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("gives the same dr plan without it, when it writes it and when it reads it; and it is really read", function () {
        this.timeout(120_000);
        const dir = tmp("evalcache");
        const out = tmp("evalplan");
        const off = drPlan(undefined, path.join(out, "off.json"));
        const cold = drPlan(dir, path.join(out, "cold.json"));
        const kept = fs.readdirSync(dir);
        expect(kept, "the production evaluation is kept").to.have.length(1);
        const warm = drPlan(dir, path.join(out, "warm.json"));
        expect(cold.json).to.equal(off.json);
        expect(warm.json).to.equal(off.json);
        expect(cold.text).to.equal(off.text);
        expect(warm.text).to.equal(off.text);
        // Read back: an output changed in the kept file reaches the dr stack through its StackReference.
        const file = path.join(dir, kept[0]);
        const ev = JSON.parse(fs.readFileSync(file, "utf8"));
        expect(ev.outputs.databaseArn).to.match(/^arn:aws:rds:/);
        expect(off.json, "the dr plan names the production database (its replica's source)").to.include(ev.outputs.databaseArn);
        ev.outputs.databaseArn = ev.outputs.databaseArn.replace(":db:", ":db:TAMPERED-");
        fs.writeFileSync(file, JSON.stringify(ev));
        expect(drPlan(dir, path.join(out, "tampered.json")).json, "the kept databaseArn is what the dr plan used").to.include(ev.outputs.databaseArn);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(out, { recursive: true, force: true });
    });
});
