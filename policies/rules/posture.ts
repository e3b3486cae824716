/**
 * The recovery posture, from what the stack declares: "every data store of the primary site has a
 * copy in another region", and the plan's "RPO: 1 hour" and "RTO: 4 hours" for the database.
 *
 * A first, deliberately small version: the recovery posture issue replaces `databaseRecoveryPaths`
 * and its estimates with the full posture report (every store, measured drill times).
 */
import { DR_PLAN } from "../dr-plan";
import { cronIntervalHours, isContinuousRule, selects } from "./backup";
import { arnRegion, asArray, concernAbsentSchema, fix, guard, isOneOf, known, label, PolicyResource, pointsAt, purposeOf, refsOf, regionOf, reportConcernAbsent, Rule, servingSites, settingsOf, siteOf, StackValidationArgs, T, UNKNOWN } from "./common";

/**
 * AWS facts and estimates the posture uses (not plan numbers): RDS ships transaction logs every
 * 5 minutes (point-in-time restore and automated-backup replication lag behind by that much); a
 * replica promotion takes minutes; a point-in-time restore of the plan's database size about an hour;
 * a restore from a copied snapshot about two.
 */
export const ESTIMATES = {
    logShippingMinutes: 5,
    replicaPromotionMinutes: 15,
    pointInTimeRestoreMinutes: 60,
    snapshotRestoreMinutes: 120,
} as const;

export interface RecoveryPath {
    mechanism: string;
    /** Data lost at worst, in minutes. */
    rpoMinutes: number;
    /** Time to a writable database in the other region, in minutes. */
    rtoMinutes: number;
}

const PRIMARY_SITE = "primary";

/**
 * The resources of the sites that serve: the primary site, and a DR site once active (siteRole=active
 * on its app group): a failed-over site's data needs a way back in another region as much as the
 * primary's did. Its RPO/RTO across regions are then reported, not required ("degraded until
 * failback", as the offline posture says): the region it would copy to is the one that failed.
 */
const servingSite = (args: StackValidationArgs) => {
    const sites = servingSites(args);
    return args.resources.filter((r) => sites.has(siteOf(r) ?? ""));
};
const isStandbyFree = (args: StackValidationArgs, r: PolicyResource) => siteOf(r) === PRIMARY_SITE || !servingSites(args).has(siteOf(r) ?? "");

/** The ways the stack declares to get a primary database back in another region. */
export function databaseRecoveryPaths(args: StackValidationArgs, db: PolicyResource): RecoveryPath[] {
    const paths: RecoveryPath[] = [];
    const home = regionOf(db);
    for (const r of args.resources) {
        if (r.type === T.dbBackupReplication && pointsAt(r, "sourceDbInstanceArn", known(() => r.props.sourceDbInstanceArn), db) === true && regionOf(r) !== home) {
            paths.push({ mechanism: `automated backups replicated to ${regionOf(r)} (${r.name})`, rpoMinutes: ESTIMATES.logShippingMinutes, rtoMinutes: ESTIMATES.pointInTimeRestoreMinutes });
        }
        if (r.type === T.dbInstance && r !== db && pointsAt(r, "replicateSourceDb", known(() => r.props.replicateSourceDb), db) === true && regionOf(r) !== home) {
            paths.push({ mechanism: `cross-region replica ${r.name}`, rpoMinutes: ESTIMATES.logShippingMinutes, rtoMinutes: ESTIMATES.replicaPromotionMinutes });
        }
    }
    // AWS Backup: a selection assigning the database (by ARN or tag), in a plan whose rules copy to another region.
    for (const sel of args.resources.filter((r) => r.type === T.backupSelection && selects(r, db) === true)) {
        const plan = args.resources.find((p) => p.type === T.backupPlan && pointsAt(sel, "planId", known(() => sel.props.planId), p) === true);
        const rules = plan ? known(() => asArray<any>(plan.props.rules)) : [];
        for (const rule of rules === UNKNOWN ? [] : rules) {
            if (isContinuousRule(rule)) continue;
            const copied = asArray<any>(rule.copyActions).some((c) => {
                const region = known(() => arnRegion(c.destinationVaultArn));
                return region !== UNKNOWN && region !== undefined && region !== home;
            });
            const interval = cronIntervalHours(rule.schedule);
            if (copied && interval !== undefined && Number.isFinite(interval)) {
                paths.push({ mechanism: `AWS Backup rule ${rule.ruleName} copied to another region`, rpoMinutes: interval * 60, rtoMinutes: ESTIMATES.snapshotRestoreMinutes });
            }
        }
    }
    return paths;
}

