/**
 * How every offline entry (the plan, the policy check, the bench, mocha) loads the project's TypeScript,
 * fast (issue 17: the plan against the floor of loading the SDK):
 * - esbuild transpiles each file as it is required (types are checked once, by `tsc --noEmit` in
 *   `npm test`), and the output is kept in node_modules/.cache/genie-ts by a hash of the esbuild version,
 *   the options, this file, the file's path and its text: a file is transpiled once until it changes
 *   (the cache is never pruned: `rm -rf node_modules/.cache/genie-ts` empties it);
 * - the TypeScript compiler that @pulumi/pulumi's runtime requires when it loads (for closure
 *   serialization, which nothing here uses) is loaded only if something touches it.
 * Source maps are inline, so stack traces name the .ts lines (unless GENIE_SOURCE_MAPS=0).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
// esbuild is loaded on the first cache miss only (a warm start transpiles nothing).
let esbuild;
const loadEsbuild = () => (esbuild ??= require("esbuild"));

const ROOT = path.join(__dirname, "..");

// @pulumi/pulumi/runtime/closure/parseFunction.js requires its TypeScript shim when the runtime loads;
// a proxy in its place loads the real compiler on first use instead.
const shim = require.resolve("@pulumi/pulumi/typescript-shim", { paths: [ROOT] });
let typescript;
const loadTypescript = () => (typescript ??= require("typescript"));
const lazy = new Module(shim, module);
lazy.filename = shim;
lazy.loaded = true;
lazy.exports = new Proxy(
    {},
    {
        get: (_target, key) => loadTypescript()[key],
        has: (_target, key) => key in loadTypescript(),
        ownKeys: () => Reflect.ownKeys(loadTypescript()),
        // Reported configurable: the proxy's own (empty) target has none of these, and a proxy may not
        // report a property the target lacks as non-configurable (Object.keys and spreads would throw).
        getOwnPropertyDescriptor: (_target, key) => {
            const descriptor = Object.getOwnPropertyDescriptor(loadTypescript(), key);
            return descriptor && { ...descriptor, configurable: true };
        },
    },
);
require.cache[shim] = lazy;

// The tsconfig's emit semantics that matter at run time (target ES2022: class fields are defined).
const TRANSFORM = {
    loader: "ts",
    format: "cjs",
    target: "node20",
    sourcemap: "inline",
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    // `await import("./x")` becomes a require, as tsc's CommonJS output does (Node's own import() would
    // bypass this hook and find no .ts loader).
    supported: { "dynamic-import": false },
};
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "genie-ts");

// What else decides the output: the esbuild version, the options above and this file itself.
const ESBUILD_VERSION = require("esbuild/package.json").version;
const COMPILER = crypto.createHash("sha256").update(`${ESBUILD_VERSION}\0${JSON.stringify(TRANSFORM)}\0${fs.readFileSync(__filename, "utf8")}`).digest("hex");

function transpile(source, filename) {
    const key = crypto.createHash("sha256").update(`${COMPILER}\0${filename}\0${source}`).digest("hex");
    const cached = path.join(CACHE_DIR, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        // not cached yet
    }
    const { code } = loadEsbuild().transformSync(source, { ...TRANSFORM, sourcefile: filename });
    try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        const partial = `${cached}.${process.pid}.tmp`;
        try {
            fs.writeFileSync(partial, code);
            fs.renameSync(partial, cached); // atomic: parallel processes never read half a file
        } catch (e) {
            fs.rmSync(partial, { force: true });
            throw e;
        }
    } catch {
        // a read-only tree or a full disk still runs, uncached
    }
    return code;
}

/**
 * The sha256 of every source this process runs, by file (this file and each .ts it compiled): what
 * offline/evaluation-cache.ts compares with the files on disk, so that a process whose code was loaded
 * before a file changed never keeps or reads an evaluation under the changed files' key.
 */
const loadedSources = new Map();
const sha256 = (text) => crypto.createHash("sha256").update(text).digest("hex");
loadedSources.set(__filename, sha256(fs.readFileSync(__filename, "utf8")));

Module._extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    loadedSources.set(filename, sha256(source));
    module._compile(transpile(source, filename), filename);
};
module.exports = { loadedSources };
// Stack traces name the .ts lines; the offline plan, whose errors are messages, not traces, turns
// this off (GENIE_SOURCE_MAPS=0: Node then skips indexing every file's map as it loads, ~0.1 s).
if (process.env.GENIE_SOURCE_MAPS !== "0") process.setSourceMapsEnabled(true);
