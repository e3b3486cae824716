// Over 300 lines on purpose: the backups, uploads and logs buckets with their replicas: each bucket is six to
// eight separate aws v7 resources (versioning, encryption, lifecycle, replication, policy, logging) that must
// agree; a candidate for a split by bucket.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StatefulLifecycle } from "./lifecycle";
import { serviceTrustPolicy } from "./iam";

/**
 * Key prefixes of the backups bucket: the logical dumps (daily and weekly) and the RDB files the
 * runbook (`scripts/backup.sh redis`) uploads. The scheduled ElastiCache exports go to their own
 * bucket ({@link BackupStorage.cacheExportsBucketName}): ElastiCache cannot write into this one.
 */
export const BACKUP_PREFIXES = { dbDaily: "db/daily/", dbWeekly: "db/weekly/", redis: "redis/" } as const;
/** Prefix under which the ALB writes its access logs in the logs bucket (the serving path sets it). */
export const ALB_LOGS_PREFIX = "alb";
/**
 * Prefix of the S3 server access logs in a logs bucket: `s3-access/<purpose>/` per logged bucket
 * (who read, wrote or deleted which backup or upload, and when).
 */
export const S3_ACCESS_LOGS_PREFIX = "s3-access";
/** The S3 server access log delivery service (S3 User Guide, "Permissions for log delivery"). */
export const S3_LOGGING_PRINCIPAL = "logging.s3.amazonaws.com";
/**
 * Elastic Load Balancing's log delivery service principal. ELB guide, "Enable access logs for your
 * Application Load Balancer", step 2: "This policy grants permissions to the log delivery service"
 * (`logdelivery.elasticloadbalancing.amazonaws.com`); the per-Region ELB account policy is the legacy
 * one ("still supported, but we recommend that you replace it with the newer policy").
 */
export const ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com";
/**
 * ElastiCache's snapshot service in a region, the principal a bucket policy grants export and seed
 * access to. ElastiCache guide, "Exporting a backup": "We recommend granting access by using an
 * Amazon S3 bucket policy rather than access control lists (ACLs)", with
 * `"Service": "{{region}}.elasticache-snapshot.amazonaws.com"`.
 */
export const elastiCacheSnapshotPrincipal = (region: string) => `${region}.elasticache-snapshot.amazonaws.com`;
/** The S3 actions that guide's bucket policy gives that principal, on the bucket and its objects. */
export const ELASTICACHE_EXPORT_ACTIONS = [
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
] as const;
/** S3 Replication Time Control: 15 minutes is the only value S3 offers (99.99% of objects within it). */
export const REPLICATION_TIME_MINUTES = 15;
/** Replication rule ids: the uploads rule has Replication Time Control and metrics (the monitoring alarms read them). */
export const REPLICATION_RULE_IDS = {
    backups: "backups-to-dr-region",
    uploads: "uploads-to-dr-region",
    cacheExports: "cache-exports-to-dr-region",
    failbackBackups: "backups-to-primary-region",
    failbackUploads: "uploads-to-primary-region",
    failbackCacheExports: "cache-exports-to-primary-region",
} as const;
/** Days after which an incomplete multipart upload is aborted (and its parts deleted). */
export const ABORT_MULTIPART_AFTER_DAYS = 7;
/** Storage class weekly dumps move to before they expire: instant retrieval, for restores on demand. */
export const COLD_STORAGE_CLASS = "GLACIER_IR";

/**
 * Elastic Load Balancing's account per region, for the regions opened before August 2022: the legacy
 * bucket policy grants this account, and stays supported there. Granted together with the log
 * delivery service principal, so the policy works whichever of the two ELB writes as.
 */
const ELB_ACCOUNT_BY_REGION: Record<string, string> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-central-1": "054676820928",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
};

type LifecycleRule = aws.types.input.s3.BucketLifecycleConfigurationRule;

