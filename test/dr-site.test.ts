import { expect } from "chai";
import { DRILLS } from "../components/drills";
import { DR_PLAN } from "../infra/dr-plan";
import { capabilitiesIn, CAPABILITIES } from "../offline/capabilities";
import { RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

/** Every production capability the active DR site (its own resources plus the landing zone in its region) lacks. */
function lacking(production: StackEvaluation, active: StackEvaluation): string[] {
    const bar = capabilitiesIn("us-east-1", production);
    const dr = capabilitiesIn("us-west-2", active, production);
    return bar.filter((c) => !dr.includes(c));
}

/** The values an operator keeps in Pulumi.dr.yaml so the DR site comes up without the production state. */
const PRODUCTION_VALUES_IN_CONFIG = {
    primaryDatabaseArn: "arn:aws:rds:us-east-1:123456789012:db:genie-primary-db",
    primaryBackupVaultArn: "arn:aws:backup:us-east-1:123456789012:backup-vault:genie-primary-backup-vault",
    drBackupsBucketName: "genie-primary-storage-dr-backups-bucket",
    // What the Region switch plan (components/region-switch.ts) names of the production site.
    primaryAppAutoScalingGroupArn: "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1234:autoScalingGroupName/genie-primary-app",
    primaryCriticalAlarmArn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:genie-primary-p1",
};

describe("the dr stack: a complete second site", () => {
    it("an active DR site has every capability of the production site: the list of what it lacks is empty", async () => {
        const production = await stack("production");
        expect(capabilitiesIn("us-east-1", production)).to.have.members(Object.keys(CAPABILITIES));
        expect(lacking(production, await stackWith("dr", { config: { siteRole: "active" } }))).to.deep.equal([]);
    });

    it("the comparison notices a missing capability (an active site without its read replica or drills)", async () => {
        const production = await stack("production");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const drop = (test: (r: RecordedResource) => boolean): StackEvaluation => ({ ...active, resources: active.resources.filter((r) => !test(r)) });
        expect(lacking(production, drop((r) => r.name === "genie-dr-db-read-replica"))).to.deep.equal(["in-region database read replica"]);
        expect(lacking(production, drop((r) => r.type === AWS_TYPES.fisExperimentTemplate))).to.deep.equal(["monthly failover drills"]);
    });

    it("a standby site keeps cost low: one small app instance, a small replica and cache, no drills or backup plan", async () => {
        const standby = await stack("dr");
        const group = ofType(standby, AWS_TYPES.autoscalingGroup)[0];
        expect(group.props).to.include({ minSize: 1, desiredCapacity: 1 });
        expect(one(standby, AWS_TYPES.dbInstance, "genie-dr-db-instance").props.instanceClass).to.match(/^db\.t4g\./);
        expect(one(standby, AWS_TYPES.cache, "genie-dr-cache-redis").props.nodeType).to.match(/^cache\.t4g\./);
        expect(ofType(standby, AWS_TYPES.fisExperimentTemplate)).to.deep.equal([]);
        expect(ofType(standby, AWS_TYPES.backupPlan)).to.deep.equal([]);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(ofType(active, AWS_TYPES.autoscalingGroup)[0].props.minSize).to.equal(2);
    });

    it("comes up with the production state unreachable, from the values kept in config (standby and active)", async () => {
        for (const siteRole of ["standby", "active"]) {
            const ev = await stackWith("dr", { config: { siteRole, ...PRODUCTION_VALUES_IN_CONFIG }, stackReference: "unavailable" });
            expect(ev.resources.length, siteRole).to.be.greaterThan(100);
        }
    });

    it("an active site backs its database up into a locked vault of its own, copying to the primary region's vault", async () => {
        const active = await stackWith("dr", { config: { siteRole: "active", ...PRODUCTION_VALUES_IN_CONFIG }, stackReference: "unavailable" });
        const plan = one(active, AWS_TYPES.backupPlan, "genie-dr-backup-plan");
        expect(plan.region).to.equal("us-west-2");
        // Every snapshot rule copies (the continuous rule's point-in-time window stays in its region).
        const copies = plan.props.rules.filter((rule: any) => rule.enableContinuousBackup !== true).flatMap((rule: any) => rule.copyActions.map((c: any) => c.destinationVaultArn));
        expect(new Set(copies)).to.deep.equal(new Set([PRODUCTION_VALUES_IN_CONFIG.primaryBackupVaultArn]));
        const vault = resolve(active, plan.props.rules[0].targetVaultName)!;
        expect(vault.type).to.equal(AWS_TYPES.backupVault);
        expect(vault.region).to.equal("us-west-2");
        const lock = ofType(active, AWS_TYPES.backupVaultLock).find((l) => l.props.backupVaultName === vault.id)!;
        expect(lock.props.minRetentionDays).to.be.at.least(DR_PLAN.dbDailyRetentionDays);
        // Its Redis exports go to the landing zone's Redis exports bucket in its region (SSE-S3, ElastiCache's
        // bucket policy; the KMS backups bucket cannot take them), found by its fixed name.
        const job = JSON.parse(one(active, AWS_TYPES.stateMachine, "genie-dr-cache-snapshots-job").props.definition);
        expect(job.States.ExportToS3.Arguments.TargetBucket).to.equal("genie-primary-storage-redis-123456789012-us-west-2");
    });
});

describe("drills: the plan's monthly failover tests", () => {
    it("fail the database over and take away one zone's app instances, each stopped by the critical alarm", async () => {
        const ev = await stack("production");
        const templates = ofType(ev, AWS_TYPES.fisExperimentTemplate);
        expect(templates.map((t) => t.props.actions[0].actionId).sort()).to.deep.equal(Object.values(DRILLS).map((d) => d.actionId).sort());
        const composite = ofType(ev, AWS_TYPES.compositeAlarm)[0];
        for (const t of templates) {
            expect(t.props.stopConditions).to.deep.equal([{ source: "aws:cloudwatch:alarm", value: composite.outputs.arn }]);
        }
        const failover = templates.find((t) => t.props.actions[0].actionId === DRILLS["database-failover"].actionId)!;
        expect(failover.props.actions[0].parameters).to.deep.equal([{ key: "forceFailover", value: "true" }]);
        expect(failover.props.targets[0].resourceArns).to.deep.equal([one(ev, AWS_TYPES.dbInstance, "genie-primary-db-instance").outputs.arn]);
        const zoneLoss = templates.find((t) => t.props.actions[0].actionId === DRILLS["zone-instance-loss"].actionId)!;
        const group = ofType(ev, AWS_TYPES.autoscalingGroup)[0];
        expect(zoneLoss.props.targets[0].resourceTags).to.deep.equal([{ key: "aws:autoscaling:groupName", value: group.outputs.name }]);
        expect(zoneLoss.props.targets[0].filters[0]).to.deep.equal({ path: "Placement.AvailabilityZone", values: ["us-east-1a"] });
    });

    it("run as a role that can touch only this site's database and this group's instances", async () => {
        const ev = await stack("production");
        const policy = JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, "genie-primary-drills-fis").props.policy);
        const reboot = policy.Statement.find((s: any) => s.Action.includes("rds:RebootDBInstance"));
        expect(reboot.Resource).to.deep.equal([one(ev, AWS_TYPES.dbInstance, "genie-primary-db-instance").outputs.arn]);
        const terminate = policy.Statement.find((s: any) => s.Action.includes("ec2:TerminateInstances"));
        expect(terminate.Condition.StringEquals["aws:ResourceTag/aws:autoscaling:groupName"]).to.equal(ofType(ev, AWS_TYPES.autoscalingGroup)[0].outputs.name);
        for (const s of policy.Statement.filter((x: any) => x.Resource === "*")) {
            expect(s.Action.every((a: string) => /^(rds|ec2):Describe|^logs:/.test(a)), s.Sid).to.equal(true);
        }
    });

    it("are scheduled monthly by EventBridge Scheduler, and paused (not deleted) by drillsEnabled=false", async () => {
        const ev = await stack("production");
        const schedules = ofType(ev, AWS_TYPES.schedule).filter((s) => s.name.startsWith("genie-primary-drills-"));
        expect(schedules.map((s) => s.props.scheduleExpression).sort()).to.deep.equal(Object.values(DRILLS).map((d) => d.schedule).sort());
        for (const s of schedules) {
            expect(s.props.scheduleExpression).to.match(/^cron\(\S+ \S+ \? \* [A-Z]{3}#1 \*\)$/); // the first <weekday> of every month
            expect(s.props.target.arn).to.equal("arn:aws:scheduler:::aws-sdk:fis:startExperiment");
            expect(s.props.state).to.equal("ENABLED");
        }
        const paused = await stackWith("production", { config: { drillsEnabled: "false" } });
        const pausedSchedules = ofType(paused, AWS_TYPES.schedule).filter((s) => s.name.startsWith("genie-primary-drills-"));
        expect(pausedSchedules.map((s) => s.props.state)).to.deep.equal(["DISABLED", "DISABLED"]);
        expect(ofType(paused, AWS_TYPES.fisExperimentTemplate)).to.have.length(2);
    });
});

describe("the DR site's IAM roles: declared while standby, used unchanged once active (issue 13)", () => {
    const roleArnOf = (ev: StackEvaluation, name: string) => one(ev, AWS_TYPES.iamRole, name).outputs.arn;
    const policyOf = (ev: StackEvaluation, name: string) => JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, name).props.policy).Statement;

    it("the standby declares the roles of the backup plan, restore tests, Redis snapshot job and drills; the active site's resources run as them", async () => {
        const standby = await stack("dr");
        for (const name of ["genie-dr-backup-role", "genie-dr-restore-testing-role", "genie-dr-cache-snapshots-job", "genie-dr-cache-snapshots-scheduler", "genie-dr-drills-fis", "genie-dr-drills-scheduler"]) {
            expect(ofType(standby, AWS_TYPES.iamRole).map((r) => r.name), name).to.include(name);
        }
        expect(ofType(standby, AWS_TYPES.iamRolePolicyAttachment).map((a) => a.name)).to.include.members([
            "genie-dr-backup-AWSBackupServiceRolePolicyForBackup", "genie-dr-backup-AWSBackupServiceRolePolicyForRestores", "genie-dr-restore-testing-restores",
        ]);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(one(active, AWS_TYPES.backupSelection, "genie-dr-backup-selection").props.iamRoleArn).to.equal(roleArnOf(active, "genie-dr-backup-role"));
        for (const sel of ofType(active, AWS_TYPES.restoreTestingSelection)) {
            expect(sel.props.iamRoleArn, sel.name).to.equal(roleArnOf(active, "genie-dr-restore-testing-role"));
        }
        const machine = one(active, AWS_TYPES.stateMachine, "genie-dr-cache-snapshots-job");
        expect(machine.props.roleArn).to.equal(roleArnOf(active, "genie-dr-cache-snapshots-job"));
        const schedule = ofType(active, AWS_TYPES.schedule).find((x) => x.name.startsWith("genie-dr-cache-snapshots-"))!;
        expect(schedule.props.target.roleArn).to.equal(roleArnOf(active, "genie-dr-cache-snapshots-scheduler"));
        for (const t of ofType(active, AWS_TYPES.fisExperimentTemplate)) expect(t.props.roleArn, t.name).to.equal(roleArnOf(active, "genie-dr-drills-fis"));
    });

    it("policies that name what exists only when active name it by the name the program gives it, least privilege kept", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        // The snapshot job's scheduler may start exactly the job the active site names so (its ARN from its name).
        const machine = one(active, AWS_TYPES.stateMachine, "genie-dr-cache-snapshots-job");
        expect(machine.props.name).to.equal("genie-dr-cache-snapshots-job");
        expect(policyOf(standby, "genie-dr-cache-snapshots-scheduler").find((x: any) => x.Sid === "StartTheJob").Resource).to.deep.equal([machine.outputs.arn]);
        // The job's role exports to the landing zone's exports bucket of this region, the one the active job writes to.
        const job = policyOf(standby, "genie-dr-cache-snapshots-job");
        const bucketName = JSON.parse(machine.props.definition).States.ExportToS3.Arguments.TargetBucket;
        expect(job.find((x: any) => x.Sid === "FindTheBucket").Resource).to.deep.equal([`arn:aws:s3:::${bucketName}`]);
        // The drills' role reboots the database by its identifier's ARN (the replica's, the promoted one's).
        const fis = policyOf(standby, "genie-dr-drills-fis");
        const db = one(active, AWS_TYPES.dbInstance, "genie-dr-db-instance");
        expect(fis.find((x: any) => x.Sid === "FailOverThisDatabase").Resource).to.deep.equal([db.outputs.arn]);
        // The drills' scheduler starts only templates tagged with the names of the active site's templates.
        const start = policyOf(standby, "genie-dr-drills-scheduler").find((x: any) => x.Sid === "StartTheDrillTemplates");
        expect(start.Resource).to.deep.equal(["arn:aws:fis:us-west-2:123456789012:experiment-template/*"]);
        const names = ofType(active, AWS_TYPES.fisExperimentTemplate).map((t) => t.props.tags.Name).sort();
        expect([...start.Condition.StringEquals["aws:ResourceTag/Name"]].sort()).to.deep.equal(names);
    });

    it("an active site refuses a drBackupsBucketName outside the prefix its app instances' policy names", async () => {
        let message = "";
        try {
            await stackWith("dr", { config: { siteRole: "active", drBackupsBucketName: "some-other-bucket" } });
        } catch (err) {
            message = String(err);
        }
        expect(message).to.include("is not genie-primary-storage-dr-backups-bucket or genie-primary-storage-dr-backups-bucket-<7 characters>");
    });
});