export const recoveryPosture: Rule = {
    name: "recovery-posture",
    description: '"RPO (Recovery Point Objective): 1 hour" and "RTO (Recovery Time Objective): 4 hours": each primary-site database has a declared way back in another region that loses at most the RPO and is writable within the RTO.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            rpoMinutes: { type: "integer", default: DR_PLAN.rpoMinutes, description: "Most data a recovery in another region may lose, in minutes." },
            rtoMinutes: { type: "integer", default: DR_PLAN.rtoMinutes, description: "Longest time to a writable database in another region, in minutes." },
            ...concernAbsentSchema,
        },
    },
    validateStack: (args, report) => {
        const s = settingsOf<{ rpoMinutes: number; rtoMinutes: number; whenConcernAbsent: string }>(recoveryPosture.configSchema!, args);
        const site = servingSite(args);
        if (site.length === 0) args.notApplicable("no serving-site resources: this stack is a standby recovery site");
        const dbs = site.filter((r) => r.type === T.dbInstance && [undefined, null, ""].includes(known(() => r.props.replicateSourceDb) as any));
        if (reportConcernAbsent(dbs.length > 0, "primary database (database component)", s, recoveryPosture.name, report, "build the database component")) return;
        for (const db of dbs) {
            guard(report, `${label(db)}: its recovery paths`, () => {
                const paths = databaseRecoveryPaths(args, db);
                const good = paths.filter((p) => p.rpoMinutes <= s.rpoMinutes && p.rtoMinutes <= s.rtoMinutes);
                if (good.length > 0) return;
                const seen = paths.length === 0 ? "none declared" : paths.map((p) => `${p.mechanism}: RPO ${p.rpoMinutes} min, RTO ${p.rtoMinutes} min`).join("; ");
                const message = `${label(db)}: no recovery path in another region within RPO ${s.rpoMinutes} min and RTO ${s.rtoMinutes} min (${seen})${fix("add aws.rds.InstanceAutomatedBackupsReplication in the DR region for this instance (and the DR stack's cross-region replica)")}`;
                // An active DR site: a way back must exist; its RPO/RTO are degraded until failback.
                if (isStandbyFree(args, db) || paths.length === 0) report(message, db.urn);
                else (report as unknown as (info: object) => void)({ message: `${message}; degraded until failback (active DR site)`, enforcementLevel: "advisory", urn: db.urn });
            }, db.urn);
        }
    },
};

