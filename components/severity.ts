/**
 * The plan's "Incident Response" in one place: the severity levels P1-P4, their response times (read from
 * DR_PLAN), the channels each one notifies, and the severity of every alarm and event the stacks raise.
 *
 * The alert topics stay three (critical, high, warning: components/notifications.ts, whose names the
 * policy pack reads). A severity chooses one of them, and what else happens:
 *
 * | severity | plan                           | respond within | topic    | channels                                   |
 * |----------|--------------------------------|----------------|----------|--------------------------------------------|
 * | P1       | Critical: complete outage      | 15 min         | critical | email, Slack, SMS, Incident Manager*, customers, status page |
 * | P2       | High: major functionality down | 1 h            | critical | email, Slack, SMS, Incident Manager*, status page |
 * | P3       | Medium: minor functionality    | 4 h            | high     | email, Slack, status page ("degraded")     |
 * | P4       | Low: cosmetic, nobody affected | 24 h           | warning  | email, Slack                               |
 *
 * (*) only with config `incidentManager: enabled` (components/incident-response.ts).
 */
import { DR_PLAN } from "../infra/dr-plan";
import type { Severity } from "./notifications";

export const INCIDENT_SEVERITIES = ["P1", "P2", "P3", "P4"] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

/** Where a severity's alerts go besides its topic's subscribers. */
export type Channel = "email" | "slack" | "sms" | "incident-manager" | "customers" | "status-page";

/** State a component shows on the public status page while an alarm of that severity is in ALARM. */
export type PublicState = "major-outage" | "partial-outage" | "degraded" | "operational";

export interface SeverityLevel {
    /** The plan's words: "P1 - Critical: Complete system outage". */
    label: string;
    meaning: string;
    /** The plan's response time: acknowledge within it (Incident Manager escalates to the next contact after it). */
    responseMinutes: number;
    /** The alert topic its alarms notify. */
    topic: Severity;
    /** Channels reached: the topic's subscribers (email, SMS only on critical, Slack through Chatbot), and more. */
    channels: readonly Channel[];
    /** What the status page shows for the affected component. P4 changes nothing public. */
    publicState: PublicState;
    /** Customers are told (the customer notices topic), on ALARM and when resolved. P1 only; never P3/P4. */
    notifyCustomers: boolean;
    /** Incident Manager impact (1 critical .. 5 no impact) of its response plan, when Incident Manager is enabled. */
    incidentManagerImpact: number;
}

export const SEVERITY_LEVELS: Record<IncidentSeverity, SeverityLevel> = {
    P1: {
        label: "P1 - Critical",
        meaning: "complete system outage",
        responseMinutes: DR_PLAN.p1ResponseMinutes,
        topic: "critical",
        channels: ["email", "slack", "sms", "incident-manager", "customers", "status-page"],
        publicState: "major-outage",
        notifyCustomers: true,
        incidentManagerImpact: 1,
    },
    P2: {
        label: "P2 - High",
        meaning: "major functionality unavailable",
        responseMinutes: DR_PLAN.p2ResponseMinutes,
        topic: "critical",
        channels: ["email", "slack", "sms", "incident-manager", "status-page"],
        publicState: "partial-outage",
        notifyCustomers: false,
        incidentManagerImpact: 2,
    },
    P3: {
        label: "P3 - Medium",
        meaning: "minor functionality affected",
        responseMinutes: DR_PLAN.p3ResponseMinutes,
        topic: "high",
        channels: ["email", "slack", "status-page"],
        publicState: "degraded",
        notifyCustomers: false,
        incidentManagerImpact: 3,
    },
    P4: {
        label: "P4 - Low",
        meaning: "cosmetic issue, no user affected",
        responseMinutes: DR_PLAN.p4ResponseMinutes,
        topic: "warning",
        channels: ["email", "slack"],
        publicState: "operational",
        notifyCustomers: false,
        incidentManagerImpact: 4,
    },
};

