/** The site's CloudWatch dashboard: traffic, errors, latency, hosts, database, replica lag, backup jobs, and every alarm. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "../../infra/dr-plan";
import type { MonitoringArgs } from "./args";
import { MINUTE } from "./timing";

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
export function dashboardBody(args: MonitoringArgs, alarms: Record<string, aws.cloudwatch.MetricAlarm>, critical: aws.cloudwatch.CompositeAlarm): pulumi.Output<string> {
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
