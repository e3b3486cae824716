import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { snapshotJobDefinition } from "../../components/cache-snapshots";
import { violationsOf, ruleIds } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then((vs) => [...new Set(ruleIds(vs))]);

const EXPORT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"];

/** A bucket as a target of exports and seeds: SSE, and whether its policy grants ElastiCache of `region`. */
function exportBucket(name: string, p: aws.Provider, o: { sse?: "AES256" | "aws:kms"; grant?: string | false }) {
    const bucket = new aws.s3.Bucket(name, {}, { provider: p });
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-sse`, {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: o.sse === "aws:kms" ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" } : { sseAlgorithm: "AES256" } }],
    }, { provider: p });
    new aws.s3.BucketPolicy(`${name}-policy`, {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
                ...(o.grant === false ? [] : [{
                    Effect: "Allow",
                    Principal: { Service: `${o.grant ?? "us-east-1"}.elasticache-snapshot.amazonaws.com` },
                    Action: EXPORT_ACTIONS,
                    Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                }]),
            ],
        }),
    }, { provider: p });
    return bucket;
}

interface ExportVariant {
    sse?: "AES256" | "aws:kms";
    grant?: string | false;
    bucketRegion?: string;
    /** The export's name expression (the original job: `'redis/' & $snapshot`). */
    target?: string;
    /** The job's S3 permissions: as the export guide lists them, or the original (no ListAllMyBuckets). */
    callerS3?: "documented" | "original";
}

/** The scheduled export job (the cache-snapshots component's state machine and role) exporting to a bucket. */
function exportJob(v: ExportVariant = {}) {
    return () => {
        const site = new aws.Provider("site", { region: "us-east-1" });
        const bucketSide = v.bucketRegion ? new aws.Provider("other", { region: v.bucketRegion as aws.Region }) : site;
        const bucket = exportBucket("exports", bucketSide, { sse: v.sse, grant: v.grant });
        const role = new aws.iam.Role("job", { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }, { provider: site });
        new aws.iam.RolePolicy("job", {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: ["elasticache:CreateSnapshot", "elasticache:DescribeSnapshots", "elasticache:CopySnapshot", "elasticache:DeleteSnapshot"], Resource: "arn:aws:elasticache:us-east-1:123456789012:snapshot:genie-scheduled-*" },
                    v.callerS3 === "original"
                        ? { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], Resource: pulumi.interpolate`${bucket.arn}/redis/*` }
                        : { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], Resource: pulumi.interpolate`${bucket.arn}/*` },
                    { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:GetBucketAcl"], Resource: bucket.arn },
                    ...(v.callerS3 === "original" ? [] : [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "arn:aws:s3:::*" }]),
                ],
            }),
        }, { provider: site });
        const definition: any = snapshotJobDefinition("genie-primary-cache", bucket.bucket);
        if (v.target) definition.States.ExportToS3.Arguments.TargetSnapshotName = v.target;
        new aws.sfn.StateMachine("job", { roleArn: role.arn, definition: pulumi.jsonStringify(definition) }, { provider: site });
    };
}

describe("offline AWS rules: ElastiCache export and seed", () => {
    it("refuses the original export: into an SSE-KMS bucket that grants ElastiCache nothing, named under redis/, without s3:ListAllMyBuckets", async () => {
        const original = await refusals(exportJob({ sse: "aws:kms", grant: false, target: "{% 'redis/' & $snapshot %}", callerS3: "original" }));
        expect(original).to.have.members(["elasticache-export-bucket-access", "elasticache-export-bucket-sse-s3", "elasticache-export-caller-permissions"]);
        expect(await refusals(exportJob())).to.deep.equal([]);
    });

    it("refuses each documented requirement on its own", async () => {
        expect(await refusals(exportJob({ grant: false }))).to.deep.equal(["elasticache-export-bucket-access"]);
        // The policy must name ElastiCache of the snapshot's region.
        expect(await refusals(exportJob({ grant: "us-west-2" }))).to.deep.equal(["elasticache-export-bucket-access"]);
        expect(await refusals(exportJob({ sse: "aws:kms" }))).to.deep.equal(["elasticache-export-bucket-sse-s3"]);
        expect(await refusals(exportJob({ bucketRegion: "us-west-2", grant: "us-east-1" }))).to.deep.equal(["elasticache-export-bucket-region"]);
        // The export's name is a snapshot the job's CopySnapshot scope (genie-scheduled-*) must cover.
        expect(await refusals(exportJob({ target: "{% 'redis/' & $snapshot %}" }))).to.deep.equal(["elasticache-export-caller-permissions"]);
        expect(await refusals(exportJob({ callerS3: "original" }))).to.deep.equal(["elasticache-export-caller-permissions"]);
    });

    it("refuses a seed RDB ElastiCache cannot read: SSE-KMS, another region, or no read grant for the cache's region", async () => {
        const seeded = (o: { sse?: "AES256" | "aws:kms"; grant?: string | false; bucketRegion?: string }) => () => {
            const dr = new aws.Provider("dr", { region: "us-west-2" });
            const bucketSide = o.bucketRegion ? new aws.Provider("other", { region: o.bucketRegion as aws.Region }) : dr;
            const bucket = exportBucket("dr-exports", bucketSide, { sse: o.sse, grant: o.grant ?? "us-west-2" });
            new aws.elasticache.ReplicationGroup("cache", {
                description: "seeded",
                nodeType: "cache.t4g.medium",
                numCacheClusters: 2,
                snapshotArns: [pulumi.interpolate`${bucket.arn}/genie-scheduled-20261130t0330-export-0001.rdb`],
            }, { provider: dr });
        };
        expect(await refusals(seeded({}))).to.deep.equal([]);
        expect(await refusals(seeded({ sse: "aws:kms" }))).to.deep.equal(["elasticache-seed-rdb-readable"]);
        expect(await refusals(seeded({ grant: false }))).to.deep.equal(["elasticache-seed-rdb-readable"]);
        expect(await refusals(seeded({ grant: "us-east-1" }))).to.deep.equal(["elasticache-seed-rdb-readable"]);
        expect(await refusals(seeded({ bucketRegion: "us-east-1", grant: "us-west-2" }))).to.deep.equal(["elasticache-seed-rdb-readable"]);
    });

    it("refuses a schedule encrypted with a customer-managed key whose execution role may not decrypt with it (the original schedule)", async () => {
        const schedule = (decrypt: boolean) => () => {
            const site = new aws.Provider("site", { region: "us-east-1" });
            const key = "arn:aws:kms:us-east-1:123456789012:key/site";
            const role = new aws.iam.Role("scheduler", { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }, { provider: site });
            new aws.iam.RolePolicy("scheduler", {
                role: role.id,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Effect: "Allow", Action: ["states:StartExecution"], Resource: ["arn:aws:states:us-east-1:123456789012:stateMachine:job"] },
                        ...(decrypt ? [{ Effect: "Allow", Action: ["kms:Decrypt"], Resource: [key] }] : []),
                    ],
                }),
            }, { provider: site });
            new aws.scheduler.Schedule("every-12h", {
                scheduleExpression: "cron(30 3/12 * * ? *)",
                flexibleTimeWindow: { mode: "OFF" },
                kmsKeyArn: key,
                target: { arn: "arn:aws:states:us-east-1:123456789012:stateMachine:job", roleArn: role.arn },
            }, { provider: site });
        };
        expect(await refusals(schedule(false))).to.deep.equal(["scheduler-cmk-execution-role-decrypt"]);
        expect(await refusals(schedule(true))).to.deep.equal([]);
    });
});
