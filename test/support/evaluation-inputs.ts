/**
 * Prints (JSON) every file a fresh process loads, reads, lists or looks for while it evaluates the
 * production stack, for test/evaluation-cache.test.ts: run alone, so no other test's modules count.
 */
import * as path from "path";

// Node's own fs module (an `import * as fs` is a copy whose members read it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require("fs");
const touched: string[] = [];
for (const name of ["readFileSync", "readdirSync", "existsSync", "statSync", "lstatSync", "openSync"]) {
    const original = nodeFs[name];
    nodeFs[name] = function (this: unknown, file: unknown, ...rest: unknown[]) {
        if (typeof file === "string") touched.push(path.resolve(file));
        return original.call(this, file, ...rest);
    };
}

(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { evaluateStack } = require("../../offline/mock-runtime") as typeof import("../../offline/mock-runtime");
    await evaluateStack("production");
    process.stdout.write(JSON.stringify([...new Set([...Object.keys(require.cache), ...touched])]));
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
