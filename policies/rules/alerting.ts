/**
 * Monitoring and Alerting: "Critical Alerts: Database down: Immediate notification, Application down:
 * Immediate notification, High error rate: 5-minute notification, Disk space low: 1-hour
 * notification" and "Alert Channels". Stack rules: an alert is an alarm (or an RDS event
 * subscription) plus the SNS topic it notifies plus someone subscribed to that topic.
 */
import { DR_PLAN } from "../dr-plan";
import { asArray, concernAbsentSchema, dependenciesOf, fix, forTypes, guard, known, knownItems, label, PolicyResource, pointsAt, refsOf, reportConcernAbsent, Rule, settingsOf, StackValidationArgs, T, tagsOf, UNKNOWN } from "./common";
import { AWS_TYPES } from "../aws-types";

/** The alerts the plan names, by the id a component marks them with, how soon each must fire, and its severity (which channels it reaches). */
export const PLAN_ALERTS = {
    "database-down": { line: "Database down: Immediate notification", minutes: DR_PLAN.databaseDownAlertMinutes, severity: "critical", down: true },
    "application-down": { line: "Application down: Immediate notification", minutes: DR_PLAN.applicationDownAlertMinutes, severity: "critical", down: true },
    "high-error-rate": { line: "High error rate: 5-minute notification", minutes: DR_PLAN.highErrorRateAlertMinutes, severity: "high", down: false },
    "disk-space-low": { line: "Disk space low: 1-hour notification", minutes: DR_PLAN.diskSpaceLowAlertMinutes, severity: "warning", down: false },
} as const;
export type AlertId = keyof typeof PLAN_ALERTS;

/** The tag that marks a resource as one of the plan's alerts (its value an {@link AlertId}). */
export const ALERT_TAG = "alert";

/**
 * The resources raising an alert: a metric alarm or an RDS event subscription tagged alert=<id>, or
 * named with the id. A composite alarm is not one: it has no timing of its own and fires only when its
 * members do, so it cannot stand in for the plan's timed alarm.
 */
const RAISER_TYPES: string[] = [T.metricAlarm, T.dbEventSubscription];
const alertIdOf = (r: PolicyResource): string | undefined => {
    const tagged = tagsOf(r.props)[ALERT_TAG];
    if (tagged) return tagged;
    const name = known(() => r.props.name);
    return Object.keys(PLAN_ALERTS).find((id) => r.name.includes(id) || (typeof name === "string" && name.includes(id)));
};
export function alertResources(args: StackValidationArgs, id: string): PolicyResource[] {
    return args.resources.filter((r) => RAISER_TYPES.includes(r.type) && alertIdOf(r) === id);
}

/** The property naming the topics an alert notifies. */
const targetProp = (r: PolicyResource) => (r.type === T.dbEventSubscription ? "snsTopic" : "alarmActions");

/** Resources that publish to SNS topics besides alarms and RDS event subscriptions, and where they name the topic. */
const OTHER_PUBLISHERS: Record<string, string> = {
    [AWS_TYPES.eventTarget]: "arn",
    [AWS_TYPES.backupVaultNotifications]: "snsTopicArn",
};

/**
 * The topics of the stack a resource's property names. The engine's property dependencies first (they
 * are known even when the ARNs are not: a topic being created), then the ARNs that are known, each
 * item read on its own; undecidable (the unknown-value error, for {@link guard}) only when an ARN is
 * unknown and the engine gives no dependencies for the property.
 */
function topicsNamedBy(args: StackValidationArgs, r: PolicyResource, prop: string): PolicyResource[] {
    const topics = args.resources.filter((t) => t.type === T.topic);
    const deps = dependenciesOf(r, prop);
    const items = knownItems(() => r.props[prop]);
    if (items === UNKNOWN || items.some((v) => v === UNKNOWN)) {
        if (deps.length === 0) throw new Error(`${prop} can't be known during preview`);
        // The dependencies name every resource the value was computed from: the topics among them, and the known ARNs.
        const known_ = items === UNKNOWN ? [] : items.filter((v) => v !== UNKNOWN);
        return topics.filter((t) => deps.some((d) => d.urn === t.urn) || known_.some((v) => refsOf(t).has(v)));
    }
    return topics.filter((t) => items.some((v) => refsOf(t).has(v)));
}