/** "15 min", "1 h", "4 h", "24 h". */
export function responseTime(severity: IncidentSeverity): string {
    const m = SEVERITY_LEVELS[severity].responseMinutes;
    return m % 60 === 0 ? `${m / 60} h` : `${m} min`;
}

/** The public components of the status page, in display order. */
export const STATUS_COMPONENTS = {
    application: "Application",
    database: "Database",
    "data-protection": "Backups and replication",
    failover: "Disaster recovery site",
    "communication-test": "Communication test",
} as const;
export type StatusComponent = keyof typeof STATUS_COMPONENTS;

/**
 * The sections (headings under "When an alert fires" in docs/operations.md) an alert's runbook points
 * to, and the runbook commands under them. test/docs.test.ts checks each heading exists and lists every
 * alert of its group.
 */
export const RUNBOOKS = {
    outage: 'docs/operations.md "Complete outage (P1)" (scripts/recovery.sh, scripts/status.sh)',
    database: 'docs/operations.md "Database alerts" (scripts/recovery.sh, scripts/backup.sh)',
    application: 'docs/operations.md "Application alerts" (scripts/recovery.sh verify-app, rollback-image)',
    dataProtection: 'docs/operations.md "Data protection alerts" (scripts/backup.sh)',
    capacity: 'docs/operations.md "Capacity alerts" (disk space)',
    failover: 'docs/operations.md "Region switch alerts" (Region switch)',
} as const;
export type Runbook = keyof typeof RUNBOOKS;

export interface Classification {
    severity: IncidentSeverity;
    component: StatusComponent;
    runbook: Runbook;
    /** Why this severity, in the plan's terms (the table in docs/operations.md). */
    why: string;
}

/**
 * Every alarm and event of the stacks, by its key (the alarm name's last part, `genie-<site>-monitoring-<key>`,
 * or the rule's), with its severity. The one place that decides it: the alarms, the status function, the
 * docs/operations.md's table and the tests read this.
 */
export const CLASSIFICATION = {
    "complete-outage": { severity: "P1", component: "application", runbook: "outage", why: "the application AND the database of the site are down together: the plan's complete system outage" },
    "database-down": { severity: "P2", component: "database", runbook: "database", why: "the database alone is down: Multi-AZ fails over in 1-2 min and the app serves errors meanwhile; major functionality, paged at once (plan: immediate notification)" },
    "db-events": { severity: "P2", component: "database", runbook: "database", why: "RDS availability, failover and failure events of the instance, as they happen (plan: database down, immediate)" },
    "app-no-healthy-hosts": { severity: "P2", component: "application", runbook: "application", why: "no healthy app instance behind the site's load balancer: the site serves nothing, DNS fails over to the other site (plan: application down, immediate)" },
    "app-health-check": { severity: "P2", component: "application", runbook: "application", why: "Route 53 sees the site's /api/health failing from the internet: DNS moves traffic away from it" },
    "execution-failed": { severity: "P2", component: "failover", runbook: "failover", why: "a Region switch execution failed or stopped: the failover or the return is not done" },
    "high-error-rate": { severity: "P3", component: "application", runbook: "application", why: "more than the configured share of requests fail while the site answers: minor functionality affected (plan: 5-minute notification)" },
    "replica-lag": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "the DR replica is behind the RPO budget: no user affected now, a failover would lose more than the plan allows" },
    "read-replica-lag": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "the in-region replica is behind the RPO budget: reads may be stale" },
    "uploads-replication-late": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "uploads reach the DR region later than 15 min: the recovery point is at risk" },
    "uploads-replication-failed": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "uploads fail to replicate to the DR region" },
    "backups-replication-late": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "backups reach the DR region later than 15 min" },
    "backups-replication-failed": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "backups fail to replicate to the DR region" },
    "cache-snapshot-failed": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "a 12-hourly Redis snapshot failed: the cache's recovery point is older than the plan's" },
    "backup-job-failed": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "an AWS Backup backup or copy job failed: the database's recovery point is older than the plan's" },
    "restore-job-failed": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "a restore test (or an operator's restore) failed: the backups are not proven restorable" },
    "vault-notifications": { severity: "P3", component: "data-protection", runbook: "dataProtection", why: "a recovery point's retention changed or a copy failed (AWS Backup vault events)" },
    "evaluation-warning": { severity: "P3", component: "failover", runbook: "failover", why: "the Region switch plan could not run as it is (permissions, capacity): found before the incident" },
    "app-disk-space-low": { severity: "P4", component: "application", runbook: "capacity", why: "an app volume has been nearly full for an hour: nobody is affected yet (plan: 1-hour notification)" },
    "db-storage-low": { severity: "P4", component: "database", runbook: "capacity", why: "the database has little free storage for an hour; storage autoscaling grows it: nobody is affected yet" },
} as const satisfies Record<string, Classification>;
export type AlarmKey = keyof typeof CLASSIFICATION;

