import * as pulumi from "@pulumi/pulumi";
import { BackupStorage } from "../components/backup-storage";
import { BACKUP_SELECTION_TAG_KEY, BackupPlan, BackupVault, backupSelectionTagValue } from "../components/backup-plan";
import { SiteKey } from "../components/keys";
import { AppRegistry, replicatedRepository } from "../components/registry";
import { RestoreTesting } from "../components/restore-testing";
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
    repositoryName: pulumi.Output<string>;
    repositoryUrl: pulumi.Output<string>;
    /** Topic of the site vault's job alerts (the monitoring section subscribes to it). */
    backupAlertTopicArn?: pulumi.Output<string>;
    /** The stack outputs of this section. */
    outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * The data protection section of a stack (the plan's "Backup Strategy"): keys and secrets, backup
 * storage, AWS Backup with Vault Lock and restore tests, the registry, and, on the primary site, the
 * recovery landing zone in the DR region (key, vault, replica buckets, ECR replication, secret replicas).
 */
export function defineDataProtection(config: StackConfig, providers: StackProviders, site: string, production?: ProductionOutputs): DataProtection {
    const siteOpts = { provider: providers.site };
    const b = config.backup;
    const key = new SiteKey(`${site}-key`, { purpose: `the ${config.siteName} site (${config.siteRegion})`, protect: config.protect }, siteOpts);
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
        const storage = new BackupStorage(`${site}-storage`, { kmsKeyArn: key.keyArn, retention, buckets: "logs", protect: config.protect }, siteOpts);
        const repository = replicatedRepository(config.siteRegion, siteOpts);
        const primaryPrefix = secretNamePrefix("primary");
        const secretNames = { dbMaster: `${primaryPrefix}/db-master`, appEnv: `${primaryPrefix}/app-env` };
        const dataProtection = {
            kmsKeyArn: key.keyArn,
            backupTags: { [tag.key]: tag.value },
            secretNames,
            logsBucketName: storage.logsBucketName,
            repositoryName: repository.repositoryName,
            repositoryUrl: repository.repositoryUrl,
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
        const { vault, plan } = siteBackups(config, site, key.keyArn, production.get("backupVaultArn"), siteOpts);
        const backupsBucketName = production.get("drBackupsBucketName");
        return {
            ...dataProtection,
            backupsBucketName,
            backupsBucketArn: pulumi.interpolate`arn:aws:s3:::${backupsBucketName}`,
            backupAlertTopicArn: vault.alertTopicArn,
            outputs: {
                ...dataProtection.outputs,
                backupsBucketName,
                backupVaultName: vault.vaultName,
                backupVaultArn: vault.vaultArn,
                backupPlanId: plan.planId,
                backupAlertTopicArn: vault.alertTopicArn,
            },
        };
    }

    // The primary site, and the landing zone it keeps in the DR region.
    const drOpts = { provider: providers.drLandingZone };
    const drKey = new SiteKey(`${site}-dr-key`, { purpose: `the recovery landing zone (${config.drRegion})`, protect: config.protect }, drOpts);
    const replica = { provider: providers.drLandingZone, region: config.drRegion, kmsKeyArn: drKey.keyArn };

    const secrets = new SiteSecrets(`${site}-secrets`, {
        namePrefix: secretNamePrefix(config.siteName),
        kmsKeyArn: key.keyArn,
        replica: { region: config.drRegion, kmsKeyArn: drKey.keyArn },
        protect: config.protect,
    }, siteOpts);
    const storage = new BackupStorage(`${site}-storage`, { kmsKeyArn: key.keyArn, retention, buckets: "all", replica, protect: config.protect }, siteOpts);

    const drVault = new BackupVault(`${site}-dr-backup-vault`, { kmsKeyArn: drKey.keyArn, lock, protect: config.protect }, drOpts);
    const { vault, plan } = siteBackups(config, site, key.keyArn, drVault.vaultArn, siteOpts);
    const registry = new AppRegistry(`${site}-registry`, {
        kmsKeyArn: key.keyArn,
        imagesKept: b.imageVersionsKept,
        replica,
        protect: config.protect,
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
        repositoryName: registry.repositoryName,
        repositoryUrl: registry.repositoryUrl,
        backupAlertTopicArn: vault.alertTopicArn,
        outputs: {
            kmsKeyArn: key.keyArn,
            dbMasterSecretArn: secrets.dbMasterSecretArn,
            dbMasterSecretName: secrets.dbMasterSecretName,
            appEnvSecretArn: secrets.appEnvSecretArn,
            appEnvSecretName: secrets.appEnvSecretName,
            backupsBucketName: storage.backupsBucketName,
            uploadsBucketName: storage.uploadsBucketName,
            logsBucketName: storage.logsBucketName,
            backupVaultName: vault.vaultName,
            backupVaultArn: vault.vaultArn,
            backupPlanId: plan.planId,
            backupAlertTopicArn: vault.alertTopicArn,
            dbBackupTagKey: tag.key,
            dbBackupTagValue: tag.value,
            ecrRepositoryName: registry.repositoryName,
            ecrRepositoryUrl: registry.repositoryUrl,
            // The recovery landing zone, for the dr stack.
            drKmsKeyArn: drKey.keyArn,
            drBackupVaultName: drVault.vaultName,
            drBackupVaultArn: drVault.vaultArn,
            drBackupAlertTopicArn: drVault.alertTopicArn,
            drBackupsBucketName: storage.replicaBackupsBucketName!,
            drBackupsBucketArn: storage.replicaBackupsBucketArn!,
            drUploadsBucketName: storage.replicaUploadsBucketName!,
            drUploadsBucketArn: storage.replicaUploadsBucketArn!,
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
 * The backups of a serving site's database: a locked vault under the site key, the plan (every
 * `intervalHours` and weekly, each recovery point copied to `copyVaultArn` in the other region) and,
 * with drills on, the weekly and monthly restore tests.
 */
function siteBackups(config: StackConfig, site: string, kmsKeyArn: pulumi.Input<string>, copyVaultArn: pulumi.Input<string>, opts: pulumi.ComponentResourceOptions) {
    const b = config.backup;
    const tag = backupSelectionTag(config.siteName);
    const vault = new BackupVault(`${site}-backup-vault`, { kmsKeyArn, lock: vaultLock(config), protect: config.protect }, opts);
    const plan = new BackupPlan(`${site}-backup`, {
        vaultName: vault.vaultName,
        copyVaultArn,
        intervalHours: b.intervalHours,
        dailyRetentionDays: b.dailyRetentionDays,
        weeklyRetentionDays: b.weeklyRetentionDays,
        weeklyColdStorageAfterDays: b.dailyRetentionDays,
        selectionTag: tag,
    }, opts);
    if (config.drillsEnabled) {
        new RestoreTesting(`${site}-restore-testing`, {
            namePrefix: site.replace(/-/g, "_"),
            vaultArn: vault.vaultArn,
            weeklyWindowDays: WEEKLY_RESTORE_WINDOW_DAYS,
            monthlyWindowDays: b.dailyRetentionDays,
            selectionTag: tag,
        }, opts);
    }
    return { vault, plan };
}
