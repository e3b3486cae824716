import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface SiteKeyArgs {
    /** What the key protects, for its description (e.g. "the primary site", "the DR landing zone"). */
    purpose: string;
    /** Days KMS waits before deleting the key once deletion is scheduled (7 to 30). */
    deletionWindowInDays?: number;
    /** Protect the key from deletion by Pulumi (config `protect`). It is always retained on delete. */
    protect: boolean;
}

/** AWS services that publish to SNS topics encrypted with this key (alarms, events, vault notifications, RDS event subscriptions). */
export const SNS_PUBLISHING_SERVICES = ["backup.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"] as const;

/**
 * The customer-managed KMS key of one region, used by every encrypted resource of that region
 * (buckets, secrets, vaults, registry, log groups, topics), with an alias.
 *
 * - Rotation on (yearly), deletion window 30 days by default: a scheduled deletion can be cancelled
 *   for a month, and the key is protected and retained on `pulumi destroy`.
 * - Key policy: the account root administers it (so IAM policies grant use, narrowly, per role);
 *   CloudWatch Logs of this region may use it for this account's log groups; the services that
 *   publish to encrypted SNS topics (AWS Backup, CloudWatch alarms, EventBridge) may generate data
 *   keys for this account only. S3 replication, Secrets Manager, RDS, ElastiCache and ECR use it
 *   through the calling role's IAM permissions (`kms:ViaService`), which the root statement enables.
 */
export class SiteKey extends pulumi.ComponentResource {
    readonly keyId: pulumi.Output<string>;
    readonly keyArn: pulumi.Output<string>;
    readonly aliasName: pulumi.Output<string>;

    constructor(name: string, args: SiteKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:keys:SiteKey", name, {}, opts);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent);
        const account = identity.accountId;
        const regionName = region.region;

        const key = new aws.kms.Key(`${name}-key`, {
            description: `Genie AI Server: encrypts the data of ${args.purpose}`,
            enableKeyRotation: true,
            deletionWindowInDays: args.deletionWindowInDays ?? 30,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "AccountAdministersAndEnablesIamPolicies",
                        Effect: "Allow",
                        Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
                        Action: "kms:*",
                        Resource: "*",
                    },
                    {
                        Sid: "CloudWatchLogsOfThisAccount",
                        Effect: "Allow",
                        Principal: { Service: pulumi.interpolate`logs.${regionName}.amazonaws.com` },
                        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                        Resource: "*",
                        Condition: {
                            ArnLike: { "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:aws:logs:${regionName}:${account}:log-group:*` },
                        },
                    },
                    {
                        Sid: "ServicesPublishingToEncryptedTopics",
                        Effect: "Allow",
                        Principal: { Service: [...SNS_PUBLISHING_SERVICES] },
                        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                        Resource: "*",
                        Condition: { StringEquals: { "aws:SourceAccount": account } },
                    },
                ],
            }),
        }, { parent: this, protect: args.protect, retainOnDelete: true });
        this.keyId = key.keyId;
        this.keyArn = key.arn;

        const alias = new aws.kms.Alias(`${name}-alias`, { name: `alias/${name}`, targetKeyId: key.keyId }, parent);
        this.aliasName = alias.name;

        this.registerOutputs({ keyId: this.keyId, keyArn: this.keyArn, aliasName: this.aliasName });
    }
}
