import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { REPLICATION_RULE_IDS } from "../components/backup-storage";
import { Database } from "../components/database";
import { SiteKey } from "../components/keys";
import { Monitoring, REGION_SWITCH_EVENTS_REGION, RegionSwitchAlerts } from "../components/monitoring";
import { Notifications, SEVERITIES, Severity, SlackChannel } from "../components/notifications";
import type { IncidentSeverity } from "../components/severity";
import { StackConfig } from "./config";
import { DataProtection } from "./data-protection";
import { GLOBAL_METRICS_REGION, StackProviders } from "./providers";
import { ServingPath } from "./serving-path";

/** What the monitoring section watches and where it sends alerts: the sections declared before it. */
export interface MonitoredSite {
    notifications: Notifications;
    database: Database;
    servingPath: ServingPath;
    dataProtection: DataProtection;
    /** The Redis snapshot job, where the site runs one. */
    cacheSnapshotJobArn?: pulumi.Output<string>;
    /**
     * The stack owns the ARC Region switch plan (the dr stack): its evaluation warnings and failed
     * executions go to the alert topics of the region where Region switch emits its events.
     */
    regionSwitchPlan?: boolean;
    /** Incident Manager response plans by severity (config incidentManager: enabled; infra/communication.ts). */
    responsePlanArns?: Partial<Record<IncidentSeverity, pulumi.Input<string>>>;
}

/**
 * The monitoring section of a stack: the plan's critical alerts at its timings, the recovery point's
 * alarms, backup and restore job failures, the backup vaults' notifications (modified recovery
 * points, failed copies: to the high topic of each vault's region), the P1 composite alarm (the FIS
 * drills stop on it), the site's dashboard, routed to the alert topics by severity, and the stack's
 * one Slack channel.
 *
 * Route 53 publishes health-check metrics only in us-east-1: a site elsewhere alarms on its health
 * check there, notifying a critical topic of that region (its own key, the same subscribers). The
 * provider of those resources is configured so that a `pulumi up` of the site calls us-east-1 only
 * when one of them changes (infra/providers.ts, `outageTolerantProviderArgs`), and nothing here reads
 * through it: the account id comes through the site's provider. So this provider adds nothing to what
 * a failover run (without `--refresh`) needs of us-east-1 during an outage there. The run still needs
 * us-east-1 for its IAM changes: IAM's control plane is in us-east-1 ("In the aws partition, the IAM
 * service's control plane is in the us-east-1 Region", AWS Fault Isolation Boundaries, "Global
 * services"), and an active site creates the roles of its backups, restore tests, Redis snapshot job
 * and drills and changes the app instance role's policy (test/monitoring.test.ts lists them). A
 * failover path that needs nothing of the primary region is issue 13's.
 */
/** Alert topics the stack keeps outside its site's region, with what a publisher there needs (the communication test). */
export interface RegionalAlertTopics {
    /** Component name prefix of what tests them (`<site>-global-metrics`, `<site>-landing-zone`). */
    name: string;
    region: string;
    provider: aws.Provider;
    topicArns: Partial<Record<Severity, pulumi.Input<string>>>;
    kmsKeyArn: pulumi.Input<string>;
}

