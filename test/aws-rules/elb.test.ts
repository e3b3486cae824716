import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { violationsOf, ruleIds } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then(ruleIds);

interface Variant {
    /** Order the load balancer after the bucket policy. */
    ordered?: boolean;
    /** The bucket's default encryption. */
    sse?: "AES256" | "aws:kms";
    /** Who the policy lets write: the log delivery service, the region's legacy ELB account, or nobody. */
    grantee?: "service" | "legacy" | "none";
    prefix?: string;
    bucketRegion?: string;
}

/** An ALB with access logs into a logs bucket of the program, as the edge and storage components build them. */
function albWithAccessLogs(v: Variant = {}) {
    return () => {
        const site = new aws.Provider("site", { region: "us-east-1" });
        const bucketSide = v.bucketRegion ? new aws.Provider("other", { region: v.bucketRegion as aws.Region }) : site;
        const prefix = v.prefix ?? "alb";
        const bucket = new aws.s3.Bucket("logs", {}, { provider: bucketSide });
        new aws.s3.BucketServerSideEncryptionConfiguration("logs-sse", {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: v.sse ?? "AES256" } }],
        }, { provider: bucketSide });
        const principal = v.grantee === "legacy" ? { AWS: "arn:aws:iam::127311923021:root" } : v.grantee === "none" ? { Service: "s3.amazonaws.com" } : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" };
        const policy = new aws.s3.BucketPolicy("logs-policy", {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: principal, Action: "s3:PutObject", Resource: pulumi.interpolate`${bucket.arn}/${prefix}/AWSLogs/123456789012/*` }],
            }),
        }, { provider: bucketSide });
        new aws.lb.LoadBalancer("alb", {
            loadBalancerType: "application",
            subnets: ["subnet-a", "subnet-b"],
            accessLogs: { bucket: bucket.bucket, prefix, enabled: true },
        }, { provider: site, dependsOn: v.ordered === false ? [] : [policy] });
    };
}

describe("offline AWS rules: Elastic Load Balancing", () => {
    it("refuses an ALB that can be created before the bucket policy that lets ELB write its access logs (the original edge)", async () => {
        expect(await refusals(albWithAccessLogs({ ordered: false }))).to.include("elb-access-logs-after-bucket-policy");
        expect(await refusals(albWithAccessLogs())).to.deep.equal([]);
    });

    it("accepts the log delivery service principal or the region's legacy ELB account, and nothing else", async () => {
        expect(await refusals(albWithAccessLogs({ grantee: "legacy" }))).to.deep.equal([]);
        expect(await refusals(albWithAccessLogs({ grantee: "none" }))).to.deep.equal(["elb-access-logs-after-bucket-policy"]);
    });

    it("refuses an access-log bucket encrypted with SSE-KMS, in another region, or a prefix with AWSLogs", async () => {
        expect(await refusals(albWithAccessLogs({ sse: "aws:kms" }))).to.deep.equal(["elb-access-logs-bucket-sse-s3"]);
        expect(await refusals(albWithAccessLogs({ bucketRegion: "us-west-2" }))).to.deep.equal(["elb-access-logs-bucket-same-region"]);
        expect(await refusals(albWithAccessLogs({ prefix: "AWSLogs/alb" }))).to.include("elb-access-logs-prefix");
    });
});
