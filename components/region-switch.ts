import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * The Region failover and failback of the two sites as one Amazon Application Recovery Controller (ARC)
 * Region switch plan: an activate workflow per Region (promote that Region's database replica and
 * scale its app group in parallel, then move DNS through the health checks the plan controls), the
 * sites' P1 alarms associated, an opt-in trigger, and the execution role with the permissions the
 * ARC developer guide's sample policy documents for each execution block the plan uses.
 *
 * Where it lives and why (ARC developer guide, "Region switch in ARC"): "A data plane in each AWS Region,
 * so that you can execute your Region switch plan without taking a dependency on ..." the control plane;
 * the API operations table (actions.region-switch.html) lists StartPlanExecution, ApprovePlanExecutionStep,
 * GetPlanExecution, GetPlanInRegion as data plane operations and CreatePlan/UpdatePlan/GetPlan as control
 * plane ones; the SDK endpoint rules send control-plane calls to arc-region-switch-control-plane.us-east-1
 * from every Region. So: an execution works from the DR region while us-east-1 is down, whichever stack
 * declared the plan, but any `pulumi up` that creates, updates or refreshes the plan needs us-east-1.
 * The dr stack owns it (infra/stack.ts): its inputs are the DR site's resources and the production
 * values it already reads config-first (infra/production-outputs.ts), and none of them changes with the
 * DR site's role, so the failover run `pulumi up -s dr` (siteRole=active) leaves it untouched (no
 * control-plane call) as long as it is run without a full `--refresh`. After an execution promoted the DR
 * replica, refresh that database alone first (`pulumi refresh --target <its urn>`): without it the state
 * still holds replicateSourceDb and the update calls PromoteReadReplica on an instance that is no longer
 * a replica, which RDS refuses (docs/operations.md: Converging the stacks).
 *
 * The activate workflow of the primary region (the return) scales production's app group and moves DNS
 * back, once failback has restored the DR site's final dump into production's database: it promotes
 * nothing, since production's database is never a replica of the DR one here, and the Region switch
 * "post recovery" workflow that would re-create replication is not in the pinned provider
 * (workflowTargetAction: activate or deactivate). The EC2 Auto Scaling block raises the group's minimum,
 * which the next `pulumi up` puts back to the configured minimum (docs/development.md: Known limitations).
 */

/** Plan names (CreatePlan API): 1-32 characters, letters, digits and inner hyphens. */
export const PLAN_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/;

/** The service principal the execution role trusts (ARC developer guide, "Plan execution role trust policy"). */
export const REGION_SWITCH_PRINCIPAL = "arc-region-switch.amazonaws.com";

/** Per-block timeouts, minutes (API: each block's timeoutMinutes, "Minimum value of 1"). */
export const REGION_SWITCH_TIMEOUTS = {
    /** RDS promotion: "a few minutes" plus the reboot; generous, well inside the RTO. */
    promoteDatabaseMinutes: 45,
    /** Scaling the app group and waiting for its instances. */
    scaleAppMinutes: 30,
    /** Route 53 health check state change. */
    dnsMinutes: 10,
} as const;

/**
 * In an ungraceful execution (`--mode ungraceful`, the Region being left is lost), the share of the target
 * capacity in service before the plan moves on to DNS: ec2-auto-scaling-block, "You can configure ungraceful
 * execution by specifying the minimum percentage of compute capacity to match in the destination Region
 * before Region switch proceeds to the next step". The group keeps launching the rest.
 */
export const UNGRACEFUL_MIN_CAPACITY_PERCENT = 50;

export interface RegionSwitchSite {
    region: string;
    /** The site's database instance (the replica to promote when this Region is activated). */
    databaseArn: pulumi.Input<string>;
    /** The site's app Auto Scaling group. */
    autoScalingGroupArn: pulumi.Input<string>;
    /** The site's P1 composite alarm (an applicationHealth alarm of the plan). */
    criticalAlarmArn: pulumi.Input<string>;
    /** The set identifier of the site's failover record of `dns.recordName`. */
    recordSetIdentifier: string;
}

