import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { planJson, renderPlan, summarise } from "../offline/plan";
import { stack } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

/** Runs the offline plan CLI as a user would (`npm run plan -- ...`, minus npm's banner). */
function plan(...args: string[]) {
    const result = spawnSync(process.execPath, ["-r", "./offline/register.js", "offline/cli.ts", ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("offline plan", () => {
    it("summarises the production stack per component and per region", async () => {
        const report = summarise(await stack("production"));
        const network = report.components.find((c) => c.component === "genie-primary-network")!;
        expect(network.byRegion).to.have.property("us-east-1").that.is.greaterThan(30);
        expect(report.total).to.equal(Object.values(report.byRegion).reduce((a, b) => a + b, 0));
        const text = renderPlan(report);
        expect(text).to.match(/genie-primary-network(\s+-)*\s+\d+/); // "-" in the columns of regions it has nothing in
        expect(text).to.include("us-east-1");
    });

    it("prints the DR site's network in us-west-2", async () => {
        const report = summarise(await stack("dr"));
        const text = renderPlan(report);
        expect(text).to.match(/Offline plan of stack dr \(site role standby/);
        expect(text).to.match(/genie-dr-network\s+/);
        // Its row, not the whole text: the DR stack has a few resources in us-east-1 (Route 53 health-check metrics live there).
        const network = report.components.find((c) => c.component === "genie-dr-network")!;
        expect(Object.keys(network.byRegion)).to.deep.equal(["us-west-2"]);
        expect(network.byRegion["us-west-2"]).to.be.greaterThan(30);
    });

    it("writes every resource with its region, props and options to --json, and exits 0", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "genie-plan-")), "production.json");
        const run = plan("production", "--json", file);
        expect(run.code, run.stderr).to.equal(0);
        const doc = JSON.parse(fs.readFileSync(file, "utf8"));
        expect(doc.stack).to.equal("production");
        const vpc = doc.resources.find((r: any) => r.type === AWS_TYPES.vpc);
        expect(vpc).to.include({ name: "genie-primary-network-vpc", region: "us-east-1" });
        expect(vpc.props.cidrBlock).to.equal("10.20.0.0/16");
        expect(vpc.opts).to.have.keys("protect", "retainOnDelete");
        expect(vpc.urn).to.match(/^urn:pulumi:production::genie-infra::/);
        expect(vpc.parent).to.match(/genie:network:Network::genie-primary-network$/);
    });

    it("passes a committed fence (production --config siteFenced=true): exits 0 and prints which site serves and what is degraded", () => {
        const run = plan("production", "--config", "siteFenced=true");
        expect(run.code, run.stdout + run.stderr).to.equal(0);
        expect(run.stdout).to.match(/Offline plan of stack production \(site role primary, fenced, not serving: the DR site serves/);
        expect(run.stdout).to.match(/failover detection \(plan: within 30 s\): not serving: the DR site serves/);
        expect(run.stdout).to.match(/advisor(y|ies) \(not failing the plan\):\n\s+- \[recovery posture\] production fenced/);
        expect(run.stdout).to.include("No problems found.");
    });

    it("passes a committed failover (dr --config siteRole=active), judged as the serving site", () => {
        const run = plan("dr", "--config", "siteRole=active");
        expect(run.code, run.stdout + run.stderr).to.equal(0);
        expect(run.stdout).to.match(/Offline plan of stack dr \(site role active, serving/);
        expect(run.stdout).to.match(/state: dr active \(serving\)/);
        expect(run.stdout).to.match(/degraded: the serving database's newest copy in another region/);
    });

    it("exits 1 with the config error on bad config", () => {
        const run = plan("production", "--config", "drRegion=us-east-1");
        expect(run.code).to.equal(1);
        expect(run.stderr).to.match(/genie-infra:drRegion = "us-east-1": must differ from genie-infra:primaryRegion/);
    });

    it("exits 2 naming the stacks on an unknown stack", () => {
        const run = plan("staging");
        expect(run.code).to.equal(2);
        expect(run.stderr).to.include('unknown stack "staging"; stacks: dr, production');
    });

    it("keeps the JSON document free of secrets", async () => {
        const doc = JSON.stringify(planJson(summarise(await stack("production"))));
        expect(doc).not.to.match(/mock-secret-/);
    });
});
