import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { violationsOf, ruleIds } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then(ruleIds);

interface LoggingVariant {
    targetRegion?: string;
    targetSse?: "AES256" | "aws:kms";
    objectLock?: boolean;
    /** The target's policy: lets the logging service write for the source, for another bucket, or is missing. */
    targetPolicy?: "source" | "other-source" | "none";
    targetGrants?: boolean;
}

/** Server access logging of a backups bucket into a logs bucket, as the storage component sets it up. */
function serverAccessLogging(v: LoggingVariant = {}) {
    return () => {
        const site = new aws.Provider("site", { region: "us-east-1" });
        const targetSide = v.targetRegion ? new aws.Provider("other", { region: v.targetRegion as aws.Region }) : site;
        const source = new aws.s3.Bucket("backups", {}, { provider: site });
        const target = new aws.s3.Bucket("logs", v.objectLock ? { objectLockEnabled: true } : {}, { provider: targetSide });
        new aws.s3.BucketServerSideEncryptionConfiguration("logs-sse", {
            bucket: target.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: v.targetSse ?? "AES256" } }],
        }, { provider: targetSide });
        const dependsOn: pulumi.Resource[] = [];
        if (v.targetPolicy !== "none") {
            dependsOn.push(new aws.s3.BucketPolicy("logs-policy", {
                bucket: target.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Effect: "Allow",
                        Principal: { Service: "logging.s3.amazonaws.com" },
                        Action: "s3:PutObject",
                        Resource: pulumi.interpolate`${target.arn}/s3-access/*`,
                        Condition: {
                            ArnLike: { "aws:SourceArn": v.targetPolicy === "other-source" ? "arn:aws:s3:::someone-else" : source.arn },
                            StringEquals: { "aws:SourceAccount": "123456789012" },
                        },
                    }],
                }),
            }, { provider: targetSide }));
        }
        new aws.s3.BucketLogging("backups-logging", {
            bucket: source.id,
            targetBucket: target.bucket,
            targetPrefix: "s3-access/backups/",
            ...(v.targetGrants ? { targetGrants: [{ grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/s3/LogDelivery" }, permission: "WRITE" }] } : {}),
        }, { provider: site, dependsOn });
    };
}

describe("offline AWS rules: S3", () => {
    it("accepts server access logging into a same-region SSE-S3 bucket whose policy lets the logging service write for the source", async () => {
        expect(await refusals(serverAccessLogging())).to.deep.equal([]);
    });

    it("refuses a target bucket in another region, with SSE-KMS, or with Object Lock", async () => {
        expect(await refusals(serverAccessLogging({ targetRegion: "us-west-2" }))).to.deep.equal(["s3-access-logs-target-same-region"]);
        expect(await refusals(serverAccessLogging({ targetSse: "aws:kms" }))).to.deep.equal(["s3-access-logs-target-sse-s3"]);
        expect(await refusals(serverAccessLogging({ objectLock: true }))).to.deep.equal(["s3-access-logs-target-no-object-lock"]);
    });

    it("refuses a target whose ACLs are disabled and whose policy does not let the logging service write for this source, or target grants", async () => {
        expect(await refusals(serverAccessLogging({ targetPolicy: "none" }))).to.deep.equal(["s3-access-logs-delivery-allowed"]);
        expect(await refusals(serverAccessLogging({ targetPolicy: "other-source" }))).to.deep.equal(["s3-access-logs-delivery-allowed"]);
        expect(await refusals(serverAccessLogging({ targetGrants: true }))).to.deep.equal(["s3-access-logs-delivery-allowed"]);
    });

    it("refuses an ACL grant on a bucket with ACLs disabled (the default, or bucket owner enforced), accepts it where ACLs are enabled", async () => {
        const aclGrant = (ownership?: string) => () => {
            const site = new aws.Provider("site", { region: "us-east-1" });
            const bucket = new aws.s3.Bucket("exports", {}, { provider: site });
            const controls = ownership
                ? [new aws.s3.BucketOwnershipControls("exports-ownership", { bucket: bucket.id, rule: { objectOwnership: ownership } }, { provider: site })]
                : [];
            new aws.s3.BucketAcl("exports-acl", {
                bucket: bucket.id,
                accessControlPolicy: {
                    owner: { id: "owner-canonical-id" },
                    grants: [{ grantee: { type: "CanonicalUser", id: "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353" }, permission: "WRITE" }],
                },
            }, { provider: site, dependsOn: controls });
        };
        expect(await refusals(aclGrant())).to.deep.equal(["s3-acl-needs-acls-enabled"]);
        expect(await refusals(aclGrant("BucketOwnerEnforced"))).to.deep.equal(["s3-acl-needs-acls-enabled"]);
        expect(await refusals(aclGrant("BucketOwnerPreferred"))).to.deep.equal([]);
    });
});