/** The classification of a key; throws on a key nobody classified (a new alarm must be given a severity here). */
export function classify(key: string): Classification {
    const c = (CLASSIFICATION as Record<string, Classification>)[key];
    if (!c) throw new Error(`alarm or event "${key}" has no severity: add it to CLASSIFICATION in components/severity.ts`);
    return c;
}

/** The CloudWatch console URL of a dashboard. */
export function dashboardUrl(region: string, dashboardName: string): string {
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboardName}`;
}

/**
 * The first words of every alert: severity, response time, runbook, dashboard. CloudWatch puts the
 * alarm's description in the notification it sends (AlarmDescription in the SNS message; the Slack
 * and e-mail renderings show it), so a paged person reads what to do before anything else.
 */
export function alertPreamble(key: string, dashboard: string): string {
    const c = classify(key);
    const level = SEVERITY_LEVELS[c.severity];
    return `${level.label} (${level.meaning}): acknowledge within ${responseTime(c.severity)}. Runbook: ${RUNBOOKS[c.runbook]}. Dashboard: ${dashboard}.`;
}

/** CloudWatch's limit on an alarm's description (PutMetricAlarm/PutCompositeAlarm: AlarmDescription, 0-1024 characters). */
export const ALARM_DESCRIPTION_MAX = 1024;

/** The preamble and the alarm's own description, cut to CloudWatch's limit (the preamble always fits whole). */
export function alarmDescription(key: string, dashboard: string, detail: string): string {
    const text = `${alertPreamble(key, dashboard)} ${detail}`;
    return text.length <= ALARM_DESCRIPTION_MAX ? text : `${text.slice(0, ALARM_DESCRIPTION_MAX - 3)}...`;
}

/** The severity tag every alarm and event rule carries (`severity=P2`), and the topic tier as before. */
export const SEVERITY_TAG = "incident-severity";
export function severityTags(key: string): Record<string, string> {
    const c = classify(key);
    return { [SEVERITY_TAG]: c.severity, severity: SEVERITY_LEVELS[c.severity].topic };
}

/**
 * What the status function needs to know of each alarm: its component and severity, by key. Packaged
 * with the function (settings.json, components/status-page.ts), so it decides nothing by itself.
 */
export function statusFunctionClassification(): Record<string, { severity: IncidentSeverity; component: StatusComponent; publicState: PublicState; notifyCustomers: boolean }> {
    return Object.fromEntries(
        Object.entries(CLASSIFICATION).map(([k, c]) => [k, { severity: c.severity, component: c.component, publicState: SEVERITY_LEVELS[c.severity].publicState, notifyCustomers: SEVERITY_LEVELS[c.severity].notifyCustomers }]),
    );
}

/**
 * AWS Chatbot (Amazon Q Developer in chat applications) posts to Slack only what it recognises: the
 * CloudWatch alarm notifications and the events of the services it supports, or a custom notification in
 * this exact form; anything else published to the topic never reaches the channel ("Custom notifications
 * using Amazon Q Developer in chat applications", Event schema: version "Must be 1.0", source "Must be
 * custom", content.textType "Only client-markdown", title, description, nextSteps, keywords;
 * metadata.eventType, relatedResources, additionalContext "customerProvidedKey: String";
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html).
 */
export interface ChatbotNotification {
    version: "1.0";
    source: "custom";
    id?: string;
    content: { textType: "client-markdown"; title: string; description: string; nextSteps?: string[]; keywords?: string[] };
    metadata?: { threadId?: string; summary?: string; eventType?: string; relatedResources?: string[]; additionalContext?: Record<string, string> };
}

/** A custom notification of one of the stacks' alerts: the severity first, then what to do. */
export function chatbotNotification(key: string, dashboard: string, title: string, description: string, extra: { eventType?: string; context?: Record<string, string> } = {}): ChatbotNotification {
    const c = classify(key);
    const level = SEVERITY_LEVELS[c.severity];
    return {
        version: "1.0",
        source: "custom",
        content: {
            textType: "client-markdown",
            title: `${level.label}: ${title}`,
            description: `${alertPreamble(key, dashboard)}\n${description}`,
            nextSteps: [`Acknowledge within ${responseTime(c.severity)}`, `Runbook: ${RUNBOOKS[c.runbook]}`, `Dashboard: ${dashboard}`],
            keywords: [c.severity, key],
        },
        metadata: {
            eventType: extra.eventType ?? key,
            additionalContext: { severity: c.severity, acknowledgeWithin: responseTime(c.severity), alert: key, ...extra.context },
        },
    };
}

/**
 * The string fields of an alert event the message shows, by label: AWS Backup job events carry `state`
 * (backup/copy jobs) or `status` (restore jobs) and `statusMessage`; Region switch events `eventType`.
 * A path an event lacks is left empty (EventBridge user guide, "Amazon EventBridge input transformation").
 */
export const EVENT_FIELDS = {
    state: "$.detail.state",
    status: "$.detail.status",
    eventType: "$.detail.eventType",
    statusMessage: "$.detail.statusMessage",
    resource: "$.detail.resourceArn",
} as const;

/**
 * The message an EventBridge rule sends to an alert topic: a Chatbot custom notification
 * ({@link ChatbotNotification}), so Slack shows it; e-mail (and SMS on the critical topic) receive the
 * same JSON, whose title and description come first and read as text. EventBridge input transformer:
 * in a JSON template a `<name>` placeholder out of quotes is replaced by the JSON value at its path (the
 * resources array), and inside a string by the string value, escaped ("The InputTemplate can also be
 * valid JSON with variables in quotes or out", EventBridge API Reference, InputTransformer); paths a
 * given event lacks are left empty.
 */
export function eventInputTransformer(key: string, dashboard: string, title: string): { inputPaths: Record<string, string>; inputTemplate: string } {
    const fields = Object.keys(EVENT_FIELDS) as (keyof typeof EVENT_FIELDS)[];
    const RESOURCES = "__resources__";
    const message = chatbotNotification(key, dashboard, title,
        `*Event:* <detailType> in <region> at <time>\n${fields.map((f) => `*${f}:* <${f}>`).join("\n")}`,
        { eventType: "<detailType>", context: Object.fromEntries(fields.map((f) => [f, `<${f}>`])) });
    message.metadata!.relatedResources = [RESOURCES];
    const inputTemplate = JSON.stringify(message).replace(JSON.stringify([RESOURCES]), "<resources>");
    const placeholders = new Set([...inputTemplate.matchAll(/<([A-Za-z]+)>/g)].map((m) => m[1]));
    const inputPaths: Record<string, string> = { detailType: "$.detail-type", region: "$.region", time: "$.time", resources: "$.resources", ...EVENT_FIELDS };
    const unknown = [...placeholders].filter((p) => !(p in inputPaths));
    if (unknown.length) throw new Error(`alert ${key}: the message has <${unknown.join(">, <")}> that no input path fills`);
    return { inputPaths, inputTemplate };
}
