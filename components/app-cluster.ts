import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PORTS } from "./security-groups";

/** Key prefixes of the backups bucket the app instances may write (the plan's dumps and RDB exports). */
export const BACKUP_WRITE_PREFIXES = ["db/daily/", "db/weekly/", "redis/"] as const;

/**
 * `s3:prefix` values the scheduled dump's instances may list: each write prefix, and `db/` itself
 * (scripts/lib/dump.sh `newest_s3` lists `--prefix db/` to find the newest dump of either kind).
 */
export const BACKUP_LIST_PREFIXES = ["db/", ...BACKUP_WRITE_PREFIXES.map((prefix) => `${prefix}*`)];

/** AWS's managed policy for Systems Manager's core functionality on an instance. */
export const SSM_MANAGED_INSTANCE_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/** Namespace the CloudWatch agent publishes to; the memory target tracking and the disk alarm read it. */
export const AGENT_NAMESPACE = "CWAgent";
/** The agent's metric names (memory and disk used, percent). */
export const AGENT_METRICS = { memoryUsedPercent: "mem_used_percent", diskUsedPercent: "disk_used_percent" } as const;

export type Architecture = "x86_64" | "arm64";

/**
 * The CPU architecture of an EC2 instance type: Graviton families (a `g` among the attributes after
 * the generation, as in t4g, m7g, c7gn, r6gd, g5g; and the first-generation a1) are arm64, the rest
 * x86_64 (t3, m7i, c6a, g4dn ...).
 */
export function architectureOf(instanceType: string): Architecture {
    const family = instanceType.split(".")[0];
    if (family === "a1") return "arm64";
    const m = /^[a-z]+\d+([a-z-]*)$/.exec(family);
    return m && m[1].includes("g") ? "arm64" : "x86_64";
}

