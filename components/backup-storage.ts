import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Key prefixes of the backups bucket: the logical dumps (daily and weekly) and the Redis RDB exports. */
export const BACKUP_PREFIXES = { dbDaily: "db/daily/", dbWeekly: "db/weekly/", redis: "redis/" } as const;
/** Prefix under which the ALB writes its access logs in the logs bucket (the serving path sets it). */
export const ALB_LOGS_PREFIX = "alb";
/** S3 Replication Time Control: 15 minutes is the only value S3 offers (99.99% of objects within it). */
export const REPLICATION_TIME_MINUTES = 15;
/** Replication rule ids: the uploads rule has Replication Time Control and metrics (the monitoring alarms read them). */
export const REPLICATION_RULE_IDS = {
    backups: "backups-to-dr-region",
    uploads: "uploads-to-dr-region",
    failbackBackups: "backups-to-primary-region",
    failbackUploads: "uploads-to-primary-region",
} as const;
/** Days after which an incomplete multipart upload is aborted (and its parts deleted). */
export const ABORT_MULTIPART_AFTER_DAYS = 7;
/** Storage class weekly dumps move to before they expire: instant retrieval, for restores on demand. */
export const COLD_STORAGE_CLASS = "GLACIER_IR";

/**
 * Elastic Load Balancing's account per region, for the regions opened before August 2022 (their ALBs
 * write access logs as this account); newer regions use the log delivery service principal.
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
    /** Lifecycle rules besides the housekeeping one every bucket gets. */
    lifecycleRules: LifecycleRule[];
    /** Days a replaced or deleted object version stays recoverable. */
    noncurrentVersionDays: number;
    /** Policy statements besides the TLS-only denial, given the bucket's ARN. */
    extraStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Input<Record<string, unknown>>[];
    protect: boolean;
}

/**
 * An S3 bucket as this program keeps data: versioned, encrypted, every kind of public access blocked,
 * a policy that denies any request not made over TLS, lifecycle rules (plus housekeeping: old versions
 * expire, incomplete multipart uploads are aborted, orphaned delete markers are removed), protected
 * and retained on delete.
 */
export class SecureBucket extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
    /** The versioning resource: replication must wait for it. */
    readonly versioning: aws.s3.BucketVersioning;

    constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:storage:SecureBucket", name, {}, opts);
        const parent = { parent: this };
        const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false }, { parent: this, protect: args.protect, retainOnDelete: true });
        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;

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
        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(`${name}-public-access-block`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, parent);
        new aws.s3.BucketPolicy(`${name}-policy`, {
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
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: [
                ...args.lifecycleRules,
                {
                    id: "housekeeping",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_AFTER_DAYS },
                    expiration: { expiredObjectDeleteMarker: true },
                },
            ],
        }, { parent: this, dependsOn: [this.versioning] });

        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}

export interface BackupRetention {
    /** `db/daily/` dumps: days kept (the plan's 30). */
    dailyDays: number;
    /** `db/weekly/` dumps: days kept (the plan's 12 months). */
    weeklyDays: number;
    /** `db/weekly/` dumps move to {@link COLD_STORAGE_CLASS} after this many days. */
    weeklyColdAfterDays: number;
    /** `redis/` RDB exports: days kept (the plan's 7). */
    redisDays: number;
    /** ALB access logs: days kept (the plan's 90). */
    logDays: number;
    /** Days a replaced or deleted version of a backup or an upload stays recoverable. */
    noncurrentVersionDays: number;
}

export interface BackupStorageArgs {
    /** The site region's customer-managed KMS key. */
    kmsKeyArn: pulumi.Input<string>;
    retention: BackupRetention;
    /**
     * "all": the backups, uploads and logs buckets (a primary site); "logs": only the ALB access-log
     * bucket (a site whose backups and uploads live in another stack's replica buckets).
     */
    buckets: "all" | "logs";
    /**
     * The replication target region (the DR landing zone): its provider, its name and its KMS key.
     * The backups and uploads buckets get replica buckets there. Only with `buckets: "all"`.
     */
    replica?: { provider: aws.Provider; region: string; kmsKeyArn: pulumi.Input<string> };
    protect: boolean;
}

