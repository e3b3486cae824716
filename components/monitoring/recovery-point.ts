/**
 * Alarms on the recovery point (RPO): replica lag, S3 replication late or failing, the Redis snapshot
 * job failing, and (EventBridge rules) failed backup, copy and restore jobs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "../../infra/dr-plan";
import { REPLICATION_TIME_MINUTES } from "../backup-storage";
import { eventInputTransformer, severityTags } from "../severity";
import type { MonitoringArgs } from "./args";
import type { SiteAlarms } from "./site-alarms";
import { JOB_PERIOD_SECONDS, MINUTE, REPLICA_LAG_MINUTES } from "./timing";

/** The EventBridge pattern of a failed or aborted AWS Backup restore job (restore tests included). */
export const RESTORE_JOB_FAILED_PATTERN = {
    source: ["aws.backup"],
    "detail-type": ["Restore Job State Change"],
    detail: { status: ["FAILED", "ABORTED"] },
} as const;

/** The recovery point's alarms and job-failure rules the site's arguments call for. */
export function recoveryPointAlarms(site: SiteAlarms, args: MonitoringArgs): void {
    const { alarm, name, dashboardLink, topicOf } = site;

    // A replica lagging the primary past the RPO budget, or no longer reporting lag (replication
    // stopped, replica down: missing data is breaching), breaks the plan's recovery point.
    const replicaLag = (key: string, what: string, identifier: pulumi.Input<string>) =>
        alarm(key, {
            alarmDescription: `Plan: "RPO: ${DR_PLAN.rpoMinutes / 60} hour". ${what} has lagged the primary by more than the RPO budget (${DR_PLAN.rpoMinutes} min) for ${REPLICA_LAG_MINUTES} minutes, or stopped reporting lag.`,
            namespace: "AWS/RDS",
            metricName: "ReplicaLag",
            dimensions: { DBInstanceIdentifier: identifier },
            statistic: "Maximum",
            comparisonOperator: "GreaterThanThreshold",
            threshold: DR_PLAN.rpoMinutes * 60,
            treatMissingData: "breaching",
            period: MINUTE,
            evaluationPeriods: REPLICA_LAG_MINUTES,
            datapointsToAlarm: REPLICA_LAG_MINUTES,
        });
    if (args.database.crossRegionReplica) {
        // Failing over now would lose more than the plan allows.
        replicaLag("replica-lag", "The cross-region replica", args.database.identifier);
    }
    if (args.database.readReplicaIdentifier && !args.database.crossRegionReplica) {
        // The in-region read replica serves reads and is the copy an operator promotes if the
        // primary is lost beyond Multi-AZ.
        replicaLag("read-replica-lag", "The in-region read replica", args.database.readReplicaIdentifier);
    }
    for (const [bucket, u] of Object.entries(args.replications ?? {})) {
        const dimensions = { SourceBucket: u.sourceBucket, DestinationBucket: u.destinationBucket, RuleId: u.ruleId };
        // Replication Time Control promises 15 minutes: an object replicated later missed it.
        alarm(`${bucket}-replication-late`, {
            alarmDescription: `Plan: "${bucket}" replicated to secondary storage. An object of the ${bucket} bucket took longer than the ${REPLICATION_TIME_MINUTES}-minute Replication Time Control threshold to reach the DR region. No uploads, no data: not breaching.`,
            namespace: "AWS/S3",
            metricName: "ReplicationLatency",
            dimensions,
            statistic: "Maximum",
            comparisonOperator: "GreaterThanThreshold",
            threshold: REPLICATION_TIME_MINUTES * 60,
            treatMissingData: "notBreaching",
            period: JOB_PERIOD_SECONDS,
            evaluationPeriods: 1,
        });
        alarm(`${bucket}-replication-failed`, {
            alarmDescription: `Plan: "${bucket}" replicated to secondary storage. S3 failed to replicate objects of the ${bucket} bucket to the DR region. OK again after ${JOB_PERIOD_SECONDS / 60} minutes without a failure.`,
            namespace: "AWS/S3",
            metricName: "OperationsFailedReplication",
            dimensions,
            statistic: "Sum",
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            treatMissingData: "notBreaching",
            period: JOB_PERIOD_SECONDS,
            evaluationPeriods: 1,
        });
    }
    if (args.cacheSnapshotStateMachineArn) {
        alarm("cache-snapshot-failed", {
            alarmDescription: `Plan: Redis "RDB snapshots every ${DR_PLAN.redisSnapshotIntervalHours} hours". A run of the snapshot-and-export job failed. OK again after ${JOB_PERIOD_SECONDS / 60} minutes without a failure (not a successful snapshot).`,
            namespace: "AWS/States",
            metricName: "ExecutionsFailed",
            dimensions: { StateMachineArn: args.cacheSnapshotStateMachineArn },
            statistic: "Sum",
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            treatMissingData: "notBreaching",
            period: JOB_PERIOD_SECONDS,
            evaluationPeriods: 1,
        });
    }
    // An alert on an EventBridge event pattern: the rule, and the topic of the alert's severity as its
    // target, with the alert's preamble before the event.
    const eventAlert = (key: string, description: string, eventPattern: unknown, summary: string) => {
        const rule = new aws.cloudwatch.EventRule(`${name}-${key}`, {
            name: `${name}-${key}`,
            description,
            eventPattern: JSON.stringify(eventPattern),
            tags: severityTags(key),
        }, { parent: site.parent });
        new aws.cloudwatch.EventTarget(`${name}-${key}`, {
            rule: rule.name,
            arn: topicOf(key),
            inputTransformer: eventInputTransformer(key, dashboardLink, summary),
        }, { parent: site.parent });
    };
    if (args.backupJobFailures) {
        // EventBridge, not the AWS/Backup metrics: each failed job is one event naming the job, the
        // resource and the reason, delivered as it happens, with no metric dimensions to get wrong
        // and no "OK" that would only mean "no failure in the last period". Copy jobs to the DR
        // vault run (and fail) in this, the source, region.
        eventAlert(
            "backup-job-failed",
            `Plan: database backups "every ${DR_PLAN.dbBackupIntervalHours} hours", copied to the DR region: a backup or copy job of this region failed, was aborted or expired.`,
            { source: ["aws.backup"], "detail-type": ["Backup Job State Change", "Copy Job State Change"], detail: { state: ["FAILED", "ABORTED", "EXPIRED"] } },
            "a backup or copy job failed",
        );
    }
    if (args.restoreJobFailures) {
        // Restore jobs report `status` (not `state`): "if your restore job is part of a restore
        // testing plan, the parameter restoreTestingPlanArn is included" (AWS Backup developer guide,
        // "Monitoring AWS Backup events using Amazon EventBridge", Restore Job events). Statuses:
        // PENDING | RUNNING | COMPLETED | ABORTED | FAILED (DescribeRestoreJob).
        eventAlert(
            "restore-job-failed",
            'Plan: "Database restore test: Restore from backup and verify data" (monthly), "Restore test: Test restoring from recent backup" (weekly): a restore job of this region (a restore test or an operator\'s restore) failed or was aborted.',
            RESTORE_JOB_FAILED_PATTERN,
            "a restore job failed",
        );
    }
}
