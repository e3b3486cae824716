/**
 * AWS Backup: the plan's database backups ("Frequency: Every 6 hours", "Retention: 30 days for daily
 * backups, 12 months for weekly backups", "Location: Local storage + cloud storage"), made by an AWS
 * Backup plan, copied to the DR region's vault, in encrypted and locked vaults.
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { arnRegion, asArray, fix, forTypes, label, refsOf, regionOf, Rule, settingsOf, T } from "./common";

const HOURS_PER_WEEK = 7 * 24;

/**
 * The longest gap in hours between two runs of an AWS Backup `cron(min hour dom month dow year)`
 * schedule; undefined when it cannot be read (the rules then report it).
 */
export function cronIntervalHours(schedule: unknown): number | undefined {
    const m = /^cron\((.+)\)$/.exec(String(schedule ?? "").trim());
    if (!m) return undefined;
    const fields = m[1].trim().split(/\s+/);
    if (fields.length !== 6) return undefined;
    const [, hour, dom, , dow] = fields;
    const anyDay = (f: string) => f === "*" || f === "?";
    let perDay: number | undefined;
    if (hour === "*") perDay = 1;
    else if (/^(\*|\d+)\/\d+$/.test(hour)) perDay = Number(hour.split("/")[1]);
    else if (/^\d+(,\d+)*$/.test(hour)) {
        const hours = [...new Set(hour.split(",").map(Number))].sort((a, b) => a - b);
        perDay = Math.max(...hours.map((h, i) => (i + 1 < hours.length ? hours[i + 1] - h : 24 - h + hours[0])));
    } else if (/^\d+-\d+$/.test(hour)) {
        const [a, b] = hour.split("-").map(Number);
        perDay = Math.max(1, 24 - (b - a));
    }
    if (perDay === undefined) return undefined;
    if (anyDay(dom) && anyDay(dow)) return perDay;
    // Runs on some days only: a weekday list (weekly or more often) or days of the month (monthly).
    if (!anyDay(dow)) {
        const days = dow.split(",").length;
        return days >= 7 ? perDay : Math.ceil(HOURS_PER_WEEK / days);
    }
    return 31 * 24;
}

const days = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/**
 * A rule with continuous backup makes no periodic snapshots: for RDS, AWS Backup keeps ONE continuous
 * recovery point ("For recovery points of Aurora and Amazon RDS resources, only one recovery point is
 * possible at a time") and its schedule is "for maintenance and syncing purposes" ("A backup frequency
 * rule for a continuous backup is not the same as a periodic backup snapshot", AWS Backup Developer
 * Guide, point-in-time-recovery-retention-period.html). Such a rule is not one of the plan's 6-hourly,
 * daily or weekly backups, whatever its schedule.
 */
export const isContinuousRule = (r: any): boolean => r?.enableContinuousBackup === true;
/** The rules that take periodic snapshots. */
const snapshotRules = (rules: any[]) => rules.filter((r) => !isContinuousRule(r));

export const backupPlanFrequency: Rule = {
    name: "backup-plan-frequency",
    description: 'Database backups, "Frequency: Every 6 hours": an AWS Backup plan takes a snapshot at least that often (a continuous-backup rule takes none, whatever its schedule).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxIntervalHours: { type: "integer", default: DR_PLAN.dbBackupIntervalHours, description: "Longest allowed gap between backups, in hours." },
        },
    },
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const { maxIntervalHours } = settingsOf<{ maxIntervalHours: number }>(backupPlanFrequency.configSchema!, args);
        const rules = asArray<any>(props.rules);
        for (const r of rules) {
            if (cronIntervalHours(r.schedule) === undefined) {
                report(`rule ${r.ruleName}: schedule ${JSON.stringify(r.schedule)} is not a cron(...) expression the pack can read${fix("use cron(min hour dom month dow year), e.g. cron(0 */6 * * ? *)")}`);
            }
        }
        const shortest = Math.min(...snapshotRules(rules).map((r) => cronIntervalHours(r.schedule) ?? Infinity));
        if (!(shortest <= maxIntervalHours)) {
            report(
                `no snapshot rule runs at least every ${maxIntervalHours} h (most frequent: ${Number.isFinite(shortest) ? `every ${shortest} h` : "none"}; a continuous-backup rule takes no snapshots)` +
                    fix(`add a rule with schedule cron(0 */${maxIntervalHours} * * ? *)`),
            );
        }
    }),
};