/**
 * The site's object storage (the plan's "Location: ... cloud storage (AWS S3)", "User uploads:
 * Real-time replication to secondary storage", "Logs: ... 90-day retention"):
 * - backups: `db/daily/` expires after the daily retention, `db/weekly/` moves to a colder class then
 *   expires after the weekly retention, `redis/` after the Redis retention; replicated to a replica
 *   bucket in the DR region within 15 minutes (Replication Time Control; deletions are not
 *   replicated: a backup deleted here survives there);
 * - uploads: replicated to the DR region in real time (Replication Time Control, 15 minutes, with
 *   metrics), delete markers replicated;
 * - logs: the ALB access logs, expired after the log retention. ALB access logs can only be written
 *   to SSE-S3 buckets (Elastic Load Balancing does not support SSE-KMS), so this one bucket uses
 *   S3-managed keys; everything else here uses the region's customer-managed key.
 */
export class BackupStorage extends pulumi.ComponentResource {
    readonly backupsBucketName?: pulumi.Output<string>;
    readonly backupsBucketArn?: pulumi.Output<string>;
    readonly uploadsBucketName?: pulumi.Output<string>;
    readonly uploadsBucketArn?: pulumi.Output<string>;
    readonly logsBucketName: pulumi.Output<string>;
    readonly logsBucketArn: pulumi.Output<string>;
    readonly replicaBackupsBucketName?: pulumi.Output<string>;
    readonly replicaBackupsBucketArn?: pulumi.Output<string>;
    readonly replicaUploadsBucketName?: pulumi.Output<string>;
    readonly replicaUploadsBucketArn?: pulumi.Output<string>;

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

        // Logs: the ALB writes under alb/AWSLogs/<account>/, as the ELB account of the older regions
        // or the log delivery service of the newer ones.
        const logs = new SecureBucket(`${name}-logs`, {
            lifecycleRules: [{ id: "logs", status: "Enabled", filter: {}, expiration: { days: r.logDays } }],
            noncurrentVersionDays: 1,
            extraStatements: (arn) => [
                {
                    Sid: "AlbAccessLogDelivery",
                    Effect: "Allow",
                    Principal: region.apply((rn) =>
                        ELB_ACCOUNT_BY_REGION[rn]
                            ? { AWS: `arn:aws:iam::${ELB_ACCOUNT_BY_REGION[rn]}:root` }
                            : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
                    ),
                    Action: "s3:PutObject",
                    Resource: pulumi.interpolate`${arn}/${ALB_LOGS_PREFIX}/AWSLogs/${identity.accountId}/*`,
                },
            ],
            protect: args.protect,
        }, parent);
        this.logsBucketName = logs.bucketName;
        this.logsBucketArn = logs.bucketArn;

