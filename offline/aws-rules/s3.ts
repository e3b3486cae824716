/**
 * Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts), and the
 * bucket helpers the ELB and ElastiCache rules share: which settings resources belong to a bucket,
 * its default encryption and object ownership, and whether its policy grants a service an action.
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, RuleContext } from "./types";
import { list, orNone } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

export const S3 = {
    bucket: [AWS_TYPES.bucket, AWS_TYPES.bucketV2],
    policy: [AWS_TYPES.bucketPolicy],
    encryption: [
        AWS_TYPES.bucketEncryption,
        AWS_TYPES.bucketEncryptionV2,
    ],
    ownership: [AWS_TYPES.bucketOwnershipControls],
    objectLock: [AWS_TYPES.bucketObjectLock, AWS_TYPES.bucketObjectLockV2],
    logging: [AWS_TYPES.bucketLogging, AWS_TYPES.bucketLoggingV2],
    acl: [AWS_TYPES.bucketAcl, AWS_TYPES.bucketAclV2],
} as const;


/** The bucket a name, id or ARN points at, when this evaluation declares it. */
export function bucketOf(ctx: RuleContext, ref: unknown): RecordedResource | undefined {
    const name = typeof ref === "string" ? ref.replace(/^arn:[^:]+:s3:::/, "").split("/")[0] : ref;
    for (const type of S3.bucket) {
        const found = ctx.resolve(ref, type) ?? ctx.resolve(name, type);
        if (found) return found;
    }
    return undefined;
}

/** Settings resources (of the given types) whose `bucket` input is this bucket. */
export function settingsOf(ctx: RuleContext, bucket: RecordedResource, types: readonly string[]): RecordedResource[] {
    const refs = new Set([bucket.id, bucket.outputs.bucket, bucket.outputs.arn, bucket.urn].filter((v) => v !== undefined));
    return types.flatMap((t) => ctx.ofType(t)).filter((r) => refs.has(r.props.bucket));
}

/** The bucket's default encryption: "kms" (SSE-KMS or DSSE-KMS), "s3" (SSE-S3, also S3's default for new buckets). */
export function defaultEncryption(ctx: RuleContext, bucket: RecordedResource): "kms" | "s3" {
    const algorithms = settingsOf(ctx, bucket, S3.encryption).flatMap((e) => list<any>(e.props.rules).map((r) => r.applyServerSideEncryptionByDefault?.sseAlgorithm));
    return algorithms.some((a) => typeof a === "string" && a.startsWith("aws:kms")) ? "kms" : "s3";
}

/**
 * The bucket's object ownership. Without a declared setting, a new bucket has ACLs disabled: S3 User
 * Guide, "Controlling ownership of objects": "By default, Object Ownership is set to the Bucket owner
 * enforced setting, and all ACLs are disabled" (for buckets created since April 2023).
 */
export function objectOwnership(ctx: RuleContext, bucket: RecordedResource): string {
    const declared = settingsOf(ctx, bucket, S3.ownership).map((o) => o.props.rule?.objectOwnership).find((v) => typeof v === "string");
    return declared ?? "BucketOwnerEnforced";
}

/** Every statement of the bucket's policies, parsed. */
export function policyStatements(ctx: RuleContext, bucket: RecordedResource): { policy: RecordedResource; statement: any }[] {
    return settingsOf(ctx, bucket, S3.policy).flatMap((policy) => {
        let doc: any;
        try {
            doc = typeof policy.props.policy === "string" ? JSON.parse(policy.props.policy) : policy.props.policy;
        } catch {
            return [];
        }
        return list<any>(doc?.Statement).map((statement) => ({ policy, statement }));
    });
}