export interface AppClusterArgs {
    /** EC2 instance type; its architecture selects the AMI's. */
    instanceType: string;
    /**
     * The AMI to run, pinned (of the group's region and the instance type's architecture). Unset, the
     * newest Amazon Linux 2023 AMI is looked up at every `pulumi up` (`mostRecent`): each new AL2023
     * release is then a new launch template version and a full instance refresh at the next `pulumi up`,
     * whatever that update was for (a failover `pulumi up -s dr` included). Pin it where that matters
     * and move it on purpose (config `appAmiId`; README).
     */
    amiId?: pulumi.Input<string>;
    /** Group bounds; the group starts at `desiredCapacity` (default `minSize`), then scaling policies own it. */
    minSize: number;
    maxSize: number;
    desiredCapacity?: number;
    /** Private app subnets of every zone. */
    subnetIds: pulumi.Input<string>[];
    /** The app tier's security group (4000 from the ALB only). */
    securityGroupId: pulumi.Input<string>;
    /** The edge's target group the instances register with (ELB health checks). */
    targetGroupArn: pulumi.Input<string>;
    /** The image to run: `<repositoryUrl>:<tag>`. A new value rolls the group. */
    imageUri: pulumi.Input<string>;
    /** The ECR repository the image is pulled from (pull rights on it only). */
    repositoryArn: pulumi.Input<string>;
    /**
     * The Secrets Manager secret holding the app's environment as a JSON object: its ARN for the
     * policy (an ARN pattern ending `-??????` when only the name is known) and the id (name or ARN)
     * the instances read it by.
     */
    appEnvSecret: {
        arn: pulumi.Input<string>;
        id: pulumi.Input<string>;
        /**
         * `sha256:<hex>` of the environment the program wrote (components/secrets.ts AppEnvironment):
         * in the user data, so a new environment is a new launch template version and rolls the group.
         * It must be an output of the secret version resource (AppEnvironment.digest is), so the launch
         * template, and the instance refresh after it, wait until the version is written.
         */
        digest?: pulumi.Input<string>;
        /**
         * The secrets the environment names for credentials (database, Redis AUTH): the user data
         * reads them at boot into the root-only env file, so the instance role may read them.
         */
        credentialSecretArns?: pulumi.Input<string>[];
    };
    /** The region's customer-managed KMS key: root volumes and the log group. */
    kmsKeyArn: pulumi.Input<string>;
    /**
     * The account's EC2 Auto Scaling service-linked role, which launches the group's instances and so
     * needs a grant on `kmsKeyArn` for their encrypted volumes: its ARN, and the resource that creates
     * it when this stack does (the grant is ordered after it: KMS refuses a grant to a principal that
     * does not exist yet). Without `createdBy` the role must already exist (infra/serving-path.ts).
     */
    autoscalingServiceLinkedRole: { arn: pulumi.Input<string>; createdBy?: pulumi.Resource };
    /**
     * The Amazon Linux 2023 package of the PostgreSQL client tools (psql, pg_dump, pg_restore) the
     * scheduled dump runs (components/scheduled-dump.ts `postgresClientPackage`); installed at boot.
     */
    postgresClientPackage?: string;
    /**
     * The key that encrypts the app's secret and the backups bucket, when not `kmsKeyArn`: by ARN, or
     * by alias when its ARN is not known here (the DR site reads the production stack's replicas,
     * encrypted with the landing zone's key).
     */
    dataKey?: { arn: pulumi.Input<string> } | { alias: string };
    /**
     * The backups bucket; the instances may write only {@link BACKUP_WRITE_PREFIXES}. None: no write access.
     * Several ARNs when the bucket's exact name is not known here (name patterns: no `*` in the bucket name,
     * since a `*` there also matches "/" and so keys outside the prefixes; IAM user guide, Resource element).
     */
    backupsBucketArn?: pulumi.Input<string> | string[];
    /**
     * When `backupsBucketArn` is a pattern (a wildcard in the bucket name): the account that must own
     * the bucket (condition s3:ResourceAccount), so that the pattern cannot match another account's bucket.
     */
    backupsBucketAccount?: pulumi.Input<string>;
    /**
     * The scheduled logical dump runs on these instances (components/scheduled-dump.ts): they may then
     * read the database credentials, list and read back their own backup prefixes, and find the
     * group's members to elect the one instance that dumps.
     */
    backupJob?: { dbCredentialsSecretArn: pulumi.Input<string> };
    /** Days the app's log group keeps logs (the plan's 90). */
    logRetentionDays: number;
    /** Tags for the instances and their volumes (provider default tags do not reach them through the group). */
    instanceTags?: Record<string, string>;
    /** Root volume size in GiB; default 30. */
    rootVolumeGb?: number;
    /** Seconds a new instance gets before failed ELB health checks count; default 300. */
    healthCheckGracePeriodSeconds?: number;
    /** Target average CPU utilisation, percent; default 60. */
    cpuTargetPercent?: number;
    /** Target average memory used (CloudWatch agent), percent; default 70. */
    memoryTargetPercent?: number;
    /** Instance refresh: percentage of the group kept in service while it rolls; default 100 (launch before terminate). */
    minHealthyPercentage?: number;
}

/**
 * The app's autoscaling group ("Application Scaling: Minimum 2, auto-scaling on CPU/memory, health
 * checks") and everything its instances need:
 * - a launch template: a pinned AMI (`amiId`) or the current Amazon Linux 2023 image of the instance
 *   type's architecture (looked up at deploy time), IMDSv2 required, an encrypted gp3 root volume
 *   (site KMS key), detailed monitoring, and user data that installs Docker and the CloudWatch agent, reads the app's
 *   environment from Secrets Manager, pulls the image from ECR and runs it on port 4000, its logs
 *   going to a log group kept `logRetentionDays`;
 * - an instance role with least privilege (SSM management, the agent's metrics, pulling this
 *   repository, reading this secret, writing only the backup prefixes);
 * - the group over every zone's app subnet with ELB health checks, target tracking on CPU and on the
 *   agent's memory metric, and an instance refresh (rolling, launch before terminate) whenever the
 *   launch template changes: the plan's "Rolling Recovery" without downtime. The refresh's automatic
 *   rollback is off (it would return to the new version: see the group); the deploy verification
 *   awaits the rollout, and the way back is a `pulumi up` of the last verified image.
 */
export class AppCluster extends pulumi.ComponentResource {
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly autoScalingGroupArn: pulumi.Output<string>;
    readonly launchTemplateId: pulumi.Output<string>;
    /** The launch template version the group runs; changes with every rollout. */
    readonly launchTemplateVersion: pulumi.Output<string>;
    readonly instanceRoleArn: pulumi.Output<string>;
    readonly instanceRoleName: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly architecture: Architecture;
    /** The group itself, for `dependsOn` (the deploy verification runs after it). */
    readonly group: aws.autoscaling.Group;