        if (args.buckets === "logs") {
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
        const backups = new SecureBucket(`${name}-backups`, {
            kmsKeyArn: args.kmsKeyArn,
            lifecycleRules: backupRules(),
            noncurrentVersionDays: r.noncurrentVersionDays,
            protect: args.protect,
        }, parent);
        const uploads = new SecureBucket(`${name}-uploads`, {
            kmsKeyArn: args.kmsKeyArn,
            lifecycleRules: [],
            noncurrentVersionDays: r.noncurrentVersionDays,
            protect: args.protect,
        }, parent);
        this.backupsBucketName = backups.bucketName;
        this.backupsBucketArn = backups.bucketArn;
        this.uploadsBucketName = uploads.bucketName;
        this.uploadsBucketArn = uploads.bucketArn;

        if (args.replica) {
            const replica = args.replica;
            const drOpts = { parent: this, provider: replica.provider };
            // Lifecycle expirations are not replicated: the replicas carry the same rules.
            const replicaBackups = new SecureBucket(`${name}-dr-backups`, {
                kmsKeyArn: replica.kmsKeyArn,
                lifecycleRules: backupRules(),
                noncurrentVersionDays: r.noncurrentVersionDays,
                protect: args.protect,
            }, drOpts);
            const replicaUploads = new SecureBucket(`${name}-dr-uploads`, {
                kmsKeyArn: replica.kmsKeyArn,
                lifecycleRules: [],
                noncurrentVersionDays: r.noncurrentVersionDays,
                protect: args.protect,
            }, drOpts);
            this.replicaBackupsBucketName = replicaBackups.bucketName;
            this.replicaBackupsBucketArn = replicaBackups.bucketArn;
            this.replicaUploadsBucketName = replicaUploads.bucketName;
            this.replicaUploadsBucketArn = replicaUploads.bucketArn;

            // Primary → DR region: the copies that exist when the primary region is lost.
            const primarySide = { region, kmsKeyArn: args.kmsKeyArn, opts: parent };
            const drSide = { region: pulumi.output(replica.region), kmsKeyArn: replica.kmsKeyArn, opts: drOpts };
            replicateBuckets(`${name}`, primarySide, drSide, [
                // A backup deleted here (by mistake or by an attacker) stays in the DR region.
                { ruleId: REPLICATION_RULE_IDS.backups, source: backups, destination: replicaBackups, replicateDeletes: false },
                { ruleId: REPLICATION_RULE_IDS.uploads, source: uploads, destination: replicaUploads, replicateDeletes: true },
            ]);
            // DR region → primary: what an active DR site writes (uploads, dumps, Redis exports) flows back
            // for failback. Replicas are never re-replicated, so the two directions do not loop; objects
            // that fail while the primary region is down are marked FAILED and re-sent by S3 Batch
            // Replication during failback (README).
            replicateBuckets(`${name}-dr`, drSide, primarySide, [
                { ruleId: REPLICATION_RULE_IDS.failbackBackups, source: replicaBackups, destination: backups, replicateDeletes: false },
                { ruleId: REPLICATION_RULE_IDS.failbackUploads, source: replicaUploads, destination: uploads, replicateDeletes: true },
            ]);
        }

        this.registerOutputs({
            backupsBucketName: this.backupsBucketName,
            uploadsBucketName: this.uploadsBucketName,
            logsBucketName: this.logsBucketName,
            replicaBackupsBucketName: this.replicaBackupsBucketName,
            replicaUploadsBucketName: this.replicaUploadsBucketName,
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
 * with each side's key only through S3 of that side's region, and nothing else.
 */
function replicateBuckets(name: string, from: ReplicationSide, to: ReplicationSide, pairs: ReplicatedPair[]): void {
    const role = new aws.iam.Role(`${name}-replication`, {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
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
            ],
        }),
    }, from.opts);
    for (const pair of pairs) {
        const purpose = pair.ruleId.split("-")[0]; // "backups" or "uploads"
        new aws.s3.BucketReplicationConfig(`${name}-${purpose}-replication`, {
            bucket: pair.source.bucketName,
            role: role.arn,
            rules: [{
                id: pair.ruleId,
                status: "Enabled",
                priority: 1,
                filter: {},
                deleteMarkerReplication: { status: pair.replicateDeletes ? "Enabled" : "Disabled" },
                sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
                destination: {
                    bucket: pair.destination.bucketArn,
                    encryptionConfiguration: { replicaKmsKeyId: to.kmsKeyArn },
                    replicationTime: { status: "Enabled", time: { minutes: REPLICATION_TIME_MINUTES } },
                    metrics: { status: "Enabled", eventThreshold: { minutes: REPLICATION_TIME_MINUTES } },
                },
            }],
        }, { ...from.opts, dependsOn: [pair.source.versioning, pair.destination.versioning] });
    }
}