describe("failback safety: fencing the primary site", () => {
    it("siteFenced=true makes production's failover health check always unhealthy, so DNS stays on the DR site", async () => {
        const fenced = await stackWith("production", { config: { siteFenced: "true" } });
        const check = one(fenced, AWS_TYPES.healthCheck, "genie-primary-failover-health-check");
        // A calculated check needing one healthy child, with none: Route 53 always considers it unhealthy.
        expect(check.props).to.include({ type: "CALCULATED", childHealthThreshold: 1 });
        expect(check.props.childHealthchecks).to.deep.equal([]);
        const record = one(fenced, AWS_TYPES.route53Record, "genie-primary-failover-record");
        expect(record.props.healthCheckId).to.equal(check.id);
        expect(record.props.failoverRoutingPolicies).to.deep.equal([{ type: "PRIMARY" }]);
        // The same record and check resources as unfenced: fencing and unfencing are updates of the pair.
        const normal = await stack("production");
        expect(one(normal, AWS_TYPES.healthCheck, "genie-primary-failover-health-check").props.type).to.equal("HTTPS");
    });

    it("the plan says a fenced site is out of DNS failover, and passes (a committed fence must not block the deploy)", async () => {
        const { summarise } = await import("../offline/plan");
        const report = summarise(await stackWith("production", { config: { siteFenced: "true" } }));
        expect(report.problems).to.deep.equal([]);
        const detection = report.posture.checks.find((c) => c.what === "failover detection (plan: within 30 s)")!;
        expect(detection.setAside).to.equal("not serving: the DR site serves");
    });
});
