/**
 * Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts): the
 * export of snapshots to S3 (a Step Functions job calling `elasticache:copySnapshot` with a target
 * bucket), the seeding of a new cache from an RDB file in S3, and the EventBridge Scheduler schedule
 * that starts the export job (encrypted with a customer-managed key).
 */
import type { RecordedResource } from "../mock-runtime";
import { bucketOf, defaultEncryption, globMatch, grantingStatements, objectOwnership, regionOf, S3, settingsOf } from "./s3";
import type { AwsRule, RuleContext } from "./types";
import { list, orNone } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const STATE_MACHINE = AWS_TYPES.stateMachine;
const SCHEDULE = AWS_TYPES.schedule;
const CACHE = [AWS_TYPES.cache, AWS_TYPES.cacheCluster];
const ROLE = AWS_TYPES.iamRole;
const ROLE_POLICY = AWS_TYPES.iamRolePolicy;
const ROLE_POLICY_ATTACHMENT = AWS_TYPES.iamRolePolicyAttachment;

/** ElastiCache's canonical user in the AWS Regions enabled by default (the ACL route of the export guide). */
export const ELASTICACHE_CANONICAL_ID = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353";


const EXPORT_DOC =
    'ElastiCache User Guide, "Exporting a backup": "The ElastiCache backup and the Amazon S3 bucket that you want to copy it to must be in the same AWS Region"; "ElastiCache requires access to your Amazon S3 bucket to copy a snapshot to it. We recommend granting access by using an Amazon S3 bucket policy" (Principal {{region}}.elasticache-snapshot.amazonaws.com: s3:PutObject, s3:GetObject, s3:ListBucket, s3:GetBucketAcl, s3:ListMultipartUploadParts, s3:ListBucketMultipartUploads on the bucket and its objects); the older ACL route grants ElastiCache\'s canonical ID, which a bucket with ACLs disabled cannot take (S3 User Guide, "Grant Amazon ElastiCache (Redis OSS) access to your S3 bucket")';
const EXPORT_KMS_DOC =
    'ElastiCache User Guide, "At-Rest Encryption", "Using customer managed keys from AWS KMS": "Customer managed keys cannot be used when exporting backups to your selected Amazon S3 bucket. However, all backups exported to Amazon S3 are encrypted using Server side encryption"; a bucket whose default encryption is SSE-KMS would need ElastiCache\'s writer to use that key';
const CALLER_DOC =
    'ElastiCache User Guide, "Exporting a backup", "Required IAM permissions for the caller": elasticache:CopySnapshot; s3:PutObject, s3:GetObject, s3:DeleteObject, s3:ListBucket, s3:GetBucketLocation on the target bucket and its objects; s3:ListAllMyBuckets, "an account-level operation. Its Resource element must be "*" or "arn:aws:s3:::*". Scoping this action to a specific bucket ARN makes it ineffective and causes the error: "Elasticache was unable to validate the authenticated user has access on the S3 bucket."" Service Authorization Reference: CopySnapshot authorizes on snapshot* (source and copy)';
const SEED_DOC =
    'ElastiCache User Guide, "Tutorial: Seeding a new node-based cluster with an externally created backup": "You can encrypt a Valkey or Redis OSS .rdb file with Amazon S3 server-side encryption (SSE-S3) only"; "You must create your Amazon S3 bucket in the same AWS Region as your new ElastiCache for Redis OSS cluster"; step 4, "Grant ElastiCache read access to the .rdb file": Principal region.elasticache-snapshot.amazonaws.com with s3:GetObject, s3:ListBucket, s3:GetBucketAcl';
const SCHEDULER_DOC =
    'EventBridge Scheduler User Guide, "Encryption at rest", "Execution role permissions for customer managed keys": "You must add the following action to your schedule\'s execution role permissions policy to provide access to EventBridge Scheduler to call the AWS KMS API when decrypting your data": kms:Decrypt on the key';

// ── IAM: what a role's own policies allow ──────────────────────────────────────────────────────

