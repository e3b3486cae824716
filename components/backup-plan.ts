import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

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
/** AWS Backup keeps continuous (point-in-time) backups of RDS at most 35 days. */
export const CONTINUOUS_BACKUP_MAX_DAYS = 35;
/** Compliance-mode Vault Lock: the grace period before the lock becomes immutable (AWS minimum 3). */
export const VAULT_LOCK_GRACE_DAYS = 3;

/**
 * Vault events sent to the alert topic. BACKUP_JOB_FAILED and RESTORE_JOB_FAILED are deprecated
 * (AWS no longer sends them): failures arrive as BACKUP_JOB_COMPLETED / RESTORE_JOB_COMPLETED with
 * message attribute `State` other than COMPLETED; subscribers filter on it
 * (`{"State": [{"anything-but": "COMPLETED"}]}`). COPY_JOB_FAILED is still its own event.
 */
export const VAULT_ALERT_EVENTS = [
    "BACKUP_JOB_COMPLETED",
    "COPY_JOB_FAILED",
    "RESTORE_JOB_COMPLETED",
    "RECOVERY_POINT_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED",
    "S3_RESTORE_OBJECT_FAILED",
] as const;

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
    /**
     * Topic (in the vault's region) that receives {@link VAULT_ALERT_EVENTS}. None: the vault creates
     * an alerts-hook topic, encrypted with its key, exposed as `alertTopicArn` for monitoring to subscribe to.
     */
    alertTopicArn?: pulumi.Input<string>;
    protect: boolean;
}

/**
 * An AWS Backup vault encrypted with its region's key, under Vault Lock, with notifications of failed
 * backup, copy and restore jobs to an alert topic. Protected and retained on delete.
 */
export class BackupVault extends pulumi.ComponentResource {
    readonly vaultName: pulumi.Output<string>;
    readonly vaultArn: pulumi.Output<string>;
    readonly alertTopicArn: pulumi.Output<string>;

    constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:Vault", name, {}, opts);
        const { mode, minRetentionDays, maxRetentionDays } = args.lock;
        if (maxRetentionDays <= minRetentionDays) {
            throw new Error(`BackupVault ${name}: lock maxRetentionDays (${maxRetentionDays}) must exceed minRetentionDays (${minRetentionDays})`);
        }
        const parent = { parent: this };
        const vault = new aws.backup.Vault(`${name}-vault`, {
            name: name,
            kmsKeyArn: args.kmsKeyArn,
            forceDestroy: false,
        }, { parent: this, protect: args.protect, retainOnDelete: true });
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
        }, { parent: this, protect: args.protect, retainOnDelete: true });

        let topicArn: pulumi.Input<string>;
        if (args.alertTopicArn !== undefined) {
            topicArn = args.alertTopicArn;
        } else {
            const identity = aws.getCallerIdentityOutput({}, parent);
            const topic = new aws.sns.Topic(`${name}-alerts`, { kmsMasterKeyId: args.kmsKeyArn }, parent);
            new aws.sns.TopicPolicy(`${name}-alerts`, {
                arn: topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Sid: "BackupVaultEvents",
                        Effect: "Allow",
                        Principal: { Service: "backup.amazonaws.com" },
                        Action: "sns:Publish",
                        Resource: topic.arn,
                        Condition: { StringEquals: { "aws:SourceAccount": identity.accountId } },
                    }],
                }),
            }, parent);
            topicArn = topic.arn;
        }
        this.alertTopicArn = pulumi.output(topicArn);
        new aws.backup.VaultNotifications(`${name}-notifications`, {
            backupVaultName: vault.name,
            snsTopicArn: topicArn,
            backupVaultEvents: [...VAULT_ALERT_EVENTS],
        }, parent);

        this.registerOutputs({ vaultName: this.vaultName, vaultArn: this.vaultArn, alertTopicArn: this.alertTopicArn });
    }
}

