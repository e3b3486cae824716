import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CommunicationTest } from "../components/communication-test";
import { ENGAGED_SEVERITIES, IncidentResponse, responsePlanArn } from "../components/incident-response";
import { Notifications } from "../components/notifications";
import { IncidentSeverity } from "../components/severity";
import { AlarmEventForwarder, StatusPage } from "../components/status-page";
import { StackConfig } from "./config";
import type { RegionalAlertTopics } from "./monitoring";
import { StackProviders } from "./providers";

/**
 * The plan's "Incident Response" engagement, before the alarms that start it: with config
 * `incidentManager: enabled`, the production stack declares the contacts, escalation plans and response
 * plans (components/incident-response.ts); either stack's alarms name the response plans by their ARN
 * (it has no region). Disabled (the default): none, and alerts go by SNS only.
 */
export function defineIncidentResponse(config: StackConfig, providers: StackProviders, namePrefix: string, site: string, notifications: Notifications) {
    if (!config.incidentResponse.incidentManager) return { responsePlanArns: undefined };
    const opts = { provider: providers.site };
    if (config.siteRole === "primary") {
        const im = new IncidentResponse(`${site}-incident-response`, {
            namePrefix,
            contacts: config.incidentResponse.contacts,
            notificationTopicArn: notifications.topicArns.critical,
        }, opts);
        return { responsePlanArns: im.responsePlanArns };
    }
    const accountId = aws.getCallerIdentityOutput({}, opts).accountId;
    const responsePlanArns: Partial<Record<IncidentSeverity, pulumi.Output<string>>> = {};
    for (const s of ENGAGED_SEVERITIES) responsePlanArns[s] = responsePlanArn(accountId, namePrefix, s);
    return { responsePlanArns };
}

/**
 * The plan's "Communication Plan" and its quarterly test:
 * - dr stack (any role): the public status page in the DR region, and the customer notices topic
 *   (components/status-page.ts); the alarms it follows are every site's;
 * - production stack: its site's alarm state changes forwarded to the DR region's default event bus;
 * - either stack with a site outside us-east-1: its us-east-1 (health-check) alarm changes forwarded too;
 * - both: the quarterly communication test of every alert topic the stack creates, each from its own
 *   region (a schedule publishes in its region): the site's topics (and, on dr, the status page's test
 *   component), the us-east-1 topics of the health-check alarm and Region switch events, the landing
 *   zone's topic in the DR region.
 */
export function defineCommunication(config: StackConfig, providers: StackProviders, namePrefix: string, site: string, args: { notifications: Notifications; kmsKeyArn: pulumi.Input<string>; otherRegionTopics?: RegionalAlertTopics[] }) {
    const opts = { provider: providers.site };
    const outputs: Record<string, pulumi.Input<unknown>> = {};
    let statusFunctionArn: pulumi.Output<string> | undefined;
    const accountId = aws.getCallerIdentityOutput({}, opts).accountId;
    if (config.siteRole === "primary") {
        new AlarmEventForwarder(`${site}-alarms-to-status-page`, { alarmPrefix: site, targetRegion: config.drRegion, accountId }, opts);
    }
    // The health-check alarms of a site outside us-east-1 are in us-east-1 (infra/monitoring.ts).
    if (providers.globalMetrics && providers.globalMetrics !== providers.site) {
        new AlarmEventForwarder(`${site}-global-alarms-to-status-page`, { alarmPrefix: site, targetRegion: config.drRegion, accountId }, { provider: providers.globalMetrics });
    }
    if (config.siteRole !== "primary") {
        const page = new StatusPage(`${namePrefix}-status`, {
            namePrefix,
            // A standby DR site's alarms show under "Disaster recovery site"; once active, it is the application.
            servingSites: config.siteRole === "active" ? [config.siteName] : ["primary"],
            kmsKeyArn: args.kmsKeyArn,
            logRetentionDays: config.backup.logRetentionDays,
            customerSubscribers: config.incidentResponse.customerNotices,
            lifecycle: config.lifecycle,
        }, opts);
        statusFunctionArn = page.functionArn;
        Object.assign(outputs, {
            statusPageUrl: page.url,
            statusPageBucket: page.bucketName,
            statusFunctionName: page.functionName,
            customerNoticesTopicArn: page.customerTopicArn,
        });
    }
    const test = new CommunicationTest(`${site}-communication-test`, {
        where: `${site}, ${config.siteRegion}`,
        topicArns: args.notifications.topicArns,
        kmsKeyArn: args.kmsKeyArn,
        statusFunctionArn,
        enabled: config.incidentResponse.communicationTestEnabled,
    }, opts);
    const others = (args.otherRegionTopics ?? []).map((t) => new CommunicationTest(`${t.name}-communication-test`, {
        where: `${t.name}, ${t.region}`,
        topicArns: t.topicArns,
        kmsKeyArn: t.kmsKeyArn,
        enabled: config.incidentResponse.communicationTestEnabled,
    }, { provider: t.provider }));
    outputs.communicationTestSchedules = [test, ...others].flatMap((t) => t.scheduleNames);
    return { outputs };
}
