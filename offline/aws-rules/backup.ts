/**
 * Rules of AWS Backup (plans, vaults under Vault Lock, selections and their role, restore testing) that
 * AWS enforces at `pulumi up`, or that make every backup, copy or restore job fail (see ./types.ts).
 */
import type { RecordedResource } from "../mock-runtime";
import { policyAllows, policyStatements } from "./iam-kms";
import type { AwsRule, RuleContext } from "./types";
import { orNone, present } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const PLAN = AWS_TYPES.backupPlan;
const VAULT = AWS_TYPES.backupVault;
const LOCK = AWS_TYPES.backupVaultLock;
const SELECTION = AWS_TYPES.backupSelection;
const RESTORE_SELECTION = AWS_TYPES.restoreTestingSelection;
const NOTIFICATIONS = AWS_TYPES.backupVaultNotifications;
const TOPIC = AWS_TYPES.topic;
const TOPIC_POLICY = AWS_TYPES.topicPolicy;

/**
 * The vault events AWS Backup sends. API reference, PutBackupVaultNotifications, BackupVaultEvents:
 * "The following events are supported: BACKUP_JOB_STARTED | BACKUP_JOB_COMPLETED, COPY_JOB_STARTED |
 * COPY_JOB_SUCCESSFUL | COPY_JOB_FAILED, RESTORE_JOB_STARTED | RESTORE_JOB_COMPLETED |
 * RECOVERY_POINT_MODIFIED, S3_BACKUP_OBJECT_FAILED | S3_RESTORE_OBJECT_FAILED".
 */
export const SUPPORTED_VAULT_EVENTS: readonly string[] = [
    "BACKUP_JOB_STARTED", "BACKUP_JOB_COMPLETED", "COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL", "COPY_JOB_FAILED",
    "RESTORE_JOB_STARTED", "RESTORE_JOB_COMPLETED", "RECOVERY_POINT_MODIFIED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED",
];
/**
 * The values the API (and the provider's validation, the SDK enum) still accepts but that "are no
 * longer in use (for reference). Deprecated events do not return statuses or notifications."
 */
export const DEPRECATED_VAULT_EVENTS: readonly string[] = [
    "BACKUP_JOB_SUCCESSFUL", "BACKUP_JOB_FAILED", "BACKUP_JOB_EXPIRED", "RESTORE_JOB_SUCCESSFUL", "RESTORE_JOB_FAILED", "BACKUP_PLAN_CREATED", "BACKUP_PLAN_MODIFIED",
];

/** AWS Backup's limits for a continuous backup's retention: "The minimum retention period is 1 day. The maximum retention period is 35 days." */
export const CONTINUOUS_RETENTION_DAYS = { min: 1, max: 35 } as const;

/** The AWS managed policy that lets AWS Backup delete its own RDS snapshots (statement RDSBackupPermissions). */
export const BACKUP_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup";


/** The Vault Lock of a vault named or ARN'd by `ref`, when both are declared here. */
function lockOf(ref: unknown, ctx: RuleContext): { vault: RecordedResource; lock: RecordedResource } | undefined {
    const vault = ctx.resolve(ref, VAULT);
    if (!vault) return undefined;
    const names = [vault.outputs.name, vault.props.name, vault.id].filter(present);
    const lock = ctx.ofType(LOCK).find((l) => names.includes(l.props.backupVaultName) && l.region === vault.region);
    return lock ? { vault, lock } : undefined;
}

/** What the lock refuses of a job kept `deleteAfter` days (undefined: never expires). */
function lockRefusal(lock: RecordedResource, deleteAfter: unknown): string | undefined {
    const min = lock.props.minRetentionDays;
    const max = lock.props.maxRetentionDays;
    const kept = typeof deleteAfter === "number" ? deleteAfter : undefined;
    if (typeof min === "number" && kept !== undefined && kept < min) return `kept ${kept} days, below the lock's minRetentionDays ${min}`;
    if (typeof max === "number" && (kept === undefined || kept > max)) return `kept ${kept === undefined ? "forever" : `${kept} days`}, above the lock's maxRetentionDays ${max}`;
    return undefined;
}

