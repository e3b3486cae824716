// Over 300 lines on purpose: test corpus: keys, secrets, buckets, vaults, backup plans, restore tests and the
// registry of both stacks.
import { expect } from "chai";
import { ALB_LOGS_PREFIX, BACKUP_PREFIXES, COLD_STORAGE_CLASS } from "../components/backup-storage";
import { BACKUP_SELECTION_TAG_KEY, CONTINUOUS_RULE_NAME, VAULT_ALERT_EVENTS } from "../components/backup-plan";
import { runResourceRule } from "../policies/harness";
import { backupPlanCrossRegionCopy, backupPlanFrequency, backupPlanRetention } from "../policies/rules/backup";
import { APP_REPOSITORY_NAME } from "../components/registry";
import { templateApplies } from "../offline/aws-rules/ecr";
import { DR_PLAN } from "../infra/dr-plan";
import { EvaluationError, MOCK_ACCOUNT_ID, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { planJson, summarise } from "../offline/plan";
import { ruleContext } from "../offline/aws-rules";
import { AWS_TYPES } from "../policies/aws-types";
import { findKey, keyPolicyOf, policyAllows } from "../offline/aws-rules/iam-kms";
import { childrenOf, ofType, one, resolve, stack, stackWith } from "./support/stacks";

/** Resource types: policies/aws-types.ts. */
const T = AWS_TYPES;

/** Stateful resources: each must be protected (config `protect`) and retained on delete. */
const STATEFUL = [T.bucket, T.kmsKey, T.secret, T.backupVault, T.backupVaultLock, T.repository];

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
    expect(key?.type, `${what}: ${arn}`).to.equal(T.kmsKey);
    return key!;
}