/** Where a primary-site data store has its copy in another region, or undefined. */
function copyOf(args: StackValidationArgs, store: PolicyResource): string | undefined {
    const home = regionOf(store);
    if (store.type === T.dbInstance) return databaseRecoveryPaths(args, store)[0]?.mechanism;
    if (isOneOf(store.type, T.bucket)) {
        for (const c of args.resources.filter((r) => r.type === T.bucketReplication && pointsAt(r, "bucket", known(() => r.props.bucket), store) === true)) {
            for (const rule of asArray<any>(c.props.rules).filter((x) => x.status === "Enabled")) {
                const dest = known(() => rule.destination?.bucket);
                const target = args.resources.find((b) => isOneOf(b.type, T.bucket) && b !== store && pointsAt(c, "rules", dest === UNKNOWN ? UNKNOWN : dest, b) !== false && (dest === UNKNOWN || known(() => b.props.arn) === dest));
                if (target && regionOf(target) !== home) return `replicated to ${target.name} in ${regionOf(target)}`;
            }
        }
        return undefined;
    }
    if (store.type === T.repository) {
        for (const c of args.resources.filter((r) => r.type === T.registryReplication && regionOf(r) === home)) {
            const name = known(() => store.props.name);
            for (const rule of asArray<any>(c.props.replicationConfiguration?.rules)) {
                const filters = asArray<any>(rule.repositoryFilters);
                if (filters.length > 0 && !filters.some((f) => typeof name === "string" && name.startsWith(String(f.filter)))) continue;
                const dest = asArray<any>(rule.destinations).find((d) => d.region && d.region !== home);
                if (dest) return `registry replication to ${dest.region}`;
            }
        }
        return undefined;
    }
    if (store.type === T.secret) {
        const replica = asArray<any>(store.props.replicas).find((r) => r.region && r.region !== home);
        return replica ? `secret replica in ${replica.region}` : undefined;
    }
    if (store.type === T.backupVault) {
        for (const plan of args.resources.filter((r) => r.type === T.backupPlan && regionOf(r) === home)) {
            const refs = refsOf(store);
            // A continuous rule's point-in-time window stays in its region (its copies would only be snapshots): the snapshot rules copy.
            const rules = asArray<any>(plan.props.rules).filter((r) => refs.has(r.targetVaultName) && !isContinuousRule(r));
            if (rules.length > 0 && rules.every((r) => asArray<any>(r.copyActions).some((c) => arnRegion(c.destinationVaultArn) !== home))) return `copied by ${plan.name}`;
        }
        return undefined;
    }
    return undefined;
}

export const crossRegionCopies: Rule = {
    name: "cross-region-copies",
    description:
        'Backup "Location: Local storage + cloud storage", "User uploads: Real-time replication to secondary storage", images and "Environment Variables": every data store of the primary site (database, backups and uploads buckets, registry, secrets, backup vaults) has a copy in another region.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            bucketPurposes: { type: "array", items: { type: "string" }, default: ["backups", "uploads"], description: "Purposes of the buckets that are data stores." },
            siteLocal: {
                type: "array",
                items: { type: "string" },
                default: ["-cache-auth", "-app-env"],
                description:
                    "Name parts of site-local stores that need no copy: credentials of a per-site resource that the other site generates for itself (each site's Redis has its own AUTH token), and the app environment Pulumi writes for each site from its config.",
            },
            ...concernAbsentSchema,
        },
    },
    validateStack: (args, report) => {
        const s = settingsOf<{ bucketPurposes: string[]; siteLocal: string[]; whenConcernAbsent: string }>(crossRegionCopies.configSchema!, args);
        const site = servingSite(args);
        if (site.length === 0) args.notApplicable("no serving-site resources: this stack is a standby recovery site");
        const stores = site.filter(
            (r) =>
                (r.type === T.dbInstance && [undefined, null, ""].includes(known(() => r.props.replicateSourceDb) as any)) ||
                (isOneOf(r.type, T.bucket) && s.bucketPurposes.includes(purposeOf(r) ?? "")) ||
                r.type === T.repository ||
                r.type === T.secret ||
                r.type === T.backupVault,
        );
        if (reportConcernAbsent(stores.length > 0, "data stores on the serving site (data protection and database components)", s, crossRegionCopies.name, report, "build the data-protection and database components")) return;
        for (const store of stores.filter((r) => !s.siteLocal.some((part) => r.name.includes(part)))) {
            guard(report, `${label(store)}: its copy in another region`, () => {
                if (!copyOf(args, store)) report(`${label(store)}: no copy in another region${fix("replicate it to the DR region (bucket replication, registry replication, secret replicas, backup copy actions, automated backups replication)")}`, store.urn);
            }, store.urn);
        }
    },
};

export const POSTURE_RULES: Rule[] = [crossRegionCopies, recoveryPosture];
