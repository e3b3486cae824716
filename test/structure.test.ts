/**
 * Issue 18, structure: AWS type tokens are written in one place (policies/aws-types.ts) and every
 * resource type the program declares has its token there; a long source file says at its top why it is
 * long; the split components keep their public API.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as app from "../components/app-cluster";
import * as monitoring from "../components/monitoring";
import { AWS_TYPES, hasType, isOneOf, ofType, RULE_TYPES } from "../policies/aws-types";
import { T } from "../policies/rules/common";
import { stack, stackWith } from "./support/stacks";

const ROOT = path.join(__dirname, "..");
/** The project's own source folders (node_modules, docs and generated files are not source). */
const SOURCE_DIRS = ["automation", "bench", "components", "functions", "infra", "offline", "policies", "scripts", "test"];
const SOURCE_EXT = /\.(ts|js|mjs|py|sh)$/;

function sourceFiles(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const rel = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                if (entry.name !== "node_modules" && !entry.name.startsWith(".")) walk(rel);
            } else if (SOURCE_EXT.test(entry.name) && !entry.name.endsWith(".d.ts")) {
                out.push(rel.split(path.sep).join("/"));
            }
        }
    };
    for (const dir of SOURCE_DIRS) if (fs.existsSync(path.join(ROOT, dir))) walk(dir);
    return out.sort();
}

/** A resource type token written as a string literal (not an invoke token such as `aws:index/getRegion:getRegion`). */
const TOKEN_LITERAL = /["'`]aws:[a-z0-9]+\/[a-zA-Z0-9]+:[A-Z][A-Za-z0-9]*["'`]/;

/**
 * Files other sessions owned while issue 18 was under way; each still writes tokens of its own and is
 * to import AWS_TYPES instead. The list may only shrink: a test below fails once a file no longer needs it.
 */
const TOKENS_NOT_YET_MOVED = ["test/support/policy-mutations.ts"];

describe("structure: one module of AWS type tokens (policies/aws-types.ts)", () => {
    it("no other source file writes a resource type token of its own (comments aside)", () => {
        const offenders = sourceFiles()
            .filter((f) => f.endsWith(".ts") && f !== "policies/aws-types.ts" && !TOKENS_NOT_YET_MOVED.includes(f))
            .flatMap((f) =>
                fs.readFileSync(path.join(ROOT, f), "utf8").split("\n")
                    .map((line, i) => ({ where: `${f}:${i + 1}`, line: line.trim() }))
                    .filter(({ line }) => TOKEN_LITERAL.test(line) && !/^(\/\/|\*|\/\*\*)/.test(line)),
            )
            .map(({ where, line }) => `${where}: ${line}`);
        expect(offenders, "use AWS_TYPES (or RULE_TYPES in the policy rules) from policies/aws-types.ts").to.deep.equal([]);
    });

    it("the files not yet moved still need their place on the list", () => {
        for (const f of TOKENS_NOT_YET_MOVED) {
            const p = path.join(ROOT, f);
            expect(fs.existsSync(p) && TOKEN_LITERAL.test(fs.readFileSync(p, "utf8")), `${f} writes no token any more: take it off TOKENS_NOT_YET_MOVED`).to.equal(true);
        }
    });

    it("every AWS resource type the stacks declare has its token (production, dr standby and active, Incident Manager on)", async () => {
        const contacts = JSON.stringify(["Technical Lead|+15555550100|lead@example.com"]);
        const evaluations = [
            await stack("production"),
            await stack("dr"),
            await stackWith("dr", { config: { siteRole: "active" } }),
            await stackWith("production", { config: { incidentManager: "enabled", incidentContacts: contacts } }),
        ];
        const known = new Set<string>(Object.values(AWS_TYPES));
        const declared = new Set(evaluations.flatMap((ev) => ev.resources.map((r) => r.type)).filter((t) => t.startsWith("aws:")));
        expect([...declared].filter((t) => !known.has(t)).sort()).to.deep.equal([]);
    });

    it("each token once, and the rules' selectors are built from the same tokens", () => {
        const tokens = Object.values(AWS_TYPES);
        expect(tokens.length).to.equal(new Set(tokens).size);
        for (const [k, v] of Object.entries(RULE_TYPES)) {
            for (const token of typeof v === "string" ? [v] : v) expect(tokens, `RULE_TYPES.${k}`).to.include(token);
        }
        expect(T).to.equal(RULE_TYPES);
    });

    it("selects by one token or by every token of a resource", () => {
        const rs = [{ type: AWS_TYPES.bucket, name: "a" }, { type: AWS_TYPES.bucketV2, name: "b" }, { type: AWS_TYPES.kmsKey, name: "k" }];
        expect(ofType(rs, AWS_TYPES.bucket).map((r) => r.name)).to.deep.equal(["a"]);
        expect(ofType(rs, RULE_TYPES.bucket).map((r) => r.name)).to.deep.equal(["a", "b"]);
        expect(hasType(rs, RULE_TYPES.bucket, (r) => r.name === "b")).to.equal(true);
        expect(hasType(rs, AWS_TYPES.secret)).to.equal(false);
        expect(isOneOf(AWS_TYPES.albLoadBalancer, RULE_TYPES.loadBalancer)).to.equal(true);
    });
});

/** Files up to this many lines need no reason ("about 300"). */
const LONG_FILE_LINES = 350;
/** Lines as `wc -l` counts them. */
const lineCount = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
const REASON = "Over 300 lines on purpose:";

describe("structure: a long source file says why at its top", () => {
    it(`every source file over ${LONG_FILE_LINES} lines states "${REASON} ..." in its first lines`, () => {
        const unexplained = sourceFiles()
            .map((f) => ({ f, text: fs.readFileSync(path.join(ROOT, f), "utf8") }))
            .filter(({ text }) => lineCount(text) > LONG_FILE_LINES && !text.split("\n").slice(0, 8).some((l) => l.includes(REASON)))
            .map(({ f, text }) => `${f} (${lineCount(text)} lines)`);
        expect(unexplained, "split the file, or state the reason at its top").to.deep.equal([]);
    });

    it("the split components are short, and import from their entry files as before", () => {
        for (const f of ["components/app-cluster.ts", "components/monitoring.ts", ...fs.readdirSync(path.join(ROOT, "components/app-cluster")).map((n) => `components/app-cluster/${n}`), ...fs.readdirSync(path.join(ROOT, "components/monitoring")).map((n) => `components/monitoring/${n}`)]) {
            expect(lineCount(fs.readFileSync(path.join(ROOT, f), "utf8")), f).to.be.at.most(200);
        }
        for (const name of ["AppCluster", "architectureOf", "renderUserData", "agentConfig", "USER_DATA_MAX_BYTES", "BACKUP_WRITE_PREFIXES", "BACKUP_LIST_PREFIXES", "SSM_MANAGED_INSTANCE_CORE_POLICY_ARN", "AGENT_NAMESPACE", "AGENT_METRICS"]) {
            expect(app, name).to.have.property(name);
        }
        for (const name of ["Monitoring", "RegionSwitchAlerts", "DASHBOARD_WIDGETS", "DATABASE_DOWN_DATAPOINTS", "RESTORE_JOB_FAILED_PATTERN", "REGION_SWITCH_EVENTS_REGION", "REGION_SWITCH_EVALUATION_WARNING_PATTERN", "REGION_SWITCH_EXECUTION_FAILED_PATTERN", "planTiming", "MINUTE"]) {
            expect(monitoring, name).to.have.property(name);
        }
    });
});