export interface SecureBucketArgs {
    /** The region's customer-managed KMS key (SSE-KMS with bucket keys). None: SSE-S3, for writers that accept nothing else. */
    kmsKeyArn?: pulumi.Input<string>;
    /** A fixed bucket name, for a bucket another stack must find without reading this one's state; default: auto-named. */
    bucketName?: pulumi.Input<string>;
    /** Tags besides the provider's default tags (e.g. `purpose`, which the policy pack reads). */
    tags?: Record<string, string>;
    /** Lifecycle rules besides the housekeeping one every bucket gets. */
    lifecycleRules: LifecycleRule[];
    /** Days a replaced or deleted object version stays recoverable. */
    noncurrentVersionDays: number;
    /** Policy statements besides the TLS-only denial, given the bucket's ARN. */
    extraStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Input<Record<string, unknown>>[];
    /** How the buckets end (components/lifecycle.ts): protected and retained, or deleted with their objects. */
    lifecycle: StatefulLifecycle;
}

/** All four kinds of public access blocked on a bucket (`<name>-public-access-block`). */
export function blockPublicAccess(name: string, bucket: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.s3.BucketPublicAccessBlock {
    return new aws.s3.BucketPublicAccessBlock(`${name}-public-access-block`, {
        bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
    }, opts);
}

/**
 * An S3 bucket as this program keeps data: versioned, encrypted, ACLs disabled (bucket owner
 * enforced), every kind of public access blocked, a policy that denies any request not made over
 * TLS, lifecycle rules (plus housekeeping: old versions expire, incomplete multipart uploads are
 * aborted, orphaned delete markers are removed), protected and retained on delete (on a kept stack:
 * components/lifecycle.ts).
 */
export class SecureBucket extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
    /** The versioning resource: replication must wait for it. */
    readonly versioning: aws.s3.BucketVersioning;
    /** The bucket policy: writers that AWS checks against it (ELB, S3 log delivery) must wait for it. */
    readonly policy: aws.s3.BucketPolicy;
    /** "kms" (the region's customer-managed key) or "s3" (SSE-S3). */
    readonly encryption: "kms" | "s3";
    private readonly bucket: aws.s3.Bucket;
    private readonly componentName: string;

    constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:storage:SecureBucket", name, {}, opts);
        const parent = { parent: this };
        const bucket = new aws.s3.Bucket(`${name}-bucket`, {
            // True on an ephemeral stack only: the provider deletes every object version first
            // (an S3 DeleteBucket of a bucket with objects fails: BucketNotEmpty).
            forceDestroy: args.lifecycle.forceDestroy,
            ...(args.bucketName !== undefined ? { bucket: args.bucketName } : {}),
            ...(args.tags ? { tags: args.tags } : {}),
        }, { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete });
        this.bucket = bucket;
        this.componentName = name;
        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.encryption = args.kmsKeyArn === undefined ? "s3" : "kms";

        this.versioning = new aws.s3.BucketVersioning(`${name}-versioning`, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, parent);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [
                args.kmsKeyArn === undefined
                    ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                    : { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true },
            ],
        }, parent);
        // ACLs disabled, as S3 creates new buckets: every writer is granted by the bucket policy.
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, parent);
        const publicAccessBlock = blockPublicAccess(name, bucket.id, parent);
        this.policy = new aws.s3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "DenyInsecureTransport",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                    ...(args.extraStatements?.(bucket.arn) ?? []),
                ],
            }),
        }, { parent: this, dependsOn: [publicAccessBlock] });
        // A replaced or deleted version stays recoverable as long as the retention of what it was: each
        // rule with an age expiration keeps its noncurrent versions at least that long, and housekeeping
        // (which covers every key) at least the longest of them. Where rules overlap, S3 applies the
        // shortest expiration ("Lifecycle configuration conflicts", S3 User Guide, lifecycle-conflicts.html):
        // a housekeeping noncurrent expiry shorter than a prefix's retention would delete an overwritten
        // weekly dump, log or export before its time.
        const expirationDays = (r: LifecycleRule): number | undefined => {
            const days = (r.expiration as { days?: unknown } | undefined)?.days;
            return typeof days === "number" ? days : undefined;
        };
        const keepVersions = (days: number | undefined) => Math.max(args.noncurrentVersionDays, days ?? 0);
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: [
                ...args.lifecycleRules.map((r) =>
                    expirationDays(r) === undefined || r.noncurrentVersionExpiration !== undefined
                        ? r
                        : { ...r, noncurrentVersionExpiration: { noncurrentDays: keepVersions(expirationDays(r)) } },
                ),
                {
                    id: "housekeeping",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: Math.max(...args.lifecycleRules.map((r) => keepVersions(expirationDays(r))), args.noncurrentVersionDays) },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_AFTER_DAYS },
                    expiration: { expiredObjectDeleteMarker: true },
                },
            ],
        }, { parent: this, dependsOn: [this.versioning] });

        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }

    /**
     * Turns on S3 server access logging of this bucket into `target` (same region and account),
     * under `s3-access/<purpose>/`, once the target's policy lets the S3 logging service write there.
     */
    logAccessTo(target: SecureBucket, purpose: string): aws.s3.BucketLogging {
        return new aws.s3.BucketLogging(`${this.componentName}-access-logging`, {
            bucket: this.bucket.id,
            targetBucket: target.bucketName,
            targetPrefix: `${S3_ACCESS_LOGS_PREFIX}/${purpose}/`,
        }, { parent: this, dependsOn: [target.policy] });
    }
}

