/**
 * `npm run deploy-test` (automation/deploy-test.ts) against a stub workspace: the ephemeral stack is
 * deployed, its /api/health verified, the time of each step recorded, and the stack destroyed and
 * removed whatever happened.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { DR_PLAN } from "../infra/dr-plan";
import { deployTestConfig, DeployTestDeps, ephemeralAdvisoryRules, ephemeralPackConfig, ephemeralStackName, runDeployTest, StackLike } from "../automation/deploy-test";
import { parseStackConfig } from "../infra/config";

/** A stub Automation API stack and clock: each call is logged; `up` and `destroy` take simulated time. */
function stub(behaviour: { upFails?: boolean; noUrl?: boolean; healthy?: number[]; destroyFails?: boolean } = {}) {
    const calls: string[] = [];
    let clock = 0;
    const statuses = [...(behaviour.healthy ?? [200])];
    const stack: StackLike = {
        async setAllConfig(c) {
            calls.push(`config ${Object.keys(c).length}`);
        },
        async up(o) {
            calls.push(`up ${o.policyPacks?.map((p) => p.split("/").pop()).join(",")}${o.policyPackConfigs ? ` config ${o.policyPackConfigs.join(",")}` : ""}`);
            clock += 900_000;
            if (behaviour.upFails) throw new Error("up failed: creating RDS instance: quota exceeded");
            const outputs: Record<string, { value: unknown }> = behaviour.noUrl ? {} : { siteUrl: { value: "https://deploy-test.sandbox.example.com" } };
            return { outputs };
        },
        async destroy() {
            calls.push("destroy");
            clock += 600_000;
            if (behaviour.destroyFails) throw new Error("DependencyViolation");
        },
        workspace: {
            async removeStack(name) {
                calls.push(`rm ${name}`);
            },
        },
    };
    const deps: DeployTestDeps = {
        createStack: async (name) => {
            calls.push(`create ${name}`);
            return stack;
        },
        get: async (url) => {
            calls.push(`get ${url}`);
            clock += 1000;
            const s = statuses.shift();
            if (s === undefined || s === 0) throw new Error("ECONNREFUSED");
            return s;
        },
        now: () => clock,
        sleep: async (ms) => {
            clock += ms;
        },
        log: (line) => void calls.push(`log ${line}`),
    };
    return { calls, deps };
}
const options = { stackName: "deploy-test-20260301-0600", config: { "aws:region": "us-west-2" }, healthAttempts: 3, healthIntervalMs: 30_000 };

describe("deploy-test (Automation API, stub workspace)", () => {
    it("deploys with the policy pack, verifies /api/health, records each step's time, destroys and removes the stack", async () => {
        const { calls, deps } = stub({ healthy: [0, 503, 200] });
        const r = await runDeployTest(options, deps);
        expect(calls.filter((c) => !c.startsWith("log "))).to.deep.equal([
            "create deploy-test-20260301-0600",
            "config 1",
            "up policies",
            "get https://deploy-test.sandbox.example.com/api/health",
            "get https://deploy-test.sandbox.example.com/api/health",
            "get https://deploy-test.sandbox.example.com/api/health",
            "destroy",
            "rm deploy-test-20260301-0600",
        ]);
        expect(r).to.deep.include({ healthy: true, destroyed: true, upSeconds: 900, healthSeconds: 63, destroySeconds: 600, totalSeconds: 1563 });
        expect(r.error).to.equal(undefined);
    });

    it("runs the pack with the ephemeral pack config, says which rules run advisory and why before the up, and reports them", async () => {
        const advisoryRules = ephemeralAdvisoryRules(deployTestConfig({ DEPLOY_TEST_DOMAIN: "d.example.com", DEPLOY_TEST_HOSTED_ZONE_ID: "Z0SANDBOX0000", DEPLOY_TEST_ALERT_EMAIL: "ci@example.com" }));
        const { calls, deps } = stub();
        const r = await runDeployTest({ ...options, policyPackConfigFile: "/tmp/deploy-test-policy-config.json", advisoryRules }, deps);
        const up = calls.findIndex((c) => c.startsWith("up "));
        expect(calls[up]).to.equal("up policies config /tmp/deploy-test-policy-config.json");
        const said = calls.slice(0, up).filter((c) => c.startsWith("log policy pack: "));
        expect(said).to.have.length(Object.keys(advisoryRules).length);
        expect(said[0]).to.match(/^log policy pack: stateful-resources-protected runs advisory on this ephemeral stack \(\/tmp\/deploy-test-policy-config.json\): an ephemeral stack is deleted whole/);
        expect(r.advisoryRules).to.deep.equal(advisoryRules);
        expect(ephemeralPackConfig(advisoryRules)).to.deep.equal(Object.fromEntries(Object.keys(advisoryRules).map((k) => [k, { enforcementLevel: "advisory" }])));
    });

    it("destroys the stack when up fails, and reports the failure", async () => {
        const { calls, deps } = stub({ upFails: true });
        const r = await runDeployTest(options, deps);
        expect(calls.slice(-2)).to.deep.equal(["destroy", "rm deploy-test-20260301-0600"]);
        expect(r).to.deep.include({ healthy: false, destroyed: true });
        expect(r.error).to.match(/quota exceeded/);
        expect(r.upSeconds).to.equal(undefined);
    });

    it("destroys the stack when the health check never answers 200, after the configured attempts", async () => {
        const { calls, deps } = stub({ healthy: [503, 503, 503, 200] });
        const r = await runDeployTest(options, deps);
        expect(calls.filter((c) => c.startsWith("get"))).to.have.length(3);
        expect(calls.slice(-2)).to.deep.equal(["destroy", "rm deploy-test-20260301-0600"]);
        expect(r.healthy).to.equal(false);
        expect(r.error).to.match(/never answered 200 in 3 attempts/);
        const noUrl = await runDeployTest(options, stub({ noUrl: true }).deps);
        expect(noUrl.error).to.match(/no siteUrl output/);
        expect(noUrl.destroyed).to.equal(true);
    });

    it("a failed destroy is reported with what to do, and the stack is not removed", async () => {
        const { calls, deps } = stub({ destroyFails: true });
        const r = await runDeployTest(options, deps);
        expect(calls).to.not.include("rm deploy-test-20260301-0600");
        expect(r.destroyed).to.equal(false);
        expect(r.error).to.match(/destroy of deploy-test-20260301-0600 failed: DependencyViolation: destroy it by hand/);
    });

    it("builds a disposable config in the DR region that the program accepts, and names a missing sandbox setting", () => {
        const env = { DEPLOY_TEST_DOMAIN: "deploy-test.sandbox.example.com", DEPLOY_TEST_HOSTED_ZONE_ID: "Z0SANDBOX0000", DEPLOY_TEST_ALERT_EMAIL: "ci@example.com" };
        const config = deployTestConfig(env);
        expect(config["aws:region"]).to.equal("us-west-2");
        expect(config["genie-infra:protect"]).to.equal("false");
        expect(config["genie-infra:backupVaultLockMode"]).to.equal("governance");
        const raw = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^genie-infra:/, ""), v]));
        const parsed = parseStackConfig(raw as never, "deploy-test-20260301-0600");
        expect(parsed.siteRegion).to.equal("us-west-2");
        expect(parsed.protect).to.equal(false);
        // Ephemeral: destroy deletes everything (test/ephemeral.test.ts evaluates it), and the account's
        // service-linked role, which outlives every stack, is named, never declared.
        expect(config["genie-infra:ephemeral"]).to.equal("true");
        expect(parsed.ephemeral).to.equal(true);
        expect(parsed.autoscalingServiceLinkedRole).to.equal("existing");
        expect(() => deployTestConfig({ ...env, DEPLOY_TEST_HOSTED_ZONE_ID: "" })).to.throw(/missing setting: DEPLOY_TEST_HOSTED_ZONE_ID/);
        expect(ephemeralStackName(new Date(Date.UTC(2026, 2, 1, 6, 5)))).to.equal("deploy-test-20260301-0605");
    });
});