export interface RegionSwitchArgs {
    /** The plan's name (see {@link PLAN_NAME}). */
    planName: string;
    /** The production site: the plan's primary Region. */
    primary: RegionSwitchSite;
    /** The DR site. */
    dr: RegionSwitchSite;
    /** The plan's recovery time objective, minutes (the recovery plan's RTO or tighter). */
    recoveryTimeObjectiveMinutes: number;
    /** The failover records the Route 53 health check block controls. */
    dns: { hostedZoneId: pulumi.Input<string>; recordName: pulumi.Input<string> };
    /** Percentage of the Region being left's app capacity the activated Region scales to. */
    appCapacityPercent: number;
    /**
     * Opt-in automatic activation of the DR Region when the primary's P1 alarm is red ("automatic
     * promotion"), at most once per `minDelayMinutes` (the API's guard against flapping:
     * minDelayMinutesBetweenExecutions, "The minimum time, in minutes, that must elapse between
     * automatic executions of the plan").
     */
    autoActivate?: { minDelayMinutes: number };
}

/** The associated alarms' names (the map keys the triggers refer to). */
export const ALARM_KEYS = { primary: "primary-p1", dr: "dr-p1", primaryTrigger: "primary-p1-trigger" } as const;

export class RegionSwitch extends pulumi.ComponentResource {
    readonly planArn: pulumi.Output<string>;
    readonly planName: string;
    readonly executionRoleArn: pulumi.Output<string>;
    readonly plan: aws.arcregionswitch.Plan;

