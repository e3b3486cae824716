/**
 * `npm run policy -- check <file>`: the policy pack over a saved offline plan (`npm run plan -- <stack>
 * --json <file>`) or over a deployed stack's state (`pulumi stack export`): the same violations as the
 * plan, a non-zero exit on a mandatory one, and clear errors for a file it cannot use. The stack-export
 * fixture is built from an evaluation in the format `pulumi stack export` writes (version 3,
 * `deployment.resources[]` with urn, custom, id, type, inputs, outputs, parent, provider "urn::id",
 * protect, retainOnDelete, dependencies, propertyDependencies).
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { StackEvaluation } from "../offline/mock-runtime";
import { planJson, summarise } from "../offline/plan";
import { main } from "../offline/policy-check";
import { checkPolicies } from "../offline/policy-runner";
import { renderViolation } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { stack } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const LOG_GROUP = AWS_TYPES.logGroup;

/** A copy: the shared evaluation is never changed. */
function stackExport(ev: StackEvaluation): any {
    const ids = new Map(ev.resources.map((r) => [r.urn, r.id]));
    return JSON.parse(JSON.stringify({
        version: 3,
        deployment: {
            manifest: { time: "2025-01-01T00:00:00Z", magic: "", version: "v3.200.0" },
            resources: ev.resources.map((r) => ({
                urn: r.urn,
                custom: r.custom,
                ...(r.id ? { id: r.id } : {}),
                type: r.type,
                inputs: r.props,
                outputs: r.outputs,
                ...(r.parent ? { parent: r.parent } : {}),
                ...(r.provider ? { provider: `${r.provider}::${ids.get(r.provider)}` } : {}),
                ...(r.opts.protect ? { protect: true } : {}),
                ...(r.opts.retainOnDelete ? { retainOnDelete: true } : {}),
                dependencies: r.opts.dependsOn,
                propertyDependencies: r.propertyDependencies ?? {},
            })),
        },
    }));
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, (l) => out.push(l), (l) => err.push(l));
    return { code, out: out.join("\n"), err: err.join("\n") };
}

const mandatoryLines = (out: string) => out.split("\n").filter((l) => l.startsWith("  - ["));