/**
 * The statements of a role's policies (its `inlinePolicies` and the RolePolicy resources of this
 * evaluation), or undefined when it also has attached managed policies, whose content is not known here.
 */
export function roleStatements(ctx: RuleContext, roleRef: unknown): any[] | undefined {
    const role = ctx.resolve(roleRef, ROLE);
    if (!role) return undefined;
    const names = new Set([role.id, role.outputs.name, role.props.name, role.outputs.arn].filter((v) => v !== undefined));
    const attached = list(role.props.managedPolicyArns).length > 0 || ctx.ofType(ROLE_POLICY_ATTACHMENT).some((a) => names.has(a.props.role));
    if (attached) return undefined;
    const documents = [
        ...list<any>(role.props.inlinePolicies).map((p) => p.policy),
        ...ctx.ofType(ROLE_POLICY).filter((p) => names.has(p.props.role)).map((p) => p.props.policy),
    ];
    return documents.flatMap((doc) => {
        try {
            return list<any>((typeof doc === "string" ? JSON.parse(doc) : doc)?.Statement);
        } catch {
            return [];
        }
    });
}

/** True when an Allow statement grants the action on the resource (conditions not evaluated). */
export function allows(statements: any[], action: string, resource: string): boolean {
    return statements.some(
        (st) =>
            st.Effect === "Allow" &&
            list<string>(st.Action).some((a) => globMatch(a.toLowerCase(), action.toLowerCase())) &&
            list<string>(st.Resource).some((r) => typeof r === "string" && globMatch(r, resource)),
    );
}

const accountOf = (arn: unknown) => String(arn ?? "").split(":")[4] || "123456789012";

// ── Step Functions: the copySnapshot tasks of a state machine ────────────────────────────────

interface ExportTask {
    state: string;
    bucket: string;
    source: string;
    target: string;
}

/**
 * A sample value of a JSONata string expression of the definition: literals are kept, `$var` is the
 * sample of what the definition assigns to it, anything else (function calls, paths) becomes "x".
 */