describe("the monthly deploy-test workflow (.github/workflows/deploy-test.yml)", () => {
    const workflow = YAML.parse(fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", "deploy-test.yml"), "utf8"));

    it("runs on a schedule at the plan's interval (monthly), and by hand", () => {
        const crons: string[] = workflow.on.schedule.map((s: { cron: string }) => s.cron);
        expect(crons).to.have.length(1);
        const [minute, hour, dom, month, dow] = crons[0].split(/\s+/);
        expect([minute, hour].every((f) => /^\d+$/.test(f)), "a fixed time").to.equal(true);
        expect(Number(dom), "one day of the month, present in every month").to.be.within(1, 28);
        expect(month).to.equal(DR_PLAN.deployFromScratchTestIntervalMonths === 1 ? "*" : `*/${DR_PLAN.deployFromScratchTestIntervalMonths}`);
        expect(dow).to.equal("*");
        expect(workflow.on).to.have.property("workflow_dispatch");
    });

    it("runs npm run deploy-test in the sandbox environment with the sandbox's settings", () => {
        const job = workflow.jobs["deploy-test"];
        expect(job.environment).to.equal("sandbox");
        const step = job.steps.find((s: { run?: string }) => s.run === "npm run deploy-test");
        expect(Object.keys(step.env)).to.include.members(["DEPLOY_TEST_DOMAIN", "DEPLOY_TEST_HOSTED_ZONE_ID", "DEPLOY_TEST_ALERT_EMAIL", "PULUMI_ACCESS_TOKEN"]);
    });

    it("destroys what is left whatever happened (cancelled, timed out, failed destroy), within the job's time and the role's session", () => {
        const job = workflow.jobs["deploy-test"];
        const test = job.steps.find((x: { run?: string }) => x.run === "npm run deploy-test");
        const index = job.steps.indexOf(test);
        const cleanup = job.steps.slice(index + 1).find((x: { run?: string }) => /pulumi destroy/.test(x.run ?? ""));
        expect(cleanup, "a cleanup step after the test").to.not.equal(undefined);
        expect(cleanup.if).to.equal("always()");
        expect(cleanup.env.DEPLOY_TEST_STACK, "the same stack").to.equal(test.env.DEPLOY_TEST_STACK);
        expect(cleanup.run).to.match(/pulumi destroy --yes[^\n]*--stack "\$DEPLOY_TEST_STACK"/);
        expect(cleanup.run).to.match(/pulumi stack rm --yes --stack "\$DEPLOY_TEST_STACK"/);
        // The test step times out early enough for the cleanup to run inside the job's limit, and the job inside the role's session.
        expect(test["timeout-minutes"] + cleanup["timeout-minutes"]).to.be.at.most(job["timeout-minutes"]);
        const credentials = job.steps.find((x: { uses?: string }) => x.uses?.startsWith("aws-actions/configure-aws-credentials"));
        expect(Number(credentials.with["role-duration-seconds"])).to.be.at.least(job["timeout-minutes"] * 60);
    });
});
