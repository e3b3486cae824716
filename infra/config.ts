// Over 300 lines on purpose: the stack's typed config and its validation. Most rules relate several keys (the
// site role decides sizes, recovery source and service-linked role; min against max; retentions against the
// vault lock maximum; the ephemeral lifecycle), so they stay in one function here rather than next to single
// keys in config-schema.ts, where a key's rules would be split across two files; every message names the key,
// the value and what is allowed (test/config.test.ts).
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "./dr-plan";
import { CONFIG_SCHEMA, ConfigKey, PROJECT_NAME } from "./config-schema";
import { CHATBOT_REGIONS, ChatbotRegion } from "../components/notifications";
import { postgresClientProblem } from "../components/scheduled-dump";
import { EmergencyContact, parseContacts } from "../components/incident-response";
import { EPHEMERAL_LIFECYCLE, keptLifecycle, StatefulLifecycle } from "../components/lifecycle";

/**
 * The typed, validated configuration of one stack.
 *
 * `loadStackConfig()` reads it from Pulumi config; `parseStackConfig()` is the pure part the tests
 * call. Validation happens before any resource is declared and reports every problem at once, each
 * naming the key, the value given and what is allowed.
 */

export const SITE_ROLES = ["primary", "standby", "active"] as const;
export const DB_RECOVERY_SOURCES = ["replica", "latest-backup", "point-in-time"] as const;
export type DbRecoverySource = (typeof DB_RECOVERY_SOURCES)[number];
export const VAULT_LOCK_MODES = ["compliance", "governance"] as const;
export type VaultLockMode = (typeof VAULT_LOCK_MODES)[number];
export type SiteRole = (typeof SITE_ROLES)[number];
export const SERVICE_LINKED_ROLE_OWNERSHIP = ["create", "existing"] as const;
export type ServiceLinkedRoleOwnership = (typeof SERVICE_LINKED_ROLE_OWNERSHIP)[number];

export interface AlertRecipients {
    /** Email addresses subscribed to every alert topic. */
    emails: string[];
    /** E.164 numbers paged by SMS for critical alerts only. */
    smsNumbers: string[];
    /** Slack channel reached through AWS Chatbot, when configured. */
    slack?: { workspaceId: string; channelId: string };
    /** Where the Slack channel configuration is created: a region that serves Chatbot's API. */
    chatbotRegion: ChatbotRegion;
}

export interface StackConfig {
    project: string;
    stack: string;
    siteRole: SiteRole;
    /** "primary" for the production site, "dr" for the recovery site (the `site` tag). */
    siteName: "primary" | "dr";
    primaryRegion: string;
    drRegion: string;
    /** The region this stack's site runs in: primaryRegion for `primary`, drRegion otherwise. */
    siteRegion: string;
    productionStack: string;
    /** Whether this stack declares the account's Auto Scaling service-linked role or names an existing one. */
    autoscalingServiceLinkedRole: ServiceLinkedRoleOwnership;
    network: { vpcCidr: string; availabilityZoneCount: number };
    dns: { domainName: string; hostedZoneId: string };
    app: {
        instanceType: string;
        minSize: number;
        maxSize: number;
        /** Size of the group on a standby site. */
        standbySize: number;
        imageTag: string;
        buildContext?: string;
        /** The AMI the app instances run, pinned; undefined: the newest Amazon Linux 2023 AMI, looked up at deploy time. */
        amiId?: string;
    };
    database: {
        engineVersion: string;
        instanceClass: string;
        standbyInstanceClass: string;
        allocatedStorageGb: number;
        maxAllocatedStorageGb: number;
        pointInTimeRetentionDays: number;
        /** DR site: where its database comes from (see the dbRecoverySource key). */
        recoverySource: DbRecoverySource;
        /** DR site, point-in-time recovery: the time to restore to (ISO 8601, UTC). */
        restoreTime?: string;
        /** DR site: the incarnation of its database (see the dbGeneration key); 1 on production. */
        generation: number;
    };
    cache: { nodeType: string; standbyNodeType: string; seedRdbArn?: string };
    /**
     * DR site: values of the production stack given in config. Each one given here is not read
     * from the production stack; when all are given, the production state is not read at all.
     */
    productionOverrides: { databaseArn?: string; databaseBackupsArn?: string; databaseBackupsKmsKeyArn?: string; backupVaultArn?: string; drBackupsBucketName?: string; appAutoScalingGroupArn?: string; criticalAlarmArn?: string };
    /** Schedules and retentions: the plan's values or stricter. */
    backup: {
        intervalHours: number;
        dailyRetentionDays: number;
        weeklyRetentionDays: number;
        redisSnapshotIntervalHours: number;
        redisSnapshotRetentionDays: number;
        logRetentionDays: number;
        imageVersionsKept: number;
    };
    /** Vault Lock of the backup vaults (the minimum retention is the plan's daily retention). */
    vaultLock: { mode: VaultLockMode; maxRetentionDays: number };
    alerts: AlertRecipients & {
        errorRateThresholdPercent: number;
        diskUsedThresholdPercent: number;
        dbFreeStorageThresholdGb: number;
    };
    protect: boolean;
    /** A disposable stack (config `ephemeral`: the deploy-from-scratch test): see {@link lifecycle} and {@link nameLabel}. */
    ephemeral: boolean;
    /**
     * How the stack's stateful resources end, from `protect` and `ephemeral`: every component that
     * declares one takes this object (components/lifecycle.ts).
     */
    lifecycle: StatefulLifecycle;
    /**
     * What the site's fixed physical names carry after the app's prefix (`genie-<nameLabel>-...`,
     * `genie/<nameLabel>/...`): the site name (`primary`, `dr`), or on an ephemeral stack a label of the
     * stack's name ({@link ephemeralNameLabel}), so that stacks of one account never take each other's names.
     */
    nameLabel: string;
    /** The site is fenced out of DNS failover (an operator's switch during a DR operation). */
    siteFenced: boolean;
    drillsEnabled: boolean;
    /** The plan's Incident Response and Communication Plan (components/severity.ts and what uses it). */
    incidentResponse: {
        /** Opt-in: Incident Manager engagement and escalation (accounts already onboarded only). */
        incidentManager: boolean;
        /** Emergency contacts, in escalation order. */
        contacts: EmergencyContact[];
        /** Initial subscribers of the customer notices topic. */
        customerNotices: { emails: string[]; smsNumbers: string[] };
        communicationTestEnabled: boolean;
    };
    /** The ARC Region switch plan (dr stack) and the DNS health check it controls (components/region-switch.ts). */
    regionSwitch: {
        /** Opt-in: the plan activates the DR Region by itself when the primary's P1 alarm is red. */
        autoActivate: boolean;
        /** The trigger's guard against flapping: minutes between two automatic executions. */
        minMinutesBetweenExecutions: number;
        /** The Route 53 health check the plan created for this stack's Region, once known. */
        healthCheckId?: string;
    };
    /** Default tags of every taggable resource of the site. */
    tags: { app: string; stack: string; site: string };
}

