// Over 300 lines on purpose: one component, four ways the site's database comes to exist (primary,
// replica, promoted, restored: below) that share every setting; split, the ways would drift apart.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ALERT_TAG } from "../policies/rules/alerting";
import { StatefulLifecycle } from "./lifecycle";
import { PORTS } from "./security-groups";
import { severityTags } from "./severity";
import { serviceTrustPolicy } from "./iam";

/**
 * How the site's database comes to exist:
 * - `primary`: a new Multi-AZ primary (the production site).
 * - `replica`: a cross-region read replica of the primary (a standby DR site).
 * - `promoted`: the same replica, promoted to a standalone primary (an active DR site). It is the
 *   SAME resource as `replica` with `replicateSourceDb` removed, which the provider carries out as
 *   an in-place promotion (an update), never a replacement: the inputs that would replace it are
 *   `RDS_REPLACE_ON_CHANGE` in offline/aws-rules/rds.ts, and none of them differs between the two.
 *   What does differ besides the source and the size: a replica takes no final snapshot, a
 *   standalone instance does (`skipFinalSnapshot`/`finalSnapshotIdentifier`, which the provider
 *   only keeps in state for the delete: an update without an API call). The final snapshot's name
 *   is `<identifier>-final-<suffix>`, the suffix a `random.RandomId` whose keepers are what makes a
 *   new incarnation of the instance (the role, the key, the restore source): the promoted replica,
 *   the instance restored after it, the next cycle's promoted replica and a replaced primary each
 *   leave a snapshot of their own, since a delete whose name is taken fails (DBSnapshotAlreadyExists).
 * - `restored`: where there is no replica to promote, a new instance restored from the primary's
 *   automated backups replicated into this region, to the latest restorable time or a given time.
 *   It is encrypted with the key of those backups (RestoreDBInstanceToPointInTime takes no key), so
 *   that is the key it declares: `backupsKmsKeyArn`.
 *
 * The way back (active -> standby) is not an update: the provider refuses to set `replicateSourceDb`
 * on a standalone instance ("cannot elect new source database for replication"). It is a new
 * generation instead (`generation`): generation N is its own instance `<name>-gN` (logical and AWS
 * name), created as a new replica, while the promoted or restored instance of the generation before
 * leaves the program. That instance is declared `retainOnDelete` as soon as it serves (promoted or
 * restored), so leaving the stack never deletes it: it stays in AWS, with its log groups, until the
 * operator has checked the new replica and deletes it with a final snapshot (docs/operations.md:
 * Failback, step 5). Its `protect` must be lifted first (`pulumi state unprotect`): Pulumi refuses to drop a
 * protected resource even when it retains it, and `checkTransition` models that refusal.
 */
export type DatabaseRole =
    | { kind: "primary"; masterUsername: string; masterPassword: pulumi.Input<string>; databaseName: string }
    | { kind: "replica"; sourceDatabaseArn: pulumi.Input<string> }
    | { kind: "promoted" }
    | {
          kind: "restored";
          automatedBackupsArn: pulumi.Input<string>;
          restoreTime?: string;
          /** The KMS key (in this region) that encrypts those replicated backups: the restored instance keeps it. */
          backupsKmsKeyArn: pulumi.Input<string>;
      };

