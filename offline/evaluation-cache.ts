/**
 * The referenced stack's evaluation, kept on disk between runs (issue 17). A DR site's evaluation first
 * evaluates the production stack, to answer its StackReference and to show the AWS rules what already
 * exists in the account: a third of `npm run plan -- dr`. That evaluation depends only on the program's
 * sources and the files it reads, the project and stack files, the installed packages and Node itself,
 * so it is kept in node_modules/.cache/genie-eval under a hash of all of them ({@link evaluationKey}),
 * and read back only when every one of them is byte for byte the same.
 *
 * It is neither read nor kept (the stack is evaluated, as without it):
 * - when the process runs code that differs from the files on disk (a file changed after it was
 *   loaded: a long test run while someone edits), checked against what offline/register.js compiled;
 * - when an input changed during the evaluation, or an input directory holds a symlink (its target
 *   could change without the key);
 * - with `GENIE_EVAL_CACHE=0`.
 * Only a successful evaluation with the stack file's own config is kept; the newest {@link KEEP} are
 * kept (`GENIE_EVAL_CACHE_DIR` puts them elsewhere). Not covered: a package edited in place under
 * node_modules without npm (npm rewrites node_modules/.package-lock.json, which is in the key).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { StackEvaluation } from "./mock-runtime";

/** Bump when what is stored changes shape. */
const FORMAT = 1;
/** Evaluations kept (each ~0.7 MB): one per state of the sources, the newest first. */
const KEEP = 8;

/** What an evaluation reads: the program and everything it loads or reads at run time. */
export const EVALUATION_INPUTS = {
    dirs: ["infra", "components", "offline", "policies", "functions", "scripts"],
    /** Never inputs: installed packages are covered by the lockfiles below. */
    skipDirs: ["node_modules"],
    files: ["Pulumi.yaml", "package-lock.json", "node_modules/.package-lock.json"],
};

const sha256 = (text: string | Buffer) => crypto.createHash("sha256").update(text).digest("hex");

/** Files under `dir`; false when it holds a symlink. */
function filesUnder(root: string, dir: string, out: string[]): boolean {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
        return true; // absent: hashed as absent
    }
    for (const e of entries) {
        const rel = `${dir}/${e.name}`;
        if (e.isSymbolicLink()) return false;
        if (e.isDirectory()) {
            if (!EVALUATION_INPUTS.skipDirs.includes(e.name) && !filesUnder(root, rel, out)) return false;
        } else if (e.isFile()) out.push(rel);
    }
    return true;
}

/**
 * The hash of every input of evaluating `stack` with its stack file's config, under `root`; undefined
 * when an input directory holds a symlink (not cacheable).
 */
export function evaluationKey(root: string, stack: string, nodeVersion = process.version): string | undefined {
    const files: string[] = [...EVALUATION_INPUTS.files, `Pulumi.${stack}.yaml`];
    for (const dir of EVALUATION_INPUTS.dirs) if (!filesUnder(root, dir, files)) return undefined;
    const hash = crypto.createHash("sha256").update(`genie-eval ${FORMAT}\0${nodeVersion}\0${stack}\0`);
    for (const rel of files.sort()) {
        let content: Buffer | string;
        try {
            content = fs.readFileSync(path.join(root, rel));
        } catch {
            content = "\0absent";
        }
        hash.update(`${rel}\0${content.length}\0`).update(content);
    }
    return hash.digest("hex");
}

/**
 * True when every source this process compiled under `root` (offline/register.js's record) is still
 * what is on disk. False when the process did not load its TypeScript through offline/register.js
 * (nothing to compare with).
 */
export function processRunsFilesOnDisk(root: string): boolean {
    const register = require.cache[path.join(root, "offline", "register.js")];
    const loaded: unknown = register?.exports?.loadedSources;
    if (!(loaded instanceof Map)) return false;
    for (const [file, hash] of loaded as Map<string, string>) {
        if (!file.startsWith(root + path.sep) || file.split(path.sep).includes("node_modules")) continue;
        try {
            if (sha256(fs.readFileSync(file, "utf8")) !== hash) return false;
        } catch {
            return false;
        }
    }
    return true;
}

const cacheDir = (root: string) => process.env.GENIE_EVAL_CACHE_DIR || path.join(root, "node_modules", ".cache", "genie-eval");
const cacheFile = (root: string, key: string) => path.join(cacheDir(root), `${key}.json`);

export const evaluationCacheEnabled = () => process.env.GENIE_EVAL_CACHE !== "0";

/** The kept evaluation, or undefined (none, unreadable or not one of `stack`: then evaluate). */
export function readEvaluation(root: string, stack: string, key: string): StackEvaluation | undefined {
    try {
        const ev = JSON.parse(fs.readFileSync(cacheFile(root, key), "utf8")) as StackEvaluation;
        return ev.stack === stack && Array.isArray(ev.resources) && ev.outputs !== null && typeof ev.outputs === "object" ? ev : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Keeps an evaluation (atomically: a parallel reader never sees half a file) and drops all but the
 * newest {@link KEEP}; a read-only tree or a full disk keeps nothing and leaves no partial file.
 */
export function writeEvaluation(root: string, key: string, evaluation: StackEvaluation): void {
    const file = cacheFile(root, key);
    const partial = `${file}.${process.pid}.tmp`;
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(partial, JSON.stringify(evaluation));
        fs.renameSync(partial, file);
    } catch {
        fs.rmSync(partial, { force: true });
        return; // not kept: the next run evaluates again
    }
    try {
        const dir = path.dirname(file);
        const kept = fs
            .readdirSync(dir)
            .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
            .map((f) => ({ f, at: fs.statSync(path.join(dir, f)).mtimeMs }))
            .sort((a, b) => b.at - a.at);
        for (const { f } of kept.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
    } catch {
        // pruning is best effort (another process may prune at the same time)
    }
}

/**
 * The evaluation of `stack`: kept from an earlier run when nothing it depends on changed, else
 * `evaluate()`d and kept. Always as the cache gives it back (plain JSON data), so a first run and a
 * cached run see the same thing.
 */
export async function cachedEvaluation(root: string, stack: string, evaluate: () => Promise<StackEvaluation>): Promise<StackEvaluation> {
    const key = evaluationCacheEnabled() && processRunsFilesOnDisk(root) ? evaluationKey(root, stack) : undefined;
    const kept = key ? readEvaluation(root, stack, key) : undefined;
    if (kept) return kept;
    const fresh = await evaluate();
    // Kept only if the inputs did not change meanwhile and the code that ran is still on disk.
    if (key && evaluationKey(root, stack) === key && processRunsFilesOnDisk(root)) writeEvaluation(root, key, fresh);
    return JSON.parse(JSON.stringify(fresh)) as StackEvaluation;
}