    constructor(name: string, args: AppClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:app:AppCluster", name, {}, opts);
        if (!Number.isInteger(args.minSize) || !Number.isInteger(args.maxSize) || args.minSize < 0 || args.maxSize < Math.max(1, args.minSize)) {
            throw new Error(`AppCluster ${name}: need 0 <= minSize <= maxSize and maxSize >= 1, got minSize ${args.minSize}, maxSize ${args.maxSize}`);
        }
        const desiredCapacity = args.desiredCapacity ?? args.minSize;
        if (desiredCapacity < args.minSize || desiredCapacity > args.maxSize) {
            throw new Error(`AppCluster ${name}: desiredCapacity ${desiredCapacity} must lie within minSize ${args.minSize} and maxSize ${args.maxSize}`);
        }
        const parent = { parent: this };
        const architecture = architectureOf(args.instanceType);
        this.architecture = architecture;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;

        // The key of the secret and the backups: by ARN, or (ARN unknown here) the region's keys that carry its alias.
        const dataKey = args.dataKey && "alias" in args.dataKey
            ? {
                resource: pulumi.interpolate`arn:aws:kms:${region}:${account}:key/*`,
                condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": args.dataKey.alias } },
            }
            : { resource: args.dataKey && "arn" in args.dataKey ? args.dataKey.arn : args.kmsKeyArn, condition: {} };

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/genie/${name}/app`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);

        // Instance role: every statement names the narrowest resource AWS allows; "*" only where the
        // action has no resource type (and then with a condition where one exists).
        // s3:ResourceAccount: "Filters access by the resource owner AWS account ID" (Service Authorization
        // Reference, Amazon S3 condition keys); with a bucket-name pattern it keeps the pattern to this account.
        const ownAccount = args.backupsBucketAccount === undefined ? undefined : { StringEquals: { "s3:ResourceAccount": args.backupsBucketAccount } };
        const bucketArns: pulumi.Input<string>[] = args.backupsBucketArn === undefined ? [] : Array.isArray(args.backupsBucketArn) ? args.backupsBucketArn : [args.backupsBucketArn];
        const role = new aws.iam.Role(`${name}-instance`, {
            description: "Genie AI Server app instances",
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
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

        // The group launches instances with volumes encrypted by the site key: its service-linked role
        // needs a grant on the key (a service-linked role's own policy cannot be changed), with the
        // operations of "Required AWS KMS key policy for use with encrypted volumes" (EC2 Auto Scaling
        // User Guide). KMS refuses a grant to a principal that does not exist (InvalidArnException),
        // and the role exists on a fresh account only once declared: the grant waits for it.
        const keyGrant = new aws.kms.Grant(`${name}-autoscaling-ebs`, {
            keyId: args.kmsKeyArn,
            granteePrincipal: args.autoscalingServiceLinkedRole.arn,
            operations: ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
        }, { parent: this, dependsOn: args.autoscalingServiceLinkedRole.createdBy ? [args.autoscalingServiceLinkedRole.createdBy] : [] });

        // The pinned AMI, or the newest Amazon Linux 2023 AMI of the architecture (looked up only when none is pinned).
        const imageId = args.amiId !== undefined
            ? pulumi.output(args.amiId)
            : aws.ec2.getAmiOutput({
                owners: ["amazon"],
                mostRecent: true,
                filters: [
                    { name: "name", values: [`al2023-ami-2023.*-${architecture}`] },
                    { name: "architecture", values: [architecture] },
                    { name: "virtualization-type", values: ["hvm"] },
                    { name: "root-device-type", values: ["ebs"] },
                ],
            }, parent).id;

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

        // The launch template waits for the credentials policy (its user data is computed after the
        // policy exists), so no instance boots before it may read what it needs; the boot script
        // also retries while IAM propagates.
        const userData = pulumi
            .all([args.imageUri, args.appEnvSecret.id, args.appEnvSecret.digest, logGroup.name, region, appCredentials?.id])
            .apply(([imageUri, appEnvSecretId, appEnvDigest, logGroupName, regionName]) =>
                Buffer.from(renderUserData({ imageUri, appEnvSecretId, appEnvDigest, logGroupName, region: regionName, postgresClientPackage: args.postgresClientPackage })).toString("base64"),
            );

        const tagSpecification = (resourceType: string) => ({ resourceType, tags: { ...args.instanceTags, Name: `${name}-app` } });
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-lt`, {
            description: "Genie AI Server app instance",
            imageId,
            instanceType: args.instanceType,
            iamInstanceProfile: { arn: profile.arn },
            vpcSecurityGroupIds: [args.securityGroupId],
            metadataOptions: {
                httpEndpoint: "enabled",
                httpTokens: "required", // IMDSv2 only
                // One hop: the host's agents reach the metadata service, the app's container does not
                // (it cannot borrow the instance role).
                httpPutResponseHopLimit: 1,
            },
            monitoring: { enabled: true },
            blockDeviceMappings: [{
                deviceName: "/dev/xvda", // Amazon Linux 2023's root device
                ebs: {
                    volumeType: "gp3",
                    volumeSize: args.rootVolumeGb ?? 30,
                    encrypted: "true",
                    kmsKeyId: args.kmsKeyArn,
                    deleteOnTermination: "true",
                },
            }],
            userData,
            updateDefaultVersion: true,
            tagSpecifications: [tagSpecification("instance"), tagSpecification("volume")],
        }, parent);
        const launchTemplateVersion = launchTemplate.latestVersion.apply((v) => String(v));

