/**
 * `pulumi policy publish` packs `policies/` alone. The pack must therefore be self-contained: nothing
 * in it imports from outside its folder, and every package it imports is declared in its own
 * package.json. Proved here on the real artefact: `npm pack` of the folder, unpacked into a temporary
 * directory (outside the repository, so nothing resolves through the project's files), its
 * dependencies linked from `policies/node_modules` (offline), and its rules loaded from the unpacked
 * copy and run over an evaluated stack.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import { runRules as repoRunRules } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { stack } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const POLICIES = path.join(__dirname, "..", "policies");

/** Every module specifier a TypeScript file imports (static, type-only, dynamic and require). */
function specifiers(source: string): string[] {
    const found = new Set<string>();
    for (const re of [/\bfrom\s+["']([^"']+)["']/g, /\bimport\s+["']([^"']+)["']/g, /\brequire\(\s*["']([^"']+)["']\s*\)/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g]) {
        for (const m of source.matchAll(re)) found.add(m[1]);
    }
    return [...found];
}
const packageOf = (specifier: string) => (specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]);

describe("the policy pack as `pulumi policy publish` ships it (npm pack of policies/)", function () {
    let dir: string;
    let pack: string;

    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-policy-pack-"));
        const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: POLICIES, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const tarball = path.join(dir, JSON.parse(out)[0].filename);
        execFileSync("tar", ["-xzf", tarball, "-C", dir]);
        pack = path.join(dir, "package");
        // The pack's own dependencies, installed from its package.json (offline: linked, not downloaded).
        fs.symlinkSync(path.join(POLICIES, "node_modules"), path.join(pack, "node_modules"), "dir");
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const packFiles = () =>
        (fs.readdirSync(pack, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts") && !f.startsWith("node_modules") && !f.endsWith(".d.ts"));

    it("holds the entry, the rules, the plan's numbers and the schedule reader", () => {
        const files = packFiles();
        for (const f of ["index.ts", "rules/index.ts", "dr-plan.ts", "schedule.ts", "config.ts"]) expect(files, f).to.include(f);
        expect(fs.existsSync(path.join(pack, "PulumiPolicy.yaml"))).to.equal(true);
    });

    it("imports nothing from outside its folder, type-only imports included", () => {
        for (const file of packFiles()) {
            const source = fs.readFileSync(path.join(pack, file), "utf8");
            for (const spec of specifiers(source).filter((s) => s.startsWith("."))) {
                const target = path.resolve(path.dirname(path.join(pack, file)), spec);
                expect(target.startsWith(pack + path.sep), `${file} imports ${spec}, outside the pack`).to.equal(true);
            }
        }
    });

    it("declares in its package.json every package it imports", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8"));
        const declared = new Set(Object.keys({ ...manifest.dependencies }));
        const builtins = new Set(builtinModules);
        for (const file of packFiles()) {
            const source = fs.readFileSync(path.join(pack, file), "utf8");
            for (const spec of specifiers(source).filter((s) => !s.startsWith("."))) {
                const name = packageOf(spec.replace(/^node:/, ""));
                if (builtins.has(name)) continue;
                expect(declared.has(name), `${file} imports ${spec}: declare ${name} in policies/package.json`).to.equal(true);
            }
        }
        // The same versions as the project's (one @pulumi/policy behaviour, the one the harness reproduces).
        const root = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
        expect(manifest.dependencies["@pulumi/policy"]).to.equal(root.devDependencies["@pulumi/policy"]);
        expect(manifest.dependencies["@pulumi/pulumi"]).to.equal(root.dependencies["@pulumi/pulumi"]);
    });

    it("loads its rules from the unpacked copy and finds what the repository's pack finds over an evaluated stack", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const unpackedRules = require(path.join(pack, "rules")).ALL_RULES as typeof ALL_RULES;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const unpackedHarness = require(path.join(pack, "harness")) as typeof import("../policies/harness");
        // Loaded from the copy, not from the repository (no module is shared).
        expect(require.resolve(path.join(pack, "rules"))).to.match(new RegExp(`^${dir}`));
        expect(unpackedRules).to.not.equal(ALL_RULES);
        expect(unpackedRules.map((r) => r.name)).to.deep.equal(ALL_RULES.map((r) => r.name));

        const ev = await stack("production");
        const fromCopy = await unpackedHarness.runRules(unpackedRules, ev);
        const fromRepo = await repoRunRules(ALL_RULES, ev);
        expect(fromCopy.errors).to.deep.equal([]);
        expect(fromCopy.violations).to.deep.equal(fromRepo.violations);
        // And the copy still refuses what the plan forbids: a 24-hourly backup plan.
        const plan = { type: AWS_TYPES.backupPlan, name: "plan", props: { rules: [{ ruleName: "daily", schedule: "cron(0 5 * * ? *)", lifecycle: { deleteAfter: 35 } }] } };
        const frequency = unpackedRules.find((r) => r.name === "backup-plan-frequency")!;
        const result = await unpackedHarness.runResourceRule(frequency, plan);
        expect(result.violations.map((v) => v.enforcementLevel)).to.include("mandatory");
    });
});