/** Does this role's policy let it call `action` (an attached managed policy given, or an inline/managed statement)? */
function roleAllows(role: RecordedResource, ctx: RuleContext, action: string, managedPolicies: string[]): boolean {
    const refs = [role.outputs.name, role.props.name, role.id, role.outputs.arn].filter(present);
    const attached = [
        ...(role.props.managedPolicyArns ?? []),
        ...ctx.ofType(AWS_TYPES.iamRolePolicyAttachment).filter((a) => refs.includes(a.props.role)).map((a) => a.props.policyArn),
    ];
    if (attached.some((p) => managedPolicies.includes(p))) return true;
    const documents = [
        ...(role.props.inlinePolicies ?? []).map((p: any) => p.policy),
        ...ctx.ofType(AWS_TYPES.iamRolePolicy).filter((p) => refs.includes(p.props.role)).map((p) => p.props.policy),
        ...attached.map((arn) => ctx.resolve(arn, AWS_TYPES.iamPolicy)?.props.policy),
    ];
    const [service] = action.split(":");
    return documents.some((doc) => {
        let parsed: any;
        try {
            parsed = typeof doc === "string" ? JSON.parse(doc) : doc;
        } catch {
            return false;
        }
        return [parsed?.Statement ?? []].flat().some((s: any) => s.Effect === "Allow" && [s.Action ?? []].flat().some((a: string) => a === action || a === "*" || a === `${service}:*`));
    });
}

