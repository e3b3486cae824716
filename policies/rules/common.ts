/**
 * Shared pieces of the policy pack's rules: the resource type tokens they check (aws 7.48 names, old
 * and V2 S3 names alike), how a rule reads its config (the schema's defaults, overridden by the pack's
 * config), how a resource's purpose and site are found, and the "not yet built" switch of the
 * cross-component stack rules.
 */
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import type {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export type Rule = ResourceValidationPolicy | StackValidationPolicy;

/** Every rule names the fix with the problem: `reportViolation(problem + fix(...))`. */
export const fix = (how: string) => ` (fix: ${how})`;

export const T = {
    backupPlan: "aws:backup/plan:Plan",
    backupVault: "aws:backup/vault:Vault",
    backupVaultLock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    bucketVersioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    bucketEncryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    bucketLifecycle: [
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    ],
    bucketReplication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    dbInstance: "aws:rds/instance:Instance",
    dbBackupReplication: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    dbEventSubscription: "aws:rds/eventSubscription:EventSubscription",
    cache: "aws:elasticache/replicationGroup:ReplicationGroup",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    repository: "aws:ecr/repository:Repository",
    repositoryLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    registryReplication: "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    asg: "aws:autoscaling/group:Group",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    healthCheck: "aws:route53/healthCheck:HealthCheck",
    kmsKey: "aws:kms/key:Key",
    kmsReplicaKey: "aws:kms/replicaKey:ReplicaKey",
    secret: "aws:secretsmanager/secret:Secret",
    topic: "aws:sns/topic:Topic",
    topicSubscription: "aws:sns/topicSubscription:TopicSubscription",
    slackChannel: "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
} as const;

export const isOneOf = (type: string, types: string | readonly string[]) => (typeof types === "string" ? type === types : types.includes(type));

/**
 * A rule's settings: the defaults of its config schema, overridden by what the pack's config gives it.
 * The Pulumi CLI fills schema defaults itself; doing it here too keeps the rules right in any runner.
 */
export function settingsOf<T extends object>(schema: PolicyConfigSchema, args: { getConfig<C extends object>(): C }): T {
    const defaults: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(schema.properties)) if (spec.default !== undefined) defaults[key] = spec.default;
    return { ...defaults, ...args.getConfig<Record<string, unknown>>() } as T;
}

/**
 * A resource validation for some types, marked not applicable (as the engine's
 * `validateResourceOfType` does) for every other type. With one type it carries `__pulumiType`, so
 * the engine skips other types without calling it.
 */
export function forTypes(
    types: string | readonly string[],
    validate: (props: Record<string, any>, args: ResourceValidationArgs, report: ReportViolation) => void | Promise<void>,
): ResourceValidation {
    const list = typeof types === "string" ? [types] : types;
    const fn: ResourceValidation & { __pulumiType?: string } = (args, report) => {
        if (!list.includes(args.type)) args.notApplicable(`Policy only applies to resources of type ${list.map((t) => `'${t}'`).join(" or ")}`);
        return validate(args.props, args, report);
    };
    if (list.length === 1) fn.__pulumiType = list[0];
    return fn;
}

/** AWS tags of a resource's props: the `tags` map, or an ASG's `tags` list of {key, value}. */
export function tagsOf(props: Record<string, any>): Record<string, string> {
    const tags = props?.tagsAll ?? props?.tags;
    if (Array.isArray(tags)) return Object.fromEntries(tags.map((t: any) => [t.key, String(t.value)]));
    return tags && typeof tags === "object" ? tags : {};
}

/**
 * The purpose of a bucket (backups | uploads | logs): its `purpose` tag when it has one, else the
 * data-protection component's naming (`<site>-storage-backups-bucket`, `...-dr-uploads-bucket`,
 * `...-logs-bucket`). The S3 rules pick their requirements by it.
 */
export const PURPOSE_TAG = "purpose";
export function purposeOf(r: { name: string; props: Record<string, any> }): string | undefined {
    return tagsOf(r.props)[PURPOSE_TAG] ?? /-(backups|uploads|logs)(-bucket)?$/.exec(r.name)?.[1];
}

/**
 * The site a resource belongs to, from its provider's default tags (`site`: primary | dr |
 * dr-landing-zone; infra/providers.ts sets them), falling back to the resource's own `site` tag.
 */
export function siteOf(r: { props: Record<string, any>; provider?: { props: Record<string, any> } }): string | undefined {
    // Provider inputs of object type reach the engine JSON-encoded.
    const defaultTags = jsonDocument(r.provider?.props?.defaultTags);
    return defaultTags?.tags?.site ?? tagsOf(r.props).site;
}

/** The region of a resource's provider (undefined when the engine does not tell). */
export const regionOf = (r: { provider?: { props: Record<string, any> } }): string | undefined => r.provider?.props?.region;

/** The region an ARN names (`arn:aws:backup:us-west-2:...`), or undefined (S3 ARNs have none). */
export const arnRegion = (arn: unknown): string | undefined => (typeof arn === "string" ? arn.split(":")[3] || undefined : undefined);

/** Parses a JSON policy document given as a string or an object; undefined when it is neither. */
export function jsonDocument(doc: unknown): any {
    if (typeof doc === "string") {
        try {
            return JSON.parse(doc);
        } catch {
            return undefined;
        }
    }
    return doc && typeof doc === "object" ? doc : undefined;
}

export const asArray = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/**
 * What other resources use to point at this one: its name, id, bucket name or ARN (in AWS a bucket's,
 * vault's or repository's id is its name; the mock runtime's ids differ, so all are accepted).
 */
export function refsOf(r: PolicyResource): Set<unknown> {
    return new Set([r.props.bucket, r.props.name, r.props.id, r.props.arn].filter((v) => v !== undefined));
}

/** Names a stack resource in a message: `aws:s3/bucketV2:BucketV2 genie-primary-backups`. */
export const label = (r: PolicyResource) => `${r.type} ${r.name}`;

/**
 * The "not yet built" switch of cross-component stack rules: when the pack's config sets
 * `whenConcernAbsent` to "advisory" and the stack holds NONE of the resources of the rule's concern,
 * the rule reports one advisory "not yet built" violation instead of mandatory ones. As soon as one
 * resource of the concern exists, every finding is mandatory. Every component has landed, so the
 * default is "mandatory": a stack without any alarm, data store or database fails; "advisory" is for
 * a new component's branch while it is being built.
 */
export const concernAbsentSchema: Record<string, PolicyConfigJSONSchema> = {
    whenConcernAbsent: {
        type: "string",
        enum: ["advisory", "mandatory"],
        default: "mandatory",
        description:
            "What a stack without any resource of this rule's concern gets: one advisory 'not yet built' finding (while the component is being built) or mandatory violations.",
    },
};

/**
 * Reports that a concern is missing entirely: advisory "not yet built" (engine: enforcement level
 * advisory through the object form of reportViolation) unless the config makes it mandatory.
 * Returns true when it reported.
 */
export function reportConcernAbsent(
    present: boolean,
    concern: string,
    settings: { whenConcernAbsent?: string },
    policyName: string,
    report: ReportViolation,
    fixText: string,
): boolean {
    if (present) return false;
    const message = `not yet built: the stack has no ${concern}${fix(fixText)}`;
    if (settings.whenConcernAbsent === "mandatory") {
        report(message);
    } else {
        (report as unknown as (info: object) => void)({ name: policyName, message, enforcementLevel: "advisory" });
    }
    return true;
}

export type { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy, ResourceValidationPolicy };