/** The stacks that hold the plan's data: never ephemeral. */
export const KEPT_STACKS = ["production", "dr"];

/**
 * The name label of an ephemeral stack: `e` and the first 6 hex digits of the SHA-256 of its name.
 * As long as `primary`, the name it stands in for, so every name the program derives from the site's
 * prefix keeps its length (AWS's limits: 63 characters for a bucket, whose name also carries the account
 * and region; 32 for an ALB, whose name Pulumi derives from its logical name). Every resource also
 * carries the stack's full name in its `stack` tag.
 */
export function ephemeralNameLabel(stack: string): string {
    return `e${createHash("sha256").update(stack).digest("hex").slice(0, 6)}`;
}

/** Bad configuration: thrown before any resource is declared. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/**
 * Raw config as the engine passes it: every value a string, structured values as JSON. At run time it
 * may also hold keys the schema does not declare (a typo in a stack file): parseStackConfig refuses them.
 */
export type RawConfig = Partial<Record<ConfigKey | "aws:region", string>>;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,32}$/;
const EC2_INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal|\d*xlarge)$/;
const DB_INSTANCE_CLASS = /^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d*xlarge)$/;
const CACHE_NODE_TYPE = /^cache\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d*xlarge)$/;
/** A PostgreSQL major version alone (13 or later): RDS picks and upgrades the minor version. */
const PG_MAJOR_VERSION = /^(1[3-9]|[2-9]\d)$/;
const PG_VERSION_WITH_MINOR = /^(1[3-9]|[2-9]\d)\.\d+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An AMI id: `ami-` and 8 (older) or 17 hex digits (EC2 API Reference, ImageId). */
const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SLACK_WORKSPACE = /^T[A-Z0-9]{6,}$/;
const SLACK_CHANNEL = /^[CG][A-Z0-9]{6,}$/;
/** The plan's weekly retention as it states it, in months. */
const WEEKLY_RETENTION_MONTHS = Math.round((DR_PLAN.dbWeeklyRetentionDays * 12) / 365);
const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const AUTOSCALING_GROUP_ARN = /^arn:aws[a-z-]*:autoscaling:[a-z0-9-]+:\d{12}:autoScalingGroup:[A-Za-z0-9-]+:autoScalingGroupName\/.+$/;
const CLOUDWATCH_ALARM_ARN = /^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/;
/** A Route 53 health check id (a UUID). */
const ROUTE53_HEALTH_CHECK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RDS_INSTANCE_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:db:[a-z][a-z0-9-]*$/;
const RDS_AUTOMATED_BACKUPS_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:[A-Za-z0-9-]+$/;
const BACKUP_VAULT_ARN = /^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_.-]+$/;
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_RDB_ARN = /^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}\/.+\.rdb$/;
const STACK_NAME = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

