/** The arguments of the app cluster (components/app-cluster.ts), the one input of every piece of it. */
import * as pulumi from "@pulumi/pulumi";

export interface AppClusterArgs {
    /** EC2 instance type; its architecture selects the AMI's. */
    instanceType: string;
    /**
     * The AMI to run, pinned (of the group's region and the instance type's architecture). Unset, the
     * newest Amazon Linux 2023 AMI is looked up at every `pulumi up` (`mostRecent`): each new AL2023
     * release is then a new launch template version and a full instance refresh at the next `pulumi up`,
     * whatever that update was for (a failover `pulumi up -s dr` included). Pin it where that matters
     * and move it on purpose (config `appAmiId`; docs/operations.md).
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