/** The channels a topic reaches: email, sms (SNS subscriptions), slack (an AWS Chatbot channel or a Slack webhook). SQS, Lambda, HTTP(S) elsewhere reach no person. */
export function channelsOf(args: StackValidationArgs, topic: PolicyResource): Set<string> {
    const channels = new Set<string>();
    for (const s of args.resources.filter((r) => r.type === T.topicSubscription)) {
        if (pointsAt(s, "topic", known(() => s.props.topic), topic) !== true) continue;
        const protocol = known(() => s.props.protocol);
        const endpoint = known(() => s.props.endpoint);
        if (protocol === "email" || protocol === "email-json") channels.add("email");
        else if (protocol === "sms") channels.add("sms");
        else if (protocol === "https" && typeof endpoint === "string" && /^https:\/\/hooks\.slack\.com\//.test(endpoint)) channels.add("slack");
    }
    for (const c of args.resources.filter((r) => r.type === T.slackChannel)) if (topicsNamedBy(args, c, "snsTopicArns").some((t) => t.urn === topic.urn)) channels.add("slack");
    return channels;
}

/** A topic's severity: its `severity` tag, else its name's last word (`...-alerts-critical`). */
const SEVERITIES = ["critical", "high", "warning"];
export function severityOf(topic: PolicyResource): string | undefined {
    const tag = tagsOf(topic.props).severity;
    if (tag) return tag;
    const name = known(() => topic.props.name);
    const n = typeof name === "string" ? name : topic.name;
    return SEVERITIES.find((s) => n.endsWith(`-${s}`));
}

/**
 * The monitoring concern exists once the stack has a CloudWatch alarm: SNS topics and RDS event
 * subscriptions come from other components (backup notifications, the database) before it lands.
 */
const concernPresent = (args: StackValidationArgs) => args.resources.some((r) => r.type === T.metricAlarm || r.type === T.compositeAlarm);

export const planAlertsRouted: Rule = {
    name: "plan-alerts-routed",
    description:
        'Critical Alerts (database down, application down, high error rate, disk space low) and Alert Channels: each alert the plan names exists (a metric alarm or RDS event subscription tagged alert=<id>; a composite alarm does not count) and notifies an SNS topic of the stack that reaches a person (email, SMS or Slack); and every topic of the stack that an alarm, an RDS event subscription, an EventBridge rule or a backup vault publishes to reaches a person (a notification nobody receives is no alert).',
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...concernAbsentSchema } },
    validateStack: (args, report) => {
        const s = settingsOf<{ whenConcernAbsent: string }>(planAlertsRouted.configSchema!, args);
        if (reportConcernAbsent(concernPresent(args), "CloudWatch alarms (monitoring component)", s, planAlertsRouted.name, report, "build the monitoring component")) return;
        for (const [id, alert] of Object.entries(PLAN_ALERTS)) {
            const raisers = alertResources(args, id);
            if (raisers.length === 0) {
                report(`no alert "${id}" (plan: "${alert.line}") raised by a metric alarm or an RDS event subscription${fix(`add a CloudWatch alarm tagged ${ALERT_TAG}=${id} whose alarmActions name a subscribed SNS topic`)}`);
                continue;
            }
            for (const r of raisers) {
                guard(report, `${label(r)}: where it notifies`, () => {
                    const topics = topicsNamedBy(args, r, targetProp(r));
                    const routed = topics.filter((t) => channelsOf(args, t).size > 0);
                    if (routed.length === 0) {
                        const items = knownItems(() => r.props[targetProp(r)]);
                        const targets = items === UNKNOWN ? ["(unknown during preview)"] : items.map((v) => (v === UNKNOWN ? "(an ARN unknown during preview)" : String(v)));
                        report(
                            `${label(r)} (${id}) notifies ${targets.length === 0 ? "nobody" : targets.join(", ")}: no SNS topic of this stack that reaches a person (email, SMS, Slack)` +
                                fix("put the alert topic's arn in alarmActions (snsTopic for an RDS event subscription) and subscribe email/SMS/Slack to it"),
                            r.urn,
                        );
                    }
                }, r.urn);
            }
        }
        // Every notification the stack publishes reaches somebody: failed backup, copy and restore jobs as much as the plan's named alerts.
        for (const r of args.resources) {
            const props = r.type === T.metricAlarm || r.type === T.compositeAlarm ? ["alarmActions", "okActions", "insufficientDataActions"] : r.type === T.dbEventSubscription ? ["snsTopic"] : OTHER_PUBLISHERS[r.type] ? [OTHER_PUBLISHERS[r.type]] : [];
            for (const prop of props) {
                guard(report, `${label(r)}: ${prop}`, () => {
                    for (const t of topicsNamedBy(args, r, prop)) {
                        if (channelsOf(args, t).size === 0) report(`${label(r)} publishes to ${String(known(() => t.props.arn) === UNKNOWN ? label(t) : t.props.arn)}, a topic of this stack that nobody subscribes to (no email, SMS or Slack subscriber)${fix("subscribe the alert recipients (email, SMS, Slack) to it, or publish to one of the site's alert topics")}`, r.urn);
                    }
                }, r.urn);
            }
        }
    },
};

