// Over 300 lines on purpose: the AWS Backup rules (frequency, retention, copies, vaults, Vault Lock) share
// the plan/rule readers above them; one concern, one file.
/**
 * AWS Backup: the plan's database backups ("Frequency: Every 6 hours", "Retention: 30 days for daily
 * backups, 12 months for weekly backups", "Location: Local storage + cloud storage"), made by an AWS
 * Backup plan, copied to the DR region's vault, in encrypted and locked vaults.
 */
import { DR_PLAN } from "../dr-plan";
import { cronIntervalHours, jobGapHours } from "../schedule";
import { arnRegion, asArray, defaultTagsOf, fix, forTypes, guard, known, label, must, PolicyResource, pointsAt, regionOf, Rule, settingsOf, StackValidationArgs, T, tagsOf, UNKNOWN } from "./common";

const HOURS_PER_WEEK = 7 * 24;

/** The worst-case gap in hours between two runs of a cron(...) schedule: policies/schedule.ts, the one parser. */
export { cronIntervalHours };

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

/**
 * AWS Backup's start window: "A value in minutes after a backup is scheduled before a job will be
 * canceled if it doesn't start successfully ... If this value is included, it must be at least 60
 * minutes" (AWS Backup API, BackupRule.StartWindowMinutes). A job may start that late, so a rule's
 * worst gap between two backups is its schedule's plus the start window; the 60 minutes every rule has
 * at least are the plan's own tolerance ("every 6 hours" is a 6-hourly schedule), the rest counts.
 * Without a startWindow AWS applies its default (8 hours in the AWS Backup console; the API reference
 * states none), so the pack counts 8 hours.
 */
export const MIN_START_WINDOW_MINUTES = 60;
export const DEFAULT_START_WINDOW_MINUTES = 480;

/** A rule's schedule cadence in hours (its time zone's clock changes included), undefined when not a readable cron. */
export const ruleCadenceHours = (r: any): number | undefined => jobGapHours(r.schedule, { timezone: r.scheduleExpressionTimezone }, ["cron"])?.hours;

/** A rule's worst gap between two backup starts: its cadence plus the start window beyond AWS's minimum. */
export function ruleWorstGap(r: any): { hours: number; note?: string } | undefined {
    const startWindow = typeof r.startWindow === "number" ? r.startWindow : DEFAULT_START_WINDOW_MINUTES;
    return jobGapHours(r.schedule, { timezone: r.scheduleExpressionTimezone, lateMinutes: Math.max(0, startWindow - MIN_START_WINDOW_MINUTES) }, ["cron"]);
}

export const backupPlanFrequency: Rule = {
    name: "backup-plan-frequency",
    description:
        'Database backups, "Frequency: Every 6 hours": an AWS Backup plan takes a snapshot at least that often (worst-case gap between two backup starts: its cron schedule in its scheduleExpressionTimezone, daylight-saving skips included, plus its startWindow beyond AWS\'s 60-minute minimum, 8 hours when unset; a continuous-backup rule takes none, whatever its schedule).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxIntervalHours: { type: "integer", default: DR_PLAN.dbBackupIntervalHours, description: "Longest allowed gap between backups, in hours." },
        },
    },
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const { maxIntervalHours } = settingsOf<{ maxIntervalHours: number }>(backupPlanFrequency.configSchema!, args);
        guard(report, "backup plan schedules", () => {
            const rules = asArray<any>(props.rules);
            for (const r of rules) {
                if (cronIntervalHours(r.schedule) === undefined) {
                    report(`rule ${r.ruleName}: schedule ${JSON.stringify(r.schedule)} is not a cron(...) expression the pack can read${fix("use cron(min hour dom month dow year), e.g. cron(0 */6 * * ? *)")}`);
                }
            }
            const gaps = snapshotRules(rules).map((r) => ({ r, gap: ruleWorstGap(r) }));
            const shortest = Math.min(...gaps.map((g) => g.gap?.hours ?? Infinity));
            if (!(shortest <= maxIntervalHours)) {
                const seen = gaps.map((g) => `${g.r.ruleName}: ${g.gap && Number.isFinite(g.gap.hours) ? `at worst ${+g.gap.hours.toFixed(2)} h` : "never"}${g.gap?.note ? ` (${g.gap.note})` : ""}`).join(", ");
                report(
                    `no snapshot rule runs at least every ${maxIntervalHours} h (${seen || "no snapshot rule"}; a continuous-backup rule takes no snapshots)` +
                        fix(`add a rule with schedule cron(0 */${maxIntervalHours} * * ? *)`),
                );
            }
        });
    }),
};

