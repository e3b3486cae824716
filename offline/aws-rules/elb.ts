/** Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts). */
import type { RecordedResource } from "../mock-runtime";
import { bucketOf, defaultEncryption, grantingStatements, regionOf } from "./s3";
import type { AwsRule, RuleContext } from "./types";
import { AWS_TYPES } from "../../policies/aws-types";

const LOAD_BALANCER = [AWS_TYPES.loadBalancer, AWS_TYPES.albLoadBalancer];

/** The log delivery service ELB writes access logs as (every region; the recommended policy). */
const ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com";

/**
 * The ELB accounts of the legacy bucket policy, per region (ELB guide, "Enable access logs", step 2:
 * "Previously, for Regions available before August 2022, we required a policy that granted
 * permissions to an ELB account that was specific to the Region. This legacy policy is still
 * supported ... Note that Regions that are not in this list never supported the legacy bucket policy").
 */
export const LEGACY_ELB_ACCOUNTS: Record<string, string> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
};

const ACCESS_LOGS_DOC =
    'ELB guide, "Enable access logs for your Application Load Balancer": "The bucket must be located in the same Region as the load balancer"; "The only server-side encryption option that\'s supported is Amazon S3-managed keys (SSE-S3)"; step 2: "Your S3 bucket must have a bucket policy that grants Elastic Load Balancing permission to write the access logs" (Principal Service logdelivery.elasticloadbalancing.amazonaws.com, or the region\'s ELB account in the legacy policy, s3:PutObject on bucket/prefix/AWSLogs/account-id/*); Troubleshooting: "Access Denied for bucket: bucket-name. Please check S3bucket permission" when "The bucket policy does not grant ELB permission to write access logs to the bucket"';

/** The access-log settings of a load balancer that turns them on, else undefined. */
function accessLogsOf(lb: RecordedResource): { bucket: string; prefix: string } | undefined {
    const logs = lb.props.accessLogs;
    if (!logs || !(logs.enabled === true || logs.enabled === "true") || typeof logs.bucket !== "string") return undefined;
    return { bucket: logs.bucket, prefix: typeof logs.prefix === "string" ? logs.prefix : "" };
}

/** The account of a load balancer, from its ARN. */
const accountOf = (lb: RecordedResource) => String(lb.outputs.arn ?? "").split(":")[4] || "123456789012";

/** The bucket policies that let ELB (of the load balancer's region) write its access logs into the bucket. */
function elbGrants(ctx: RuleContext, lb: RecordedResource, bucket: RecordedResource, prefix: string) {
    const key = `${bucket.outputs.arn}/${prefix ? `${prefix}/` : ""}AWSLogs/${accountOf(lb)}/elasticloadbalancing/${regionOf(lb) ?? "us-east-1"}/2026/01/01/log.gz`;
    const legacy = LEGACY_ELB_ACCOUNTS[regionOf(lb) ?? ""];
    return [
        ...grantingStatements(ctx, bucket, { service: ELB_LOG_DELIVERY }, "s3:PutObject", key),
        ...(legacy ? grantingStatements(ctx, bucket, { aws: legacy }, "s3:PutObject", key) : []),
    ];
}

export const rules: AwsRule[] = [
    {
        id: "elb-access-logs-after-bucket-policy",
        types: LOAD_BALANCER,
        source: ACCESS_LOGS_DOC,
        check(lb, ctx) {
            const logs = accessLogsOf(lb);
            const bucket = logs && bucketOf(ctx, logs.bucket);
            if (!logs || !bucket) return undefined; // a bucket this program does not declare: not checked here
            const grants = elbGrants(ctx, lb, bucket, logs.prefix);
            if (grants.length === 0) {
                return `access logs go to ${bucket.name} under "${logs.prefix}", but no bucket policy of it grants ELB log delivery (${ELB_LOG_DELIVERY}) s3:PutObject on ${logs.prefix ? `${logs.prefix}/` : ""}AWSLogs/<account>/*: ELB answers "Access Denied for bucket"`;
            }
            const policies = [...new Set(grants.map((g) => g.policy))];
            if (!policies.some((p) => ctx.dependsOn(lb, (r) => r.urn === p.urn))) {
                return `the load balancer is not ordered after the bucket policy that lets ELB write its access logs (${policies.map((p) => p.name).join(", ")}): on a first deployment it can be created first and fail with "Access Denied for bucket"; add dependsOn: [the bucket policy]`;
            }
            return undefined;
        },
    },
    {
        id: "elb-access-logs-bucket-sse-s3",
        types: LOAD_BALANCER,
        source: ACCESS_LOGS_DOC,
        check(lb, ctx) {
            const logs = accessLogsOf(lb);
            const bucket = logs && bucketOf(ctx, logs.bucket);
            if (!bucket || defaultEncryption(ctx, bucket) !== "kms") return undefined;
            return `the access-log bucket ${bucket.name} encrypts with SSE-KMS by default: ELB writes access logs only to SSE-S3 buckets`;
        },
    },
    {
        id: "elb-access-logs-bucket-same-region",
        types: LOAD_BALANCER,
        source: ACCESS_LOGS_DOC,
        check(lb, ctx) {
            const logs = accessLogsOf(lb);
            const bucket = logs && bucketOf(ctx, logs.bucket);
            if (!bucket || !regionOf(bucket) || !regionOf(lb) || regionOf(bucket) === regionOf(lb)) return undefined;
            return `the access-log bucket ${bucket.name} is in ${regionOf(bucket)}, the load balancer in ${regionOf(lb)}: the bucket must be in the load balancer's region`;
        },
    },
    {
        id: "elb-access-logs-prefix",
        types: LOAD_BALANCER,
        source: 'ELB guide, "Access logs for your Application Load Balancer", "Access log files": "prefix: (Optional) The prefix (logical hierarchy) for the bucket. The prefix that you specify must not include the string AWSLogs"',
        check(lb) {
            const logs = accessLogsOf(lb);
            if (!logs) return undefined;
            return logs.prefix.includes("AWSLogs") ? `access-log prefix "${logs.prefix}" includes "AWSLogs", which ELB adds itself and refuses in a prefix` : undefined;
        },
    },
];