describe("npm run policy -- check <file>", () => {
    let dir: string;
    let ev: StackEvaluation;
    let expected: string[];
    let expectedCode: number;
    const file = (name: string, content: unknown) => {
        const p = path.join(dir, name);
        fs.writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
        return p;
    };

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-policy-check-"));
        ev = await stack("production");
        // What the offline plan reports for the same evaluation.
        const findings = await checkPolicies(ev);
        expected = findings.result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `  - ${renderViolation(v)}`);
        expectedCode = findings.problems.length > 0 ? 1 : 0;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("prints over a saved offline plan the violations the plan prints, and exits as the plan does", async () => {
        const report = { ...summarise(ev), policy: { violations: (await checkPolicies(ev)).result.violations } };
        const { code, out } = await run(["check", file("plan.json", planJson(report))]);
        expect(out).to.match(/^Policy pack over offline plan of stack production/);
        expect(code).to.equal(expectedCode);
        for (const line of expected) expect(out).to.include(line);
        expect(out.split("\n").filter((l) => / mandatory violations?:$/.test(l)).length).to.equal(expected.length > 0 ? 1 : 0);
    });

    it("reads a `pulumi stack export` file, finds the same violations, and finds a retention shortened in the console", async () => {
        const exported = stackExport(ev);
        const same = await run(["check", file("state.json", exported)]);
        expect(same.out).to.match(/^Policy pack over pulumi stack export of stack production/);
        expect(same.code).to.equal(expectedCode);
        for (const line of expected) expect(same.out).to.include(line);

        // Someone sets a log group to 1 day in the console; `pulumi refresh` brings it into the state's outputs.
        const group = exported.deployment.resources.find((r: any) => r.type === LOG_GROUP);
        group.outputs.retentionInDays = 1;
        const changed = await run(["check", file("state-changed.json", exported)]);
        expect(changed.code).to.equal(1);
        const added = mandatoryLines(changed.out).filter((l) => !mandatoryLines(same.out).includes(l));
        expect(added.length).to.be.at.least(1);
        expect(added.join("\n")).to.include(`${LOG_GROUP} ${group.urn.split("::").pop()}`);
    });

    it("exits 0 when no mandatory rule is violated, 1 when one is, and honours the pack config", async () => {
        // Only the log-retention rule, over a one-log-group state.
        const only = Object.fromEntries(ALL_RULES.map((r) => [r.name, r.name === "log-group-retention" ? "mandatory" : "disabled"]));
        const config = file("config.json", only);
        const group = (days: number) => ({
            version: 3,
            deployment: {
                resources: [
                    { urn: "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod", custom: false, type: "pulumi:pulumi:Stack" },
                    {
                        urn: "urn:pulumi:prod::p::aws:cloudwatch/logGroup:LogGroup::app",
                        custom: true,
                        id: "/app",
                        type: LOG_GROUP,
                        inputs: { name: "/app", retentionInDays: 90 },
                        outputs: { name: "/app", retentionInDays: days, arn: "arn:aws:logs:us-east-1:1:log-group:/app" },
                        parent: "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod",
                        dependencies: [],
                    },
                ],
            },
        });
        const good = await run(["check", file("good.json", group(90)), "--policy-config", config]);
        expect(good.code, good.out).to.equal(0);
        expect(good.out).to.include("No mandatory violation.");
        const bad = await run(["check", file("bad.json", group(7)), "--policy-config", config]);
        expect(bad.code).to.equal(1);
        expect(bad.out).to.match(/\[log-group-retention\] aws:cloudwatch\/logGroup:LogGroup app: .*7/);
        const advisory = await run(["check", file("bad2.json", group(7)), "--policy-config", file("advisory.json", { ...only, "log-group-retention": "advisory" })]);
        expect(advisory.code).to.equal(0);
        expect(advisory.out).to.match(/1 advisory \(not failing\):/);
    });

    it("refuses, with a clear error and exit code 2, a file it cannot read or does not know", async () => {
        const cases: [string[], RegExp][] = [
            [["check", path.join(dir, "missing.json")], /cannot read .*missing\.json: ENOENT/],
            [["check", file("text.json", "not json")], /text\.json is not JSON .*npm run plan -- <stack> --json <file>.*pulumi stack export --file <file>/],
            [["check", file("other.json", { hello: "world" })], /other\.json: unknown format: expected the offline plan's JSON .* or a deployed stack's state/],
            [["check", file("old-plan.json", { stack: "production", resources: [{ urn: "u", type: "t", name: "n", props: {} }] })], /older `npm run plan -- --json`; write it again/],
            [["check", file("v1.json", { version: 1, deployment: { resources: [] } })], /deployment version 1 is not supported/],
            [["check"], /name the file to check/],
            [["verify", "x"], /unknown command "verify"; commands: check/],
            [["check", "a.json", "--policy-config", path.join(dir, "none.json")], /--policy-config .*none\.json: cannot read the pack config/],
            [["check", "a.json", "--policy-config", file("list.json", [1])], /must be an object of rule name/],
        ];
        for (const [args, message] of cases) {
            const { code, err } = await run(args);
            expect(code, args.join(" ")).to.equal(2);
            expect(err, args.join(" ")).to.match(message);
            expect(err).to.include("usage: npm run policy -- check <file>");
        }
    });

    it("is the npm script `policy`", function () {
        const config = file("only-logs.json", Object.fromEntries(ALL_RULES.map((r) => [r.name, r.name === "log-group-retention" ? "mandatory" : "disabled"])));
        const state = file("cli.json", stackExport(ev));
        const out = execFileSync("npm", ["run", "--silent", "policy", "--", "check", state, "--policy-config", config], { cwd: path.join(__dirname, ".."), encoding: "utf8" });
        expect(out).to.match(/Policy pack over pulumi stack export of stack production .*: \d+ resources\nNo mandatory violation\./);
    });
});
