import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PrebuiltRole } from "./backup-plan";
import { serviceTrustPolicy } from "./iam";

export interface CacheSnapshotsArgs {
    /** The replication group to snapshot. */
    replicationGroupId: pulumi.Input<string>;
    /** Hours between snapshots (the plan's 12, or fewer). */
    intervalHours: number;
    /**
     * The Redis exports bucket (same region as the cache: "The ElastiCache backup and the Amazon S3
     * bucket that you want to copy it to must be in the same AWS Region"), SSE-S3, whose policy lets
     * `<region>.elasticache-snapshot.amazonaws.com` write ({@link BackupStorage}).
     */
    exportsBucketName: pulumi.Input<string>;
    exportsBucketArn: pulumi.Input<string>;
    /** The region's key, which encrypts the cache and its snapshots, the job's state machine and the schedule. */
    kmsKeyArn: pulumi.Input<string>;
    /** Days the job's execution log is kept. */
    logRetentionDays: number;
    /** Run the schedule (false pauses it without deleting anything). */
    enabled: boolean;
    /**
     * The job's and scheduler's roles when the stack declares them outside this component
     * ({@link cacheSnapshotsJobRole}, {@link cacheSnapshotsSchedulerRole}): a DR site declares them in
     * every role, so that a failover run creates no IAM resource. The state machine is then named
     * `stateMachineName`, the name the scheduler's policy names. None: the component declares its own.
     */
    roles?: { job: PrebuiltRole; scheduler: PrebuiltRole; stateMachineName: string };
}

/** Snapshots the job takes are named with this prefix (and only those may be copied or deleted by it). */
export const SNAPSHOT_NAME_PREFIX = "genie-scheduled-";

/**
 * The export's name is the snapshot's plus this suffix (still under {@link SNAPSHOT_NAME_PREFIX}, so the
 * job's `elasticache:CopySnapshot` scope covers the target as well as the source). ElastiCache adds the
 * node and `.rdb`: `genie-scheduled-20261130t0330-export-0001.rdb` at the bucket's root.
 */
export const EXPORT_NAME_SUFFIX = "-export";

/** Polls of a snapshot's status, a minute apart, before the job gives up and fails (alarmed). */
export const MAX_STATUS_POLLS = 60;

/**
 * The plan's "Redis: every 12 hours" where ElastiCache's own automatic snapshot is daily: an
 * EventBridge Scheduler schedule every `intervalHours` starts a Step Functions job that
 *   1. takes a manual snapshot of the replication group,
 *   2. waits until it is available,
 *   3. exports it as an RDB file to the Redis exports bucket (same region; ElastiCache writes it
 *      there as the bucket policy allows, SSE-S3; the bucket's lifecycle keeps it 7 days and its
 *      replication carries it to the DR region, where the DR cache can be seeded from it),
 *   4. waits until the export is done and deletes the manual snapshot, because manual snapshots
 *      never expire by themselves.
 * A failed or timed-out run ends the execution as failed (ExecutionsFailed, for the alarms).
 */
export class CacheSnapshots extends pulumi.ComponentResource {
    readonly stateMachineArn: pulumi.Output<string>;
    readonly scheduleName: pulumi.Output<string>;

    constructor(name: string, args: CacheSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:cache:CacheSnapshots", name, {}, opts);
        if (!Number.isInteger(args.intervalHours) || args.intervalHours < 1 || 24 % args.intervalHours !== 0) {
            throw new Error(`CacheSnapshots ${name}: intervalHours must divide 24, got ${args.intervalHours}`);
        }
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent);

        const jobLog = new aws.cloudwatch.LogGroup(`${name}-job-logs`, {
            name: `/genie/${name}/redis-snapshot-job`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);

        // The job's and the scheduler's roles: this component's own, or the ones the stack declared
        // before (a DR site declares them in every role, so that its promotion creates no IAM resource).
        const jobRole = args.roles?.job ?? cacheSnapshotsJobRole(name, {
            replicationGroupId: args.replicationGroupId,
            exportsBucketArn: args.exportsBucketArn,
            kmsKeyArn: args.kmsKeyArn,
            region: region.region,
            accountId: identity.accountId,
        }, parent);

        const stateMachine = new aws.sfn.StateMachine(`${name}-job`, {
            // Named when its scheduler's role was declared before it (the role's policy names this ARN).
            name: args.roles?.stateMachineName,
            roleArn: jobRole.arn,
            definition: pulumi.jsonStringify(snapshotJobDefinition(args.replicationGroupId, args.exportsBucketName)),
            loggingConfiguration: {
                level: "ERROR",
                includeExecutionData: false,
                logDestination: pulumi.interpolate`${jobLog.arn}:*`,
            },
            encryptionConfiguration: { type: "CUSTOMER_MANAGED_KMS_KEY", kmsKeyId: args.kmsKeyArn, kmsDataKeyReusePeriodSeconds: 300 },
        }, { parent: this, dependsOn: jobRole.dependsOn });
        this.stateMachineArn = stateMachine.arn;

        const schedulerRole = args.roles?.scheduler ?? cacheSnapshotsSchedulerRole(name, { stateMachineArn: stateMachine.arn, kmsKeyArn: args.kmsKeyArn }, parent);
        const schedule = new aws.scheduler.Schedule(`${name}-every-${args.intervalHours}h`, {
            description: `Genie: Redis snapshot exported to S3 every ${args.intervalHours} hours`,
            scheduleExpression: snapshotScheduleExpression(args.intervalHours),
            scheduleExpressionTimezone: "UTC",
            flexibleTimeWindow: { mode: "OFF" },
            state: args.enabled ? "ENABLED" : "DISABLED",
            kmsKeyArn: args.kmsKeyArn,
            target: {
                arn: stateMachine.arn,
                roleArn: schedulerRole.arn,
                retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
            },
        }, { parent: this, dependsOn: schedulerRole.dependsOn });
        this.scheduleName = schedule.name;

        this.registerOutputs({ stateMachineArn: this.stateMachineArn, scheduleName: this.scheduleName });
    }
}