export const backupPlanRetention: Rule = {
    name: "backup-plan-retention",
    description: 'Database backups, "Retention: 30 days for daily backups, 12 months for weekly backups": every rule running daily or more often keeps its recovery points (and their copies) 30 days, and a rule running at least weekly keeps them 365 days.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            dailyRetentionDays: { type: "integer", default: DR_PLAN.dbDailyRetentionDays, description: "Days a daily (or more frequent) backup is kept, at least." },
            weeklyRetentionDays: { type: "integer", default: DR_PLAN.dbWeeklyRetentionDays, description: "Days a weekly backup is kept, at least." },
        },
    },
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const s = settingsOf<{ dailyRetentionDays: number; weeklyRetentionDays: number }>(backupPlanRetention.configSchema!, args);
        guard(report, "backup plan retention", () => {
            // The continuous rule is the point-in-time window (at most 35 days), not the daily backups.
            const rules = snapshotRules(asArray<any>(props.rules));
            for (const r of rules) {
                const interval = ruleCadenceHours(r);
                const kept = days(r.lifecycle?.deleteAfter);
                if (interval !== undefined && interval <= 24 && kept !== undefined && kept < s.dailyRetentionDays) {
                    report(`rule ${r.ruleName} runs every ${interval} h but keeps recovery points ${kept} days, less than ${s.dailyRetentionDays}${fix(`set lifecycle.deleteAfter to at least ${s.dailyRetentionDays}`)}`);
                }
                for (const c of asArray<any>(r.copyActions)) {
                    const copyKept = days(c.lifecycle?.deleteAfter);
                    const needed = kept ?? s.dailyRetentionDays;
                    if (copyKept !== undefined && copyKept < needed) {
                        report(`rule ${r.ruleName} keeps its copies ${copyKept} days, less than the ${needed} days of the source${fix(`set copyActions[].lifecycle.deleteAfter to at least ${needed}`)}`);
                    }
                }
            }
            const weekly = rules.filter((r) => (ruleCadenceHours(r) ?? Infinity) <= HOURS_PER_WEEK && (days(r.lifecycle?.deleteAfter) ?? Infinity) >= s.weeklyRetentionDays);
            if (weekly.length === 0) {
                report(`no rule runs at least weekly and keeps its recovery points ${s.weeklyRetentionDays} days${fix(`add a weekly rule (e.g. cron(0 3 ? * SUN *)) with lifecycle.deleteAfter ${s.weeklyRetentionDays}`)}`);
            }
            const daily = rules.filter((r) => (ruleCadenceHours(r) ?? Infinity) <= 24);
            if (daily.length === 0) {
                report(`no rule runs daily or more often${fix(`add a rule running at least daily with lifecycle.deleteAfter ${s.dailyRetentionDays}`)}`);
            }
        });
    }),
};

export const backupPlanCrossRegionCopy: Rule = {
    name: "backup-plan-cross-region-copy",
    description:
        'Database backups, "Location: Local storage + cloud storage": every snapshot rule copies its recovery points to a vault in another region (a continuous rule\'s point-in-time window stays in its region: a copy of it is only a snapshot, and cross-region point-in-time restore is RDS automated-backup replication).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.backupPlan, (props, args, report) => {
        const home = regionOf(args);
        const rules = known(() => snapshotRules(asArray<any>(props.rules)).map((r) => ({ name: r.ruleName, copies: asArray<any>(r.copyActions) })));
        if (rules === UNKNOWN) return guard(report, "backup plan rules", () => void props.rules.length);
        for (const r of rules) {
            // The destination ARN of a vault being created is unknown in a preview: decided by the stack rule backup-copy-vault-exists.
            const regions = r.copies.map((c) => known(() => arnRegion(c.destinationVaultArn)));
            if (regions.some((x) => x !== UNKNOWN && x !== undefined && x !== home)) continue;
            if (regions.some((x) => x === UNKNOWN)) {
                // Said, not skipped: the preview cannot tell the region of an ARN it does not know yet.
                guard(report, `rule ${r.name}: its copy destination`, () => void must(UNKNOWN, "copyActions[].destinationVaultArn"));
                continue;
            }
            report(
                `rule ${r.name} copies to ${r.copies.length === 0 ? "no vault" : r.copies.map((c) => c.destinationVaultArn).join(", ")}, none in a region other than ${home ?? "the plan's"}` +
                    fix("add copyActions: [{ destinationVaultArn: <the DR region vault's arn>, lifecycle: { deleteAfter: <same days> } }]"),
            );
        }
    }),
};

