/**
 * The site's monitoring: the component and its public API. Its pieces, each read top to bottom, are in
 * components/monitoring/: `args.ts` (what it takes), `timing.ts` (periods and the plan's delays),
 * `site-alarms.ts` (how an alarm is declared and routed), `plan-alerts.ts` (the plan's four critical
 * alerts), `recovery-point.ts` (replica lag, replication, snapshot and backup jobs), `dashboard.ts`
 * and `region-switch.ts` (the Region switch plan's alerts). Import from this file.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { alarmDescription, severityTags } from "./severity";
import type { MonitoringArgs } from "./monitoring/args";
import { dashboardBody } from "./monitoring/dashboard";
import { planAlertAlarms } from "./monitoring/plan-alerts";
import { recoveryPointAlarms } from "./monitoring/recovery-point";
import { siteAlarms } from "./monitoring/site-alarms";

export type { MonitoringArgs } from "./monitoring/args";
export { DASHBOARD_WIDGETS } from "./monitoring/dashboard";
export { RESTORE_JOB_FAILED_PATTERN } from "./monitoring/recovery-point";
export {
    REGION_SWITCH_EVALUATION_WARNING_PATTERN,
    REGION_SWITCH_EVENT_SOURCE,
    REGION_SWITCH_EVENTS_REGION,
    REGION_SWITCH_EXECUTION_FAILED_PATTERN,
    RegionSwitchAlerts,
} from "./monitoring/region-switch";
export type { RegionSwitchAlertsArgs } from "./monitoring/region-switch";
export { DATABASE_DOWN_DATAPOINTS, JOB_PERIOD_SECONDS, MINUTE, planTiming, REPLICA_LAG_MINUTES, SUSTAINED_PERIOD_SECONDS } from "./monitoring/timing";

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
    /** Every metric alarm by its short key (e.g. `database-down`), for the docs and tests. */
    readonly alarmNames: Record<string, pulumi.Output<string>>;
    readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:Monitoring", name, {}, opts);
        const site = siteAlarms(name, args, this);
        const { dashboardLink, engage, topicOf, alarms } = site;

        const { dbDown, appDown } = planAlertAlarms(site, args);
        recoveryPointAlarms(site, args);

        // ── P1: complete system outage. Application down AND database down together (alarms of this
        // region: a composite alarm cannot read another region's alarms).
        const critical = new aws.cloudwatch.CompositeAlarm(`${name}-complete-outage`, {
            alarmName: `${name}-complete-outage`,
            alarmDescription: alarmDescription("complete-outage", dashboardLink, "Complete system outage: the application is down (no healthy host behind the site's ALB) and the database is down, together. Customers are told (customer notices) and the status page shows a major outage."),
            alarmRule: pulumi.interpolate`ALARM("${appDown.name}") AND ALARM("${dbDown.name}")`,
            alarmActions: [topicOf("complete-outage"), ...engage("complete-outage")],
            okActions: [topicOf("complete-outage")],
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