function sample(expr: unknown, vars: Record<string, string>): string {
    if (typeof expr !== "string") return "x";
    const m = /^\{%\s*([\s\S]*?)\s*%\}$/.exec(expr);
    if (!m) return expr;
    return m[1]
        .split(/\s*&\s*(?=(?:[^']*'[^']*')*[^']*$)/)
        .map((part) => {
            const literal = /^'([^']*)'$/.exec(part);
            if (literal) return literal[1];
            const variable = /^\$([A-Za-z_]\w*)$/.exec(part);
            if (variable && vars[variable[1]] !== undefined) return vars[variable[1]];
            return "x";
        })
        .join("");
}

/** The copySnapshot tasks with a target bucket of a state machine's (JSON, JSONata) definition. */
function exportTasks(machine: RecordedResource): ExportTask[] {
    let definition: any;
    try {
        definition = typeof machine.props.definition === "string" ? JSON.parse(machine.props.definition) : machine.props.definition;
    } catch {
        return [];
    }
    const states: Record<string, any> = definition?.States ?? {};
    // Variables assigned from a createSnapshot result take the sample of the snapshot name it was given.
    const vars: Record<string, string> = {};
    for (const state of Object.values(states)) {
        for (const [name, value] of Object.entries<any>(state?.Assign ?? {})) {
            if (typeof value === "string" && /\$states\.result\.Snapshot\.SnapshotName/.test(value)) vars[name] = sample(state.Arguments?.SnapshotName, vars);
            else if (typeof value === "string" && !value.startsWith("{%")) vars[name] = value;
        }
    }
    return Object.entries(states)
        .filter(([, s]) => s?.Type === "Task" && /aws-sdk:elasticache:copySnapshot$/i.test(String(s.Resource)) && s.Arguments?.TargetBucket !== undefined)
        .map(([state, s]) => ({
            state,
            bucket: String(s.Arguments.TargetBucket),
            source: sample(s.Arguments.SourceSnapshotName, vars),
            target: sample(s.Arguments.TargetSnapshotName, vars),
        }));
}

/** Does the bucket let ElastiCache of `region` do `actions` on it (policy for its service principal, or the canonical-ID ACL)? */
function elastiCacheAccess(ctx: RuleContext, bucket: RecordedResource, region: string, objectActions: string[], bucketActions: string[]): string[] {
    const who = { service: `${region}.elasticache-snapshot.amazonaws.com` };
    const object = `${bucket.outputs.arn}/an-export-0001.rdb`;
    const missing = [
        ...objectActions.filter((a) => grantingStatements(ctx, bucket, who, a, object).length === 0),
        ...bucketActions.filter((a) => grantingStatements(ctx, bucket, who, a, String(bucket.outputs.arn)).length === 0),
    ];
    if (missing.length === 0) return [];
    // The ACL route: a grant to ElastiCache's canonical ID, which needs ACLs enabled.
    const aclGrant = objectOwnership(ctx, bucket) !== "BucketOwnerEnforced" &&
        settingsOf(ctx, bucket, S3.acl).some((acl) =>
            list<any>(acl.props.accessControlPolicy?.grants).some((g) => g.grantee?.id === ELASTICACHE_CANONICAL_ID));
    return aclGrant ? [] : missing;
}

export const rules: AwsRule[] = [
    {
        id: "elasticache-export-bucket-region",
        types: [STATE_MACHINE],
        source: EXPORT_DOC,
        check(machine, ctx) {
            const problems = exportTasks(machine).flatMap((task) => {
                const bucket = bucketOf(ctx, task.bucket);
                if (!bucket || !regionOf(bucket) || !regionOf(machine) || regionOf(bucket) === regionOf(machine)) return [];
                return [`${task.state} exports to ${bucket.name} in ${regionOf(bucket)}, the snapshot is in ${regionOf(machine)}: "The S3 bucket %s is outside of the region"`];
            });
            return orNone(problems);
        },
    },
    {
        id: "elasticache-export-bucket-access",
        types: [STATE_MACHINE],
        source: EXPORT_DOC,
        check(machine, ctx) {
            const region = regionOf(machine);
            if (!region) return undefined;
            const problems = exportTasks(machine).flatMap((task) => {
                const bucket = bucketOf(ctx, task.bucket);
                if (!bucket) return [];
                const missing = elastiCacheAccess(ctx, bucket, region, ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts"], ["s3:ListBucket", "s3:GetBucketAcl", "s3:ListBucketMultipartUploads"]);
                if (missing.length === 0) return [];
                const ownership = objectOwnership(ctx, bucket);
                return [
                    `${task.state} exports to ${bucket.name}, which does not let ${region}.elasticache-snapshot.amazonaws.com ${missing.join(", ")}` +
                        (ownership === "BucketOwnerEnforced" ? " (its ACLs are disabled, so only a bucket policy can): " : ": ") +
                        'ElastiCache answers "ElastiCache has not been granted READ/WRITE permissions on the S3 Bucket"',
                ];
            });
            return orNone(problems);
        },
    },
    {
        id: "elasticache-export-bucket-sse-s3",
        types: [STATE_MACHINE],
        source: EXPORT_KMS_DOC,
        check(machine, ctx) {
            const problems = exportTasks(machine).flatMap((task) => {
                const bucket = bucketOf(ctx, task.bucket);
                return bucket && defaultEncryption(ctx, bucket) === "kms"
                    ? [`${task.state} exports to ${bucket.name}, encrypted with SSE-KMS by default: ElastiCache exports with SSE-S3 only and cannot use the bucket's key; export to an SSE-S3 bucket`]
                    : [];
            });
            return orNone(problems);
        },
    },
    {
        id: "elasticache-export-caller-permissions",
        types: [STATE_MACHINE],
        source: CALLER_DOC,
        check(machine, ctx) {
            const tasks = exportTasks(machine);
            if (tasks.length === 0) return undefined;
            const statements = roleStatements(ctx, machine.props.roleArn);
            if (!statements) return undefined;
            const region = regionOf(machine) ?? "us-east-1";
            const account = accountOf(ctx.resolve(machine.props.roleArn, ROLE)?.outputs.arn);
            const problems: string[] = [];
            for (const task of tasks) {
                const bucketArn = `arn:aws:s3:::${task.bucket}`;
                const need: [string, string][] = [
                    ["elasticache:CopySnapshot", `arn:aws:elasticache:${region}:${account}:snapshot:${task.source}`],
                    ["elasticache:CopySnapshot", `arn:aws:elasticache:${region}:${account}:snapshot:${task.target}`],
                    ["s3:PutObject", `${bucketArn}/${task.target}-0001.rdb`],
                    ["s3:GetBucketLocation", bucketArn],
                    ["s3:ListBucket", bucketArn],
                ];
                const missing = need.filter(([action, resource]) => !allows(statements, action, resource)).map(([a, r]) => `${a} on ${r}`);
                // An account-level action: only "*" or "arn:aws:s3:::*" authorise it.
                const listAll = statements.some(
                    (st) => st.Effect === "Allow" && list<string>(st.Action).some((a) => globMatch(a.toLowerCase(), "s3:listallmybuckets")) && list<string>(st.Resource).some((r) => r === "*" || r === "arn:aws:s3:::*"),
                );
                if (!listAll) missing.push('s3:ListAllMyBuckets on "*" or "arn:aws:s3:::*"');
                if (missing.length > 0) problems.push(`${task.state}: the job's role lacks ${missing.join("; ")}`);
            }
            return orNone(problems);
        },
    },
    {
        id: "elasticache-seed-rdb-readable",
        types: CACHE,
        source: SEED_DOC,
        check(cache, ctx) {
            const problems: string[] = [];
            for (const arn of list<string>(cache.props.snapshotArns)) {
                const m = /^arn:[^:]+:s3:::([^/]+)\/(.+)$/.exec(String(arn));
                const bucket = m && bucketOf(ctx, m[1]);
                if (!m || !bucket) continue;
                if (regionOf(bucket) && regionOf(cache) && regionOf(bucket) !== regionOf(cache)) {
                    problems.push(`seed ${arn} is in ${regionOf(bucket)}, the cache in ${regionOf(cache)}: the bucket must be in the cache's region`);
                }
                if (defaultEncryption(ctx, bucket) === "kms") problems.push(`seed ${arn}: ${bucket.name} encrypts with SSE-KMS by default; ElastiCache seeds only from SSE-S3 files`);
                const region = regionOf(cache);
                if (region && objectOwnership(ctx, bucket) === "BucketOwnerEnforced") {
                    const who = { service: `${region}.elasticache-snapshot.amazonaws.com` };
                    const missing = [
                        ...(grantingStatements(ctx, bucket, who, "s3:GetObject", `${bucket.outputs.arn}/${m[2]}`).length === 0 ? ["s3:GetObject"] : []),
                        ...["s3:ListBucket", "s3:GetBucketAcl"].filter((a) => grantingStatements(ctx, bucket, who, a, String(bucket.outputs.arn)).length === 0),
                    ];
                    if (missing.length > 0) problems.push(`seed ${arn}: the bucket policy of ${bucket.name} does not let ${who.service} ${missing.join(", ")}`);
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "scheduler-cmk-execution-role-decrypt",
        types: [SCHEDULE],
        source: SCHEDULER_DOC,
        check(schedule, ctx) {
            const key = schedule.props.kmsKeyArn;
            if (typeof key !== "string" || key === "") return undefined;
            const statements = roleStatements(ctx, schedule.props.target?.roleArn);
            if (!statements || allows(statements, "kms:Decrypt", key)) return undefined;
            return `the schedule is encrypted with ${key}, but its execution role may not kms:Decrypt with it: EventBridge Scheduler cannot decrypt the schedule to invoke the target`;
        },
    },
];