function lifecycleOf(ev: StackEvaluation, bucketName: RegExp) {
    const lc = ofType(ev, T.bucketLifecycle).find((l) => bucketName.test(bucketOf(ev, l).name));
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
        expect(one(ev, T.kmsKey, "genie-primary-key-key").region).to.equal("us-east-1");
        expect(one(ev, T.kmsKey, "genie-primary-dr-key-key").region).to.equal("us-west-2");
        for (const k of ofType(ev, T.kmsKey)) {
            expect(k.props.enableKeyRotation, k.name).to.equal(true);
            expect(k.props.deletionWindowInDays, k.name).to.equal(30);
            const alias = ofType(ev, T.kmsAlias).find((a) => a.props.targetKeyId === k.outputs.keyId)!;
            expect(alias.region).to.equal(k.region);
        }
    });

    it("key policy: the account administers it, CloudWatch Logs of its own region and this account's topic publishers may use it", async () => {
        const ev = await stack("production");
        for (const k of ofType(ev, T.kmsKey)) {
            const statements = JSON.parse(k.props.policy).Statement;
            const byId = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
            expect(byId.AccountAdministersAndEnablesIamPolicies.Principal.AWS).to.equal("arn:aws:iam::123456789012:root");
            expect(byId.CloudWatchLogsOfThisAccount.Principal.Service).to.equal(`logs.${k.region}.amazonaws.com`);
            expect(byId.CloudWatchLogsOfThisAccount.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).to.equal(`arn:aws:logs:${k.region}:123456789012:log-group:*`);
            expect(byId.ServicesPublishingToThisAccountsTopics.Principal.Service).to.include.members(["backup.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"]);
            // Scoped by the topic ARN SNS puts in the encryption context, not by aws:SourceAccount, which
            // EventBridge does not send (issue 12: the backup-job-failed events were dropped).
            expect(byId.ServicesPublishingToThisAccountsTopics.Condition).to.deep.equal({ ArnLike: { "kms:EncryptionContext:aws:sns:topicArn": `arn:aws:sns:${k.region}:123456789012:*` } });
            expect(byId.LogDeliveryOfEncryptedStateMachines.Principal.Service).to.equal("delivery.logs.amazonaws.com");
        }
    });

    describe("every AWS service that writes to an encrypted topic or log group may use its key (issue 12)", () => {
        /** Publishers of SNS topics: the service, the topics, and the aws:Source* keys it sends (EventBridge sends none). */
        const publishers = (ev: StackEvaluation) => [
            ...ofType(ev, T.eventTarget).map((r) => ({ r, service: "events.amazonaws.com", topics: [r.props.arn], sourceKeys: false })),
            ...[...ofType(ev, T.metricAlarm), ...ofType(ev, T.compositeAlarm)].map((r) => ({
                r, service: "cloudwatch.amazonaws.com", topics: [...(r.props.alarmActions ?? []), ...(r.props.okActions ?? [])], sourceKeys: true,
            })),
            ...ofType(ev, T.dbEventSubscription).map((r) => ({ r, service: "events.rds.amazonaws.com", topics: [r.props.snsTopic], sourceKeys: true })),
            ...ofType(ev, T.backupVaultNotifications).map((r) => ({ r, service: "backup.amazonaws.com", topics: [r.props.snsTopicArn], sourceKeys: true })),
        ];

        for (const [name, options] of [["production", {}], ["dr", {}], ["dr active", { config: { siteRole: "active" } }]] as const) {
            it(`${name}: each publisher of each encrypted topic can encrypt its messages (EventBridge without aws:Source* conditions)`, async () => {
                const ev = name === "production" ? await stack("production") : await stackWith("dr", options);
                const ctx = ruleContext(ev.resources);
                const seen = new Set<string>();
                for (const { r, service, topics, sourceKeys } of publishers(ev)) {
                    for (const topicArn of topics.filter((t: unknown) => typeof t === "string" && t.includes(":sns:"))) {
                        const topic = ctx.resolve(topicArn, T.topic);
                        if (!topic?.props.kmsMasterKeyId) continue;
                        const key = findKey(ctx, topic.props.kmsMasterKeyId)!;
                        expect(key, `${topic.name}'s key`).to.not.equal(undefined);
                        const context = {
                            "kms:EncryptionContext:aws:sns:topicArn": topicArn,
                            ...(sourceKeys ? { "aws:SourceAccount": "123456789012", "aws:SourceArn": r.outputs.arn } : {}),
                        };
                        for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
                            expect(policyAllows(keyPolicyOf(ctx, key), { action, principal: { service }, context }), `${service} (${r.name}) ${action} on ${key.name} for ${topic.name}`).to.equal(true);
                        }
                        seen.add(service);
                    }
                }
                expect([...seen]).to.include.members(["events.amazonaws.com", "cloudwatch.amazonaws.com", "events.rds.amazonaws.com"]);
            });
        }

        it("production: CloudWatch Logs may use the key of each encrypted log group (for that log group), and log delivery may decrypt for encrypted state machines", async () => {
            const ev = await stack("production");
            const ctx = ruleContext(ev.resources);
            const groups = ofType(ev, T.logGroup).filter((g) => g.props.kmsKeyId);
            expect(groups.length).to.be.greaterThan(3);
            for (const g of groups) {
                const key = findKey(ctx, g.props.kmsKeyId)!;
                const req = { principal: { service: `logs.${g.region}.amazonaws.com` }, context: { "kms:EncryptionContext:aws:logs:arn": g.outputs.arn } };
                for (const action of ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]) {
                    expect(policyAllows(keyPolicyOf(ctx, key), { action, ...req }), `${g.name} ${action}`).to.equal(true);
                }
            }
            const machines = ofType(ev, T.stateMachine).filter((m) => m.props.encryptionConfiguration?.kmsKeyId && m.props.loggingConfiguration);
            expect(machines.length).to.be.greaterThan(0);
            for (const m of machines) {
                const key = findKey(ctx, m.props.encryptionConfiguration.kmsKeyId)!;
                expect(policyAllows(keyPolicyOf(ctx, key), { action: "kms:Decrypt", principal: { service: "delivery.logs.amazonaws.com" } }), m.name).to.equal(true);
            }
        });
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
            const lifecycles = ours(ev).filter((r) => r.type === T.bucketLifecycle);
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
                const versioning = ofType(ev, T.bucketVersioning).filter((v) => bucketOf(ev, v) === bucket);
                expect(versioning.map((v) => v.props.versioningConfiguration.status), bucket.name).to.deep.equal(["Enabled"]);
                const block = ofType(ev, T.bucketPublicAccessBlock).find((p) => bucketOf(ev, p) === bucket)!;
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
        const config = one(ev, T.bucketReplication, "genie-primary-storage-backups-replication");
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
        const versionings = config.opts.dependsOn.map((urn) => resolve(ev, urn)!).filter((r) => r.type === T.bucketVersioning);
        expect(versionings.map((v) => bucketOf(ev, v).name).sort()).to.deep.equal([destination.name, source.name].sort());
    });

    it("replicates the uploads bucket in real time: Replication Time Control 15 minutes with metrics, delete markers replicated, to us-west-2", async () => {
        const ev = await stack("production");
        const config = one(ev, T.bucketReplication, "genie-primary-storage-uploads-replication");
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
        const statements = JSON.parse(one(ev, T.iamRolePolicy, "genie-primary-storage-replication").props.policy).Statement;
        const resources = (action: string) => statements.filter((s: any) => [s.Action].flat().includes(action)).flatMap((s: any) => [s.Resource].flat());
        const names = (arns: string[]) => arns.map((a) => resolve(ev, a.replace(/\/\*$/, ""))?.name).sort();
        expect(names(resources("s3:GetObjectVersionForReplication"))).to.deep.equal([
            "genie-primary-storage-backups-bucket",
            "genie-primary-storage-cache-exports-bucket",
            "genie-primary-storage-uploads-bucket",
        ]);
        expect(names(resources("s3:ReplicateObject"))).to.deep.equal([
            "genie-primary-storage-dr-backups-bucket",
            "genie-primary-storage-dr-cache-exports-bucket",
            "genie-primary-storage-dr-uploads-bucket",
        ]);
        expect(keyOf(ev, resources("kms:Decrypt")[0], "source key").region).to.equal("us-east-1");
        expect(keyOf(ev, resources("kms:GenerateDataKey")[0], "replica key").region).to.equal("us-west-2");
    });

    it("logs every S3 access to the backups, uploads and Redis exports buckets, primary and replica, into an SSE-S3 logs bucket of the same region", async () => {
        const ev = await stack("production");
        const logged = ["backups", "uploads", "cache-exports", "dr-backups", "dr-uploads", "dr-cache-exports"].map((p) => one(ev, T.bucket, `genie-primary-storage-${p}-bucket`));
        for (const bucket of logged) {
            const logging = ofType(ev, T.bucketLogging).filter((l) => bucketOf(ev, l) === bucket);
            expect(logging, bucket.name).to.have.length(1);
            const target = ofType(ev, T.bucket).find((b) => b.outputs.bucket === logging[0].props.targetBucket)!;
            expect(target.name, bucket.name).to.equal(bucket.region === "us-east-1" ? "genie-primary-storage-logs-bucket" : "genie-primary-storage-dr-logs-bucket");
            expect(target.region).to.equal(bucket.region);
            expect(logging[0].props.targetPrefix).to.match(/^s3-access\/[a-z-]+\/$/);
            // S3 delivers server access logs only to SSE-S3 targets; with ACLs disabled, through the target's bucket policy.
            expect(one(ev, T.bucketEncryption, target.name.replace(/-bucket$/, "-encryption")).props.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "AES256" });
            const policy = ofType(ev, T.bucketPolicy).find((p) => bucketOf(ev, p) === target)!;
            const delivery = JSON.parse(policy.props.policy).Statement.find((st: any) => st.Sid === "S3ServerAccessLogDelivery");
            expect(delivery.Principal).to.deep.equal({ Service: "logging.s3.amazonaws.com" });
            expect(delivery.Resource).to.equal(`${target.outputs.arn}/s3-access/*`);
            expect(delivery.Condition.ArnLike["aws:SourceArn"]).to.include(bucket.outputs.arn);
            expect(delivery.Condition.StringEquals["aws:SourceAccount"]).to.equal("123456789012");
            // The delivery permission exists before logging is turned on.
            expect(logging[0].opts.dependsOn).to.include(policy.urn);
        }
        // The logs buckets themselves do not log (an infinite loop of logs, AWS).
        for (const logs of ofType(ev, T.bucket).filter((b) => /-logs-bucket$/.test(b.name))) {
            expect(ofType(ev, T.bucketLogging).filter((l) => bucketOf(ev, l) === logs), logs.name).to.deep.equal([]);
        }
    });

    it("keeps the Redis exports in an SSE-S3 bucket per region that ElastiCache of that region may write and read, for the plan's 7 days, replicated both ways", async () => {
        const ev = await stack("production");
        for (const [name, region] of [["genie-primary-storage-cache-exports", "us-east-1"], ["genie-primary-storage-dr-cache-exports", "us-west-2"]] as const) {
            const bucket = one(ev, T.bucket, `${name}-bucket`);
            expect(bucket.region).to.equal(region);
            // A fixed name: the dr stack finds the one in its region from its own account and region.
            expect(bucket.outputs.bucket).to.equal(`genie-primary-storage-redis-123456789012-${region}`);
            expect(bucket.outputs.bucket.length).to.be.at.most(63);
            expect(bucket.props.tags).to.deep.equal({ purpose: "cache-exports" });
            // ElastiCache exports (and seeds from) SSE-S3 files only.
            expect(one(ev, T.bucketEncryption, `${name}-encryption`).props.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "AES256" });
            // ACLs disabled: the bucket policy, not the canonical-ID ACL grant, lets ElastiCache in.
            expect(one(ev, T.bucketOwnershipControls, `${name}-ownership`).props.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
            const statements = JSON.parse(one(ev, T.bucketPolicy, `${name}-policy`).props.policy).Statement;
            const elastiCache = statements.find((st: any) => st.Sid === "ElastiCacheSnapshotExportAndSeed");
            expect(elastiCache.Principal).to.deep.equal({ Service: `${region}.elasticache-snapshot.amazonaws.com` });
            expect(elastiCache.Action).to.have.members(["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"]);
            expect(elastiCache.Resource).to.deep.equal([bucket.outputs.arn, `${bucket.outputs.arn}/*`]);
            const rules = lifecycleOf(ev, new RegExp(`^${name}-bucket$`));
            expect(rules["redis-exports"].expiration.days).to.equal(DR_PLAN.redisRetentionDays);
            expect(rules["redis-exports"].filter).to.deep.equal({});
        }
        for (const [config, from, to] of [
            ["genie-primary-storage-cache-replication", "genie-primary-storage-cache-exports-bucket", "genie-primary-storage-dr-cache-exports-bucket"],
            ["genie-primary-storage-dr-cache-replication", "genie-primary-storage-dr-cache-exports-bucket", "genie-primary-storage-cache-exports-bucket"],
        ]) {
            const replication = one(ev, T.bucketReplication, config);
            expect(bucketOf(ev, replication).name).to.equal(from);
            const [rule] = replication.props.rules;
            expect(resolve(ev, rule.destination.bucket)!.name).to.equal(to);
            expect(rule.destination.replicationTime).to.deep.equal({ status: "Enabled", time: { minutes: 15 } });
            // SSE-S3 stays SSE-S3 in the other region (a replica key would make the seed unreadable to ElastiCache).
            expect(rule.destination.encryptionConfiguration).to.equal(undefined);
            expect(rule.deleteMarkerReplication.status).to.equal("Disabled");
        }
        expect(ev.outputs.cacheExportsBucketName).to.equal("genie-primary-storage-redis-123456789012-us-east-1");
        expect(ev.outputs.drCacheExportsBucketName).to.equal("genie-primary-storage-redis-123456789012-us-west-2");
    });
});

