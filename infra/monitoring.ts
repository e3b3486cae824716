import * as pulumi from "@pulumi/pulumi";
import { REPLICATION_RULE_IDS } from "../components/backup-storage";
import { Database } from "../components/database";
import { SiteKey } from "../components/keys";
import { Monitoring } from "../components/monitoring";
import { Notifications } from "../components/notifications";
import { StackConfig } from "./config";
import { DataProtection } from "./data-protection";
import { StackProviders } from "./providers";
import { ServingPath } from "./serving-path";

/** What the monitoring section watches and where it sends alerts: the sections declared before it. */
export interface MonitoredSite {
    notifications: Notifications;
    database: Database;
    servingPath: ServingPath;
    dataProtection: DataProtection;
    /** The Redis snapshot job, where the site runs one. */
    cacheSnapshotJobArn?: pulumi.Output<string>;
}

/**
 * The monitoring section of a stack: the plan's critical alerts at its timings, the recovery point's
 * alarms, the P1 composite alarm (the FIS drills stop on it) and the site's dashboard, routed to the
 * alert topics by severity.
 *
 * Route 53 publishes health-check metrics only in us-east-1: a site elsewhere alarms on its health
 * check there, notifying a critical topic of that region (its own key, the same subscribers).
 */
export function defineMonitoring(config: StackConfig, providers: StackProviders, site: string, watched: MonitoredSite) {
    const { notifications, database, servingPath, dataProtection } = watched;
    const siteOpts = { provider: providers.site };
    let healthCheckTopicArn = notifications.topicArns.critical;
    if (providers.globalMetrics) {
        const globalOpts = { provider: providers.globalMetrics };
        const globalKey = new SiteKey(`${site}-global-metrics-key`, { purpose: `the ${config.siteName} site's alarm topic in us-east-1`, protect: config.protect }, globalOpts);
        const globalAlerts = new Notifications(`${site}-global-metrics-alerts`, {
            kmsKeyArn: globalKey.keyArn,
            emails: config.alerts.emails,
            smsNumbers: config.alerts.smsNumbers,
            slack: config.alerts.slack,
            severities: ["critical"],
        }, globalOpts);
        healthCheckTopicArn = globalAlerts.topicArns.critical;
    }
    const monitoring = new Monitoring(`${site}-monitoring`, {
        region: config.siteRegion,
        topicArns: notifications.topicArns,
        thresholds: {
            errorRatePercent: config.alerts.errorRateThresholdPercent,
            diskUsedPercent: config.alerts.diskUsedThresholdPercent,
            dbFreeStorageGb: config.alerts.dbFreeStorageThresholdGb,
        },
        database: {
            identifier: database.identifier,
            crossRegionReplica: config.siteRole === "standby" && config.database.recoverySource === "replica",
            readReplicaIdentifier: database.readReplicaIdentifier,
        },
        loadBalancer: { arnSuffix: servingPath.edge.loadBalancerArnSuffix, targetGroupArnSuffix: servingPath.edge.targetGroupArnSuffix },
        autoScalingGroupName: servingPath.cluster.autoScalingGroupName,
        healthCheck: { id: servingPath.dnsFailover.healthCheckId, criticalTopicArn: healthCheckTopicArn, provider: providers.globalMetrics },
        replications: dataProtection.uploadsBucketName && dataProtection.backupsBucketName
            ? {
                uploads: { sourceBucket: dataProtection.uploadsBucketName, destinationBucket: dataProtection.outputs.drUploadsBucketName as pulumi.Output<string>, ruleId: REPLICATION_RULE_IDS.uploads },
                backups: { sourceBucket: dataProtection.backupsBucketName, destinationBucket: dataProtection.outputs.drBackupsBucketName as pulumi.Output<string>, ruleId: REPLICATION_RULE_IDS.backups },
            }
            : undefined,
        // The site's AWS Backup plan (and its copies to the other region's vault) runs where the site serves.
        backupJobFailures: config.siteRole !== "standby",
        cacheSnapshotStateMachineArn: watched.cacheSnapshotJobArn,
    }, siteOpts);
    return {
        criticalAlarmArn: monitoring.criticalAlarmArn,
        outputs: {
            criticalAlarmArn: monitoring.criticalAlarmArn,
            alarmNames: monitoring.alarmNames,
            dashboardName: monitoring.dashboardName,
            ...(providers.globalMetrics ? { globalAlertTopicArn: healthCheckTopicArn } : {}),
        } as Record<string, pulumi.Input<unknown>>,
    };
}
