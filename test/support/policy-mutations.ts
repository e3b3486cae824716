// Over 300 lines on purpose: test corpus: the plan-breaking changes and legitimate configurations the pack is
// scored on, a few lines each.
/**
 * The project's corpus of plausible changes that break the recovery plan, each applied to a real
 * evaluated stack (production, dr as a standby, dr as the active site) and each expected to be caught
 * as MANDATORY by the named rule of the policy pack; and of legitimate, stricter or equivalent
 * configurations that must pass. test/policy-mutations.test.ts runs it and reports the score.
 *
 * A mutation edits a resource as the engine would see it: its inputs (resource rules) and its outputs
 * (stack rules) alike.
 */
import type { RecordedResource } from "../../offline/mock-runtime";
import { DR_PLAN } from "../../infra/dr-plan";

export type StackName = "production" | "dr" | "dr-active";
type Resources = RecordedResource[];

export interface Mutation {
    stack: StackName;
    /** The rule that must report it as mandatory. */
    rule: string;
    what: string;
    apply(rs: Resources): Resources | void;
}
export interface Legitimate {
    stack: StackName;
    what: string;
    apply(rs: Resources): Resources | void;
}

/** The one resource whose name ends with `suffix` (and of `type` when given). */
export function the(rs: Resources, suffix: string, type?: string): RecordedResource {
    const found = rs.filter((r) => r.name.endsWith(suffix) && (!type || r.type === type));
    if (found.length !== 1) throw new Error(`expected one resource named *${suffix}${type ? ` of ${type}` : ""}, found ${found.length}`);
    return found[0];
}
/** Edits a resource's inputs and outputs alike. */
function edit(rs: Resources, suffix: string, change: (props: Record<string, any>) => void, type?: string): void {
    const r = the(rs, suffix, type);
    change(r.props);
    change(r.outputs);
}
const without = (rs: Resources, ...suffixes: string[]): Resources => {
    for (const s of suffixes) the(rs, s);
    return rs.filter((r) => !suffixes.some((s) => r.name.endsWith(s)));
};
const ruleNamed = (p: Record<string, any>, name: string) => p.rules.find((r: any) => r.ruleName === name || r.id === name);
const policyOf = (p: Record<string, any>) => JSON.parse(p.policy);

/**
 * The failover record's health check as the program builds it when the Region switch plan controls
 * failover (components/dns-failover.ts, `regionSwitchHealthCheckId`): a CALCULATED check over the
 * site's HTTPS check and the plan's, carried by the record; `change` then breaks it.
 */
function withCalculatedCheck(rs: Resources, change: (props: Record<string, any>) => void): Resources {
    const child = the(rs, "-failover-health-check");
    const record = the(rs, "-failover-record");
    const calc: RecordedResource = JSON.parse(JSON.stringify(child));
    calc.name = child.name.replace(/-failover-health-check$/, "-failover-record-health-check");
    calc.urn = child.urn.replace(/::[^:]+$/, `::${calc.name}`);
    calc.id = `health-check-${calc.name}`;
    calc.props = { type: "CALCULATED", childHealthchecks: [child.outputs.id ?? child.id, "11111111-2222-3333-4444-555555555555"], childHealthThreshold: 2, tags: { Name: calc.name, role: "PRIMARY", controlledBy: "arc-region-switch" } };
    calc.propertyDependencies = { childHealthchecks: [child.urn] };
    change(calc.props);
    calc.outputs = { ...calc.props, id: calc.id, arn: `arn:aws:route53:::healthcheck/${calc.id}` };
    for (const o of [record.props, record.outputs]) o.healthCheckId = calc.id;
    record.propertyDependencies = { ...record.propertyDependencies, healthCheckId: [calc.urn] };
    return [...rs, calc];
}

const PLAN = "-backup-plan";
const BUCKET = "aws:s3/bucket:Bucket";
const ECR_ACCOUNT = "123456789012";