/** Parses and validates raw stack config; throws {@link ConfigError} listing every problem. */
export function parseStackConfig(raw: RawConfig, stack: string, project = PROJECT_NAME): StackConfig {
    const problems: string[] = [];
    const key = (k: string) => `${project}:${k}`;
    const show = (v: unknown) => JSON.stringify(v);
    // A key the schema does not declare is a mistake (a typo would silently leave the default in force).
    problems.push(...undeclaredKeyProblems(Object.keys(raw), project));

    const text = (k: ConfigKey): string | undefined => {
        const value = raw[k];
        if (value !== undefined) return value;
        const spec = CONFIG_SCHEMA[k] as { default?: unknown };
        return spec.default === undefined ? undefined : String(spec.default);
    };
    const str = (k: ConfigKey): string => text(k) ?? "";
    const int = (k: ConfigKey, min: number, max: number, why: string): number => {
        const value = text(k);
        const n = Number(value);
        if (value === undefined || value.trim() === "" || !Number.isInteger(n)) {
            problems.push(`${key(k)} = ${show(value)}: must be a whole number (${why})`);
            return NaN;
        }
        if (n < min || n > max) {
            problems.push(`${key(k)} = ${n}: ${why}`);
        }
        return n;
    };
    const bool = (k: ConfigKey, safe = true): boolean => {
        const value = text(k);
        if (value !== "true" && value !== "false") {
            problems.push(`${key(k)} = ${show(value)}: must be true or false`);
            return safe; // the safe reading; the error above stops the deployment anyway
        }
        return value === "true";
    };
    const list = (k: ConfigKey): string[] => {
        const value = raw[k];
        if (value === undefined) return [...((CONFIG_SCHEMA[k] as { default?: string[] }).default ?? [])];
        try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed) && parsed.every((e) => typeof e === "string")) return parsed;
        } catch {
            /* reported below */
        }
        problems.push(`${key(k)} = ${show(value)}: must be a list of strings`);
        return [];
    };
    const matches = (k: ConfigKey, value: string | undefined, pattern: RegExp, allowed: string) => {
        if (value === undefined || !pattern.test(value)) {
            problems.push(`${key(k)} = ${show(value)}: ${allowed}`);
        }
    };

    // Site and regions.
    const siteRole = str("siteRole") as SiteRole;
    if (!SITE_ROLES.includes(siteRole)) {
        problems.push(`${key("siteRole")} = ${show(siteRole)}: unknown site role; allowed: ${SITE_ROLES.join(", ")}`);
    }
    const primaryRegion = str("primaryRegion");
    const drRegion = str("drRegion");
    matches("primaryRegion", primaryRegion, REGION, "must be an AWS region name such as us-east-1");
    matches("drRegion", drRegion, REGION, "must be an AWS region name such as us-west-2");
    if (primaryRegion === drRegion) {
        problems.push(
            `${key("drRegion")} = ${show(drRegion)}: must differ from ${key("primaryRegion")} (${primaryRegion}); ` +
                "a recovery site in the same region does not survive the loss of that region",
        );
    }
    const siteRegion = siteRole === "primary" ? primaryRegion : drRegion;
    const awsRegion = raw["aws:region"];
    if (awsRegion !== undefined && awsRegion !== siteRegion) {
        problems.push(
            `aws:region = ${show(awsRegion)}: must equal the site's region ${show(siteRegion)} ` +
                `(${siteRole === "primary" ? "primaryRegion" : "drRegion"} for site role ${siteRole})`,
        );
    }
    const productionStack = str("productionStack");
    matches("productionStack", productionStack, STACK_NAME, "must be a stack name such as organization/genie-infra/production");
    // One owner per account for the Auto Scaling service-linked role: the production stack, deployed
    // first. IAM is global and its control plane is in us-east-1, so the dr stack names the role by
    // its ARN and never creates it (nor could two stacks both create it: the name is taken).
    const autoscalingServiceLinkedRole = str("autoscalingServiceLinkedRole") as ServiceLinkedRoleOwnership;
    if (!SERVICE_LINKED_ROLE_OWNERSHIP.includes(autoscalingServiceLinkedRole)) {
        problems.push(`${key("autoscalingServiceLinkedRole")} = ${show(autoscalingServiceLinkedRole)}: allowed: ${SERVICE_LINKED_ROLE_OWNERSHIP.join(", ")}`);
    } else if (autoscalingServiceLinkedRole === "create" && siteRole !== "primary") {
        problems.push(
            `${key("autoscalingServiceLinkedRole")} = "create": the production stack owns the account's Auto Scaling service-linked role; ` +
                `a ${siteRole} DR site must use "existing" (it must come up without IAM's us-east-1 control plane, and the role's name is taken once production created it)`,
        );
    }

    // Network and DNS.
    const vpcCidr = str("vpcCidr");
    if (!isPrivateCidr(vpcCidr)) {
        problems.push(`${key("vpcCidr")} = ${show(vpcCidr)}: must be a private IPv4 CIDR block from /16 to /20, such as 10.20.0.0/16`);
    }
    const availabilityZoneCount = int("availabilityZoneCount", 2, 6, "allowed: 2 to 6 zones; a single zone is no high availability");
    const domainName = str("domainName");
    matches("domainName", domainName, HOSTNAME, "must be a lower-case DNS name such as genie.example.com");
    matches("hostedZoneId", str("hostedZoneId"), HOSTED_ZONE_ID, "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ");

    // App group.
    const instanceType = str("instanceType");
    matches("instanceType", instanceType, EC2_INSTANCE_TYPE, "must be an EC2 instance type such as t3.large or m7g.xlarge");
    const needsHa = siteRole === "primary" || siteRole === "active";
    const minSize = int("appMinSize", 0, 1000, "allowed: 0 to 1000");
    if (needsHa && minSize < DR_PLAN.appMinInstances) {
        problems.push(
            `${key("appMinSize")} = ${minSize}: ${siteRole === "active" ? "an" : "a"} ${siteRole} site needs at least ${DR_PLAN.appMinInstances} app instances ` +
                `(plan: "Minimum: ${DR_PLAN.appMinInstances} application instances")`,
        );
    }
    const maxSize = int("appMaxSize", 1, 1000, "allowed: 1 to 1000");
    if (maxSize < minSize) {
        problems.push(`${key("appMaxSize")} = ${maxSize}: must be at least ${key("appMinSize")} (${minSize})`);
    }
    const standbySize = int("standbyAppSize", 1, 1000, "allowed: 1 to appMaxSize; a standby site keeps at least one instance warm");
    if (standbySize > maxSize) {
        problems.push(`${key("standbyAppSize")} = ${standbySize}: must not exceed ${key("appMaxSize")} (${maxSize})`);
    }
    const imageTag = str("imageTag");
    matches("imageTag", imageTag, IMAGE_TAG, "must be an image tag: letters, digits, '_', '.', '-', at most 128 characters");
    if (imageTag === "latest") {
        problems.push(`${key("imageTag")} = "latest": tags are immutable and versioned; give a version such as 1.4.2`);
    }
    const buildContext = raw.appBuildContext || undefined;
    const amiId = raw.appAmiId || undefined;
    if (amiId !== undefined) matches("appAmiId", amiId, AMI_ID, "must be an AMI id such as ami-0123456789abcdef0 (ami- and 8 or 17 hex digits), of this stack's region");

    // Database and cache.
    const engineVersion = str("dbEngineVersion");
    if (PG_VERSION_WITH_MINOR.test(engineVersion)) {
        // RDS retires minor versions for new instances and upgrades running ones (autoMinorVersionUpgrade):
        // a pinned minor fails the create once retired and asks for a downgrade after the first upgrade.
        problems.push(
            `${key("dbEngineVersion")} = ${show(engineVersion)}: give the major version only, such as ${show(engineVersion.split(".")[0])}; ` +
                "RDS creates the newest minor version it offers and upgrades minor versions automatically (autoMinorVersionUpgrade), " +
                "so a pinned minor version stops being creatable when AWS retires it and asks for a downgrade once the instance is upgraded",
        );
    } else {
        matches("dbEngineVersion", engineVersion, PG_MAJOR_VERSION, "must be a PostgreSQL major version of 13 or later, such as 15");
        // The scheduled dump installs the client of this major version on Amazon Linux 2023 (components/scheduled-dump.ts).
        const clientProblem = PG_MAJOR_VERSION.test(engineVersion) ? postgresClientProblem(engineVersion) : undefined;
        if (clientProblem) problems.push(`${key("dbEngineVersion")} = ${show(engineVersion)}: ${clientProblem}`);
    }
    matches("dbInstanceClass", str("dbInstanceClass"), DB_INSTANCE_CLASS, "must be an RDS instance class such as db.r6g.large");
    matches("dbStandbyInstanceClass", str("dbStandbyInstanceClass"), DB_INSTANCE_CLASS, "must be an RDS instance class such as db.t4g.large");
    const allocatedStorageGb = int("dbAllocatedStorageGb", 20, 65536, "allowed: 20 to 65536 GiB");
    const maxAllocatedStorageGb = int("dbMaxAllocatedStorageGb", 21, 65536, "allowed: 21 to 65536 GiB");
    if (maxAllocatedStorageGb <= allocatedStorageGb) {
        problems.push(
            `${key("dbMaxAllocatedStorageGb")} = ${maxAllocatedStorageGb}: must exceed ${key("dbAllocatedStorageGb")} (${allocatedStorageGb}) so storage can grow`,
        );
    }
    // AWS Backup's continuous rule keeps this window (and sets the instance's retention from it): at most
    // 35 days (AWS Backup's and RDS's maximum), at least the Vault Lock minimum (the plan's daily
    // retention), or the locked vault fails the continuous backup job.
    const pointInTimeRetentionDays = int(
        "dbPointInTimeRetentionDays",
        DR_PLAN.dbDailyRetentionDays,
        35,
        `allowed: ${DR_PLAN.dbDailyRetentionDays} to 35 days: at most 35 (RDS's and AWS Backup's maximum for point-in-time backups), ` +
            `at least the backup vaults' Vault Lock minimum of ${DR_PLAN.dbDailyRetentionDays} (the plan's daily retention), which refuses a continuous backup kept less`,
    );
    const recoverySource = str("dbRecoverySource") as DbRecoverySource;
    const restoreTime = raw.dbRestoreTime || undefined;
    if (!DB_RECOVERY_SOURCES.includes(recoverySource)) {
        problems.push(`${key("dbRecoverySource")} = ${show(recoverySource)}: allowed: ${DB_RECOVERY_SOURCES.join(", ")}`);
    } else if (recoverySource !== "replica" && siteRole !== "active") {
        problems.push(
            `${key("dbRecoverySource")} = ${show(recoverySource)}: restoring from backups is for an active DR site; ` +
                `a ${siteRole} site's database is ${siteRole === "primary" ? "the primary itself" : "a replica"} (use replica)`,
        );
    } else if (recoverySource === "point-in-time" && restoreTime === undefined) {
        problems.push(`${key("dbRestoreTime")} is missing: dbRecoverySource point-in-time needs the UTC time to restore to, e.g. 2026-11-30T01:15:00Z`);
    }
    if (restoreTime !== undefined && !(UTC_TIMESTAMP.test(restoreTime) && !Number.isNaN(Date.parse(restoreTime)))) {
        problems.push(`${key("dbRestoreTime")} = ${show(restoreTime)}: must be a UTC time such as 2026-11-30T01:15:00Z`);
    }
    const generation = int("dbGeneration", 1, 99, "allowed: 1 to 99 (1 is the stack's first database; raise it by one to return an active DR site to standby)");
    if (siteRole === "primary" && generation > 1) {
        problems.push(`${key("dbGeneration")} = ${generation}: only the DR site's database has generations (a new replica after a failover); the production database is always the first`);
    }
    const productionOverrides = {
        databaseArn: raw.primaryDatabaseArn || undefined,
        databaseBackupsArn: raw.primaryDatabaseBackupsArn || undefined,
        databaseBackupsKmsKeyArn: raw.primaryDatabaseBackupsKmsKeyArn || undefined,
        backupVaultArn: raw.primaryBackupVaultArn || undefined,
        drBackupsBucketName: raw.drBackupsBucketName || undefined,
        appAutoScalingGroupArn: raw.primaryAppAutoScalingGroupArn || undefined,
        criticalAlarmArn: raw.primaryCriticalAlarmArn || undefined,
    };
    if (productionOverrides.appAutoScalingGroupArn !== undefined) {
        matches("primaryAppAutoScalingGroupArn", productionOverrides.appAutoScalingGroupArn, AUTOSCALING_GROUP_ARN, "must be an Auto Scaling group ARN such as arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:<uuid>:autoScalingGroupName/genie-primary-app");
    }
    if (productionOverrides.criticalAlarmArn !== undefined) {
        matches("primaryCriticalAlarmArn", productionOverrides.criticalAlarmArn, CLOUDWATCH_ALARM_ARN, "must be a CloudWatch alarm ARN such as arn:aws:cloudwatch:us-east-1:123456789012:alarm:genie-primary-p1");
    }
    if (productionOverrides.backupVaultArn !== undefined) {
        matches("primaryBackupVaultArn", productionOverrides.backupVaultArn, BACKUP_VAULT_ARN, "must be an AWS Backup vault ARN such as arn:aws:backup:us-east-1:123456789012:backup-vault:genie-primary-backup-vault");
    }
    if (productionOverrides.drBackupsBucketName !== undefined) {
        matches("drBackupsBucketName", productionOverrides.drBackupsBucketName, S3_BUCKET_NAME, "must be an S3 bucket name (3-63 lower-case letters, digits, '.', '-')");
    }
    if (productionOverrides.databaseArn !== undefined) {
        matches("primaryDatabaseArn", productionOverrides.databaseArn, RDS_INSTANCE_ARN, "must be an RDS instance ARN such as arn:aws:rds:us-east-1:123456789012:db:genie-primary-db");
    }
    if (productionOverrides.databaseBackupsKmsKeyArn !== undefined) {
        const k = productionOverrides.databaseBackupsKmsKeyArn;
        matches("primaryDatabaseBackupsKmsKeyArn", k, KMS_KEY_ARN, `must be a KMS key ARN in the DR region, such as arn:aws:kms:${drRegion}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`);
        if (KMS_KEY_ARN.test(k) && k.split(":")[3] !== drRegion) {
            problems.push(`${key("primaryDatabaseBackupsKmsKeyArn")} = ${show(k)}: must be a key of the DR region ${drRegion}, where the backups are replicated`);
        }
    }
    if (productionOverrides.databaseBackupsArn !== undefined) {
        matches("primaryDatabaseBackupsArn", productionOverrides.databaseBackupsArn, RDS_AUTOMATED_BACKUPS_ARN, "must be an RDS automated backups ARN such as arn:aws:rds:us-west-2:123456789012:auto-backup:ab-...");
    }
    const seedRdbArn = raw.cacheSeedRdbArn || undefined;
    if (seedRdbArn !== undefined) {
        matches("cacheSeedRdbArn", seedRdbArn, S3_RDB_ARN, "must be the S3 ARN of an .rdb file such as arn:aws:s3:::genie-primary-storage-redis-123456789012-us-west-2/genie-scheduled-20261130t0330-export-0001.rdb");
    }
    matches("cacheNodeType", str("cacheNodeType"), CACHE_NODE_TYPE, "must be an ElastiCache node type such as cache.r6g.large");
    matches("cacheStandbyNodeType", str("cacheStandbyNodeType"), CACHE_NODE_TYPE, "must be an ElastiCache node type such as cache.t4g.medium");

    // Schedules and retentions: never looser than the plan.
    const atMostPlan = (k: ConfigKey, planValue: number, planLine: string) => {
        const n = int(k, 1, planValue, `allowed: a divisor of 24 up to ${planValue} hours (plan: "${planLine}")`);
        if (Number.isInteger(n) && n >= 1 && n <= planValue && 24 % n !== 0) {
            problems.push(`${key(k)} = ${n}: must divide 24 so backups are evenly spaced; allowed: ${divisorsOf24(planValue).join(", ")}`);
        }
        return n;
    };
    const atLeastPlan = (k: ConfigKey, planValue: number, max: number, planLine: string) =>
        int(k, planValue, max, `allowed: ${planValue} to ${max} days; below ${planValue} breaks the plan ("${planLine}")`);
    const backup = {
        intervalHours: atMostPlan("backupIntervalHours", DR_PLAN.dbBackupIntervalHours, `Frequency: Every ${DR_PLAN.dbBackupIntervalHours} hours`),
        dailyRetentionDays: atLeastPlan("dailyBackupRetentionDays", DR_PLAN.dbDailyRetentionDays, 36500, `${DR_PLAN.dbDailyRetentionDays} days for daily backups`),
        weeklyRetentionDays: atLeastPlan("weeklyBackupRetentionDays", DR_PLAN.dbWeeklyRetentionDays, 36500, `${WEEKLY_RETENTION_MONTHS} months for weekly backups`),
        redisSnapshotIntervalHours: atMostPlan("redisSnapshotIntervalHours", DR_PLAN.redisSnapshotIntervalHours, `Redis: Every ${DR_PLAN.redisSnapshotIntervalHours} hours`),
        redisSnapshotRetentionDays: atLeastPlan("redisSnapshotRetentionDays", DR_PLAN.redisRetentionDays, 36500, `Redis retention: ${DR_PLAN.redisRetentionDays} days`),
        logRetentionDays: atLeastPlan("logRetentionDays", DR_PLAN.logRetentionDays, 3653, `Logs: ${DR_PLAN.logRetentionDays}-day retention`),
        imageVersionsKept: int(
            "imageVersionsKept",
            DR_PLAN.imageVersionsKept,
            1000,
            `allowed: ${DR_PLAN.imageVersionsKept} to 1000; fewer breaks the plan ("Keep last ${DR_PLAN.imageVersionsKept} versions of each image")`,
        ),
    };
    if (Number.isInteger(backup.logRetentionDays) && !CLOUDWATCH_RETENTION_DAYS.includes(backup.logRetentionDays)) {
        problems.push(
            `${key("logRetentionDays")} = ${backup.logRetentionDays}: CloudWatch Logs accepts only ${CLOUDWATCH_RETENTION_DAYS.filter((d) => d >= DR_PLAN.logRetentionDays).join(", ")}`,
        );
    }

    // Vault Lock: the mode, and a maximum that every retention above must fit under.
    const vaultLockMode = str("backupVaultLockMode") as VaultLockMode;
    if (!VAULT_LOCK_MODES.includes(vaultLockMode)) {
        problems.push(`${key("backupVaultLockMode")} = ${show(vaultLockMode)}: allowed: ${VAULT_LOCK_MODES.join(", ")}`);
    }
    const vaultLockMaxRetentionDays = int("backupVaultLockMaxRetentionDays", 1, 36500, "allowed: up to 36500 days, above the weekly backup retention");
    if (Number.isInteger(vaultLockMaxRetentionDays) && Number.isInteger(backup.weeklyRetentionDays) && vaultLockMaxRetentionDays <= backup.weeklyRetentionDays) {
        problems.push(
            `${key("backupVaultLockMaxRetentionDays")} = ${vaultLockMaxRetentionDays}: must exceed ${key("weeklyBackupRetentionDays")} (${backup.weeklyRetentionDays}); ` +
                "the locked vault would refuse the weekly backups",
        );
    }

    // Alerting.
    const emails = list("alertEmails");
    for (const email of emails) {
        if (!EMAIL.test(email)) problems.push(`${key("alertEmails")} has ${show(email)}: not an email address such as oncall@example.com`);
    }
    if (emails.length === 0) {
        problems.push(`${key("alertEmails")} = []: list at least one address; email is the plan's primary alert channel`);
    }
    const smsNumbers = list("alertSmsNumbers");
    for (const number of smsNumbers) {
        if (!E164.test(number)) {
            problems.push(`${key("alertSmsNumbers")} has ${show(number)}: not an E.164 phone number such as +15555550100 ('+', country code, digits only)`);
        }
    }
    const workspaceId = raw.slackWorkspaceId || undefined;
    const channelId = raw.slackChannelId || undefined;
    if ((workspaceId === undefined) !== (channelId === undefined)) {
        problems.push(`${key(workspaceId ? "slackChannelId" : "slackWorkspaceId")} is missing: set both slackWorkspaceId and slackChannelId, or neither`);
    }
    if (workspaceId !== undefined) matches("slackWorkspaceId", workspaceId, SLACK_WORKSPACE, "must be a Slack workspace id such as T0123ABCD");
    if (channelId !== undefined) matches("slackChannelId", channelId, SLACK_CHANNEL, "must be a Slack channel id such as C0123ABCD");
    const chatbotRegion = str("chatbotRegion") as ChatbotRegion;
    if (!CHATBOT_REGIONS.includes(chatbotRegion)) {
        problems.push(`${key("chatbotRegion")} = ${show(chatbotRegion)}: AWS Chatbot's API exists only in ${CHATBOT_REGIONS.join(", ")}`);
    }
    const errorRateThresholdPercent = int("errorRateThresholdPercent", 1, 100, "allowed: 1 to 100 percent of requests");
    const diskUsedThresholdPercent = int("diskUsedThresholdPercent", 50, 99, "allowed: 50 to 99 percent");
    const dbFreeStorageThresholdGb = int("dbFreeStorageThresholdGb", 1, 65536, "allowed: 1 to 65536 GiB");

    const protect = bool("protect");
    // An ephemeral stack is deleted whole by `pulumi destroy`: it must say so on purpose (protect false),
    // and never be one of the stacks that keep the plan's data.
    const ephemeral = bool("ephemeral", false);
    if (ephemeral) {
        const shortName = stack.split("/").pop() ?? stack;
        const why = "an ephemeral stack is deleted whole by pulumi destroy (the deploy-from-scratch test)";
        if (KEPT_STACKS.includes(shortName)) {
            problems.push(`${key("ephemeral")} = true on the ${shortName} stack: refused on ${KEPT_STACKS.join(" and ")}, whose data the plan keeps; ${why}: give it a stack of its own`);
        }
        if (protect) {
            problems.push(`${key("ephemeral")} = true with ${key("protect")} = true: ${why}, and protected resources cannot be deleted; set ${key("protect")} to false as well`);
        }
        if (siteRole !== "primary") {
            problems.push(`${key("ephemeral")} = true with ${key("siteRole")} = ${show(siteRole)}: an ephemeral stack is a self-contained primary site; a DR site replicates a production stack it cannot take down with it`);
        }
        if (vaultLockMode === "compliance") {
            problems.push(`${key("ephemeral")} = true with ${key("backupVaultLockMode")} = "compliance": a compliance lock keeps the vaults' recovery points for years once its grace days end, so a stack left behind could never be deleted; set it to governance`);
        }
        if (autoscalingServiceLinkedRole === "create") {
            problems.push(`${key("ephemeral")} = true with ${key("autoscalingServiceLinkedRole")} = "create": the account's Auto Scaling service-linked role outlives the stack (it is kept on delete), so the next stack's create would fail with 'has been taken in this account'; set existing (create the role once: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com)`);
        }
    }
    const drillsEnabled = bool("drillsEnabled");
    const siteFenced = bool("siteFenced", false);
    const regionSwitchHealthCheckId = raw.regionSwitchHealthCheckId || undefined;
    if (regionSwitchHealthCheckId !== undefined) {
        matches("regionSwitchHealthCheckId", regionSwitchHealthCheckId, ROUTE53_HEALTH_CHECK_ID, "must be a Route 53 health check id (a UUID) that the Region switch plan created for this stack's Region");
    }
    const regionSwitch = {
        autoActivate: bool("regionSwitchAutoActivate", false),
        // At least an hour: a second automatic failover inside the first one's recovery is never wanted.
        minMinutesBetweenExecutions: int("regionSwitchMinMinutesBetweenExecutions", 60, 10080, "60 (an hour) to 10080 (a week)"),
        ...(regionSwitchHealthCheckId ? { healthCheckId: regionSwitchHealthCheckId } : {}),
    };

    // Incident response and communication.
    const incidentManagerMode = str("incidentManager");
    if (incidentManagerMode !== "disabled" && incidentManagerMode !== "enabled") {
        problems.push(`${key("incidentManager")} = ${show(incidentManagerMode)}: allowed: disabled, enabled (Incident Manager is no longer open to new customers: enabled only on an account already onboarded)`);
    }
    const parsedContacts = parseContacts(list("incidentContacts"), key("incidentContacts"));
    problems.push(...parsedContacts.problems);
    if (incidentManagerMode === "enabled" && list("incidentContacts").length === 0) {
        problems.push(`${key("incidentContacts")} = []: incidentManager is enabled: list the emergency contacts in escalation order, each "Name|+E164 phone|email"`);
    }
    const customerEmails = list("customerNoticeEmails");
    for (const email of customerEmails) if (!EMAIL.test(email)) problems.push(`${key("customerNoticeEmails")} has ${show(email)}: not an email address such as customer@example.com`);
    const customerSms = list("customerNoticeSmsNumbers");
    for (const n of customerSms) if (!E164.test(n)) problems.push(`${key("customerNoticeSmsNumbers")} has ${show(n)}: not an E.164 phone number such as +15555550100`);
    const incidentResponse = {
        incidentManager: incidentManagerMode === "enabled",
        contacts: parsedContacts.contacts,
        customerNotices: { emails: customerEmails, smsNumbers: customerSms },
        communicationTestEnabled: bool("communicationTestEnabled"),
    };

    if (problems.length > 0) throw new ConfigError(problems);

    const siteName = siteRole === "primary" ? "primary" : "dr";
    return {
        project,
        stack,
        siteRole,
        siteName,
        primaryRegion,
        drRegion,
        siteRegion,
        productionStack,
        autoscalingServiceLinkedRole,
        network: { vpcCidr, availabilityZoneCount },
        dns: { domainName, hostedZoneId: str("hostedZoneId") },
        app: { instanceType, minSize, maxSize, standbySize, imageTag, buildContext, amiId },
        database: {
            engineVersion,
            instanceClass: str("dbInstanceClass"),
            standbyInstanceClass: str("dbStandbyInstanceClass"),
            allocatedStorageGb,
            maxAllocatedStorageGb,
            pointInTimeRetentionDays,
            recoverySource,
            restoreTime,
            generation,
        },
        cache: { nodeType: str("cacheNodeType"), standbyNodeType: str("cacheStandbyNodeType"), seedRdbArn },
        productionOverrides,
        backup,
        vaultLock: { mode: vaultLockMode, maxRetentionDays: vaultLockMaxRetentionDays },
        alerts: {
            emails,
            smsNumbers,
            slack: workspaceId && channelId ? { workspaceId, channelId } : undefined,
            chatbotRegion,
            errorRateThresholdPercent,
            diskUsedThresholdPercent,
            dbFreeStorageThresholdGb,
        },
        protect,
        ephemeral,
        lifecycle: ephemeral ? { ...EPHEMERAL_LIFECYCLE } : keptLifecycle(protect),
        nameLabel: ephemeral ? ephemeralNameLabel(stack) : siteName,
        siteFenced,
        drillsEnabled,
        incidentResponse,
        regionSwitch,
        tags: { app: "genie-ai-server", stack, site: siteName },
    };
}

