/**
 * The referenced stack's evaluation, kept on disk between runs (issue 17). A DR site's evaluation first
 * evaluates the production stack, to answer its StackReference and to show the AWS rules what already
 * exists in the account: a third of `npm run plan -- dr`. That evaluation depends only on the program's
 * sources and the files it reads, the project and stack files, the installed packages and Node itself,
 * so it is kept in node_modules/.cache/genie-eval under a hash of all of them ({@link evaluationKey}),
 * and read back only when every one of them is byte for byte the same.
 *
 * Only a successful evaluation with the stack file's own config is kept (a failed one throws as
 * before). `GENIE_EVAL_CACHE=0` evaluates every time; `rm -rf node_modules/.cache/genie-eval` empties
 * it. Not covered: a package edited in place under node_modules without npm (npm rewrites
 * node_modules/.package-lock.json, which is in the key).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { StackEvaluation } from "./mock-runtime";

/** Bump when what is stored changes shape. */
const FORMAT = 1;

/** What an evaluation reads: the program and everything it loads or reads at run time. */
export const EVALUATION_INPUTS = {
    dirs: ["infra", "components", "offline", "policies", "functions", "scripts"],
    /** Never inputs: installed packages are covered by the lockfiles below. */
    skipDirs: ["node_modules"],
    files: ["Pulumi.yaml", "package-lock.json", "node_modules/.package-lock.json"],
};

function filesUnder(root: string, dir: string, out: string[]): void {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
        return; // absent: hashed as absent
    }
    for (const e of entries) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) {
            if (!EVALUATION_INPUTS.skipDirs.includes(e.name)) filesUnder(root, rel, out);
        } else if (e.isFile()) out.push(rel);
    }
}

/** The hash of every input of evaluating `stack` with its stack file's config, under `root`. */
export function evaluationKey(root: string, stack: string): string {
    const files: string[] = [...EVALUATION_INPUTS.files, `Pulumi.${stack}.yaml`];
    for (const dir of EVALUATION_INPUTS.dirs) filesUnder(root, dir, files);
    const hash = crypto.createHash("sha256").update(`genie-eval ${FORMAT}\0${process.version}\0${stack}\0`);
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

/** GENIE_EVAL_CACHE_DIR puts it elsewhere (the tests use their own). */
const cacheFile = (root: string, key: string) => path.join(process.env.GENIE_EVAL_CACHE_DIR || path.join(root, "node_modules", ".cache", "genie-eval"), `${key}.json`);

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

/** Keeps an evaluation (atomically: a parallel reader never sees half a file); a read-only tree keeps nothing. */
export function writeEvaluation(root: string, key: string, evaluation: StackEvaluation): void {
    const file = cacheFile(root, key);
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const partial = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(partial, JSON.stringify(evaluation));
        fs.renameSync(partial, file);
    } catch {
        // not kept: the next run evaluates again
    }
}
