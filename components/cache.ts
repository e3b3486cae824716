import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StatefulLifecycle } from "./lifecycle";
import { PORTS } from "./security-groups";

export interface CacheArgs {
    nodeType: string;
    /** Redis OSS engine version. */
    engineVersion?: string;
    /** Nodes: one primary and the rest replicas, spread over `availabilityZones` (at least 2). */
    nodeCount: number;
    /** Zones to place the nodes in, in order (the network's zones). */
    availabilityZones: pulumi.Input<string>[];
    /** The isolated data subnets. */
    subnetIds: pulumi.Input<string>[];
    /** The cache tier's security group (admits the app group only). */
    securityGroupId: pulumi.Input<string>;
    /** The region's customer-managed key (encryption at rest, slow log group). */
    kmsKeyArn: pulumi.Input<string>;
    /** Secrets Manager name of the cache's AUTH token, e.g. "genie/primary/redis-auth". */
    authSecretName: string;
    /** Days ElastiCache keeps its daily automatic snapshot (the plan's Redis retention). */
    snapshotRetentionDays: number;
    /** Days the slow log is kept. */
    logRetentionDays: number;
    /**
     * Seed the cache from an RDB file in S3 when it is created; empty otherwise. The file must be one
     * ElastiCache of this region can read: in the Redis exports bucket of this region
     * (`arn:aws:s3:::<storage>-redis-<account>-<region>/genie-scheduled-...-export-0001.rdb`), SSE-S3
     * ("You can encrypt a ... .rdb file with Amazon S3 server-side encryption (SSE-S3) only"), with the
     * bucket policy for `<region>.elasticache-snapshot.amazonaws.com` (components/backup-storage.ts).
     */
    seedRdbArn?: string;
    /** How the cache and its AUTH secret end (components/lifecycle.ts). */
    lifecycle: StatefulLifecycle;
}

/** The daily automatic snapshot's window (UTC); the 12-hourly job runs outside it. */
export const AUTOMATIC_SNAPSHOT_WINDOW = "03:00-04:00";

/**
 * The site's Redis: an ElastiCache replication group with a primary and replicas in different
 * zones, automatic failover and Multi-AZ, encrypted at rest with the region's key and in transit
 * (TLS, AUTH token), reachable only from the app group, with a daily automatic snapshot kept for the
 * plan's retention. The second daily snapshot (the plan's 12 hours) is {@link CacheSnapshots}' job.
 *
 * The AUTH token is generated here and kept in Secrets Manager (the region's key) for the app: each
 * site's cache is a separate cluster with its own token, so unlike the database credentials it is
 * not a replica of the primary's secret. It only travels as a Pulumi secret.
 */
export class Cache extends pulumi.ComponentResource {
    readonly replicationGroupId: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    readonly primaryEndpoint: pulumi.Output<string>;
    readonly readerEndpoint: pulumi.Output<string>;
    readonly authSecretArn: pulumi.Output<string>;

    constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:cache:Cache", name, {}, opts);
        if (args.nodeCount < 2) throw new Error(`Cache ${name}: nodeCount must be at least 2 (a primary and a replica), got ${args.nodeCount}`);
        const parent = { parent: this };

        const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-subnets`, {
            subnetIds: args.subnetIds,
            description: `Genie cache ${name}: isolated data subnets`,
        }, parent);
        const slowLog = new aws.cloudwatch.LogGroup(`${name}-slow-log`, {
            name: `/genie/${name}/redis-slow-log`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);

        // ElastiCache AUTH tokens: 16-128 printable characters, no '@', '"' or '/'.
        const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: true, overrideSpecial: "!&#$^<>-" }, parent);
        const authSecret = new aws.secretsmanager.Secret(`${name}-auth`, {
            name: args.authSecretName,
            description: "Genie AI Server: Redis AUTH token",
            kmsKeyId: args.kmsKeyArn,
            recoveryWindowInDays: args.lifecycle.secretRecoveryWindowDays,
        }, { parent: this, protect: args.lifecycle.protect });
        new aws.secretsmanager.SecretVersion(`${name}-auth`, { secretId: authSecret.id, secretString: token.result }, parent);
        this.authSecretArn = authSecret.arn;

        const engineVersion = args.engineVersion ?? "7.1";
        const finalSnapshotSuffix = args.lifecycle.finalSnapshot ? new random.RandomId(`${name}-final-snapshot-suffix`, {
            byteLength: 4,
            // What replaces the group (terraform-provider-aws internal/service/elasticache/replication_group.go:
            // ForceNew subnet group, port, at-rest encryption and key, snapshot ARNs; an engine downgrade).
            keepers: { replicationGroupId: name, kmsKeyId: args.kmsKeyArn, seed: args.seedRdbArn ?? "", subnetGroupName: subnetGroup.name, port: String(PORTS.redis), engineVersion },
        }, { parent: this }) : undefined;
        const group = new aws.elasticache.ReplicationGroup(`${name}-redis`, {
            replicationGroupId: name,
            description: `Genie AI Server Redis (${name})`,
            engine: "redis",
            engineVersion,
            nodeType: args.nodeType,
            port: PORTS.redis,
            numCacheClusters: args.nodeCount,
            preferredCacheClusterAzs: Array.from({ length: args.nodeCount }, (_, i) => args.availabilityZones[i % args.availabilityZones.length]),
            automaticFailoverEnabled: true,
            multiAzEnabled: true,
            subnetGroupName: subnetGroup.name,
            securityGroupIds: [args.securityGroupId],
            atRestEncryptionEnabled: true,
            kmsKeyId: args.kmsKeyArn,
            transitEncryptionEnabled: true,
            authToken: token.result,
            snapshotRetentionLimit: args.snapshotRetentionDays,
            snapshotWindow: AUTOMATIC_SNAPSHOT_WINDOW,
            maintenanceWindow: "sun:05:00-sun:06:00",
            // A name per incarnation: DeleteReplicationGroup fails when a snapshot of the final snapshot's
            // name exists (SnapshotAlreadyExistsFault, ElastiCache API reference), and manual snapshots never
            // expire, so a fixed "<name>-final" made the delete of any later group of the same name fail. The
            // suffix is drawn again when the inputs that replace the group change (see its keepers).
            // None on an ephemeral stack (components/lifecycle.ts): its delete leaves nothing.
            finalSnapshotIdentifier: finalSnapshotSuffix ? pulumi.interpolate`${name}-final-${finalSnapshotSuffix.hex}` : undefined,
            autoMinorVersionUpgrade: true,
            applyImmediately: true,
            snapshotArns: args.seedRdbArn ? [args.seedRdbArn] : undefined,
            logDeliveryConfigurations: [{
                destination: slowLog.name,
                destinationType: "cloudwatch-logs",
                logFormat: "json",
                logType: "slow-log",
            }],
        }, { parent: this, protect: args.lifecycle.protect });

        this.replicationGroupId = group.replicationGroupId;
        this.arn = group.arn;
        this.primaryEndpoint = group.primaryEndpointAddress;
        this.readerEndpoint = group.readerEndpointAddress;
        this.registerOutputs({ replicationGroupId: this.replicationGroupId, primaryEndpoint: this.primaryEndpoint });
    }
}
