import { expect } from "chai";
import { AUTOMATIC_SNAPSHOT_WINDOW } from "../components/cache";
import { EXPORT_NAME_SUFFIX, MAX_STATUS_POLLS, SNAPSHOT_NAME_PREFIX, snapshotScheduleExpression } from "../components/cache-snapshots";
import { EvaluationError, REDACTED } from "../offline/mock-runtime";
import { DR_PLAN } from "../infra/dr-plan";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const GROUP = AWS_TYPES.cache;

/** Hours between the runs of a `cron(M H/N * * ? *)` expression. */
function cronIntervalHours(expression: string): number {
    const m = /^cron\((\d+) (\d+)\/(\d+) \* \* \? \*\)$/.exec(expression);
    if (!m) throw new Error(`not an every-N-hours cron: ${expression}`);
    return Number(m[3]);
}

describe("cache (Redis)", () => {
    it("is a primary and a replica in different zones, with automatic failover and Multi-AZ", async () => {
        const ev = await stack("production");
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(group.props).to.include({ numCacheClusters: 2, automaticFailoverEnabled: true, multiAzEnabled: true, engine: "redis" });
        expect(new Set(group.props.preferredCacheClusterAzs).size).to.equal(2);
        expect(group.opts.protect).to.equal(true);
    });

    it("is encrypted at rest with the site's key and in transit with an AUTH token kept secret", async () => {
        const ev = await stack("production");
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(group.props).to.include({ atRestEncryptionEnabled: true, transitEncryptionEnabled: true });
        const key = resolve(ev, group.props.kmsKeyId)!;
        expect(key.type).to.equal(AWS_TYPES.kmsKey);
        expect(key.region).to.equal(group.region);
        expect(group.props.authToken).to.equal(REDACTED);
        const version = one(ev, AWS_TYPES.secretVersion, "genie-primary-cache-auth");
        expect(version.props.secretString).to.equal(REDACTED);
        expect(resolve(ev, one(ev, AWS_TYPES.secret, "genie-primary-cache-auth").props.kmsKeyId)!.urn).to.equal(key.urn);
    });

    it("names its final snapshot per incarnation: a new group (new key or seed) never reuses a taken name", async () => {
        const production = one(await stack("production"), GROUP, "genie-primary-cache-redis");
        const suffix = one(await stack("production"), "random:index/randomId:RandomId", "genie-primary-cache-final-snapshot-suffix");
        expect(production.props.finalSnapshotIdentifier).to.equal(`genie-primary-cache-final-${suffix.outputs.hex}`);
        expect(suffix.props.keepers).to.include.keys("kmsKeyId", "seed");
        // A DR cache seeded from an export is a new group: its final snapshot gets another name.
        const plain = one(await stack("dr"), GROUP, "genie-dr-cache-redis").props.finalSnapshotIdentifier;
        const seeded = one(
            await stackWith("dr", { config: { cacheSeedRdbArn: "arn:aws:s3:::genie-primary-storage-redis-123456789012-us-west-2/genie-scheduled-20261130t0330-export-0001.rdb" } }),
            GROUP,
            "genie-dr-cache-redis",
        ).props.finalSnapshotIdentifier;
        expect(plain).to.match(/^genie-dr-cache-final-[0-9a-f]{8}$/);
        expect(seeded).to.match(/^genie-dr-cache-final-[0-9a-f]{8}$/).and.not.equal(plain);
    });

    it("is reachable only from the app group, in the isolated data subnets", async () => {
        const ev = await stack("production");
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(group.props.securityGroupIds.map((id: string) => resolve(ev, id)!.name)).to.deep.equal(["genie-primary-sg-cache"]);
        const subnetGroup = ofType(ev, AWS_TYPES.cacheSubnetGroup).find((g) => g.outputs.name === group.props.subnetGroupName)!;
        expect(subnetGroup.props.subnetIds.map((id: string) => resolve(ev, id)!.props.tags.tier)).to.deep.equal(["data", "data", "data"]);
    });

    it("keeps its daily automatic snapshot for the plan's 7 days", async () => {
        const group = one(await stack("production"), GROUP, "genie-primary-cache-redis");
        expect(group.props.snapshotRetentionLimit).to.equal(DR_PLAN.redisRetentionDays);
        expect(group.props.snapshotWindow).to.equal(AUTOMATIC_SNAPSHOT_WINDOW);
    });

    it("takes a snapshot every 12 hours and exports it to the Redis exports bucket, which keeps it 7 days", async () => {
        const ev = await stack("production");
        const schedule = ofType(ev, AWS_TYPES.schedule).find((s) => s.name.startsWith("genie-primary-cache-snapshots"))!;
        expect(cronIntervalHours(schedule.props.scheduleExpression)).to.equal(DR_PLAN.redisSnapshotIntervalHours);
        expect(schedule.props.state).to.equal("ENABLED");
        const job = resolve(ev, schedule.props.target.arn)!;
        expect(job.type).to.equal(AWS_TYPES.stateMachine);
        const definition = JSON.parse(job.props.definition);
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(definition.States.CreateSnapshot.Arguments.ReplicationGroupId).to.equal(group.props.replicationGroupId);
        // The exports bucket of the cache's region, whose lifecycle expires every export after the plan's 7 days.
        const bucket = one(ev, AWS_TYPES.bucket, "genie-primary-storage-cache-exports-bucket");
        expect(bucket.region).to.equal(group.region);
        expect(definition.States.ExportToS3.Arguments.TargetBucket).to.equal(bucket.outputs.bucket);
        const lifecycle = one(ev, AWS_TYPES.bucketLifecycle, "genie-primary-storage-cache-exports-lifecycle");
        expect(lifecycle.props.rules.find((r: any) => r.id === "redis-exports").expiration.days).to.equal(DR_PLAN.redisRetentionDays);
        // The export is named after the snapshot (ElastiCache adds -0001.rdb), at the bucket's root; no KMS key (SSE-S3).
        expect(definition.States.ExportToS3.Arguments.TargetSnapshotName).to.equal(`{% $snapshot & '${EXPORT_NAME_SUFFIX}' %}`);
        expect(definition.States.ExportToS3.Arguments.KmsKeyId).to.equal(undefined);
        // Manual snapshots never expire by themselves: the job deletes its own after the export.
        expect(definition.States.DeleteManualSnapshot.Resource).to.match(/elasticache:deleteSnapshot$/);
        expect(definition.States["SnapshotAvailable?"].Choices[1].Condition).to.include(String(MAX_STATUS_POLLS));
    });

    it("follows a tighter snapshot interval from config", async () => {
        const ev = await stackWith("production", { config: { redisSnapshotIntervalHours: "6" } });
        const schedule = ofType(ev, AWS_TYPES.schedule).find((s) => s.name.startsWith("genie-primary-cache-snapshots"))!;
        expect(cronIntervalHours(schedule.props.scheduleExpression)).to.equal(6);
        expect(snapshotScheduleExpression(12)).to.equal("cron(30 3/12 * * ? *)");
        expect(snapshotScheduleExpression(6)).to.equal("cron(30 3/6 * * ? *)");
    });

    it("lets the snapshot job touch only its group, its own snapshots and the exports bucket, with what an export to S3 needs", async () => {
        const ev = await stack("production");
        const policy = JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, "genie-primary-cache-snapshots-job").props.policy);
        for (const statement of policy.Statement) {
            if (statement.Sid === "WriteExecutionLogs") continue; // CloudWatch Logs delivery accepts only "*"
            for (const resource of [].concat(statement.Resource)) expect(resource, statement.Sid).not.to.equal("*");
        }
        const bucket = one(ev, AWS_TYPES.bucket, "genie-primary-storage-cache-exports-bucket");
        const bySid = (sid: string) => policy.Statement.find((s: any) => s.Sid === sid);
        expect(bySid("ExportToTheExportsBucket").Resource).to.deep.equal([`${bucket.outputs.arn}/*`]);
        expect(bySid("FindTheBucket").Action).to.include.members(["s3:GetBucketLocation", "s3:ListBucket"]);
        expect(bySid("FindTheBucket").Resource).to.deep.equal([bucket.outputs.arn]);
        // (Before: no s3:ListAllMyBuckets, which the export needs; AWS accepts it only on "*" or "arn:aws:s3:::*".)
        expect(bySid("ListBucketsForTheExport")).to.deep.include({ Action: ["s3:ListAllMyBuckets"], Resource: ["arn:aws:s3:::*"] });
        // CopySnapshot's scope covers the source snapshot and the export's name (both under the job's prefix).
        const copy = bySid("ManageItsOwnSnapshots");
        expect(copy.Action).to.include("elasticache:CopySnapshot");
        expect(copy.Resource).to.deep.equal([`arn:aws:elasticache:us-east-1:123456789012:snapshot:${SNAPSHOT_NAME_PREFIX}*`]);
        expect(`${SNAPSHOT_NAME_PREFIX}20261130t0330${EXPORT_NAME_SUFFIX}`.startsWith(SNAPSHOT_NAME_PREFIX)).to.equal(true);
    });

    it("the schedule's role may decrypt the schedule (encrypted with the site key) and start the job", async () => {
        const ev = await stack("production");
        const schedule = ofType(ev, AWS_TYPES.schedule).find((s) => s.name.startsWith("genie-primary-cache-snapshots"))!;
        const statements = JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, "genie-primary-cache-snapshots-scheduler").props.policy).Statement;
        // (Before: StartExecution only; EventBridge Scheduler decrypts a CMK-encrypted schedule as its execution role.)
        expect(statements.find((s: any) => s.Sid === "DecryptTheSchedule")).to.deep.include({ Action: ["kms:Decrypt"], Resource: [schedule.props.kmsKeyArn] });
        expect(statements.find((s: any) => s.Sid === "StartTheJob").Resource).to.deep.equal([schedule.props.target.arn]);
    });

    it("the exports bucket lets ElastiCache of its region write the export (bucket policy: its ACLs are disabled), SSE-S3", async () => {
        const ev = await stack("production");
        const statements = JSON.parse(one(ev, AWS_TYPES.bucketPolicy, "genie-primary-storage-cache-exports-policy").props.policy).Statement;
        const grant = statements.find((s: any) => s.Sid === "ElastiCacheSnapshotExportAndSeed");
        expect(grant.Principal).to.deep.equal({ Service: "us-east-1.elasticache-snapshot.amazonaws.com" });
        expect(grant.Action).to.include.members(["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"]);
        expect(one(ev, AWS_TYPES.bucketEncryption, "genie-primary-storage-cache-exports-encryption").props.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
    });

    it("on the DR site: a smaller standby cache, seeded from a replicated RDB when configured", async () => {
        const standby = one(await stack("dr"), GROUP, "genie-dr-cache-redis");
        expect(standby.region).to.equal("us-west-2");
        expect(standby.props.nodeType).to.equal("cache.t4g.medium");
        expect(standby.props.snapshotArns).to.equal(undefined);
        const rdb = "arn:aws:s3:::genie-primary-storage-redis-123456789012-us-west-2/genie-scheduled-20261130t0330-export-0001.rdb";
        const seeded = one(await stackWith("dr", { config: { cacheSeedRdbArn: rdb, siteRole: "active" } }), GROUP, "genie-dr-cache-redis");
        expect(seeded.props.snapshotArns).to.deep.equal([rdb]);
        expect(seeded.props.nodeType).to.equal("cache.r6g.large");
    });

    it("the DR cache can be seeded from a replicated export: the landing zone's exports bucket is in its region, SSE-S3, and readable by ElastiCache there", async () => {
        const production = await stack("production");
        // The dr evaluation sees the production stack's buckets (they exist in the account): the seed is checked there.
        const seededFrom = (rdb: string) =>
            stackWith("dr", { config: { cacheSeedRdbArn: rdb } }).then(
                () => [] as string[],
                (err: EvaluationError) => err.violations.filter((v) => v.rule === "elasticache-seed-rdb-readable").map((v) => v.message),
            );
        const exportsBucket = production.outputs.drCacheExportsBucketName as string;
        expect(await seededFrom(`arn:aws:s3:::${exportsBucket}/genie-scheduled-20261130t0330-export-0001.rdb`)).to.deep.equal([]);
        // (Before: the exports replicated into the DR backups bucket, SSE-KMS with the DR key and no grant: ElastiCache cannot read them.)
        const refusals = await seededFrom(`arn:aws:s3:::${production.outputs.drBackupsBucketName}/redis/genie-scheduled-20261130t0330-0001.rdb`);
        expect(refusals.join("\n")).to.match(/SSE-KMS/).and.to.match(/does not let us-west-2\.elasticache-snapshot\.amazonaws\.com/);
    });
});
