/**
 * The plan's critical alerts, each at the plan's timing: database down and application down
 * (immediate), high error rate (5 minutes), disk space low (1 hour).
 */
import type * as aws from "@pulumi/aws";
import type { MonitoringArgs } from "./args";
import type { SiteAlarms } from "./site-alarms";
import { DATABASE_DOWN_DATAPOINTS, MINUTE, planTiming, SUSTAINED_PERIOD_SECONDS } from "./timing";
import { AGENT_METRICS, AGENT_NAMESPACE } from "../app-cluster";

const GIB = 1024 ** 3;

/** The alarms of the four alerts; database down and app down (no healthy host) also feed the complete-outage alarm. */
export function planAlertAlarms(site: SiteAlarms, args: MonitoringArgs): { dbDown: aws.cloudwatch.MetricAlarm; appDown: aws.cloudwatch.MetricAlarm } {
    const { alarm, line } = site;
    const t = args.thresholds;

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

    return { dbDown, appDown };
}
