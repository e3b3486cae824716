import { DR_PLAN } from "./dr-plan";

/**
 * Every key the program reads from stack config, with its Pulumi type, default and description.
 *
 * `Pulumi.yaml`'s `config:` block declares exactly these keys (a test compares the two), so the
 * Pulumi engine applies the same defaults the offline plan does. Defaults that come from the plan
 * are taken from {@link DR_PLAN}; nothing here restates a plan number.
 */
export type ConfigType = "string" | "integer" | "boolean" | "array";

export interface ConfigKeySpec {
    type: ConfigType;
    description: string;
    /** Absent: the key is optional and has no default. */
    default?: string | number | boolean | string[];
}

export const PROJECT_NAME = "genie-infra";

export const CONFIG_SCHEMA = {
    siteRole: {
        type: "string",
        default: "primary",
        description:
            "How this stack's site runs: primary (the production site), standby (DR site: replica database, small app group) or active (DR site promoted: standalone database, production-size app group).",
    },
    primaryRegion: { type: "string", default: "us-east-1", description: "Region of the primary (production) site." },
    drRegion: {
        type: "string",
        default: "us-west-2",
        description: "Region of the disaster recovery site; must differ from primaryRegion.",
    },
    productionStack: {
        type: "string",
        default: "organization/genie-infra/production",
        description: "Fully qualified name of the production stack, read by the dr stack through a StackReference.",
    },
    autoscalingServiceLinkedRole: {
        type: "string",
        default: "create",
        description:
            "The account's EC2 Auto Scaling service-linked role (AWSServiceRoleForAutoScaling), which the app group's key grant names: create (this stack declares it; only the production stack may, and it is deployed first) or existing (it already exists in the account: always on the dr stack, which must not need IAM's us-east-1 control plane; on production when Auto Scaling was used in the account before, or import it with `pulumi import`). The role is kept when production is destroyed, so a rebuild of production in the same account needs existing (or pulumi import): create fails with 'has been taken in this account'.",
    },
    vpcCidr: { type: "string", default: "10.20.0.0/16", description: "IPv4 CIDR of the site's VPC (/16 to /20)." },
    availabilityZoneCount: {
        type: "integer",
        default: 3,
        description: "Availability zones the site spans (at least 2, at most 6): one public, app and data subnet and one NAT gateway each.",
    },
    domainName: {
        type: "string",
        default: "genie.example.com",
        description: "Public host name of the application; both sites' failover records use it.",
    },
    hostedZoneId: {
        type: "string",
        default: "Z0000000000000000000",
        description: "Route 53 hosted zone that holds domainName (and the certificate validation records).",
    },
    instanceType: { type: "string", default: "t3.large", description: "EC2 instance type of the app group." },
    appMinSize: {
        type: "integer",
        default: DR_PLAN.appMinInstances,
        description: `Minimum app instances on a primary or active site (the plan: at least ${DR_PLAN.appMinInstances}).`,
    },
    appMaxSize: { type: "integer", default: 6, description: "Maximum app instances the group scales out to." },
    standbyAppSize: {
        type: "integer",
        default: 1,
        description: "App instances a standby DR site keeps warm (it scales to appMinSize when made active).",
    },
    imageTag: {
        type: "string",
        default: "1.0.0",
        description: "Version tag of the app image in ECR that the app group runs (tags are immutable; 'latest' is refused).",
    },
    appBuildContext: {
        type: "string",
        description: "Optional path of the app's Docker build context; when set, the image is built and pushed with imageTag.",
    },
    appAmiId: {
        type: "string",
        description:
            "Optional AMI of the app instances in this stack's region (ami- and 8 or 17 hex digits), for the instance type's architecture. Unset: the newest Amazon Linux 2023 AMI is looked up at every pulumi up, so each new AL2023 release is a new launch template version and a full instance refresh (a failover pulumi up -s dr too). Pin it on production and dr (each its own region's id: aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 --region <region> --query Parameter.Value --output text, arm64 for Graviton types) and move it on purpose.",
    },
    dbEngineVersion: {
        type: "string",
        default: "15",
        description:
            "PostgreSQL major version of the RDS database, such as 15 (major only: RDS creates the newest minor version and upgrades minors automatically).",
    },
    dbInstanceClass: { type: "string", default: "db.r6g.large", description: "RDS instance class on a primary or active site." },
    dbStandbyInstanceClass: {
        type: "string",
        default: "db.t4g.large",
        description: "RDS instance class of the standby site's cross-region replica.",
    },
    dbAllocatedStorageGb: { type: "integer", default: 100, description: "Initial RDS storage in GiB (at least 20)." },
    dbMaxAllocatedStorageGb: {
        type: "integer",
        default: 500,
        description: "Upper bound of RDS storage autoscaling in GiB (above dbAllocatedStorageGb).",
    },
    dbPointInTimeRetentionDays: {
        type: "integer",
        default: DR_PLAN.dbDailyRetentionDays,
        description: `RDS point-in-time restore window in days (AWS Backup's continuous backup keeps it), ${DR_PLAN.dbDailyRetentionDays} to 35.`,
    },
    cacheNodeType: { type: "string", default: "cache.r6g.large", description: "ElastiCache node type on a primary or active site." },
    cacheStandbyNodeType: { type: "string", default: "cache.t4g.medium", description: "ElastiCache node type on a standby site." },
    dbRecoverySource: {
        type: "string",
        default: "replica",
        description:
            "DR site: where its database comes from. replica (standby: a cross-region replica; active: that replica promoted), latest-backup or point-in-time (active only, when there is no replica to promote: restored from the primary's automated backups replicated to the DR region).",
    },
    dbRestoreTime: {
        type: "string",
        description: "DR site with dbRecoverySource point-in-time: the UTC time to restore to, e.g. 2026-11-30T01:15:00Z.",
    },
    dbGeneration: {
        type: "integer",
        default: 1,
        description:
            "DR site: which incarnation of the DR database the stack declares, 1 to 99: 1 is genie-dr-db, N is genie-dr-db-gN. Raise it by one, with siteRole standby, to return an active DR site to standby: the next generation is created as a new replica, and the promoted instance leaves the stack but stays in AWS until you delete it (docs/operations.md: Failback, step 5).",
    },
    primaryDatabaseArn: {
        type: "string",
        description: "DR site: ARN of the production database to replicate; overrides the production stack's output (for when its state cannot be read).",
    },
    primaryDatabaseBackupsArn: {
        type: "string",
        description: "DR site: ARN of the production database's automated backups replicated to the DR region (restore source); overrides the production stack's output.",
    },
    primaryDatabaseBackupsKmsKeyArn: {
        type: "string",
        description:
            "DR site: ARN of the DR-region KMS key that encrypts the production database's replicated automated backups; a database restored from them keeps this key. Overrides the production stack's output.",
    },
    primaryBackupVaultArn: {
        type: "string",
        description: "DR site: ARN of the production backup vault in the primary region, where an active DR site copies its recovery points; overrides the production stack's output.",
    },
    drBackupsBucketName: {
        type: "string",
        description: "DR site: name of the production stack's replica backups bucket in the DR region (the landing zone), where an active DR site writes its database dumps; overrides the production stack's output.",
    },
    cacheSeedRdbArn: {
        type: "string",
        description: "DR site: S3 ARN of an exported Redis RDB file in the landing zone's Redis exports bucket of the DR region (arn:aws:s3:::genie-primary-storage-redis-<account>-<region>/...-export-0001.rdb) to seed a new cache from; empty starts it empty.",
    },
    backupIntervalHours: {
        type: "integer",
        default: DR_PLAN.dbBackupIntervalHours,
        description: `Hours between database backups (AWS Backup and the logical dump); at most the plan's ${DR_PLAN.dbBackupIntervalHours}, a divisor of 24.`,
    },
    dailyBackupRetentionDays: {
        type: "integer",
        default: DR_PLAN.dbDailyRetentionDays,
        description: `Days the regular database backups are kept (plan: ${DR_PLAN.dbDailyRetentionDays} at least).`,
    },
    weeklyBackupRetentionDays: {
        type: "integer",
        default: DR_PLAN.dbWeeklyRetentionDays,
        description: `Days the weekly database backups are kept (plan: 12 months, ${DR_PLAN.dbWeeklyRetentionDays} days at least).`,
    },
    redisSnapshotIntervalHours: {
        type: "integer",
        default: DR_PLAN.redisSnapshotIntervalHours,
        description: `Hours between Redis RDB snapshots; at most the plan's ${DR_PLAN.redisSnapshotIntervalHours}, a divisor of 24.`,
    },
    redisSnapshotRetentionDays: {
        type: "integer",
        default: DR_PLAN.redisRetentionDays,
        description: `Days Redis snapshots are kept (plan: ${DR_PLAN.redisRetentionDays} at least).`,
    },
    logRetentionDays: {
        type: "integer",
        default: DR_PLAN.logRetentionDays,
        description: `Days logs are kept: CloudWatch log groups and the ALB access-log bucket (plan: ${DR_PLAN.logRetentionDays} at least).`,
    },
    imageVersionsKept: {
        type: "integer",
        default: DR_PLAN.imageVersionsKept,
        description: `App image versions the registry keeps (plan: the last ${DR_PLAN.imageVersionsKept} at least).`,
    },
    backupVaultLockMode: {
        type: "string",
        default: "compliance",
        description:
            "Vault Lock mode of the backup vaults: compliance (immutable after a 3-day grace period: nobody can delete a recovery point early) or governance (privileged principals can lift it; test accounts only).",
    },
    backupVaultLockMaxRetentionDays: {
        type: "integer",
        default: 3653,
        description:
            "Longest retention the locked backup vaults accept, in days; above weeklyBackupRetentionDays. Fixed once a compliance lock's grace period ends.",
    },
    alertEmails: {
        type: "array",
        default: [],
        description: "Email recipients of every alert topic (at least one; the plan's primary alert channel).",
    },
    alertSmsNumbers: {
        type: "array",
        default: [],
        description: "E.164 phone numbers (+15555550100) paged by SMS for critical alerts (the plan's emergency channel).",
    },
    slackWorkspaceId: {
        type: "string",
        description: "Optional Slack workspace (team) id, T..., authorised once for AWS Chatbot; set with slackChannelId.",
    },
    slackChannelId: { type: "string", description: "Optional Slack channel id, C... or G..., for alerts; set with slackWorkspaceId." },
    chatbotRegion: {
        type: "string",
        default: "us-west-2",
        description:
            "Region whose AWS Chatbot API creates the stack's Slack channel configuration: one of us-east-2, us-west-2, ap-southeast-1, eu-west-1 (Chatbot has no API elsewhere); the configuration lists the stack's alert topics of every region. Each stack of an account needs its own Slack channel (Chatbot takes one configuration per channel and account).",
    },
    errorRateThresholdPercent: {
        type: "integer",
        default: 5,
        description: "Percentage of requests answered with 5XX that raises the high error rate alert (1 to 100).",
    },
    diskUsedThresholdPercent: {
        type: "integer",
        default: 85,
        description: "Disk used percentage on app instances that raises the disk space low alert (50 to 99).",
    },
    dbFreeStorageThresholdGb: {
        type: "integer",
        default: 10,
        description: "RDS free storage in GiB below which the disk space low alert is raised.",
    },
    protect: {
        type: "boolean",
        default: true,
        description: "Protect stateful resources (databases, buckets, vaults, keys, registries) from deletion by Pulumi.",
    },
    ephemeral: {
        type: "boolean",
        default: false,
        description:
            "A disposable stack (the monthly deploy-from-scratch test, in a sandbox account): pulumi destroy deletes everything, contents included (no protect, no retainOnDelete, no RDS deletion protection, no final snapshots, buckets/vaults/registry force-destroyed, secrets deleted without recovery window, KMS keys with the shortest 7-day window), and the site's fixed physical names carry a label of the stack name (genie-e<6 hex>-...) so two such stacks never collide. Primary site role only; refused with protect true, with backupVaultLockMode compliance, with autoscalingServiceLinkedRole create, and on the production and dr stacks.",
    },
    siteFenced: {
        type: "boolean",
        default: false,
        description:
            "Keep this site out of DNS failover whatever it answers (its health check always fails). Set on production while the DR site serves, so a recovering primary cannot take traffic back before failback.",
    },
    primaryAppAutoScalingGroupArn: {
        type: "string",
        description: "DR site: ARN of the production app Auto Scaling group (the Region switch plan scales it on the return); overrides the production stack's output.",
    },
    primaryCriticalAlarmArn: {
        type: "string",
        description: "DR site: ARN of the production site's P1 composite alarm (associated with the Region switch plan; the automatic trigger watches it); overrides the production stack's output.",
    },
    regionSwitchAutoActivate: {
        type: "boolean",
        default: false,
        description:
            "DR site: let the Region switch plan activate the DR Region by itself when the production P1 alarm is red (automatic promotion across regions). Off: an operator starts the execution.",
    },
    regionSwitchMinMinutesBetweenExecutions: {
        type: "integer",
        default: 60,
        description: "DR site: minutes that must pass between two automatic executions of the Region switch plan (the trigger's guard against flapping), 60 to 10080.",
    },
    regionSwitchHealthCheckId: {
        type: "string",
        description:
            "The Route 53 health check the Region switch plan created for this stack's Region (aws arc-region-switch list-route53-health-checks --plan-arn <regionSwitchPlanArn>): the failover record then needs both it and the app's health check, so a Region the plan deactivated stays out of DNS.",
    },
    drillsEnabled: {
        type: "boolean",
        default: true,
        description: "Run the scheduled monthly failover drills (AWS FIS) and restore tests.",
    },
    incidentManager: {
        type: "string",
        default: "disabled",
        description:
            "On-call engagement and escalation through AWS Systems Manager Incident Manager: disabled (alerts by SNS only: email, SMS, Slack) or enabled (the production stack declares incidentContacts, escalation plans and response plans for P1 and P2, and those alarms start incidents). Incident Manager is no longer open to new customers: enable it only on an account already onboarded (it has a replication set).",
    },
    incidentContacts: {
        type: "array",
        default: [],
        description:
            "The plan's emergency contacts, in escalation order, each \"Name|+E164 phone|email\" (e.g. \"Technical Lead|+15555550100|lead@example.com\"): Incident Manager engages the first and, when nobody acknowledges within the severity's response time, the next. Required when incidentManager is enabled.",
    },
    customerNoticeEmails: {
        type: "array",
        default: [],
        description: "Email addresses subscribed to the customer notices topic (dr stack; customers may also subscribe themselves): told of a P1 and of its resolution.",
    },
    customerNoticeSmsNumbers: {
        type: "array",
        default: [],
        description: "E.164 phone numbers subscribed by SMS to the customer notices topic (dr stack).",
    },
    communicationTestEnabled: {
        type: "boolean",
        default: true,
        description: "Run the plan's quarterly communication test: a marked test message to every alert topic (every severity's channels) and the status page's test component.",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