export const backupPlanRetention: Rule = {
    name: "backup-plan-retention",
    description: 'Database backups, "Retention: 30 days for daily backups, 12 months for weekly backups": every rule running daily or more often keeps its recovery points 30 days, and a weekly rule keeps them 365 days.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            dailyRetentionDays: { type: "integer", default: DR_PLAN.dbDailyRetentionDays, description: "Days a daily (or more frequent) backup is kept, at least." },
            weeklyRetentionDays: { type: "integer", default: DR_PLAN.dbWeeklyRetentionDays, description: "Days a weekly backup is kept, at least." },
        },
    },
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const s = settingsOf<{ dailyRetentionDays: number; weeklyRetentionDays: number }>(backupPlanRetention.configSchema!, args);
        // The continuous rule is the point-in-time window (at most 35 days), not the daily backups.
        const rules = snapshotRules(asArray<any>(props.rules));
        for (const r of rules) {
            const interval = cronIntervalHours(r.schedule);
            const kept = days(r.lifecycle?.deleteAfter);
            if (interval !== undefined && interval <= 24 && kept !== undefined && kept < s.dailyRetentionDays) {
                report(`rule ${r.ruleName} runs every ${interval} h but keeps recovery points ${kept} days, less than ${s.dailyRetentionDays}${fix(`set lifecycle.deleteAfter to at least ${s.dailyRetentionDays}`)}`);
            }
            for (const c of asArray<any>(r.copyActions)) {
                const copyKept = days(c.lifecycle?.deleteAfter);
                const needed = kept ?? s.dailyRetentionDays;
                if (copyKept !== undefined && copyKept < needed) {
                    report(`rule ${r.ruleName} keeps its copies in ${c.destinationVaultArn} ${copyKept} days, less than the ${needed} days of the source${fix(`set copyActions[].lifecycle.deleteAfter to at least ${needed}`)}`);
                }
            }
        }
        const weekly = rules.filter((r) => (cronIntervalHours(r.schedule) ?? Infinity) <= HOURS_PER_WEEK && (days(r.lifecycle?.deleteAfter) ?? Infinity) >= s.weeklyRetentionDays);
        if (weekly.length === 0) {
            report(`no rule runs at least weekly and keeps its recovery points ${s.weeklyRetentionDays} days${fix(`add a weekly rule (e.g. cron(0 3 ? * SUN *)) with lifecycle.deleteAfter ${s.weeklyRetentionDays}`)}`);
        }
        const daily = rules.filter((r) => (cronIntervalHours(r.schedule) ?? Infinity) <= 24);
        if (daily.length === 0) {
            report(`no rule runs daily or more often${fix(`add a rule running at least daily with lifecycle.deleteAfter ${s.dailyRetentionDays}`)}`);
        }
    }),
};

export const backupPlanCrossRegionCopy: Rule = {
    name: "backup-plan-cross-region-copy",
    description:
        'Database backups, "Location: Local storage + cloud storage": every snapshot rule copies its recovery points to a vault in another region (a continuous rule\'s point-in-time window stays in its region: a copy of it is only a snapshot, and cross-region point-in-time restore is RDS automated-backup replication).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const home = regionOf(args);
        for (const r of snapshotRules(asArray<any>(props.rules))) {
            const copies = asArray<any>(r.copyActions);
            const elsewhere = copies.filter((c) => {
                const region = arnRegion(c.destinationVaultArn);
                return region !== undefined && region !== home;
            });
            if (elsewhere.length === 0) {
                report(
                    `rule ${r.ruleName} copies to ${copies.length === 0 ? "no vault" : copies.map((c) => c.destinationVaultArn).join(", ")}, none in a region other than ${home ?? "the plan's"}` +
                        fix("add copyActions: [{ destinationVaultArn: <the DR region vault's arn>, lifecycle: { deleteAfter: <same days> } }]"),
                );
            }
        }
    }),
};

