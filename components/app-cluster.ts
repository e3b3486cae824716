import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PORTS } from "./security-groups";

/** Key prefixes of the backups bucket the app instances may write (the plan's dumps and RDB exports). */
export const BACKUP_WRITE_PREFIXES = ["db/daily/", "db/weekly/", "redis/"] as const;

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
    appEnvSecret: { arn: pulumi.Input<string>; id: pulumi.Input<string> };
    /** The region's customer-managed KMS key: root volumes and the log group. */
    kmsKeyArn: pulumi.Input<string>;
    /**
     * The key that encrypts the app's secret and the backups bucket, when not `kmsKeyArn`: by ARN, or
     * by alias when its ARN is not known here (the DR site reads the production stack's replicas,
     * encrypted with the landing zone's key).
     */
    dataKey?: { arn: pulumi.Input<string> } | { alias: string };
    /** The backups bucket; the instances may write only {@link BACKUP_WRITE_PREFIXES}. None: no write access. */
    backupsBucketArn?: pulumi.Input<string>;
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
 * - a launch template: the current Amazon Linux 2023 image of the instance type's architecture (looked
 *   up at deploy time), IMDSv2 required, an encrypted gp3 root volume (site KMS key), detailed
 *   monitoring, and user data that installs Docker and the CloudWatch agent, reads the app's
 *   environment from Secrets Manager, pulls the image from ECR and runs it on port 4000, its logs
 *   going to a log group kept `logRetentionDays`;
 * - an instance role with least privilege (SSM management, the agent's metrics, pulling this
 *   repository, reading this secret, writing only the backup prefixes);
 * - the group over every zone's app subnet with ELB health checks, target tracking on CPU and on the
 *   agent's memory metric, and an instance refresh (rolling, launch before terminate, automatic
 *   rollback) whenever the launch template changes: the plan's "Rolling Recovery" without downtime.
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
                        Sid: "SsmManagedInstance",
                        Effect: "Allow",
                        Action: ["ssm:UpdateInstanceInformation", "ssm:ListInstanceAssociations", "ssm:UpdateInstanceAssociationStatus"],
                        Resource: pulumi.interpolate`arn:aws:ec2:${region}:${account}:instance/*`,
                    },
                    {
                        Sid: "SsmSessionsAndCommands", // these actions have no resource type
                        Effect: "Allow",
                        Action: [
                            "ssmmessages:CreateControlChannel",
                            "ssmmessages:CreateDataChannel",
                            "ssmmessages:OpenControlChannel",
                            "ssmmessages:OpenDataChannel",
                            "ec2messages:AcknowledgeMessage",
                            "ec2messages:DeleteMessage",
                            "ec2messages:FailMessage",
                            "ec2messages:GetEndpoint",
                            "ec2messages:GetMessages",
                            "ec2messages:SendReply",
                        ],
                        Resource: "*",
                    },
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
                            Resource: BACKUP_WRITE_PREFIXES.map((prefix) => pulumi.interpolate`${args.backupsBucketArn}/${prefix}*`),
                        }]),
                    ...(args.backupJob === undefined || args.backupsBucketArn === undefined
                        ? []
                        : [
                            {
                                Sid: "ListBackupPrefixes",
                                Effect: "Allow",
                                Action: "s3:ListBucket",
                                Resource: args.backupsBucketArn,
                                Condition: { StringLike: { "s3:prefix": BACKUP_WRITE_PREFIXES.map((prefix) => `${prefix}*`) } },
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
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name }, parent);

        // The group launches instances with volumes encrypted by the site key: its service-linked role
        // needs a grant on the key (a service-linked role's own policy cannot be changed).
        const keyGrant = new aws.kms.Grant(`${name}-autoscaling-ebs`, {
            keyId: args.kmsKeyArn,
            granteePrincipal: pulumi.interpolate`arn:aws:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
            operations: ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
        }, parent);

        const ami = aws.ec2.getAmiOutput({
            owners: ["amazon"],
            mostRecent: true,
            filters: [
                { name: "name", values: [`al2023-ami-2023.*-${architecture}`] },
                { name: "architecture", values: [architecture] },
                { name: "virtualization-type", values: ["hvm"] },
                { name: "root-device-type", values: ["ebs"] },
            ],
        }, parent);

        const userData = pulumi
            .all([args.imageUri, args.appEnvSecret.id, logGroup.name, region])
            .apply(([imageUri, appEnvSecretId, logGroupName, regionName]) =>
                Buffer.from(renderUserData({ imageUri, appEnvSecretId, logGroupName, region: regionName })).toString("base64"),
            );

        const tagSpecification = (resourceType: string) => ({ resourceType, tags: { ...args.instanceTags, Name: `${name}-app` } });
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-lt`, {
            description: "Genie AI Server app instance",
            imageId: ami.id,
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
            // starts the instance refresh, and automatic rollback has a version to return to.
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
                    autoRollback: true,
                    skipMatching: true,
                },
                triggers: ["tag"],
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
    logGroupName: string;
    region: string;
}

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

/** The instances' boot script (bash): Docker, the CloudWatch agent, the app's environment and container. */
export function renderUserData(p: UserDataParams): string {
    return [
        "#!/bin/bash",
        "# Genie AI Server app instance: rendered by components/app-cluster.ts.",
        "set -euo pipefail",
        `REGION=${shellQuote(p.region)}`,
        `IMAGE=${shellQuote(p.imageUri)}`,
        `APP_ENV_SECRET=${shellQuote(p.appEnvSecretId)}`,
        `LOG_GROUP=${shellQuote(p.logGroupName)}`,
        'REGISTRY="${IMAGE%%/*}"',
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
        "# The app's environment from Secrets Manager (a JSON object), readable by root only.",
        "install -d -m 0700 /etc/genie",
        "umask 077",
        'aws secretsmanager get-secret-value --region "$REGION" --secret-id "$APP_ENV_SECRET" --query SecretString --output text \\',
        "  | jq -r 'to_entries[] | \"\\(.key)=\\(.value)\"' > /etc/genie/app.env",
        "",
        'TOKEN="$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"',
        'INSTANCE_ID="$(curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)"',
        "",
        'aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"',
        'docker pull "$IMAGE"',
        `docker run -d --name genie-app --restart always -p ${PORTS.app}:${PORTS.app} --env-file /etc/genie/app.env \\`,
        '  --log-driver awslogs --log-opt awslogs-region="$REGION" --log-opt awslogs-group="$LOG_GROUP" --log-opt awslogs-stream="$INSTANCE_ID" \\',
        '  "$IMAGE"',
        "",
    ].join("\n");
}
