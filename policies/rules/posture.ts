/**
 * The recovery posture, from what the stack declares: "every data store of the primary site has a
 * copy in another region", and the plan's "RPO: 1 hour" and "RTO: 4 hours" for the database.
 *
 * A first, deliberately small version: the recovery posture issue replaces `databaseRecoveryPaths`
 * and its estimates with the full posture report (every store, measured drill times).
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { cronIntervalHours, isContinuousRule } from "./backup";
import { arnRegion, asArray, concernAbsentSchema, fix, isOneOf, label, PolicyResource, purposeOf, refsOf, regionOf, reportConcernAbsent, Rule, settingsOf, siteOf, StackValidationArgs, T } from "./common";

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

const primarySite = (args: StackValidationArgs) => args.resources.filter((r) => siteOf(r) === PRIMARY_SITE);

/** The ways the stack declares to get a primary database back in another region. */
export function databaseRecoveryPaths(args: StackValidationArgs, db: PolicyResource): RecoveryPath[] {
    const paths: RecoveryPath[] = [];
    const home = regionOf(db);
    for (const r of args.resources) {
        if (r.type === T.dbBackupReplication && r.props.sourceDbInstanceArn === db.props.arn && regionOf(r) !== home) {
            paths.push({ mechanism: `automated backups replicated to ${regionOf(r)} (${r.name})`, rpoMinutes: ESTIMATES.logShippingMinutes, rtoMinutes: ESTIMATES.pointInTimeRestoreMinutes });
        }
        if (r.type === T.dbInstance && r.props.replicateSourceDb === db.props.arn && regionOf(r) !== home) {
            paths.push({ mechanism: `cross-region replica ${r.name}`, rpoMinutes: ESTIMATES.logShippingMinutes, rtoMinutes: ESTIMATES.replicaPromotionMinutes });
        }
    }
    // AWS Backup: a selection naming the database, in a plan whose rules copy to another region.
    for (const sel of args.resources.filter((r) => r.type === "aws:backup/selection:Selection" && asArray<string>(r.props.resources).includes(db.props.arn))) {
        const plan = args.resources.find((p) => p.type === T.backupPlan && p.props.id === sel.props.planId);
        for (const rule of asArray<any>(plan?.props.rules)) {
            const copied = asArray<any>(rule.copyActions).some((c) => arnRegion(c.destinationVaultArn) !== undefined && arnRegion(c.destinationVaultArn) !== home);
            const interval = cronIntervalHours(rule.schedule);
            if (copied && interval !== undefined) {
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
        const site = primarySite(args);
        if (site.length === 0) args.notApplicable("no primary-site resources: this stack is the recovery site");
        const dbs = site.filter((r) => r.type === T.dbInstance && !r.props.replicateSourceDb);
        if (reportConcernAbsent(dbs.length > 0, "primary database (database component)", s, recoveryPosture.name, report, "build the database component")) return;
        for (const db of dbs) {
            const paths = databaseRecoveryPaths(args, db);
            const good = paths.filter((p) => p.rpoMinutes <= s.rpoMinutes && p.rtoMinutes <= s.rtoMinutes);
            if (good.length === 0) {
                const seen = paths.length === 0 ? "none declared" : paths.map((p) => `${p.mechanism}: RPO ${p.rpoMinutes} min, RTO ${p.rtoMinutes} min`).join("; ");
                report(`${label(db)}: no recovery path in another region within RPO ${s.rpoMinutes} min and RTO ${s.rtoMinutes} min (${seen})${fix("add aws.rds.InstanceAutomatedBackupsReplication in the DR region for this instance (and the DR stack's cross-region replica)")}`, db.urn);
            }
        }
    },
};

/** Where a primary-site data store has its copy in another region, or undefined. */
function copyOf(args: StackValidationArgs, store: PolicyResource): string | undefined {
    const home = regionOf(store);
    if (store.type === T.dbInstance) return databaseRecoveryPaths(args, store)[0]?.mechanism;
    if (isOneOf(store.type, T.bucket)) {
        const refs = refsOf(store);
        for (const c of args.resources.filter((r) => r.type === T.bucketReplication && refs.has(r.props.bucket))) {
            for (const rule of asArray<any>(c.props.rules).filter((x) => x.status === "Enabled")) {
                const target = args.resources.find((b) => isOneOf(b.type, T.bucket) && b.props.arn === rule.destination?.bucket);
                if (target && regionOf(target) !== home) return `replicated to ${target.name} in ${regionOf(target)}`;
            }
        }
        return undefined;
    }
    if (store.type === T.repository) {
        for (const c of args.resources.filter((r) => r.type === T.registryReplication && regionOf(r) === home)) {
            for (const rule of asArray<any>(c.props.replicationConfiguration?.rules)) {
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
                default: ["-cache-auth"],
                description: "Name parts of site-local stores that need no copy: credentials of a per-site resource that the other site generates for itself (each site's Redis has its own AUTH token).",
            },
            ...concernAbsentSchema,
        },
    },
    validateStack: (args, report) => {
        const s = settingsOf<{ bucketPurposes: string[]; siteLocal: string[]; whenConcernAbsent: string }>(crossRegionCopies.configSchema!, args);
        const site = primarySite(args);
        if (site.length === 0) args.notApplicable("no primary-site resources: this stack is the recovery site");
        const stores = site.filter(
            (r) =>
                (r.type === T.dbInstance && !r.props.replicateSourceDb) ||
                (isOneOf(r.type, T.bucket) && s.bucketPurposes.includes(purposeOf(r) ?? "")) ||
                r.type === T.repository ||
                r.type === T.secret ||
                r.type === T.backupVault,
        );
        if (reportConcernAbsent(stores.length > 0, "data stores on the primary site (data protection and database components)", s, crossRegionCopies.name, report, "build the data-protection and database components")) return;
        for (const store of stores.filter((r) => !s.siteLocal.some((part) => r.name.includes(part)))) {
            if (!copyOf(args, store)) report(`${label(store)}: no copy in another region${fix("replicate it to the DR region (bucket replication, registry replication, secret replicas, backup copy actions, automated backups replication)")}`, store.urn);
        }
    },
};

export const POSTURE_RULES: Rule[] = [crossRegionCopies, recoveryPosture];