export interface BackupPlanArgs {
    /** The vault the rules back up into (same region). */
    vaultName: pulumi.Input<string>;
    /** The vault in the DR region every rule copies its recovery points to. None: no copies. */
    copyVaultArn?: pulumi.Input<string>;
    /** Hours between backups: a divisor of 24 (the plan's 6). */
    intervalHours: number;
    /** Days the regular backups are kept (the plan's 30). */
    dailyRetentionDays: number;
    /** Days the weekly backups are kept (the plan's 365). */
    weeklyRetentionDays: number;
    /** Weekly backups move to cold storage after this many days, where the resource type supports it. */
    weeklyColdStorageAfterDays?: number;
    /** Tag that selects the resources (the database) to back up. */
    selectionTag: { key: string; value: string };
}

/** The schedule of a backup every `hours` hours, starting at midnight UTC. */
export function everyHoursSchedule(hours: number): string {
    if (!Number.isInteger(hours) || hours < 1 || 24 % hours !== 0) throw new Error(`backup interval must divide 24, got ${hours}`);
    return hours === 24 ? "cron(0 0 * * ? *)" : `cron(0 0/${hours} * * ? *)`;
}

/**
 * The AWS Backup plan of a site (the plan's "Frequency: Every 6 hours", "Retention: 30 days for daily
 * backups, 12 months for weekly backups"):
 * - `every-<n>h`: every `intervalHours`, kept `dailyRetentionDays`, with continuous backup
 *   (point-in-time restore, RDS keeps at most 35 days of it: beyond that a separate continuous rule
 *   kept 35 days is added);
 * - `weekly`: Sundays, kept `weeklyRetentionDays` (cold storage only where AWS allows it: delete
 *   at least 90 days after the move; RDS snapshots ignore it);
 * - each rule copies its recovery points to the DR vault with the same lifecycle;
 * - a selection by tag, through a role with AWS Backup's service-role policies.
 */
export class BackupPlan extends pulumi.ComponentResource {
    readonly planId: pulumi.Output<string>;
    readonly planArn: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: BackupPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:Plan", name, {}, opts);
        const parent = { parent: this };
        const copy = (lifecycle: { deleteAfter: number; coldStorageAfter?: number }) =>
            args.copyVaultArn === undefined ? undefined : [{ destinationVaultArn: args.copyVaultArn, lifecycle }];

        const continuousOnRegular = args.dailyRetentionDays <= CONTINUOUS_BACKUP_MAX_DAYS;
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
                enableContinuousBackup: continuousOnRegular,
                lifecycle: regular,
                copyActions: copy(regular),
                recoveryPointTags: { "backup-rule": "regular" },
            },
            {
                ruleName: "weekly",
                targetVaultName: args.vaultName,
                schedule: WEEKLY_BACKUP_SCHEDULE,
                startWindow: 60,
                completionWindow: 360,
                lifecycle: weekly,
                copyActions: copy(weekly),
                recoveryPointTags: { "backup-rule": "weekly" },
            },
        ];
        if (!continuousOnRegular) {
            const continuous = { deleteAfter: CONTINUOUS_BACKUP_MAX_DAYS };
            rules.push({
                ruleName: "continuous",
                targetVaultName: args.vaultName,
                schedule: "cron(0 3 * * ? *)",
                enableContinuousBackup: true,
                lifecycle: continuous,
                copyActions: copy(continuous),
                recoveryPointTags: { "backup-rule": "continuous" },
            });
        }
        const plan = new aws.backup.Plan(`${name}-plan`, { name, rules }, parent);
        this.planId = plan.id;
        this.planArn = plan.arn;

        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, parent);
        for (const policy of ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]) {
            new aws.iam.RolePolicyAttachment(`${name}-${policy}`, {
                role: role.name,
                policyArn: `arn:aws:iam::aws:policy/service-role/${policy}`,
            }, parent);
        }
        this.roleArn = role.arn;

        new aws.backup.Selection(`${name}-selection`, {
            name: `${name}-by-tag`,
            planId: plan.id,
            iamRoleArn: role.arn,
            selectionTags: [{ type: "STRINGEQUALS", key: args.selectionTag.key, value: args.selectionTag.value }],
        }, parent);

        this.registerOutputs({ planId: this.planId, planArn: this.planArn, roleArn: this.roleArn });
    }
}
