import { expect } from "chai";
import { ALB_LOGS_PREFIX, BACKUP_PREFIXES, COLD_STORAGE_CLASS } from "../components/backup-storage";
import { BACKUP_SELECTION_TAG_KEY, VAULT_ALERT_EVENTS } from "../components/backup-plan";
import { APP_REPOSITORY_NAME } from "../components/registry";
import { DR_PLAN } from "../infra/dr-plan";
import { EvaluationError, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { planJson, summarise } from "../offline/plan";
import { childrenOf, ofType, one, resolve, stack, stackWith } from "./support/stacks";

const T = {
    bucket: "aws:s3/bucket:Bucket",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    publicBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    key: "aws:kms/key:Key",
    alias: "aws:kms/alias:Alias",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    vault: "aws:backup/vault:Vault",
    lock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    notifications: "aws:backup/vaultNotifications:VaultNotifications",
    plan: "aws:backup/plan:Plan",
    selection: "aws:backup/selection:Selection",
    restorePlan: "aws:backup/restoreTestingPlan:RestoreTestingPlan",
    restoreSelection: "aws:backup/restoreTestingSelection:RestoreTestingSelection",
    repository: "aws:ecr/repository:Repository",
    ecrLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    ecrReplication: "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    ecrTemplate: "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
    topic: "aws:sns/topic:Topic",
} as const;

/** Stateful resources: each must be protected (config `protect`) and retained on delete. */
const STATEFUL = [T.bucket, T.key, T.secret, T.vault, T.lock, T.repository];

/** Component types of the data protection section. */
const COMPONENTS = ["genie:keys:SiteKey", "genie:secrets:SiteSecrets", "genie:storage:BackupStorage", "genie:backup:Vault", "genie:backup:Plan", "genie:backup:RestoreTesting", "genie:registry:AppRegistry"];

/** The cloud resources this section declares (other sections' resources are theirs to test). */
function ours(ev: StackEvaluation): RecordedResource[] {
    const top = ev.resources.filter((r) => COMPONENTS.includes(r.type));
    return [...new Set(top.flatMap((c) => childrenOf(ev, c)))].filter((r) => r.custom);
}

/** The bucket a bucket-scoped resource (lifecycle, policy, ...) belongs to, by its `bucket` input. */
function bucketOf(ev: StackEvaluation, r: RecordedResource): RecordedResource {
    const bucket = ofType(ev, T.bucket).find((b) => b.id === r.props.bucket || b.outputs.bucket === r.props.bucket || b.outputs.arn === r.props.bucket);
    if (!bucket) throw new Error(`${r.type} ${r.name}: bucket ${r.props.bucket} not found`);
    return bucket;
}

/** The KMS key an ARN points at; fails when it is not a key of this stack. */
function keyOf(ev: StackEvaluation, arn: string, what: string): RecordedResource {
    const key = resolve(ev, arn);
    expect(key?.type, `${what}: ${arn}`).to.equal(T.key);
    return key!;
}

function lifecycleOf(ev: StackEvaluation, bucketName: RegExp) {
    const lc = ofType(ev, T.lifecycle).find((l) => bucketName.test(bucketOf(ev, l).name));
    if (!lc) throw new Error(`no lifecycle for ${bucketName}`);
    return Object.fromEntries((lc.props.rules as any[]).map((rule) => [rule.id, rule]));
}

async function configError(change: Record<string, string>): Promise<string> {
    try {
        await stackWith("production", { config: change });
    } catch (err) {
        expect(err).to.be.instanceOf(EvaluationError);
        return (err as Error).message;
    }
    throw new Error(`config ${JSON.stringify(change)} was accepted`);
}

describe("data protection: keys and secrets", () => {
    it("production has one rotating customer-managed key per region, with a 30-day deletion window and an alias", async () => {
        const ev = await stack("production");
        expect(one(ev, T.key, "genie-primary-key-key").region).to.equal("us-east-1");
        expect(one(ev, T.key, "genie-primary-dr-key-key").region).to.equal("us-west-2");
        for (const k of ofType(ev, T.key)) {
            expect(k.props.enableKeyRotation, k.name).to.equal(true);
            expect(k.props.deletionWindowInDays, k.name).to.equal(30);
            const alias = ofType(ev, T.alias).find((a) => a.props.targetKeyId === k.outputs.keyId)!;
            expect(alias.region).to.equal(k.region);
        }
    });

    it("key policy: the account administers it, CloudWatch Logs of its own region and this account's topic publishers may use it", async () => {
        const ev = await stack("production");
        for (const k of ofType(ev, T.key)) {
            const statements = JSON.parse(k.props.policy).Statement;
            const byId = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
            expect(byId.AccountAdministersAndEnablesIamPolicies.Principal.AWS).to.equal("arn:aws:iam::123456789012:root");
            expect(byId.CloudWatchLogsOfThisAccount.Principal.Service).to.equal(`logs.${k.region}.amazonaws.com`);
            expect(byId.CloudWatchLogsOfThisAccount.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).to.equal(`arn:aws:logs:${k.region}:123456789012:log-group:*`);
            expect(byId.ServicesPublishingToEncryptedTopics.Principal.Service).to.include("backup.amazonaws.com");
            expect(byId.ServicesPublishingToEncryptedTopics.Condition.StringEquals["aws:SourceAccount"]).to.equal("123456789012");
        }
    });

    it("keeps the DB master credentials and the app environment in Secrets Manager, encrypted with the site key and replicated to the DR region with the DR key", async () => {
        const ev = await stack("production");
        const secrets = ours(ev).filter((r) => r.type === T.secret);
        expect(secrets.map((s) => s.props.name).sort()).to.deep.equal(["genie/primary/app-env", "genie/primary/db-master"]);
        for (const s of secrets) {
            expect(s.region).to.equal("us-east-1");
            expect(keyOf(ev, s.props.kmsKeyId, s.name).region).to.equal("us-east-1");
            expect(s.props.replicas).to.have.length(1);
            expect(s.props.replicas[0].region).to.equal("us-west-2");
            expect(keyOf(ev, s.props.replicas[0].kmsKeyId, `${s.name} replica`).region).to.equal("us-west-2");
            expect(s.props.recoveryWindowInDays).to.equal(30);
        }
    });

    it("generates the DB master password with @pulumi/random and stores it only as a secret", async () => {
        const ev = await stack("production");
        const password = one(ev, "random:index/randomPassword:RandomPassword", /db-master-password$/);
        expect(password.props.length).to.be.at.least(32);
        expect(password.outputs.result).to.equal("[secret]");
        const version = one(ev, T.secretVersion, /db-master$/);
        expect(resolve(ev, version.props.secretId)!.props.name).to.equal("genie/primary/db-master");
        expect(version.props.secretString).to.equal("[secret]");
        expect(version.secretProps).to.include("secretString");
    });

    it("no secret value appears in the --json plan output or the stack outputs", async () => {
        const ev = await stack("production");
        const doc = JSON.stringify(planJson(summarise(ev)));
        expect(doc).not.to.match(/mock-secret-/);
        expect(JSON.stringify(ev.outputs)).not.to.match(/mock-secret-/);
        // The outputs name the secrets (ARNs, names), never their values.
        expect(ev.outputs.dbMasterSecretArn).to.match(/^arn:aws:secretsmanager:us-east-1:/);
        expect(ev.outputs.drDbMasterSecretArn).to.match(/^arn:aws:secretsmanager:us-west-2:/);
        expect(Object.keys(ev.outputs).filter((k) => /password/i.test(k))).to.deep.equal([]);
    });
});

describe("data protection: backup storage", () => {
    it("backups bucket: db/daily/ expires after 30 days, db/weekly/ moves to a colder class then expires after 365, redis/ after 7", async () => {
        const ev = await stack("production");
        for (const name of [/^genie-primary-storage-backups-bucket$/, /^genie-primary-storage-dr-backups-bucket$/]) {
            const rules = lifecycleOf(ev, name);
            expect(rules["db-daily"].filter.prefix).to.equal(BACKUP_PREFIXES.dbDaily).and.equal("db/daily/");
            expect(rules["db-daily"].expiration.days).to.equal(DR_PLAN.dbDailyRetentionDays);
            expect(rules["db-weekly"].filter.prefix).to.equal("db/weekly/");
            expect(rules["db-weekly"].expiration.days).to.equal(DR_PLAN.dbWeeklyRetentionDays);
            expect(rules["db-weekly"].transitions).to.deep.equal([{ days: DR_PLAN.dbDailyRetentionDays, storageClass: COLD_STORAGE_CLASS }]);
            expect(rules["db-weekly"].transitions[0].days).to.be.below(rules["db-weekly"].expiration.days);
            expect(rules.redis.filter.prefix).to.equal("redis/");
            expect(rules.redis.expiration.days).to.equal(DR_PLAN.redisRetentionDays);
            for (const rule of Object.values(rules) as any[]) expect(rule.status).to.equal("Enabled");
        }
    });

    it("every bucket expires old versions, aborts incomplete multipart uploads and removes orphaned delete markers", async () => {
        for (const name of ["production", "dr"] as const) {
            const ev = await stack(name);
            const lifecycles = ours(ev).filter((r) => r.type === T.lifecycle);
            expect(lifecycles).to.have.length(ours(ev).filter((r) => r.type === T.bucket).length);
            for (const lc of lifecycles) {
                const housekeeping = lc.props.rules.find((r: any) => r.id === "housekeeping");
                expect(housekeeping.filter, lc.name).to.deep.equal({});
                expect(housekeeping.noncurrentVersionExpiration.noncurrentDays, lc.name).to.be.a("number").greaterThan(0);
                expect(housekeeping.abortIncompleteMultipartUpload.daysAfterInitiation, lc.name).to.be.a("number").greaterThan(0);
                expect(housekeeping.expiration.expiredObjectDeleteMarker).to.equal(true);
            }
        }
    });

    it("logs bucket keeps the ALB access logs 90 days and lets only the ALB write under alb/", async () => {
        for (const name of ["production", "dr"] as const) {
            const ev = await stack(name);
            const rules = lifecycleOf(ev, /-storage-logs-bucket$/);
            expect(rules.logs.expiration.days).to.equal(DR_PLAN.logRetentionDays);
            expect(rules.logs.filter).to.deep.equal({});
            const logs = one(ev, T.bucket, /-storage-logs-bucket$/);
            const policy = ofType(ev, T.bucketPolicy).find((p) => bucketOf(ev, p) === logs)!;
            const delivery = JSON.parse(policy.props.policy).Statement.find((s: any) => s.Sid === "AlbAccessLogDelivery");
            expect(delivery.Action).to.equal("s3:PutObject");
            expect(delivery.Resource).to.equal(`${logs.outputs.arn}/${ALB_LOGS_PREFIX}/AWSLogs/123456789012/*`);
            expect(delivery.Principal.AWS).to.match(name === "production" ? /127311923021/ : /797873946194/);
        }
    });

    it("every bucket is versioned, blocks all public access, and denies any request not made over TLS", async () => {
        for (const name of ["production", "dr"] as const) {
            const ev = await stack(name);
            for (const bucket of ours(ev).filter((r) => r.type === T.bucket)) {
                const versioning = ofType(ev, T.versioning).filter((v) => bucketOf(ev, v) === bucket);
                expect(versioning.map((v) => v.props.versioningConfiguration.status), bucket.name).to.deep.equal(["Enabled"]);
                const block = ofType(ev, T.publicBlock).find((p) => bucketOf(ev, p) === bucket)!;
                expect(block.props).to.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                const policy = ofType(ev, T.bucketPolicy).find((p) => bucketOf(ev, p) === bucket)!;
                const deny = JSON.parse(policy.props.policy).Statement.find((s: any) => s.Effect === "Deny");
                expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
                expect(deny.Principal).to.equal("*");
                expect(deny.Resource).to.deep.equal([bucket.outputs.arn, `${bucket.outputs.arn}/*`]);
                expect(policy.region).to.equal(bucket.region);
            }
        }
    });

    it("replicates the backups bucket to the DR region's backups bucket, re-encrypted with the DR key, keeping deleted backups there", async () => {
        const ev = await stack("production");
        const config = one(ev, T.replication, "genie-primary-storage-backups-replication");
        const source = bucketOf(ev, config);
        expect(source.name).to.equal("genie-primary-storage-backups-bucket");
        const [rule] = config.props.rules;
        expect(rule.status).to.equal("Enabled");
        const destination = resolve(ev, rule.destination.bucket)!;
        expect(destination.name).to.equal("genie-primary-storage-dr-backups-bucket");
        expect(destination.region).to.equal("us-west-2");
        expect(keyOf(ev, rule.destination.encryptionConfiguration.replicaKmsKeyId, "replica key").region).to.equal("us-west-2");
        expect(rule.sourceSelectionCriteria.sseKmsEncryptedObjects.status).to.equal("Enabled");
        expect(rule.deleteMarkerReplication.status).to.equal("Disabled");
        expect(rule.destination.replicationTime).to.deep.equal({ status: "Enabled", time: { minutes: 15 } });
        // Replication needs versioning on both ends first.
        const versionings = config.opts.dependsOn.map((urn) => resolve(ev, urn)!).filter((r) => r.type === T.versioning);
        expect(versionings.map((v) => bucketOf(ev, v).name).sort()).to.deep.equal([destination.name, source.name].sort());
    });

    it("replicates the uploads bucket in real time: Replication Time Control 15 minutes with metrics, delete markers replicated, to us-west-2", async () => {
        const ev = await stack("production");
        const config = one(ev, T.replication, "genie-primary-storage-uploads-replication");
        expect(bucketOf(ev, config).name).to.equal("genie-primary-storage-uploads-bucket");
        const [rule] = config.props.rules;
        expect(rule.destination.replicationTime).to.deep.equal({ status: "Enabled", time: { minutes: 15 } });
        expect(rule.destination.metrics).to.deep.equal({ status: "Enabled", eventThreshold: { minutes: 15 } });
        expect(rule.deleteMarkerReplication.status).to.equal("Enabled");
        const destination = resolve(ev, rule.destination.bucket)!;
        expect(destination.region).to.equal("us-west-2");
        expect(destination.name).to.equal("genie-primary-storage-dr-uploads-bucket");
    });

    it("the replication role may read only the source buckets and write only the replica buckets", async () => {
        const ev = await stack("production");
        const statements = JSON.parse(one(ev, "aws:iam/rolePolicy:RolePolicy", "genie-primary-storage-replication").props.policy).Statement;
        const resources = (action: string) => statements.filter((s: any) => [s.Action].flat().includes(action)).flatMap((s: any) => [s.Resource].flat());
        const names = (arns: string[]) => arns.map((a) => resolve(ev, a.replace(/\/\*$/, ""))?.name).sort();
        expect(names(resources("s3:GetObjectVersionForReplication"))).to.deep.equal(["genie-primary-storage-backups-bucket", "genie-primary-storage-uploads-bucket"]);
        expect(names(resources("s3:ReplicateObject"))).to.deep.equal(["genie-primary-storage-dr-backups-bucket", "genie-primary-storage-dr-uploads-bucket"]);
        expect(keyOf(ev, resources("kms:Decrypt")[0], "source key").region).to.equal("us-east-1");
        expect(keyOf(ev, resources("kms:GenerateDataKey")[0], "replica key").region).to.equal("us-west-2");
    });
});

describe("data protection: AWS Backup", () => {
    it("backs up every 6 hours kept 30 days with continuous backup, and weekly kept 365 days", async () => {
        const ev = await stack("production");
        const plan = one(ev, T.plan, "genie-primary-backup-plan");
        expect(plan.region).to.equal("us-east-1");
        const rules = Object.fromEntries((plan.props.rules as any[]).map((r) => [r.ruleName, r]));
        expect(Object.keys(rules).sort()).to.deep.equal(["every-6h", "weekly"]);
        expect(rules["every-6h"].schedule).to.equal("cron(0 0/6 * * ? *)");
        expect(rules["every-6h"].lifecycle).to.deep.equal({ deleteAfter: DR_PLAN.dbDailyRetentionDays });
        expect(rules["every-6h"].enableContinuousBackup).to.equal(true);
        expect(rules.weekly.schedule).to.equal("cron(0 5 ? * SUN *)");
        expect(rules.weekly.lifecycle.deleteAfter).to.equal(DR_PLAN.dbWeeklyRetentionDays);
        // AWS Backup: delete at least 90 days after the move to cold storage.
        expect(rules.weekly.lifecycle.deleteAfter - rules.weekly.lifecycle.coldStorageAfter).to.be.at.least(90);
        for (const rule of Object.values(rules) as any[]) {
            const vault = ofType(ev, T.vault).find((v) => v.outputs.name === rule.targetVaultName)!;
            expect(vault.region, rule.ruleName).to.equal("us-east-1");
        }
    });

    it("every rule copies its recovery points to the vault in the DR region, with the rule's own lifecycle", async () => {
        const ev = await stack("production");
        const plan = one(ev, T.plan, "genie-primary-backup-plan");
        for (const rule of plan.props.rules) {
            expect(rule.copyActions, rule.ruleName).to.have.length(1);
            const target = resolve(ev, rule.copyActions[0].destinationVaultArn)!;
            expect(target.type).to.equal(T.vault);
            expect(target.region).to.equal("us-west-2");
            expect(rule.copyActions[0].lifecycle).to.deep.equal(rule.lifecycle);
        }
    });

    it("follows stricter config: backups every 2 hours kept 60 days (continuous backup moves to its own 35-day rule)", async () => {
        const ev = await stackWith("production", { config: { backupIntervalHours: "2", dailyBackupRetentionDays: "60" } });
        const rules = Object.fromEntries((one(ev, T.plan, "genie-primary-backup-plan").props.rules as any[]).map((r) => [r.ruleName, r]));
        expect(rules["every-2h"].schedule).to.equal("cron(0 0/2 * * ? *)");
        expect(rules["every-2h"].lifecycle.deleteAfter).to.equal(60);
        expect(rules["every-2h"].enableContinuousBackup).to.equal(false);
        expect(rules.continuous.enableContinuousBackup).to.equal(true);
        expect(rules.continuous.lifecycle.deleteAfter).to.equal(35);
        const daily = lifecycleOf(ev, /^genie-primary-storage-backups-bucket$/)["db-daily"];
        expect(daily.expiration.days).to.equal(60);
    });

    it("selects the database by the backup-plan tag the database section puts on it", async () => {
        const ev = await stack("production");
        const selection = one(ev, T.selection, /genie-primary-backup-selection/);
        expect(selection.props.selectionTags).to.deep.equal([{ type: "STRINGEQUALS", key: BACKUP_SELECTION_TAG_KEY, value: "genie-primary" }]);
        expect(resolve(ev, selection.props.planId)!.type).to.equal(T.plan);
        expect(ev.outputs.dbBackupTagKey).to.equal("backup-plan");
        expect(ev.outputs.dbBackupTagValue).to.equal("genie-primary");
    });

    it("locks both vaults in compliance mode: minimum 30 days, maximum above the weekly retention, 3 grace days", async () => {
        const ev = await stack("production");
        const locks = ofType(ev, T.lock);
        expect(locks.map((l) => l.region).sort()).to.deep.equal(["us-east-1", "us-west-2"]);
        for (const lock of locks) {
            expect(lock.props.minRetentionDays).to.equal(DR_PLAN.dbDailyRetentionDays);
            expect(lock.props.maxRetentionDays).to.be.greaterThan(DR_PLAN.dbWeeklyRetentionDays);
            expect(lock.props.changeableForDays).to.equal(3);
            const vault = ofType(ev, T.vault).find((v) => v.outputs.name === lock.props.backupVaultName)!;
            expect(vault.region).to.equal(lock.region);
        }
    });

    it("governance mode, when configured, leaves out the grace period that makes the lock immutable", async () => {
        const ev = await stackWith("production", { config: { backupVaultLockMode: "governance" } });
        for (const lock of ofType(ev, T.lock)) expect(lock.props.changeableForDays).to.equal(undefined);
    });

    it("encrypts each vault with its own region's key and sends failed backup, copy and restore jobs to an alert topic in that region", async () => {
        const ev = await stack("production");
        for (const vault of ofType(ev, T.vault)) {
            expect(keyOf(ev, vault.props.kmsKeyArn, vault.name).region).to.equal(vault.region);
            const notifications = ofType(ev, T.notifications).find((n) => n.props.backupVaultName === vault.outputs.name)!;
            expect(notifications.props.backupVaultEvents).to.include.members(["BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"]);
            expect(notifications.props.backupVaultEvents).to.deep.equal([...VAULT_ALERT_EVENTS]);
            const topic = resolve(ev, notifications.props.snsTopicArn)!;
            expect(topic.type).to.equal(T.topic);
            expect(topic.region).to.equal(vault.region);
            expect(keyOf(ev, topic.props.kmsMasterKeyId, topic.name).region).to.equal(vault.region);
        }
        expect(ev.outputs.backupAlertTopicArn).to.match(/^arn:aws:sns:us-east-1:/);
        expect(ev.outputs.drBackupAlertTopicArn).to.match(/^arn:aws:sns:us-west-2:/);
    });
});

describe("data protection: restore testing", () => {
    it("tests a restore weekly from the newest recovery point and monthly from a random one within the daily window", async () => {
        const ev = await stack("production");
        const plans = Object.fromEntries(ofType(ev, T.restorePlan).map((p) => [p.props.name, p]));
        expect(Object.keys(plans).sort()).to.deep.equal(["genie_primary_monthly", "genie_primary_weekly"]);
        const weekly = plans.genie_primary_weekly.props;
        expect(weekly.scheduleExpression).to.equal("cron(0 6 ? * MON *)");
        expect(weekly.recoveryPointSelection.algorithm).to.equal("LATEST_WITHIN_WINDOW");
        expect(weekly.recoveryPointSelection.selectionWindowDays).to.equal(7);
        const monthly = plans.genie_primary_monthly.props;
        expect(monthly.scheduleExpression).to.equal("cron(0 6 1 * ? *)");
        expect(monthly.recoveryPointSelection.algorithm).to.equal("RANDOM_WITHIN_WINDOW");
        expect(monthly.recoveryPointSelection.selectionWindowDays).to.equal(DR_PLAN.dbDailyRetentionDays);
        for (const p of Object.values(plans) as RecordedResource[]) {
            const vaults = p.props.recoveryPointSelection.includeVaults.map((arn: string) => resolve(ev, arn)!);
            expect(vaults.map((v: RecordedResource) => [v.type, v.region])).to.deep.equal([[T.vault, "us-east-1"]]);
        }
    });

    it("each restore test selects the tagged database and gives it a validation window", async () => {
        const ev = await stack("production");
        const selections = ofType(ev, T.restoreSelection);
        expect(selections).to.have.length(2);
        for (const s of selections) {
            expect(s.props.protectedResourceType).to.equal("RDS");
            expect(s.props.protectedResourceConditions.stringEquals).to.deep.equal([{ key: "aws:ResourceTag/backup-plan", value: "genie-primary" }]);
            expect(s.props.validationWindowHours).to.be.within(1, 168);
            expect(s.props.name).to.match(/^[A-Za-z0-9_]+$/);
        }
    });

    it("drillsEnabled=false leaves the restore tests out", async () => {
        const ev = await stackWith("production", { config: { drillsEnabled: "false" } });
        expect(ofType(ev, T.restorePlan)).to.deep.equal([]);
    });
});

describe("data protection: container registry", () => {
    it("keeps the app image in an ECR repository with scan on push, immutable tags, the site key and a lifecycle that keeps the last 10", async () => {
        const ev = await stack("production");
        const repo = one(ev, T.repository, /registry-repository$/);
        expect(repo.props.name).to.equal(APP_REPOSITORY_NAME);
        expect(repo.props.imageTagMutability).to.equal("IMMUTABLE");
        expect(repo.props.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
        expect(repo.props.encryptionConfigurations[0].encryptionType).to.equal("KMS");
        expect(keyOf(ev, repo.props.encryptionConfigurations[0].kmsKey, repo.name).region).to.equal("us-east-1");
        const policy = JSON.parse(one(ev, T.ecrLifecycle, /registry-lifecycle$/).props.policy);
        expect(policy.rules).to.have.length(1);
        expect(policy.rules[0].selection).to.deep.equal({ tagStatus: "any", countType: "imageCountMoreThan", countNumber: DR_PLAN.imageVersionsKept });
        expect(policy.rules[0].action).to.deep.equal({ type: "expire" });
    });

    it("replicates the registry to the DR region once, where a creation template gives the replica the same rules and the DR key", async () => {
        const ev = await stack("production");
        const replications = ofType(ev, T.ecrReplication);
        expect(replications).to.have.length(1);
        expect(replications[0].region).to.equal("us-east-1");
        const [rule] = replications[0].props.replicationConfiguration.rules;
        expect(rule.destinations).to.deep.equal([{ region: "us-west-2", registryId: "123456789012" }]);
        expect(rule.repositoryFilters).to.deep.equal([{ filter: APP_REPOSITORY_NAME, filterType: "PREFIX_MATCH" }]);
        const template = one(ev, T.ecrTemplate, /dr-template$/);
        expect(template.region).to.equal("us-west-2");
        expect(template.props.appliedFors).to.deep.equal(["REPLICATION"]);
        expect(template.props.imageTagMutability).to.equal("IMMUTABLE");
        expect(JSON.parse(template.props.lifecyclePolicy).rules[0].selection.countNumber).to.equal(DR_PLAN.imageVersionsKept);
        expect(keyOf(ev, template.props.encryptionConfigurations[0].kmsKey, template.name).region).to.equal("us-west-2");
        expect(ev.outputs.drEcrRepositoryUrl).to.equal(`123456789012.dkr.ecr.us-west-2.amazonaws.com/${APP_REPOSITORY_NAME}`);
    });
});

describe("data protection: every resource", () => {
    for (const name of ["production", "dr"] as const) {
        it(`${name}: every encrypted resource uses the customer-managed key of its own region`, async () => {
            const ev = await stack(name);
            const checks: [RecordedResource, string | undefined][] = [
                ...ours(ev).filter((r) => r.type === T.sse)
                    .filter((s) => !/-logs-/.test(s.name))
                    .map((s): [RecordedResource, string] => [s, s.props.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId]),
                ...ours(ev).filter((r) => r.type === T.secret).map((s): [RecordedResource, string] => [s, s.props.kmsKeyId]),
                ...ours(ev).filter((r) => r.type === T.vault).map((v): [RecordedResource, string] => [v, v.props.kmsKeyArn]),
                ...ours(ev).filter((r) => r.type === T.repository).map((r): [RecordedResource, string] => [r, r.props.encryptionConfigurations[0].kmsKey]),
                ...ours(ev).filter((r) => r.type === T.topic).map((t): [RecordedResource, string] => [t, t.props.kmsMasterKeyId]),
            ];
            for (const [resource, keyArn] of checks) {
                expect(keyArn, resource.name).to.be.a("string");
                expect(keyOf(ev, keyArn!, resource.name).region, resource.name).to.equal(resource.region);
            }
            for (const sse of ours(ev).filter((r) => r.type === T.sse).filter((s) => !/-logs-/.test(s.name))) {
                expect(sse.props.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
                expect(sse.props.rules[0].bucketKeyEnabled).to.equal(true);
            }
            // The ALB access-log bucket: Elastic Load Balancing writes only to SSE-S3 buckets.
            const logs = one(ev, T.sse, /-logs-encryption$/);
            expect(logs.props.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "AES256" });
        });

        it(`${name}: every stateful resource is protected and retained on delete`, async () => {
            const ev = await stack(name);
            const stateful = ours(ev).filter((r) => (STATEFUL as readonly string[]).includes(r.type));
            // production: 2 keys, 5 buckets (3 + 2 replicas), 2 secrets, 2 vaults and their locks, 1 repository; dr: its key and log bucket.
            expect(stateful.length).to.be.at.least(name === "production" ? 14 : 2);
            for (const r of stateful) expect(r.opts, `${r.type} ${r.name}`).to.include({ protect: true, retainOnDelete: true });
        });
    }

    it("protect=false in config lifts protection but still retains stateful resources on delete", async () => {
        const ev = await stackWith("production", { config: { protect: "false" } });
        const stateful = ours(ev).filter((r) => (STATEFUL as readonly string[]).includes(r.type));
        for (const r of stateful) expect(r.opts, `${r.type} ${r.name}`).to.include({ protect: false, retainOnDelete: true });
    });

    it("rejects a daily backup retention below the plan with a clear message, before any resource is declared", async () => {
        const message = await configError({ dailyBackupRetentionDays: "14" });
        expect(message).to.match(/genie-infra:dailyBackupRetentionDays = 14: allowed: 30 to 36500 days; below 30 breaks the plan \("30 days for daily backups"\)/);
    });

    it("rejects weekly, Redis and log retentions below the plan, and a vault lock maximum under the weekly retention", async () => {
        expect(await configError({ weeklyBackupRetentionDays: "90" })).to.match(/weeklyBackupRetentionDays = 90: allowed: 365 to/);
        expect(await configError({ redisSnapshotRetentionDays: "3" })).to.match(/redisSnapshotRetentionDays = 3: allowed: 7 to/);
        expect(await configError({ imageVersionsKept: "5" })).to.match(/imageVersionsKept = 5: allowed: 10 to 1000/);
        expect(await configError({ weeklyBackupRetentionDays: "4000" })).to.match(
            /backupVaultLockMaxRetentionDays = 3653: must exceed genie-infra:weeklyBackupRetentionDays \(4000\)/,
        );
        expect(await configError({ backupVaultLockMode: "none" })).to.match(/backupVaultLockMode = "none": allowed: compliance, governance/);
    });
});

describe("data protection: the recovery landing zone", () => {
    it("production declares the DR key, vault, replica buckets and ECR template with the DR region's provider", async () => {
        const ev = await stack("production");
        const drProvider = ofType(ev, "pulumi:providers:aws").find((p) => p.region === "us-west-2")!;
        const inDr = ev.resources.filter((r) => r.region === "us-west-2" && r.custom && r.type.startsWith("aws:"));
        const types = new Set(inDr.map((r) => r.type));
        for (const t of [T.key, T.vault, T.lock, T.notifications, T.bucket, T.versioning, T.lifecycle, T.ecrTemplate, T.topic]) {
            expect(types.has(t), t).to.equal(true);
        }
        for (const r of inDr) expect(r.provider, r.name).to.equal(drProvider.urn);
        expect(ofType(ev, T.bucket).filter((b) => b.region === "us-west-2").map((b) => b.name).sort()).to.deep.equal([
            "genie-primary-storage-dr-backups-bucket",
            "genie-primary-storage-dr-uploads-bucket",
        ]);
    });

    it("production exports what the DR stack needs: DR key, DR vault, replica buckets, ECR, secret ARNs and the backup tag", async () => {
        const ev = await stack("production");
        const o = ev.outputs as Record<string, any>;
        expect(keyOf(ev, o.drKmsKeyArn, "drKmsKeyArn").region).to.equal("us-west-2");
        expect(resolve(ev, o.drBackupVaultArn)!.region).to.equal("us-west-2");
        expect(o.drBackupVaultName).to.equal("genie-primary-dr-backup-vault");
        expect(o.drBackupsBucketName).to.equal("genie-primary-storage-dr-backups-bucket");
        expect(o.drUploadsBucketName).to.equal("genie-primary-storage-dr-uploads-bucket");
        expect(o.ecrRepositoryName).to.equal(APP_REPOSITORY_NAME);
        expect(o.ecrRepositoryUrl).to.match(/\.dkr\.ecr\.us-east-1\.amazonaws\.com\/genie-ai-server$/);
        expect(o.drDbMasterSecretArn).to.equal(String(o.dbMasterSecretArn).replace(":us-east-1:", ":us-west-2:"));
        expect(o.drAppEnvSecretArn).to.match(/^arn:aws:secretsmanager:us-west-2:123456789012:secret:genie\/primary\/app-env-/);
        expect(o.dbBackupTagKey).to.equal("backup-plan");
    });

    it("the dr stack has its own key and ALB log bucket in us-west-2 and reads the replicated image and secrets by name", async () => {
        const ev = await stack("dr");
        expect(one(ev, T.key, "genie-dr-key-key").region).to.equal("us-west-2");
        const buckets = ofType(ev, T.bucket);
        expect(buckets.map((b) => [b.name, b.region])).to.deep.equal([["genie-dr-storage-logs-bucket", "us-west-2"]]);
        // Nothing the landing zone owns is declared twice: no vault, plan, registry or secret of its own.
        for (const t of [T.vault, T.plan, T.repository, T.ecrReplication]) expect(ofType(ev, t), t).to.deep.equal([]);
        expect(ofType(ev, "genie:secrets:SiteSecrets")).to.deep.equal([]);
        expect(ev.outputs.ecrRepositoryUrl).to.equal(`123456789012.dkr.ecr.us-west-2.amazonaws.com/${APP_REPOSITORY_NAME}`);
        expect(ev.outputs.dbMasterSecretName).to.equal("genie/primary/db-master");
        const storage = one(ev, "genie:storage:BackupStorage", "genie-dr-storage");
        expect(new Set(childrenOf(ev, storage).filter((r) => r.custom).map((r) => r.region))).to.deep.equal(new Set(["us-west-2"]));
    });
});

describe("data protection: failback replication", () => {
    for (const purpose of ["backups", "uploads"] as const) {
        it(`replicates what an active DR site writes to the landing zone's ${purpose} bucket back to the primary ${purpose} bucket, within 15 minutes`, async () => {
            const ev = await stack("production");
            const back = one(ev, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", `genie-primary-storage-dr-${purpose}-replication`);
            expect(back.region).to.equal("us-west-2");
            expect(back.props.bucket).to.equal(`genie-primary-storage-dr-${purpose}-bucket`);
            const rule = back.props.rules[0];
            expect(resolve(ev, rule.destination.bucket)!.name).to.equal(`genie-primary-storage-${purpose}-bucket`);
            expect(resolve(ev, rule.destination.bucket)!.region).to.equal("us-east-1");
            expect(rule.destination.replicationTime).to.deep.equal({ status: "Enabled", time: { minutes: 15 } });
            expect(resolve(ev, rule.destination.encryptionConfiguration.replicaKmsKeyId)!.region).to.equal("us-east-1");
            // Its role reads only the DR-region buckets and writes only the primary ones.
            const policy = JSON.parse(one(ev, "aws:iam/rolePolicy:RolePolicy", "genie-primary-storage-dr-replication").props.policy);
            const writes = policy.Statement.find((s: any) => s.Action.includes("s3:ReplicateObject")).Resource;
            expect(writes).to.include(`arn:aws:s3:::genie-primary-storage-${purpose}-bucket/*`);
            expect(writes.every((r: string) => !r.includes("-dr-"))).to.equal(true);
        });
    }
});