        const group = new aws.autoscaling.Group(`${name}-asg`, {
            vpcZoneIdentifiers: args.subnetIds,
            minSize: args.minSize,
            maxSize: args.maxSize,
            desiredCapacity,
            // A pinned version (not $Latest): a new template version is a change of the group, which
            // starts the instance refresh, and the deploy verification knows which version to await.
            launchTemplate: { id: launchTemplate.id, version: launchTemplateVersion },
            targetGroupArns: [args.targetGroupArn],
            healthCheckType: "ELB",
            healthCheckGracePeriod: args.healthCheckGracePeriodSeconds ?? 300,
            defaultInstanceWarmup: 120,
            instanceRefresh: {
                strategy: "Rolling",
                preferences: {
                    // Launch before terminate: capacity never drops below the group's size while it rolls.
                    minHealthyPercentage: args.minHealthyPercentage ?? 100,
                    maxHealthyPercentage: 200,
                    instanceWarmup: "120",
                    // Off: it would not return to the previous image. AWS rolls back to "the
                    // configuration that you last saved on the Auto Scaling group before starting the
                    // instance refresh" (EC2 Auto Scaling User Guide, "Undo changes with a manual or
                    // auto rollback"), and the provider saves the new launch template version on the
                    // group before it starts the refresh (terraform-provider-aws #34189): the rollback
                    // target is the new version itself. The provider does not wait for the refresh
                    // either ("This resource does not wait for the instance refresh to complete",
                    // input.d.ts, instanceRefresh). The rollout is awaited and checked by the deploy
                    // verification (components/deploy-verification.ts); the way back is a `pulumi up`
                    // of the last verified image tag (`scripts/recovery.sh rollback-image`).
                    autoRollback: false,
                    // Instances already on the group's launch template version are not replaced (a refresh
                    // restarted after a cancelled one only finishes the job).
                    skipMatching: true,
                },
                // No extra `triggers`: a refresh starts on a change of the launch template (version), which
                // is what rolls the image, AMI, user data and environment. A "tag" trigger only started a
                // refresh that skipMatching makes replace nothing (tags are not part of the configuration
                // instances are matched on), yet it cancels a running one ("When this resource is updated,
                // any existing refresh is cancelled", input.d.ts instanceRefresh.triggers).
            },
            terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
            enabledMetrics: ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances"],
            metricsGranularity: "1Minute",
            waitForCapacityTimeout: "15m",
            tags: Object.entries({ ...args.instanceTags, Name: `${name}-app` }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
        }, {
            parent: this,
            dependsOn: [keyGrant],
            // Scaling policies own the running size between the bounds; `pulumi up` changes the bounds only.
            ignoreChanges: ["desiredCapacity"],
        });

        new aws.autoscaling.Policy(`${name}-cpu`, {
            autoscalingGroupName: group.name,
            policyType: "TargetTrackingScaling",
            estimatedInstanceWarmup: 120,
            targetTrackingConfiguration: {
                predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
                targetValue: args.cpuTargetPercent ?? 60,
            },
        }, parent);
        new aws.autoscaling.Policy(`${name}-memory`, {
            autoscalingGroupName: group.name,
            policyType: "TargetTrackingScaling",
            estimatedInstanceWarmup: 120,
            targetTrackingConfiguration: {
                customizedMetricSpecification: {
                    namespace: AGENT_NAMESPACE,
                    metricName: AGENT_METRICS.memoryUsedPercent,
                    metricDimensions: [{ name: "AutoScalingGroupName", value: group.name }],
                    statistic: "Average",
                    unit: "Percent",
                },
                targetValue: args.memoryTargetPercent ?? 70,
            },
        }, parent);

        this.group = group;
        this.autoScalingGroupName = group.name;
        this.autoScalingGroupArn = group.arn;
        this.launchTemplateId = launchTemplate.id;
        this.launchTemplateVersion = launchTemplateVersion;
        this.instanceRoleArn = role.arn;
        this.instanceRoleName = role.name;
        this.logGroupName = logGroup.name;
        this.registerOutputs({
            autoScalingGroupName: this.autoScalingGroupName,
            autoScalingGroupArn: this.autoScalingGroupArn,
            launchTemplateId: this.launchTemplateId,
            launchTemplateVersion: this.launchTemplateVersion,
            instanceRoleArn: this.instanceRoleArn,
            logGroupName: this.logGroupName,
            architecture,
        });
    }
}