/**
 * Which way an alarm on a metric must compare to go off when the plan's condition happens. "Down"
 * metrics count what is alive (HealthyHostCount, HealthCheckStatus 1 = healthy, DatabaseConnections'
 * SampleCount): the alarm fires BELOW the threshold; error and usage metrics fire ABOVE it. Metrics not
 * listed take their name's sense (free/available/healthy: below; used/error/latency/count: above), else
 * the plan alert's (down: below; high error rate: above). Inverted, an alarm pages while all is well
 * and stays silent through the outage (CloudWatch PutMetricAlarm, ComparisonOperator).
 */
const METRIC_DIRECTION: Record<string, "below" | "above"> = {
    HealthyHostCount: "below",
    HealthCheckStatus: "below",
    HealthCheckPercentageHealthy: "below",
    DatabaseConnections: "below",
    FreeStorageSpace: "below",
    FreeableMemory: "below",
    UnHealthyHostCount: "above",
    HTTPCode_Target_5XX_Count: "above",
    HTTPCode_ELB_5XX_Count: "above",
    disk_used_percent: "above",
    mem_used_percent: "above",
};
const ALERT_DIRECTION: Partial<Record<AlertId, "below" | "above">> = { "database-down": "below", "application-down": "below", "high-error-rate": "above" };
const OPERATOR_DIRECTION: Record<string, "below" | "above" | "band"> = {
    LessThanThreshold: "below",
    LessThanOrEqualToThreshold: "below",
    LessThanLowerThreshold: "below",
    GreaterThanThreshold: "above",
    GreaterThanOrEqualToThreshold: "above",
    GreaterThanUpperThreshold: "above",
    LessThanLowerOrGreaterThanUpperThreshold: "band",
};
function expectedDirection(alert: AlertId, metricName: unknown): "below" | "above" | undefined {
    if (typeof metricName === "string") {
        if (METRIC_DIRECTION[metricName]) return METRIC_DIRECTION[metricName];
        if (/free|available|healthy/i.test(metricName) && !/unhealthy/i.test(metricName)) return "below";
        if (/used|utili[sz]ation|error|5xx|4xx|latency|unhealthy|fail/i.test(metricName)) return "above";
    }
    return ALERT_DIRECTION[alert];
}

export const planAlertSettings: Rule = {
    name: "plan-alert-settings",
    description:
        'Critical Alerts, on each alarm or RDS event subscription of a plan alert (tagged alert=<id>): the alarm\'s actions are enabled; a "down" alarm (database down, application down) treats missing data as breaching (a stopped database or instance sends no datapoint: "notBreaching"/"missing"/"ignore" would never page); an RDS event subscription is enabled and covers the availability and failure categories (or all categories).',
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.metricAlarm, T.dbEventSubscription], (props, args, report) => {
        const id = tagsOf(props)[ALERT_TAG] ?? Object.keys(PLAN_ALERTS).find((x) => args.name.includes(x));
        const alert = id ? PLAN_ALERTS[id as AlertId] : undefined;
        if (args.type === T.metricAlarm) {
            if (!alert) args.notApplicable("not an alarm of a plan alert");
            guard(report, "actionsEnabled", () => {
                if (props.actionsEnabled === false) report(`actionsEnabled is false: the alarm changes state but notifies nobody${fix("remove actionsEnabled (default true)")}`);
            });
            guard(report, "comparisonOperator", () => {
                // The metric of a metric-math alarm is its returned expression's: its direction is the plan alert's.
                const want = expectedDirection(id as AlertId, props.metricQueries ? undefined : props.metricName);
                const op = props.comparisonOperator;
                const has = OPERATOR_DIRECTION[op];
                if (want && has !== "band" && has !== want) {
                    report(`comparisonOperator is ${op ?? "unset (CloudWatch requires one)"} on a "${id}" alarm${props.metricName ? ` of ${props.metricName}` : ""}: it goes off ${has ?? "never"} the threshold, but the plan's condition drives the metric ${want} it, so it stays silent through the outage${fix(`use ${want === "below" ? "LessThanThreshold" : "GreaterThanThreshold"}`)}`);
                }
            });
            guard(report, "treatMissingData", () => {
                if (alert!.down && props.treatMissingData !== "breaching") report(`treatMissingData is ${props.treatMissingData ?? "unset (missing)"} on a "${id}" alarm: what is down sends no data, so it never pages${fix('set treatMissingData: "breaching"')}`);
            });
            return;
        }
        guard(report, "event subscription", () => {
            if (props.enabled === false) report(`the RDS event subscription is disabled${fix("remove enabled: false")}`);
            const categories = asArray<string>(props.eventCategories);
            const missing = ["availability", "failure"].filter((c) => categories.length > 0 && !categories.includes(c));
            if (missing.length > 0) report(`eventCategories ${JSON.stringify(categories)} lack ${missing.join(" and ")}: the database going down is not reported${fix('include "availability" and "failure" (or leave eventCategories empty: all categories)')}`);
        });
    }),
};