    constructor(name: string, args: RegionSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:failover:RegionSwitch", name, {}, opts);
        const parent = { parent: this };
        const { primary, dr } = args;

        // Trust policy: ARC developer guide, security_iam_region_switch_trust_policy ("authorizes the
        // arc-region-switch.amazonaws.com service principal to assume the role").
        const role = new aws.iam.Role(`${name}-execution-role`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: REGION_SWITCH_PRINCIPAL }, Action: "sts:AssumeRole" }],
            }),
            description: `Execution role of the ${args.planName} Region switch plan`,
        }, parent);

        const alarmArns = [primary.criticalAlarmArn, dr.criticalAlarmArn];
        const policy = pulumi
            .all([role.arn, primary.databaseArn, dr.databaseArn, primary.autoScalingGroupArn, dr.autoScalingGroupArn, args.dns.hostedZoneId, ...alarmArns])
            .apply(([roleArn, primaryDb, drDb, primaryAsg, drAsg, zoneId, primaryAlarm, drAlarm]) =>
                JSON.stringify(regionSwitchExecutionPolicy({
                    roleArn,
                    databaseArns: [primaryDb, drDb],
                    autoScalingGroupArns: [primaryAsg, drAsg],
                    hostedZoneId: zoneId,
                    alarmArns: [primaryAlarm, drAlarm],
                    triggeredPlanName: args.autoActivate ? args.planName : undefined,
                })));
        const rolePolicy = new aws.iam.RolePolicy(`${name}-execution-policy`, { role: role.name, policy }, parent);

        const scaleApp = {
            name: "scale-app",
            executionBlockType: "EC2AutoScaling",
            // "EC2 Auto Scaling group ARN for Region ... in each Region for your plan"
            // (ec2-auto-scaling-block); capacity relative to the Region being left.
            ec2AsgCapacityIncreaseConfigs: [{
                asgs: [{ arn: primary.autoScalingGroupArn }, { arn: dr.autoScalingGroupArn }],
                targetPercent: args.appCapacityPercent,
                capacityMonitoringApproach: "sampledMaxInLast24Hours",
                timeoutMinutes: REGION_SWITCH_TIMEOUTS.scaleAppMinutes,
                ungraceful: { minimumSuccessPercentage: UNGRACEFUL_MIN_CAPACITY_PERCENT },
            }],
        };
        const promoteDb = {
            name: "promote-db",
            executionBlockType: "RdsPromoteReadReplica",
            // "RDS DB instance ARN for Region: Enter the database instance ARN for the read
            // replica in each Region in the plan" (rds-promote-read-replica-block).
            rdsPromoteReadReplicaConfigs: [{
                dbInstanceArnMap: { [primary.region]: primary.databaseArn, [dr.region]: dr.databaseArn },
                timeoutMinutes: REGION_SWITCH_TIMEOUTS.promoteDatabaseMinutes,
            }],
        };
        // The failover promotes the DR replica while the DR app group scales. The return does not promote:
        // production's database is never a replica of the DR one in these stacks (failback restores the DR
        // site's final dump into it, docs/operations.md: Failback), and the "post recovery" workflow that would re-create
        // replication is not in the pinned provider; it scales production's group and moves DNS back.
        const workflow = (target: RegionSwitchSite) => ({
            workflowTargetAction: "activate",
            workflowTargetRegion: target.region,
            workflowDescription: target === dr
                ? `Activate ${target.region}: promote its database replica and scale its app group, then move DNS to it`
                : `Activate ${target.region} (the return, once failback restored its database): scale its app group, then move DNS to it`,
            steps: [
                target === dr
                    ? { name: "promote-db-and-scale-app", executionBlockType: "Parallel", parallelConfigs: [{ steps: [promoteDb, scaleApp] }] }
                    : scaleApp,
                {
                    // Last: traffic moves only once the database is writable and the app group sized.
                    name: "move-dns",
                    executionBlockType: "Route53HealthCheck",
                    route53HealthCheckConfigs: [{
                        hostedZoneId: args.dns.hostedZoneId,
                        recordName: args.dns.recordName,
                        recordSets: [
                            { recordSetIdentifier: primary.recordSetIdentifier, region: primary.region },
                            { recordSetIdentifier: dr.recordSetIdentifier, region: dr.region },
                        ],
                        timeoutMinutes: REGION_SWITCH_TIMEOUTS.dnsMinutes,
                    }],
                },
            ],
        });

        const associatedAlarms = [
            { mapBlockKey: ALARM_KEYS.primary, alarmType: "applicationHealth", resourceIdentifier: primary.criticalAlarmArn },
            { mapBlockKey: ALARM_KEYS.dr, alarmType: "applicationHealth", resourceIdentifier: dr.criticalAlarmArn },
            ...(args.autoActivate ? [{ mapBlockKey: ALARM_KEYS.primaryTrigger, alarmType: "trigger", resourceIdentifier: primary.criticalAlarmArn }] : []),
        ];

        this.plan = new aws.arcregionswitch.Plan(`${name}-plan`, {
            name: args.planName,
            description: `Failover of the app from ${primary.region} to ${dr.region} and back`,
            recoveryApproach: "activePassive",
            primaryRegion: primary.region,
            regions: [primary.region, dr.region],
            recoveryTimeObjectiveMinutes: args.recoveryTimeObjectiveMinutes,
            executionRole: role.arn,
            associatedAlarms,
            // An active/passive plan has activate workflows: "either one workflow that can be used to
            // activate either of your Regions, or separate activation workflows, one for each Region"
            // (components-rs.html). The DR one is the failover, the primary one the return.
            workflows: [workflow(dr), workflow(primary)],
            triggers: args.autoActivate
                ? [{
                    description: `Activate ${dr.region} when the primary's P1 alarm is red`,
                    action: "activate",
                    targetRegion: dr.region,
                    conditions: [{ associatedAlarmName: ALARM_KEYS.primaryTrigger, condition: "red" }],
                    minDelayMinutesBetweenExecutions: args.autoActivate.minDelayMinutes,
                }]
                : [],
        }, { ...parent, dependsOn: [rolePolicy] });

        this.planArn = this.plan.arn;
        this.planName = args.planName;
        this.executionRoleArn = role.arn;
        this.registerOutputs({ planArn: this.planArn, executionRoleArn: this.executionRoleArn });
    }
}

