import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PrebuiltRole } from "./backup-plan";
import { serviceTrustPolicy } from "./iam";

export interface DrillsArgs {
    /** The site's primary database (Multi-AZ): the failover drill reboots it with failover. */
    databaseArn: pulumi.Input<string>;
    /** The app's autoscaling group: the zone-loss drill terminates its instances in one zone. */
    autoScalingGroupName: pulumi.Input<string>;
    /** The zone whose app instances the zone-loss drill takes away. */
    availabilityZone: pulumi.Input<string>;
    /** The critical alarm ("complete system outage"): if it fires, FIS stops the drill at once. */
    stopAlarmArn: pulumi.Input<string>;
    /** Days the drills' FIS logs are kept. */
    logRetentionDays: number;
    /** The region's key for the log group. */
    kmsKeyArn: pulumi.Input<string>;
    /** Run the monthly schedules (false keeps the templates for manual runs and pauses the schedules). */
    enabled: boolean;
    /**
     * The experiments' and scheduler's roles when the stack declares them outside this component
     * ({@link drillsFisRole}, {@link drillsSchedulerRole} by tag): a DR site declares them in every role,
     * so that a failover run creates no IAM resource. None: the component declares its own.
     */
    roles?: { fis: PrebuiltRole; scheduler: PrebuiltRole };
}

/** A monthly drill: its FIS action and when it runs (EventBridge Scheduler, UTC, business hours). */
export const DRILLS = {
    /** The plan's monthly "Failover test": Multi-AZ failover of the primary database. */
    "database-failover": { actionId: "aws:rds:reboot-db-instances", schedule: "cron(0 14 ? * TUE#1 *)" },
    /** The loss of the app instances in one zone: the group must refill and the ALB route around it. */
    "zone-instance-loss": { actionId: "aws:ec2:terminate-instances", schedule: "cron(0 14 ? * WED#1 *)" },
} as const;
export type DrillName = keyof typeof DRILLS;

/**
 * The plan's monthly failover tests as AWS FIS experiment templates, each stopped at once by the
 * critical alarm, run by a role that can touch only this site's database and app instances, and
 * scheduled monthly by EventBridge Scheduler (`enabled: false` pauses the schedules).
 */
export class Drills extends pulumi.ComponentResource {
    readonly templateIds: Record<DrillName, pulumi.Output<string>>;

