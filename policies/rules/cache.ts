/**
 * ElastiCache Redis: "Redis Data: Frequency: Every 12 hours, Method: Redis RDB snapshots, Retention: 7
 * days" and high availability.
 */
import { DR_PLAN } from "../dr-plan";
import { jobGapHours } from "../schedule";
import { dependenciesOf, fix, forTypes, guard, known, label, PolicyResource, pointsAt, Rule, servingSites, settingsOf, siteOf, T, UNKNOWN } from "./common";

export const cacheAutomaticFailover: Rule = {
    name: "elasticache-automatic-failover",
    description: 'High Availability Setup: every Redis replication group fails over automatically (automaticFailoverEnabled and multiAzEnabled, so at least 2 nodes).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.cache, (props, _args, report) => {
        const off = ["automaticFailoverEnabled", "multiAzEnabled"].filter((k) => props[k] !== true);
        if (off.length > 0) report(`${off.join(" and ")} not true${fix("set automaticFailoverEnabled: true, multiAzEnabled: true and numCacheClusters (or replicasPerNodeGroup) for at least 2 nodes")}`);
    }),
};

export const cacheSnapshotRetention: Rule = {
    name: "elasticache-snapshot-retention",
    description: 'Redis Data, "Retention: 7 days": every Redis replication group keeps its automatic snapshots 7 days.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { minRetentionDays: { type: "integer", default: DR_PLAN.redisRetentionDays, description: "Least snapshotRetentionLimit in days." } },
    },
    validateResource: forTypes(T.cache, (props, args, report) => {
        const { minRetentionDays } = settingsOf<{ minRetentionDays: number }>(cacheSnapshotRetention.configSchema!, args);
        const kept = props.snapshotRetentionLimit;
        if (typeof kept !== "number" || kept < minRetentionDays) {
            report(`snapshotRetentionLimit is ${kept ?? "unset (0: no snapshots)"}, less than ${minRetentionDays}${fix(`set snapshotRetentionLimit: ${minRetentionDays} and a snapshotWindow`)}`);
        }
    }),
};

export const cacheEncrypted: Rule = {
    name: "elasticache-encryption",
    description: 'Configuration, "Encrypted storage": Redis data is encrypted at rest and in transit.',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.cache, (props, _args, report) => {
        const off = ["atRestEncryptionEnabled", "transitEncryptionEnabled"].filter((k) => props[k] !== true && props[k] !== "true");
        if (off.length > 0) report(`${off.join(" and ")} not true${fix(`set ${off.map((k) => `${k}: true`).join(", ")}`)}`);
    }),
};

/**
 * How often an EventBridge Scheduler schedule really runs, from its own settings: enabled (`state`
 * ENABLED, the default), and its worst-case gap (policies/schedule.ts: the expression in its
 * `scheduleExpressionTimezone`, daylight-saving skips included; plus a FLEXIBLE window's
 * `maximumWindowInMinutes`, since a run may start that late; plus the wait until a future `startDate`;
 * Infinity with an `endDate`, since the schedule then stops). `ok` is undefined when a setting is
 * unknown in a preview.
 */
export function scheduleRuns(s: PolicyResource, maxIntervalHours: number): { ok: boolean | undefined; text: string } {
    const read = known(() => {
        const p = s.props;
        const flex = p.flexibleTimeWindow;
        return {
            state: p.state as string | undefined,
            expression: p.scheduleExpression as unknown,
            timezone: p.scheduleExpressionTimezone as string | undefined,
            late: flex?.mode === "FLEXIBLE" ? Number(flex?.maximumWindowInMinutes ?? 0) : 0,
            startDate: p.startDate as string | undefined,
            endDate: p.endDate as string | undefined,
        };
    });
    if (read === UNKNOWN) return { ok: undefined, text: `${s.name} (settings unknown during preview)` };
    const gap = jobGapHours(read.expression, { timezone: read.timezone, lateMinutes: read.late, startDate: read.startDate, endDate: read.endDate });
    const enabled = read.state === undefined || read.state === null || read.state === "ENABLED";
    const text = `${s.name} (${String(read.state ?? "ENABLED")}, at worst every ${gap === undefined ? "?" : Number.isFinite(gap.hours) ? `${+gap.hours.toFixed(2)}` : "never"} h${gap?.note ? `: ${gap.note}` : ""})`;
    return { ok: enabled && gap !== undefined && gap.hours <= maxIntervalHours, text };
}

