import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "../infra/dr-plan";
import { ALERT_TAG, AlertId, PLAN_ALERTS } from "../policies/rules/alerting";
import { AGENT_METRICS, AGENT_NAMESPACE } from "./app-cluster";
import { REPLICATION_TIME_MINUTES } from "./backup-storage";
import { Severity } from "./notifications";
import { alarmDescription, classify, dashboardUrl, eventInputTransformer, IncidentSeverity, SEVERITY_LEVELS, severityTags } from "./severity";

/** One-minute datapoints: the finest period standard-resolution AWS metrics offer. */
export const MINUTE = 60;
/** Period of the "over 1 hour" alarms (disk space): an hour of five-minute datapoints, all breaching. */
export const SUSTAINED_PERIOD_SECONDS = 300;
/** Period of the alarms on job-like metrics (replication failures, failed snapshot runs). */
export const JOB_PERIOD_SECONDS = 300;
/** Consecutive one-minute datapoints of replica lag above the RPO budget before the alarm. */
export const REPLICA_LAG_MINUTES = 5;
/**
 * "Database down" from the metrics: of the plan's {@link PLAN_ALERTS} minutes of one-minute
 * DatabaseConnections datapoints, this many missing (or empty) ones page. RDS publishes its metrics
 * once a minute and they can arrive late; CloudWatch then evaluates the real datapoints it has, and
 * fills in missing ones (as breaching here) only "if ... the number of actual data points that were
 * retrieved is lower than the alarm's number of Evaluation Periods" (CloudWatch user guide, "How alarm
 * state is evaluated when data is missing"; its evaluation range for 3 periods is 5 datapoints). With
 * 2 of 3 the alarm never pages on up to three late datapoints and pages once four minutes are missing
 * (test/monitoring.test.ts models the documented evaluation). The immediate notification is the RDS
 * event subscription (the database component), delivered as the event happens.
 */
export const DATABASE_DOWN_DATAPOINTS = 2;
const GIB = 1024 ** 3;

/**
 * Each alarm's delay, in the plan's terms: period x evaluation periods (= datapoints to alarm) equals
 * the plan's minutes for that alert, exactly. Read from {@link PLAN_ALERTS} (which reads DR_PLAN).
 */
export function planTiming(id: AlertId, periodSeconds: number): { period: number; evaluationPeriods: number; datapointsToAlarm: number } {
    const seconds = PLAN_ALERTS[id].minutes * 60;
    if (seconds % periodSeconds !== 0) throw new Error(`alert ${id}: the plan's ${PLAN_ALERTS[id].minutes} min is not a whole number of ${periodSeconds} s periods`);
    const n = seconds / periodSeconds;
    return { period: periodSeconds, evaluationPeriods: n, datapointsToAlarm: n };
}

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

/**
 * The plan's "Monitoring and Alerting": CloudWatch alarms for each critical alert at the plan's
 * timings, alarms on the recovery point (replica lag, S3 replication, backup and snapshot jobs), the
 * "complete system outage" composite alarm, and a dashboard of the site. Every alarm notifies its
 * severity's topic on ALARM and on OK.
 */
