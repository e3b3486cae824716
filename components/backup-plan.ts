import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StatefulLifecycle } from "./lifecycle";
import { serviceTrustPolicy } from "./iam";

/**
 * The tag that puts a resource under a site's backup plan: the database carries
 * `{ [BACKUP_SELECTION_TAG_KEY]: backupSelectionTagValue(site) }` and the plan's selection picks it up.
 */
export const BACKUP_SELECTION_TAG_KEY = "backup-plan";
export function backupSelectionTagValue(site: string): string {
    return `genie-${site}`;
}

/** When the weekly backup runs: Sundays 05:00 UTC. */
export const WEEKLY_BACKUP_SCHEDULE = "cron(0 5 ? * SUN *)";
/** AWS Backup: `delete_after` must be at least 90 days after `cold_storage_after`. */
export const COLD_STORAGE_MIN_DAYS = 90;
/**
 * AWS Backup keeps continuous (point-in-time) backups at least 1 and at most 35 days: "The minimum
 * retention period is 1 day. The maximum retention period is 35 days."
 */
export const CONTINUOUS_BACKUP_MAX_DAYS = 35;
/** Compliance-mode Vault Lock: the grace period before the lock becomes immutable (AWS minimum 3). */
export const VAULT_LOCK_GRACE_DAYS = 3;

/**
 * Vault events sent to the vault's alert topic: the supported events that only ever report a problem.
 * PutBackupVaultNotifications: "The following events are supported: BACKUP_JOB_STARTED |
 * BACKUP_JOB_COMPLETED, COPY_JOB_STARTED | COPY_JOB_SUCCESSFUL | COPY_JOB_FAILED, RESTORE_JOB_STARTED |
 * RESTORE_JOB_COMPLETED | RECOVERY_POINT_MODIFIED, S3_BACKUP_OBJECT_FAILED | S3_RESTORE_OBJECT_FAILED";
 * BACKUP_JOB_FAILED, RESTORE_JOB_FAILED and the other values of the enum are deprecated: "Deprecated
 * events do not return statuses or notifications".
 *
 * - RECOVERY_POINT_MODIFIED: a recovery point's lifecycle (retention, cold storage) was changed. Only
 *   the vault notifications report it: EventBridge's "Recovery Point State Change" carries the states
 *   COMPLETED, PARTIAL, DELETING, EXPIRED, AVAILABLE, STOPPED and CREATING, none of them a modification
 *   (AWS Backup developer guide, "Monitoring AWS Backup events using Amazon EventBridge").
 * - COPY_JOB_FAILED: a copy to the other region's vault failed (EventBridge's Copy Job State Change
 *   FAILED reports it too, with the reason: the two may both arrive).
 * - S3_BACKUP_OBJECT_FAILED, S3_RESTORE_OBJECT_FAILED: never sent today (no S3 backups), a failure
 *   if they ever are.
 * Not BACKUP_JOB_COMPLETED or RESTORE_JOB_COMPLETED: they carry the successes too (a failure is a
 * `State` message attribute other than COMPLETED), and on an alert topic would page every six hours
 * unless every subscription filtered them, which an AWS Chatbot subscription cannot
 * (terraform-provider-aws#42752). Failed backup and restore jobs (restore tests included) reach the
 * alert topics through EventBridge (components/monitoring.ts).
 */
export const VAULT_ALERT_EVENTS = ["COPY_JOB_FAILED", "RECOVERY_POINT_MODIFIED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED"] as const;

/**
 * `compliance`: once the grace days pass, nobody (root, an attacker with admin rights, AWS support)
 * can shorten retention, delete a recovery point before its retention ends, delete the vault while
 * it holds one, or remove the lock. `governance`: the same rules, but a principal allowed
 * `backup:DeleteBackupVaultLockConfiguration` can lift them (for test accounts).
 */
export type VaultLockMode = "compliance" | "governance";