/**
 * The policy statement that lets the S3 logging service deliver the server access logs of `sources`
 * (this account's buckets) under `s3-access/` of a logs bucket. S3 User Guide, "Grant permissions to
 * the logging service principal using a bucket policy": Principal `logging.s3.amazonaws.com`,
 * `s3:PutObject` on the target prefix, `aws:SourceArn` the source bucket, `aws:SourceAccount` the
 * source account. The target must be SSE-S3 ("Default encryption with AWS KMS keys (SSE-KMS) is not
 * supported"), in the same region and account, and have no default retention.
 */
function serverAccessLogDelivery(logsArn: pulumi.Output<string>, accountId: pulumi.Input<string>, sources: pulumi.Input<string>[]) {
    return {
        Sid: "S3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: S3_LOGGING_PRINCIPAL },
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${logsArn}/${S3_ACCESS_LOGS_PREFIX}/*`,
        Condition: { ArnLike: { "aws:SourceArn": sources }, StringEquals: { "aws:SourceAccount": accountId } },
    };
}

/**
 * The statement that lets ElastiCache of `region` export snapshots into a bucket and read the RDB
 * files back to seed a new cache: the bucket policy of ElastiCache's "Exporting a backup" guide
 * (`<region>.elasticache-snapshot.amazonaws.com`, on the bucket and its objects). It replaces the
 * canonical-ID ACL grant, which a bucket with ACLs disabled (bucket owner enforced) cannot take
 * (S3 User Guide, "Grant Amazon ElastiCache (Redis OSS) access to your S3 bucket").
 */
function elastiCacheAccess(bucketArn: pulumi.Output<string>, region: pulumi.Input<string>) {
    return {
        Sid: "ElastiCacheSnapshotExportAndSeed",
        Effect: "Allow",
        Principal: { Service: pulumi.output(region).apply(elastiCacheSnapshotPrincipal) },
        Action: [...ELASTICACHE_EXPORT_ACTIONS],
        Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
    };
}

/**
 * The fixed name of the bucket the site's Redis exports land in, per region: `<storage>-redis-<account>-<region>`.
 * Fixed (not auto-named) so that the dr stack finds the landing zone's bucket in its region from its
 * own account and region, without the production stack's state. At most 63 characters, lower case:
 * ElastiCache accepts only DNS-compliant bucket names ("Names must be at least 3 and no more than 63 characters long").
 */
export function cacheExportsBucketName(storageName: string, accountId: string, region: string): string {
    const name = `${storageName}-redis-${accountId}-${region}`.toLowerCase();
    if (name.length > 63) throw new Error(`cache exports bucket name ${name} is longer than 63 characters; shorten the storage component's name`);
    return name;
}

export interface BackupRetention {
    /** `db/daily/` dumps: days kept (the plan's 30). */
    dailyDays: number;
    /** `db/weekly/` dumps: days kept (the plan's 12 months). */
    weeklyDays: number;
    /** `db/weekly/` dumps move to {@link COLD_STORAGE_CLASS} after this many days. */
    weeklyColdAfterDays: number;
    /** `redis/` RDB files and the Redis exports: days kept (the plan's 7). */
    redisDays: number;
    /** ALB access logs and S3 server access logs: days kept (the plan's 90). */
    logDays: number;
    /** Days a replaced or deleted version of a backup or an upload stays recoverable. */
    noncurrentVersionDays: number;
}

export interface BackupStorageArgs {
    /** The site region's customer-managed KMS key. */
    kmsKeyArn: pulumi.Input<string>;
    retention: BackupRetention;
    /**
     * "all": the backups, uploads, Redis exports and logs buckets (a primary site); "logs": only the
     * ALB access-log bucket (a site whose backups and uploads live in another stack's replica buckets).
     */
    buckets: "all" | "logs";
    /**
     * The replication target region (the DR landing zone): its provider, its name and its KMS key.
     * The backups, uploads and exports buckets get replica buckets there, and a logs bucket for their
     * server access logs. Only with `buckets: "all"`.
     */
    replica?: { provider: aws.Provider; region: string; kmsKeyArn: pulumi.Input<string> };
    /** How the buckets end (components/lifecycle.ts): protected and retained, or deleted with their objects. */
    lifecycle: StatefulLifecycle;
}

/**
 * The site's object storage (the plan's "Location: ... cloud storage (AWS S3)", "User uploads:
 * Real-time replication to secondary storage", "Logs: ... 90-day retention", "Redis Data ... 7 days"):
 * - backups: `db/daily/` expires after the daily retention, `db/weekly/` moves to a colder class then
 *   expires after the weekly retention, `redis/` (runbook RDB files) after the Redis retention;
 *   replicated to a replica bucket in the DR region within 15 minutes (Replication Time Control;
 *   deletions are not replicated: a backup deleted here survives there);
 * - uploads: replicated to the DR region in real time (Replication Time Control, 15 minutes, with
 *   metrics), delete markers replicated;
 * - Redis exports: the RDB files ElastiCache exports every 12 hours, kept the Redis retention and
 *   replicated to the DR region, where they seed the DR cache. SSE-S3 and a bucket policy for
 *   ElastiCache's snapshot service: ElastiCache exports only with SSE-S3 ("Customer managed keys
 *   cannot be used when exporting backups") and seeds only from SSE-S3 files ("You can encrypt a ...
 *   .rdb file with Amazon S3 server-side encryption (SSE-S3) only"), so these buckets are not KMS;
 * - logs: the ALB access logs and the S3 server access logs of the backups, uploads and exports
 *   buckets (who read, wrote or deleted which object), expired after the log retention. Both writers
 *   accept SSE-S3 only, so the logs buckets use S3-managed keys; the DR region has its own logs
 *   bucket for the replicas' access logs (server access logs go to a bucket of the same region).
 * Everything else uses the region's customer-managed key.
 */
export class BackupStorage extends pulumi.ComponentResource {
    readonly backupsBucketName?: pulumi.Output<string>;
    readonly backupsBucketArn?: pulumi.Output<string>;
    readonly uploadsBucketName?: pulumi.Output<string>;
    readonly uploadsBucketArn?: pulumi.Output<string>;
    readonly cacheExportsBucketName?: pulumi.Output<string>;
    readonly cacheExportsBucketArn?: pulumi.Output<string>;
    readonly logsBucketName: pulumi.Output<string>;
    readonly logsBucketArn: pulumi.Output<string>;
    /** The logs bucket's policy: the ALB must be created after it (ELB checks it when access logs are turned on). */
    readonly logsBucketPolicy: aws.s3.BucketPolicy;
    readonly replicaBackupsBucketName?: pulumi.Output<string>;
    readonly replicaBackupsBucketArn?: pulumi.Output<string>;
    readonly replicaUploadsBucketName?: pulumi.Output<string>;
    readonly replicaUploadsBucketArn?: pulumi.Output<string>;
    readonly replicaCacheExportsBucketName?: pulumi.Output<string>;
    readonly replicaCacheExportsBucketArn?: pulumi.Output<string>;
    readonly replicaLogsBucketName?: pulumi.Output<string>;

    constructor(name: string, args: BackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:storage:BackupStorage", name, {}, opts);
        const r = args.retention;
        if (r.weeklyColdAfterDays >= r.weeklyDays) {
            throw new Error(`BackupStorage ${name}: weekly dumps must move to cold storage (day ${r.weeklyColdAfterDays}) before they expire (day ${r.weeklyDays})`);
        }
        if (args.replica && args.buckets !== "all") throw new Error(`BackupStorage ${name}: a replica needs buckets: "all"`);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent).region;

        /**
         * A logs bucket: the ALB writes under alb/AWSLogs/<account>/ (as the log delivery service, or
         * the ELB account of the older regions), S3 delivers the server access logs of `sources` under
         * s3-access/. SSE-S3: neither writer accepts SSE-KMS.
         */
        const logsBucket = (bucketName: string, logsRegion: pulumi.Output<string>, sources: pulumi.Input<string>[], alb: boolean, bucketOpts: pulumi.ComponentResourceOptions) =>
            new SecureBucket(bucketName, {
                lifecycleRules: [{ id: "logs", status: "Enabled", filter: {}, expiration: { days: r.logDays } }],
                noncurrentVersionDays: 1,
                extraStatements: (arn) => [
                    ...(alb
                        ? [{
                            Sid: "AlbAccessLogDelivery",
                            Effect: "Allow",
                            Principal: logsRegion.apply((rn) =>
                                ELB_ACCOUNT_BY_REGION[rn]
                                    ? { Service: ELB_LOG_DELIVERY_PRINCIPAL, AWS: `arn:aws:iam::${ELB_ACCOUNT_BY_REGION[rn]}:root` }
                                    : { Service: ELB_LOG_DELIVERY_PRINCIPAL },
                            ),
                            Action: "s3:PutObject",
                            Resource: pulumi.interpolate`${arn}/${ALB_LOGS_PREFIX}/AWSLogs/${identity.accountId}/*`,
                        }]
                        : []),
                    ...(sources.length > 0 ? [serverAccessLogDelivery(arn, identity.accountId, sources)] : []),
                ],
                lifecycle: args.lifecycle,
            }, bucketOpts);

        if (args.buckets === "logs") {
            const logs = logsBucket(`${name}-logs`, region, [], true, parent);
            this.logsBucketName = logs.bucketName;
            this.logsBucketArn = logs.bucketArn;
            this.logsBucketPolicy = logs.policy;
            this.registerOutputs({ logsBucketName: this.logsBucketName });
            return;
        }

        const backupRules = (): LifecycleRule[] => [
            { id: "db-daily", status: "Enabled", filter: { prefix: BACKUP_PREFIXES.dbDaily }, expiration: { days: r.dailyDays } },
            {
                id: "db-weekly",
                status: "Enabled",
                filter: { prefix: BACKUP_PREFIXES.dbWeekly },
                transitions: [{ days: r.weeklyColdAfterDays, storageClass: COLD_STORAGE_CLASS }],
                expiration: { days: r.weeklyDays },
            },
            { id: "redis", status: "Enabled", filter: { prefix: BACKUP_PREFIXES.redis }, expiration: { days: r.redisDays } },
        ];
        // Redis exports: the plan's 7 days; a deleted export stays recoverable a day here (and its
        // replica in the other region is not deleted with it).
        const exportsBucket = (bucketName: string, exportsRegion: pulumi.Input<string>, bucketOpts: pulumi.ComponentResourceOptions) =>
            new SecureBucket(bucketName, {
                bucketName: pulumi.all([identity.accountId, exportsRegion]).apply(([account, rn]) => cacheExportsBucketName(name, account, rn)),
                tags: { purpose: "cache-exports" },
                lifecycleRules: [{ id: "redis-exports", status: "Enabled", filter: {}, expiration: { days: r.redisDays } }],
                noncurrentVersionDays: 1,
                extraStatements: (arn) => [elastiCacheAccess(arn, exportsRegion)],
                lifecycle: args.lifecycle,
            }, bucketOpts);

        const backups = new SecureBucket(`${name}-backups`, {
            kmsKeyArn: args.kmsKeyArn,
            lifecycleRules: backupRules(),
            noncurrentVersionDays: r.noncurrentVersionDays,
            lifecycle: args.lifecycle,
        }, parent);
        const uploads = new SecureBucket(`${name}-uploads`, {
            kmsKeyArn: args.kmsKeyArn,
            lifecycleRules: [],
            noncurrentVersionDays: r.noncurrentVersionDays,
            lifecycle: args.lifecycle,
        }, parent);
        const cacheExports = exportsBucket(`${name}-cache-exports`, region, parent);
        const logged: [SecureBucket, string][] = [[backups, "backups"], [uploads, "uploads"], [cacheExports, "cache-exports"]];
        const logs = logsBucket(`${name}-logs`, region, logged.map(([b]) => b.bucketArn), true, parent);
        for (const [bucket, purpose] of logged) bucket.logAccessTo(logs, purpose);

        this.backupsBucketName = backups.bucketName;
        this.backupsBucketArn = backups.bucketArn;
        this.uploadsBucketName = uploads.bucketName;
        this.uploadsBucketArn = uploads.bucketArn;
        this.cacheExportsBucketName = cacheExports.bucketName;
        this.cacheExportsBucketArn = cacheExports.bucketArn;
        this.logsBucketName = logs.bucketName;
        this.logsBucketArn = logs.bucketArn;
        this.logsBucketPolicy = logs.policy;

        if (args.replica) {
            const replica = args.replica;
            const drOpts = { parent: this, provider: replica.provider };
            // Lifecycle expirations are not replicated: the replicas carry the same rules.
            const replicaBackups = new SecureBucket(`${name}-dr-backups`, {
                kmsKeyArn: replica.kmsKeyArn,
                lifecycleRules: backupRules(),
                noncurrentVersionDays: r.noncurrentVersionDays,
                lifecycle: args.lifecycle,
            }, drOpts);
            const replicaUploads = new SecureBucket(`${name}-dr-uploads`, {
                kmsKeyArn: replica.kmsKeyArn,
                lifecycleRules: [],
                noncurrentVersionDays: r.noncurrentVersionDays,
                lifecycle: args.lifecycle,
            }, drOpts);
            const replicaCacheExports = exportsBucket(`${name}-dr-cache-exports`, replica.region, drOpts);
            // Server access logs go to a bucket of the same region: the DR region's own logs bucket.
            const replicaLogged: [SecureBucket, string][] = [[replicaBackups, "backups"], [replicaUploads, "uploads"], [replicaCacheExports, "cache-exports"]];
            const replicaLogs = logsBucket(`${name}-dr-logs`, pulumi.output(replica.region), replicaLogged.map(([b]) => b.bucketArn), false, drOpts);
            for (const [bucket, purpose] of replicaLogged) bucket.logAccessTo(replicaLogs, purpose);

            this.replicaBackupsBucketName = replicaBackups.bucketName;
            this.replicaBackupsBucketArn = replicaBackups.bucketArn;
            this.replicaUploadsBucketName = replicaUploads.bucketName;
            this.replicaUploadsBucketArn = replicaUploads.bucketArn;
            this.replicaCacheExportsBucketName = replicaCacheExports.bucketName;
            this.replicaCacheExportsBucketArn = replicaCacheExports.bucketArn;
            this.replicaLogsBucketName = replicaLogs.bucketName;

            // Primary → DR region: the copies that exist when the primary region is lost.
            const primarySide = { region, kmsKeyArn: args.kmsKeyArn, opts: parent };
            const drSide = { region: pulumi.output(replica.region), kmsKeyArn: replica.kmsKeyArn, opts: drOpts };
            replicateBuckets(`${name}`, primarySide, drSide, [
                // A backup deleted here (by mistake or by an attacker) stays in the DR region.
                { ruleId: REPLICATION_RULE_IDS.backups, source: backups, destination: replicaBackups, replicateDeletes: false },
                { ruleId: REPLICATION_RULE_IDS.uploads, source: uploads, destination: replicaUploads, replicateDeletes: true },
                // The DR cache is seeded from these (SSE-S3 stays SSE-S3: no replica key).
                { ruleId: REPLICATION_RULE_IDS.cacheExports, source: cacheExports, destination: replicaCacheExports, replicateDeletes: false },
            ]);
            // DR region → primary: what an active DR site writes (uploads, dumps, Redis exports) flows back
            // for failback. Replicas are never re-replicated, so the two directions do not loop; objects
            // that fail while the primary region is down are marked FAILED and re-sent by S3 Batch
            // Replication during failback (docs/operations.md: Failback).
            replicateBuckets(`${name}-dr`, drSide, primarySide, [
                { ruleId: REPLICATION_RULE_IDS.failbackBackups, source: replicaBackups, destination: backups, replicateDeletes: false },
                { ruleId: REPLICATION_RULE_IDS.failbackUploads, source: replicaUploads, destination: uploads, replicateDeletes: true },
                { ruleId: REPLICATION_RULE_IDS.failbackCacheExports, source: replicaCacheExports, destination: cacheExports, replicateDeletes: false },
            ]);
        }

        this.registerOutputs({
            backupsBucketName: this.backupsBucketName,
            uploadsBucketName: this.uploadsBucketName,
            cacheExportsBucketName: this.cacheExportsBucketName,
            logsBucketName: this.logsBucketName,
            replicaBackupsBucketName: this.replicaBackupsBucketName,
            replicaUploadsBucketName: this.replicaUploadsBucketName,
            replicaCacheExportsBucketName: this.replicaCacheExportsBucketName,
            replicaLogsBucketName: this.replicaLogsBucketName,
        });
    }
}

/** One side of a cross-region replication: its region, its key, and the options (provider) of its resources. */
interface ReplicationSide {
    region: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
    opts: pulumi.CustomResourceOptions;
}

/** A bucket pair to replicate, with the rule's id and whether deletions follow. */
interface ReplicatedPair {
    ruleId: string;
    source: SecureBucket;
    destination: SecureBucket;
    replicateDeletes: boolean;
}

/**
 * Replicates bucket pairs from one region to the other with Replication Time Control (15 minutes,
 * with metrics): one role per direction that can read the sources and write the destinations,
 * with each side's key only through S3 of that side's region, and nothing else. SSE-KMS pairs are
 * re-encrypted with the destination region's key; SSE-S3 pairs stay SSE-S3.
 */
function replicateBuckets(name: string, from: ReplicationSide, to: ReplicationSide, pairs: ReplicatedPair[]): void {
    const kmsPairs = pairs.filter((p) => p.source.encryption === "kms");
    const role = new aws.iam.Role(`${name}-replication`, {
        assumeRolePolicy: serviceTrustPolicy("s3.amazonaws.com"),
    }, from.opts);
    new aws.iam.RolePolicy(`${name}-replication`, {
        role: role.id,
        policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: pairs.map((p) => p.source.bucketArn) },
                {
                    Effect: "Allow",
                    Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                    Resource: pairs.map((p) => pulumi.interpolate`${p.source.bucketArn}/*`),
                },
                {
                    Effect: "Allow",
                    Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    Resource: pairs.map((p) => pulumi.interpolate`${p.destination.bucketArn}/*`),
                },
                ...(kmsPairs.length === 0
                    ? []
                    : [
                        {
                            Effect: "Allow",
                            Action: "kms:Decrypt",
                            Resource: from.kmsKeyArn,
                            Condition: { StringLike: { "kms:ViaService": pulumi.interpolate`s3.${from.region}.amazonaws.com` } },
                        },
                        {
                            Effect: "Allow",
                            Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                            Resource: to.kmsKeyArn,
                            Condition: { StringLike: { "kms:ViaService": pulumi.interpolate`s3.${to.region}.amazonaws.com` } },
                        },
                    ]),
            ],
        }),
    }, from.opts);
    for (const pair of pairs) {
        const purpose = pair.ruleId.replace(/-to-(dr|primary)-region$/, ""); // "backups", "uploads", "cache-exports"
        const kms = pair.source.encryption === "kms";
        new aws.s3.BucketReplicationConfig(`${name}-${purpose.split("-")[0]}-replication`, {
            bucket: pair.source.bucketName,
            role: role.arn,
            rules: [{
                id: pair.ruleId,
                status: "Enabled",
                priority: 1,
                filter: {},
                deleteMarkerReplication: { status: pair.replicateDeletes ? "Enabled" : "Disabled" },
                ...(kms ? { sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } } } : {}),
                destination: {
                    bucket: pair.destination.bucketArn,
                    ...(kms ? { encryptionConfiguration: { replicaKmsKeyId: to.kmsKeyArn } } : {}),
                    replicationTime: { status: "Enabled", time: { minutes: REPLICATION_TIME_MINUTES } },
                    metrics: { status: "Enabled", eventThreshold: { minutes: REPLICATION_TIME_MINUTES } },
                },
            }],
        }, { ...from.opts, dependsOn: [pair.source.versioning, pair.destination.versioning] });
    }
}