export const MUTATIONS: Mutation[] = [
    // ── AWS Backup ─────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "backup-plan-frequency", what: "6-hourly rule starts at 08:00 (cron(0 8/6 ...): a 12 h gap overnight)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").schedule = "cron(0 8/6 * * ? *)")) },
    { stack: "dr-active", rule: "backup-plan-frequency", what: "6-hourly rule made 12-hourly", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").schedule = "cron(0 0/12 * * ? *)")) },
    { stack: "production", rule: "backup-plan-frequency", what: "6-hourly rule turned into a continuous-backup rule (no snapshots)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").enableContinuousBackup = true)) },
    { stack: "production", rule: "backup-plan-retention", what: "6-hourly recovery points kept 29 days", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").lifecycle.deleteAfter = DR_PLAN.dbDailyRetentionDays - 1)) },
    { stack: "production", rule: "backup-plan-retention", what: "weekly recovery points kept 6 months", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").lifecycle.deleteAfter = 180)) },
    { stack: "dr-active", rule: "backup-plan-retention", what: "copies of the 6-hourly backups kept 7 days", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").copyActions[0].lifecycle.deleteAfter = 7)) },
    { stack: "production", rule: "backup-plan-retention", what: "weekly rule runs on the first Sunday of the month (SUN#1)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").schedule = "cron(0 5 ? * SUN#1 *)")) },
    { stack: "dr-active", rule: "backup-plan-retention", what: "weekly rule runs every third month's Sundays (cron(0 5 ? 1/3 SUN *))", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").schedule = "cron(0 5 ? 1/3 SUN *)")) },
    { stack: "production", rule: "backup-plan-cross-region-copy", what: "weekly rule's copy action removed", apply: (rs) => edit(rs, PLAN, (p) => void delete ruleNamed(p, "weekly").copyActions) },
    { stack: "dr-active", rule: "backup-plan-cross-region-copy", what: "6-hourly copies go to the site's own vault", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").copyActions[0].destinationVaultArn = `arn:aws:backup:us-west-2:${ECR_ACCOUNT}:backup-vault:genie-dr-backup-vault`)) },
    { stack: "production", rule: "backup-selection-covers-database", what: "selection tag value typo (genie-primry)", apply: (rs) => edit(rs, "-backup-selection", (p) => void (p.selectionTags[0].value = "genie-primry")) },
    { stack: "dr-active", rule: "backup-selection-covers-database", what: "selection tag key typo (backup_plan)", apply: (rs) => edit(rs, "-backup-selection", (p) => void (p.selectionTags[0].key = "backup_plan")) },
    { stack: "production", rule: "backup-selection-covers-database", what: "backup selection removed", apply: (rs) => without(rs, "-backup-selection") },
    { stack: "production", rule: "backup-selection-covers-database", what: "the database lost its backup-plan tag", apply: (rs) => edit(rs, "-db-instance", (p) => void delete p.tags["backup-plan"]) },
    { stack: "production", rule: "backup-copy-vault-exists", what: "copy destination ARN names a vault that does not exist (typo)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").copyActions[0].destinationVaultArn = `arn:aws:backup:us-west-2:${ECR_ACCOUNT}:backup-vault:genie-primary-dr-backups-vault`)) },
    { stack: "dr-active", rule: "backup-copy-vault-exists", what: "copy destination is a vault name, not an ARN", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").copyActions[0].destinationVaultArn = "genie-primary-backup-vault")) },
    { stack: "production", rule: "backup-vault-encrypted", what: "vault without kmsKeyArn (AWS-managed key)", apply: (rs) => edit(rs, "primary-backup-vault-vault", (p) => void delete p.kmsKeyArn, "aws:backup/vault:Vault") },
    { stack: "dr-active", rule: "backup-vault-encrypted", what: "vault encrypted with alias/aws/backup", apply: (rs) => edit(rs, "-backup-vault-vault", (p) => void (p.kmsKeyArn = "alias/aws/backup")) },
    { stack: "production", rule: "customer-managed-keys", what: "vault encrypted with a key the stack does not declare (AWS-managed key by ARN)", apply: (rs) => edit(rs, "primary-backup-vault-vault", (p) => void (p.kmsKeyArn = `arn:aws:kms:us-east-1:${ECR_ACCOUNT}:key/aws-managed-backup-key`)) },
    { stack: "production", rule: "customer-managed-keys", what: "uploads bucket SSE-KMS with a foreign key", apply: (rs) => edit(rs, "storage-uploads-encryption", (p) => void (p.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId = `arn:aws:kms:us-east-1:999999999999:key/other`)) },
    { stack: "production", rule: "backup-vault-locked", what: "the DR landing zone vault's lock removed", apply: (rs) => without(rs, "primary-dr-backup-vault-lock") },
    { stack: "dr-active", rule: "backup-vault-locked", what: "the active site's vault lock removed", apply: (rs) => without(rs, "-backup-vault-lock") },
    { stack: "production", rule: "backup-vault-lock-retention", what: "lock minRetentionDays 7", apply: (rs) => edit(rs, "primary-backup-vault-lock", (p) => void (p.minRetentionDays = 7)) },
    { stack: "production", rule: "backup-vault-lock-retention", what: "lock in governance mode (changeableForDays removed)", apply: (rs) => edit(rs, "primary-backup-vault-lock", (p) => void delete p.changeableForDays) },
    { stack: "dr-active", rule: "backup-vault-lock-retention", what: "lock maxRetentionDays 180 (weekly backups cannot be kept)", apply: (rs) => edit(rs, "-backup-vault-lock", (p) => void (p.maxRetentionDays = 180)) },

    // ── S3 ─────────────────────────────────────────────────────────────────────────────────────
    {
        stack: "production",
        rule: "s3-bucket-purpose",
        what: "a new data bucket neither tagged nor named by convention",
        apply: (rs) => {
            const model = the(rs, "storage-uploads-bucket");
            const copy: RecordedResource = JSON.parse(JSON.stringify(model));
            copy.name = "genie-primary-exports-data";
            copy.urn = model.urn.replace(/::[^:]+$/, "::genie-primary-exports-data");
            copy.outputs.bucket = copy.outputs.name = "genie-primary-exports-data";
            copy.outputs.arn = "arn:aws:s3:::genie-primary-exports-data";
            return [...rs, copy];
        },
    },
    { stack: "dr", rule: "s3-bucket-purpose", what: "the logs bucket tagged with a purpose the pack does not know", apply: (rs) => edit(rs, "storage-logs-bucket", (p) => void (p.tags = { purpose: "misc" })) },
    { stack: "production", rule: "s3-bucket-settings", what: "uploads versioning suspended", apply: (rs) => edit(rs, "storage-uploads-versioning", (p) => void (p.versioningConfiguration.status = "Suspended")) },
    { stack: "dr", rule: "s3-bucket-settings", what: "logs bucket's blockPublicPolicy off", apply: (rs) => edit(rs, "storage-logs-public-access-block", (p) => void (p.blockPublicPolicy = false)) },
    { stack: "production", rule: "s3-bucket-settings", what: "logs expire on a fixed date", apply: (rs) => edit(rs, "storage-logs-lifecycle", (p) => void (p.rules[0].expiration = { date: "2026-01-01T00:00:00Z" })) },
    { stack: "production", rule: "s3-versioning", what: "backups bucket's versioning resource removed", apply: (rs) => without(rs, "primary-storage-backups-versioning") },
    { stack: "dr", rule: "s3-versioning", what: "logs bucket's versioning removed", apply: (rs) => without(rs, "storage-logs-versioning") },
    { stack: "production", rule: "s3-encryption", what: "backups bucket on AES256 where the plan wants the site key", apply: (rs) => edit(rs, "primary-storage-backups-encryption", (p) => void (p.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }])) },
    { stack: "production", rule: "s3-encryption", what: "uploads bucket's encryption removed", apply: (rs) => without(rs, "primary-storage-uploads-encryption") },
    { stack: "production", rule: "s3-public-access-blocked", what: "the DR uploads replica's public access block removed", apply: (rs) => without(rs, "storage-dr-uploads-public-access-block") },
    {
        stack: "production",
        rule: "s3-tls-only",
        what: "TLS-deny statement covers only the bucket ARN, not its objects",
        apply: (rs) => edit(rs, "primary-storage-backups-policy", (p) => {
            const doc = policyOf(p);
            doc.Statement[0].Resource = doc.Statement[0].Resource[0];
            p.policy = JSON.stringify(doc);
        }),
    },
    {
        stack: "dr",
        rule: "s3-tls-only",
        what: "TLS-deny statement without its SecureTransport condition turned into an allow",
        apply: (rs) => edit(rs, "storage-logs-policy", (p) => {
            const doc = policyOf(p);
            doc.Statement[0].Effect = "Allow";
            p.policy = JSON.stringify(doc);
        }),
    },
    {
        stack: "production",
        rule: "s3-tls-only",
        what: "TLS-deny statement only for one principal",
        apply: (rs) => edit(rs, "primary-storage-uploads-policy", (p) => {
            const doc = policyOf(p);
            doc.Statement[0].Principal = { AWS: `arn:aws:iam::${ECR_ACCOUNT}:root` };
            p.policy = JSON.stringify(doc);
        }),
    },
    { stack: "production", rule: "s3-lifecycle-retention", what: "daily dumps expire after 20 days", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "db-daily").expiration.days = 20)) },
    { stack: "production", rule: "s3-lifecycle-retention", what: "weekly dumps' rule removed (the housekeeping rule declares no retention)", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (p.rules = p.rules.filter((r: any) => r.id !== "db-weekly"))) },
    { stack: "production", rule: "s3-lifecycle-retention", what: "logs expire after 30 days", apply: (rs) => edit(rs, "primary-storage-logs-lifecycle", (p) => void (ruleNamed(p, "logs").expiration.days = 30)) },
    { stack: "dr", rule: "s3-lifecycle-retention", what: "logs bucket's retention rule removed", apply: (rs) => edit(rs, "storage-logs-lifecycle", (p) => void (p.rules = p.rules.filter((r: any) => r.id !== "logs"))) },
    { stack: "production", rule: "s3-lifecycle-retention", what: "redis/ files expire after 3 days", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "redis").expiration.days = 3)) },
    { stack: "production", rule: "s3-lifecycle-retention", what: "weekly dumps' noncurrent versions expire after 10 days", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "db-weekly").noncurrentVersionExpiration = { noncurrentDays: 10 })) },
    { stack: "production", rule: "s3-lifecycle-retention", what: "weekly rule narrowed to tagged objects", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "db-weekly").filter = { and: { prefix: "db/weekly/", tags: { keep: "yes" } } })) },
    { stack: "production", rule: "s3-replication", what: "uploads replication filter misses the data (prefix uploads/)", apply: (rs) => edit(rs, "primary-storage-uploads-replication", (p) => void (p.rules[0].filter = { prefix: "uploads/" })) },
    { stack: "production", rule: "s3-replication", what: "backups replication with sseKmsEncryptedObjects disabled on an SSE-KMS bucket", apply: (rs) => edit(rs, "primary-storage-backups-replication", (p) => void (p.rules[0].sourceSelectionCriteria.sseKmsEncryptedObjects.status = "Disabled")) },
    { stack: "production", rule: "s3-replication", what: "uploads replication without Replication Time Control", apply: (rs) => edit(rs, "primary-storage-uploads-replication", (p) => void delete p.rules[0].destination.replicationTime) },
    { stack: "production", rule: "s3-replication", what: "Redis exports' replication removed", apply: (rs) => without(rs, "primary-storage-cache-replication") },
    { stack: "production", rule: "s3-replication", what: "backups replication rule disabled", apply: (rs) => edit(rs, "primary-storage-backups-replication", (p) => void (p.rules[0].status = "Disabled")) },
    { stack: "production", rule: "s3-access-logging", what: "DR backups replica's access logging removed", apply: (rs) => without(rs, "storage-dr-backups-access-logging") },
    { stack: "production", rule: "s3-access-logging", what: "uploads access logs written into the backups bucket", apply: (rs) => edit(rs, "primary-storage-uploads-access-logging", (p) => void (p.targetBucket = "genie-primary-storage-backups-bucket")) },

    // ── RDS ────────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "rds-multi-az", what: "single-AZ primary", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.multiAz = false)) },
    { stack: "dr-active", rule: "rds-multi-az", what: "promoted DR database single-AZ", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.multiAz = false)) },
    { stack: "production", rule: "rds-backup-retention", what: "automated backups kept 7 days", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.backupRetentionPeriod = 7)) },
    { stack: "production", rule: "rds-backup-retention", what: "cross-region automated-backups replication without retentionPeriod (AWS default 7)", apply: (rs) => edit(rs, "-db-dr-backups", (p) => void delete p.retentionPeriod) },
    { stack: "dr-active", rule: "rds-backup-retention", what: "promoted DR database keeps backups 14 days", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.backupRetentionPeriod = 14)) },
    { stack: "production", rule: "rds-encrypted", what: "unencrypted primary", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.storageEncrypted = false)) },
    { stack: "dr", rule: "rds-deletion-protection", what: "standby replica without deletion protection", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.deletionProtection = false)) },
    { stack: "production", rule: "rds-final-snapshot", what: "final snapshot skipped", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.skipFinalSnapshot = true)) },
    { stack: "dr-active", rule: "rds-final-snapshot", what: "promoted DR database without finalSnapshotIdentifier", apply: (rs) => edit(rs, "-db-instance", (p) => void delete p.finalSnapshotIdentifier) },
    { stack: "dr", rule: "rds-not-public", what: "standby replica publicly accessible", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.publiclyAccessible = true)) },

    // ── ElastiCache ────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "elasticache-automatic-failover", what: "Multi-AZ off", apply: (rs) => edit(rs, "-cache-redis", (p) => void (p.multiAzEnabled = false)) },
    { stack: "dr-active", rule: "elasticache-snapshot-retention", what: "snapshots kept 1 day", apply: (rs) => edit(rs, "-cache-redis", (p) => void (p.snapshotRetentionLimit = 1)) },
    { stack: "dr", rule: "elasticache-snapshot-retention", what: "snapshot retention removed (no snapshots)", apply: (rs) => edit(rs, "-cache-redis", (p) => void delete p.snapshotRetentionLimit) },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "12-hourly snapshot schedule disabled", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.state = "DISABLED")) },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "snapshot schedule daily", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.scheduleExpression = "cron(30 3 * * ? *)")) },
    { stack: "dr-active", rule: "elasticache-snapshot-schedule", what: "snapshot schedule removed on the active site", apply: (rs) => without(rs, "-cache-snapshots-every-12h") },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "snapshot schedule rate(1 day)", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.scheduleExpression = "rate(1 day)")) },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "snapshot job snapshots another replication group", apply: (rs) => edit(rs, "-cache-snapshots-job", (p) => void (p.definition = p.definition.split('"genie-primary-cache"').join('"genie-primary-cache-old"')), "aws:sfn/stateMachine:StateMachine") },
    { stack: "dr", rule: "elasticache-encryption", what: "no encryption at rest", apply: (rs) => edit(rs, "-cache-redis", (p) => void (p.atRestEncryptionEnabled = false)) },

    // ── Logs ───────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "log-group-retention", what: "app logs kept 30 days", apply: (rs) => edit(rs, "-app-logs", (p) => void (p.retentionInDays = 30)) },
    { stack: "dr", rule: "log-group-retention", what: "flow logs without retention (kept forever)", apply: (rs) => edit(rs, "-network-flow-logs", (p) => void delete p.retentionInDays, "aws:cloudwatch/logGroup:LogGroup") },
    { stack: "production", rule: "log-groups-declared", what: "the primary's postgresql log group removed (RDS creates one kept forever)", apply: (rs) => without(rs, "primary-db-postgresql-logs") },
    { stack: "dr-active", rule: "log-groups-declared", what: "the Redis slow-log group removed", apply: (rs) => without(rs, "-cache-slow-log") },
    { stack: "production", rule: "alb-access-logs", what: "ALB access logs switched off", apply: (rs) => edit(rs, "-edge-alb", (p) => void (p.accessLogs.enabled = false)) },
    { stack: "dr", rule: "alb-access-logs", what: "ALB access logs removed", apply: (rs) => edit(rs, "-edge-alb", (p) => void delete p.accessLogs) },

    // ── ECR ────────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "ecr-scan-on-push", what: "scan on push off", apply: (rs) => edit(rs, "-registry-repository", (p) => void (p.imageScanningConfiguration.scanOnPush = false)) },
    { stack: "production", rule: "ecr-immutable-tags", what: "mutable tags", apply: (rs) => edit(rs, "-registry-repository", (p) => void (p.imageTagMutability = "MUTABLE")) },
    {
        stack: "production",
        rule: "ecr-lifecycle-keeps-images",
        what: "lifecycle keeps 5 images",
        apply: (rs) => edit(rs, "-registry-lifecycle", (p) => {
            const doc = policyOf(p);
            doc.rules[0].selection.countNumber = 5;
            p.policy = JSON.stringify(doc);
        }),
    },
    {
        stack: "production",
        rule: "ecr-lifecycle-keeps-images",
        what: "tagged images expire 30 days after push",
        apply: (rs) => edit(rs, "-registry-lifecycle", (p) => {
            const doc = policyOf(p);
            doc.rules.unshift({ rulePriority: 0, selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "sinceImagePushed", countUnit: "days", countNumber: 30 }, action: { type: "expire" } });
            p.policy = JSON.stringify(doc);
        }),
    },
    { stack: "production", rule: "ecr-replication", what: "registry replication filter misses the repository", apply: (rs) => edit(rs, "-registry-replication", (p) => void (p.replicationConfiguration.rules[0].repositoryFilters = [{ filter: "genie-api", filterType: "PREFIX_MATCH" }])) },

    // ── Serving ────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "asg-minimum-instances", what: "one app instance", apply: (rs) => edit(rs, "-app-asg", (p) => void (p.minSize = 1)) },
    { stack: "dr-active", rule: "asg-minimum-instances", what: "active DR site on one instance", apply: (rs) => edit(rs, "-app-asg", (p) => void (p.minSize = 1)) },
    { stack: "production", rule: "asg-minimum-instances", what: "app group in one zone", apply: (rs) => edit(rs, "-app-asg", (p) => void (p.vpcZoneIdentifiers = p.vpcZoneIdentifiers.slice(0, 1))) },
    { stack: "production", rule: "asg-minimum-instances", what: "EC2 health checks only", apply: (rs) => edit(rs, "-app-asg", (p) => void (p.healthCheckType = "EC2")) },
    { stack: "dr", rule: "asg-serving", what: "app group attached to no target group", apply: (rs) => edit(rs, "-app-asg", (p) => void delete p.targetGroupArns) },
    { stack: "dr-active", rule: "launch-template-imdsv2", what: "IMDSv1 allowed", apply: (rs) => edit(rs, "-app-lt", (p) => void (p.metadataOptions.httpTokens = "optional")) },
    { stack: "production", rule: "health-check-failover-detection", what: "health check every 30 s", apply: (rs) => edit(rs, "-failover-health-check", (p) => void (p.requestInterval = 30)) },
    { stack: "dr", rule: "health-check-failover-detection", what: "health check disabled", apply: (rs) => edit(rs, "-failover-health-check", (p) => void (p.disabled = true)) },
    { stack: "production", rule: "health-check-failover-detection", what: "health check inverted", apply: (rs) => edit(rs, "-failover-health-check", (p) => void (p.invertHealthcheck = true)) },
    { stack: "production", rule: "failover-record-health-checked", what: "PRIMARY record without its health check", apply: (rs) => edit(rs, "-failover-record", (p) => void delete p.healthCheckId) },
    { stack: "production", rule: "target-group-failure-detection", what: "target group checks every 30 s, 3 failures (90 s)", apply: (rs) => edit(rs, "-edge-tg", (p) => void (p.healthCheck.interval = 30)) },
    { stack: "dr", rule: "target-group-failure-detection", what: "target group health check disabled", apply: (rs) => edit(rs, "-edge-tg", (p) => void (p.healthCheck.enabled = false)) },

    // ── Protection ─────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "stateful-resources-protected", what: "database not protected", apply: (rs) => void (the(rs, "-db-instance").opts.protect = false) },
    { stack: "dr-active", rule: "stateful-resources-protected", what: "active site's vault not protected", apply: (rs) => void (the(rs, "-backup-vault-vault").opts.protect = false) },
    { stack: "production", rule: "backups-retained-on-delete", what: "backups bucket not retained on delete", apply: (rs) => void (the(rs, "primary-storage-backups-bucket", BUCKET).opts.retainOnDelete = false) },
    { stack: "production", rule: "backups-retained-on-delete", what: "backups bucket force-destroyable", apply: (rs) => edit(rs, "primary-storage-backups-bucket", (p) => void (p.forceDestroy = true), BUCKET) },

    // ── Alerts ─────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "plan-alerts-routed", what: "critical topic's subscribers removed", apply: (rs) => without(rs, "alerts-critical-email-0", "alerts-critical-sms-0") },
    { stack: "dr", rule: "plan-alerts-routed", what: "high-error-rate alarm notifies nobody", apply: (rs) => edit(rs, "-monitoring-high-error-rate", (p) => void (p.alarmActions = [])) },
    {
        stack: "production",
        rule: "plan-alerts-routed",
        what: "critical topic's only subscriber an SQS queue",
        apply: (rs) => {
            const sms = the(rs, "alerts-critical-sms-0");
            for (const o of [sms.props, sms.outputs]) Object.assign(o, { protocol: "sqs", endpoint: `arn:aws:sqs:us-east-1:${ECR_ACCOUNT}:alerts` });
            return without(rs, "alerts-critical-email-0");
        },
    },
    {
        stack: "production",
        rule: "plan-alerts-routed",
        what: "a composite alarm stands in for the application-down alarms",
        apply: (rs) => {
            edit(rs, "-monitoring-complete-outage", (p) => void (p.tags = { ...p.tags, alert: "application-down" }));
            return without(rs, "-monitoring-app-no-healthy-hosts", "-monitoring-app-health-check");
        },
    },
    { stack: "production", rule: "plan-alert-settings", what: "database-down alarm's actions disabled", apply: (rs) => edit(rs, "-monitoring-database-down", (p) => void (p.actionsEnabled = false)) },
    { stack: "dr-active", rule: "plan-alert-settings", what: "app health-check alarm treats missing data as notBreaching", apply: (rs) => edit(rs, "-monitoring-app-health-check", (p) => void (p.treatMissingData = "notBreaching")) },
    { stack: "production", rule: "plan-alert-settings", what: "RDS event subscription disabled", apply: (rs) => edit(rs, "-db-events", (p) => void (p.enabled = false)) },
    { stack: "dr", rule: "plan-alert-settings", what: "RDS event subscription without availability and failure", apply: (rs) => edit(rs, "-db-events", (p) => void (p.eventCategories = ["failover", "low storage"])) },
    { stack: "production", rule: "plan-alerts-timely", what: "high error rate after 10 minutes", apply: (rs) => edit(rs, "-monitoring-high-error-rate", (p) => void (p.evaluationPeriods = 10)) },
    {
        stack: "dr-active",
        rule: "plan-alerts-timely",
        what: "database-down: metric alarm removed and the event subscription disabled",
        apply: (rs) => {
            edit(rs, "-db-events", (p) => void (p.enabled = false));
            return without(rs, "-monitoring-database-down");
        },
    },
    { stack: "production", rule: "alert-channels", what: "critical topic lost its SMS subscriber", apply: (rs) => without(rs, "alerts-critical-sms-0") },
    { stack: "dr", rule: "alert-channels", what: "the us-east-1 critical topic lost its SMS subscriber", apply: (rs) => without(rs, "global-metrics-alerts-critical-sms-0") },
    {
        stack: "production",
        rule: "alert-channels",
        what: "database-down alarm routed to the warning topic",
        apply: (rs) => {
            // As the program would write it (alarmActions: [warningTopic.arn]): the engine's property dependencies follow the value.
            const alarm = the(rs, "-monitoring-database-down");
            const warning = the(rs, "-alerts-warning", "aws:sns/topic:Topic");
            for (const p of [alarm.props, alarm.outputs]) p.alarmActions = [warning.outputs.arn];
            alarm.propertyDependencies = { ...alarm.propertyDependencies, alarmActions: [warning.urn] };
        },
    },

    // ── Posture ────────────────────────────────────────────────────────────────────────────────
    { stack: "production", rule: "cross-region-copies", what: "database credentials secret without replica", apply: (rs) => edit(rs, "-secrets-db-master", (p) => void delete p.replicas, "aws:secretsmanager/secret:Secret") },
    { stack: "dr-active", rule: "cross-region-copies", what: "active site's backup plan copies nowhere (vault without copy)", apply: (rs) => edit(rs, PLAN, (p) => void p.rules.forEach((r: any) => delete r.copyActions)) },
    { stack: "production", rule: "recovery-posture", what: "automated backups no longer replicated (6-hourly copies: RPO 6 h)", apply: (rs) => without(rs, "-db-dr-backups") },
    { stack: "dr-active", rule: "recovery-posture", what: "active site's database has no way back in another region", apply: (rs) => edit(rs, PLAN, (p) => void p.rules.forEach((r: any) => delete r.copyActions)) },

    // ── Hostile review of issue 14 (each a class of mistake the first fix let through) ─────────────────
    { stack: "production", rule: "health-check-failover-detection", what: "Region-switch CALCULATED health check disabled", apply: (rs) => withCalculatedCheck(rs, (p) => void (p.disabled = true)) },
    { stack: "dr-active", rule: "health-check-failover-detection", what: "Region-switch CALCULATED health check inverted", apply: (rs) => withCalculatedCheck(rs, (p) => void (p.invertHealthcheck = true)) },
    { stack: "production", rule: "health-check-failover-detection", what: "CALCULATED childHealthThreshold 0 (always healthy)", apply: (rs) => withCalculatedCheck(rs, (p) => void (p.childHealthThreshold = 0)) },
    { stack: "dr", rule: "health-check-failover-detection", what: "CALCULATED check needs 3 healthy children of 2 (always unhealthy, not a declared fence)", apply: (rs) => withCalculatedCheck(rs, (p) => void (p.childHealthThreshold = 3)) },
    {
        stack: "production",
        rule: "health-check-failover-detection",
        what: "failover check turned into a CloudWatch-alarm check that stays healthy on missing data",
        apply: (rs) => edit(rs, "-failover-health-check", (p) => {
            for (const k of ["fqdn", "port", "resourcePath", "enableSni", "requestInterval", "failureThreshold"]) delete p[k];
            Object.assign(p, { type: "CLOUDWATCH_METRIC", cloudwatchAlarmName: "genie-primary-monitoring-app-no-healthy-hosts", cloudwatchAlarmRegion: "us-east-1", insufficientDataHealthStatus: "LastKnownStatus" });
        }),
    },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "snapshot schedule with a 4-hour FLEXIBLE window (worst gap 16 h)", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.flexibleTimeWindow = { mode: "FLEXIBLE", maximumWindowInMinutes: 240 })) },
    { stack: "dr-active", rule: "elasticache-snapshot-schedule", what: "snapshot schedule with an endDate (it stops)", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.endDate = "2027-01-01T00:00:00Z")) },
    { stack: "production", rule: "elasticache-snapshot-schedule", what: "snapshot schedule starting in 2099", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.startDate = "2099-01-01T00:00:00Z")) },
    {
        stack: "production",
        rule: "elasticache-snapshot-schedule",
        what: "snapshot schedule at 02:30/14:30 New York time (the 02:30 run is skipped when clocks spring forward: 23 h)",
        apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void Object.assign(p, { scheduleExpression: "cron(30 2/12 * * ? *)", scheduleExpressionTimezone: "America/New_York" })),
    },
    {
        stack: "production",
        rule: "backup-plan-frequency",
        what: "6-hourly backups at 02:30 New York time (a skipped run at the spring change: 11 h)",
        apply: (rs) => edit(rs, PLAN, (p) => void Object.assign(ruleNamed(p, "every-6h"), { schedule: "cron(30 2/6 * * ? *)", scheduleExpressionTimezone: "America/New_York" })),
    },
    { stack: "dr-active", rule: "backup-plan-frequency", what: "6-hourly rule may start 8 hours late (startWindow 480)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").startWindow = 480)) },
    { stack: "production", rule: "backup-plan-frequency", what: "6-hourly rule without startWindow (AWS's default start window)", apply: (rs) => edit(rs, PLAN, (p) => void delete ruleNamed(p, "every-6h").startWindow) },
    { stack: "dr-active", rule: "backup-plan-retention", what: "weekly rule runs every hour of February's 5th Sunday (one day in 28 years)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").schedule = "cron(0 * ? 2 SUN#5 *)")) },
    { stack: "production", rule: "backup-selection-covers-database", what: 'selection tag condition type "STRINGLIKE" (AWS accepts only STRINGEQUALS)', apply: (rs) => edit(rs, "-backup-selection", (p) => void (p.selectionTags = [{ key: "backup-plan", type: "STRINGLIKE", value: "genie-prim*" }])) },
    { stack: "production", rule: "s3-bucket-settings", what: "backups bucket gets an inline lifecycleRules expiring everything after 1 day", apply: (rs) => edit(rs, "primary-storage-backups-bucket", (p) => void (p.lifecycleRules = [{ enabled: true, expirations: [{ days: 1 }] }]), BUCKET) },
    { stack: "dr", rule: "s3-bucket-settings", what: "logs bucket gets an inline versioning block, suspended", apply: (rs) => edit(rs, "storage-logs-bucket", (p) => void (p.versioning = { enabled: false }), BUCKET) },
    { stack: "production", rule: "s3-bucket-settings", what: "uploads bucket gets an inline policy", apply: (rs) => edit(rs, "primary-storage-uploads-bucket", (p) => void (p.policy = JSON.stringify({ Version: "2012-10-17", Statement: [] })), BUCKET) },
    { stack: "production", rule: "target-group-failure-detection", what: "target group every 15 s with unhealthyThreshold left to the default (3: 45 s)", apply: (rs) => edit(rs, "-edge-tg", (p) => { p.healthCheck.interval = 15; delete p.healthCheck.unhealthyThreshold; }) },
    { stack: "production", rule: "log-group-retention", what: "app logs in the DELIVERY class (retention forced to 2 days)", apply: (rs) => edit(rs, "-app-logs", (p) => void (p.logGroupClass = "DELIVERY")) },
    { stack: "dr", rule: "log-groups-declared", what: "the status page function's log group removed (Lambda creates /aws/lambda/... kept forever)", apply: (rs) => without(rs, "genie-status-logs") },
    {
        stack: "production",
        rule: "ecr-immutable-tags",
        what: "IMMUTABLE_WITH_EXCLUSION excluding every tag (*)",
        apply: (rs) => edit(rs, "-registry-repository", (p) => void Object.assign(p, { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "*", filterType: "WILDCARD" }] })),
    },
    { stack: "production", rule: "plan-alert-settings", what: "database-down alarm's comparison inverted (GreaterThanThreshold)", apply: (rs) => edit(rs, "-monitoring-database-down", (p) => void (p.comparisonOperator = "GreaterThanThreshold")) },
    {
        stack: "dr-active",
        rule: "asg-serving",
        what: "every app subnet placed in one availability zone",
        apply: (rs) => {
            const zone = the(rs, "-network-app-0", "aws:ec2/subnet:Subnet").props.availabilityZone;
            for (const n of ["-network-app-1", "-network-app-2"]) edit(rs, n, (p) => void (p.availabilityZone = zone), "aws:ec2/subnet:Subnet");
        },
    },
    { stack: "dr-active", rule: "plan-alert-settings", what: "no-healthy-hosts alarm's comparison inverted", apply: (rs) => edit(rs, "-monitoring-app-no-healthy-hosts", (p) => void (p.comparisonOperator = "GreaterThanOrEqualToThreshold")) },
];

