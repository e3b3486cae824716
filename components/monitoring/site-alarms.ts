/**
 * How the site's monitoring declares a metric alarm: named `<component>-<key>`, described with its
 * severity, response time, runbook and the site's dashboard first, notifying its severity's topic on
 * ALARM and on OK (and starting an incident where a response plan is configured), tagged with its
 * severity and, for the plan's alerts, the alert it answers. Every piece of components/monitoring/
 * declares its alarms through one of these, which collects them for the dashboard and the outputs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALERT_TAG, AlertId, PLAN_ALERTS } from "../../policies/rules/alerting";
import type { Severity } from "../notifications";
import { alarmDescription, classify, dashboardUrl, SEVERITY_LEVELS, severityTags } from "../severity";
import type { MonitoringArgs } from "./args";

export type AlarmProps = Omit<aws.cloudwatch.MetricAlarmArgs, "name" | "alarmActions" | "okActions" | "tags" | "alarmDescription"> & { alarmDescription: string };
export interface AlarmExtra { alert?: AlertId; topicArn?: pulumi.Input<string>; provider?: aws.Provider }

export interface SiteAlarms {
    /** The component's name: the prefix of every alarm's name. */
    name: string;
    /** The Monitoring component, parent of every alarm and rule. */
    parent: pulumi.Resource;
    /** The site's dashboard, linked from every alert. */
    dashboardLink: string;
    /** Every metric alarm declared so far, by key, in declaration order (the dashboard lists them so). */
    alarms: Record<string, aws.cloudwatch.MetricAlarm>;
    /** Declares the metric alarm `key` (its severity, and so its topic, from components/severity.ts). */
    alarm(key: string, props: AlarmProps, extra?: AlarmExtra): aws.cloudwatch.MetricAlarm;
    /** The Incident Manager response plan an alarm of this key starts, if any. */
    engage(key: string): pulumi.Input<string>[];
    /** The topic of a key's severity. */
    topicOf(key: string): pulumi.Input<string>;
    /** `Plan: "<the plan's line for this alert>"`. */
    line(id: AlertId): string;
}

export function siteAlarms(name: string, args: MonitoringArgs, parent: pulumi.Resource): SiteAlarms {
    const alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};

    // Every alert names its severity, response time, runbook and the site's dashboard first
    // (components/severity.ts decides the severity of each key, and so its topic).
    const dashboardLink = dashboardUrl(args.region, name);
    const engage = (key: string): pulumi.Input<string>[] => {
        const plan = args.responsePlanArns?.[classify(key).severity];
        return plan ? [plan] : [];
    };
    const alarm = (key: string, props: AlarmProps, extra: AlarmExtra = {}) => {
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
        }, { parent, ...(extra.provider ? { provider: extra.provider } : {}) });
        alarms[key] = a;
        return a;
    };
    const topicOf = (key: string) => args.topicArns[SEVERITY_LEVELS[classify(key).severity].topic];
    const line = (id: AlertId) => `Plan: "${PLAN_ALERTS[id].line}"`;
    return { name, parent, dashboardLink, alarms, alarm, engage, topicOf, line };
}
