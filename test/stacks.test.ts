import { expect } from "chai";
import { EvaluationError } from "../offline/mock-runtime";
import { isRegional } from "../offline/plan";
import { ofType, stack, stackWith } from "./support/stacks";

describe("both stacks", () => {
    it("production evaluates: the primary site in us-east-1 and the landing zone provider in us-west-2", async () => {
        const ev = await stack("production");
        const providers = ofType(ev, "pulumi:providers:aws");
        expect(providers.map((p) => [p.name, p.region])).to.deep.equal([
            ["primary-region", "us-east-1"],
            ["dr-landing-zone-region", "us-west-2"],
        ]);
        expect(ev.outputs.siteRegion).to.equal("us-east-1");
    });

    it("dr evaluates: every resource in us-west-2, but the health-check alarm, the Region switch event rules and their topics in us-east-1", async () => {
        const ev = await stack("dr");
        // Route 53 publishes health-check metrics only in us-east-1, and an alarm notifies only a topic of
        // its region: the site's health-check alarm, its critical topic (with the key encrypting it and the
        // same subscribers) are there, on the global-metrics provider. So are the EventBridge rules of the
        // Region switch plan's events (emitted in us-east-1) and the high topic of its evaluation warnings
        // (components/monitoring.ts, RegionSwitchAlerts). The quarterly communication test of those topics
        // and the forwarding of the health-check alarm to the status page publish from there too
        // (infra/communication.ts). Nothing else leaves us-west-2.
        const globalMetrics = ofType(ev, "pulumi:providers:aws").find((p) => p.name === "global-metrics-region")!;
        expect(globalMetrics.region).to.equal("us-east-1");
        const elsewhere = ev.resources.filter((r) => isRegional(r) && r.region !== "us-west-2");
        expect(elsewhere.map((r) => `${r.type} ${r.name}`).sort()).to.deep.equal([
            "aws:cloudwatch/eventRule:EventRule genie-dr-global-alarms-to-status-page",
            "aws:cloudwatch/eventRule:EventRule genie-dr-region-switch-alerts-evaluation-warning",
            "aws:cloudwatch/eventRule:EventRule genie-dr-region-switch-alerts-execution-failed",
            "aws:cloudwatch/eventTarget:EventTarget genie-dr-global-alarms-to-status-page",
            "aws:cloudwatch/eventTarget:EventTarget genie-dr-region-switch-alerts-evaluation-warning",
            "aws:cloudwatch/eventTarget:EventTarget genie-dr-region-switch-alerts-execution-failed",
            "aws:cloudwatch/metricAlarm:MetricAlarm genie-dr-monitoring-app-health-check",
            "aws:iam/role:Role genie-dr-global-alarms-to-status-page-role",
            "aws:iam/role:Role genie-dr-global-metrics-communication-test-role",
            "aws:iam/rolePolicy:RolePolicy genie-dr-global-alarms-to-status-page-role",
            "aws:iam/rolePolicy:RolePolicy genie-dr-global-metrics-communication-test-role",
            "aws:kms/alias:Alias genie-dr-global-metrics-key-alias",
            "aws:kms/key:Key genie-dr-global-metrics-key-key",
            "aws:scheduler/schedule:Schedule genie-dr-global-metrics-communication-test-critical",
            "aws:scheduler/schedule:Schedule genie-dr-global-metrics-communication-test-high",
            "aws:sns/topic:Topic genie-dr-global-metrics-alerts-critical",
            "aws:sns/topic:Topic genie-dr-global-metrics-alerts-high",
            "aws:sns/topicPolicy:TopicPolicy genie-dr-global-metrics-alerts-critical",
            "aws:sns/topicPolicy:TopicPolicy genie-dr-global-metrics-alerts-high",
            "aws:sns/topicSubscription:TopicSubscription genie-dr-global-metrics-alerts-critical-email-0",
            "aws:sns/topicSubscription:TopicSubscription genie-dr-global-metrics-alerts-critical-sms-0",
            "aws:sns/topicSubscription:TopicSubscription genie-dr-global-metrics-alerts-high-email-0",
        ]);
        for (const r of elsewhere) expect([r.region, r.provider], r.name).to.deep.equal(["us-east-1", globalMetrics.urn]);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: no AWS resource falls back to the default provider`, async () => {
            const ev = await stack(name);
            const aws = ev.resources.filter(isRegional);
            expect(aws.length).to.be.greaterThan(10);
            const onDefault = aws.filter((r) => r.provider === undefined || r.region === undefined);
            expect(onDefault.map((r) => `${r.type} ${r.name}`)).to.deep.equal([]);
            // Data sources too: every invoke went to an explicit provider with a region.
            expect(ev.invokes.filter((i) => i.region === undefined)).to.deep.equal([]);
        });

        it(`${name}: every provider tags what it creates with app, stack and site`, async () => {
            const ev = await stack(name);
            for (const provider of ofType(ev, "pulumi:providers:aws")) {
                const tags = JSON.parse(provider.props.defaultTags).tags;
                expect(tags).to.include({ app: "genie-ai-server", stack: name });
                expect(tags.site).to.be.a("string").with.length.greaterThan(0);
            }
        });
    }

    it("production: every resource meant for the DR region uses the DR region's provider", async () => {
        const ev = await stack("production");
        const drProvider = ofType(ev, "pulumi:providers:aws").find((p) => p.region === "us-west-2")!;
        const inDr = ev.resources.filter((r) => isRegional(r) && r.region === "us-west-2");
        for (const r of inDr) expect(r.provider, r.name).to.equal(drProvider.urn);
        // Naming convention: DR landing-zone resources carry "-dr-" in their names, and only they do.
        const namedDr = ev.resources.filter((r) => isRegional(r) && /(^|-)dr(-|$)/.test(r.name));
        expect(namedDr.filter((r) => r.region !== "us-west-2").map((r) => r.name)).to.deep.equal([]);
    });

    it("bad config fails before any resource is declared", async () => {
        let error: unknown;
        try {
            await stackWith("production", { config: { drRegion: "us-east-1" } });
        } catch (err) {
            error = err;
        }
        expect(error).to.be.instanceOf(EvaluationError);
        expect((error as Error).message).to.match(/genie-infra:drRegion = "us-east-1": must differ/);
    });
});
