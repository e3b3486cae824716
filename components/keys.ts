import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StatefulLifecycle } from "./lifecycle";

export interface SiteKeyArgs {
    /** What the key protects, for its description (e.g. "the primary site", "the DR landing zone"). */
    purpose: string;
    /** How the key ends: protected and retained, and its deletion window (components/lifecycle.ts). */
    lifecycle: StatefulLifecycle;
}

/** AWS services that publish to SNS topics encrypted with this key (alarms, events, vault notifications, RDS event subscriptions). */
export const SNS_PUBLISHING_SERVICES = ["backup.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"] as const;

/**
 * Who may use a site key besides IAM principals of the account, and why (each line: the service, what
 * it encrypts with the key, the AWS page that documents the key policy statement):
 *
 * - `logs.<region>.amazonaws.com`: the region's log groups (app, flow logs, FIS, RDS, ElastiCache,
 *   Step Functions). CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS":
 *   `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:Describe*`, with
 *   `ArnLike kms:EncryptionContext:aws:logs:arn`.
 * - the services of {@link SNS_PUBLISHING_SERVICES}: the alert and vault topics. SNS Developer Guide,
 *   "Enable compatibility between event sources from AWS services and encrypted topics":
 *   `kms:GenerateDataKey*` and `kms:Decrypt`. Scoped by the encryption context SNS itself sets, the
 *   topic ARN (`kms:EncryptionContext:aws:sns:topicArn`, as AWS's examples condition on it), to this
 *   account's topics in this region. Not by `aws:SourceAccount`/`aws:SourceArn`: "Adding the
 *   aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is not supported for
 *   EventBridge-to-encrypted topics" (the backup-job-failed rule's events were dropped). For the other
 *   publishers (CloudWatch alarms, RDS events, AWS Backup) the same SNS guide does document them, as a
 *   protection against the confused deputy ("Add the aws:SourceAccount and aws:SourceArn condition
 *   keys ..."), EventBridge excepted. This key leaves them out of its one statement for every
 *   publisher (EventBridge cannot have them) and keeps the encryption-context condition, which binds
 *   each use to a topic of this account and region; a separate statement for the non-EventBridge
 *   services could add them. Which service may publish to a topic is the topic policy's business
 *   (components/notifications.ts).
 * - `delivery.logs.amazonaws.com`: Step Functions' execution logs of a state machine encrypted with the
 *   key (CloudWatch vended logs): Step Functions Developer Guide, "Data at rest encryption", logging
 *   with a customer managed key: the key policy lets the log delivery service `kms:Decrypt`.
 *
 * Not here, because AWS has them use the key with the caller's IAM permissions (`kms:ViaService` in
 * the roles' policies, enabled by the account statement): S3 (and replication), Secrets Manager, RDS,
 * ElastiCache, ECR, AWS Backup vaults, EventBridge Scheduler (the schedule's execution role decrypts:
 * Scheduler User Guide, "Encryption at rest"), Step Functions (the execution role), and the EC2 Auto
 * Scaling service-linked role (a grant: components/app-cluster.ts). Subscribers (email, SMS, AWS
 * Chatbot) need nothing: SNS decrypts a message before delivering it.
 */
export function siteKeyPolicy(account: string, region: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountAdministersAndEnablesIamPolicies",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchLogsOfThisAccount",
                Effect: "Allow",
                Principal: { Service: `logs.${region}.amazonaws.com` },
                Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                Resource: "*",
                Condition: {
                    ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account}:log-group:*` },
                },
            },
            {
                Sid: "ServicesPublishingToThisAccountsTopics",
                Effect: "Allow",
                Principal: { Service: [...SNS_PUBLISHING_SERVICES] },
                Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                Resource: "*",
                Condition: {
                    ArnLike: { "kms:EncryptionContext:aws:sns:topicArn": `arn:aws:sns:${region}:${account}:*` },
                },
            },
            {
                Sid: "LogDeliveryOfEncryptedStateMachines",
                Effect: "Allow",
                Principal: { Service: "delivery.logs.amazonaws.com" },
                Action: "kms:Decrypt",
                Resource: "*",
            },
        ],
    };
}

/**
 * The customer-managed KMS key of one region, used by every encrypted resource of that region
 * (buckets, secrets, vaults, registry, log groups, topics), with an alias.
 *
 * - Rotation on (yearly); on a kept stack a deletion window of 30 days (a scheduled deletion can be
 *   cancelled for a month), protected and retained on `pulumi destroy`; on an ephemeral stack deleted
 *   with the stack, after KMS's shortest window (components/lifecycle.ts).
 * - Key policy ({@link siteKeyPolicy}): the account root administers it (so IAM policies grant use,
 *   narrowly, per role); CloudWatch Logs of this region may use it for this account's log groups;
 *   the services that publish to encrypted SNS topics (AWS Backup, CloudWatch alarms, EventBridge,
 *   RDS events) for this account's topics of this region; log delivery may decrypt for encrypted state
 *   machines' logs. S3 replication, Secrets Manager, RDS, ElastiCache and ECR use it through the
 *   calling role's IAM permissions (`kms:ViaService`), which the root statement enables.
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
            deletionWindowInDays: args.lifecycle.kmsDeletionWindowDays,
            policy: pulumi.all([account, regionName]).apply(([accountId, regionId]) => JSON.stringify(siteKeyPolicy(accountId, regionId))),
        }, { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete });
        this.keyId = key.keyId;
        this.keyArn = key.arn;

        const alias = new aws.kms.Alias(`${name}-alias`, { name: `alias/${name}`, targetKeyId: key.keyId }, parent);
        this.aliasName = alias.name;

        this.registerOutputs({ keyId: this.keyId, keyArn: this.keyArn, aliasName: this.aliasName });
    }
}