export interface DatabaseArgs {
    role: DatabaseRole;
    /**
     * PostgreSQL major version, e.g. "15": with `autoMinorVersionUpgrade` RDS creates the newest minor
     * version it offers and upgrades it in the maintenance window (ignored by replicas, which follow
     * their source).
     */
    engineVersion: string;
    instanceClass: string;
    allocatedStorageGb: number;
    /** Storage autoscaling ceiling. */
    maxAllocatedStorageGb: number;
    /** Standby in another zone with automatic failover (60-120 s, AWS's figure). */
    multiAz: boolean;
    /** The isolated data subnets. */
    subnetIds: pulumi.Input<string>[];
    /** The database tier's security group (admits the app group only). */
    securityGroupId: pulumi.Input<string>;
    /** The region's customer-managed key: storage, Performance Insights, log groups. */
    kmsKeyArn: pulumi.Input<string>;
    /** Automated backup retention, the point-in-time restore window (1-35 days; at least 1 for a replica's source). */
    backupRetentionDays: number;
    /**
     * An AWS Backup plan with a continuous-backup rule selects this database (by the tags below): once
     * it does, AWS Backup owns the instance's backup window and retention ("You can no longer change the
     * backup start time (preferred backup window) or retention using the Amazon RDS ... APIs", AWS Backup
     * Developer Guide, rds-backup.html). They are still declared, because the create needs them (a
     * retention of 0 disables automated backups, and with them the replicas and the backup replication),
     * and then ignored: no drift on refresh, no ModifyDBInstance that RDS refuses.
     */
    awsBackupOwnsAutomatedBackups: boolean;
    /** Days the exported PostgreSQL logs are kept. */
    logRetentionDays: number;
    /** Also build an in-region read replica (read scaling; a fallback if the primary's storage fails). */
    inRegionReadReplica: boolean;
    /** Tags that put the database into the AWS Backup plan's selection. */
    backupSelectionTags: Record<string, string>;
    /** Replicate the automated backups (point-in-time restore) to another region; the primary site only. */
    automatedBackupReplication?: {
        provider: aws.Provider;
        /** The destination region's key. */
        kmsKeyArn: pulumi.Input<string>;
    };
    /** SNS topic for RDS events (availability, failover, failure, low storage). */
    eventTopicArn?: pulumi.Input<string>;
    /**
     * How the instances end (components/lifecycle.ts): protected, with deletion protection, a final
     * snapshot and their automated backups kept; or, on an ephemeral stack, deleted with nothing left.
     */
    lifecycle: StatefulLifecycle;
    /**
     * The incarnation of the site's instance, from 1 (see {@link DatabaseRole}): generation 1 is `<name>`,
     * generation N is `<name>-gN`, each a resource of its own, so a new replica can be created while the
     * instance it follows stays in AWS.
     */
    generation?: number;
}

/** The instance's name (AWS identifier and logical name stem) for a generation: `<name>`, then `<name>-gN`. */
export function databaseIdentifier(name: string, generation = 1): string {
    if (!Number.isInteger(generation) || generation < 1) throw new Error(`database ${name}: generation must be a whole number from 1, got ${generation}`);
    return generation === 1 ? name : `${name}-g${generation}`;
}

/**
 * The instance inputs AWS Backup takes over once a continuous-backup rule selects the database: "You can
 * no longer change the backup start time (preferred backup window) or retention using the Amazon RDS or
 * Aurora console or APIs" (https://docs.aws.amazon.com/aws-backup/latest/devguide/rds-backup.html).
 */
export const AWS_BACKUP_OWNED_INPUTS = ["backupWindow", "backupRetentionPeriod"] as const;

/** RDS events that page: the plan's "Database down" and the storage running out. */
export const DATABASE_EVENT_CATEGORIES = ["availability", "failover", "failure", "low storage"] as const;

/**
 * The site's PostgreSQL on RDS: encrypted with the region's key, in the isolated data subnets,
 * reachable only from the app group, never public; deletion protection, a final snapshot and kept
 * automated backups on delete; storage autoscaling; TLS forced and slow statements logged; logs
 * exported to CloudWatch and kept; Performance Insights, enhanced monitoring, IAM authentication.
 */