/**
 * Reads this stack's config from the Pulumi runtime and validates it.
 *
 * Every key of the project's namespace is read, declared or not: the engine passes the program all
 * of the stack's config (the PULUMI_CONFIG environment variable, which `pulumi.runtime.allConfig()`
 * returns) and itself checks only the keys Pulumi.yaml declares (their types and required values:
 * pulumi/pulumi sdk/go/common/workspace/config.go, `mergeConfig`/`validateStackConfigValues`), so an
 * undeclared key reaches the program and is refused here, before any resource is declared. The
 * offline runtime sets the same store (`pulumi.runtime.setAllConfig`), so both paths see the same keys.
 */
export function loadStackConfig(): StackConfig {
    const project = pulumi.getProject();
    const raw: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(`${project}:`)) raw[fullKey.slice(project.length + 1)] = value;
    }
    const region = new pulumi.Config("aws").get("region");
    if (region !== undefined) raw["aws:region"] = region;
    return parseStackConfig(raw as RawConfig, pulumi.getStack(), project);
}

/**
 * One problem per key of the project's namespace that the schema does not declare, naming the
 * closest declared key. `keys` are raw config keys: unqualified (the project's) or `namespace:key`;
 * keys of other namespaces (aws:, pulumi:, a provider's) are not the program's to judge and pass.
 * The value is never shown: an undeclared key may hold a secret.
 */
