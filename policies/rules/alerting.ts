/**
 * Monitoring and Alerting: "Critical Alerts: Database down: Immediate notification, Application down:
 * Immediate notification, High error rate: 5-minute notification, Disk space low: 1-hour
 * notification" and "Alert Channels". Stack rules: an alert is an alarm (or an RDS event
 * subscription) plus the SNS topic it notifies plus someone subscribed to that topic.
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { asArray, concernAbsentSchema, fix, label, PolicyResource, reportConcernAbsent, Rule, settingsOf, StackValidationArgs, T, tagsOf } from "./common";

/** The alerts the plan names, by the id a component marks them with, and how soon each must fire. */
export const PLAN_ALERTS = {
    "database-down": { line: "Database down: Immediate notification", minutes: DR_PLAN.databaseDownAlertMinutes },
    "application-down": { line: "Application down: Immediate notification", minutes: DR_PLAN.applicationDownAlertMinutes },
    "high-error-rate": { line: "High error rate: 5-minute notification", minutes: DR_PLAN.highErrorRateAlertMinutes },
    "disk-space-low": { line: "Disk space low: 1-hour notification", minutes: DR_PLAN.diskSpaceLowAlertMinutes },
} as const;
export type AlertId = keyof typeof PLAN_ALERTS;

/** The tag that marks a resource as one of the plan's alerts (its value an {@link AlertId}). */
export const ALERT_TAG = "alert";

const ALERT_TYPES = [T.metricAlarm, T.compositeAlarm, T.dbEventSubscription];

/** The resources raising an alert: tagged alert=<id>, or named with the id. */
export function alertResources(args: StackValidationArgs, id: string): PolicyResource[] {
    return args.resources.filter(
        (r) => ALERT_TYPES.includes(r.type as (typeof ALERT_TYPES)[number]) && (tagsOf(r.props)[ALERT_TAG] === id || r.name.includes(id) || String(r.props.name ?? "").includes(id)),
    );
}

/** The topic ARNs an alert notifies. */
const targetsOf = (r: PolicyResource): string[] => (r.type === T.dbEventSubscription ? asArray<string>(r.props.snsTopic) : asArray<string>(r.props.alarmActions));

/** Resources that publish to SNS topics besides alarms and RDS event subscriptions, and where they name the topic. */
const OTHER_PUBLISHERS: Record<string, string> = {
    "aws:cloudwatch/eventTarget:EventTarget": "arn",
    "aws:backup/vaultNotifications:VaultNotifications": "snsTopicArn",
};

/** Every (publisher, topic ARN) pair of the stack: alarms' actions, RDS event subscriptions, EventBridge targets, vault notifications. */
function publications(args: StackValidationArgs): { r: PolicyResource; arn: string }[] {
    const found: { r: PolicyResource; arn: string }[] = [];
    for (const r of args.resources) {
        let arns: string[] = [];
        if (r.type === T.metricAlarm || r.type === T.compositeAlarm) {
            arns = [...asArray<string>(r.props.alarmActions), ...asArray<string>(r.props.okActions), ...asArray<string>(r.props.insufficientDataActions)];
        } else if (r.type === T.dbEventSubscription) {
            arns = asArray<string>(r.props.snsTopic);
        } else if (OTHER_PUBLISHERS[r.type]) {
            arns = asArray<string>(r.props[OTHER_PUBLISHERS[r.type]]);
        }
        for (const arn of new Set(arns)) if (typeof arn === "string" && arn.startsWith("arn:") && arn.split(":")[2] === "sns") found.push({ r, arn });
    }
    return found;
}

/** Topics (by ARN) that somebody receives: an SNS subscription or a Slack channel (AWS Chatbot). */
function subscribedTopics(args: StackValidationArgs): Set<string> {
    const arns = new Set<string>();
    for (const r of args.resources) {
        if (r.type === T.topicSubscription && r.props.topic) arns.add(r.props.topic);
        if (r.type === T.slackChannel) for (const a of asArray<string>(r.props.snsTopicArns)) arns.add(a);
    }
    return arns;
}

/**
 * The monitoring concern exists once the stack has a CloudWatch alarm: SNS topics and RDS event
 * subscriptions come from other components (backup notifications, the database) before it lands.
 */
const concernPresent = (args: StackValidationArgs) => args.resources.some((r) => r.type === T.metricAlarm || r.type === T.compositeAlarm);

