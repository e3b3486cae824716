import { expect } from "chai";
import { REGION_SWITCH_TIMEOUTS, UNGRACEFUL_MIN_CAPACITY_PERCENT } from "../components/region-switch";
import { DR_PLAN } from "../infra/dr-plan";
import { ofType, one, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const PLAN = AWS_TYPES.regionSwitchPlan;
const regionOf = (arn: string) => arn.split(":")[3];
const HEALTH_CHECK_ID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

describe("the ARC Region switch plan (dr stack)", () => {
    it("only the dr stack declares it, in every DR state, with the same inputs (the failover pulumi up does not touch it)", async () => {
        expect(ofType(await stack("production"), PLAN)).to.deep.equal([]);
        const standby = one(await stack("dr"), PLAN, "genie-region-switch-plan");
        const active = one(await stackWith("dr", { config: { siteRole: "active" } }), PLAN, "genie-region-switch-plan");
        expect(active.props).to.deep.equal(standby.props);
    });

    it("is active/passive over the two regions, primary first, with the plan's RTO or tighter", async () => {
        const plan = one(await stack("dr"), PLAN, "genie-region-switch-plan");
        expect(plan.props).to.include({ recoveryApproach: "activePassive", primaryRegion: "us-east-1", name: "genie-region-switch" });
        expect(plan.props.regions).to.deep.equal(["us-east-1", "us-west-2"]);
        expect(plan.props.recoveryTimeObjectiveMinutes).to.be.at.most(DR_PLAN.rtoMinutes);
    });

    it("activates the DR region: promote and scale in parallel, then DNS; the return scales and moves DNS, promoting nothing; every ARN in its region", async () => {
        const plan = one(await stack("dr"), PLAN, "genie-region-switch-plan");
        const workflows = plan.props.workflows as any[];
        expect(workflows.map((w) => `${w.workflowTargetAction} ${w.workflowTargetRegion}`)).to.deep.equal(["activate us-west-2", "activate us-east-1"]);
        const [failover, back] = workflows;
        expect(failover.steps.map((s: any) => s.executionBlockType)).to.deep.equal(["Parallel", "Route53HealthCheck"]);
        const inner = failover.steps[0].parallelConfigs[0].steps;
        expect(inner.map((s: any) => s.executionBlockType)).to.deep.equal(["RdsPromoteReadReplica", "EC2AutoScaling"]);
        const dbs = inner[0].rdsPromoteReadReplicaConfigs[0].dbInstanceArnMap as Record<string, string>;
        expect(Object.keys(dbs).sort()).to.deep.equal(["us-east-1", "us-west-2"]);
        for (const [region, arn] of Object.entries(dbs)) expect(regionOf(arn), arn).to.equal(region);
        expect(inner[0].rdsPromoteReadReplicaConfigs[0].timeoutMinutes).to.equal(REGION_SWITCH_TIMEOUTS.promoteDatabaseMinutes);
        // The return: production's database is restored by failback, never a replica here, so nothing to
        // promote (a promote block on a standalone instance would fail the execution and warn at every evaluation).
        expect(back.steps.map((s: any) => s.executionBlockType)).to.deep.equal(["EC2AutoScaling", "Route53HealthCheck"]);
        expect(JSON.stringify(back)).not.to.include("RdsPromoteReadReplica");
        for (const [w, scale] of [[failover, inner[1]], [back, back.steps[0]]]) {
            expect(scale.ec2AsgCapacityIncreaseConfigs[0].asgs.map((a: any) => regionOf(a.arn))).to.deep.equal(["us-east-1", "us-west-2"]);
            // An ungraceful execution (the Region being left is lost) moves on once this share is in service.
            expect(scale.ec2AsgCapacityIncreaseConfigs[0].ungraceful).to.deep.equal({ minimumSuccessPercentage: UNGRACEFUL_MIN_CAPACITY_PERCENT });
            const dns = w.steps[1].route53HealthCheckConfigs[0];
            expect(dns.recordSets).to.deep.equal([
                { recordSetIdentifier: "genie-primary", region: "us-east-1" },
                { recordSetIdentifier: "genie-dr", region: "us-west-2" },
            ]);
            // The timeouts the workflow declares fit in the RTO (a parallel step takes its longest block).
            const first = w.steps[0].executionBlockType === "Parallel"
                ? Math.max(inner[0].rdsPromoteReadReplicaConfigs[0].timeoutMinutes, inner[1].ec2AsgCapacityIncreaseConfigs[0].timeoutMinutes)
                : scale.ec2AsgCapacityIncreaseConfigs[0].timeoutMinutes;
            for (const t of [first, dns.timeoutMinutes]) expect(t, "every block declares a timeout").to.be.a("number").above(0);
            expect(first + dns.timeoutMinutes).to.be.at.most(plan.props.recoveryTimeObjectiveMinutes);
        }
    });

    it("associates both sites' P1 alarms; the automatic trigger is off unless configured, with a flapping guard", async () => {
        const plan = one(await stack("dr"), PLAN, "genie-region-switch-plan");
        expect((plan.props.associatedAlarms as any[]).map((a) => `${a.alarmType} ${regionOf(a.resourceIdentifier)}`)).to.deep.equal(["applicationHealth us-east-1", "applicationHealth us-west-2"]);
        expect(plan.props.triggers ?? []).to.deep.equal([]);
        const auto = one(await stackWith("dr", { config: { regionSwitchAutoActivate: "true" } }), PLAN, "genie-region-switch-plan");
        const [trigger] = auto.props.triggers as any[];
        expect(trigger).to.include({ action: "activate", targetRegion: "us-west-2", minDelayMinutesBetweenExecutions: 60 });
        expect(trigger.conditions).to.deep.equal([{ associatedAlarmName: "primary-p1-trigger", condition: "red" }]);
    });

    it("the execution role trusts Region switch and has the documented permissions of the blocks it uses (the RDS ones scoped to the two instances)", async () => {
        const dr = await stack("dr");
        const role = one(dr, AWS_TYPES.iamRole, "genie-region-switch-execution-role");
        expect(JSON.parse(role.props.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "arc-region-switch.amazonaws.com" });
        const policy = JSON.parse(one(dr, AWS_TYPES.iamRolePolicy, "genie-region-switch-execution-policy").props.policy);
        const bySid = Object.fromEntries((policy.Statement as any[]).map((s) => [s.Sid, s]));
        expect(Object.keys(bySid)).to.deep.equal(["PlanEvaluation", "PlanAndExecutions", "RdsDescribe", "RdsPromoteReadReplica", "Ec2AutoScalingDescribe", "Ec2AutoScalingUpdate", "Ec2AutoScalingCapacity", "Route53HealthCheck", "AssociatedAlarms"]);
        // The RDS sample policy's actions for promotion (no CreateDBInstanceReadReplica: no cross-Region replica block).
        expect(bySid.RdsDescribe).to.deep.include({ Action: "rds:DescribeDBInstances", Resource: "*" });
        expect(bySid.RdsPromoteReadReplica.Action).to.deep.equal(["rds:PromoteReadReplica", "rds:ModifyDBInstance"]);
        expect(bySid.RdsPromoteReadReplica.Resource.map(regionOf)).to.deep.equal(["us-east-1", "us-west-2"]);
        expect(bySid.Ec2AutoScalingUpdate.Resource.map(regionOf)).to.deep.equal(["us-east-1", "us-west-2"]);
        expect(bySid.Ec2AutoScalingCapacity.Condition).to.deep.equal({ StringEquals: { "cloudwatch:namespace": "AWS/AutoScaling" } });
        const zone = one(dr, PLAN, "genie-region-switch-plan").props.workflows[0].steps[1].route53HealthCheckConfigs[0].hostedZoneId;
        expect(bySid.Route53HealthCheck).to.include({ Action: "route53:ListResourceRecordSets", Resource: `arn:aws:route53:::hostedzone/${zone}` });
        // Nothing of the blocks the plan does not use, and no StartPlanExecution without a trigger.
        expect(JSON.stringify(policy)).not.to.match(/CreateDBInstanceReadReplica|lambda:|ecs:|eks:|StartPlanExecution/);
    });

    it("an automatic trigger can start the plan: its execution role may StartPlanExecution on the plan (plan evaluation checks it)", async () => {
        const auto = await stackWith("dr", { config: { regionSwitchAutoActivate: "true" } });
        const policy = JSON.parse(one(auto, AWS_TYPES.iamRolePolicy, "genie-region-switch-execution-policy").props.policy);
        const start = (policy.Statement as any[]).find((s) => s.Sid === "TriggeredExecutions");
        const planName = one(auto, PLAN, "genie-region-switch-plan").props.name;
        expect(start).to.deep.include({ Action: "arc-region-switch:StartPlanExecution", Resource: `arn:aws:arc-region-switch::*:plan/${planName}*` });
    });

    it("comes up from config alone while the production state cannot be read", async () => {
        const ev = await stackWith("dr", {
            config: {
                primaryDatabaseArn: "arn:aws:rds:us-east-1:123456789012:db:genie-primary-db",
                primaryBackupVaultArn: "arn:aws:backup:us-east-1:123456789012:backup-vault:genie-primary-backup-vault",
                drBackupsBucketName: "genie-primary-storage-dr-backups-bucket",
                primaryAppAutoScalingGroupArn: "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1234:autoScalingGroupName/genie-primary-app",
                primaryCriticalAlarmArn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:genie-primary-p1",
            },
            stackReference: "unavailable",
        });
        expect(one(ev, PLAN, "genie-region-switch-plan").props.associatedAlarms[0].resourceIdentifier).to.equal("arn:aws:cloudwatch:us-east-1:123456789012:alarm:genie-primary-p1");
    });
});

describe("DNS the plan controls", () => {
    it("without the plan's health check, each record carries the app's check as before", async () => {
        const record = one(await stack("production"), AWS_TYPES.route53Record, "genie-primary-failover-record");
        const check = one(await stack("production"), AWS_TYPES.healthCheck, "genie-primary-failover-health-check");
        expect(check.props.type).to.equal("HTTPS");
        expect(record.props.healthCheckId).to.equal(check.id);
    });

    it("PRIMARY: the app's check AND the plan's; a deactivated primary is out of DNS whatever its app answers", async () => {
        const ev = await stackWith("production", { config: { regionSwitchHealthCheckId: HEALTH_CHECK_ID } });
        const app = one(ev, AWS_TYPES.healthCheck, "genie-primary-failover-health-check");
        const combined = one(ev, AWS_TYPES.healthCheck, "genie-primary-failover-record-health-check");
        expect(combined.props).to.include({ type: "CALCULATED", childHealthThreshold: 2 });
        expect(combined.props.childHealthchecks).to.deep.equal([app.id, HEALTH_CHECK_ID]);
        const record = one(ev, AWS_TYPES.route53Record, "genie-primary-failover-record");
        expect(record.props.healthCheckId).to.equal(combined.id);
    });

    it("SECONDARY: the app's check OR the plan's, without target health: an activated DR region never hands DNS back to the primary", async () => {
        const ev = await stackWith("dr", { config: { regionSwitchHealthCheckId: HEALTH_CHECK_ID } });
        const combined = one(ev, AWS_TYPES.healthCheck, "genie-dr-failover-record-health-check");
        expect(combined.props).to.include({ type: "CALCULATED", childHealthThreshold: 1 });
        const record = one(ev, AWS_TYPES.route53Record, "genie-dr-failover-record");
        expect(record.props.healthCheckId).to.equal(combined.id);
        expect(record.props.aliases[0].evaluateTargetHealth).to.equal(false);
    });
});