export const LEGITIMATE: Legitimate[] = [
    {
        stack: "production",
        what: 'ECR: "expire untagged after 14 days + keep the last 10 tagged" (the documented AWS pattern)',
        apply: (rs) => edit(rs, "-registry-lifecycle", (p) => {
            p.policy = JSON.stringify({
                rules: [
                    { rulePriority: 1, description: "untagged", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 }, action: { type: "expire" } },
                    { rulePriority: 2, description: "keep 10", selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: DR_PLAN.imageVersionsKept }, action: { type: "expire" } },
                ],
            });
        }),
    },
    { stack: "production", what: "6-hourly backups written cron(0 0/6 ? * MON-SUN *)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").schedule = "cron(0 0/6 ? * MON-SUN *)")) },
    { stack: "dr-active", what: "6-hourly backups written cron(0 0,6,12,18 * * ? *)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").schedule = "cron(0 0,6,12,18 * * ? *)")) },
    { stack: "production", what: "4-hourly backups (stricter)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "every-6h").schedule = "cron(0 */4 * * ? *)")) },
    { stack: "production", what: "weekly rule written with a day number (1 = SUN)", apply: (rs) => edit(rs, PLAN, (p) => void (ruleNamed(p, "weekly").schedule = "cron(0 5 ? * 1 *)")) },
    {
        stack: "production",
        what: "backup selection by the database's ARN instead of a tag",
        apply: (rs) => {
            // As the program would write it (resources: [db.arn]): the engine's property dependencies follow the value.
            const db = the(rs, "-db-instance");
            const sel = the(rs, "-backup-selection");
            edit(rs, "-backup-selection", (p) => { delete p.selectionTags; p.resources = [db.outputs.arn]; });
            sel.propertyDependencies = { ...sel.propertyDependencies, resources: [db.urn] };
        },
    },
    {
        stack: "production",
        what: "backup selection by a wildcard tag match (resources *, conditions.stringLikes)",
        apply: (rs) => edit(rs, "-backup-selection", (p) => {
            delete p.selectionTags;
            Object.assign(p, { resources: ["*"], conditions: [{ stringLikes: [{ key: "aws:ResourceTag/backup-plan", value: "genie-prim*" }] }] });
        }),
    },
    { stack: "production", what: 'uploads replication filter { prefix: "" } (whole bucket)', apply: (rs) => edit(rs, "primary-storage-uploads-replication", (p) => void (p.rules[0].filter = { prefix: "" })) },
    {
        stack: "production",
        what: "TLS-deny with Principal { AWS: * } and a bucket-wide wildcard resource",
        apply: (rs) => edit(rs, "primary-storage-uploads-policy", (p) => {
            const doc = policyOf(p);
            doc.Statement[0].Principal = { AWS: "*" };
            doc.Statement[0].Resource = [`${doc.Statement[0].Resource[0]}*`];
            p.policy = JSON.stringify(doc);
        }),
    },
    { stack: "production", what: "app logs kept a year", apply: (rs) => edit(rs, "-app-logs", (p) => void (p.retentionInDays = 365)) },
    { stack: "production", what: "automated backups kept 35 days", apply: (rs) => edit(rs, "-db-instance", (p) => void (p.backupRetentionPeriod = 35)) },
    { stack: "production", what: "RDS event subscription for all categories (none listed)", apply: (rs) => edit(rs, "-db-events", (p) => void delete p.eventCategories) },
    { stack: "production", what: "health check with 2 failures (20 s)", apply: (rs) => edit(rs, "-failover-health-check", (p) => void (p.failureThreshold = 2)) },
    { stack: "dr", what: "target group checks every 5 s, 2 failures", apply: (rs) => edit(rs, "-edge-tg", (p) => void Object.assign(p.healthCheck, { interval: 5, unhealthyThreshold: 2 })) },
    { stack: "production", what: "Redis snapshots rate(6 hours)", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void (p.scheduleExpression = "rate(6 hours)")) },
    { stack: "production", what: "vault lock minimum 35 days", apply: (rs) => edit(rs, "primary-backup-vault-lock", (p) => void (p.minRetentionDays = 35)) },
    { stack: "dr-active", what: "active site on 3 instances", apply: (rs) => edit(rs, "-app-asg", (p) => void (p.minSize = 3)) },
    { stack: "production", what: "high error rate in 3 minutes", apply: (rs) => edit(rs, "-monitoring-high-error-rate", (p) => void Object.assign(p, { evaluationPeriods: 3, datapointsToAlarm: 3 })) },
    { stack: "production", what: "alarm actionsEnabled set true explicitly", apply: (rs) => edit(rs, "-monitoring-database-down", (p) => void (p.actionsEnabled = true)) },
    { stack: "production", what: "weekly dumps kept 400 days", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "db-weekly").expiration.days = 400)) },
    { stack: "production", what: "uploads encrypted with aws:kms:dsse and the site key", apply: (rs) => edit(rs, "primary-storage-uploads-encryption", (p) => void (p.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm = "aws:kms:dsse")) },
    { stack: "production", what: "ECR keeps the last 20 images", apply: (rs) => edit(rs, "-registry-lifecycle", (p) => { const d = policyOf(p); d.rules[0].selection.countNumber = 20; p.policy = JSON.stringify(d); }) },
    { stack: "production", what: "weekly dumps' noncurrent versions expire after 1 day beyond the 10 newest (a deleted dump's version is kept)", apply: (rs) => edit(rs, "primary-storage-backups-lifecycle", (p) => void (ruleNamed(p, "db-weekly").noncurrentVersionExpiration = { noncurrentDays: 1, newerNoncurrentVersions: 10 })) },
    {
        stack: "production",
        what: 'TLS-deny with "aws:SecureTransport": ["false"] (a list value)',
        apply: (rs) => edit(rs, "primary-storage-uploads-policy", (p) => {
            const doc = policyOf(p);
            doc.Statement[0].Condition.Bool["aws:SecureTransport"] = ["false"];
            p.policy = JSON.stringify(doc);
        }),
    },
    { stack: "production", what: "Region-switch CALCULATED health check requiring both children", apply: (rs) => withCalculatedCheck(rs, () => undefined) },
    { stack: "dr", what: "a declared fence: CALCULATED check with no children, tagged fenced=true", apply: (rs) => withCalculatedCheck(rs, (p) => void Object.assign(p, { childHealthchecks: [], childHealthThreshold: 1, tags: { ...p.tags, fenced: "true" } })) },
    { stack: "production", what: 'ECR IMMUTABLE_WITH_EXCLUSION excluding the literal tag "latest"', apply: (rs) => edit(rs, "-registry-repository", (p) => void Object.assign(p, { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "latest", filterType: "WILDCARD" }] })) },
    { stack: "production", what: "Redis snapshots every 6 h, Paris time, 1-hour flexible window", apply: (rs) => edit(rs, "-cache-snapshots-every-12h", (p) => void Object.assign(p, { scheduleExpression: "cron(0 0/6 * * ? *)", scheduleExpressionTimezone: "Europe/Paris", flexibleTimeWindow: { mode: "FLEXIBLE", maximumWindowInMinutes: 60 } })) },
    { stack: "dr", what: "target group every 10 s, unhealthyThreshold left to the default 3 (30 s)", apply: (rs) => edit(rs, "-edge-tg", (p) => { p.healthCheck.interval = 10; delete p.healthCheck.unhealthyThreshold; }) },
    { stack: "production", what: "backup rules in Etc/UTC, stated explicitly", apply: (rs) => edit(rs, PLAN, (p) => void p.rules.forEach((r: any) => (r.scheduleExpressionTimezone = "Etc/UTC"))) },
    { stack: "dr-active", what: "no-healthy-hosts alarm written LessThanOrEqualToThreshold 0", apply: (rs) => edit(rs, "-monitoring-app-no-healthy-hosts", (p) => void Object.assign(p, { comparisonOperator: "LessThanOrEqualToThreshold", threshold: 0 })) },
    { stack: "production", what: "registry replication of every repository (no filter)", apply: (rs) => edit(rs, "-registry-replication", (p) => void delete p.replicationConfiguration.rules[0].repositoryFilters) },
];