export const rules: AwsRule[] = [
    {
        id: "backup-continuous-rule-retention",
        types: [PLAN],
        source:
            "AWS Backup Developer Guide, \"Changing your retention period\" (point-in-time-recovery-retention-period.html): \"The minimum retention period is 1 day. The maximum retention period is 35 days.\"; " +
            "CloudFormation answers a continuous rule without lifecycle \"Lifecycle must be specified for backup rule enabled continuous backup\" and one with cold storage \"MoveToColdStorageAfterDays is unavailable\" (quoted in aws/aws-cdk#17602)",
        check(r) {
            const problems: string[] = [];
            for (const rule of r.props.rules ?? []) {
                if (rule.enableContinuousBackup !== true) continue;
                const days = rule.lifecycle?.deleteAfter;
                if (typeof days !== "number" || days < CONTINUOUS_RETENTION_DAYS.min || days > CONTINUOUS_RETENTION_DAYS.max) {
                    problems.push(`rule ${rule.ruleName} has continuous backup kept ${JSON.stringify(days ?? "unset")} days: AWS Backup keeps continuous backups ${CONTINUOUS_RETENTION_DAYS.min} to ${CONTINUOUS_RETENTION_DAYS.max} days`);
                }
                if (present(rule.lifecycle?.coldStorageAfter) || (rule.copyActions ?? []).some((c: any) => present(c.lifecycle?.coldStorageAfter))) {
                    problems.push(`rule ${rule.ruleName} has continuous backup with a move to cold storage, which continuous backups do not take`);
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "backup-rule-within-vault-lock",
        types: [PLAN],
        source:
            "AWS Backup API reference, PutBackupVaultLockConfiguration, MinRetentionDays: \"any backup or copy job to the vault must have a lifecycle policy with a retention period equal to or longer than the minimum retention period. If the job's retention period is shorter than that minimum retention period, then the vault fails that backup or copy job\"; " +
            "MaxRetentionDays: \"any backup or copy job to the vault must have a lifecycle policy with a retention period equal to or shorter than the maximum retention period\"",
        check(r, ctx) {
            const problems: string[] = [];
            for (const rule of r.props.rules ?? []) {
                const target = lockOf(rule.targetVaultName, ctx);
                const refusal = target && lockRefusal(target.lock, rule.lifecycle?.deleteAfter);
                if (refusal) problems.push(`rule ${rule.ruleName}: its backups are ${refusal} of vault ${target!.vault.name}: every job fails`);
                for (const copy of rule.copyActions ?? []) {
                    const destination = lockOf(copy.destinationVaultArn, ctx);
                    const copyRefusal = destination && lockRefusal(destination.lock, copy.lifecycle?.deleteAfter);
                    if (copyRefusal) problems.push(`rule ${rule.ruleName}: its copies are ${copyRefusal} of vault ${destination!.vault.name}: every copy job fails`);
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "backup-role-can-delete-snapshots",
        types: [SELECTION],
        source:
            "AWS Backup Developer Guide, \"Copying continuous backups\": \"For database resources, ensure that your IAM role has the rds:DeleteDBSnapshot permission ... If the role lacks this permission, AWS Backup cannot remove the temporary snapshot. Instead, it creates an expired recovery point\"; " +
            "\"Identity and access management in AWS Backup\": \"AWS Backup uses the same IAM role that you chose when assigning resources to manage your recovery point lifecycle\". AWSBackupServiceRolePolicyForBackup grants rds:DeleteDBSnapshot on arn:aws:rds:*:*:snapshot:awsbackup:* (statement RDSBackupPermissions)",
        check(r, ctx) {
            const role = ctx.resolve(r.props.iamRoleArn, AWS_TYPES.iamRole);
            if (!role) return undefined;
            if (roleAllows(role, ctx, "rds:DeleteDBSnapshot", [BACKUP_SERVICE_POLICY])) return undefined;
            return `the selection's role ${role.name} may not call rds:DeleteDBSnapshot: AWS Backup can neither expire its RDS snapshots nor finish copies; attach ${BACKUP_SERVICE_POLICY.split("/").pop()}`;
        },
    },
    {
        id: "backup-restore-test-rds-target",
        types: [RESTORE_SELECTION],
        source:
            "AWS Backup Developer Guide, \"Restore testing inferred metadata\" (restore-testing-inferred-metadata.html): \"AWS Backup can infer that a resource should be restored to the default setting, such as an Amazon EC2 instance or Amazon RDS cluster restored to the default VPC. However, if the default is not present, for example the default VPC or subnet has been deleted and no metadata override has been input, the restore will not be successful\"; " +
            "dbSubnetGroupName and vpcSecurityGroupIds are overridable keys of \"Amazon RDS instances\" and \"Amazon RDS, Aurora ... clusters\"; \"key values are not case sensitive\"",
        check(r) {
            if (!["RDS", "Aurora"].includes(String(r.props.protectedResourceType))) return undefined;
            const overrides: Record<string, unknown> = Object.fromEntries(Object.entries(r.props.restoreMetadataOverrides ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
            const problems: string[] = [];
            if (!present(overrides.dbsubnetgroupname)) {
                problems.push("an RDS restore test without restoreMetadataOverrides.dbSubnetGroupName restores into the default VPC, and fails where there is none: give the database's DB subnet group");
            }
            if (!present(overrides.vpcsecuritygroupids)) {
                problems.push("an RDS restore test without restoreMetadataOverrides.vpcSecurityGroupIds gets the VPC's default security group: give the database tier's security group(s)");
            } else {
                let ids: unknown;
                try {
                    ids = JSON.parse(String(overrides.vpcsecuritygroupids));
                } catch {
                    ids = undefined;
                }
                if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === "string" && id !== "")) {
                    problems.push(`restoreMetadataOverrides.vpcSecurityGroupIds ${JSON.stringify(overrides.vpcsecuritygroupids)} is not a JSON list of security group ids such as ["sg-0123"]`);
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "backup-vault-notifications-events",
        types: [NOTIFICATIONS],
        source:
            "AWS Backup API reference, PutBackupVaultNotifications, BackupVaultEvents: \"The following events are supported: BACKUP_JOB_STARTED | BACKUP_JOB_COMPLETED, COPY_JOB_STARTED | COPY_JOB_SUCCESSFUL | COPY_JOB_FAILED, RESTORE_JOB_STARTED | RESTORE_JOB_COMPLETED | RECOVERY_POINT_MODIFIED, S3_BACKUP_OBJECT_FAILED | S3_RESTORE_OBJECT_FAILED\"; " +
            "\"The list below includes both supported events and deprecated events that are no longer in use (for reference). Deprecated events do not return statuses or notifications\"; the provider validates the values against the SDK's enum (terraform-provider-aws internal/service/backup/vault_notifications.go, validation.StringInSlice)",
        check(r) {
            const events: unknown[] = Array.isArray(r.props.backupVaultEvents) ? r.props.backupVaultEvents : [];
            const problems: string[] = [];
            const deprecated = events.filter((e) => DEPRECATED_VAULT_EVENTS.includes(String(e)));
            const unknown = events.filter((e) => !DEPRECATED_VAULT_EVENTS.includes(String(e)) && !SUPPORTED_VAULT_EVENTS.includes(String(e)));
            if (deprecated.length > 0) problems.push(`${deprecated.join(", ")}: deprecated, AWS Backup never sends them (nobody hears of what they name); use ${SUPPORTED_VAULT_EVENTS.join(", ")}`);
            if (unknown.length > 0) problems.push(`${unknown.join(", ")}: not an AWS Backup vault event; the provider refuses it`);
            if (events.length > 0 && deprecated.length === events.length) problems.push("no event of the list is ever sent: the vault notifies nobody");
            return orNone(problems);
        },
    },
    {
        id: "backup-vault-notifications-topic-accepts-backup",
        types: [NOTIFICATIONS],
        source:
            "AWS Backup Developer Guide, \"Notification options with AWS Backup\", \"Specifying AWS Backup as a service principal\": \"To allow AWS Backup to publish SNS topics on your behalf, you must specify AWS Backup as a service principal. Include the following JSON in the access policy of the Amazon SNS topic\" " +
            "({\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"backup.amazonaws.com\"}, \"Action\": \"SNS:Publish\", \"Resource\": <topic ARN>}); " +
            "\"Cross-service confused deputy prevention\": \"We recommend using the aws:SourceArn and aws:SourceAccount global condition context keys in resource policies ... The value of aws:SourceArn must be a AWS Backup vault when using AWS Backup to publish Amazon SNS topics on your behalf\" (so the request carries the vault's account and ARN); " +
            "Limitations: \"AWS Backup does not currently support SNS FIFO topics\"; a notification AWS Backup may not publish is dropped, nobody is told",
        check(r, ctx) {
            const topicArn = r.props.snsTopicArn;
            const topic = ctx.resolve(topicArn, TOPIC);
            if (!topic) return undefined; // a topic of another stack: not seen here
            const problems: string[] = [];
            if (topic.props.fifoTopic === true || topic.props.fifoTopic === "true") problems.push(`${topic.name} is a FIFO topic, which AWS Backup does not publish to: use a standard topic`);
            const refs = [topicArn, topic.outputs.arn, topic.id].filter(present);
            const statements = [
                ...policyStatements(topic.props.policy),
                ...ctx.ofType(TOPIC_POLICY).filter((p) => refs.includes(p.props.arn)).flatMap((p) => policyStatements(p.props.policy)),
            ];
            // What AWS Backup's publish carries: the vault's account and ARN as aws:SourceAccount / aws:SourceArn.
            const resource = String(topic.outputs.arn ?? topicArn);
            const [, , , region, account] = resource.split(":");
            const vault = ctx.resolve(r.props.backupVaultName, VAULT);
            const vaultArn = String(vault?.outputs.arn ?? `arn:aws:backup:${region}:${account}:backup-vault:${r.props.backupVaultName}`);
            const request = { action: "sns:Publish", resource, principal: { service: "backup.amazonaws.com" }, context: { "aws:SourceAccount": account, "aws:SourceArn": vaultArn } };
            if (!policyAllows(statements, request)) {
                problems.push(
                    `${topic.name}'s access policy does not let backup.amazonaws.com SNS:Publish for vault ${vaultArn} of account ${account}: ` +
                        "add the statement AWS Backup documents (Principal Service backup.amazonaws.com, Action SNS:Publish, Resource the topic), or the vault's notifications are dropped",
                );
            }
            return orNone(problems);
        },
    },
];