export interface BackupVaultArgs {
    /** The vault region's customer-managed KMS key. */
    kmsKeyArn: pulumi.Input<string>;
    lock: {
        mode: VaultLockMode;
        /** No recovery point can be kept less (the plan's daily retention). */
        minRetentionDays: number;
        /** No recovery point can be kept longer (above the weekly retention). */
        maxRetentionDays: number;
    };
    /** How the vault ends (components/lifecycle.ts): protected and retained, or deleted with its recovery points. */
    lifecycle: StatefulLifecycle;
}

/**
 * An AWS Backup vault encrypted with its region's key, under Vault Lock. Its notifications go to an alert
 * topic of its own region once the caller names one ({@link BackupVault.sendAlertsTo}): the topics come
 * later in a stack than the vaults. Protected and retained on delete.
 */
export class BackupVault extends pulumi.ComponentResource {
    readonly vaultName: pulumi.Output<string>;
    readonly vaultArn: pulumi.Output<string>;
    private readonly componentName: string;

    constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:Vault", name, {}, opts);
        this.componentName = name;
        const { mode, minRetentionDays, maxRetentionDays } = args.lock;
        if (maxRetentionDays <= minRetentionDays) {
            throw new Error(`BackupVault ${name}: lock maxRetentionDays (${maxRetentionDays}) must exceed minRetentionDays (${minRetentionDays})`);
        }
        const vault = new aws.backup.Vault(`${name}-vault`, {
            name: name,
            kmsKeyArn: args.kmsKeyArn,
            // True on an ephemeral stack only: the provider deletes the vault's recovery points first
            // (terraform-provider-aws, aws_backup_vault force_destroy).
            forceDestroy: args.lifecycle.forceDestroy,
        }, { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete });
        this.vaultName = vault.name;
        this.vaultArn = vault.arn;

        // Compliance mode is the default: the point of the lock is that a compromised account (or a
        // mistaken `pulumi destroy`) cannot delete recovery points early, and governance mode can be
        // lifted by any principal with the right IAM permission. The grace days let a wrong lock be
        // fixed right after the first deployment; after them, the lock is immutable. The minimum
        // comes from the plan (not from config) so tightening config later never needs a lock change.
        new aws.backup.VaultLockConfiguration(`${name}-lock`, {
            backupVaultName: vault.name,
            minRetentionDays,
            maxRetentionDays,
            changeableForDays: mode === "compliance" ? VAULT_LOCK_GRACE_DAYS : undefined,
        }, { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete });

        this.registerOutputs({ vaultName: this.vaultName, vaultArn: this.vaultArn });
    }

    /**
     * Sends the vault's {@link VAULT_ALERT_EVENTS} to `topicArn`: a topic of the vault's own region that
     * somebody subscribes to, whose access policy lets `backup.amazonaws.com` publish (AWS Backup
     * developer guide, "Notification options with AWS Backup": "To allow AWS Backup to publish SNS
     * topics on your behalf, you must specify AWS Backup as a service principal") and, if encrypted,
     * whose key lets it use the key (components/keys.ts). A vault has one notification configuration,
     * and every input of the resource forces a replacement (terraform-provider-aws
     * internal/service/backup/vault_notifications.go: all ForceNew, the id is the vault's name, Delete
     * is DeleteBackupVaultNotifications of the vault): replaced create-first, the old one's delete would
     * remove the new configuration. So it is replaced delete-first.
     */
    sendAlertsTo(topicArn: pulumi.Input<string>): aws.backup.VaultNotifications {
        return new aws.backup.VaultNotifications(`${this.componentName}-notifications`, {
            backupVaultName: this.vaultName,
            snsTopicArn: topicArn,
            backupVaultEvents: [...VAULT_ALERT_EVENTS],
        }, { parent: this, deleteBeforeReplace: true });
    }
}