/**
 * ElastiCache's automatic snapshot runs once a day in its window ("ElastiCache creates a backup once
 * per day", ElastiCache User Guide, backups-automatic), so the plan's 12-hourly RDB snapshots are a
 * scheduled job: an EventBridge Scheduler schedule whose target (a Step Functions state machine, or
 * the ElastiCache CreateSnapshot universal target) names the replication group.
 */
export const cacheSnapshotSchedule: Rule = {
    name: "elasticache-snapshot-schedule",
    description:
        'Redis Data, "Frequency: Every 12 hours, Method: Redis RDB snapshots": every Redis replication group of a serving site (primary, or an active DR site) is snapshotted by an ENABLED EventBridge Scheduler schedule whose worst-case gap between runs is at most 12 hours (in its time zone, daylight-saving skips included, plus a flexible window, a future startDate; a schedule with an endDate stops), targeting a state machine (or CreateSnapshot call) that names the group (the automatic snapshot is only daily).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { maxIntervalHours: { type: "integer", default: DR_PLAN.redisSnapshotIntervalHours, description: "Longest allowed gap between two snapshot runs, in hours." } },
    },
    validateStack: (args, report) => {
        const { maxIntervalHours } = settingsOf<{ maxIntervalHours: number }>(cacheSnapshotSchedule.configSchema!, args);
        const schedules = args.resources.filter((r) => r.type === T.schedule);
        const machines = args.resources.filter((r) => r.type === T.stateMachine);
        // A standby DR site's cache holds no serving data (it is seeded from the primary's exports): the serving sites' caches are snapshotted.
        const serving = servingSites(args);
        for (const group of args.resources.filter((r) => r.type === T.cache && serving.has(siteOf(r) ?? ""))) {
            guard(
                report,
                `${label(group)}: its snapshot schedule`,
                () => {
                    const id = known(() => group.props.replicationGroupId);
                    if (id === UNKNOWN || typeof id !== "string") throw new Error("replicationGroupId can't be known during preview");
                    const names = (text: unknown) => typeof text === "string" && text.includes(`"${id}"`);
                    const found: string[] = [];
                    let undecided = false;
                    for (const s of schedules) {
                        const target = known(() => s.props.target?.arn);
                        const input = known(() => s.props.target?.input);
                        // Whether it snapshots this group: through the state machines it starts (by ARN, or by the
                        // engine's property dependencies when the ARN is unknown), or a direct CreateSnapshot call.
                        let targets: boolean | undefined = false;
                        const started = machines.filter((m) => pointsAt(s, "target", target, m) === true || (target !== UNKNOWN && known(() => m.props.arn) === target));
                        if (target === UNKNOWN && started.length === 0 && dependenciesOf(s, "target").length === 0) targets = undefined;
                        const definitions = started.map((m) => known(() => m.props.definition));
                        if (definitions.some((d) => names(d))) targets = true;
                        else if (definitions.some((d) => d === UNKNOWN)) targets = undefined;
                        if (typeof target === "string" && /elasticache:createSnapshot$/i.test(target)) targets = input === UNKNOWN ? undefined : names(input) || targets;
                        if (targets === false) continue;
                        // A schedule whose own known settings fail the plan decides nothing, even when its target is unknown.
                        const runs = scheduleRuns(s, maxIntervalHours);
                        if (targets === true) found.push(runs.text);
                        if (targets === true && runs.ok === true) return;
                        if (runs.ok !== false) undecided = true;
                    }
                    if (undecided) throw new Error("a schedule's target can't be known during preview");
                    report(
                        `${label(group)}: no enabled schedule snapshots it at least every ${maxIntervalHours} h (${found.length > 0 ? found.join("; ") : "no schedule targets a job naming it"})` +
                            fix(`add an aws.scheduler.Schedule { state: "ENABLED", scheduleExpression: "cron(0 */${maxIntervalHours} * * ? *)" } targeting the snapshot job of ${id}`),
                        group.urn,
                    );
                },
                group.urn,
            );
        }
    },
};

export const CACHE_RULES: Rule[] = [cacheAutomaticFailover, cacheSnapshotRetention, cacheSnapshotSchedule, cacheEncrypted];
