/**
 * Rules of Amazon RDS (DB instances, read replicas, restores, automated-backup replication) that AWS or
 * the provider enforces at `pulumi up`, or that make a later `pulumi up` fail (see ./types.ts).
 *
 * Provider sources are the doc comments of node_modules/@pulumi/aws/rds/instance.d.ts (the Terraform
 * AWS provider's `aws_db_instance` docs) and the provider's resource code
 * (hashicorp/terraform-provider-aws, internal/service/rds/instance.go).
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, RuleContext } from "./types";
import { present } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const INSTANCE = AWS_TYPES.dbInstance;
const BACKUPS_REPLICATION = AWS_TYPES.dbBackupReplication;
const BACKUP_SELECTION = AWS_TYPES.backupSelection;
const BACKUP_PLAN = AWS_TYPES.backupPlan;

/**
 * Inputs of `aws.rds.Instance` whose change replaces (deletes and recreates) the instance: the
 * attributes of `aws_db_instance` the provider marks `ForceNew`. A change of site role (standby ->
 * active) must touch none of them to be an in-place update. Not in the list, on purpose: the
 * provider only keeps `finalSnapshotIdentifier`, `skipFinalSnapshot` and `deleteAutomatedBackups` in
 * state for the delete (its update skips them: `d.HasChangesExcept(..., "delete_automated_backups",
 * names.AttrFinalSnapshotIdentifier, "replicate_source_db", ..., "skip_final_snapshot", ...)`),
 * removing `replicateSourceDb` promotes in place, and `identifier`/`identifierPrefix` are Optional +
 * Computed without ForceNew in the provider schema (seen in its 2023 and 2026 sources; the update renames:
 * `if d.HasChange(names.AttrIdentifier)` sends ModifyDBInstance NewDBInstanceIdentifier; the file's own
 * note: "identifier" ... "can be updated").
 * `s3Import` is not ForceNew itself, its fields are.
 */
export const RDS_REPLACE_ON_CHANGE = [
    "availabilityZone",
    "backupTarget",
    "characterSetName",
    "customIamInstanceProfile",
    "dbName",
    "engine",
    "kmsKeyId",
    "ncharCharacterSetName",
    "restoreToPointInTime",
    "s3Import",
    "snapshotIdentifier",
    "storageEncrypted",
    "timezone",
    "username",
] as const;

/**
 * Those of {@link RDS_REPLACE_ON_CHANGE} the schema marks Optional + Computed + ForceNew: Read stores
 * AWS's value (`d.Set(names.AttrEngine, v.Engine)`, `d.Set(names.AttrKMSKeyID, v.KmsKeyId)`,
 * `d.Set("db_name", v.DBName)`, `d.Set(names.AttrUsername, v.MasterUsername)`, ...), so declaring one
 * that was left to AWS (a promoted replica declaring `engine`), or no longer declaring it, plans no
 * replacement; two declared values that differ do. `storageEncrypted` is left out: it became Computed
 * only in recent provider versions (Optional + ForceNew before), so a change from unset is kept a change.
 */
export const RDS_COMPUTED_FORCE_NEW = [
    "availabilityZone",
    "backupTarget",
    "characterSetName",
    "dbName",
    "engine",
    "kmsKeyId",
    "ncharCharacterSetName",
    "snapshotIdentifier",
    "timezone",
    "username",
] as const;

/** The source the provider cites for {@link RDS_REPLACE_ON_CHANGE} and {@link RDS_COMPUTED_FORCE_NEW}. */
export const RDS_REPLACE_ON_CHANGE_SOURCE =
    "hashicorp/terraform-provider-aws internal/service/rds/instance.go, resourceInstance schema: ForceNew on availability_zone, backup_target, character_set_name, custom_iam_instance_profile, db_name, engine, kms_key_id, nchar_character_set_name, restore_to_point_in_time, snapshot_identifier, storage_encrypted, timezone, username (all but custom_iam_instance_profile, restore_to_point_in_time and storage_encrypted also Optional + Computed: Read stores AWS's value); identifier is Optional + Computed, renamed in place by the update";