export const planAlertsTimely: Rule = {
    name: "plan-alerts-timely",
    description:
        'Critical Alerts\' timings ("Immediate", "5-minute", "1-hour"): each plan alert has a raiser that goes off within its plan time: a metric alarm (period x evaluationPeriods) or, for "Database down", an enabled RDS event subscription (immediate). A composite alarm has no timing of its own and counts for nothing.',
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...concernAbsentSchema } },
    validateStack: (args, report) => {
        const s = settingsOf<{ whenConcernAbsent: string }>(planAlertsTimely.configSchema!, args);
        if (reportConcernAbsent(concernPresent(args), "CloudWatch alarms (monitoring component)", s, planAlertsTimely.name, report, "build the monitoring component")) return;
        for (const [id, alert] of Object.entries(PLAN_ALERTS)) {
            const raisers = alertResources(args, id);
            for (const r of raisers.filter((a) => a.type === T.metricAlarm)) {
                guard(report, `${label(r)}: its delay`, () => {
                    // A metric-math alarm's period lives in its queries: the longest one counts.
                    const queryPeriods = asArray<any>(r.props.metricQueries).map((q) => q.metric?.period).filter((p): p is number => typeof p === "number");
                    const period = r.props.period ?? (queryPeriods.length > 0 ? Math.max(...queryPeriods) : undefined);
                    const periods = r.props.evaluationPeriods;
                    if (typeof period !== "number" || typeof periods !== "number") {
                        report(`${label(r)} (${id}): period or evaluationPeriods not set, so its delay cannot be checked${fix("set period and evaluationPeriods")}`, r.urn);
                        return;
                    }
                    if (period * periods > alert.minutes * 60) {
                        report(`${label(r)} (${id}) needs ${period} s x ${periods} = ${(period * periods) / 60} min of breaching data, more than the plan's ${alert.minutes} min${fix(`make period x evaluationPeriods at most ${alert.minutes * 60} s`)}`, r.urn);
                    }
                }, r.urn);
            }
            const timed = raisers.filter((r) => r.type === T.metricAlarm || (r.type === T.dbEventSubscription && known(() => r.props.enabled) !== false));
            if (raisers.length > 0 && timed.length === 0) report(`alert "${id}" (plan: "${alert.line}") has no metric alarm or enabled RDS event subscription to time it${fix(`add a CloudWatch metric alarm tagged ${ALERT_TAG}=${id} with period x evaluationPeriods at most ${alert.minutes * 60} s`)}`);
        }
    },
};

export const alertChannels: Rule = {
    name: "alert-channels",
    description:
        'Alert Channels ("Primary: Email notifications, Secondary: Slack notifications, Emergency: SMS notifications"): each alert topic (severity from its `severity` tag or its name: critical, high, warning) reaches every channel its severity requires (default: critical email + SMS, high and warning email; add "slack" to require the Slack channel), and each plan alert notifies a topic of its severity that does.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            channels: {
                type: "object",
                default: { critical: ["email", "sms"], high: ["email"], warning: ["email"] },
                description: "Per severity, the channels (email, sms, slack) its topics must reach.",
            },
        },
    },
    validateStack: (args, report) => {
        const { channels } = settingsOf<{ channels: Record<string, string[]> }>(alertChannels.configSchema!, args);
        const need = (severity: string | undefined) => (severity ? asArray<string>(channels[severity]) : []);
        for (const t of args.resources.filter((r) => r.type === T.topic)) {
            guard(report, `${label(t)}: its channels`, () => {
                const missing = need(severityOf(t)).filter((c) => !channelsOf(args, t).has(c));
                if (missing.length > 0) report(`${label(t)} (${severityOf(t)}) does not reach ${missing.join(", ")}${fix(`subscribe the ${missing.join(" and ")} recipients (aws.sns.TopicSubscription protocol ${missing.map((m) => (m === "slack" ? "via AWS Chatbot" : m)).join(", ")})`)}`, t.urn);
            }, t.urn);
        }
        for (const [id, alert] of Object.entries(PLAN_ALERTS)) {
            for (const r of alertResources(args, id)) {
                guard(report, `${label(r)}: its channels`, () => {
                    const reached = new Set(topicsNamedBy(args, r, targetProp(r)).flatMap((t) => [...channelsOf(args, t)]));
                    const missing = need(alert.severity).filter((c) => !reached.has(c));
                    if (missing.length > 0) report(`${label(r)} (${id}, ${alert.severity}) reaches ${[...reached].join(", ") || "no channel"}, not ${missing.join(", ")}${fix(`notify the site's ${alert.severity} topic`)}`, r.urn);
                }, r.urn);
            }
        }
    },
};

export const ALERTING_RULES: Rule[] = [planAlertsRouted, planAlertSettings, planAlertsTimely, alertChannels];