/** `alias/aws/backup`, `arn:aws:kms:...:alias/aws/...`: an AWS-managed key, which a key policy of ours cannot govern. */
export const isAwsManagedAlias = (key: unknown) => typeof key === "string" && /(^|:)alias\/aws\//.test(key);

export const backupVaultEncrypted: Rule = {
    name: "backup-vault-encrypted",
    description:
        'Configuration, "Environment Variables: Encrypted storage" and the backups themselves: every backup vault names its KMS key (without one, AWS Backup uses its AWS-managed key) and not an AWS-managed alias; customer-managed-keys checks the key is one this stack declares.',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.backupVault, (props, _args, report) => {
        const key = known(() => props.kmsKeyArn);
        if (key === undefined || key === null || key === "") report(`backup vault has no kmsKeyArn: AWS Backup then encrypts with the AWS-managed key aws/backup${fix("set kmsKeyArn to the site's (or the DR region's) customer-managed KMS key arn")}`);
        else if (isAwsManagedAlias(key)) report(`backup vault kmsKeyArn ${key} is an AWS-managed key${fix("set kmsKeyArn to the site's customer-managed KMS key arn")}`);
    }),
};

export const backupVaultLockRetention: Rule = {
    name: "backup-vault-lock-retention",
    description:
        'Database backups, "Retention: 30 days ... 12 months": every Vault Lock is in compliance mode (changeableForDays set) with minRetentionDays at least the daily retention and maxRetentionDays, when set, at least the weekly retention.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minRetentionDays: { type: "integer", default: DR_PLAN.dbDailyRetentionDays, description: "The lock's minRetentionDays must be at least this." },
            maxRetentionDaysAtLeast: { type: "integer", default: DR_PLAN.dbWeeklyRetentionDays, description: "The lock's maxRetentionDays, when set, must be at least this (or weekly backups could not be kept)." },
            requireComplianceMode: { type: "boolean", default: true, description: "Require compliance mode (changeableForDays set), which not even the account root can undo after the grace period." },
        },
    },
    validateResource: forTypes(T.backupVaultLock, (props, args, report) => {
        const s = settingsOf<{ minRetentionDays: number; maxRetentionDaysAtLeast: number; requireComplianceMode: boolean }>(backupVaultLockRetention.configSchema!, args);
        guard(report, "minRetentionDays", () => {
            const min = props.minRetentionDays;
            if (typeof min !== "number" || min < s.minRetentionDays) report(`Vault Lock minRetentionDays is ${min ?? "unset"}, less than ${s.minRetentionDays}${fix(`set minRetentionDays: ${s.minRetentionDays}`)}`);
        });
        guard(report, "maxRetentionDays", () => {
            const max = props.maxRetentionDays;
            if (typeof max === "number" && max < s.maxRetentionDaysAtLeast) report(`Vault Lock maxRetentionDays ${max} is below ${s.maxRetentionDaysAtLeast}, so weekly backups could not be kept${fix(`raise maxRetentionDays to at least ${s.maxRetentionDaysAtLeast} or leave it unset`)}`);
        });
        guard(report, "changeableForDays", () => {
            if (s.requireComplianceMode && typeof props.changeableForDays !== "number") report(`Vault Lock is in governance mode (no changeableForDays), which privileged users can remove${fix("set changeableForDays (at least 3) for compliance mode")}`);
        });
    }),
};

export const backupVaultLocked: Rule = {
    name: "backup-vault-locked",
    description: 'Database backups, "Retention: 30 days ... 12 months": every backup vault has a Vault Lock (its settings: backup-vault-lock-retention), so nobody can delete or shorten a backup.',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const locks = args.resources.filter((r) => r.type === T.backupVaultLock);
        for (const vault of args.resources.filter((r) => r.type === T.backupVault)) {
            guard(
                report,
                `${label(vault)}: its Vault Lock`,
                () => {
                    const linked = locks.map((l) => pointsAt(l, "backupVaultName", known(() => l.props.backupVaultName), vault) && regionOf(l) === regionOf(vault));
                    if (linked.some((x) => x === true)) return;
                    if (linked.some((x) => x === undefined)) throw new Error("the lock's backupVaultName can't be known during preview");
                    report(`${label(vault)}: no Vault Lock${fix(`add aws.backup.VaultLockConfiguration { backupVaultName: vault.name, minRetentionDays: ${DR_PLAN.dbDailyRetentionDays}, changeableForDays: 3 }`)}`, vault.urn);
                },
                vault.urn,
            );
        }
    },
};

