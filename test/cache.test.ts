import { expect } from "chai";
import { AUTOMATIC_SNAPSHOT_WINDOW } from "../components/cache";
import { MAX_STATUS_POLLS, REDIS_PREFIX, snapshotScheduleExpression } from "../components/cache-snapshots";
import { REDACTED } from "../offline/mock-runtime";
import { DR_PLAN } from "../infra/dr-plan";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";

const GROUP = "aws:elasticache/replicationGroup:ReplicationGroup";

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
        expect(key.type).to.equal("aws:kms/key:Key");
        expect(key.region).to.equal(group.region);
        expect(group.props.authToken).to.equal(REDACTED);
        const version = one(ev, "aws:secretsmanager/secretVersion:SecretVersion", "genie-primary-cache-auth");
        expect(version.props.secretString).to.equal(REDACTED);
        expect(resolve(ev, one(ev, "aws:secretsmanager/secret:Secret", "genie-primary-cache-auth").props.kmsKeyId)!.urn).to.equal(key.urn);
    });

    it("is reachable only from the app group, in the isolated data subnets", async () => {
        const ev = await stack("production");
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(group.props.securityGroupIds.map((id: string) => resolve(ev, id)!.name)).to.deep.equal(["genie-primary-sg-cache"]);
        const subnetGroup = ofType(ev, "aws:elasticache/subnetGroup:SubnetGroup").find((g) => g.outputs.name === group.props.subnetGroupName)!;
        expect(subnetGroup.props.subnetIds.map((id: string) => resolve(ev, id)!.props.tags.tier)).to.deep.equal(["data", "data", "data"]);
    });

    it("keeps its daily automatic snapshot for the plan's 7 days", async () => {
        const group = one(await stack("production"), GROUP, "genie-primary-cache-redis");
        expect(group.props.snapshotRetentionLimit).to.equal(DR_PLAN.redisRetentionDays);
        expect(group.props.snapshotWindow).to.equal(AUTOMATIC_SNAPSHOT_WINDOW);
    });

    it("takes a snapshot every 12 hours and exports it to the backups bucket's redis/ prefix", async () => {
        const ev = await stack("production");
        const schedule = ofType(ev, "aws:scheduler/schedule:Schedule").find((s) => s.name.startsWith("genie-primary-cache-snapshots"))!;
        expect(cronIntervalHours(schedule.props.scheduleExpression)).to.equal(DR_PLAN.redisSnapshotIntervalHours);
        expect(schedule.props.state).to.equal("ENABLED");
        const job = resolve(ev, schedule.props.target.arn)!;
        expect(job.type).to.equal("aws:sfn/stateMachine:StateMachine");
        const definition = JSON.parse(job.props.definition);
        const group = one(ev, GROUP, "genie-primary-cache-redis");
        expect(definition.States.CreateSnapshot.Arguments.ReplicationGroupId).to.equal(group.props.replicationGroupId);
        // The bucket whose lifecycle expires the redis/ prefix (after the plan's 7 days) is the export's target.
        const lifecycle = ofType(ev, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
            .find((l) => l.region === "us-east-1" && l.props.rules.some((r: any) => r.filter?.prefix === REDIS_PREFIX))!;
        expect(lifecycle.props.rules.find((r: any) => r.filter?.prefix === REDIS_PREFIX).expiration.days).to.equal(DR_PLAN.redisRetentionDays);
        expect(definition.States.ExportToS3.Arguments.TargetBucket).to.equal(lifecycle.props.bucket);
        expect(definition.States.ExportToS3.Arguments.TargetSnapshotName).to.include(`'${REDIS_PREFIX}'`);
        // Manual snapshots never expire by themselves: the job deletes its own after the export.
        expect(definition.States.DeleteManualSnapshot.Resource).to.match(/elasticache:deleteSnapshot$/);
        expect(definition.States["SnapshotAvailable?"].Choices[1].Condition).to.include(String(MAX_STATUS_POLLS));
    });

    it("follows a tighter snapshot interval from config", async () => {
        const ev = await stackWith("production", { config: { redisSnapshotIntervalHours: "6" } });
        const schedule = ofType(ev, "aws:scheduler/schedule:Schedule").find((s) => s.name.startsWith("genie-primary-cache-snapshots"))!;
        expect(cronIntervalHours(schedule.props.scheduleExpression)).to.equal(6);
        expect(snapshotScheduleExpression(12)).to.equal("cron(30 3/12 * * ? *)");
        expect(snapshotScheduleExpression(6)).to.equal("cron(30 3/6 * * ? *)");
    });

    it("lets the snapshot job touch only its group, its own snapshots and the redis/ prefix", async () => {
        const ev = await stack("production");
        const policy = JSON.parse(one(ev, "aws:iam/rolePolicy:RolePolicy", "genie-primary-cache-snapshots-job").props.policy);
        for (const statement of policy.Statement) {
            if (statement.Sid === "WriteExecutionLogs") continue; // CloudWatch Logs delivery accepts only "*"
            for (const resource of [].concat(statement.Resource)) expect(resource, statement.Sid).not.to.equal("*");
        }
        const s3 = policy.Statement.find((s: any) => s.Sid === "ExportToTheRedisPrefix");
        expect(s3.Resource[0]).to.match(/\/redis\/\*$/);
    });

    it("on the DR site: a smaller standby cache, seeded from a replicated RDB when configured", async () => {
        const standby = one(await stack("dr"), GROUP, "genie-dr-cache-redis");
        expect(standby.region).to.equal("us-west-2");
        expect(standby.props.nodeType).to.equal("cache.t4g.medium");
        expect(standby.props.snapshotArns).to.equal(undefined);
        const rdb = "arn:aws:s3:::genie-dr-backups/redis/genie-scheduled-20261130t0330-0001.rdb";
        const seeded = one(await stackWith("dr", { config: { cacheSeedRdbArn: rdb, siteRole: "active" } }), GROUP, "genie-dr-cache-redis");
        expect(seeded.props.snapshotArns).to.deep.equal([rdb]);
        expect(seeded.props.nodeType).to.equal("cache.r6g.large");
    });
});
