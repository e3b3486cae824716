/** The arguments of the site's monitoring (components/monitoring.ts), the one input of every piece of it. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Severity } from "../notifications";
import type { IncidentSeverity } from "../severity";

export interface MonitoringArgs {
    /** The site's region (the dashboard's widgets name it). */
    region: string;
    /** The site's alert topics, by severity (same region as the alarms). */
    topicArns: Record<Severity, pulumi.Input<string>>;
    /** From stack config: the configured thresholds. */
    thresholds: {
        /** Percentage of requests answered 5XX by the targets that raises "high error rate". */
        errorRatePercent: number;
        /** Disk used percent (CloudWatch agent, root volume) on the app group that raises "disk space low". */
        diskUsedPercent: number;
        /** RDS free storage in GiB below which "disk space low" is raised. */
        dbFreeStorageGb: number;
    };
    /** The site's database instance. */
    database: {
        identifier: pulumi.Input<string>;
        /**
         * The instance is a cross-region read replica of the primary (the standby DR site): its
         * ReplicaLag is held to the plan's RPO budget.
         */
        crossRegionReplica: boolean;
        /**
         * The in-region read replica, where the site has one (a serving site): its ReplicaLag is held to
         * the plan's RPO budget too, and the dashboard shows it.
         */
        readReplicaIdentifier?: pulumi.Input<string>;
    };
    /** The site's ALB (`app/<name>/<id>`) and its target group (`targetgroup/<name>/<id>`), as CloudWatch dimensions. */
    loadBalancer: { arnSuffix: pulumi.Input<string>; targetGroupArnSuffix: pulumi.Input<string> };
    /** The app autoscaling group (the CloudWatch agent aggregates disk used percent per group). */
    autoScalingGroupName: pulumi.Input<string>;
    /**
     * The site's Route 53 failover health check. Its metrics exist only in us-east-1: when the site runs
     * elsewhere, `provider` is a us-east-1 provider and `criticalTopicArn` a critical topic there.
     */
    healthCheck: { id: pulumi.Input<string>; criticalTopicArn: pulumi.Input<string>; provider?: aws.Provider };
    /** Bucket replications to the DR region whose rules have Replication Time Control and metrics, by bucket key (`uploads`, `backups`). Primary site only. */
    replications?: Record<string, { sourceBucket: pulumi.Input<string>; destinationBucket: pulumi.Input<string>; ruleId: string }>;
    /** Alert on failed AWS Backup backup and copy jobs of this region (EventBridge). Where the site's backup plan runs. */
    backupJobFailures?: boolean;
    /**
     * Alert on failed or aborted AWS Backup restore jobs of this region (EventBridge): the weekly and
     * monthly restore tests are restore jobs, and so is a restore an operator starts from a vault of
     * this region (the production stack's landing-zone vault, in the dr stack's region).
     */
    restoreJobFailures?: boolean;
    /** The Redis snapshot job's state machine (the plan's 12-hour RDB snapshots). */
    cacheSnapshotStateMachineArn?: pulumi.Input<string>;
    /**
     * Incident Manager response plans by severity (config `incidentManager: enabled`): an alarm of that
     * severity also starts an incident from it on ALARM (components/incident-response.ts). Absent: SNS only.
     */
    responsePlanArns?: Partial<Record<IncidentSeverity, pulumi.Input<string>>>;
}