/** The plan a selection belongs to (its planId), or undefined / "unknown". */
function planOf(args: StackValidationArgs, selection: PolicyResource): PolicyResource | undefined | "unknown" {
    const plans = args.resources.filter((p) => p.type === T.backupPlan);
    const planId = known(() => selection.props.planId);
    const hits = plans.map((p) => ({ p, hit: pointsAt(selection, "planId", planId, p) }));
    return hits.find((h) => h.hit === true)?.p ?? (hits.some((h) => h.hit === undefined) ? "unknown" : undefined);
}

/** AWS Backup's StringLike: `*` matches any run of characters. */
const like = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);

/**
 * Whether a backup selection assigns this resource (AWS Backup Developer Guide, "Assigning resources
 * to a backup plan" / BackupSelection API: resources are chosen by `Resources` ARNs (wildcards
 * allowed) OR by `ListOfTags` (any tag); `Conditions` (StringEquals, StringLike, StringNotEquals,
 * StringNotLike on aws:ResourceTag/...) must ALL hold; `NotResources` excludes). The resource's tags
 * include its provider's default tags (they are real tags).
 */
export function selects(selection: PolicyResource, resource: PolicyResource): boolean | undefined {
    const arn = known(() => resource.props.arn);
    const tags = { ...defaultTagsOf(resource), ...tagsOf(resource.props) };
    const sel = known(() => ({
        resources: asArray<string>(selection.props.resources),
        notResources: asArray<string>(selection.props.notResources),
        listOfTags: asArray<any>(selection.props.selectionTags).map((t) => ({ type: t.type, key: t.key, value: t.value })),
        conditions: asArray<any>(selection.props.conditions).flatMap((c) =>
            ["stringEquals", "stringLikes", "stringNotEquals", "stringNotLikes"].flatMap((op) => asArray<any>(c[op]).map((x) => ({ op, key: x.key, value: x.value }))),
        ),
    }));
    if (sel === UNKNOWN) return undefined;
    const byArn = sel.resources.some((p) => p === "*" || (arn !== UNKNOWN && typeof arn === "string" && like(p, arn)));
    const byResourceDeps = arn === UNKNOWN && (selection as any).propertyDependencies?.resources?.some?.((d: PolicyResource) => d.urn === resource.urn);
    // ListOfTags conditions are exact: "ConditionType ... Valid Values: STRINGEQUALS" (AWS Backup API, Condition);
    // AWS refuses any other type (a wildcard tag match goes in `conditions.stringLikes`): such an entry selects nothing.
    const byTag = sel.listOfTags.some((t) => t.type === "STRINGEQUALS" && t.key in tags && tags[t.key] === t.value);
    if (!byArn && !byResourceDeps && !byTag) return false;
    const tagOf = (key: string) => tags[String(key).replace(/^aws:ResourceTag\//, "")];
    const conditionsHold = sel.conditions.every((c) => {
        const v = tagOf(c.key);
        if (c.op === "stringEquals") return v === c.value;
        if (c.op === "stringLikes") return v !== undefined && like(String(c.value), v);
        if (c.op === "stringNotEquals") return v !== c.value;
        return v === undefined || !like(String(c.value), v);
    });
    const excluded = arn !== UNKNOWN && typeof arn === "string" && sel.notResources.some((p) => like(p, arn));
    return conditionsHold && !excluded;
}

/** A database the site writes to: an RDS instance that is not a read replica. */
const isWritableDb = (r: PolicyResource) => {
    if (r.type !== T.dbInstance) return false;
    const source = known(() => r.props.replicateSourceDb);
    return source === undefined || source === null || source === "";
};

export const backupSelectionCoversDatabase: Rule = {
    name: "backup-selection-covers-database",
    description:
        'Database backups, "Frequency: Every 6 hours": every writable database instance is assigned to an AWS Backup plan of its region by a backup selection (by ARN or by tag, with AWS Backup\'s matching: a typo in the selection tag backs up nothing).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const selections = args.resources.filter((r) => r.type === T.backupSelection);
        for (const sel of selections) {
            guard(report, `${label(sel)}: its selectionTags`, () => {
                const wrong = asArray<any>(sel.props.selectionTags).map((t) => t.type).filter((type) => type !== "STRINGEQUALS");
                if (wrong.length > 0) report(`${label(sel)}: selectionTags type ${wrong.map((w) => JSON.stringify(w)).join(", ")}: AWS Backup accepts only STRINGEQUALS there (API Condition, ConditionType), so the selection fails or selects nothing${fix('use type "STRINGEQUALS", or move a wildcard match to conditions: [{ stringLikes: [{ key: "aws:ResourceTag/<key>", value: "<pattern>" }] }]')}`, sel.urn);
            }, sel.urn);
        }
        for (const db of args.resources.filter(isWritableDb)) {
            guard(
                report,
                `${label(db)}: its backup selection`,
                () => {
                    let undecided = false;
                    for (const sel of selections) {
                        const plan = planOf(args, sel);
                        const hit = selects(sel, db);
                        if (plan === "unknown" || hit === undefined) undecided = true;
                        else if (plan && hit && regionOf(plan) === regionOf(db)) return;
                    }
                    if (undecided) throw new Error("a backup selection's plan or resources can't be known during preview");
                    const tags = { ...defaultTagsOf(db), ...tagsOf(db.props) };
                    report(
                        `${label(db)}: no AWS Backup selection of a plan in its region assigns it (its tags: ${JSON.stringify(tags)}; selections: ${selections.map((s) => s.name).join(", ") || "none"})` +
                            fix("add aws.backup.Selection { planId: plan.id, selectionTags: [{ type: \"STRINGEQUALS\", key, value }] } matching a tag the instance carries, or resources: [instance.arn]"),
                        db.urn,
                    );
                },
                db.urn,
            );
        }
    },
};

const BACKUP_VAULT_ARN = /^arn:aws[a-z-]*:backup:([a-z0-9-]+):(\d{12}):backup-vault:([A-Za-z0-9_.-]{2,50})$/;

export const backupCopyVaultExists: Rule = {
    name: "backup-copy-vault-exists",
    description:
        'Database backups, "Location: ... cloud storage": every copy action of a backup plan names a backup vault that exists: a vault of this stack, or a well-formed vault ARN in a region where this stack declares no vault (another stack\'s vault, e.g. the primary region\'s from an active DR site: reported as advisory, since its existence is checked in the stack that owns it).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const vaults = args.resources.filter((r) => r.type === T.backupVault);
        for (const plan of args.resources.filter((r) => r.type === T.backupPlan)) {
            const rules = known(() => asArray<any>(plan.props.rules).map((r) => ({ name: r.ruleName, copies: asArray<any>(r.copyActions).map((c) => known(() => c.destinationVaultArn)) })));
            if (rules === UNKNOWN) {
                guard(report, `${label(plan)}: its copy actions`, () => void plan.props.rules, plan.urn);
                continue;
            }
            for (const r of rules) {
                for (const dest of r.copies) {
                    guard(
                        report,
                        `${label(plan)} rule ${r.name}: its copy destination`,
                        () => {
                            if (dest === UNKNOWN) {
                                // An unknown ARN is a vault being created: the plan's `rules` depend on it.
                                if (vaults.some((v) => pointsAt(plan, "rules", UNKNOWN, v) === true)) return;
                                throw new Error("copyActions[].destinationVaultArn can't be known during preview");
                            }
                            // destinationVaultArn takes an ARN ("The Amazon Resource Name (ARN) that uniquely identifies the destination backup vault", AWS Backup API CopyAction).
                            if (vaults.some((v) => known(() => v.props.arn) === dest)) return;
                            const m = BACKUP_VAULT_ARN.exec(String(dest));
                            if (!m) {
                                report(`${label(plan)} rule ${r.name}: copy destination ${JSON.stringify(dest)} is not a backup vault ARN${fix("set destinationVaultArn to the destination vault's arn (arn:aws:backup:<region>:<account>:backup-vault:<name>)")}`, plan.urn);
                                return;
                            }
                            const owned = vaults.filter((v) => regionOf(v) === m[1]);
                            if (owned.length > 0) {
                                report(`${label(plan)} rule ${r.name}: copy destination ${dest} is no vault of this stack in ${m[1]} (this stack's: ${owned.map((v) => known(() => v.props.name) as string).join(", ")})${fix("point destinationVaultArn at the vault's arn output instead of a written ARN")}`, plan.urn);
                                return;
                            }
                            (report as unknown as (info: object) => void)({
                                message: `${label(plan)} rule ${r.name}: copies to ${dest}, a vault this stack does not declare: run \`npm run policy -- check\` on the state of the stack that owns it`,
                                enforcementLevel: "advisory",
                                urn: plan.urn,
                            });
                        },
                        plan.urn,
                    );
                }
            }
        }
    },
};

export const BACKUP_RULES: Rule[] = [
    backupPlanFrequency,
    backupPlanRetention,
    backupPlanCrossRegionCopy,
    backupSelectionCoversDatabase,
    backupCopyVaultExists,
    backupVaultEncrypted,
    backupVaultLocked,
    backupVaultLockRetention,
];