describe("data protection: AWS Backup", () => {
    it("takes a snapshot every 6 hours kept 30 days, keeps continuous backup in a rule of its own, and a weekly snapshot kept 365 days", async () => {
        const ev = await stack("production");
        const plan = one(ev, T.backupPlan, "genie-primary-backup-plan");
        expect(plan.region).to.equal("us-east-1");
        const rules = Object.fromEntries((plan.props.rules as any[]).map((r) => [r.ruleName, r]));
        expect(Object.keys(rules).sort()).to.deep.equal(["continuous", "every-6h", "weekly"]);
        expect(rules["every-6h"].schedule).to.equal("cron(0 0/6 * * ? *)");
        expect(rules["every-6h"].lifecycle).to.deep.equal({ deleteAfter: DR_PLAN.dbDailyRetentionDays });
        // Continuous backup keeps ONE recovery point and takes no snapshot: on this rule there would be no 6-hourly snapshots.
        expect(rules["every-6h"].enableContinuousBackup).to.equal(false);
        expect(rules[CONTINUOUS_RULE_NAME].enableContinuousBackup).to.equal(true);
        // AWS Backup: 1 to 35 days, no cold storage; the database's point-in-time window (and at least the vault lock's minimum).
        expect(rules[CONTINUOUS_RULE_NAME].lifecycle).to.deep.equal({ deleteAfter: DR_PLAN.dbDailyRetentionDays });
        expect(rules.weekly.enableContinuousBackup ?? false).to.equal(false);
        expect(rules.weekly.schedule).to.equal("cron(0 5 ? * SUN *)");
        expect(rules.weekly.lifecycle.deleteAfter).to.equal(DR_PLAN.dbWeeklyRetentionDays);
        // AWS Backup: delete at least 90 days after the move to cold storage.
        expect(rules.weekly.lifecycle.deleteAfter - rules.weekly.lifecycle.coldStorageAfter).to.be.at.least(90);
        for (const rule of Object.values(rules) as any[]) {
            const vault = ofType(ev, T.backupVault).find((v) => v.outputs.name === rule.targetVaultName)!;
            expect(vault.region, rule.ruleName).to.equal("us-east-1");
        }
    });

    it("every snapshot rule copies its recovery points to the vault in the DR region, with the rule's own lifecycle; the continuous rule stays in its region", async () => {
        const ev = await stack("production");
        const plan = one(ev, T.backupPlan, "genie-primary-backup-plan");
        // A copy of a continuous backup is only a snapshot (and needs a temporary snapshot deleted): the snapshot rules copy.
        expect((plan.props.rules as any[]).find((r) => r.ruleName === CONTINUOUS_RULE_NAME).copyActions).to.equal(undefined);
        for (const rule of (plan.props.rules as any[]).filter((r) => r.ruleName !== CONTINUOUS_RULE_NAME)) {
            expect(rule.copyActions, rule.ruleName).to.have.length(1);
            const target = resolve(ev, rule.copyActions[0].destinationVaultArn)!;
            expect(target.type).to.equal(T.backupVault);
            expect(target.region).to.equal("us-west-2");
            expect(rule.copyActions[0].lifecycle).to.deep.equal(rule.lifecycle);
        }
    });

    it("follows stricter config: snapshots every 2 hours kept 60 days; the continuous rule keeps the point-in-time window", async () => {
        const ev = await stackWith("production", { config: { backupIntervalHours: "2", dailyBackupRetentionDays: "60", dbPointInTimeRetentionDays: "35" } });
        const rules = Object.fromEntries((one(ev, T.backupPlan, "genie-primary-backup-plan").props.rules as any[]).map((r) => [r.ruleName, r]));
        expect(rules["every-2h"].schedule).to.equal("cron(0 0/2 * * ? *)");
        expect(rules["every-2h"].lifecycle.deleteAfter).to.equal(60);
        expect(rules["every-2h"].enableContinuousBackup).to.equal(false);
        expect(rules.continuous.enableContinuousBackup).to.equal(true);
        expect(rules.continuous.lifecycle.deleteAfter).to.equal(35);
        const daily = lifecycleOf(ev, /^genie-primary-storage-backups-bucket$/)["db-daily"];
        expect(daily.expiration.days).to.equal(60);
    });

    it("backs up through a role with AWS Backup's backup and restore policies: rds:DeleteDBSnapshot, which expiring and copying RDS snapshots need, is the backup policy's", async () => {
        const ev = await stack("production");
        const selection = one(ev, T.backupSelection, /genie-primary-backup-selection/);
        const role = resolve(ev, selection.props.iamRoleArn)!;
        const attached = ofType(ev, T.iamRolePolicyAttachment).filter((a) => a.props.role === role.outputs.name).map((a) => a.props.policyArn);
        expect(attached).to.have.members([
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        ]);
    });

    it("the policy pack does not count a continuous rule as the 6-hourly, daily or weekly backups, nor ask it to copy", async () => {
        const plan = (rules: any[]) => ({ type: T.backupPlan, name: "plan", urn: "urn:pulumi:test::genie-infra::aws:backup/plan:Plan::plan", props: { rules } });
        const weekly = { ruleName: "weekly", schedule: "cron(0 5 ? * SUN *)", lifecycle: { deleteAfter: 365 }, copyActions: [{ destinationVaultArn: "arn:aws:backup:us-west-2:1:backup-vault:dr", lifecycle: { deleteAfter: 365 } }] };
        const continuousEvery6h = { ruleName: "continuous", schedule: "cron(0 0/6 * * ? *)", enableContinuousBackup: true, lifecycle: { deleteAfter: 30 } };
        // (Before: a continuous rule scheduled every 6 h passed for the plan's 6-hourly backups.)
        const onlyContinuous = await runResourceRule(backupPlanFrequency, plan([continuousEvery6h, weekly]), {});
        expect(onlyContinuous.violations.map((v) => v.message).join()).to.match(/no snapshot rule runs at least every 6 h/);
        // startWindow 60 (AWS's minimum, as the program declares it): an unset window lets a job start 8 h late.
        const snapshots = { ...continuousEvery6h, ruleName: "every-6h", enableContinuousBackup: false, startWindow: 60, copyActions: weekly.copyActions.map((c) => ({ ...c, lifecycle: { deleteAfter: 30 } })) };
        const declared = (one(await stack("production"), T.backupPlan, "genie-primary-backup-plan").props.rules as any[]);
        for (const rule of [backupPlanFrequency, backupPlanRetention, backupPlanCrossRegionCopy]) {
            expect((await runResourceRule(rule, plan([snapshots, { ...continuousEvery6h, lifecycle: { deleteAfter: 7 } }, weekly]), {})).violations, rule.name).to.deep.equal([]);
            expect((await runResourceRule(rule, plan(declared), {})).violations, `${rule.name} on the declared plan`).to.deep.equal([]);
        }
    });

    it("selects the database by the backup-plan tag the database section puts on it", async () => {
        const ev = await stack("production");
        const selection = one(ev, T.backupSelection, /genie-primary-backup-selection/);
        expect(selection.props.selectionTags).to.deep.equal([{ type: "STRINGEQUALS", key: BACKUP_SELECTION_TAG_KEY, value: "genie-primary" }]);
        expect(resolve(ev, selection.props.planId)!.type).to.equal(T.backupPlan);
        expect(ev.outputs.dbBackupTagKey).to.equal("backup-plan");
        expect(ev.outputs.dbBackupTagValue).to.equal("genie-primary");
    });

    it("locks both vaults in compliance mode: minimum 30 days, maximum above the weekly retention, 3 grace days", async () => {
        const ev = await stack("production");
        const locks = ofType(ev, T.backupVaultLock);
        expect(locks.map((l) => l.region).sort()).to.deep.equal(["us-east-1", "us-west-2"]);
        for (const lock of locks) {
            expect(lock.props.minRetentionDays).to.equal(DR_PLAN.dbDailyRetentionDays);
            expect(lock.props.maxRetentionDays).to.be.greaterThan(DR_PLAN.dbWeeklyRetentionDays);
            expect(lock.props.changeableForDays).to.equal(3);
            const vault = ofType(ev, T.backupVault).find((v) => v.outputs.name === lock.props.backupVaultName)!;
            expect(vault.region).to.equal(lock.region);
        }
    });

    it("governance mode, when configured, leaves out the grace period that makes the lock immutable", async () => {
        const ev = await stackWith("production", { config: { backupVaultLockMode: "governance" } });
        for (const lock of ofType(ev, T.backupVaultLock)) expect(lock.props.changeableForDays).to.equal(undefined);
    });

    it("encrypts each vault with its own region's key", async () => {
        const ev = await stack("production");
        for (const vault of ofType(ev, T.backupVault)) {
            expect(keyOf(ev, vault.props.kmsKeyArn, vault.name).region).to.equal(vault.region);
        }
        expect(ev.outputs.backupAlertTopicArn).to.equal(undefined);
    });

    // Issue 12, item 10: a recovery point whose retention is changed, or a failed copy, must reach
    // somebody. Only the vault notifications report RECOVERY_POINT_MODIFIED (EventBridge has no such
    // state): each vault the stack owns notifies a subscribed high topic of its own region.
    for (const [label, name, config, vaults] of [
        ["production: the primary vault (us-east-1) and the landing zone's (us-west-2)", "production", {}, ["genie-primary-backup-vault", "genie-primary-dr-backup-vault"]],
        ["dr active: its own vault", "dr", { siteRole: "active" }, ["genie-dr-backup-vault"]],
        // Declared in every role: the return to standby keeps what the site backed up while active.
        ["dr standby: its own vault, empty until the site serves", "dr", {}, ["genie-dr-backup-vault"]],
    ] as const) {
        it(`vault notifications, ${label}: modified recovery points and failed copies to a subscribed high topic of the vault's region that AWS Backup may publish to`, async () => {
            const ev = await stackWith(name, { config });
            const notifications = ofType(ev, T.backupVaultNotifications);
            const notified = notifications.map((n) => ofType(ev, T.backupVault).find((v) => v.outputs.name === n.props.backupVaultName)!.name.replace(/-vault$/, ""));
            expect(notified.sort()).to.deep.equal([...vaults].sort());
            expect(ofType(ev, T.backupVault).length, "every vault of the stack notifies").to.equal(vaults.length);
            for (const n of notifications) {
                const vault = ofType(ev, T.backupVault).find((v) => v.outputs.name === n.props.backupVaultName)!;
                expect(n.region, n.name).to.equal(vault.region);
                expect(n.props.backupVaultEvents).to.include.members(["RECOVERY_POINT_MODIFIED", "COPY_JOB_FAILED"]);
                expect(n.props.backupVaultEvents).to.deep.equal([...VAULT_ALERT_EVENTS]);
                // Only events that report a problem: no successes (BACKUP_JOB_COMPLETED carries them too).
                expect(VAULT_ALERT_EVENTS).to.not.include("BACKUP_JOB_COMPLETED");
                const topic = resolve(ev, n.props.snsTopicArn)!;
                expect(topic.type).to.equal(T.topic);
                expect(topic.region, `${n.name}: a topic of the vault's region`).to.equal(vault.region);
                expect(topic.name).to.match(/-alerts-high$/);
                const emails = ofType(ev, T.topicSubscription).filter((x) => x.props.topic === topic.outputs.arn && x.props.protocol === "email");
                expect(emails.map((x) => x.props.endpoint).sort(), `${topic.name}: the alert recipients`).to.deep.equal(JSON.parse(ev.config["genie-infra:alertEmails"] ?? "[]").sort());
                expect(emails.length).to.be.greaterThan(0);
                // The topic's access policy lets AWS Backup publish for this vault of this account (AWS Backup sends
                // aws:SourceAccount and aws:SourceArn, the vault), and no vault of another account.
                const policy = JSON.parse(ofType(ev, T.topicPolicy).find((p) => p.props.arn === topic.outputs.arn)!.props.policy);
                const fromVault = (account: string) => ({ "aws:SourceAccount": account, "aws:SourceArn": String(vault.outputs.arn).replace(MOCK_ACCOUNT_ID, account) });
                expect(policyAllows(policy.Statement, { action: "sns:Publish", resource: topic.outputs.arn, principal: { service: "backup.amazonaws.com" }, context: fromVault(MOCK_ACCOUNT_ID) }), topic.name).to.equal(true);
                expect(policyAllows(policy.Statement, { action: "sns:Publish", resource: topic.outputs.arn, principal: { service: "backup.amazonaws.com" }, context: fromVault("210987654321") }), topic.name).to.equal(false);
                expect(policyAllows(policy.Statement, { action: "sns:Publish", resource: topic.outputs.arn, principal: { service: "s3.amazonaws.com" }, context: {} })).to.equal(false);
                // The topic's key lets AWS Backup encrypt the message (SNS encryption context: the topic).
                const key = keyOf(ev, topic.props.kmsMasterKeyId, topic.name);
                expect(key.region).to.equal(vault.region);
                const ctx = ruleContext(ev.resources);
                for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
                    expect(policyAllows(keyPolicyOf(ctx, key), { action, principal: { service: "backup.amazonaws.com" }, context: { "kms:EncryptionContext:aws:sns:topicArn": topic.outputs.arn } }), action).to.equal(true);
                }
            }
        });
    }
});