/** The state machine's name when the scheduler's role is declared before it (a DR site): `<name>-job`. */
export function cacheSnapshotsStateMachineName(name: string): string {
    return `${name}-job`;
}

/**
 * A Step Functions state machine's ARN from its name: "arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}"
 * (Service Authorization Reference, "Actions, resources, and condition keys for AWS Step Functions", resource type stateMachine).
 */
export function stateMachineArn(region: pulumi.Input<string>, accountId: pulumi.Input<string>, stateMachineName: string): pulumi.Output<string> {
    return pulumi.interpolate`arn:aws:states:${region}:${accountId}:stateMachine:${stateMachineName}`;
}

export interface CacheSnapshotsJobRoleArgs {
    replicationGroupId: pulumi.Input<string>;
    exportsBucketArn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
    region: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
}

/**
 * The job's role `<name>-job` (trusted by states.amazonaws.com) and its policy: snapshot the group,
 * manage the job's own snapshots, export to the exports bucket, use the site key, write the execution
 * logs. It names no resource of the component (the group, bucket and key come from the stack), so a DR
 * site declares it while standby.
 */
export function cacheSnapshotsJobRole(name: string, args: CacheSnapshotsJobRoleArgs, opts: pulumi.CustomResourceOptions): PrebuiltRole {
    const snapshotArn = pulumi.interpolate`arn:aws:elasticache:${args.region}:${args.accountId}:snapshot:${SNAPSHOT_NAME_PREFIX}*`;
    const jobRole = new aws.iam.Role(`${name}-job`, {
        assumeRolePolicy: serviceTrustPolicy("states.amazonaws.com"),
    }, opts);
    const policy = new aws.iam.RolePolicy(`${name}-job`, {
        role: jobRole.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "SnapshotTheGroup",
                    Effect: "Allow",
                    Action: ["elasticache:CreateSnapshot"],
                    Resource: [
                        pulumi.interpolate`arn:aws:elasticache:${args.region}:${args.accountId}:replicationgroup:${args.replicationGroupId}`,
                        pulumi.interpolate`arn:aws:elasticache:${args.region}:${args.accountId}:cluster:${args.replicationGroupId}-*`,
                        snapshotArn,
                    ],
                },
                {
                    Sid: "ManageItsOwnSnapshots",
                    Effect: "Allow",
                    Action: ["elasticache:DescribeSnapshots", "elasticache:CopySnapshot", "elasticache:DeleteSnapshot"],
                    Resource: [snapshotArn],
                },
                // The caller of CopySnapshot to S3 (ElastiCache guide, "Exporting a backup", "Required IAM
                // permissions for the caller"): the object and bucket actions on the target bucket, and
                // s3:ListAllMyBuckets, "an account-level operation. Its Resource element must be "*" or
                // "arn:aws:s3:::*"". s3:GetBucketAcl: a dependent action of elasticache:CopySnapshot
                // (Service Authorization Reference).
                {
                    Sid: "ExportToTheExportsBucket",
                    Effect: "Allow",
                    Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                    Resource: [pulumi.interpolate`${args.exportsBucketArn}/*`],
                },
                {
                    Sid: "FindTheBucket",
                    Effect: "Allow",
                    Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:GetBucketAcl"],
                    Resource: [args.exportsBucketArn],
                },
                {
                    Sid: "ListBucketsForTheExport",
                    Effect: "Allow",
                    Action: ["s3:ListAllMyBuckets"],
                    Resource: ["arn:aws:s3:::*"],
                },
                {
                    Sid: "UseTheSiteKey",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"],
                    Resource: [args.kmsKeyArn],
                },
                {
                    Sid: "WriteExecutionLogs",
                    // CloudWatch Logs delivery for Step Functions accepts only "*" for these actions.
                    Effect: "Allow",
                    Action: [
                        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
                    ],
                    Resource: "*",
                },
            ],
        }),
    }, opts);

    return { arn: jobRole.arn, dependsOn: [policy] };
}