/**
 * Every input of `aws.rds.InstanceAutomatedBackupsReplication` replaces it: the resource has no update
 * (source_db_instance_arn, kms_key_id, retention_period, pre_signed_url are all ForceNew). A replaced
 * replication is a new replicated-backups ARN whose point-in-time window starts again from nothing.
 */
export const BACKUPS_REPLICATION_REPLACE_ON_CHANGE = ["sourceDbInstanceArn", "kmsKeyId", "retentionPeriod", "preSignedUrl"] as const;
/** kms_key_id is Optional + Computed + ForceNew (Read: `d.Set("kms_key_id", backup.KmsKeyId)`). */
export const BACKUPS_REPLICATION_COMPUTED_FORCE_NEW = ["kmsKeyId"] as const;
export const BACKUPS_REPLICATION_REPLACE_ON_CHANGE_SOURCE =
    "hashicorp/terraform-provider-aws internal/service/rds/instance_automated_backups_replication.go: no Update function; kms_key_id (Optional, Computed), pre_signed_url, retention_period and source_db_instance_arn are ForceNew";

const isArn = (v: unknown): v is string => typeof v === "string" && v.startsWith("arn:");
const arnRegion = (arn: string): string | undefined => arn.split(":")[3] || undefined;

/** A read replica: `replicateSourceDb` set. */
export const isReplica = (r: RecordedResource) => typeof r.props.replicateSourceDb === "string" && r.props.replicateSourceDb !== "";

/** A standalone instance whose delete takes a named final snapshot. */
export const takesFinalSnapshot = (r: RecordedResource) => !isReplica(r) && r.props.skipFinalSnapshot !== true && typeof r.props.finalSnapshotIdentifier === "string" && r.props.finalSnapshotIdentifier !== "";

/** A replica in its source's region: the source given by identifier, or by an ARN of the replica's own region. */
export function isSameRegionReplica(r: RecordedResource): boolean {
    if (!isReplica(r)) return false;
    const source: string = r.props.replicateSourceDb;
    return !isArn(source) || (r.region !== undefined && arnRegion(source) === r.region);
}

/** The key a restore from automated backups or a source instance really uses, when the source is declared in `ctx`. */
export function restoreSourceKey(r: RecordedResource, ctx: RuleContext): { source: RecordedResource; kmsKeyId: unknown } | undefined {
    const pitr = r.props.restoreToPointInTime;
    if (!pitr || typeof pitr !== "object") return undefined;
    const backups = ctx.resolve(pitr.sourceDbInstanceAutomatedBackupsArn, BACKUPS_REPLICATION);
    if (backups) return { source: backups, kmsKeyId: backups.props.kmsKeyId };
    const instance = ctx.resolve(pitr.sourceDbInstanceIdentifier, INSTANCE) ?? ctx.ofType(INSTANCE).find((i) => present(pitr.sourceDbiResourceId) && i.outputs.resourceId === pitr.sourceDbiResourceId);
    if (instance) return { source: instance, kmsKeyId: instance.props.kmsKeyId ?? instance.outputs.kmsKeyId };
    return undefined;
}

