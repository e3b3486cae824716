/**
 * The app instances' identity: the instance role (least privilege: the agent's metrics, the app's logs,
 * pulling this repository, reading this secret and the credentials it names, writing only the backup
 * prefixes, and for the scheduled dump listing and reading them back), Systems Manager's core policy,
 * and the instance profile the launch template names.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AppClusterArgs } from "./args";
import { AGENT_NAMESPACE } from "./user-data";
import { serviceTrustPolicy } from "../iam";

/** Key prefixes of the backups bucket the app instances may write (the plan's dumps and RDB exports). */
export const BACKUP_WRITE_PREFIXES = ["db/daily/", "db/weekly/", "redis/"] as const;

/**
 * `s3:prefix` values the scheduled dump's instances may list: each write prefix, and `db/` itself
 * (scripts/lib/dump.sh `newest_s3` lists `--prefix db/` to find the newest dump of either kind).
 */
export const BACKUP_LIST_PREFIXES = ["db/", ...BACKUP_WRITE_PREFIXES.map((prefix) => `${prefix}*`)];

/** AWS's managed policy for Systems Manager's core functionality on an instance. */
export const SSM_MANAGED_INSTANCE_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

export interface InstanceRole {
    role: aws.iam.Role;
    profile: aws.iam.InstanceProfile;
    /** The policy on the credentials the app's environment names, when there are any (the launch template waits for it). */
    appCredentials?: aws.iam.RolePolicy;
}