export class Monitoring extends pulumi.ComponentResource {
    /** The P1 composite alarm (app down AND database down): FIS experiments use it as a stop condition. */
    readonly criticalAlarmArn: pulumi.Output<string>;
    readonly criticalAlarmName: pulumi.Output<string>;
    /** Every metric alarm by its short key (e.g. `database-down`), for the README and tests. */
    readonly alarmNames: Record<string, pulumi.Output<string>>;
    readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:Monitoring", name, {}, opts);
        const t = args.thresholds;
        const alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};

        // Every alert names its severity, response time, runbook and the site's dashboard first
        // (components/severity.ts decides the severity of each key, and so its topic).
        const dashboardLink = dashboardUrl(args.region, name);
        const engage = (key: string): pulumi.Input<string>[] => {
            const plan = args.responsePlanArns?.[classify(key).severity];
            return plan ? [plan] : [];
        };
        const alarm = (
            key: string,
            props: Omit<aws.cloudwatch.MetricAlarmArgs, "name" | "alarmActions" | "okActions" | "tags" | "alarmDescription"> & { alarmDescription: string },
            extra: { alert?: AlertId; topicArn?: pulumi.Input<string>; provider?: aws.Provider } = {},
        ) => {
            const severity: Severity = SEVERITY_LEVELS[classify(key).severity].topic;
            const topic = extra.topicArn ?? args.topicArns[severity];
            const a = new aws.cloudwatch.MetricAlarm(`${name}-${key}`, {
                name: `${name}-${key}`,
                ...props,
                alarmDescription: alarmDescription(key, dashboardLink, props.alarmDescription),
                // Incident Manager's response plans are global (no region in their ARN): alarms of any region may start them.
                alarmActions: [topic, ...engage(key)],
                okActions: [topic],
                tags: { ...severityTags(key), ...(extra.alert ? { [ALERT_TAG]: extra.alert } : {}) },
            }, { parent: this, ...(extra.provider ? { provider: extra.provider } : {}) });
            alarms[key] = a;
            return a;
        };
        const line = (id: AlertId) => `Plan: "${PLAN_ALERTS[id].line}"`;

        // ── Database down: immediate. The database component's RDS event subscription sends availability,
        // failover and failure events to the critical topic as they happen (seconds). This alarm is the
        // backstop for an instance that goes silent without an event: it publishes DatabaseConnections
        // every minute while it runs, so missing datapoints are "down" (breaching), but only
        // DATABASE_DOWN_DATAPOINTS of the plan's minutes, so a late datapoint never pages.
        const dbTiming = planTiming("database-down", MINUTE);
        const dbDown = alarm("database-down", {
            alarmDescription: `${line("database-down")}. The database reported no DatabaseConnections datapoint in ${Math.min(DATABASE_DOWN_DATAPOINTS, dbTiming.evaluationPeriods)} of the last ${dbTiming.evaluationPeriods} minutes (missing data is breaching): the instance is stopped, failing over or unreachable. The RDS event subscription reports the event itself immediately.`,
            namespace: "AWS/RDS",
            metricName: "DatabaseConnections",
            dimensions: { DBInstanceIdentifier: args.database.identifier },
            statistic: "SampleCount",
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            treatMissingData: "breaching",
            ...dbTiming,
            datapointsToAlarm: Math.min(DATABASE_DOWN_DATAPOINTS, dbTiming.evaluationPeriods),
        }, { alert: "database-down" });

        // ── Application down: immediate. No healthy target behind the site's ALB, or the failover
        // health check of /api/health failing (Route 53's view from the internet).
        const appDown = alarm("app-no-healthy-hosts", {
            alarmDescription: `${line("application-down")}. The site's ALB target group has no healthy app instance (missing data is breaching: the ALB publishes the count every minute).`,
            namespace: "AWS/ApplicationELB",
            metricName: "HealthyHostCount",
            dimensions: { LoadBalancer: args.loadBalancer.arnSuffix, TargetGroup: args.loadBalancer.targetGroupArnSuffix },
            statistic: "Minimum",
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            treatMissingData: "breaching",
            ...planTiming("application-down", MINUTE),
        }, { alert: "application-down" });
        alarm("app-health-check", {
            alarmDescription: `${line("application-down")}. Route 53's failover health check of the site's /api/health reports it unhealthy (missing data is breaching). Alarm in us-east-1, where Route 53 publishes health-check metrics.`,
            namespace: "AWS/Route53",
            metricName: "HealthCheckStatus",
            dimensions: { HealthCheckId: args.healthCheck.id },
            statistic: "Minimum",
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            treatMissingData: "breaching",
            ...planTiming("application-down", MINUTE),
        }, { alert: "application-down", topicArn: args.healthCheck.criticalTopicArn, provider: args.healthCheck.provider });

        // ── High error rate: 5 minutes. Target 5XX as a percentage of requests, five one-minute
        // datapoints in a row. No traffic is no error (missing data is not breaching; app down covers it).
        const errorTiming = planTiming("high-error-rate", MINUTE);
        const albMetric = (metricName: string) => ({
            namespace: "AWS/ApplicationELB",
            metricName,
            dimensions: { LoadBalancer: args.loadBalancer.arnSuffix, TargetGroup: args.loadBalancer.targetGroupArnSuffix },
            period: errorTiming.period,
            stat: "Sum",
        });
        alarm("high-error-rate", {
            alarmDescription: `${line("high-error-rate")}. More than ${t.errorRatePercent}% of requests answered 5XX by the app targets, in each of ${errorTiming.evaluationPeriods} consecutive one-minute periods.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.errorRatePercent,
            treatMissingData: "notBreaching",
            evaluationPeriods: errorTiming.evaluationPeriods,
            datapointsToAlarm: errorTiming.datapointsToAlarm,
            metricQueries: [
                { id: "errors", metric: albMetric("HTTPCode_Target_5XX_Count"), returnData: false },
                { id: "requests", metric: albMetric("RequestCount"), returnData: false },
                { id: "rate", label: "Target 5XX, % of requests", expression: "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)", returnData: true },
            ],
        }, { alert: "high-error-rate" });

        // ── Disk space low: 1 hour. Sustained for the whole hour (every five-minute datapoint breaching),
        // so a burst of temp files does not page; missing data stays missing (app and database down cover it).
        const diskTiming = planTiming("disk-space-low", SUSTAINED_PERIOD_SECONDS);
        alarm("app-disk-space-low", {
            alarmDescription: `${line("disk-space-low")}. The fullest root volume of the app group has been above ${t.diskUsedPercent}% used (CloudWatch agent) for an hour.`,
            namespace: AGENT_NAMESPACE,
            metricName: AGENT_METRICS.diskUsedPercent,
            dimensions: { AutoScalingGroupName: args.autoScalingGroupName },
            statistic: "Maximum",
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.diskUsedPercent,
            treatMissingData: "missing",
            ...diskTiming,
        }, { alert: "disk-space-low" });
        alarm("db-storage-low", {
            alarmDescription: `${line("disk-space-low")}. The database has had less than ${t.dbFreeStorageGb} GiB of free storage for an hour.`,
            namespace: "AWS/RDS",
            metricName: "FreeStorageSpace",
            dimensions: { DBInstanceIdentifier: args.database.identifier },
            statistic: "Minimum",
            comparisonOperator: "LessThanThreshold",
            threshold: t.dbFreeStorageGb * GIB,
            treatMissingData: "missing",
            ...diskTiming,
        }, { alert: "disk-space-low" });

        // ── The recovery point (RPO).
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
        if (args.backupJobFailures) {
            // EventBridge, not the AWS/Backup metrics: each failed job is one event naming the job, the
            // resource and the reason, delivered as it happens, with no metric dimensions to get wrong
            // and no "OK" that would only mean "no failure in the last period". Copy jobs to the DR
            // vault run (and fail) in this, the source, region.
            const rule = new aws.cloudwatch.EventRule(`${name}-backup-job-failed`, {
                name: `${name}-backup-job-failed`,
                description: `Plan: database backups "every ${DR_PLAN.dbBackupIntervalHours} hours", copied to the DR region: a backup or copy job of this region failed, was aborted or expired.`,
                eventPattern: JSON.stringify({
                    source: ["aws.backup"],
                    "detail-type": ["Backup Job State Change", "Copy Job State Change"],
                    detail: { state: ["FAILED", "ABORTED", "EXPIRED"] },
                }),
                tags: severityTags("backup-job-failed"),
            }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-backup-job-failed`, {
                rule: rule.name,
                arn: args.topicArns[SEVERITY_LEVELS[classify("backup-job-failed").severity].topic],
                inputTransformer: eventInputTransformer("backup-job-failed", dashboardLink, "a backup or copy job failed"),
            }, { parent: this });
        }
        if (args.restoreJobFailures) {
            // Restore jobs report `status` (not `state`): "if your restore job is part of a restore
            // testing plan, the parameter restoreTestingPlanArn is included" (AWS Backup developer guide,
            // "Monitoring AWS Backup events using Amazon EventBridge", Restore Job events). Statuses:
            // PENDING | RUNNING | COMPLETED | ABORTED | FAILED (DescribeRestoreJob).
            const rule = new aws.cloudwatch.EventRule(`${name}-restore-job-failed`, {
                name: `${name}-restore-job-failed`,
                description: 'Plan: "Database restore test: Restore from backup and verify data" (monthly), "Restore test: Test restoring from recent backup" (weekly): a restore job of this region (a restore test or an operator\'s restore) failed or was aborted.',
                eventPattern: JSON.stringify(RESTORE_JOB_FAILED_PATTERN),
                tags: severityTags("restore-job-failed"),
            }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-restore-job-failed`, {
                rule: rule.name,
                arn: args.topicArns[SEVERITY_LEVELS[classify("restore-job-failed").severity].topic],
                inputTransformer: eventInputTransformer("restore-job-failed", dashboardLink, "a restore job failed"),
            }, { parent: this });
        }

        // ── P1: complete system outage. Application down AND database down together (alarms of this
        // region: a composite alarm cannot read another region's alarms).
        const critical = new aws.cloudwatch.CompositeAlarm(`${name}-complete-outage`, {
            alarmName: `${name}-complete-outage`,
            alarmDescription: alarmDescription("complete-outage", dashboardLink, "Complete system outage: the application is down (no healthy host behind the site's ALB) and the database is down, together. Customers are told (customer notices) and the status page shows a major outage."),
            alarmRule: pulumi.interpolate`ALARM("${appDown.name}") AND ALARM("${dbDown.name}")`,
            alarmActions: [args.topicArns[SEVERITY_LEVELS[classify("complete-outage").severity].topic], ...engage("complete-outage")],
            okActions: [args.topicArns[SEVERITY_LEVELS[classify("complete-outage").severity].topic]],
            tags: severityTags("complete-outage"),
        }, { parent: this });
        this.criticalAlarmArn = critical.arn;
        this.criticalAlarmName = critical.alarmName;
        this.alarmNames = Object.fromEntries(Object.entries(alarms).map(([k, a]) => [k, a.name]));

        const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
            dashboardName: `${name}`,
            dashboardBody: dashboardBody(args, alarms, critical),
        }, { parent: this });
        this.dashboardName = dashboard.dashboardName;

        this.registerOutputs({ criticalAlarmArn: this.criticalAlarmArn, alarmNames: this.alarmNames, dashboardName: this.dashboardName });
    }
}

/** The EventBridge pattern of a failed or aborted AWS Backup restore job (restore tests included). */
export const RESTORE_JOB_FAILED_PATTERN = {
    source: ["aws.backup"],
    "detail-type": ["Restore Job State Change"],
    detail: { status: ["FAILED", "ABORTED"] },
} as const;

/** The source of ARC Region switch's events (EventBridge events reference, "ARC Region switch events"). */
export const REGION_SWITCH_EVENT_SOURCE = "aws.arc-region-switch";

/**
 * The Region where ARC Region switch emits its events for a plan: its control plane's. The ARC developer
 * guide, "Using Region switch in ARC with Amazon EventBridge": "For the AWS Region to create the rule in,
 * choose the Region where you created the plan that you want to monitor events for"; plans are created
 * through the control plane, which is in us-east-1 from every Region (components/region-switch.ts), and
 * the guide's example events carry `"region": "us-east-1"`.
 */
export const REGION_SWITCH_EVENTS_REGION = "us-east-1";

/**
 * A Region switch plan evaluation warning (a plan that cannot run: permissions, resources, capacity).
 * The ARC developer guide (working-with-rs-plan-evaluation): "Region switch automatically evaluates your
 * plan multiple times per hour. If any checks fail, Region switch returns warning messages ... You can
 * also receive validation warnings through Amazon EventBridge"; eventbridge-region-switch: "For a Region
 * switch plan evaluation, an event is emitted when a warning is returned. If the warning is not cleared,
 * an event is emitted for the warning only once every 24 hours."
 *
 * AWS's documents disagree on the event's shape, so the pattern matches each documented form: the
 * EventBridge events reference lists the detail-type "ARC Region Switch Plan Evaluation" (every such event
 * is a warning); the developer guide's example warning event carries the detail-type "ARC Region Switch
 * Plan Execution" with `detail.metadata.warning`; the SDKs' ExecutionEventType has `planEvaluationWarning`.
 * `$or`, `exists` and `equals-ignore-case` are EventBridge comparison operators (EventBridge user guide,
 * "Comparison operators for use in event patterns": "Comparison operators only work on leaf nodes, with
 * the exception of $or and anything-but"); ignore-case because the guide itself spells the detail-type
 * "ARC Region switch Plan Execution" in one pattern and "ARC Region Switch Plan Execution" in its events.
 */
export const REGION_SWITCH_EVALUATION_WARNING_PATTERN = {
    source: [REGION_SWITCH_EVENT_SOURCE],
    $or: [
        { "detail-type": [{ "equals-ignore-case": "ARC Region Switch Plan Evaluation" }] },
        { detail: { metadata: { warning: [{ exists: true }] } } },
        { detail: { eventType: [{ "equals-ignore-case": "planEvaluationWarning" }] } },
    ],
} as const;

/**
 * A Region switch execution that failed, or stopped on a failed step (the execution waits for an
 * operator). The events' `detail.eventType` (developer guide example: "ExecutionStarted", "StepStarted")
 * takes the API's ExecutionEventType values (ListPlanExecutionEvents: executionFailed, stepFailed,
 * stepPausedByError, ...), matched ignoring case since the example capitalises them. A cancelled or
 * operator-paused execution is the operator's choice: not paged.
 */
export const REGION_SWITCH_EXECUTION_FAILED_PATTERN = {
    source: [REGION_SWITCH_EVENT_SOURCE],
    "detail-type": [{ "equals-ignore-case": "ARC Region Switch Plan Execution" }],
    detail: { eventType: ["executionFailed", "stepFailed", "stepPausedByError"].map((t) => ({ "equals-ignore-case": t })) },
} as const;

export interface RegionSwitchAlertsArgs {
    /** Topics of the region the events are emitted in ({@link REGION_SWITCH_EVENTS_REGION}): high and critical. */
    topicArns: { high: pulumi.Input<string>; critical: pulumi.Input<string> };
}

/**
 * Readiness of the ARC Region switch plan: its evaluation warnings (a plan that cannot run, found before
 * the incident) to the high topic, failed executions to the critical topic, through EventBridge rules of
 * the default bus. Built with a provider of {@link REGION_SWITCH_EVENTS_REGION}. The rules match the
 * Region switch events of every plan of the account in that region (the account's plan is this stack's).
 * Events are "emitted on a best effort basis" (developer guide): the console and GetPlanEvaluationStatus
 * remain the reference (README).
 */
export class RegionSwitchAlerts extends pulumi.ComponentResource {
    readonly ruleNames: { evaluationWarning: pulumi.Output<string>; executionFailed: pulumi.Output<string> };

    constructor(name: string, args: RegionSwitchAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:RegionSwitchAlerts", name, {}, opts);
        // The severity (and so the topic) of each rule: components/severity.ts. No site dashboard shows
        // Region switch: the message points to its console.
        const regionSwitchConsole = `https://${REGION_SWITCH_EVENTS_REGION}.console.aws.amazon.com/arc/home?region=${REGION_SWITCH_EVENTS_REGION}#/region-switch`;
        const rule = (key: "evaluation-warning" | "execution-failed", description: string, pattern: object, title: string) => {
            const severity = SEVERITY_LEVELS[classify(key).severity].topic as "high" | "critical";
            const r = new aws.cloudwatch.EventRule(`${name}-${key}`, {
                name: `${name}-${key}`,
                description,
                eventPattern: JSON.stringify(pattern),
                tags: severityTags(key),
            }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-${key}`, { rule: r.name, arn: args.topicArns[severity], inputTransformer: eventInputTransformer(key, regionSwitchConsole, title) }, { parent: this });
            return r;
        };
        const warning = rule("evaluation-warning",
            "Plan: failover readiness. The Region switch plan evaluation found a problem (permissions, resources, capacity) that would block an execution: resolve it in the Region switch console.",
            REGION_SWITCH_EVALUATION_WARNING_PATTERN, "the Region switch plan cannot run as it is");
        const failed = rule("execution-failed",
            "Plan: failover within the RTO. A Region switch execution failed or stopped on a failed step: the failover (or return) is not done.",
            REGION_SWITCH_EXECUTION_FAILED_PATTERN, "a Region switch execution failed");
        this.ruleNames = { evaluationWarning: warning.name, executionFailed: failed.name };
        this.registerOutputs({ ruleNames: this.ruleNames });
    }
}

/** The dashboard widgets' titles: traffic, errors, latency, healthy hosts, database, replica lag, backup jobs, alarms. */
export const DASHBOARD_WIDGETS = {
    traffic: "Traffic (requests per minute)",
    errors: "Errors (5XX per minute)",
    latency: "Latency (target response time)",
    healthyHosts: "Healthy hosts",
    database: "Database (connections, CPU, free storage)",
    replicaLag: "Database replica lag (seconds)",
    backupJobs: "Backup and copy jobs (this region)",
    alarms: "Alarms",
} as const;

function dashboardBody(args: MonitoringArgs, alarms: Record<string, aws.cloudwatch.MetricAlarm>, critical: aws.cloudwatch.CompositeAlarm): pulumi.Output<string> {
    const region = args.region;
    const lb = args.loadBalancer;
    const db = args.database;
    const metric = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
        type: "metric",
        width: 12,
        height: 6,
        properties: { title, region, view: "timeSeries", stat: "Sum", period: MINUTE, metrics, ...extra },
    });
    const alb = (name: string, opts: Record<string, unknown> = {}) => ["AWS/ApplicationELB", name, "LoadBalancer", lb.arnSuffix, "TargetGroup", lb.targetGroupArnSuffix, opts];
    const lagged = db.crossRegionReplica ? db.identifier : db.readReplicaIdentifier;
    const widgets = [
        metric(DASHBOARD_WIDGETS.traffic, [alb("RequestCount")]),
        metric(DASHBOARD_WIDGETS.errors, [
            alb("HTTPCode_Target_5XX_Count"),
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb.arnSuffix],
        ]),
        metric(DASHBOARD_WIDGETS.latency, [
            alb("TargetResponseTime", { stat: "p50" }),
            alb("TargetResponseTime", { stat: "p99" }),
        ], { stat: "Average" }),
        metric(DASHBOARD_WIDGETS.healthyHosts, [alb("HealthyHostCount"), alb("UnHealthyHostCount")], { stat: "Minimum" }),
        metric(DASHBOARD_WIDGETS.database, [
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db.identifier],
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db.identifier],
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db.identifier, { yAxis: "right" }],
        ], { stat: "Average" }),
        metric(DASHBOARD_WIDGETS.replicaLag, lagged ? [["AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", lagged]] : [], {
            stat: "Maximum",
            annotations: { horizontal: [{ label: "RPO budget", value: DR_PLAN.rpoMinutes * 60 }] },
        }),
        metric(DASHBOARD_WIDGETS.backupJobs, [
            [{ expression: "SEARCH('{AWS/Backup} MetricName=\"NumberOfBackupJobsCompleted\"', 'Sum', 3600)", id: "completed", label: "Backup jobs completed" }],
            [{ expression: "SEARCH('{AWS/Backup} MetricName=\"NumberOfBackupJobsFailed\"', 'Sum', 3600)", id: "failed", label: "Backup jobs failed" }],
            [{ expression: "SEARCH('{AWS/Backup} MetricName=\"NumberOfCopyJobsFailed\"', 'Sum', 3600)", id: "copyfailed", label: "Copy jobs failed" }],
        ], { period: 3600 }),
        {
            type: "alarm",
            width: 24,
            height: 4,
            properties: { title: DASHBOARD_WIDGETS.alarms, alarms: [critical.arn, ...Object.values(alarms).filter((a) => a !== alarms["app-health-check"] || !args.healthCheck.provider).map((a) => a.arn)] },
        },
    ];
    return pulumi.jsonStringify({ widgets });
}