/**
 * The scheduler's role `<name>-scheduler` (trusted by scheduler.amazonaws.com): start the job and
 * decrypt the schedule. A DR site names the job by its ARN pattern ({@link stateMachineArn} of
 * {@link cacheSnapshotsStateMachineName}), so the role exists before the job does.
 */
export function cacheSnapshotsSchedulerRole(
    name: string,
    args: { stateMachineArn: pulumi.Input<string>; kmsKeyArn: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): PrebuiltRole {
    const schedulerRole = new aws.iam.Role(`${name}-scheduler`, {
        assumeRolePolicy: serviceTrustPolicy("scheduler.amazonaws.com"),
    }, opts);
    const policy = new aws.iam.RolePolicy(`${name}-scheduler`, {
        role: schedulerRole.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                { Sid: "StartTheJob", Effect: "Allow", Action: ["states:StartExecution"], Resource: [args.stateMachineArn] },
                // The schedule is encrypted with the site key: EventBridge Scheduler decrypts it as this role
                // (Scheduler guide, "Encryption at rest": "You must add the following action to your
                // schedule's execution role ... kms:Decrypt"). StartExecution itself needs no KMS permission
                // of the caller (Step Functions guide, "Data at rest encryption": StartExecution "--").
                { Sid: "DecryptTheSchedule", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [args.kmsKeyArn] },
            ],
        }),
    }, opts);
    return { arn: schedulerRole.arn, dependsOn: [policy] };
}

/**
 * `cron(30 3/12 * * ? *)` for 12 hours: at half past, starting 03:30 UTC, just after the automatic
 * snapshot's window, then every `intervalHours`.
 */
export function snapshotScheduleExpression(intervalHours: number): string {
    const firstHour = 3 % intervalHours;
    return `cron(30 ${firstHour}/${intervalHours} * * ? *)`;
}

/** The Step Functions (JSONata) definition of one run of the job. */
export function snapshotJobDefinition(replicationGroupId: pulumi.Input<string>, bucket: pulumi.Input<string>) {
    // The snapshot is "creating", then "available"; during the export "exporting", then "available" again.
    const poll = (next: string) => ({
        Type: "Task",
        Resource: "arn:aws:states:::aws-sdk:elasticache:describeSnapshots",
        Arguments: { SnapshotName: "{% $snapshot %}" },
        Assign: { status: "{% $states.result.Snapshots[0].SnapshotStatus %}", polls: "{% $polls + 1 %}" },
        Next: next,
    });
    const decide = (ready: string, wait: string) => ({
        Type: "Choice",
        Choices: [
            { Condition: "{% $status = 'available' %}", Next: ready },
            { Condition: `{% $polls >= ${MAX_STATUS_POLLS} %}`, Next: "TimedOut" },
        ],
        Default: wait,
    });
    return {
        Comment: "Genie: snapshot the Redis replication group, export it to S3 as RDB, delete the manual snapshot",
        QueryLanguage: "JSONata",
        StartAt: "CreateSnapshot",
        States: {
            CreateSnapshot: {
                Type: "Task",
                Resource: "arn:aws:states:::aws-sdk:elasticache:createSnapshot",
                Arguments: {
                    ReplicationGroupId: replicationGroupId,
                    SnapshotName: `{% '${SNAPSHOT_NAME_PREFIX}' & $fromMillis($millis(), '[Y0001][M01][D01]t[H01][m01]') %}`,
                },
                Assign: { snapshot: "{% $states.result.Snapshot.SnapshotName %}", polls: 0 },
                Next: "WaitForSnapshot",
            },
            WaitForSnapshot: { Type: "Wait", Seconds: 60, Next: "CheckSnapshot" },
            CheckSnapshot: poll("SnapshotAvailable?"),
            "SnapshotAvailable?": decide("ExportToS3", "WaitForSnapshot"),
            ExportToS3: {
                Type: "Task",
                Resource: "arn:aws:states:::aws-sdk:elasticache:copySnapshot",
                // No KmsKeyId: "Customer managed keys cannot be used when exporting backups to your selected
                // Amazon S3 bucket" (ElastiCache guide, "At-Rest Encryption"); the file is SSE-S3.
                Arguments: {
                    SourceSnapshotName: "{% $snapshot %}",
                    TargetSnapshotName: `{% $snapshot & '${EXPORT_NAME_SUFFIX}' %}`,
                    TargetBucket: bucket,
                },
                Assign: { polls: 0 },
                Next: "WaitForExport",
            },
            WaitForExport: { Type: "Wait", Seconds: 60, Next: "CheckExport" },
            CheckExport: poll("ExportDone?"),
            "ExportDone?": decide("DeleteManualSnapshot", "WaitForExport"),
            DeleteManualSnapshot: {
                Type: "Task",
                Resource: "arn:aws:states:::aws-sdk:elasticache:deleteSnapshot",
                Arguments: { SnapshotName: "{% $snapshot %}" },
                End: true,
            },
            TimedOut: {
                Type: "Fail",
                Error: "SnapshotTimedOut",
                Cause: `The snapshot or its export did not become available within ${MAX_STATUS_POLLS} minutes`,
            },
        },
    };
}