/** IAM-style wildcard match (`*`, `?`), case-sensitive as IAM matches ARNs. */
export function globMatch(pattern: string, value: string): boolean {
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`);
    return re.test(value);
}

/** True when a principal element names `who` (a service principal, or an AWS principal ARN or account). */
function principalIncludes(principal: any, who: { service?: string; aws?: string }): boolean {
    if (principal === "*") return true;
    if (!principal || typeof principal !== "object") return false;
    if (who.service && list<string>(principal.Service).includes(who.service)) return true;
    if (who.aws) {
        const account = /^\d{12}$/.test(who.aws) ? who.aws : who.aws.split(":")[4];
        return list<string>(principal.AWS).some((p) => p === who.aws || p === account || p === `arn:aws:iam::${account}:root`);
    }
    return false;
}

/**
 * The Allow statements of a bucket policy that grant `who` the `action` on `resource` (conditions
 * not evaluated: the caller inspects them), with no Deny statement naming that principal, action and
 * resource without a condition.
 */
export function grantingStatements(ctx: RuleContext, bucket: RecordedResource, who: { service?: string; aws?: string }, action: string, resource: string) {
    const matches = (st: any) =>
        principalIncludes(st.Principal, who) &&
        list<string>(st.Action).some((a) => globMatch(a, action)) &&
        list<string>(st.Resource).some((r) => typeof r === "string" && globMatch(r, resource));
    const all = policyStatements(ctx, bucket);
    if (all.some(({ statement }) => statement.Effect === "Deny" && !statement.Condition && matches(statement))) return [];
    return all.filter(({ statement }) => statement.Effect === "Allow" && matches(statement));
}

/** The region a resource was declared in (its provider's), or undefined for the default provider. */
export const regionOf = (r: RecordedResource | undefined): string | undefined => r?.region;

const RULE_SOURCES = {
    serverAccessLogs:
        'S3 User Guide, "Enabling Amazon S3 server access logging": "The target bucket must be in the same AWS Region and AWS account as the source bucket, and must not have a default retention period configuration"; "You can use default bucket encryption on the target bucket only if you use AES256 (SSE-S3). Default encryption with AWS KMS keys (SSE-KMS) is not supported"; "S3 buckets with S3 Object Lock can\'t be used as destination buckets for server access logs"',
    logDeliveryPermissions:
        'S3 User Guide, "Enabling Amazon S3 server access logging", "Permissions for log delivery": "If the target bucket uses the bucket owner enforced setting for Object Ownership, ACLs are disabled ... You must update the bucket policy for the target bucket to grant access to the logging service principal ... You also can\'t include target grants in your PutBucketLogging configuration"; the policy grants s3:PutObject to logging.s3.amazonaws.com on the target prefix, with aws:SourceArn the source bucket',
    aclsDisabled:
        'S3 User Guide, "Controlling ownership of objects and disabling ACLs for your bucket": with Bucket owner enforced, "ACLs are disabled and no longer affect permissions"; "requests to set ACLs or update ACLs fail and return the 400 error code AccessControlListNotSupported" (except bucket-owner-full-control)',
};

/** The source bucket and its target, for a BucketLogging resource whose both ends this evaluation declares. */
function loggingEnds(resource: RecordedResource, ctx: RuleContext) {
    const source = bucketOf(ctx, resource.props.bucket);
    const target = bucketOf(ctx, resource.props.targetBucket);
    return { source, target };
}

export const rules: AwsRule[] = [
    {
        id: "s3-access-logs-target-same-region",
        types: S3.logging,
        source: RULE_SOURCES.serverAccessLogs,
        check(resource, ctx) {
            const { source, target } = loggingEnds(resource, ctx);
            const from = regionOf(source) ?? regionOf(resource);
            if (!target || !from || !regionOf(target) || regionOf(target) === from) return undefined;
            return `server access logs of ${source?.name ?? resource.props.bucket} (${from}) go to ${target.name} in ${regionOf(target)}: the target bucket must be in the same region as the source (use a logs bucket of ${from})`;
        },
    },
    {
        id: "s3-access-logs-target-sse-s3",
        types: S3.logging,
        source: RULE_SOURCES.serverAccessLogs,
        check(resource, ctx) {
            const { target } = loggingEnds(resource, ctx);
            if (!target || defaultEncryption(ctx, target) !== "kms") return undefined;
            return `the target bucket ${target.name} encrypts with SSE-KMS by default: S3 delivers server access logs only to SSE-S3 (AES256) targets`;
        },
    },
    {
        id: "s3-access-logs-target-no-object-lock",
        types: S3.logging,
        source: RULE_SOURCES.serverAccessLogs,
        check(resource, ctx) {
            const { target } = loggingEnds(resource, ctx);
            if (!target) return undefined;
            const locked = target.props.objectLockEnabled === true || target.props.objectLockEnabled === "true" || settingsOf(ctx, target, S3.objectLock).length > 0;
            return locked ? `the target bucket ${target.name} has S3 Object Lock (default retention): it cannot receive server access logs` : undefined;
        },
    },
    {
        id: "s3-access-logs-delivery-allowed",
        types: S3.logging,
        source: RULE_SOURCES.logDeliveryPermissions,
        check(resource, ctx) {
            const { source, target } = loggingEnds(resource, ctx);
            if (!target) return undefined;
            const problems: string[] = [];
            const ownership = objectOwnership(ctx, target);
            if (ownership === "BucketOwnerEnforced" && list(resource.props.targetGrants).length > 0) {
                problems.push(`target grants on ${target.name}, whose ACLs are disabled (bucket owner enforced): grant the logging service in the target's bucket policy instead`);
            }
            if (ownership === "BucketOwnerEnforced") {
                const prefix = String(resource.props.targetPrefix ?? "");
                const key = `${target.outputs.arn}/${prefix}2026-01-01-00-00-00-0123456789ABCDEF`;
                const sourceArn = source?.outputs.arn ?? `arn:aws:s3:::${resource.props.bucket}`;
                const grants = grantingStatements(ctx, target, { service: "logging.s3.amazonaws.com" }, "s3:PutObject", key).filter(({ statement }) => {
                    const arns = [statement.Condition?.ArnLike?.["aws:SourceArn"], statement.Condition?.ArnEquals?.["aws:SourceArn"]].flatMap((v) => list<string>(v));
                    return arns.length === 0 || arns.some((a) => typeof a === "string" && globMatch(a, sourceArn));
                });
                if (grants.length === 0) {
                    problems.push(
                        `the bucket policy of ${target.name} does not let logging.s3.amazonaws.com put objects under ${prefix || "its root"} for ${source?.name ?? resource.props.bucket}: ` +
                            "S3 cannot deliver the logs (add s3:PutObject for that principal on the prefix, aws:SourceArn the source bucket)",
                    );
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "s3-acl-needs-acls-enabled",
        types: S3.acl,
        source: RULE_SOURCES.aclsDisabled,
        check(resource, ctx) {
            const bucket = bucketOf(ctx, resource.props.bucket);
            if (!bucket || objectOwnership(ctx, bucket) !== "BucketOwnerEnforced") return undefined;
            const canned = resource.props.acl;
            const grants = list<any>(resource.props.accessControlPolicy?.grants ?? resource.props.accessControlPolicy?.grant);
            const ownerId = resource.props.accessControlPolicy?.owner?.id;
            const foreign = grants.filter((g) => !(g.grantee?.type === "CanonicalUser" && g.grantee?.id === ownerId && g.permission === "FULL_CONTROL"));
            if ((canned === undefined || canned === "private" || canned === "bucket-owner-full-control") && foreign.length === 0) return undefined;
            return `an ACL on ${bucket.name} (${canned ?? `grants to ${foreign.map((g) => g.grantee?.id ?? g.grantee?.uri).join(", ")}`}), whose ACLs are disabled (bucket owner enforced): S3 answers AccessControlListNotSupported; grant access in the bucket policy`;
        },
    },
];