export function undeclaredKeyProblems(keys: Iterable<string>, project = PROJECT_NAME): string[] {
    const declared = Object.keys(CONFIG_SCHEMA);
    const problems: string[] = [];
    for (const rawKey of keys) {
        const colon = rawKey.indexOf(":");
        if (colon >= 0 && rawKey.slice(0, colon) !== project) continue;
        const name = colon >= 0 ? rawKey.slice(colon + 1) : rawKey;
        if (declared.includes(name)) continue;
        const { key: closest, distance } = closestKey(name, declared);
        const near = distance <= Math.max(2, Math.floor(name.length / 3));
        problems.push(
            `${project}:${name} is not a config key of this project: ` +
                (near ? `did you mean ${project}:${closest}?` : `the closest declared key is ${project}:${closest}`) +
                " (every key is declared in Pulumi.yaml's config block, generated from infra/config-schema.ts)",
        );
    }
    return problems;
}

/** The declared key nearest to `name` by edit distance (case-insensitive; a transposition counts as one edit). */
function closestKey(name: string, declared: string[]): { key: string; distance: number } {
    let best = { key: declared[0], distance: Infinity };
    for (const candidate of declared) {
        const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
        if (distance < best.distance) best = { key: candidate, distance };
    }
    return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
    for (let j = 0; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** Retention values CloudWatch Logs accepts (days). */
export const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function divisorsOf24(max: number): number[] {
    return [1, 2, 3, 4, 6, 8, 12, 24].filter((d) => d <= max);
}

function isPrivateCidr(cidr: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!m) return false;
    const [a, b, c, d, bits] = m.slice(1).map(Number);
    if ([a, b, c, d].some((o) => o > 255) || bits < 16 || bits > 20) return false;
    const address = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
    if ((address & (0xffffffff >>> bits)) !== 0) return false; // host bits set
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