export const planAlertsRouted: Rule = {
    name: "plan-alerts-routed",
    description:
        'Critical Alerts (database down, application down, high error rate, disk space low) and Alert Channels: each alert the plan names exists (an alarm or RDS event subscription tagged alert=<id>) and notifies an SNS topic of the stack that has at least one subscriber; and every topic of the stack that an alarm, an RDS event subscription, an EventBridge rule or a backup vault publishes to has a subscriber (a notification nobody receives is no alert).',
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...concernAbsentSchema } },
    validateStack: (args, report) => {
        const s = settingsOf<{ whenConcernAbsent: string }>(planAlertsRouted.configSchema!, args);
        if (reportConcernAbsent(concernPresent(args), "CloudWatch alarms (monitoring component)", s, planAlertsRouted.name, report, "build the monitoring component")) return;
        const topics = new Set(args.resources.filter((r) => r.type === T.topic).map((t) => t.props.arn));
        const heard = subscribedTopics(args);
        for (const [id, alert] of Object.entries(PLAN_ALERTS)) {
            const raisers = alertResources(args, id);
            if (raisers.length === 0) {
                report(`no alert "${id}" (plan: "${alert.line}")${fix(`add a CloudWatch alarm tagged ${ALERT_TAG}=${id} whose alarmActions name a subscribed SNS topic`)}`);
                continue;
            }
            for (const r of raisers) {
                const targets = targetsOf(r);
                const routed = targets.filter((t) => topics.has(t) && heard.has(t));
                if (routed.length === 0) {
                    report(
                        `${label(r)} (${id}) notifies ${targets.length === 0 ? "nobody" : targets.join(", ")}: no SNS topic of this stack with a subscriber` +
                            fix("put the alert topic's arn in alarmActions (snsTopic for an RDS event subscription) and subscribe email/SMS/Slack to it"),
                        r.urn,
                    );
                }
            }
        }
        // Every notification the stack publishes reaches somebody: failed backup, copy and restore jobs
        // as much as the plan's named alerts.
        for (const { r, arn } of publications(args)) {
            if (topics.has(arn) && !heard.has(arn)) {
                report(`${label(r)} publishes to ${arn}, a topic of this stack that nobody subscribes to${fix("subscribe the alert recipients (email, SMS, Slack) to it, or publish to one of the site's alert topics")}`, r.urn);
            }
        }
    },
};

export const planAlertsTimely: Rule = {
    name: "plan-alerts-timely",
    description:
        'Critical Alerts\' timings ("Immediate", "5-minute", "1-hour"): each alarm of a plan alert goes off within its plan time (period x evaluationPeriods); RDS event subscriptions are immediate.',
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...concernAbsentSchema } },
    validateStack: (args, report) => {
        const s = settingsOf<{ whenConcernAbsent: string }>(planAlertsTimely.configSchema!, args);
        if (reportConcernAbsent(concernPresent(args), "CloudWatch alarms (monitoring component)", s, planAlertsTimely.name, report, "build the monitoring component")) return;
        for (const [id, alert] of Object.entries(PLAN_ALERTS)) {
            for (const r of alertResources(args, id).filter((a) => a.type === T.metricAlarm)) {
                // A metric-math alarm's period lives in its queries: the longest one counts.
                const queryPeriods = asArray<any>(r.props.metricQueries).map((q) => q.metric?.period).filter((p): p is number => typeof p === "number");
                const period = r.props.period ?? (queryPeriods.length > 0 ? Math.max(...queryPeriods) : undefined);
                const periods = r.props.evaluationPeriods;
                if (typeof period !== "number" || typeof periods !== "number") {
                    report(`${label(r)} (${id}): period or evaluationPeriods not set, so its delay cannot be checked${fix("set period and evaluationPeriods")}`, r.urn);
                    continue;
                }
                if (period * periods > alert.minutes * 60) {
                    report(`${label(r)} (${id}) needs ${period} s x ${periods} = ${(period * periods) / 60} min of breaching data, more than the plan's ${alert.minutes} min${fix(`make period x evaluationPeriods at most ${alert.minutes * 60} s`)}`, r.urn);
                }
            }
        }
    },
};

export const ALERTING_RULES: Rule[] = [planAlertsRouted, planAlertsTimely];