export interface BackupPlanArgs {
    /** The vault the rules back up into (same region). */
    vaultName: pulumi.Input<string>;
    /** The vault in the DR region the snapshot rules copy their recovery points to. None: no copies. */
    copyVaultArn?: pulumi.Input<string>;
    /** Hours between snapshots: a divisor of 24 (the plan's 6). */
    intervalHours: number;
    /** Days the regular snapshots are kept (the plan's 30). */
    dailyRetentionDays: number;
    /** Days the weekly snapshots are kept (the plan's 365). */
    weeklyRetentionDays: number;
    /** Weekly backups move to cold storage after this many days, where the resource type supports it. */
    weeklyColdStorageAfterDays?: number;
    /**
     * Days of point-in-time recovery the continuous rule keeps (AWS Backup: 1 to 35). AWS Backup then
     * owns the database's automated-backup retention, so this is the database's point-in-time window.
     */
    continuousRetentionDays: number;
    /** Tag that selects the resources (the database) to back up. */
    selectionTag: { key: string; value: string };
    /**
     * The selection's role when the stack declares it outside the plan ({@link backupSelectionRole}):
     * the DR site declares its roles whatever its role, so that a failover run creates no IAM resource
     * (IAM's control plane is in us-east-1). None: the plan declares its own (the primary site).
     */
    role?: PrebuiltRole;
}

/** A role declared before the component that uses it: its ARN and what must exist before it is used. */
export interface PrebuiltRole {
    arn: pulumi.Input<string>;
    /** Its policies and attachments: the users of the role wait for them. */
    dependsOn: pulumi.Resource[];
}

/**
 * The role AWS Backup assumes for the selection `<name>-by-tag`: `<name>-role`, trusted by
 * backup.amazonaws.com, with AWS Backup's service-role policies for backups and restores (the backup
 * policy holds `rds:DeleteDBSnapshot` on AWS Backup's snapshots, which expiring recovery points and
 * copies need). Nothing in it depends on the plan or the vault, so a DR site can declare it while standby.
 */
export function backupSelectionRole(name: string, opts: pulumi.CustomResourceOptions): PrebuiltRole {
    const role = new aws.iam.Role(`${name}-role`, {
        assumeRolePolicy: serviceTrustPolicy("backup.amazonaws.com"),
    }, opts);
    const attachments = ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"].map((policy) =>
        new aws.iam.RolePolicyAttachment(`${name}-${policy}`, {
            role: role.name,
            policyArn: `arn:aws:iam::aws:policy/service-role/${policy}`,
        }, opts));
    return { arn: role.arn, dependsOn: attachments };
}

/** The schedule of a backup every `hours` hours, starting at midnight UTC. */
export function everyHoursSchedule(hours: number): string {
    if (!Number.isInteger(hours) || hours < 1 || 24 % hours !== 0) throw new Error(`backup interval must divide 24, got ${hours}`);
    return hours === 24 ? "cron(0 0 * * ? *)" : `cron(0 0/${hours} * * ? *)`;
}

/**
 * When the continuous rule runs: daily, 03:00 UTC. It makes no snapshot; AWS Backup uses the schedule
 * "for maintenance and syncing purposes" ("A backup frequency rule for a continuous backup is not the
 * same as a periodic backup snapshot", AWS Backup Developer Guide, point-in-time-recovery-retention-period.html).
 */
export const CONTINUOUS_RULE_SCHEDULE = "cron(0 3 * * ? *)";
/** The rule names of a site's plan. */
export const CONTINUOUS_RULE_NAME = "continuous";
export const WEEKLY_RULE_NAME = "weekly";

/**
 * The AWS Backup plan of a site (the plan's "Frequency: Every 6 hours", "Retention: 30 days for daily
 * backups, 12 months for weekly backups"):
 * - `every-<n>h`: a snapshot every `intervalHours`, kept `dailyRetentionDays`, copied to the DR vault;
 * - `continuous`: continuous backup (point-in-time restore within `continuousRetentionDays`). It is a
 *   rule of its own because continuous backup of RDS keeps ONE continuous recovery point and makes no
 *   periodic snapshots ("For recovery points of Aurora and Amazon RDS resources, only one recovery point
 *   is possible at a time"): on the snapshot rule it would replace the 6-hourly snapshots. It is not
 *   copied: a copy of a continuous backup is a snapshot ("PITR ... is not available for these copies"),
 *   which the snapshot rule already copies, and making it needs a temporary snapshot AWS Backup must
 *   delete; cross-region point-in-time restore is RDS's automated-backup replication;
 * - `weekly`: a snapshot on Sundays, kept `weeklyRetentionDays` (cold storage only where AWS allows it:
 *   delete at least 90 days after the move; RDS snapshots ignore it), copied to the DR vault;
 * - a selection by tag, through a role with AWS Backup's service-role policies. The backup policy
 *   (AWSBackupServiceRolePolicyForBackup) holds `rds:DeleteDBSnapshot` on AWS Backup's snapshots
 *   (`arn:aws:rds:*:*:snapshot:awsbackup:*`), which expiring recovery points and copies need.
 */
