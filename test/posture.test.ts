import { expect } from "chai";
import { DR_PLAN } from "../infra/dr-plan";
import { RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { AWS_FIGURES, computePosture, cronIntervalHours, DATA_STORES, FAILURES, isMissed, Posture } from "../offline/posture";
import { stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

/** A copy of an evaluation with one change made to it. */
function changed(ev: StackEvaluation, change: (resources: RecordedResource[]) => RecordedResource[] | void): StackEvaluation {
    const copy: StackEvaluation = JSON.parse(JSON.stringify(ev));
    copy.resources = change(copy.resources) ?? copy.resources;
    return copy;
}
const without = (type: string) => (resources: RecordedResource[]) => resources.filter((r) => r.type !== type);
const each = (type: string, edit: (r: RecordedResource) => void) => (resources: RecordedResource[]) => resources.filter((r) => r.type === type).forEach(edit);

const store = (p: Posture, s: string) => p.dataStores.find((d) => d.store === s)!;
const failure = (p: Posture, f: string) => p.failures.find((x) => x.failure === f)!;
const check = (p: Posture, what: string) => {
    const found = p.checks.find((c) => c.what === what);
    if (!found) throw new Error(`no check "${what}"; checks: ${p.checks.map((c) => c.what).join(", ")}`);
    return found;
};

describe("recovery posture", () => {
    for (const name of ["production", "dr"] as const) {
        it(`${name}: reports every data store and failure, and meets every plan target`, async () => {
            const posture = computePosture(await stack(name));
            expect(posture.dataStores.map((d) => d.store)).to.deep.equal([...DATA_STORES]);
            expect(posture.failures.map((f) => f.failure)).to.deep.equal([...FAILURES]);
            expect(posture.checks.filter((c) => !c.met).map((c) => `${c.what}: ${c.minutes}`)).to.deep.equal([]);
            expect(posture.failoverDetectionSeconds).to.be.at.most(DR_PLAN.failoverDetectionSeconds);
        });
    }

    it("production: aims for minutes, not the plan's hour: database and uploads copies across regions within 15 minutes", async () => {
        const posture = computePosture(await stack("production"));
        expect(store(posture, "database").crossRegion!.minutes).to.equal(AWS_FIGURES.rdsCrossRegionBackupsMinutes);
        expect(store(posture, "uploads").crossRegion!.minutes).to.equal(AWS_FIGURES.s3ReplicationTimeControlMinutes);
        expect(failure(posture, "database primary").rto!.minutes).to.equal(AWS_FIGURES.rdsMultiAzFailoverMinutes);
        expect(failure(posture, "whole region").rto!.minutes).to.be.below(30);
    });

    it("the automated-backup replication removed: the database's cross-region RPO falls back to the backup copies and misses the target", async () => {
        const before = computePosture(await stack("production"));
        const after = computePosture(changed(await stack("production"), without(AWS_TYPES.dbBackupReplication)));
        expect(store(before, "database").crossRegion!.minutes).to.equal(15);
        expect(store(after, "database").crossRegion!.minutes).to.equal(DR_PLAN.dbBackupIntervalHours * 60);
        expect(check(after, "RPO database (across regions)").met).to.equal(false);
        expect(check(after, "RPO whole region").met).to.equal(false);
    });

    it("the DR replica removed: the standby site has no recovery point for a regional failover", async () => {
        const dr = changed(await stack("dr"), each(AWS_TYPES.dbInstance, (r) => delete r.props.replicateSourceDb));
        const after = computePosture(dr);
        expect(failure(computePosture(await stack("dr")), "whole region").rpo!.minutes).to.equal(0);
        expect(failure(after, "whole region").rpo).to.equal(undefined);
        expect(check(after, "RPO whole region").met).to.equal(false);
    });

    it("the backup schedule stretched to 12 h (continuous backup off): the deleted-data RPO moves from 6 h to 12 h, past the target", async () => {
        const noContinuous = (r: RecordedResource) => r.props.rules.forEach((rule: any) => (rule.enableContinuousBackup = false));
        const sixHourly = computePosture(changed(await stack("production"), each(AWS_TYPES.backupPlan, noContinuous)));
        const twelveHourly = computePosture(
            changed(await stack("production"), each(AWS_TYPES.backupPlan, (r) => {
                noContinuous(r);
                r.props.rules.forEach((rule: any) => (rule.schedule = rule.schedule.replace("0/6", "0/12")));
            })),
        );
        expect(failure(sixHourly, "deleted or encrypted data").rpo!.minutes).to.equal(360);
        expect(failure(twelveHourly, "deleted or encrypted data").rpo!.minutes).to.equal(720);
        expect(check(twelveHourly, "RPO deleted or encrypted data").met).to.equal(false);
        // With continuous backup (the declared stack) it is the 5-minute log shipping.
        expect(failure(computePosture(await stack("production")), "deleted or encrypted data").rpo!.minutes).to.equal(AWS_FIGURES.rdsLogShippingMinutes);
    });

    it("Replication Time Control removed from the uploads: their cross-region RPO has no bound and misses the target", async () => {
        const after = computePosture(
            changed(await stack("production"), each(AWS_TYPES.bucketReplication, (r) => r.props.rules.forEach((rule: any) => delete rule.destination.replicationTime))),
        );
        expect(store(after, "uploads").crossRegion!.minutes).to.equal(AWS_FIGURES.s3ReplicationWithoutRtcMinutes);
        expect(check(after, "RPO uploads (across regions)").met).to.equal(false);
    });

    it("the Route 53 health check at a 30 s interval: failover detection takes 90 s, past the plan's 30 s", async () => {
        const after = computePosture(changed(await stack("production"), each(AWS_TYPES.healthCheck, (r) => (r.props.requestInterval = 30))));
        expect(after.failoverDetectionSeconds).to.equal(90);
        expect(check(after, "failover detection (plan: within 30 s)").met).to.equal(false);
    });

    it("the database without Multi-AZ: losing the primary means a restore, and the figure moves", async () => {
        const after = computePosture(changed(await stack("production"), each(AWS_TYPES.dbInstance, (r) => (r.props.multiAz = false))));
        expect(failure(after, "database primary").rto!.minutes).to.equal(AWS_FIGURES.rdsRestoreMinutes);
        expect(failure(after, "database primary").rpo!.minutes).to.equal(AWS_FIGURES.rdsLogShippingMinutes);
    });

    it("the Redis snapshot job stretched to 24 h: the plan's 12-hour cadence is missed", async () => {
        const after = computePosture(
            changed(await stack("production"), each(AWS_TYPES.schedule, (r) => (r.props.scheduleExpression = r.props.scheduleExpression.replace("/12", "/24")))),
        );
        expect(store(after, "cache").inRegion!.minutes).to.equal(24 * 60);
        expect(check(after, "Redis snapshot interval (plan: every 12 hours)").met).to.equal(false);
    });

    it("a single app instance: losing it takes the site down until a replacement boots", async () => {
        const after = computePosture(changed(await stack("production"), each(AWS_TYPES.autoscalingGroup, (r) => (r.props.minSize = 1))));
        expect(failure(after, "instance").rto!.minutes).to.be.greaterThan(failure(computePosture(await stack("production")), "instance").rto!.minutes);
    });

    it("the offline plan prints the posture and fails on a missed target", async () => {
        const { summarise, renderPlan } = await import("../offline/plan");
        const report = summarise(changed(await stack("production"), without(AWS_TYPES.dbBackupReplication)));
        expect(report.problems.some((p) => p.startsWith("[recovery posture] RPO database (across regions): 360 min, target 60 min"))).to.equal(true);
        expect(renderPlan(report)).to.match(/Recovery posture \(targets: RPO 60 min, RTO 240 min/);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: a bad deploy is caught by pulumi up awaiting the rollout and undone by the last verified image, not by the refresh's auto-rollback`, async () => {
            const ev = await stack(name);
            const row = failure(computePosture(ev), "bad deploy");
            expect(row.rto!.minutes).to.equal(AWS_FIGURES.rollbackMinutes);
            expect(row.rto!.basis).to.match(/pulumi up awaits the rollout/).and.to.match(/old ones keep serving/);
            expect(row.rto!.basis).to.match(/scripts\/recovery\.sh rollback-image/).and.to.match(/terraform-provider-aws #34189/);
            expect(row.rto!.basis).not.to.match(/instance refresh back to the previous launch template/);
            // Without a check that awaits the rollout (and records the verified image) there is no known way back.
            const unchecked = computePosture(changed(ev, without("command:local:Command")));
            expect(failure(unchecked, "bad deploy").rto).to.equal(undefined);
            expect(check(unchecked, "RTO bad deploy").met).to.equal(false);
        });
    }

    it("an active DR site reports the regional failover as failback, set aside by its state instead of failing", async () => {
        const posture = computePosture(await stackWith("dr", { config: { siteRole: "active" } }));
        expect(check(posture, "RTO whole region").setAside).to.match(/no standby region until failback/);
        expect(failure(posture, "whole region").note).to.match(/this site serves: fail back/);
        expect(posture.checks.filter(isMissed)).to.deep.equal([]);
    });

    describe("the state of the stack: which site serves, what is degraded, against which targets", () => {
        const fenced = () => stackWith("production", { config: { siteFenced: "true" } });
        const active = () => stackWith("dr", { config: { siteRole: "active" } });
        const SERVING_PATH = ["RTO whole region", "RPO whole region", "failover detection (plan: within 30 s)"];

        it("the normal states (production serving, dr standby) set no target aside and say which site serves", async () => {
            const production = computePosture(await stack("production"));
            expect(production.state).to.include({ site: "primary", state: "normal", serving: true });
            expect(production.state.degraded).to.deep.equal([]);
            const dr = computePosture(await stack("dr"));
            expect(dr.state).to.include({ site: "dr", state: "standby", serving: false, servingSite: "the primary site" });
            for (const p of [production, dr]) expect(p.checks.filter((c) => c.setAside !== undefined).map((c) => c.what)).to.deep.equal([]);
        });

        it("a broken normal production still fails: without its HTTPS health check, failover detection and the region failover are missed", async () => {
            const noCheck = (resources: RecordedResource[]) => resources.filter((r) => !(r.type === AWS_TYPES.healthCheck && r.props.resourcePath));
            const broken = computePosture(changed(await stack("production"), noCheck));
            expect(broken.state.state).to.equal("normal");
            const missed = broken.checks.filter(isMissed).map((c) => c.what);
            expect(missed).to.include.members(SERVING_PATH);
        });

        it("production fenced (siteFenced=true): not serving, the DR site serves; the serving-path rows say so instead of missing; every other target met", async () => {
            const posture = computePosture(await fenced());
            expect(posture.state).to.include({ site: "primary", state: "fenced", serving: false, servingSite: "the DR site" });
            expect(posture.state.degraded.join("\n")).to.match(/out of DNS/).and.to.match(/no site to fail over to/);
            // Exactly the serving-path rows are set aside, each with "not serving: the DR site serves".
            const aside = posture.checks.filter((c) => c.setAside !== undefined);
            expect(aside.map((c) => c.what)).to.have.members(SERVING_PATH);
            for (const c of aside) expect(c.setAside).to.equal("not serving: the DR site serves");
            expect(failure(posture, "whole region").note).to.match(/^not serving: the DR site serves/);
            expect(posture.checks.filter(isMissed)).to.deep.equal([]);
            // The rest is still judged: the same count of judged rows as the site's own mechanisms.
            expect(posture.checks.filter((c) => c.setAside === undefined).length).to.equal(computePosture(await stack("production")).checks.length - SERVING_PATH.length);
        });

        it("a fence on the dr stack sets nothing aside: its serving-path rows measure the loss of the primary region", async () => {
            const posture = computePosture(await stackWith("dr", { config: { siteFenced: "true" } }));
            expect(posture.state.state).to.equal("standby");
            expect(posture.checks.filter((c) => c.setAside !== undefined)).to.deep.equal([]);
        });

        it("production fenced still fails on what is its own: without the automated-backup replication its cross-region RPO is missed", async () => {
            const broken = computePosture(changed(await fenced(), without(AWS_TYPES.dbBackupReplication)));
            expect(broken.checks.filter(isMissed).map((c) => c.what)).to.include("RPO database (across regions)");
        });

        it("dr active is judged as the serving site: failover detection and in-region targets count; the missing standby region is reported as degraded", async () => {
            const ev = await active();
            const posture = computePosture(ev);
            expect(posture.state).to.include({ site: "dr", state: "active", serving: true });
            expect(posture.state.degraded.join("\n")).to.match(new RegExp(`newest copy in another region is up to ${store(posture, "database").crossRegion!.minutes} min old`));
            expect(check(posture, "RPO database (across regions)").setAside).to.match(/^degraded: no standby region/);
            expect(check(posture, "failover detection (plan: within 30 s)").setAside).to.equal(undefined);
            expect(check(posture, "RTO instance").setAside).to.equal(undefined);
            // A serving DR site whose health check is too slow fails, as the primary does.
            const slow = computePosture(changed(ev, each(AWS_TYPES.healthCheck, (r) => (r.props.requestInterval = 30))));
            expect(slow.checks.filter(isMissed).map((c) => c.what)).to.deep.equal(["failover detection (plan: within 30 s)"]);
        });

        it("the plan prints the state and its set-aside rows, and lists what is degraded as advisories", async () => {
            const { summarise, renderPlan } = await import("../offline/plan");
            const report = summarise(await fenced());
            expect(report.problems).to.deep.equal([]);
            const text = renderPlan(report);
            expect(text).to.match(/Offline plan of stack production \(site role primary, fenced, not serving: the DR site serves/);
            expect(text).to.match(/state: production fenced \(not serving: the DR site serves\)/);
            expect(text).to.match(/3 set aside by the state \(reported, not failed\):\n\s+- RTO whole region: not serving: the DR site serves/);
            expect(report.advisories.some((a) => /^\[recovery posture\] production fenced .*degraded: no site to fail over to/.test(a))).to.equal(true);
        });
    });

    describe("the region-loss row follows the dr stack's Region switch plan (activate us-west-2)", () => {
        const PLAN = AWS_TYPES.regionSwitchPlan;
        const drWorkflow = (r: RecordedResource) => (r.props.workflows as any[]).find((w) => w.workflowTargetAction === "activate" && w.workflowTargetRegion === "us-west-2");
        const editPlan = (ev: StackEvaluation, edit: (workflow: any, plan: RecordedResource) => void) => changed(ev, each(PLAN, (r) => edit(drWorkflow(r), r)));
        const PLAN_RTO = `RTO whole region (the Region switch plan's own RTO, ${DR_PLAN.rtoMinutes} min)`;
        const WORST = "RTO whole region, worst case (every Region switch block at its timeout)";
        // Detection without the trigger: the primary's P1 composite (app down AND database down: the slower, 2 × 60 s) pages, then the operator decides.
        // The later page of the primary's P1 alarm (2 min) and this region's replica lag alarm (5 × 60 s: what
        // pages when the whole primary region is lost), then the P1 response time.
        const manualDetection = Math.max(2, 5) + DR_PLAN.p1ResponseMinutes;
        const promoteOrScale = Math.max(AWS_FIGURES.rdsReplicaPromotionMinutes, AWS_FIGURES.instanceLaunchMinutes + 300 / 60);
        const dns = 30 / 60 + AWS_FIGURES.route53AliasTtlMinutes;

        it("the RTO is detection, then the parallel step's longest block, then the DNS step; the how names the steps; both RTOs met", async () => {
            const posture = computePosture(await stack("dr"));
            const row = failure(posture, "whole region");
            expect(row.rto!.minutes).to.equal(manualDetection + promoteOrScale + dns);
            expect(row.rto!.basis).to.match(/Region switch plan genie-region-switch, activate us-west-2/);
            for (const step of ["promote-db-and-scale-app in parallel", "promote-db:", "scale-app:", "move-dns:"]) expect(row.rto!.basis).to.include(step);
            expect(row.rto!.basis).to.match(/replica lag alarm/).and.to.match(/operator acknowledging .*P1 response time "15 minutes"/);
            expect(check(posture, "RTO whole region").met).to.equal(true);
            expect(check(posture, PLAN_RTO)).to.include({ met: true, targetMinutes: DR_PLAN.rtoMinutes });
            // Worst case: detection + max(45, 30) + 10, the blocks' timeouts.
            expect(check(posture, WORST)).to.include({ met: true, minutes: manualDetection + 45 + 10 });
        });

        it("a parallel step takes its longest block: a slower scale-out (longer health check grace) becomes the step's figure", async () => {
            const ev = await stack("dr");
            const slowScale = changed(ev, each(AWS_TYPES.autoscalingGroup, (g) => (g.props.healthCheckGracePeriod = 900)));
            const scale = AWS_FIGURES.instanceLaunchMinutes + 900 / 60;
            expect(scale).to.be.greaterThan(AWS_FIGURES.rdsReplicaPromotionMinutes);
            expect(failure(computePosture(slowScale), "whole region").rto!.minutes).to.equal(manualDetection + scale + dns);
        });

        it("without this region's replica lag alarm, manual detection rests on the primary's P1 alarm alone", async () => {
            const ev = await stack("dr");
            const noLag = changed(ev, (rs) => rs.filter((r) => !(r.type === AWS_TYPES.metricAlarm && r.props.metricName === "ReplicaLag")));
            expect(failure(computePosture(noLag), "whole region").rto!.minutes).to.equal(2 + DR_PLAN.p1ResponseMinutes + promoteOrScale + dns);
        });

        it("an extra sequential step adds its duration; a longer block moves the parallel step only when it becomes the longest", async () => {
            const ev = await stack("dr");
            const base = failure(computePosture(ev), "whole region").rto!.minutes;
            const approval = { name: "approve", executionBlockType: "ManualApproval", executionApprovalConfigs: [{ approvalRole: "arn:aws:iam::123456789012:role/approver", timeoutMinutes: 60 }] };
            const withApproval = computePosture(editPlan(ev, (w) => w.steps.unshift(approval)));
            expect(failure(withApproval, "whole region").rto!.minutes).to.equal(base + DR_PLAN.p1ResponseMinutes);
            expect(failure(withApproval, "whole region").rto!.basis).to.match(/approve: an approval/);
            expect(check(withApproval, WORST).minutes).to.equal(check(computePosture(ev), WORST).minutes! + 60);
            // A second DNS step in sequence: one more health check round and TTL.
            const twice = computePosture(editPlan(ev, (w) => w.steps.push({ ...w.steps[1], name: "move-dns-again" })));
            expect(failure(twice, "whole region").rto!.minutes).to.equal(base + dns);
        });

        it("a longer timeout moves the worst case (and misses the RTO when the blocks may run past it); a timeout shorter than AWS's figure makes the execution stop there", async () => {
            const ev = await stack("dr");
            const promote = (w: any) => w.steps[0].parallelConfigs[0].steps[0].rdsPromoteReadReplicaConfigs[0];
            const longer = computePosture(editPlan(ev, (w) => (promote(w).timeoutMinutes = 300)));
            expect(check(longer, WORST)).to.include({ minutes: manualDetection + 300 + 10, met: false });
            expect(failure(longer, "whole region").rto!.minutes).to.equal(manualDetection + promoteOrScale + dns);
            const tooShort = computePosture(editPlan(ev, (w) => (promote(w).timeoutMinutes = 5)));
            expect(failure(tooShort, "whole region").rto).to.equal(undefined);
            expect(failure(tooShort, "whole region").note).to.match(/step promote-db times out after 5 min, before its expected 10 min/);
            expect(tooShort.checks.filter(isMissed).map((c) => c.what)).to.include.members(["RTO whole region", PLAN_RTO]);
        });

        it("a plan without its DNS step (or its promotion) misses the region-loss target and says why", async () => {
            const ev = await stack("dr");
            const noDns = computePosture(editPlan(ev, (w) => (w.steps = w.steps.filter((s: any) => s.executionBlockType !== "Route53HealthCheck"))));
            expect(failure(noDns, "whole region").rto).to.equal(undefined);
            expect(failure(noDns, "whole region").note).to.match(/no Route 53 health check step moves us-west-2's record/);
            expect(noDns.checks.filter(isMissed).map((c) => c.what)).to.include.members(["RTO whole region", PLAN_RTO]);
            const noPromotion = computePosture(editPlan(ev, (w) => (w.steps[0].parallelConfigs[0].steps = w.steps[0].parallelConfigs[0].steps.slice(1))));
            expect(failure(noPromotion, "whole region").note).to.match(/no step promotes genie-dr-db-instance in us-west-2/);
            expect(check(noPromotion, "RTO whole region").met).to.equal(false);
            // The plan's own RTO is the target of its row: tightened below the figure, it is missed.
            const tight = computePosture(editPlan(ev, (_w, plan) => (plan.props.recoveryTimeObjectiveMinutes = 20)));
            expect(check(tight, "RTO whole region (the Region switch plan's own RTO, 20 min)").met).to.equal(false);
        });

        it("with the automatic trigger on, the whole-region row still counts an operator: the trigger's alarm is in the region that is lost", async () => {
            const without = failure(computePosture(await stack("dr")), "whole region");
            const row = failure(computePosture(await stackWith("dr", { config: { regionSwitchAutoActivate: "true" } })), "whole region");
            expect(row.rto!.basis).to.match(/the plan's trigger is on, but its alarm is in the region that is lost: not counted/);
            expect(row.rto!.minutes).to.equal(without.rto!.minutes);
        });

        it("production keeps its own estimate and says the dr stack computes the row from the plan; an active dr site sets it aside", async () => {
            const production = failure(computePosture(await stack("production")), "whole region");
            expect(production.rto!.basis).to.match(/the dr stack's posture computes it from its Region switch plan's steps/);
            const active = computePosture(await stackWith("dr", { config: { siteRole: "active" } }));
            expect(active.checks.map((c) => c.what)).not.to.include(WORST);
            expect(active.checks.filter(isMissed)).to.deep.equal([]);
        });
    });

    it("reads AWS cron expressions as intervals", () => {
        expect(cronIntervalHours("cron(0 0/6 * * ? *)")).to.equal(6);
        expect(cronIntervalHours("cron(30 3/12 * * ? *)")).to.equal(12);
        expect(cronIntervalHours("cron(0 5 ? * SUN *)")).to.equal(168);
        expect(cronIntervalHours("cron(0 5 * * ? *)")).to.equal(24);
        expect(cronIntervalHours("rate(2 hours)")).to.equal(2);
    });
});
