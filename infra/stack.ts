import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Network } from "../components/network";
import { Cache } from "../components/cache";
import { CacheSnapshots, cacheSnapshotsJobRole, cacheSnapshotsSchedulerRole, cacheSnapshotsStateMachineName, stateMachineArn } from "../components/cache-snapshots";
import { Database, databaseIdentifier, DatabaseRole } from "../components/database";
import { Drills, drillsFisRole, drillsSchedulerRole } from "../components/drills";
import { postgresClientPackage, ScheduledDump } from "../components/scheduled-dump";
import { Notifications } from "../components/notifications";
import { SecurityGroups } from "../components/security-groups";
import { StackConfig } from "./config";
import { DataProtection, defineDataProtection, defineRestoreTesting } from "./data-protection";
import { defineMonitoring } from "./monitoring";
import { defineCommunication, defineIncidentResponse } from "./communication";
import { ProductionOutputs, productionOutputs } from "./production-outputs";
import { createProviders } from "./providers";
import { defineServingPath } from "./serving-path";
import { RegionSwitch } from "../components/region-switch";
import { DR_PLAN } from "./dr-plan";

/** Resource names of this program start with this prefix (the app's name). */
export const NAME_PREFIX = "genie";

/**
 * Declares the whole stack for a validated config: the site in its region and, on the primary
 * site, the recovery landing zone in the DR region. Returns the stack outputs.
 *
 * Read top to bottom: one section per concern, each building its component(s) from config and the
 * outputs of the sections above it.
 */
