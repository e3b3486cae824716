/**
 * RDS PostgreSQL: "Database Replication: Primary: Master database, Secondary: Read replica, Failover:
 * Automatic promotion", the RPO of 1 hour (point-in-time backups) and data that survives a mistaken
 * delete. One setting per rule, so a violation names exactly what to fix.
 */
import { DR_PLAN } from "../dr-plan";
import { fix, forTypes, known, ResourceValidationArgs, Rule, settingsOf, T, UNKNOWN } from "./common";

/** A read replica (same- or cross-region): AWS manages its backups and final snapshot through the source. */
const isReplica = (props: Record<string, any>) => {
    // A replica's source is another instance's ARN: unknown in a preview when that instance is new, but set.
    const source = known(() => props.replicateSourceDb);
    return source === UNKNOWN || (typeof source === "string" && source !== "");
};

const primaryOnly = (props: Record<string, any>, args: ResourceValidationArgs, why: string) => {
    if (isReplica(props)) args.notApplicable(`read replica: ${why}`);
};

export const rdsMultiAz: Rule = {
    name: "rds-multi-az",
    description: 'Database Replication, "Failover: Automatic promotion of replica to master": every primary database instance is Multi-AZ (automatic in-region failover).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.dbInstance, (props, args, report) => {
        primaryOnly(props, args, "Multi-AZ is required of the writable primary");
        if (props.multiAz !== true) report(`multiAz is ${props.multiAz ?? "unset"}${fix("set multiAz: true")}`);
    }),
};

export const rdsBackupRetention: Rule = {
    name: "rds-backup-retention",
    description:
        'Database backups "Retention: 30 days for daily backups" and "RPO: 1 hour": every primary database keeps automated (point-in-time) backups for 30 days, and so does their cross-region replication (InstanceAutomatedBackupsReplication: AWS\'s default retentionPeriod is 7 days).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { minRetentionDays: { type: "integer", default: DR_PLAN.dbDailyRetentionDays, description: "Least backupRetentionPeriod (and replicated retentionPeriod) in days (AWS allows up to 35)." } },
    },
    validateResource: forTypes([T.dbInstance, T.dbBackupReplication], (props, args, report) => {
        const { minRetentionDays } = settingsOf<{ minRetentionDays: number }>(rdsBackupRetention.configSchema!, args);
        if (args.type === T.dbBackupReplication) {
            // "retention_period - (Optional, Number) The retention period for the replicated automated backups, defaults to 7."
            // (Terraform AWS provider, db_instance_automated_backups_replication; RDS StartDBInstanceAutomatedBackupsReplication BackupRetentionPeriod "Default: 7").
            const kept = props.retentionPeriod;
            if (typeof kept !== "number" || kept < minRetentionDays) report(`retentionPeriod is ${kept ?? "unset (AWS default 7 days)"}, less than ${minRetentionDays}${fix(`set retentionPeriod: ${minRetentionDays}`)}`);
            return;
        }
        primaryOnly(props, args, "automated backups are required of the writable primary");
        const kept = props.backupRetentionPeriod;
        if (typeof kept !== "number" || kept < minRetentionDays) {
            report(`backupRetentionPeriod is ${kept ?? "unset (AWS default 1 day)"}, less than ${minRetentionDays}${fix(`set backupRetentionPeriod: ${minRetentionDays}`)}`);
        }
    }),
};

export const rdsEncrypted: Rule = {
    name: "rds-encrypted",
    description: 'Configuration, "Encrypted storage": every database instance (replicas included) is encrypted at rest.',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.dbInstance, (props, _args, report) => {
        // A replica inherits encryption from its source; a cross-region one names its region's key.
        const key = known(() => props.kmsKeyId);
        const ok = props.storageEncrypted === true || (isReplica(props) && (key === UNKNOWN || (typeof key === "string" && key !== "")));
        if (!ok) report(`storageEncrypted is ${props.storageEncrypted ?? "unset"}${fix("set storageEncrypted: true and kmsKeyId to the region's KMS key")}`);
    }),
};

export const rdsDeletionProtection: Rule = {
    name: "rds-deletion-protection",
    description: "Stateful resources have deletion protection where AWS offers it: every database instance (replicas included).",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.dbInstance, (props, _args, report) => {
        if (props.deletionProtection !== true) report(`deletionProtection is ${props.deletionProtection ?? "unset"}${fix("set deletionProtection: true")}`);
    }),
};

export const rdsFinalSnapshot: Rule = {
    name: "rds-final-snapshot",
    description: "A mistaken delete loses nothing: every primary database takes a final snapshot (skipFinalSnapshot false, finalSnapshotIdentifier set).",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.dbInstance, (props, args, report) => {
        primaryOnly(props, args, "AWS takes no final snapshot of a read replica");
        // The identifier often carries a random suffix (unknown in a preview): unknown still means set.
        const id = known(() => props.finalSnapshotIdentifier);
        if (props.skipFinalSnapshot === true || (id !== UNKNOWN && !id)) {
            report(`skipFinalSnapshot is ${props.skipFinalSnapshot ?? "unset"}, finalSnapshotIdentifier ${id === UNKNOWN ? "(unknown)" : (id ?? "unset")}${fix('set skipFinalSnapshot: false and a finalSnapshotIdentifier unique to this incarnation of the instance, e.g. "<identifier>-final-<random suffix replaced with the instance>" (a delete whose snapshot name is taken fails)')}`);
        }
    }),
};

export const rdsNotPublic: Rule = {
    name: "rds-not-public",
    description: "The database is reachable only from the app tier: no instance is publicly accessible.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.dbInstance, (props, _args, report) => {
        if (props.publiclyAccessible === true) report(`publiclyAccessible is true${fix("set publiclyAccessible: false and place the instance in the data subnets")}`);
    }),
};

export const DATABASE_RULES: Rule[] = [rdsMultiAz, rdsBackupRetention, rdsEncrypted, rdsDeletionProtection, rdsFinalSnapshot, rdsNotPublic];
