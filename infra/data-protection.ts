import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupStorage, cacheExportsBucketName } from "../components/backup-storage";
import { BACKUP_SELECTION_TAG_KEY, BackupPlan, BackupVault, backupSelectionRole, backupSelectionTagValue, PrebuiltRole } from "../components/backup-plan";
import { SiteKey } from "../components/keys";
import { APP_REPOSITORY_NAME, AppRegistry, replicatedRepository } from "../components/registry";
import { RestoreTesting, restoreTestingRole } from "../components/restore-testing";
import { SiteSecrets } from "../components/secrets";
import { StackConfig } from "./config";
import { DR_PLAN } from "./dr-plan";
import { ProductionOutputs } from "./production-outputs";
import { StackProviders } from "./providers";

/** Days of recovery points the weekly restore test picks the newest from. */
export const WEEKLY_RESTORE_WINDOW_DAYS = 7;

/** The Secrets Manager names of a site's secrets; the replicas in the DR region carry the same names. */
export function secretNamePrefix(siteName: string): string {
    return `genie/${siteName}`;
}

/** The tag the database must carry to be backed up by the site's plan (the database section sets it). */
export function backupSelectionTag(siteName: string): { key: string; value: string } {
    return { key: BACKUP_SELECTION_TAG_KEY, value: backupSelectionTagValue(siteName) };
}