export class Database extends pulumi.ComponentResource {
    readonly identifier: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    readonly address: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly readReplicaIdentifier?: pulumi.Output<string>;
    /** The DB subnet group (the isolated data subnets): where restore tests restore into. */
    readonly subnetGroupName: pulumi.Output<string>;
    /** ARN of the automated backups replicated to the DR region (restore source of the DR site). */
    readonly replicatedBackupsArn?: pulumi.Output<string>;
    /** The DR-region key those replicated backups are encrypted with: a database restored from them keeps it. */
    readonly replicatedBackupsKmsKeyArn?: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:database:Database", name, {}, opts);
        const parent = { parent: this };
        const identifier = databaseIdentifier(name, args.generation);
        // The resources that belong to one instance (not to the site's database as a whole) are named
        // after the generation: a new generation creates its own and leaves the old ones to the old instance.
        const perInstance = (logical: string) => (identifier === name ? logical : `${logical}-g${args.generation}`);
        // An instance that serves (promoted or restored) is kept in AWS when it leaves the program: the way
        // back to standby drops it from the stack, and only the operator deletes it (with a final snapshot).
        const retainOnDelete = (args.role.kind === "promoted" || args.role.kind === "restored") && args.lifecycle.retainOnDelete;
        const protect = args.lifecycle.protect;
        const major = args.engineVersion.split(".")[0];