export interface ExecutionPolicyInputs {
    roleArn: string;
    databaseArns: string[];
    autoScalingGroupArns: string[];
    hostedZoneId: string;
    alarmArns: string[];
    /** The plan's name, when an automatic trigger starts its executions (they need StartPlanExecution). */
    triggeredPlanName?: string;
}

/**
 * The execution role's permissions: the ARC developer guide's sample policy per block, nothing else.
 * "Only include the permissions required for the specific execution blocks that you use in your plan"
 * (security_iam_region_switch_complete_policy). Statement ids name the page each comes from.
 */
export function regionSwitchExecutionPolicy(p: ExecutionPolicyInputs) {
    const zoneArn = `arn:aws:route53:::hostedzone/${p.hostedZoneId.replace(/^\/?hostedzone\//, "")}`;
    return {
        Version: "2012-10-17",
        Statement: [
            // security_iam_region_switch_complete_policy: the starting place of every plan's role.
            { Sid: "PlanEvaluation", Effect: "Allow", Action: "iam:SimulatePrincipalPolicy", Resource: p.roleArn },
            { Sid: "PlanAndExecutions", Effect: "Allow", Action: ["arc-region-switch:GetPlan", "arc-region-switch:GetPlanExecution", "arc-region-switch:ListPlanExecutions"], Resource: "*" },
            // security_iam_region_switch_rds ("read replica promotion or cross-Region replica creation"):
            // the promotion's actions; rds:CreateDBInstanceReadReplica is for the cross-Region replica block,
            // which this plan does not use. The sample grants them on "*": the describe stays so (how Region
            // switch calls it, with or without an identifier, is not documented; a describe changes nothing),
            // the two that change an instance are scoped to the plan's instances (the Switchover sample scopes
            // the same actions to "arn:aws:rds:region:account-id:db:instance-name").
            { Sid: "RdsDescribe", Effect: "Allow", Action: "rds:DescribeDBInstances", Resource: "*" },
            { Sid: "RdsPromoteReadReplica", Effect: "Allow", Action: ["rds:PromoteReadReplica", "rds:ModifyDBInstance"], Resource: p.databaseArns },
            // security_iam_region_switch_ec2_autoscaling.
            { Sid: "Ec2AutoScalingDescribe", Effect: "Allow", Action: "autoscaling:DescribeAutoScalingGroups", Resource: "*" },
            { Sid: "Ec2AutoScalingUpdate", Effect: "Allow", Action: "autoscaling:UpdateAutoScalingGroup", Resource: p.autoScalingGroupArns },
            { Sid: "Ec2AutoScalingCapacity", Effect: "Allow", Action: "cloudwatch:GetMetricStatistics", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "AWS/AutoScaling" } } },
            // security_iam_region_switch_route53.
            { Sid: "Route53HealthCheck", Effect: "Allow", Action: "route53:ListResourceRecordSets", Resource: zoneArn },
            // The associated alarms and the trigger's: the CloudWatch sample (security_iam_region_switch_cloudwatch),
            // scoped to the two alarms.
            { Sid: "AssociatedAlarms", Effect: "Allow", Action: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"], Resource: p.alarmArns },
            // Plan evaluation, Triggers: "Checks that the plan's execution role has the
            // arc-region-switch:StartPlanExecution permission required for automated trigger-based execution"
            // (working-with-rs-plan-evaluation). The plan's ARN ends in a suffix known only once it exists
            // (and it has no region): the plan's name with a wildcard.
            ...(p.triggeredPlanName
                ? [{ Sid: "TriggeredExecutions", Effect: "Allow", Action: "arc-region-switch:StartPlanExecution", Resource: `arn:aws:arc-region-switch::*:plan/${p.triggeredPlanName}*` }]
                : []),
        ],
    };
}