export interface UserDataParams {
    imageUri: string;
    /** Name or ARN of the app's environment secret in the instance's region. */
    appEnvSecretId: string;
    /** `sha256:<hex>` of the environment written: a new environment is a new launch template version. */
    appEnvDigest?: string;
    /** PostgreSQL client package to install (for the scheduled dump), e.g. postgresql15; none: not installed. */
    postgresClientPackage?: string;
    logGroupName: string;
    region: string;
}

/** EC2 refuses user data above 16 KB before base64 ("User data is limited to 16 KB, in raw form, before it is base64-encoded", EC2 User Guide, "Run commands when you launch an EC2 instance with user data input"). */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** The CloudWatch agent's configuration: memory and root-disk used percent, per instance and per group. */
export function agentConfig(): object {
    return {
        agent: { metrics_collection_interval: 60 },
        metrics: {
            namespace: AGENT_NAMESPACE,
            // Resolved by the agent on the instance: "${aws:...}" is its syntax, not a template literal.
            append_dimensions: { AutoScalingGroupName: "${aws:AutoScalingGroupName}", InstanceId: "${aws:InstanceId}" },
            // Also published with the group name as the only dimension: what target tracking and alarms read.
            aggregation_dimensions: [["AutoScalingGroupName"]],
            metrics_collected: {
                mem: { measurement: ["used_percent"] },
                disk: { measurement: ["used_percent"], resources: ["/"], drop_device: true },
            },
        },
    };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/**
 * The instances' boot script (bash): Docker, the CloudWatch agent, the app's environment and container.
 *
 * The environment secret holds endpoints and the names of the credential secrets (never a password);
 * the script reads those secrets on the host (the container cannot reach the instance role: IMDS hop
 * limit 1) into `/etc/genie/app.env`, root-only, which Docker passes to the container:
 * `DATABASE_USER`, `DATABASE_PASSWORD`, `DATABASE_URL` (`postgresql://...?sslmode=require`),
 * `REDIS_PASSWORD`, `REDIS_URL` (`rediss://...`), besides every key of the environment document.
 * AWS calls and the image pull are retried (IAM propagation, a version written moments before);
 * anything still failing stops the script (`set -e`): no container starts, the target stays unhealthy,
 * and the group replaces the instance after the health-check grace period.
 */
export function renderUserData(p: UserDataParams): string {
    const script = [
        "#!/bin/bash",
        "# Genie AI Server app instance: rendered by components/app-cluster.ts.",
        "set -euo pipefail",
        `REGION=${shellQuote(p.region)}`,
        `IMAGE=${shellQuote(p.imageUri)}`,
        `APP_ENV_SECRET=${shellQuote(p.appEnvSecretId)}`,
        // Not read by the script: a new environment must change the launch template to roll the group.
        `APP_ENV_DIGEST=${shellQuote(p.appEnvDigest ?? "")}`,
        `LOG_GROUP=${shellQuote(p.logGroupName)}`,
        'REGISTRY="${IMAGE%%/*}"',
        "",
        "# retry ATTEMPTS DELAY COMMAND...: the command's output once it succeeds; its last failure otherwise.",
        "retry() {",
        '  local attempts=$1 delay=$2 i; shift 2',
        '  for (( i = 1; ; i++ )); do',
        '    "$@" && return 0',
        '    [ "$i" -ge "$attempts" ] && return 1',
        '    echo "genie boot: attempt $i/$attempts failed: $1 ... (retrying in ${delay}s)" >&2',
        '    sleep "$delay"',
        "  done",
        "}",
        'secret_string() { aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text; }',
        "",
        "dnf install -y docker amazon-cloudwatch-agent jq",
        "systemctl enable --now docker",
        "",
        "# Memory and disk used percent (CWAgent namespace): memory target tracking, the disk space alarm.",
        "cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CWAGENT'",
        JSON.stringify(agentConfig(), null, 2),
        "CWAGENT",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json",
        "",
        "# The app's environment from Secrets Manager (a JSON object written by Pulumi: endpoints and the",
        "# names of the credential secrets), then the credentials themselves: root-only, never logged.",
        "install -d -m 0700 /etc/genie",
        "umask 077",
        'echo "genie boot: app environment $APP_ENV_SECRET ($APP_ENV_DIGEST)" >&2',
        'APP_ENV_JSON="$(retry 20 15 secret_string "$APP_ENV_SECRET")"',
        String.raw`printf '%s' "$APP_ENV_JSON" | jq -r 'to_entries[] | "\(.key)=\(.value)"' > /etc/genie/app.env`,
        String.raw`DB_SECRET="$(printf '%s' "$APP_ENV_JSON" | jq -r '.DATABASE_CREDENTIALS_SECRET // empty')"`,
        'if [ -n "$DB_SECRET" ]; then',
        '  DB_JSON="$(retry 20 15 secret_string "$DB_SECRET")"',
        String.raw`  printf '%s' "$DB_JSON" | jq -r --argjson env "$APP_ENV_JSON"` + " \\",
        String.raw`    '"DATABASE_USER=\(.username)", "DATABASE_PASSWORD=\(.password)", "DATABASE_URL=postgresql://\(.username | @uri):\(.password | @uri)@\($env.DATABASE_HOST):\($env.DATABASE_PORT)/\($env.DATABASE_NAME)?sslmode=\($env.DATABASE_SSLMODE)"'` + " \\",
        "    >> /etc/genie/app.env",
        "  unset DB_JSON",
        "fi",
        String.raw`REDIS_SECRET="$(printf '%s' "$APP_ENV_JSON" | jq -r '.REDIS_AUTH_SECRET // empty')"`,
        'if [ -n "$REDIS_SECRET" ]; then',
        '  REDIS_TOKEN="$(retry 20 15 secret_string "$REDIS_SECRET")"',
        String.raw`  printf '%s' "$REDIS_TOKEN" | jq -R -r --argjson env "$APP_ENV_JSON"` + " \\",
        String.raw`    '"REDIS_PASSWORD=\(.)", "REDIS_URL=rediss://:\(. | @uri)@\($env.REDIS_HOST):\($env.REDIS_PORT)"' >> /etc/genie/app.env`,
        "  unset REDIS_TOKEN",
        "fi",
        "",
        'TOKEN="$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"',
        'INSTANCE_ID="$(curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)"',
        "",
        'ecr_login() { aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"; }',
        "retry 10 15 ecr_login",
        'retry 10 15 docker pull "$IMAGE"',
        `docker run -d --name genie-app --restart always -p ${PORTS.app}:${PORTS.app} --env-file /etc/genie/app.env \\`,
        '  --log-driver awslogs --log-opt awslogs-region="$REGION" --log-opt awslogs-group="$LOG_GROUP" --log-opt awslogs-stream="$INSTANCE_ID" \\',
        '  "$IMAGE"',
        "",
        ...(p.postgresClientPackage
            ? [
                "# PostgreSQL client tools of the database's major version (psql, pg_dump, pg_restore) for the",
                "# scheduled dump (scripts/backup.sh); after the app, which does not need them.",
                `dnf install -y ${p.postgresClientPackage}`,
                "dnf install -y zstd",
                "",
            ]
            : []),
    ].join("\n");
    const bytes = Buffer.byteLength(script, "utf8");
    if (bytes > USER_DATA_MAX_BYTES) throw new Error(`app user data is ${bytes} bytes; EC2 allows ${USER_DATA_MAX_BYTES} before base64`);
    return script;
}