export const backupVaultEncrypted: Rule = {
    name: "backup-vault-encrypted",
    description: 'Configuration, "Environment Variables: Encrypted storage" and the backups themselves: every backup vault is encrypted with a customer-managed KMS key.',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.backupVault, (props, _args, report) => {
        if (!props.kmsKeyArn) report(`backup vault has no kmsKeyArn${fix("set kmsKeyArn to the site's (or the DR region's) KMS key arn")}`);
    }),
};

export const backupVaultLocked: Rule = {
    name: "backup-vault-locked",
    description: 'Database backups, "Retention: 30 days ... 12 months": every backup vault has a Vault Lock (compliance mode) whose minimum retention is the daily retention, so nobody can delete or shorten a backup.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRetentionDays: { type: "integer", default: DR_PLAN.dbDailyRetentionDays, description: "The lock's minRetentionDays must be at least this." },
            maxRetentionDaysAtLeast: { type: "integer", default: DR_PLAN.dbWeeklyRetentionDays, description: "The lock's maxRetentionDays, when set, must be at least this (or weekly backups could not be kept)." },
            requireComplianceMode: { type: "boolean", default: true, description: "Require compliance mode (changeableForDays set), which not even the account root can undo after the grace period." },
        },
    },
    validateStack: (args, report) => {
        const s = settingsOf<{ minRetentionDays: number; maxRetentionDaysAtLeast: number; requireComplianceMode: boolean }>(backupVaultLocked.configSchema!, args);
        const locks = args.resources.filter((r) => r.type === T.backupVaultLock);
        for (const vault of args.resources.filter((r) => r.type === T.backupVault)) {
            const refs = refsOf(vault);
            const lock = locks.find((l) => refs.has(l.props.backupVaultName) && regionOf(l) === regionOf(vault));
            if (!lock) {
                report(`${label(vault)}: no Vault Lock${fix(`add aws.backup.VaultLockConfiguration { backupVaultName: vault.name, minRetentionDays: ${s.minRetentionDays}, changeableForDays: 3 }`)}`, vault.urn);
                continue;
            }
            const min = lock.props.minRetentionDays;
            if (typeof min !== "number" || min < s.minRetentionDays) {
                report(`${label(vault)}: Vault Lock minRetentionDays is ${min ?? "unset"}, less than ${s.minRetentionDays}${fix(`set minRetentionDays: ${s.minRetentionDays}`)}`, lock.urn);
            }
            const max = lock.props.maxRetentionDays;
            if (typeof max === "number" && max < s.maxRetentionDaysAtLeast) {
                report(`${label(vault)}: Vault Lock maxRetentionDays ${max} is below ${s.maxRetentionDaysAtLeast}, so weekly backups could not be kept${fix(`raise maxRetentionDays to at least ${s.maxRetentionDaysAtLeast} or leave it unset`)}`, lock.urn);
            }
            if (s.requireComplianceMode && typeof lock.props.changeableForDays !== "number") {
                report(`${label(vault)}: Vault Lock is in governance mode (no changeableForDays), which privileged users can remove${fix("set changeableForDays (at least 3) for compliance mode")}`, lock.urn);
            }
        }
    },
};

export const BACKUP_RULES: Rule[] = [backupPlanFrequency, backupPlanRetention, backupPlanCrossRegionCopy, backupVaultEncrypted, backupVaultLocked];