/**
 * The mutations a real `pulumi preview` of a FIRST deployment cannot decide, and why: the violating
 * value is itself computed from an output AWS assigns at creation (a preview knows neither it nor
 * anything built from it), so the rule reports it as advisory ("not decidable during preview"), and the
 * offline plan (`npm run plan`) and `npm run policy -- check` on the deployed state decide it. Every
 * other mutation stays MANDATORY in that preview (test/policy-mutations.test.ts). Once the resources
 * exist (any later preview), their outputs are known and these are decided too.
 */
export const UNDECIDABLE_IN_FIRST_PREVIEW: Record<string, string> = {
    "6-hourly copies go to the site's own vault":
        "the destination is the site's own vault's arn (vault.arn, unknown until the vault exists); backup-plan-cross-region-copy is a resource rule, and the engine gives resource rules no property dependencies to tell which vault an unknown ARN is",
    "TLS-deny statement covers only the bucket ARN, not its objects": "the bucket policy document is built from bucket.arn: the whole JSON string is unknown until the bucket exists",
    "TLS-deny statement without its SecureTransport condition turned into an allow": "the bucket policy document is built from bucket.arn: the whole JSON string is unknown until the bucket exists",
    "TLS-deny statement only for one principal": "the bucket policy document is built from bucket.arn: the whole JSON string is unknown until the bucket exists",
    "snapshot job snapshots another replication group": "the state machine's definition embeds the ARNs of resources being created (bucket, roles): the whole definition is unknown until they exist",
};