export class BackupPlan extends pulumi.ComponentResource {
    readonly planId: pulumi.Output<string>;
    readonly planArn: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: BackupPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:Plan", name, {}, opts);
        const days = args.continuousRetentionDays;
        if (!Number.isInteger(days) || days < 1 || days > CONTINUOUS_BACKUP_MAX_DAYS) {
            throw new Error(`BackupPlan ${name}: continuousRetentionDays must be 1 to ${CONTINUOUS_BACKUP_MAX_DAYS} (AWS Backup's limits for continuous backup), got ${days}`);
        }
        const parent = { parent: this };
        const copy = (lifecycle: { deleteAfter: number; coldStorageAfter?: number }) =>
            args.copyVaultArn === undefined ? undefined : [{ destinationVaultArn: args.copyVaultArn, lifecycle }];

        const regular = { deleteAfter: args.dailyRetentionDays };
        const cold = args.weeklyColdStorageAfterDays;
        const weekly = cold !== undefined && args.weeklyRetentionDays >= cold + COLD_STORAGE_MIN_DAYS
            ? { coldStorageAfter: cold, deleteAfter: args.weeklyRetentionDays }
            : { deleteAfter: args.weeklyRetentionDays };
        const rules: aws.types.input.backup.PlanRule[] = [
            {
                ruleName: `every-${args.intervalHours}h`,
                targetVaultName: args.vaultName,
                schedule: everyHoursSchedule(args.intervalHours),
                startWindow: 60,
                completionWindow: 180,
                enableContinuousBackup: false,
                lifecycle: regular,
                copyActions: copy(regular),
                recoveryPointTags: { "backup-rule": "regular" },
            },
            {
                ruleName: CONTINUOUS_RULE_NAME,
                targetVaultName: args.vaultName,
                schedule: CONTINUOUS_RULE_SCHEDULE,
                startWindow: 60,
                enableContinuousBackup: true,
                // deleteAfter only: a continuous rule takes no cold storage.
                lifecycle: { deleteAfter: days },
                recoveryPointTags: { "backup-rule": "continuous" },
            },
            {
                ruleName: WEEKLY_RULE_NAME,
                targetVaultName: args.vaultName,
                schedule: WEEKLY_BACKUP_SCHEDULE,
                startWindow: 60,
                completionWindow: 360,
                lifecycle: weekly,
                copyActions: copy(weekly),
                recoveryPointTags: { "backup-rule": "weekly" },
            },
        ];
        const plan = new aws.backup.Plan(`${name}-plan`, { name, rules }, parent);
        this.planId = plan.id;
        this.planArn = plan.arn;

        // The selection's role: this plan's own, or one the stack declared before (a DR site declares it
        // in every role, so that its promotion creates no IAM resource: see backupSelectionRole).
        const role = args.role ?? backupSelectionRole(name, parent);
        this.roleArn = pulumi.output(role.arn);

        new aws.backup.Selection(`${name}-selection`, {
            name: `${name}-by-tag`,
            planId: plan.id,
            iamRoleArn: role.arn,
            selectionTags: [{ type: "STRINGEQUALS", key: args.selectionTag.key, value: args.selectionTag.value }],
        }, { parent: this, dependsOn: role.dependsOn });

        this.registerOutputs({ planId: this.planId, planArn: this.planArn, roleArn: this.roleArn });
    }
}