describe("data protection: restore testing", () => {
    it("tests a restore weekly from the newest recovery point and monthly from a random one within the daily window", async () => {
        const ev = await stack("production");
        const plans = Object.fromEntries(ofType(ev, T.restoreTestingPlan).map((p) => [p.props.name, p]));
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
            expect(vaults.map((v: RecordedResource) => [v.type, v.region])).to.deep.equal([[T.backupVault, "us-east-1"]]);
        }
    });

    it("each restore test restores into the isolated data subnets behind the database's security group, never the default VPC", async () => {
        for (const ev of [await stack("production"), await stackWith("dr", { config: { siteRole: "active" } })]) {
            const db = ofType(ev, T.dbInstance).find((i) => /-db-instance$/.test(i.name))!;
            const selections = ofType(ev, T.restoreTestingSelection);
            expect(selections, ev.stack).to.have.length(2);
            for (const s of selections) {
                // (Before: no overrides: AWS Backup restores into the default VPC, and fails where there is none.)
                expect(s.props.restoreMetadataOverrides.dbSubnetGroupName, s.name).to.equal(db.props.dbSubnetGroupName);
                expect(JSON.parse(s.props.restoreMetadataOverrides.vpcSecurityGroupIds)).to.deep.equal(db.props.vpcSecurityGroupIds);
                const subnetGroup = ofType(ev, T.dbSubnetGroup).find((g) => g.outputs.name === s.props.restoreMetadataOverrides.dbSubnetGroupName)!;
                expect(subnetGroup.props.subnetIds.map((id: string) => resolve(ev, id)!.props.tags.tier)).to.satisfy((tiers: string[]) => tiers.every((t) => t === "data"));
                expect(subnetGroup.region).to.equal(s.region);
            }
        }
    });

    it("each restore test selects the tagged database and gives it a validation window", async () => {
        const ev = await stack("production");
        const selections = ofType(ev, T.restoreTestingSelection);
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
        expect(ofType(ev, T.restoreTestingPlan)).to.deep.equal([]);
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
        const policy = JSON.parse(one(ev, T.repositoryLifecycle, /registry-lifecycle$/).props.policy);
        expect(policy.rules).to.have.length(1);
        expect(policy.rules[0].selection).to.deep.equal({ tagStatus: "any", countType: "imageCountMoreThan", countNumber: DR_PLAN.imageVersionsKept });
        expect(policy.rules[0].action).to.deep.equal({ type: "expire" });
    });

    it("replicates the registry to the DR region once, where a creation template gives the replica the same rules and the DR key", async () => {
        const ev = await stack("production");
        const replications = ofType(ev, T.registryReplication);
        expect(replications).to.have.length(1);
        expect(replications[0].region).to.equal("us-east-1");
        const [rule] = replications[0].props.replicationConfiguration.rules;
        expect(rule.destinations).to.deep.equal([{ region: "us-west-2", registryId: "123456789012" }]);
        expect(rule.repositoryFilters).to.deep.equal([{ filter: APP_REPOSITORY_NAME, filterType: "PREFIX_MATCH" }]);
        const template = one(ev, T.repositoryCreationTemplate, /dr-template$/);
        expect(template.region).to.equal("us-west-2");
        expect(template.props.appliedFors).to.deep.equal(["REPLICATION"]);
        expect(template.props.imageTagMutability).to.equal("IMMUTABLE");
        expect(JSON.parse(template.props.lifecyclePolicy).rules[0].selection.countNumber).to.equal(DR_PLAN.imageVersionsKept);
        expect(keyOf(ev, template.props.encryptionConfigurations[0].kmsKey, template.name).region).to.equal("us-west-2");
        expect(ev.outputs.drEcrRepositoryUrl).to.equal(`123456789012.dkr.ecr.us-west-2.amazonaws.com/${APP_REPOSITORY_NAME}`);
    });

    it("the creation template applies to the replicated repository (ECR appends \"/\" to a prefix: ROOT, not the repository's name) and exists before replication starts", async () => {
        const ev = await stack("production");
        const template = one(ev, T.repositoryCreationTemplate, /dr-template$/);
        const repository = one(ev, T.repository, /registry-repository$/);
        // (Before: prefix "genie-ai-server", which matches only "genie-ai-server/...": the replica got ECR's defaults.)
        expect(templateApplies(template.props.prefix, repository.props.name), `prefix ${template.props.prefix}`).to.equal(true);
        expect(template.props.prefix).to.equal("ROOT");
        // KMS in a template needs the repository creation role.
        expect(resolve(ev, template.props.customRoleArn)!.type).to.equal(T.iamRole);
        const replication = one(ev, T.registryReplication, /registry-replication$/);
        expect(replication.opts.dependsOn).to.include(template.urn);
    });
});