/** What the sections after data protection use. Fields only the primary site has are optional. */
export interface DataProtection {
    /** The site region's customer-managed KMS key: every encrypted resource of the site uses it. */
    kmsKeyArn: pulumi.Output<string>;
    /** Tags that put a resource (the database) under the site's backup plan. */
    backupTags: Record<string, string>;
    /** The database master credentials: the password as a secret Output, the secret holding both. */
    dbMaster?: { username: string; password: pulumi.Output<string>; secretArn: pulumi.Output<string> };
    appEnvSecretArn?: pulumi.Output<string>;
    /** Names of the secrets the site reads in its region (a replica on the DR site). */
    secretNames: { dbMaster: pulumi.Input<string>; appEnv: pulumi.Input<string> };
    backupsBucketName?: pulumi.Output<string>;
    backupsBucketArn?: pulumi.Output<string>;
    uploadsBucketName?: pulumi.Output<string>;
    uploadsBucketArn?: pulumi.Output<string>;
    logsBucketName: pulumi.Output<string>;
    /** The logs bucket's policy: the ALB is created after it (ELB checks the bucket when access logs are turned on). */
    logsBucketPolicy: pulumi.Resource;
    /**
     * The bucket the site's Redis exports go to (same region, SSE-S3, ElastiCache's bucket policy):
     * the primary's own, or on an active DR site the landing zone's one in its region.
     */
    cacheExportsBucketName?: pulumi.Output<string>;
    cacheExportsBucketArn?: pulumi.Output<string>;
    repositoryName: pulumi.Output<string>;
    repositoryUrl: pulumi.Output<string>;
    /**
     * Where the site serves (primary, active DR): the AWS Backup of its database. Its plan has a
     * continuous-backup rule selecting the database, so AWS Backup owns the instance's backup window
     * and retention; `defineRestoreTesting` tests restores from `vaultArn`.
     */
    databaseBackups?: { vaultArn: pulumi.Output<string>; continuous: true };
    /**
     * The AWS Backup vaults this stack owns, by the region they are in: the site's (where it serves)
     * and, on the primary site, the landing zone's in the DR region. Their notifications go to an alert
     * topic of that region (the monitoring section: {@link BackupVault.sendAlertsTo}).
     */
    vaults: { site?: BackupVault; drLandingZone?: BackupVault };
    /**
     * A DR site's IAM roles declared in every role (standby or active) with the same inputs, so that a
     * failover run creates no IAM resource (IAM's control plane is in us-east-1): its backup plan's
     * selection role, its restore tests' role (drills on), and the Redis exports bucket its snapshot
     * job's role names (the landing zone's, whose name is fixed). infra/stack.ts adds the snapshot
     * job's and the drills' roles.
     */
    drSiteRoles?: {
        backup: PrebuiltRole;
        restoreTesting?: PrebuiltRole;
        cacheExportsBucketArn: pulumi.Output<string>;
        /** The landing zone's backups bucket by ARN pattern and owning account (the app instances' policy). */
        backupsBucket: { arnPatterns: string[]; account: pulumi.Output<string> };
    };
    /** The stack outputs of this section. */
    outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * The data protection section of a stack (the plan's "Backup Strategy"): keys and secrets, backup
 * storage, AWS Backup with Vault Lock (the restore tests, which restore into the database's subnet group,
 * are {@link defineRestoreTesting}'s), the registry, and, on the primary site, the
 * recovery landing zone in the DR region (key, vault, replica buckets, ECR replication, secret replicas).
 */
export function defineDataProtection(config: StackConfig, providers: StackProviders, site: string, production?: ProductionOutputs): DataProtection {
    const siteOpts = { provider: providers.site };
    const b = config.backup;
    const key = new SiteKey(`${site}-key`, { purpose: `the ${config.siteName} site (${config.siteRegion})`, lifecycle: config.lifecycle }, siteOpts);
    const retention = {
        dailyDays: b.dailyRetentionDays,
        weeklyDays: b.weeklyRetentionDays,
        // A weekly dump leaves the daily window, then waits in a colder class until it expires.
        weeklyColdAfterDays: b.dailyRetentionDays,
        redisDays: b.redisSnapshotRetentionDays,
        logDays: b.logRetentionDays,
        // A deleted or overwritten backup or upload stays recoverable as long as a daily backup is kept.
        noncurrentVersionDays: b.dailyRetentionDays,
    };
    const lock = vaultLock(config);
    const tag = backupSelectionTag(config.siteName);

    if (config.siteRole !== "primary" || !providers.drLandingZone) {
        // A DR site: its own key and ALB log bucket in its region. Its backups, uploads, vault, image
        // and secrets are the production stack's replicas in this region (the landing zone), which
        // exist whether or not the production state can be read; they are found by name.
        const storage = new BackupStorage(`${site}-storage`, { kmsKeyArn: key.keyArn, retention, buckets: "logs", lifecycle: config.lifecycle }, siteOpts);
        const repository = replicatedRepository(config.siteRegion, siteOpts);
        const primaryPrefix = secretNamePrefix("primary");
        const secretNames = { dbMaster: `${primaryPrefix}/db-master`, appEnv: `${primaryPrefix}/app-env` };
        // The IAM roles of what the site runs once active (its backup plan, its restore tests), declared
        // in every role with the same inputs: IAM's control plane is in us-east-1, so a failover run
        // (standby -> active) must create or change no IAM resource (AWS Fault Isolation Boundaries,
        // "Global services"). Neither names anything that exists only when active.
        const backupRole = backupSelectionRole(`${site}-backup`, siteOpts);
        const restoreTestingRoleOfSite = config.drillsEnabled ? restoreTestingRole(`${site}-restore-testing`, siteOpts) : undefined;
        // The landing zone's Redis exports bucket in this region has a fixed name (account and
        // region): found without the production state. The active site's snapshot job exports there.
        const primaryStorage = `${site.slice(0, site.length - config.siteName.length)}primary-storage`;
        const account = aws.getCallerIdentityOutput({}, siteOpts).accountId;
        const cacheExportsBucket = account.apply((a) => cacheExportsBucketName(primaryStorage, a, config.siteRegion));
        // The site's own locked vault exists in every role: while active it receives the site's backups,
        // and returning to standby must keep them (a protected vault that left the program would stop
        // that pulumi up, and an unprotected one would take its recovery points with it). Empty while
        // the site has never served; its notifications reach the site's alert topics in every role.
        const vault = siteVault(config, site, key.keyArn, siteOpts);
        const dataProtection = {
            kmsKeyArn: key.keyArn,
            backupTags: { [tag.key]: tag.value },
            secretNames,
            logsBucketName: storage.logsBucketName,
            logsBucketPolicy: storage.logsBucketPolicy,
            repositoryName: repository.repositoryName,
            repositoryUrl: repository.repositoryUrl,
            vaults: { site: vault },
            drSiteRoles: {
                backup: backupRole,
                restoreTesting: restoreTestingRoleOfSite,
                cacheExportsBucketArn: pulumi.interpolate`arn:aws:s3:::${cacheExportsBucket}`,
                // The landing zone's backups bucket here is the production stack's SecureBucket
                // `<primary>-storage-dr-backups` (components/backup-storage.ts), whose S3 bucket Pulumi
                // auto-names from `<primary>-storage-dr-backups-bucket` plus a random suffix: its exact name
                // is in the production state only (config drBackupsBucketName), which a standby must not
                // need. The app instances' policy names it by its name and by its name plus Pulumi's
                // 7-character suffix (`?` matches one character; a `*` would also match "/", and so keys
                // outside the allowed prefixes: IAM user guide, Resource element), in this account only.
                backupsBucket: { arnPatterns: [`arn:aws:s3:::${primaryStorage}-dr-backups-bucket`, `arn:aws:s3:::${primaryStorage}-dr-backups-bucket-???????`], account },
            },
            outputs: {
                kmsKeyArn: key.keyArn,
                logsBucketName: storage.logsBucketName,
                ecrRepositoryName: repository.repositoryName,
                ecrRepositoryUrl: repository.repositoryUrl,
                dbMasterSecretName: secretNames.dbMaster,
                appEnvSecretName: secretNames.appEnv,
            } as Record<string, pulumi.Input<unknown>>,
        };
        if (config.siteRole !== "active" || !production) return dataProtection;

        // An active DR site serves production: it backs its database up as the primary does, into a
        // locked vault of its own, copying every recovery point to the primary region's vault (those
        // copies fail, and alarm, while that region is down; they resume when it is back), tests its
        // restores, and exports its Redis snapshots into the landing zone's backups bucket here.
        const plan = siteBackupPlan(config, site, vault, production.get("backupVaultArn"), siteOpts, backupRole);
        // The app instances' policy names this bucket by its name prefix (drSiteRoles.backupsBucket): a
        // bucket outside it would be refused to the scheduled dump, so refuse it here, at the plan.
        const backupsBucketPrefix = `${primaryStorage}-dr-backups-bucket`;
        const backupsBucketName = production.get("drBackupsBucketName").apply((n) => {
            if (n !== backupsBucketPrefix && !new RegExp(`^${backupsBucketPrefix}-[a-z0-9]{7}$`).test(n)) {
                throw new Error(`drBackupsBucketName ${JSON.stringify(n)} is not ${backupsBucketPrefix} or ${backupsBucketPrefix}-<7 characters> (Pulumi's auto-name), the names the app instances' policy allows (infra/data-protection.ts)`);
            }
            return n;
        });
        return {
            ...dataProtection,
            backupsBucketName,
            backupsBucketArn: pulumi.interpolate`arn:aws:s3:::${backupsBucketName}`,
            cacheExportsBucketName: cacheExportsBucket,
            cacheExportsBucketArn: pulumi.interpolate`arn:aws:s3:::${cacheExportsBucket}`,
            databaseBackups: { vaultArn: vault.vaultArn, continuous: true },
            vaults: { site: vault },
            outputs: {
                ...dataProtection.outputs,
                backupsBucketName,
                cacheExportsBucketName: cacheExportsBucket,
                backupVaultName: vault.vaultName,
                backupVaultArn: vault.vaultArn,
                backupPlanId: plan.planId,
            },
        };
    }

    // The primary site, and the landing zone it keeps in the DR region.
    const drOpts = { provider: providers.drLandingZone };
    const drKey = new SiteKey(`${site}-dr-key`, { purpose: `the recovery landing zone (${config.drRegion})`, lifecycle: config.lifecycle }, drOpts);
    const replica = { provider: providers.drLandingZone, region: config.drRegion, kmsKeyArn: drKey.keyArn };

    const secrets = new SiteSecrets(`${site}-secrets`, {
        namePrefix: secretNamePrefix(config.nameLabel),
        kmsKeyArn: key.keyArn,
        replica: { region: config.drRegion, kmsKeyArn: drKey.keyArn },
        lifecycle: config.lifecycle,
    }, siteOpts);
    const storage = new BackupStorage(`${site}-storage`, { kmsKeyArn: key.keyArn, retention, buckets: "all", replica, lifecycle: config.lifecycle }, siteOpts);

    const drVault = new BackupVault(`${site}-dr-backup-vault`, { kmsKeyArn: drKey.keyArn, lock, lifecycle: config.lifecycle }, drOpts);
    const vault = siteVault(config, site, key.keyArn, siteOpts);
    const plan = siteBackupPlan(config, site, vault, drVault.vaultArn, siteOpts);
    const registry = new AppRegistry(`${site}-registry`, {
        kmsKeyArn: key.keyArn,
        imagesKept: b.imageVersionsKept,
        replica,
        // An ephemeral stack's repository is `<site>/genie-ai-server`, under a creation template of its own
        // prefix: a fixed name (and the registry's ROOT template) would collide with another stack's.
        ...(config.ephemeral ? { repositoryName: `${site}/${APP_REPOSITORY_NAME}`, creationTemplatePrefix: site } : {}),
        lifecycle: config.lifecycle,
    }, siteOpts);

    // Secret replicas keep the primary's name and ARN, in the DR region.
    const inDr = (arn: pulumi.Output<string>) => arn.apply((a) => a.replace(`:${config.siteRegion}:`, `:${config.drRegion}:`));
    return {
        kmsKeyArn: key.keyArn,
        backupTags: { [tag.key]: tag.value },
        dbMaster: { username: secrets.dbMasterUsername, password: secrets.dbMasterPassword, secretArn: secrets.dbMasterSecretArn },
        appEnvSecretArn: secrets.appEnvSecretArn,
        secretNames: { dbMaster: secrets.dbMasterSecretName, appEnv: secrets.appEnvSecretName },
        backupsBucketName: storage.backupsBucketName,
        backupsBucketArn: storage.backupsBucketArn,
        uploadsBucketName: storage.uploadsBucketName,
        uploadsBucketArn: storage.uploadsBucketArn,
        logsBucketName: storage.logsBucketName,
        logsBucketPolicy: storage.logsBucketPolicy,
        cacheExportsBucketName: storage.cacheExportsBucketName,
        cacheExportsBucketArn: storage.cacheExportsBucketArn,
        repositoryName: registry.repositoryName,
        repositoryUrl: registry.repositoryUrl,
        databaseBackups: { vaultArn: vault.vaultArn, continuous: true },
        vaults: { site: vault, drLandingZone: drVault },
        outputs: {
            kmsKeyArn: key.keyArn,
            dbMasterSecretArn: secrets.dbMasterSecretArn,
            dbMasterSecretName: secrets.dbMasterSecretName,
            appEnvSecretArn: secrets.appEnvSecretArn,
            appEnvSecretName: secrets.appEnvSecretName,
            backupsBucketName: storage.backupsBucketName,
            uploadsBucketName: storage.uploadsBucketName,
            cacheExportsBucketName: storage.cacheExportsBucketName!,
            logsBucketName: storage.logsBucketName,
            backupVaultName: vault.vaultName,
            backupVaultArn: vault.vaultArn,
            backupPlanId: plan.planId,
            dbBackupTagKey: tag.key,
            dbBackupTagValue: tag.value,
            ecrRepositoryName: registry.repositoryName,
            ecrRepositoryUrl: registry.repositoryUrl,
            // The recovery landing zone, for the dr stack.
            drKmsKeyArn: drKey.keyArn,
            drBackupVaultName: drVault.vaultName,
            drBackupVaultArn: drVault.vaultArn,
            drBackupsBucketName: storage.replicaBackupsBucketName!,
            drBackupsBucketArn: storage.replicaBackupsBucketArn!,
            drUploadsBucketName: storage.replicaUploadsBucketName!,
            drUploadsBucketArn: storage.replicaUploadsBucketArn!,
            drCacheExportsBucketName: storage.replicaCacheExportsBucketName!,
            drLogsBucketName: storage.replicaLogsBucketName!,
            drEcrRepositoryUrl: registry.replicaRepositoryUrl!,
            drDbMasterSecretArn: inDr(secrets.dbMasterSecretArn),
            drAppEnvSecretArn: inDr(secrets.appEnvSecretArn),
        },
    };
}

/** Vault Lock of every vault: the minimum is the plan's daily retention, never config's. */
function vaultLock(config: StackConfig) {
    return { mode: config.vaultLock.mode, minRetentionDays: DR_PLAN.dbDailyRetentionDays, maxRetentionDays: config.vaultLock.maxRetentionDays };
}

/**
 * The backups of a serving site's database: a locked vault under the site key and the plan (a snapshot
 * every `intervalHours` and weekly, each copied to `copyVaultArn` in the other region, and continuous
 * backup for point-in-time restore within the database's point-in-time window).
 */
/** The site's locked vault, in its region (the primary's, and a DR site's in every role). */
function siteVault(config: StackConfig, site: string, kmsKeyArn: pulumi.Input<string>, opts: pulumi.ComponentResourceOptions): BackupVault {
    return new BackupVault(`${site}-backup-vault`, { kmsKeyArn, lock: vaultLock(config), lifecycle: config.lifecycle }, opts);
}

/** The backup plan of a site that serves, into its vault, copying each recovery point to `copyVaultArn`. */
function siteBackupPlan(config: StackConfig, site: string, vault: BackupVault, copyVaultArn: pulumi.Input<string>, opts: pulumi.ComponentResourceOptions, role?: PrebuiltRole): BackupPlan {
    const b = config.backup;
    const tag = backupSelectionTag(config.siteName);
    return new BackupPlan(`${site}-backup`, {
        vaultName: vault.vaultName,
        copyVaultArn,
        intervalHours: b.intervalHours,
        dailyRetentionDays: b.dailyRetentionDays,
        weeklyRetentionDays: b.weeklyRetentionDays,
        weeklyColdStorageAfterDays: b.dailyRetentionDays,
        // AWS Backup sets the database's automated-backup retention from this rule: one number for both.
        continuousRetentionDays: config.database.pointInTimeRetentionDays,
        selectionTag: tag,
        role,
    }, opts);
}

/**
 * With drills on, the weekly and monthly restore tests of a serving site's database, restoring into
 * `target` (the database's subnet group and security groups: the isolated data subnets). Called by the
 * database section, which owns the subnet group.
 */
export function defineRestoreTesting(
    config: StackConfig,
    site: string,
    dataProtection: DataProtection,
    target: { dbSubnetGroupName: pulumi.Input<string>; vpcSecurityGroupIds: pulumi.Input<string>[] },
    opts: pulumi.ComponentResourceOptions,
): RestoreTesting | undefined {
    if (!config.drillsEnabled || !dataProtection.databaseBackups) return undefined;
    return new RestoreTesting(`${site}-restore-testing`, {
        namePrefix: site.replace(/-/g, "_"),
        vaultArn: dataProtection.databaseBackups.vaultArn,
        weeklyWindowDays: WEEKLY_RESTORE_WINDOW_DAYS,
        monthlyWindowDays: config.backup.dailyRetentionDays,
        selectionTag: backupSelectionTag(config.siteName),
        restoreTarget: target,
        role: dataProtection.drSiteRoles?.restoreTesting,
    }, opts);
}