        const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
            subnetIds: args.subnetIds,
            description: `Genie database ${name}: isolated data subnets`,
        }, parent);
        this.subnetGroupName = subnetGroup.name;

        const parameters = new aws.rds.ParameterGroup(`${name}-params`, {
            family: `postgres${major}`,
            description: `Genie database ${name}: TLS only, slow statements logged`,
            parameters: [
                { name: "rds.force_ssl", value: "1" },
                { name: "log_min_duration_statement", value: "500" },
                { name: "log_lock_waits", value: "1" },
            ],
        }, parent);

        // Created before an instance so RDS writes into groups that expire, not into its own that never do
        // (every instance exporting logs, the read replica too: `/aws/rds/instance/<its identifier>/<log>`).
        const exportedLogs = ["postgresql", "upgrade"];
        const logGroupsOf = (instanceIdentifier: string, logicalStem: string) =>
            exportedLogs.map(
                (log) =>
                    new aws.cloudwatch.LogGroup(perInstance(`${logicalStem}-${log}-logs`), {
                        name: `/aws/rds/instance/${instanceIdentifier}/${log}`,
                        retentionInDays: args.logRetentionDays,
                        kmsKeyId: args.kmsKeyArn,
                    }, { parent: this, retainOnDelete }),
            );
        const logGroups = logGroupsOf(identifier, name);

        const monitoringRole = new aws.iam.Role(`${name}-monitoring`, {
            assumeRolePolicy: serviceTrustPolicy("monitoring.rds.amazonaws.com"),
            managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
        }, parent);

        const role = args.role;
        // What every instance of the site shares, replicas included.
        const common = {
            instanceClass: args.instanceClass,
            maxAllocatedStorage: args.maxAllocatedStorageGb,
            storageType: "gp3",
            storageEncrypted: true,
            multiAz: args.multiAz,
            dbSubnetGroupName: subnetGroup.name,
            vpcSecurityGroupIds: [args.securityGroupId],
            port: PORTS.postgres,
            publiclyAccessible: false,
            parameterGroupName: parameters.name,
            // Needed at create (0 disables automated backups, which a replica's source and the backup
            // replication require); once AWS Backup's continuous rule owns them they are ignored (below).
            backupRetentionPeriod: args.backupRetentionDays,
            backupWindow: "02:00-02:30",
            maintenanceWindow: "sun:04:00-sun:05:00",
            copyTagsToSnapshot: true,
            deletionProtection: args.lifecycle.deletionProtection,
            // Kept with the final snapshot (point-in-time restore of a deleted instance); an ephemeral stack keeps neither.
            deleteAutomatedBackups: !args.lifecycle.finalSnapshot,
            enabledCloudwatchLogsExports: exportedLogs,
            performanceInsightsEnabled: true,
            performanceInsightsKmsKeyId: args.kmsKeyArn,
            performanceInsightsRetentionPeriod: 7,
            monitoringInterval: 15,
            monitoringRoleArn: monitoringRole.arn,
            iamDatabaseAuthenticationEnabled: true,
            autoMinorVersionUpgrade: true,
            // Promotion and failover-related changes must not wait for the maintenance window.
            applyImmediately: true,
        };
        // A standalone instance takes a final snapshot when deleted. A read replica must not: the
        // provider doc on finalSnapshotIdentifier, "Must not be provided when deleting a read replica"
        // (and with skipFinalSnapshot false and no identifier the provider refuses the delete itself).
        //
        // The snapshot's name is unique per incarnation of the instance: DB snapshot names are unique per
        // account and region, and DeleteDBInstance fails when FinalDBSnapshotIdentifier is taken
        // (DBSnapshotAlreadyExistsFault, "DBSnapshotIdentifier is already used by an existing snapshot",
        // AWS RDS API reference). One fixed "<identifier>-final" made the second delete of genie-dr-db (the
        // next failover/failback cycle's promoted replica, or the instance restored after it) fail, as it did
        // a primary replaced by Pulumi (a new key). The suffix is a RandomId whose keepers are the inputs that make a new instance
        // (the role, and the ForceNew inputs this component declares: identifier, key, engine, user, database,
        // restore source): it is replaced, with new random bytes, exactly when they change. A changed name
        // costs no API call: the provider's update skips it (resourceInstanceUpdate: d.HasChangesExcept(...,
        // names.AttrFinalSnapshotIdentifier, ..., "skip_final_snapshot", ...), hashicorp/terraform-provider-aws
        // internal/service/rds/instance.go). A replica has none: the next promotion draws a new one.
        const finalSnapshotName = (keepers: Record<string, pulumi.Input<string>>): Partial<aws.rds.InstanceArgs> => {
            // An ephemeral stack's instance leaves no snapshot behind (components/lifecycle.ts).
            if (!args.lifecycle.finalSnapshot) return { skipFinalSnapshot: true };
            const suffix = new random.RandomId(`${name}-final-snapshot-suffix`, { byteLength: 4, keepers: { role: role.kind, identifier, ...keepers } }, { parent: this, protect: false });
            return { skipFinalSnapshot: false, finalSnapshotIdentifier: pulumi.interpolate`${identifier}-final-${suffix.hex}` };
        };
        const replicaDelete = { skipFinalSnapshot: true };
        // The replica and the promoted primary are one resource: only replicateSourceDb, the final
        // snapshot settings and sizing differ, none of which replaces it.
        const byRole: Partial<aws.rds.InstanceArgs> =
            role.kind === "primary"
                ? {
                      engine: "postgres",
                      engineVersion: args.engineVersion,
                      allocatedStorage: args.allocatedStorageGb,
                      username: role.masterUsername,
                      password: role.masterPassword,
                      dbName: role.databaseName,
                      kmsKeyId: args.kmsKeyArn,
                      ...finalSnapshotName({ engine: "postgres", username: role.masterUsername, dbName: role.databaseName, kmsKeyId: args.kmsKeyArn }),
                  }
                : role.kind === "replica"
                  ? // Cross-region: the source's ARN, and this region's key (the provider doc: "if you are
                    // creating a cross-region replica of an encrypted database you will also need to specify a kmsKeyId").
                    { replicateSourceDb: role.sourceDatabaseArn, kmsKeyId: args.kmsKeyArn, ...replicaDelete }
                  : role.kind === "promoted"
                    ? { kmsKeyId: args.kmsKeyArn, ...finalSnapshotName({ kmsKeyId: args.kmsKeyArn }) }
                    : {
                          engine: "postgres",
                          engineVersion: args.engineVersion,
                          // The key of the replicated backups: the restore keeps it, and kmsKeyId forces a replacement.
                          kmsKeyId: role.backupsKmsKeyArn,
                          restoreToPointInTime: {
                              sourceDbInstanceAutomatedBackupsArn: role.automatedBackupsArn,
                              ...(role.restoreTime ? { restoreTime: role.restoreTime } : { useLatestRestorableTime: true }),
                          },
                          ...finalSnapshotName({
                              engine: "postgres",
                              kmsKeyId: role.backupsKmsKeyArn,
                              restoreFrom: role.automatedBackupsArn,
                              restoreTo: role.restoreTime ?? "latest-restorable-time",
                          }),
                      };
        const instance = new aws.rds.Instance(perInstance(`${name}-instance`), {
            identifier,
            ...common,
            ...byRole,
            tags: { Name: identifier, ...args.backupSelectionTags },
        }, {
            parent: this,
            protect,
            retainOnDelete,
            dependsOn: logGroups,
            ignoreChanges: args.awsBackupOwnsAutomatedBackups ? [...AWS_BACKUP_OWNED_INPUTS] : undefined,
        });
        this.identifier = instance.identifier;
        this.arn = instance.arn;
        this.address = instance.address;
        this.port = instance.port;

        if (args.inRegionReadReplica) {
            const replicaIdentifier = `${identifier}-read`;
            const replicaLogGroups = logGroupsOf(replicaIdentifier, `${name}-read-replica`);
            const replica = new aws.rds.Instance(perInstance(`${name}-read-replica`), {
                identifier: replicaIdentifier,
                ...common,
                // A same-region replica given a subnet group needs its source's ARN (the provider doc on
                // replicateSourceDb: "If specifying the dbSubnetGroupName in the same region, use the arn";
                // AWS otherwise answers DBSubnetGroupNotAllowedFault). No kmsKeyId: "A read replica in the
                // same AWS Region is always encrypted with the same KMS key as the source DB instance"
                // (CreateDBInstanceReadReplica, KmsKeyId: "don't specify a value for this parameter").
                // AWS reports a same-region source by identifier (ReadReplicaSourceDBInstanceIdentifier,
                // hashicorp/terraform-provider-aws#2399); the provider's Read keeps the ARN it was given ("if the
                // replica is in the same region, it always returns the identifier. Store the ARN if the ARN was
                // originally set", resourceInstanceRead) and suppresses identifier-vs-ARN diffs
                // (instanceReplicateSourceDBSuppressDiff, DiffSuppressOnRefresh), so neither refresh nor the next
                // pulumi up plans a change of source ("cannot elect new source database"): no ignoreChanges needed.
                replicateSourceDb: instance.arn,
                ...replicaDelete,
                multiAz: false,
                // No backup-plan tags: the plan backs up the primary, not its copy.
                tags: { Name: replicaIdentifier },
            }, { parent: this, protect, dependsOn: replicaLogGroups });
            this.readReplicaIdentifier = replica.identifier;
        }

        if (args.automatedBackupReplication) {
            // Point-in-time restore in the DR region: the automated backups and transaction logs, copied there.
            const replication = new aws.rds.InstanceAutomatedBackupsReplication(`${name}-dr-backups`, {
                sourceDbInstanceArn: instance.arn,
                kmsKeyId: args.automatedBackupReplication.kmsKeyArn,
                retentionPeriod: args.backupRetentionDays,
            }, { parent: this, provider: args.automatedBackupReplication.provider, protect });
            this.replicatedBackupsArn = replication.id;
            this.replicatedBackupsKmsKeyArn = pulumi.output(args.automatedBackupReplication.kmsKeyArn);
        }

        if (args.eventTopicArn) {
            new aws.rds.EventSubscription(`${name}-events`, {
                snsTopic: args.eventTopicArn,
                sourceType: "db-instance",
                sourceIds: [instance.identifier],
                eventCategories: [...DATABASE_EVENT_CATEGORIES],
                // One of the plan's "Database down" alerts, with the alarm on missing connections.
                tags: { [ALERT_TAG]: "database-down", ...severityTags("db-events") },
            }, parent);
        }

        this.registerOutputs({
            identifier: this.identifier,
            arn: this.arn,
            address: this.address,
            subnetGroupName: this.subnetGroupName,
            replicatedBackupsArn: this.replicatedBackupsArn,
            replicatedBackupsKmsKeyArn: this.replicatedBackupsKmsKeyArn,
        });
    }
}
