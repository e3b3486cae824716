import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALERT_TAG } from "../policies/rules/alerting";
import { PORTS } from "./security-groups";

/**
 * How the site's database comes to exist:
 * - `primary`: a new Multi-AZ primary (the production site).
 * - `replica`: a cross-region read replica of the primary (a standby DR site).
 * - `promoted`: the same replica, promoted to a standalone primary (an active DR site). It is the
 *   SAME resource as `replica` with `replicateSourceDb` removed, which the provider carries out as
 *   an in-place promotion (an update), never a replacement; see {@link RDS_REPLACE_ON_CHANGE}.
 * - `restored`: where there is no replica to promote, a new instance restored from the primary's
 *   automated backups replicated into this region, to the latest restorable time or a given time.
 */
export type DatabaseRole =
    | { kind: "primary"; masterUsername: string; masterPassword: pulumi.Input<string>; databaseName: string }
    | { kind: "replica"; sourceDatabaseArn: pulumi.Input<string> }
    | { kind: "promoted" }
    | { kind: "restored"; automatedBackupsArn: pulumi.Input<string>; restoreTime?: string };

export interface DatabaseArgs {
    role: DatabaseRole;
    /** PostgreSQL version, e.g. "15.10" (ignored by replicas, which follow their source). */
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
    /** Automated backup retention, the point-in-time restore window (7-35 days). */
    backupRetentionDays: number;
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
    protect: boolean;
}

/**
 * Inputs of `aws.rds.Instance` whose change replaces (deletes and recreates) the instance: the
 * Terraform AWS provider's `ForceNew` attributes of `aws_db_instance`. A change of role must touch
 * none of them to be an in-place update.
 */
export const RDS_REPLACE_ON_CHANGE = [
    "availabilityZone",
    "characterSetName",
    "customIamInstanceProfile",
    "dbName",
    "engine",
    "identifier",
    "identifierPrefix",
    "kmsKeyId",
    "ncharCharacterSetName",
    "restoreToPointInTime",
    "s3Import",
    "snapshotIdentifier",
    "storageEncrypted",
    "timezone",
    "username",
] as const;

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
    /** ARN of the automated backups replicated to the DR region (restore source of the DR site). */
    readonly replicatedBackupsArn?: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:database:Database", name, {}, opts);
        const parent = { parent: this };
        const identifier = name;
        const major = args.engineVersion.split(".")[0];

        const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
            subnetIds: args.subnetIds,
            description: `Genie database ${name}: isolated data subnets`,
        }, parent);

        const parameters = new aws.rds.ParameterGroup(`${name}-params`, {
            family: `postgres${major}`,
            description: `Genie database ${name}: TLS only, slow statements logged`,
            parameters: [
                { name: "rds.force_ssl", value: "1" },
                { name: "log_min_duration_statement", value: "500" },
                { name: "log_lock_waits", value: "1" },
            ],
        }, parent);

        // Created before the instance so RDS writes into groups that expire, not into its own that never do.
        const logGroups = ["postgresql", "upgrade"].map(
            (log) =>
                new aws.cloudwatch.LogGroup(`${name}-${log}-logs`, {
                    name: `/aws/rds/instance/${identifier}/${log}`,
                    retentionInDays: args.logRetentionDays,
                    kmsKeyId: args.kmsKeyArn,
                }, parent),
        );

        const monitoringRole = new aws.iam.Role(`${name}-monitoring`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
        }, parent);

        const role = args.role;
        const common = {
            instanceClass: args.instanceClass,
            maxAllocatedStorage: args.maxAllocatedStorageGb,
            storageType: "gp3",
            storageEncrypted: true,
            kmsKeyId: args.kmsKeyArn,
            multiAz: args.multiAz,
            dbSubnetGroupName: subnetGroup.name,
            vpcSecurityGroupIds: [args.securityGroupId],
            port: PORTS.postgres,
            publiclyAccessible: false,
            parameterGroupName: parameters.name,
            backupRetentionPeriod: args.backupRetentionDays,
            backupWindow: "02:00-02:30",
            maintenanceWindow: "sun:04:00-sun:05:00",
            copyTagsToSnapshot: true,
            deletionProtection: true,
            skipFinalSnapshot: false,
            deleteAutomatedBackups: false,
            enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
            performanceInsightsEnabled: true,
            performanceInsightsKmsKeyId: args.kmsKeyArn,
            performanceInsightsRetentionPeriod: 7,
            monitoringInterval: 15,
            monitoringRoleArn: monitoringRole.arn,
            iamDatabaseAuthenticationEnabled: true,
            autoMinorVersionUpgrade: true,
            // Promotion and failover-related changes must not wait for the maintenance window.
            applyImmediately: true,
            tags: { Name: identifier, ...args.backupSelectionTags },
        };
        // The replica and the promoted primary are one resource: only replicateSourceDb and sizing differ.
        const byRole: Partial<aws.rds.InstanceArgs> =
            role.kind === "primary"
                ? { engine: "postgres", engineVersion: args.engineVersion, allocatedStorage: args.allocatedStorageGb, username: role.masterUsername, password: role.masterPassword, dbName: role.databaseName }
                : role.kind === "replica"
                  ? { replicateSourceDb: role.sourceDatabaseArn }
                  : role.kind === "promoted"
                    ? {}
                    : {
                          engine: "postgres",
                          engineVersion: args.engineVersion,
                          restoreToPointInTime: {
                              sourceDbInstanceAutomatedBackupsArn: role.automatedBackupsArn,
                              ...(role.restoreTime ? { restoreTime: role.restoreTime } : { useLatestRestorableTime: true }),
                          },
                      };
        const instance = new aws.rds.Instance(`${name}-instance`, {
            identifier,
            finalSnapshotIdentifier: `${identifier}-final`,
            ...common,
            ...byRole,
        }, { parent: this, protect: args.protect, dependsOn: logGroups });
        this.identifier = instance.identifier;
        this.arn = instance.arn;
        this.address = instance.address;
        this.port = instance.port;

        if (args.inRegionReadReplica) {
            const replica = new aws.rds.Instance(`${name}-read-replica`, {
                identifier: `${identifier}-read`,
                replicateSourceDb: instance.identifier,
                finalSnapshotIdentifier: `${identifier}-read-final`,
                ...common,
                multiAz: false,
                tags: { Name: `${identifier}-read` },
            }, { parent: this, protect: args.protect });
            this.readReplicaIdentifier = replica.identifier;
        }

        if (args.automatedBackupReplication) {
            // Point-in-time restore in the DR region: the automated backups and transaction logs, copied there.
            const replication = new aws.rds.InstanceAutomatedBackupsReplication(`${name}-dr-backups`, {
                sourceDbInstanceArn: instance.arn,
                kmsKeyId: args.automatedBackupReplication.kmsKeyArn,
                retentionPeriod: args.backupRetentionDays,
            }, { parent: this, provider: args.automatedBackupReplication.provider, protect: args.protect });
            this.replicatedBackupsArn = replication.id;
        }

        if (args.eventTopicArn) {
            new aws.rds.EventSubscription(`${name}-events`, {
                snsTopic: args.eventTopicArn,
                sourceType: "db-instance",
                sourceIds: [instance.identifier],
                eventCategories: [...DATABASE_EVENT_CATEGORIES],
                // One of the plan's "Database down" alerts, with the alarm on missing connections.
                tags: { [ALERT_TAG]: "database-down" },
            }, parent);
        }

        this.registerOutputs({ identifier: this.identifier, arn: this.arn, address: this.address, replicatedBackupsArn: this.replicatedBackupsArn });
    }
}