/** The backup plans whose selections pick `r` (by tag or by ARN), in its region. */
export function selectingPlans(r: RecordedResource, ctx: RuleContext): RecordedResource[] {
    const tags: Record<string, string> = r.props.tags ?? {};
    const arn = r.outputs.arn;
    const plans: RecordedResource[] = [];
    for (const selection of ctx.ofType(BACKUP_SELECTION)) {
        if (selection.region !== r.region) continue;
        const byTag = [...(selection.props.selectionTags ?? []), ...(selection.props.conditions?.stringEquals ?? []).map((c: any) => ({ ...c, type: "STRINGEQUALS" }))];
        const tagMatch = byTag.some((c: any) => String(c.type).toUpperCase() === "STRINGEQUALS" && tags[String(c.key).replace(/^aws:ResourceTag\//, "")] === c.value);
        const arnMatch = (selection.props.resources ?? []).some((x: string) => x === arn || x === "*");
        if (!tagMatch && !arnMatch) continue;
        const plan = ctx.resolve(selection.props.planId, BACKUP_PLAN);
        if (plan) plans.push(plan);
    }
    return plans;
}

const PROVIDER_DOC = "node_modules/@pulumi/aws/rds/instance.d.ts";

export const rules: AwsRule[] = [
    {
        id: "rds-replica-subnet-group-needs-arn",
        types: [INSTANCE],
        source:
            `${PROVIDER_DOC}, replicateSourceDb: "If specifying the \`dbSubnetGroupName\` in the same region, use the \`arn\` of the source DB"; ` +
            "with an identifier AWS answers DBSubnetGroupNotAllowedFault (\"DbSubnetGroupName should not be specified for read replicas that are created in the same region as the master\", hashicorp/terraform-provider-aws#528, fixed for ARNs by #40426)",
        check(r) {
            if (!isReplica(r) || isArn(r.props.replicateSourceDb) || !present(r.props.dbSubnetGroupName)) return undefined;
            return `a read replica with dbSubnetGroupName names its source by identifier (${JSON.stringify(r.props.replicateSourceDb)}); give the source instance's ARN`;
        },
    },
    {
        id: "rds-cross-region-replica-needs-kms-key",
        types: [INSTANCE],
        source: `${PROVIDER_DOC}, replicateSourceDb: "If replicating an Instance in a different region, use the \`arn\` of the source DB. Note that if you are creating a cross-region replica of an encrypted database you will also need to specify a \`kmsKeyId\`"`,
        check(r, ctx) {
            if (!isReplica(r) || isSameRegionReplica(r) || !isArn(r.props.replicateSourceDb) || present(r.props.kmsKeyId)) return undefined;
            const source = ctx.resolve(r.props.replicateSourceDb, INSTANCE);
            const encrypted = source ? source.props.storageEncrypted === true : r.props.storageEncrypted === true;
            return encrypted ? `a cross-region replica of an encrypted database (${r.props.replicateSourceDb}) without kmsKeyId: give a KMS key of ${r.region ?? "its region"}` : undefined;
        },
    },
    {
        id: "rds-same-region-replica-no-kms-key",
        types: [INSTANCE],
        source:
            "AWS RDS API reference, CreateDBInstanceReadReplica, KmsKeyId: \"If you create an encrypted read replica in the same AWS Region as its source DB instance or Multi-AZ DB cluster, don't specify a value for this parameter. A read replica in the same AWS Region is always encrypted with the same KMS key as the source\"; " +
            "with a source ARN the provider then sets SourceRegion and AWS refuses the presigned URL (\"InvalidParameterCombination: Your request does not require the preSignedUrl parameter\", hashicorp/terraform-provider-aws#2386), and a key other than the source's forces a replacement (kms_key_id is ForceNew)",
        check(r) {
            if (!isSameRegionReplica(r) || !present(r.props.kmsKeyId)) return undefined;
            return `a read replica in its source's region declares kmsKeyId ${JSON.stringify(r.props.kmsKeyId)}: leave it out, the replica always uses the source's key`;
        },
    },
    {
        id: "rds-replica-no-final-snapshot",
        types: [INSTANCE],
        source:
            `${PROVIDER_DOC}, finalSnapshotIdentifier: "Must not be provided when deleting a read replica"; AWS RDS API reference, DeleteDBInstance, SkipFinalSnapshot: "Specify true when deleting a read replica"; ` +
            "the provider's delete sends FinalDBSnapshotIdentifier whenever skip_final_snapshot is false, and refuses (\"final_snapshot_identifier is required when skip_final_snapshot is false\") when it has none",
        check(r) {
            if (!isReplica(r)) return undefined;
            if (present(r.props.finalSnapshotIdentifier) || r.props.skipFinalSnapshot !== true) {
                return `a read replica with skipFinalSnapshot ${JSON.stringify(r.props.skipFinalSnapshot ?? "unset (false)")} and finalSnapshotIdentifier ${JSON.stringify(r.props.finalSnapshotIdentifier ?? "unset")}: its delete (promotion undone, site role changed, destroy) fails; set skipFinalSnapshot: true and no finalSnapshotIdentifier`;
            }
            return undefined;
        },
    },
    {
        id: "rds-final-snapshot-needs-identifier",
        types: [INSTANCE],
        source:
            `${PROVIDER_DOC}, finalSnapshotIdentifier: "Must be provided if \`skipFinalSnapshot\` is set to \`false\`. The value must begin with a letter, only contain alphanumeric characters and hyphens, and not end with a hyphen or contain two consecutive hyphens"; skipFinalSnapshot: "Default is \`false\`"`,
        check(r) {
            if (isReplica(r) || r.props.skipFinalSnapshot === true) return undefined;
            const id = r.props.finalSnapshotIdentifier;
            if (!present(id)) return "a standalone instance that takes a final snapshot (skipFinalSnapshot false, the default) has no finalSnapshotIdentifier: its delete fails";
            if (typeof id === "string" && !(/^[A-Za-z][A-Za-z0-9-]*$/.test(id) && !id.includes("--") && !id.endsWith("-") && id.length <= 255)) {
                return `finalSnapshotIdentifier ${JSON.stringify(id)}: must begin with a letter, hold letters, digits and hyphens only, no two consecutive hyphens, not end with one`;
            }
            return undefined;
        },
    },
    {
        id: "rds-final-snapshot-name-unique",
        types: [INSTANCE],
        source:
            "AWS RDS API reference, DeleteDBInstance, FinalDBSnapshotIdentifier: \"The DBSnapshotIdentifier of the new DBSnapshot created when SkipFinalSnapshot is set to false\"; " +
            "its errors: DBSnapshotAlreadyExistsFault, \"DBSnapshotIdentifier is already used by an existing snapshot\" (DB snapshot identifiers are unique per account and region); " +
            "hashicorp/terraform-provider-aws internal/service/rds/instance.go, resourceInstanceDelete: sends final_snapshot_identifier whenever skip_final_snapshot is false",
        check(r, ctx) {
            if (!takesFinalSnapshot(r)) return undefined;
            const name = r.props.finalSnapshotIdentifier;
            const others = ctx.ofType(INSTANCE).filter((x) => x.urn !== r.urn && x.region === r.region && takesFinalSnapshot(x) && x.props.finalSnapshotIdentifier === name);
            if (others.length === 0) return undefined;
            return `finalSnapshotIdentifier ${JSON.stringify(name)} is also the final snapshot of ${others.map((x) => x.name).join(", ")} in ${r.region ?? "the same region"}: whichever is deleted second fails (DBSnapshotAlreadyExists); name the final snapshot per instance and incarnation`;
        },
    },
    {
        id: "rds-engine-version-major-with-auto-minor-upgrade",
        types: [INSTANCE],
        source:
            `${PROVIDER_DOC}, engineVersion: "If \`autoMinorVersionUpgrade\` is enabled, you can provide a prefix of the version such as \`8.0\` (for \`8.0.36\`)"; autoMinorVersionUpgrade defaults to true; ` +
            "RDS deprecates minor versions for new instances and upgrades running ones (Amazon RDS for PostgreSQL release calendar): a pinned minor fails the create once retired and, once upgraded, asks for a downgrade RDS refuses",
        check(r) {
            const engine = String(r.props.engine ?? "").toLowerCase();
            const version = r.props.engineVersion;
            if (engine !== "postgres" || typeof version !== "string" || r.props.autoMinorVersionUpgrade === false) return undefined;
            // PostgreSQL 10 and later: "<major>.<minor>"; the major alone lets RDS choose and upgrade the minor.
            const m = /^(\d+)\.\d+/.exec(version);
            if (!m || Number(m[1]) < 10) return undefined;
            return `engineVersion ${JSON.stringify(version)} pins a minor version while autoMinorVersionUpgrade is on: give the major version only (${JSON.stringify(m[1])})`;
        },
    },
    {
        id: "rds-replica-source-needs-backups",
        types: [INSTANCE],
        source:
            `${PROVIDER_DOC}, backupRetentionPeriod: "Default is \`0\`. Must be greater than \`0\` if the database is used as a source for a Read Replica"; ` +
            "automated-backup replication copies the source's automated backups, which a retention of 0 disables (AWS RDS User Guide, \"Backup retention period\": \"Setting the backup retention period to 0 disables automated backups\")",
        check(r, ctx) {
            if (Number(r.props.backupRetentionPeriod) > 0) return undefined;
            const refs = [r.outputs.arn, r.outputs.identifier, r.props.identifier].filter(present);
            const replicas = ctx.ofType(INSTANCE).filter((x) => x !== r && refs.includes(x.props.replicateSourceDb));
            const replications = ctx.ofType(BACKUPS_REPLICATION).filter((x) => refs.includes(x.props.sourceDbInstanceArn));
            const users = [...replicas, ...replications].map((x) => x.name);
            if (users.length === 0) return undefined;
            return `backupRetentionPeriod is ${JSON.stringify(r.props.backupRetentionPeriod ?? "unset (0)")} but ${users.join(", ")} replicate${users.length === 1 ? "s" : ""} it: set a retention of 1 to 35 days`;
        },
    },
    {
        id: "rds-restore-keeps-source-key",
        types: [INSTANCE],
        source:
            "AWS RDS API reference, RestoreDBInstanceToPointInTime: the request has no KmsKeyId (the restored instance keeps the key of the source's automated backups, for replicated backups the key given to StartDBInstanceAutomatedBackupsReplication: \"The AWS KMS key identifier for encryption of the replicated automated backups\"); " +
            `${PROVIDER_DOC}: kmsKeyId forces a new resource (ForceNew), so a declared key other than the one the restore used replaces the restored database on the next pulumi up`,
        check(r, ctx) {
            if (!present(r.props.kmsKeyId)) return undefined;
            const found = restoreSourceKey(r, ctx);
            if (!found || !present(found.kmsKeyId) || found.kmsKeyId === r.props.kmsKeyId) return undefined;
            return `restored from ${found.source.name}, encrypted with ${JSON.stringify(found.kmsKeyId)}, but declares kmsKeyId ${JSON.stringify(r.props.kmsKeyId)}: the restore keeps the backups' key, and the next pulumi up would replace the database; declare the backups' key`;
        },
    },
    {
        id: "rds-backup-settings-owned-by-aws-backup",
        types: [INSTANCE],
        source:
            "AWS Backup Developer Guide, Amazon RDS backups (https://docs.aws.amazon.com/aws-backup/latest/devguide/rds-backup.html): \"When you enable continuous backup in AWS Backup, AWS Backup takes over control of automated backups from Amazon RDS ... You can no longer change the backup start time (preferred backup window) or retention using the Amazon RDS or Aurora console or APIs\"",
        check(r, ctx) {
            const continuous = selectingPlans(r, ctx).filter((p) => (p.props.rules ?? []).some((rule: any) => rule.enableContinuousBackup === true));
            if (continuous.length === 0) return undefined;
            const owned = ["backupWindow", "backupRetentionPeriod"].filter((k) => present(r.props[k]) && !r.opts.ignoreChanges.includes(k));
            if (owned.length === 0) return undefined;
            return `the continuous-backup rule of ${continuous.map((p) => p.name).join(", ")} owns this instance's ${owned.join(" and ")}, which it declares without ignoreChanges: pulumi up --refresh shows drift and the update back is refused; ignore them (or leave them out)`;
        },
    },
];