/** The role, its policies and the instance profile, children of `ctx.parent` (the AppCluster). */
export function instanceRole(
    name: string,
    args: AppClusterArgs,
    ctx: { parent: pulumi.Resource; account: pulumi.Output<string>; region: pulumi.Output<string>; logGroup: aws.cloudwatch.LogGroup },
): InstanceRole {
    const parent = { parent: ctx.parent };
    const { account, region, logGroup } = ctx;

    // The key of the secret and the backups: by ARN, or (ARN unknown here) the region's keys that carry its alias.
    const dataKey = args.dataKey && "alias" in args.dataKey
        ? {
            resource: pulumi.interpolate`arn:aws:kms:${region}:${account}:key/*`,
            condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": args.dataKey.alias } },
        }
        : { resource: args.dataKey && "arn" in args.dataKey ? args.dataKey.arn : args.kmsKeyArn, condition: {} };

    // Instance role: every statement names the narrowest resource AWS allows; "*" only where the
    // action has no resource type (and then with a condition where one exists).
    // s3:ResourceAccount: "Filters access by the resource owner AWS account ID" (Service Authorization
    // Reference, Amazon S3 condition keys); with a bucket-name pattern it keeps the pattern to this account.
    const ownAccount = args.backupsBucketAccount === undefined ? undefined : { StringEquals: { "s3:ResourceAccount": args.backupsBucketAccount } };
    const bucketArns: pulumi.Input<string>[] = args.backupsBucketArn === undefined ? [] : Array.isArray(args.backupsBucketArn) ? args.backupsBucketArn : [args.backupsBucketArn];
    const role = new aws.iam.Role(`${name}-instance`, {
        description: "Genie AI Server app instances",
        assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"),
    }, parent);
    new aws.iam.RolePolicy(`${name}-instance`, {
        role: role.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AgentMetrics",
                    Effect: "Allow",
                    Action: "cloudwatch:PutMetricData",
                    Resource: "*",
                    Condition: { StringEquals: { "cloudwatch:namespace": AGENT_NAMESPACE } },
                },
                {
                    Sid: "AgentDimensions", // the agent reads the group name and volume ids; Describe* has no resource type
                    Effect: "Allow",
                    Action: ["ec2:DescribeTags", "ec2:DescribeVolumes"],
                    Resource: "*",
                },
                {
                    Sid: "AppLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:log-stream:*`],
                },
                { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                {
                    Sid: "EcrPull",
                    Effect: "Allow",
                    Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    Resource: args.repositoryArn,
                },
                { Sid: "AppEnvironment", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: args.appEnvSecret.arn },
                ...(args.backupsBucketArn === undefined
                    ? []
                    : [{
                        Sid: "BackupPrefixes",
                        Effect: "Allow",
                        Action: ["s3:PutObject", "s3:AbortMultipartUpload", ...(args.backupJob ? ["s3:GetObject"] : [])],
                        Resource: bucketArns.flatMap((arn) => BACKUP_WRITE_PREFIXES.map((prefix) => pulumi.interpolate`${arn}/${prefix}*`)),
                        ...(ownAccount ? { Condition: ownAccount } : {}),
                    }]),
                ...(args.backupJob === undefined || args.backupsBucketArn === undefined
                    ? []
                    : [
                        {
                            // backup.sh checks the bucket first (HeadBucket, which S3 authorises as
                            // s3:ListBucket and sends without s3:prefix: hence IfExists), finds the
                            // newest dump under db/ and lists one backup's prefix to download it.
                            Sid: "ListBackupPrefixes",
                            Effect: "Allow",
                            Action: "s3:ListBucket",
                            Resource: bucketArns.length === 1 ? bucketArns[0] : bucketArns,
                            Condition: { StringLikeIfExists: { "s3:prefix": BACKUP_LIST_PREFIXES }, ...ownAccount },
                        },
                        { Sid: "DatabaseCredentialsForBackups", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: args.backupJob.dbCredentialsSecretArn },
                        // Electing the instance that dumps; this action has no resource-level permissions.
                        { Sid: "FindGroupMembers", Effect: "Allow", Action: "autoscaling:DescribeAutoScalingGroups", Resource: "*" },
                    ]),
                {
                    Sid: "DataKeyThroughSecretsAndS3",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                    Resource: dataKey.resource,
                    Condition: {
                        StringEquals: {
                            "kms:ViaService": [pulumi.interpolate`secretsmanager.${region}.amazonaws.com`, pulumi.interpolate`s3.${region}.amazonaws.com`],
                        },
                        ...dataKey.condition,
                    },
                },
            ],
        }),
    }, parent);
    // Systems Manager on the instances (State Manager runs the scheduled dump, Session Manager
    // replaces SSH): AWS's AmazonSSMManagedInstanceCore, "the minimum permissions which allow the
    // instance to ... be managed by Systems Manager" (SSM User Guide, "Configure instance
    // permissions"): registering, listing its associations, fetching their documents
    // (ssm:GetDocument, ssm:DescribeAssociation), reporting status, and the message channels.
    new aws.iam.RolePolicyAttachment(`${name}-ssm-core`, { role: role.name, policyArn: SSM_MANAGED_INSTANCE_CORE_POLICY_ARN }, parent);
    const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name }, parent);

    // The credentials the app's environment names, read by the user data at boot. The site key
    // decrypts the site's own secrets (its app-env on a DR site, the Redis AUTH token) when the
    // data key above is another one (a DR site's replicas are under the landing zone's key).
    const credentialSecretArns = args.appEnvSecret.credentialSecretArns ?? [];
    const appCredentials = credentialSecretArns.length === 0 && !args.dataKey
        ? undefined
        : new aws.iam.RolePolicy(`${name}-app-credentials`, {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    ...(credentialSecretArns.length === 0
                        ? []
                        : [{ Sid: "AppCredentials", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: credentialSecretArns }]),
                    ...(args.dataKey
                        ? [{
                            Sid: "SiteKeyThroughSecrets",
                            Effect: "Allow",
                            Action: "kms:Decrypt",
                            Resource: args.kmsKeyArn,
                            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`secretsmanager.${region}.amazonaws.com` } },
                        }]
                        : []),
                ],
            }),
        }, parent);

    return { role, profile, appCredentials };
}
