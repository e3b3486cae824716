import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { violationsOf, ruleAndName } from "../support/aws-rules";

/** The distinct `<rule> <name>` refusals (a rule reports each problem of a resource). */
const refusals = (program: () => void) => violationsOf(program).then(ruleAndName).then((found) => [...new Set(found)]);

const EAST_DB = "arn:aws:rds:us-east-1:123456789012:db:genie-primary-db";
const WEST_DB = "arn:aws:rds:us-west-2:123456789012:db:genie-dr-db";
const trust = (service: string) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });

function plan(extra: Partial<aws.arcregionswitch.PlanArgs> = {}, principal = "arc-region-switch.amazonaws.com") {
    const provider = new aws.Provider("oregon", { region: "us-west-2" });
    const role = new aws.iam.Role("exec", { assumeRolePolicy: trust(principal) }, { provider });
    return new aws.arcregionswitch.Plan("plan", {
        name: "genie-region-switch",
        executionRole: role.arn,
        recoveryApproach: "activePassive",
        primaryRegion: "us-east-1",
        regions: ["us-east-1", "us-west-2"],
        workflows: [{
            workflowTargetAction: "activate",
            workflowTargetRegion: "us-west-2",
            steps: [{
                name: "promote-db",
                executionBlockType: "RdsPromoteReadReplica",
                rdsPromoteReadReplicaConfigs: [{ dbInstanceArnMap: { "us-east-1": EAST_DB, "us-west-2": WEST_DB }, timeoutMinutes: 30 }],
            }],
        }],
        ...extra,
    }, { provider });
}

describe("aws-rules: ARC Region switch", () => {
    it("accepts a well-formed active/passive plan", async () => {
        expect(await refusals(() => plan())).to.deep.equal([]);
    });

    it("arc-plan-name: 1-32 letters, digits and inner hyphens", async () => {
        expect(await refusals(() => plan({ name: "genie_region_switch" }))).to.deep.equal(["arc-plan-name plan"]);
        expect(await refusals(() => plan({ name: "g".repeat(33) }))).to.deep.equal(["arc-plan-name plan"]);
        expect(await refusals(() => plan({ name: "-genie" }))).to.deep.equal(["arc-plan-name plan"]);
    });

    it("arc-plan-regions: exactly two different Regions, the primary among them", async () => {
        expect(await refusals(() => plan({ regions: ["us-east-1", "us-west-2", "eu-west-1"] }))).to.include("arc-plan-regions plan");
        expect(await refusals(() => plan({ regions: ["us-east-1", "us-east-1"] }))).to.include("arc-plan-regions plan");
        expect(await refusals(() => plan({ primaryRegion: "eu-west-1" }))).to.deep.equal(["arc-plan-regions plan"]);
    });

    it("arc-target-region-of-plan: workflows and triggers target a Region of the plan", async () => {
        expect(await refusals(() => plan({ workflows: [{ workflowTargetAction: "activate", workflowTargetRegion: "eu-west-1", steps: [] }] }))).to.deep.equal(["arc-target-region-of-plan plan"]);
    });

    it("arc-block-arns-by-region: each Region's database ARN is in that Region, every Region has one", async () => {
        const swapped = { dbInstanceArnMap: { "us-east-1": WEST_DB, "us-west-2": EAST_DB } };
        expect(await refusals(() => plan({
            workflows: [{ workflowTargetAction: "activate", workflowTargetRegion: "us-west-2", steps: [{ name: "promote-db", executionBlockType: "RdsPromoteReadReplica", rdsPromoteReadReplicaConfigs: [swapped] }] }],
        }))).to.deep.equal(["arc-block-arns-by-region plan"]);
        expect(await refusals(() => plan({
            workflows: [{ workflowTargetAction: "activate", workflowTargetRegion: "us-west-2", steps: [{ name: "promote-db", executionBlockType: "RdsPromoteReadReplica", rdsPromoteReadReplicaConfigs: [{ dbInstanceArnMap: { "us-west-2": WEST_DB } }] }] }],
        }))).to.deep.equal(["arc-block-arns-by-region plan"]);
        // Inside a Parallel step too, and for Auto Scaling groups and record sets.
        expect(await refusals(() => plan({
            workflows: [{
                workflowTargetAction: "activate", workflowTargetRegion: "us-west-2",
                steps: [{ name: "both", executionBlockType: "Parallel", parallelConfigs: [{ steps: [{
                    name: "scale", executionBlockType: "EC2AutoScaling",
                    ec2AsgCapacityIncreaseConfigs: [{ capacityMonitoringApproach: "sampledMaxInLast24Hours", asgs: [{ arn: "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:0:autoScalingGroupName/app" }] }],
                }] }] }],
            }],
        }))).to.deep.equal(["arc-block-arns-by-region plan"]);
    });

    it("arc-block-timeout: at least one minute", async () => {
        expect(await refusals(() => plan({
            workflows: [{ workflowTargetAction: "activate", workflowTargetRegion: "us-west-2", steps: [{ name: "promote-db", executionBlockType: "RdsPromoteReadReplica", rdsPromoteReadReplicaConfigs: [{ dbInstanceArnMap: { "us-east-1": EAST_DB, "us-west-2": WEST_DB }, timeoutMinutes: 0 }] }] }],
        }))).to.deep.equal(["arc-block-timeout plan"]);
    });

    it("arc-promote-read-replica-active-passive: promotion only in an active/passive plan", async () => {
        expect(await refusals(() => plan({ recoveryApproach: "activeActive" }))).to.deep.equal(["arc-promote-read-replica-active-passive plan"]);
    });

    it("arc-trigger-conditions: 1-10 conditions naming associated alarms", async () => {
        const alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:p1";
        expect(await refusals(() => plan({
            associatedAlarms: [{ mapBlockKey: "p1", alarmType: "trigger", resourceIdentifier: alarm }],
            triggers: [{ action: "activate", targetRegion: "us-west-2", minDelayMinutesBetweenExecutions: 60, conditions: [{ associatedAlarmName: "other", condition: "red" }] }],
        }))).to.deep.equal(["arc-trigger-conditions plan"]);
        expect(await refusals(() => plan({
            associatedAlarms: [{ mapBlockKey: "p1", alarmType: "trigger", resourceIdentifier: alarm }],
            triggers: [{ action: "activate", targetRegion: "us-west-2", minDelayMinutesBetweenExecutions: 60, conditions: [{ associatedAlarmName: "p1", condition: "red" }] }],
        }))).to.deep.equal([]);
    });

    it("arc-execution-role-trust: the execution role trusts arc-region-switch.amazonaws.com", async () => {
        expect(await refusals(() => plan({}, "ec2.amazonaws.com"))).to.deep.equal(["arc-execution-role-trust plan"]);
    });
});