export function defineMonitoring(config: StackConfig, providers: StackProviders, site: string, watched: MonitoredSite) {
    const { notifications, database, servingPath, dataProtection } = watched;
    const siteOpts = { provider: providers.site };
    let healthCheckTopicArn = notifications.topicArns.critical;
    const chatTopics: pulumi.Input<string>[] = SEVERITIES.map((s) => notifications.topicArns[s]);
    const accountId = aws.getCallerIdentityOutput({}, siteOpts).accountId;
    let globalAlerts: Notifications | undefined;
    const otherRegionTopics: RegionalAlertTopics[] = [];
    // Region switch events are emitted in us-east-1 (components/monitoring.ts, REGION_SWITCH_EVENTS_REGION):
    // through the us-east-1 provider, or the site's when the site is there.
    if (watched.regionSwitchPlan && !providers.globalMetrics && config.siteRegion !== REGION_SWITCH_EVENTS_REGION) {
        throw new Error(`the stack owns the Region switch plan but has no provider in ${REGION_SWITCH_EVENTS_REGION}, where its events are emitted`);
    }
    if (providers.globalMetrics) {
        const globalOpts = { provider: providers.globalMetrics };
        const globalKey = new SiteKey(`${site}-global-metrics-key`, { purpose: `the ${config.siteName} site's alarm topic in us-east-1`, lifecycle: config.lifecycle }, globalOpts);
        globalAlerts = new Notifications(`${site}-global-metrics-alerts`, {
            kmsKeyArn: globalKey.keyArn,
            accountId,
            emails: config.alerts.emails,
            smsNumbers: config.alerts.smsNumbers,
            // critical: the health-check alarm and failed Region switch executions; high: plan evaluation warnings.
            severities: watched.regionSwitchPlan ? ["critical", "high"] : ["critical"],
        }, globalOpts);
        healthCheckTopicArn = globalAlerts.topicArns.critical;
        otherRegionTopics.push({ name: `${site}-global-metrics`, region: GLOBAL_METRICS_REGION, provider: providers.globalMetrics, topicArns: globalAlerts.topicArns, kmsKeyArn: globalKey.keyArn });
        chatTopics.push(healthCheckTopicArn);
        if (watched.regionSwitchPlan) chatTopics.push(globalAlerts.topicArns.high);
    }
    if (watched.regionSwitchPlan) {
        const topics = globalAlerts ?? notifications;
        new RegionSwitchAlerts(`${site}-region-switch-alerts`, {
            topicArns: { high: topics.topicArns.high, critical: topics.topicArns.critical },
        }, { provider: providers.globalMetrics ?? providers.site });
    }
    // Vault notifications (components/backup-plan.ts, VAULT_ALERT_EVENTS: a recovery point's retention
    // changed, a failed copy), each to the high topic of the vault's own region. The landing zone's
    // vault is in the DR region, where this stack has no alert topic otherwise: a high topic there,
    // under the landing zone's key, with the same recipients as the site's high topic.
    const vaults = dataProtection.vaults;
    vaults.site?.sendAlertsTo(notifications.topicArns.high);
    if (vaults.drLandingZone) {
        if (!providers.drLandingZone) throw new Error("the stack has a landing-zone vault but no provider in the DR region");
        const landingZoneAlerts = new Notifications(`${site}-landing-zone-alerts`, {
            kmsKeyArn: dataProtection.outputs.drKmsKeyArn as pulumi.Output<string>,
            accountId,
            emails: config.alerts.emails,
            smsNumbers: config.alerts.smsNumbers,
            severities: ["high"],
        }, { provider: providers.drLandingZone });
        vaults.drLandingZone.sendAlertsTo(landingZoneAlerts.topicArns.high);
        otherRegionTopics.push({ name: `${site}-landing-zone`, region: config.drRegion, provider: providers.drLandingZone, topicArns: landingZoneAlerts.topicArns, kmsKeyArn: dataProtection.outputs.drKmsKeyArn as pulumi.Output<string> });
        chatTopics.push(landingZoneAlerts.topicArns.high);
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
        // Restore tests run where the site serves; on the dr stack, in any role, this also catches a
        // restore an operator starts from the production stack's landing-zone vault, which is in the
        // dr stack's region. (Copies INTO that vault are the source region's copy jobs, alerted there.)
        restoreJobFailures: true,
        cacheSnapshotStateMachineArn: watched.cacheSnapshotJobArn,
        responsePlanArns: watched.responsePlanArns,
    }, siteOpts);

    // Slack: one channel configuration for the stack, through a region with Chatbot's API, listing
    // every alert topic of every region (components/notifications.ts, SlackChannel).
    if (config.alerts.slack) {
        if (!providers.chatbot) throw new Error("Slack is configured but the stack has no provider in a Chatbot region");
        new SlackChannel(`${site}-alerts-slack`, {
            slack: config.alerts.slack,
            topicArns: chatTopics,
            // Earlier versions declared the configuration inside the Notifications components
            // (`<notifications>-slack`); at most one of them was ever created (Chatbot refused the second).
            previously: [
                { parent: notifications, name: `${site}-alerts-slack` },
                ...(globalAlerts ? [{ parent: globalAlerts, name: `${site}-global-metrics-alerts-slack` }] : []),
            ],
        }, { provider: providers.chatbot });
    }
    return {
        criticalAlarmArn: monitoring.criticalAlarmArn,
        otherRegionTopics,
        outputs: {
            criticalAlarmArn: monitoring.criticalAlarmArn,
            alarmNames: monitoring.alarmNames,
            dashboardName: monitoring.dashboardName,
            ...(providers.globalMetrics ? { globalAlertTopicArn: healthCheckTopicArn } : {}),
        } as Record<string, pulumi.Input<unknown>>,
    };
}