export function defineStack(config: StackConfig) {
    const providers = createProviders(config);
    const siteOpts = { provider: providers.site };
    // The site's prefix, in every logical and fixed physical name: `genie-primary`, `genie-dr`, or on an
    // ephemeral stack `genie-e<6 hex>` (config.nameLabel: as long as "primary", so no name grows).
    const site = `${NAME_PREFIX}-${config.nameLabel}`;
    const outputs: Record<string, pulumi.Input<unknown>> = {
        siteRole: config.siteRole,
        siteRegion: config.siteRegion,
        drRegion: config.drRegion,
    };

    // ── Network ──────────────────────────────────────────────────────────────────────────────
    const network = new Network(`${site}-network`, {
        cidrBlock: config.network.vpcCidr,
        availabilityZoneCount: config.network.availabilityZoneCount,
        flowLogRetentionDays: config.backup.logRetentionDays,
    }, siteOpts);
    // Each tier admits only the tier in front of it: internet → ALB → app → database and cache.
    const securityGroups = new SecurityGroups(`${site}-sg`, { vpcId: network.vpcId }, siteOpts);
    Object.assign(outputs, {
        vpcId: network.vpcId,
        appSubnetIds: network.appSubnetIds,
        dataSubnetIds: network.dataSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        appSecurityGroupId: securityGroups.appSecurityGroupId,
    });

    // ── Data protection: keys and secrets, backup storage, AWS Backup, registry, DR landing zone ──
    // The plan's Backup Strategy; on the primary site also the recovery landing zone in the DR region.
    // Later sections use `dataProtection` (KMS key, DB master credentials, backup tags, buckets, registry).
    const production = productionOutputs(config); // a DR site's view of the production stack
    const dataProtection = defineDataProtection(config, providers, site, production);
    Object.assign(outputs, dataProtection.outputs);

    // ── Alert notifications: a topic per severity, subscribers from config ─────────────────────
    // Declared before the resources that publish to them (RDS events, alarms, backup and restore
    // job events). Slack is one channel configuration for the whole stack, declared with the
    // monitoring section once every region's topics exist (infra/monitoring.ts).
    const notifications = new Notifications(`${site}-alerts`, {
        kmsKeyArn: dataProtection.kmsKeyArn,
        emails: config.alerts.emails,
        smsNumbers: config.alerts.smsNumbers,
    }, siteOpts);
    Object.assign(outputs, { alertTopicArns: notifications.topicArns });

    // ── Database and cache ───────────────────────────────────────────────────────────────────
    const serving = config.siteRole !== "standby"; // primary, or a DR site made active
    const database = new Database(`${site}-db`, {
        role: databaseRole(config, dataProtection, production),
        engineVersion: config.database.engineVersion,
        instanceClass: serving ? config.database.instanceClass : config.database.standbyInstanceClass,
        allocatedStorageGb: config.database.allocatedStorageGb,
        maxAllocatedStorageGb: config.database.maxAllocatedStorageGb,
        multiAz: serving,
        subnetIds: network.dataSubnetIds,
        securityGroupId: securityGroups.databaseSecurityGroupId,
        kmsKeyArn: dataProtection.kmsKeyArn,
        backupRetentionDays: config.database.pointInTimeRetentionDays,
        // The site's AWS Backup plan (continuous rule) selects it: AWS Backup owns its backup window and retention.
        awsBackupOwnsAutomatedBackups: dataProtection.databaseBackups?.continuous === true,
        logRetentionDays: config.backup.logRetentionDays,
        inRegionReadReplica: serving, // read scaling wherever the site serves
        backupSelectionTags: dataProtection.backupTags,
        automatedBackupReplication: providers.drLandingZone
            ? { provider: providers.drLandingZone, kmsKeyArn: dataProtection.outputs.drKmsKeyArn as pulumi.Output<string> }
            : undefined,
        eventTopicArn: notifications.topicArns.critical,
        lifecycle: config.lifecycle,
        generation: config.database.generation,
    }, siteOpts);
    Object.assign(outputs, {
        databaseArn: database.arn,
        databaseIdentifier: database.identifier,
        databaseAddress: database.address,
        ...(database.replicatedBackupsArn ? { databaseReplicatedBackupsArn: database.replicatedBackupsArn } : {}),
        ...(database.replicatedBackupsKmsKeyArn ? { databaseReplicatedBackupsKmsKeyArn: database.replicatedBackupsKmsKeyArn } : {}),
    });
    // The restore tests restore into the database's isolated data subnets, behind its security group.
    defineRestoreTesting(config, site, dataProtection, {
        dbSubnetGroupName: database.subnetGroupName,
        vpcSecurityGroupIds: [securityGroups.databaseSecurityGroupId],
    }, siteOpts);

    const cache = new Cache(`${site}-cache`, {
        nodeType: serving ? config.cache.nodeType : config.cache.standbyNodeType,
        nodeCount: 2,
        availabilityZones: network.availabilityZones,
        subnetIds: network.dataSubnetIds,
        securityGroupId: securityGroups.cacheSecurityGroupId,
        kmsKeyArn: dataProtection.kmsKeyArn,
        authSecretName: `genie/${config.nameLabel}/redis-auth`,
        snapshotRetentionDays: config.backup.redisSnapshotRetentionDays,
        logRetentionDays: config.backup.logRetentionDays,
        seedRdbArn: config.cache.seedRdbArn,
        lifecycle: config.lifecycle,
    }, siteOpts);
    Object.assign(outputs, { cacheReplicationGroupId: cache.replicationGroupId, cachePrimaryEndpoint: cache.primaryEndpoint, cacheAuthSecretArn: cache.authSecretArn });
    // The second daily snapshot, exported to the Redis exports bucket (7-day lifecycle, replicated to the other region).
    // A DR site declares the IAM roles of what it runs once active in every role, with the same inputs
    // (IAM's control plane is in us-east-1: a failover run must create or change no IAM resource). They
    // name what exists only when active by the names this program gives it (the snapshot job's state
    // machine, the database's identifier) or by tag (the drills' templates).
    const drSiteRoles = dataProtection.drSiteRoles;
    const account = drSiteRoles ? aws.getCallerIdentityOutput({}, siteOpts).accountId : undefined;
    const cacheSnapshotsName = `${site}-cache-snapshots`;
    const cacheSnapshotsRoles = drSiteRoles && account
        ? {
            job: cacheSnapshotsJobRole(cacheSnapshotsName, {
                replicationGroupId: cache.replicationGroupId,
                exportsBucketArn: drSiteRoles.cacheExportsBucketArn,
                kmsKeyArn: dataProtection.kmsKeyArn,
                region: config.siteRegion,
                accountId: account,
            }, siteOpts),
            scheduler: cacheSnapshotsSchedulerRole(cacheSnapshotsName, {
                stateMachineArn: stateMachineArn(config.siteRegion, account, cacheSnapshotsStateMachineName(cacheSnapshotsName)),
                kmsKeyArn: dataProtection.kmsKeyArn,
            }, siteOpts),
            stateMachineName: cacheSnapshotsStateMachineName(cacheSnapshotsName),
        }
        : undefined;
    let cacheSnapshotJobArn: pulumi.Output<string> | undefined;
    if (dataProtection.cacheExportsBucketName && dataProtection.cacheExportsBucketArn) {
        const cacheSnapshots = new CacheSnapshots(cacheSnapshotsName, {
            replicationGroupId: cache.replicationGroupId,
            intervalHours: config.backup.redisSnapshotIntervalHours,
            exportsBucketName: dataProtection.cacheExportsBucketName,
            exportsBucketArn: dataProtection.cacheExportsBucketArn,
            kmsKeyArn: dataProtection.kmsKeyArn,
            logRetentionDays: config.backup.logRetentionDays,
            enabled: true,
            roles: cacheSnapshotsRoles,
        }, siteOpts);
        cacheSnapshotJobArn = cacheSnapshots.stateMachineArn;
        Object.assign(outputs, { cacheSnapshotJobArn });
    }

    // ── Serving path: app cluster, edge and DNS failover, image, deploy verification ─────────
    // Later sections use `servingPath` (ALB, target group, group, failover health check: monitoring alarms on them).
    const servingPath = defineServingPath(config, providers, site, `${NAME_PREFIX}-primary`, {
        network,
        securityGroups,
        dataProtection,
        // The app's environment names this site's own database and cache (a promoted DR site's too).
        database,
        cache,
        databaseName: APP_DATABASE_NAME,
    });
    Object.assign(outputs, servingPath.outputs);

    // ── Logical backups: the runbook's dump on a schedule, where the site serves ──────────────
    if (serving && dataProtection.backupsBucketName) {
        const dump = new ScheduledDump(`${site}-db-dump`, {
            autoScalingGroupName: servingPath.cluster.autoScalingGroupName,
            intervalHours: config.backup.intervalHours,
            database: { host: database.address, name: APP_DATABASE_NAME, credentialsSecretId: servingPath.dbCredentialsSecretId },
            backupsBucketName: dataProtection.backupsBucketName,
            region: config.siteRegion,
            postgresClientPackage: postgresClientPackage(config.database.engineVersion),
            enabled: true,
        }, siteOpts);
        Object.assign(outputs, { dbDumpDocumentName: dump.documentName });
    }

    // ── Monitoring and alerting ──────────────────────────────────────────────────────────────
    // The plan's critical alerts at its timings, the recovery point's alarms, the P1 composite alarm
    // (FIS drills stop on it) and the site's dashboard (infra/monitoring.ts).
    // The stack that owns the Region switch plan (below) also routes its evaluation warnings and failed executions.
    const ownsRegionSwitchPlan = config.siteRole !== "primary";
    // Incident Manager engagement (opt-in) before the alarms that start it; then the status page, the
    // customer notices and the quarterly communication test (infra/communication.ts).
    const { responsePlanArns } = defineIncidentResponse(config, providers, NAME_PREFIX, site, notifications);
    const monitoring = defineMonitoring(config, providers, site, { notifications, database, servingPath, dataProtection, cacheSnapshotJobArn, regionSwitchPlan: ownsRegionSwitchPlan, responsePlanArns });
    Object.assign(outputs, monitoring.outputs);
    Object.assign(outputs, defineCommunication(config, providers, NAME_PREFIX, site, { notifications, kmsKeyArn: dataProtection.kmsKeyArn, otherRegionTopics: monitoring.otherRegionTopics }).outputs);

    // ── Region switch: the failover and the return as one ARC plan (dr stack) ─────────────────
    // Owned by the dr stack: executions run on the plan's data plane in either Region, and nothing here
    // changes with the DR site's role, so the failover `pulumi up -s dr` does not touch the plan (whose
    // control plane is in us-east-1). Production's values come from config first (infra/production-outputs.ts).
    if (ownsRegionSwitchPlan) {
        const regionSwitch = new RegionSwitch(`${NAME_PREFIX}-region-switch`, {
            planName: `${NAME_PREFIX}-region-switch`,
            primary: {
                region: config.primaryRegion,
                databaseArn: production.get("databaseArn"),
                autoScalingGroupArn: production.get("appAutoScalingGroupArn"),
                criticalAlarmArn: production.get("criticalAlarmArn"),
                recordSetIdentifier: `${NAME_PREFIX}-primary`,
            },
            dr: {
                region: config.drRegion,
                databaseArn: database.arn,
                autoScalingGroupArn: servingPath.cluster.autoScalingGroupArn,
                criticalAlarmArn: monitoring.criticalAlarmArn,
                recordSetIdentifier: site,
            },
            recoveryTimeObjectiveMinutes: DR_PLAN.rtoMinutes,
            dns: { hostedZoneId: config.dns.hostedZoneId, recordName: config.dns.domainName },
            appCapacityPercent: 100,
            autoActivate: config.regionSwitch.autoActivate ? { minDelayMinutes: config.regionSwitch.minMinutesBetweenExecutions } : undefined,
        }, siteOpts);
        Object.assign(outputs, { regionSwitchPlanArn: regionSwitch.planArn, regionSwitchExecutionRoleArn: regionSwitch.executionRoleArn });
    }

    // ── Drills ───────────────────────────────────────────────────────────────────────────────
    // The plan's monthly failover tests, where the site serves (a standby has no Multi-AZ primary to fail over).
    const drillsName = `${site}-drills`;
    const drillsRoles = drSiteRoles && account
        ? {
            // The database's ARN from its identifier (components/database.ts), which the replica, the promoted
            // instance and a restored one of a generation share; a new generation (the return to standby)
            // changes it, in normal times.
            fis: drillsFisRole(drillsName, {
                databaseArn: pulumi.interpolate`arn:aws:rds:${config.siteRegion}:${account}:db:${databaseIdentifier(`${site}-db`, config.database.generation)}`,
                autoScalingGroupName: servingPath.cluster.autoScalingGroupName,
                region: config.siteRegion,
                accountId: account,
            }, siteOpts),
            scheduler: drillsSchedulerRole(drillsName, { templates: "by-tag", region: config.siteRegion, accountId: account }, siteOpts),
        }
        : undefined;
    if (serving) {
        const drills = new Drills(drillsName, {
            databaseArn: database.arn,
            autoScalingGroupName: servingPath.cluster.autoScalingGroupName,
            availabilityZone: network.availabilityZones[0],
            stopAlarmArn: monitoring.criticalAlarmArn,
            logRetentionDays: config.backup.logRetentionDays,
            kmsKeyArn: dataProtection.kmsKeyArn,
            enabled: config.drillsEnabled,
            roles: drillsRoles,
        }, siteOpts);
        Object.assign(outputs, { drillTemplateIds: drills.templateIds });
    }

    return outputs;
}

/** Name of the application's database on the primary. */
export const APP_DATABASE_NAME = "genie";

/**
 * Where the site's database comes from: the primary creates it; a standby DR site replicates it
 * across regions; an active DR site promotes that replica (same resource: an update, not a
 * replacement) or, where there is none, restores the primary's replicated automated backups.
 */
function databaseRole(config: StackConfig, dataProtection: DataProtection, production: ProductionOutputs): DatabaseRole {
    if (config.siteRole === "primary") {
        const master = dataProtection.dbMaster;
        if (!master) throw new Error("the primary site's data protection must provide the database master credentials");
        return { kind: "primary", masterUsername: master.username, masterPassword: master.password, databaseName: APP_DATABASE_NAME };
    }
    if (config.database.recoverySource === "replica") {
        return config.siteRole === "standby" ? { kind: "replica", sourceDatabaseArn: production.get("databaseArn") } : { kind: "promoted" };
    }
    // A restore keeps the key of the replicated backups (the production stack's key in this region).
    return {
        kind: "restored",
        automatedBackupsArn: production.get("databaseBackupsArn"),
        backupsKmsKeyArn: production.get("databaseBackupsKmsKeyArn"),
        restoreTime: config.database.restoreTime,
    };
}