describe("data protection: every resource", () => {
    for (const name of ["production", "dr"] as const) {
        it(`${name}: every encrypted resource uses the customer-managed key of its own region`, async () => {
            const ev = await stack(name);
            // SSE-S3 where the writer accepts nothing else: the logs buckets (ELB access logs, S3 server
            // access logs) and the Redis exports (ElastiCache exports and seeds from SSE-S3 files only).
            const sseS3 = (s: RecordedResource) => /-(logs|cache-exports)-encryption$/.test(s.name);
            const checks: [RecordedResource, string | undefined][] = [
                ...ours(ev).filter((r) => r.type === T.bucketEncryption)
                    .filter((s) => !sseS3(s))
                    .map((s): [RecordedResource, string] => [s, s.props.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId]),
                ...ours(ev).filter((r) => r.type === T.secret).map((s): [RecordedResource, string] => [s, s.props.kmsKeyId]),
                ...ours(ev).filter((r) => r.type === T.backupVault).map((v): [RecordedResource, string] => [v, v.props.kmsKeyArn]),
                ...ours(ev).filter((r) => r.type === T.repository).map((r): [RecordedResource, string] => [r, r.props.encryptionConfigurations[0].kmsKey]),
                ...ours(ev).filter((r) => r.type === T.topic).map((t): [RecordedResource, string] => [t, t.props.kmsMasterKeyId]),
            ];
            for (const [resource, keyArn] of checks) {
                expect(keyArn, resource.name).to.be.a("string");
                expect(keyOf(ev, keyArn!, resource.name).region, resource.name).to.equal(resource.region);
            }
            for (const sse of ours(ev).filter((r) => r.type === T.bucketEncryption).filter((s) => !sseS3(s))) {
                expect(sse.props.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
                expect(sse.props.rules[0].bucketKeyEnabled).to.equal(true);
            }
            const s3Managed = ours(ev).filter((r) => r.type === T.bucketEncryption).filter(sseS3);
            expect(s3Managed.length).to.equal(name === "production" ? 4 : 1);
            for (const sse of s3Managed) expect(sse.props.rules[0].applyServerSideEncryptionByDefault, sse.name).to.deep.equal({ sseAlgorithm: "AES256" });
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
        for (const t of [T.kmsKey, T.backupVault, T.backupVaultLock, T.bucket, T.bucketVersioning, T.bucketLifecycle, T.repositoryCreationTemplate]) {
            expect(types.has(t), t).to.equal(true);
        }
        for (const r of inDr) expect(r.provider, r.name).to.equal(drProvider.urn);
        expect(ofType(ev, T.bucket).filter((b) => b.region === "us-west-2").map((b) => b.name).sort()).to.deep.equal([
            "genie-primary-storage-dr-backups-bucket",
            "genie-primary-storage-dr-cache-exports-bucket",
            "genie-primary-storage-dr-logs-bucket",
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
        expect(one(ev, T.kmsKey, "genie-dr-key-key").region).to.equal("us-west-2");
        // (Besides the public status page's bucket, which holds no data of the application: test/severity.test.ts.)
        const buckets = ofType(ev, T.bucket).filter((b) => b.props.tags?.purpose !== "status-page");
        expect(buckets.map((b) => [b.name, b.region])).to.deep.equal([["genie-dr-storage-logs-bucket", "us-west-2"]]);
        // Nothing the landing zone owns is declared twice: no plan, registry or secret of its own. Its one
        // vault is the site's own, in its region (kept across roles; empty while standby), not the landing zone's.
        for (const t of [T.backupPlan, T.repository, T.registryReplication]) expect(ofType(ev, t), t).to.deep.equal([]);
        expect(ofType(ev, T.backupVault).map((v) => [v.name, v.region])).to.deep.equal([["genie-dr-backup-vault-vault", "us-west-2"]]);
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
            const back = one(ev, T.bucketReplication, `genie-primary-storage-dr-${purpose}-replication`);
            expect(back.region).to.equal("us-west-2");
            expect(back.props.bucket).to.equal(`genie-primary-storage-dr-${purpose}-bucket`);
            const rule = back.props.rules[0];
            expect(resolve(ev, rule.destination.bucket)!.name).to.equal(`genie-primary-storage-${purpose}-bucket`);
            expect(resolve(ev, rule.destination.bucket)!.region).to.equal("us-east-1");
            expect(rule.destination.replicationTime).to.deep.equal({ status: "Enabled", time: { minutes: 15 } });
            expect(resolve(ev, rule.destination.encryptionConfiguration.replicaKmsKeyId)!.region).to.equal("us-east-1");
            // Its role reads only the DR-region buckets and writes only the primary ones.
            const policy = JSON.parse(one(ev, T.iamRolePolicy, "genie-primary-storage-dr-replication").props.policy);
            const writes = policy.Statement.find((s: any) => s.Action.includes("s3:ReplicateObject")).Resource;
            expect(writes).to.include(`arn:aws:s3:::genie-primary-storage-${purpose}-bucket/*`);
            expect(writes.every((r: string) => !r.includes("-dr-"))).to.equal(true);
        });
    }
});