    constructor(name: string, args: DrillsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:drills:Drills", name, {}, opts);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent);

        const log = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/genie/${name}/fis`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);

        // The experiments' and the scheduler's roles: this component's own, or the ones the stack declared
        // before (a DR site declares them in every role, so that its promotion creates no IAM resource).
        const role = args.roles?.fis ?? drillsFisRole(name, {
            databaseArn: args.databaseArn,
            autoScalingGroupName: args.autoScalingGroupName,
            region: region.region,
            accountId: identity.accountId,
        }, parent);

        const common = {
            roleArn: role.arn,
            stopConditions: [{ source: "aws:cloudwatch:alarm", value: args.stopAlarmArn }],
            logConfiguration: { logSchemaVersion: 2, cloudwatchLogsConfiguration: { logGroupArn: pulumi.interpolate`${log.arn}:*` } },
        };
        const templateOpts = { parent: this, dependsOn: role.dependsOn };
        const databaseFailover = new aws.fis.ExperimentTemplate(`${name}-database-failover`, {
            description: "Genie monthly drill: Multi-AZ failover of the primary database (plan: Failover test)",
            ...common,
            actions: [{
                name: "failover",
                actionId: DRILLS["database-failover"].actionId,
                parameters: [{ key: "forceFailover", value: "true" }],
                target: { key: "DBInstances", value: "database" },
            }],
            targets: [{ name: "database", resourceType: "aws:rds:db", selectionMode: "ALL", resourceArns: [args.databaseArn] }],
            tags: { Name: drillTemplateName(name, "database-failover"), drill: "database-failover" },
        }, templateOpts);
        const zoneLoss = new aws.fis.ExperimentTemplate(`${name}-zone-instance-loss`, {
            description: "Genie monthly drill: lose every app instance in one zone (the group refills, the ALB routes around it)",
            ...common,
            actions: [{
                name: "terminate-zone",
                actionId: DRILLS["zone-instance-loss"].actionId,
                target: { key: "Instances", value: "app-instances-in-zone" },
            }],
            targets: [{
                name: "app-instances-in-zone",
                resourceType: "aws:ec2:instance",
                selectionMode: "ALL",
                resourceTags: [{ key: "aws:autoscaling:groupName", value: args.autoScalingGroupName }],
                filters: [
                    { path: "Placement.AvailabilityZone", values: [args.availabilityZone] },
                    { path: "State.Name", values: ["running"] },
                ],
            }],
            tags: { Name: drillTemplateName(name, "zone-instance-loss"), drill: "zone-instance-loss" },
        }, templateOpts);
        const templates: Record<DrillName, aws.fis.ExperimentTemplate> = { "database-failover": databaseFailover, "zone-instance-loss": zoneLoss };

        const schedulerRole = args.roles?.scheduler ?? drillsSchedulerRole(name, {
            templates: Object.values(templates).map((t) => pulumi.interpolate`arn:aws:fis:${region.region}:${identity.accountId}:experiment-template/${t.id}`),
            region: region.region,
            accountId: identity.accountId,
        }, parent);
        for (const [drill, template] of Object.entries(templates) as [DrillName, aws.fis.ExperimentTemplate][]) {
            new aws.scheduler.Schedule(`${name}-${drill}`, {
                description: `Genie monthly drill: ${drill}`,
                scheduleExpression: DRILLS[drill].schedule,
                scheduleExpressionTimezone: "UTC",
                flexibleTimeWindow: { mode: "OFF" },
                state: args.enabled ? "ENABLED" : "DISABLED",
                target: {
                    // EventBridge Scheduler's universal target: the FIS API itself.
                    arn: "arn:aws:scheduler:::aws-sdk:fis:startExperiment",
                    roleArn: schedulerRole.arn,
                    input: pulumi.jsonStringify({ ExperimentTemplateId: template.id, ClientToken: "<aws.scheduler.execution-id>" }),
                    retryPolicy: { maximumRetryAttempts: 0 },
                },
            }, { parent: this, dependsOn: schedulerRole.dependsOn });
        }

        this.templateIds = { "database-failover": databaseFailover.id, "zone-instance-loss": zoneLoss.id };
        this.registerOutputs({ templateIds: this.templateIds });
    }
}


/** The tag `Name` of a drill's experiment template: `<name>-<drill>` (the DR site's scheduler role is scoped by it). */
export function drillTemplateName(name: string, drill: DrillName): string {
    return `${name}-${drill}`;
}

export interface DrillsFisRoleArgs {
    databaseArn: pulumi.Input<string>;
    autoScalingGroupName: pulumi.Input<string>;
    region: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
}

/**
 * The experiments' role `<name>-fis` (trusted by fis.amazonaws.com): reboot (fail over) this database,
 * terminate this group's instances, find the targets, write the experiment logs. It names no resource of
 * the component, so a DR site declares it while standby (with its database's ARN built from the
 * identifier, which a promotion or a restore keeps).
 */
export function drillsFisRole(name: string, args: DrillsFisRoleArgs, opts: pulumi.CustomResourceOptions): PrebuiltRole {
    const role = new aws.iam.Role(`${name}-fis`, { assumeRolePolicy: serviceTrustPolicy("fis.amazonaws.com") }, opts);
    const policy = new aws.iam.RolePolicy(`${name}-fis`, {
        role: role.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                { Sid: "FailOverThisDatabase", Effect: "Allow", Action: ["rds:RebootDBInstance"], Resource: [args.databaseArn] },
                {
                    Sid: "TerminateOnlyThisGroupsInstances",
                    Effect: "Allow",
                    Action: ["ec2:TerminateInstances"],
                    Resource: [pulumi.interpolate`arn:aws:ec2:${args.region}:${args.accountId}:instance/*`],
                    Condition: { StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": args.autoScalingGroupName } },
                },
                {
                    Sid: "FindTargets",
                    // Describe calls accept only "*" (no resource-level permissions).
                    Effect: "Allow",
                    Action: ["rds:DescribeDBInstances", "ec2:DescribeInstances"],
                    Resource: "*",
                },
                {
                    Sid: "WriteExperimentLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"],
                    Resource: "*",
                },
            ],
        }),
    }, opts);

    return { arn: role.arn, dependsOn: [policy] };
}

/**
 * The scheduler's role `<name>-scheduler` (trusted by scheduler.amazonaws.com): fis:StartExperiment of
 * the drills' templates and the experiments they start. `templates`: the templates' ARNs (their ids are
 * known once they exist); `"by-tag"`: any experiment template of this region and account tagged `Name`
 * `<name>-<drill>` for one of {@link DRILLS}, which lets a DR site declare the role before the templates
 * (AWS FIS user guide, "AWS Fault Injection Service policy examples", "Example: Use tags to control
 * resource usage": fis:StartExperiment on `experiment-template/*` under a `aws:ResourceTag/...` condition;
 * Service Authorization Reference, FIS: the experiment-template resource type takes aws:ResourceTag/${TagKey}).
 */
export function drillsSchedulerRole(
    name: string,
    args: { templates: pulumi.Input<string>[] | "by-tag"; region: pulumi.Input<string>; accountId: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): PrebuiltRole {
    const experiments = pulumi.interpolate`arn:aws:fis:${args.region}:${args.accountId}:experiment/*`;
    const statements = args.templates === "by-tag"
        ? [
            {
                Sid: "StartTheDrillTemplates",
                Effect: "Allow",
                Action: ["fis:StartExperiment"],
                Resource: [pulumi.interpolate`arn:aws:fis:${args.region}:${args.accountId}:experiment-template/*`],
                Condition: { StringEquals: { "aws:ResourceTag/Name": (Object.keys(DRILLS) as DrillName[]).map((d) => drillTemplateName(name, d)) } },
            },
            { Sid: "StartTheExperiments", Effect: "Allow", Action: ["fis:StartExperiment"], Resource: [experiments] },
        ]
        : [{ Effect: "Allow", Action: ["fis:StartExperiment"], Resource: [...args.templates, experiments] }];
    const role = new aws.iam.Role(`${name}-scheduler`, { assumeRolePolicy: serviceTrustPolicy("scheduler.amazonaws.com") }, opts);
    const policy = new aws.iam.RolePolicy(`${name}-scheduler`, {
        role: role.id,
        policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }),
    }, opts);
    return { arn: role.arn, dependsOn: [policy] };
}
