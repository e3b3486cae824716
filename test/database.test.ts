// Over 300 lines on purpose: test corpus: the database's behaviour per site role and transition.
import { expect } from "chai";
import { AWS_BACKUP_OWNED_INPUTS, DATABASE_EVENT_CATEGORIES } from "../components/database";
import { RDS_REPLACE_ON_CHANGE } from "../offline/aws-rules/rds";
import { checkTransition } from "../offline/aws-rules/transitions";
import { EvaluationError, RecordedResource, REDACTED, StackEvaluation } from "../offline/mock-runtime";
import { DR_PLAN } from "../infra/dr-plan";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const INSTANCE = AWS_TYPES.dbInstance;
const PRODUCTION_DB_ARN = "arn:aws:rds:us-east-1:123456789012:db:genie-primary-db";
/** What the dr stack's Region switch plan needs of the production stack, kept in config for an outage. */
function REGION_SWITCH_VALUES() {
    return {
        primaryDatabaseArn: PRODUCTION_DB_ARN,
        primaryAppAutoScalingGroupArn: "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1234:autoScalingGroupName/genie-primary-app",
        primaryCriticalAlarmArn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:genie-primary-monitoring-complete-outage",
    };
}
/** What an active DR site's backups need of the production stack, kept in config for an outage. */
const ACTIVE_SITE_VALUES = {
    primaryBackupVaultArn: "arn:aws:backup:us-east-1:123456789012:backup-vault:genie-primary-backup-vault",
    drBackupsBucketName: "genie-primary-storage-dr-backups-bucket",
    ...REGION_SWITCH_VALUES(),
};

/** The DR-region key of the replicated backups, as an operator gives it in config during an outage. */
const BACKUPS_KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** The KMS key a resource's key ARN points at. */
function keyOf(ev: StackEvaluation, arn: string): RecordedResource {
    const key = resolve(ev, arn);
    expect(key, `no KMS key with ARN ${arn}`).to.not.equal(undefined);
    expect(key!.type).to.equal(AWS_TYPES.kmsKey);
    return key!;
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
    } catch (err) {
        expect(err).to.be.instanceOf(EvaluationError);
        return (err as Error).message;
    }
    throw new Error("expected the evaluation to fail");
}

describe("database: the primary site", () => {
    it("is Multi-AZ, encrypted with the site's own key, private, deletion-protected, with a final snapshot and kept backups", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        expect(db.props).to.include({
            engine: "postgres",
            multiAz: true,
            storageEncrypted: true,
            publiclyAccessible: false,
            deletionProtection: true,
            skipFinalSnapshot: false,
            copyTagsToSnapshot: true,
            deleteAutomatedBackups: false,
            iamDatabaseAuthenticationEnabled: true,
            performanceInsightsEnabled: true,
        });
        expect(keyOf(ev, db.props.kmsKeyId).region).to.equal("us-east-1");
        expect(keyOf(ev, db.props.kmsKeyId).region).to.equal(db.region);
        expect(db.props.monitoringInterval).to.be.greaterThan(0);
        expect(db.props.maxAllocatedStorage).to.be.greaterThan(db.props.allocatedStorage);
        expect(db.opts.protect).to.equal(true);
        // Its final snapshot is named for this incarnation of the instance (see the DR site's tests).
        expect(db.props.finalSnapshotIdentifier).to.match(/^genie-primary-db-final-[0-9a-f]{8}$/);
    });

    it("runs PostgreSQL by major version (15) with automatic minor upgrades, so RDS picks and upgrades the minor", async () => {
        const db = one(await stack("production"), INSTANCE, "genie-primary-db-instance");
        expect(db.props).to.include({ engine: "postgres", engineVersion: "15", autoMinorVersionUpgrade: true });
        const params = ofType(await stack("production"), AWS_TYPES.dbParameterGroup).find((p) => p.outputs.name === db.props.parameterGroupName)!;
        expect(params.props.family).to.equal("postgres15");
    });

    it("keeps point-in-time backups for the configured window (default: the plan's 30 days), the same window AWS Backup's continuous rule keeps", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        expect(db.props.backupRetentionPeriod).to.equal(DR_PLAN.dbDailyRetentionDays);
        const continuous = (one(ev, AWS_TYPES.backupPlan, "genie-primary-backup-plan").props.rules as any[]).find((r) => r.enableContinuousBackup === true);
        expect(continuous.lifecycle.deleteAfter).to.equal(db.props.backupRetentionPeriod);
        // (Before: 14 days was accepted, and the continuous rule kept 14 days in a vault locked at 30: every job failed.)
        const changed = await stackWith("production", { config: { dbPointInTimeRetentionDays: "35" } });
        expect(one(changed, INSTANCE, "genie-primary-db-instance").props.backupRetentionPeriod).to.equal(35);
        expect((one(changed, AWS_TYPES.backupPlan, "genie-primary-backup-plan").props.rules as any[]).find((r) => r.enableContinuousBackup === true).lifecycle.deleteAfter).to.equal(35);
    });

    it("leaves its backup window and retention to AWS Backup once the continuous rule selects it: declared for the create, then ignored", async () => {
        const db = one(await stack("production"), INSTANCE, "genie-primary-db-instance");
        // Needed at create: a retention of 0 would disable the automated backups the replicas and the backup replication copy.
        expect(db.props.backupRetentionPeriod).to.be.greaterThan(0);
        expect(db.opts.ignoreChanges).to.have.members([...AWS_BACKUP_OWNED_INPUTS]).and.to.have.members(["backupWindow", "backupRetentionPeriod"]);
        // A standby replica is in no backup plan: RDS keeps them.
        expect(one(await stack("dr"), INSTANCE, "genie-dr-db-instance").opts.ignoreChanges).to.deep.equal([]);
        expect(one(await stackWith("dr", { config: { siteRole: "active" } }), INSTANCE, "genie-dr-db-instance").opts.ignoreChanges).to.have.members([...AWS_BACKUP_OWNED_INPUTS]);
    });

    it("takes its master password from the secrets component, as a secret", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        expect(db.props.password).to.equal(REDACTED);
        expect(db.secretProps).to.include("password");
        expect(JSON.stringify(ev)).not.to.include("mock-secret-");
    });

    it("lives in the isolated data subnets behind the database security group", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        const subnetGroup = ofType(ev, AWS_TYPES.dbSubnetGroup).find((g) => g.outputs.name === db.props.dbSubnetGroupName)!;
        const tiers = subnetGroup.props.subnetIds.map((id: string) => resolve(ev, id)!.props.tags.tier);
        expect(tiers).to.deep.equal(["data", "data", "data"]);
        expect(db.props.vpcSecurityGroupIds.map((id: string) => resolve(ev, id)!.name)).to.deep.equal(["genie-primary-sg-database"]);
    });

    it("forces TLS and logs slow statements; exports its logs to groups kept 90 days, made before it", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        const params = ofType(ev, AWS_TYPES.dbParameterGroup).find((p) => p.outputs.name === db.props.parameterGroupName)!;
        const values = Object.fromEntries(params.props.parameters.map((p: any) => [p.name, p.value]));
        expect(values["rds.force_ssl"]).to.equal("1");
        expect(Number(values.log_min_duration_statement)).to.be.greaterThan(0);
        expect(params.props.family).to.equal("postgres15");
        expect(db.props.enabledCloudwatchLogsExports).to.have.members(["postgresql", "upgrade"]);
        for (const log of db.props.enabledCloudwatchLogsExports) {
            const group = one(ev, AWS_TYPES.logGroup, `genie-primary-db-${log}-logs`);
            expect(group.props.name).to.equal(`/aws/rds/instance/genie-primary-db/${log}`);
            expect(group.props.retentionInDays).to.equal(DR_PLAN.logRetentionDays);
            expect(db.opts.dependsOn).to.include(group.urn);
        }
    });

    it("carries the tag that puts it under the AWS Backup plan's selection", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        const selection = ofType(ev, AWS_TYPES.backupSelection)[0];
        const conditions = [...(selection.props.selectionTags ?? []), ...(selection.props.conditions?.stringEquals ?? [])];
        expect(conditions.length).to.be.greaterThan(0);
        for (const c of conditions) {
            const tagKey = String(c.key).replace(/^aws:ResourceTag\//, "");
            expect(db.props.tags[tagKey], `tag ${tagKey}`).to.equal(c.value);
        }
    });

    it("has an in-region read replica of itself, named by ARN because it is given the subnet group, that takes no final snapshot and keeps the source's key", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        const replica = one(ev, INSTANCE, "genie-primary-db-read-replica");
        // Same region with dbSubnetGroupName: the source's ARN (an identifier gets DBSubnetGroupNotAllowedFault).
        expect(replica.props.replicateSourceDb).to.equal(db.outputs.arn).and.to.match(/^arn:aws:rds:us-east-1:/);
        expect(replica.props.dbSubnetGroupName).to.equal(db.props.dbSubnetGroupName);
        expect(replica.region).to.equal("us-east-1");
        // Deleting a replica with a final snapshot identifier fails.
        expect(replica.props.skipFinalSnapshot).to.equal(true);
        expect(replica.props).not.to.have.property("finalSnapshotIdentifier");
        // A same-region replica always has its source's key: none declared.
        expect(replica.props).not.to.have.property("kmsKeyId");
        expect(replica.props.storageEncrypted).to.equal(true);
        expect(replica.opts.protect).to.equal(true);
    });

    it("replicates its automated backups to the DR region, encrypted with the DR region's key", async () => {
        const ev = await stack("production");
        const db = one(ev, INSTANCE, "genie-primary-db-instance");
        const replication = one(ev, AWS_TYPES.dbBackupReplication, "genie-primary-db-dr-backups");
        expect(replication.region).to.equal("us-west-2");
        expect(replication.props.sourceDbInstanceArn).to.equal(db.outputs.arn);
        expect(keyOf(ev, replication.props.kmsKeyId).region).to.equal("us-west-2");
        expect(replication.props.retentionPeriod).to.equal(db.props.backupRetentionPeriod);
        expect(ev.outputs.databaseReplicatedBackupsArn).to.equal(replication.id);
    });

    it("sends availability, failover, failure and low-storage events to the critical alert topic", async () => {
        const ev = await stack("production");
        const subscription = one(ev, AWS_TYPES.dbEventSubscription, "genie-primary-db-events");
        expect(subscription.props.eventCategories).to.have.members([...DATABASE_EVENT_CATEGORIES]);
        expect(subscription.props.sourceIds).to.deep.equal(["genie-primary-db"]);
        // One of the plan's "Database down" alerts, at the severity the one table gives RDS events (P2, critical topic).
        expect(subscription.props.tags).to.deep.equal({ alert: "database-down", "incident-severity": "P2", severity: "critical" });
        const topic = resolve(ev, subscription.props.snsTopic)!;
        expect(topic.name).to.equal("genie-primary-alerts-critical");
        // RDS may publish to the topic, and use the key that encrypts it.
        const topicPolicy = JSON.parse(ofType(ev, AWS_TYPES.topicPolicy).find((p) => p.props.arn === topic.outputs.arn)!.props.policy);
        expect(topicPolicy.Statement[0].Principal.Service).to.include("events.rds.amazonaws.com");
        const keyPolicy = JSON.parse(resolve(ev, topic.props.kmsMasterKeyId)!.props.policy);
        const publishers = keyPolicy.Statement.find((st: any) => ([] as string[]).concat(st.Principal?.Service ?? []).includes("events.rds.amazonaws.com"));
        expect(publishers.Action).to.include("kms:GenerateDataKey*");
    });
});

describe("database: the DR site", () => {
    it("standby: a cross-region replica of the production primary, read from the production stack, in us-west-2 with its own key", async () => {
        const ev = await stack("dr");
        const db = one(ev, INSTANCE, "genie-dr-db-instance");
        const production = one(await stack("production"), INSTANCE, "genie-primary-db-instance");
        expect(db.props.replicateSourceDb).to.equal(production.outputs.arn);
        expect(db.region).to.equal("us-west-2");
        expect(keyOf(ev, db.props.kmsKeyId).region).to.equal("us-west-2");
        expect(db.props.instanceClass).to.equal("db.t4g.large");
        expect(db.props.multiAz).to.equal(false);
        expect(db.props).not.to.have.property("password");
        expect(db.props).not.to.have.property("username");
        // A replica takes no final snapshot: with an identifier, deleting it (going back to standby, destroy) fails.
        expect(db.props.skipFinalSnapshot).to.equal(true);
        expect(db.props).not.to.have.property("finalSnapshotIdentifier");
    });

    it("standby: takes the source from config when the production state cannot be read", async () => {
        const ev = await stackWith("dr", { stackReference: "unavailable", config: { ...REGION_SWITCH_VALUES() } });
        expect(one(ev, INSTANCE, "genie-dr-db-instance").props.replicateSourceDb).to.equal(PRODUCTION_DB_ARN);
    });

    it("standby: fails clearly when neither config nor the production state gives the source", async () => {
        const message = await failureOf(stackWith("dr", { stackReference: "unavailable" }));
        expect(message).to.include("cannot be read");
    });

    it("active: promotes the replica in place, an update that touches no input that forces a replacement", async () => {
        const standby = one(await stack("dr"), INSTANCE, "genie-dr-db-instance");
        const active = one(await stackWith("dr", { config: { siteRole: "active" } }), INSTANCE, "genie-dr-db-instance");
        expect(active.urn).to.equal(standby.urn); // the same resource
        expect(active.props).not.to.have.property("replicateSourceDb"); // removing it promotes
        const keys = new Set([...Object.keys(standby.props), ...Object.keys(active.props)]);
        const changed = [...keys].filter((k) => JSON.stringify(standby.props[k]) !== JSON.stringify(active.props[k])).sort();
        expect(changed).to.include("replicateSourceDb");
        expect(changed.filter((k) => (RDS_REPLACE_ON_CHANGE as readonly string[]).includes(k))).to.deep.equal([]);
        // ...and it runs at production size.
        expect(active.props).to.include({ instanceClass: "db.r6g.large", multiAz: true });
        // Once standalone it is the site's primary: a delete takes a final snapshot. The provider keeps
        // these two in state only (no API call): part of the same in-place update.
        expect(active.props.skipFinalSnapshot).to.equal(false);
        expect(active.props.finalSnapshotIdentifier).to.match(/^genie-dr-db-final-[0-9a-f]{8}$/);
    });

    it("standby -> active is an update AWS and the provider accept: no replacement of a protected resource, no refused update", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(checkTransition(standby.resources, active.resources)).to.deep.equal([]);
    });

    it("active -> standby in the same generation is not an update: setting replicateSourceDb on the promoted instance is refused (the way back is the next generation)", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const unprotected = active.resources.filter((r) => r.name === "genie-dr-db-read-replica").map((r) => r.urn);
        const back = checkTransition(active.resources, standby.resources, { unprotected, deletionProtectionOff: unprotected });
        expect(back.map((v) => [v.rule, v.name])).to.deep.equal([["rds-cannot-elect-new-source", "genie-dr-db-instance"]]);
        expect(back[0].message).to.match(/deleting it \(final snapshot\) and creating a new replica/);
    });

    it("active: promotion needs nothing of the production database (the primary region may be gone)", async () => {
        // The production state is unreadable; config gives what the backups and the Region switch plan name
        // (the plan maps each region's database ARN). The promoted database itself reads nothing of production.
        const ev = await stackWith("dr", { config: { siteRole: "active", ...ACTIVE_SITE_VALUES }, stackReference: "unavailable" });
        const db = one(ev, INSTANCE, "genie-dr-db-instance");
        expect(db.props).not.to.have.property("replicateSourceDb");
        expect(JSON.stringify(db.props)).not.to.include(PRODUCTION_DB_ARN);
    });

    it("active without a replica: restores the newest replicated recovery point, or a given time", async () => {
        const backupsArn = "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-genie";
        const latest = one(
            await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup", primaryDatabaseBackupsArn: backupsArn, primaryDatabaseBackupsKmsKeyArn: BACKUPS_KEY_ARN, ...ACTIVE_SITE_VALUES }, stackReference: "unavailable" }),
            INSTANCE,
            "genie-dr-db-instance",
        );
        expect(latest.props.restoreToPointInTime).to.deep.equal({ sourceDbInstanceAutomatedBackupsArn: backupsArn, useLatestRestorableTime: true });
        const fromProduction = one(await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup" } }), INSTANCE, "genie-dr-db-instance");
        const replication = one(await stack("production"), AWS_TYPES.dbBackupReplication, "genie-primary-db-dr-backups");
        expect(fromProduction.props.restoreToPointInTime.sourceDbInstanceAutomatedBackupsArn).to.equal(replication.id);
        const pitr = one(
            await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "2026-11-30T01:15:00Z" } }),
            INSTANCE,
            "genie-dr-db-instance",
        );
        expect(pitr.props.restoreToPointInTime).to.include({ restoreTime: "2026-11-30T01:15:00Z" });
        expect(pitr.props.restoreToPointInTime).not.to.have.property("useLatestRestorableTime");
        for (const restored of [latest, fromProduction, pitr]) {
            expect(restored.props.skipFinalSnapshot).to.equal(false);
            expect(restored.props.finalSnapshotIdentifier).to.match(/^genie-dr-db-final-[0-9a-f]{8}$/);
        }
    });

    it("every incarnation of the instance names its own final snapshot: a second failover/failback cycle or a rebuilt instance can still be deleted", async () => {
        // DeleteDBInstance fails with DBSnapshotAlreadyExists when the final snapshot's name is taken, and snapshot
        // names are unique per account and region. genie-dr-db is the promoted replica, or the instance restored
        // from backups, one cycle after the other: one fixed name ("genie-dr-db-final") made the second delete fail.
        const incarnations = {
            promoted: await stackWith("dr", { config: { siteRole: "active" } }),
            latestBackup: await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup" } }),
            pointInTime: await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "2026-11-30T01:15:00Z" } }),
            otherPointInTime: await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "2026-12-01T09:00:00Z" } }),
        };
        const names = Object.values(incarnations).map((ev) => one(ev, INSTANCE, "genie-dr-db-instance").props.finalSnapshotIdentifier);
        expect(new Set(names).size, names.join(", ")).to.equal(names.length);
        for (const [what, ev] of Object.entries(incarnations)) {
            const db = one(ev, INSTANCE, "genie-dr-db-instance");
            // The suffix is a RandomId's: kept while the instance is the same, replaced (new random bytes, in AWS
            // as in the next cycle) whenever what makes a new instance changes: the role, the key, the restore source.
            const suffix = one(ev, "random:index/randomId:RandomId", "genie-dr-db-final-snapshot-suffix");
            expect(db.props.finalSnapshotIdentifier, what).to.equal(`genie-dr-db-final-${suffix.outputs.hex}`);
            expect(suffix.props.keepers, what).to.include({ identifier: "genie-dr-db", kmsKeyId: db.props.kmsKeyId });
            expect(suffix.props.keepers.role, what).to.be.oneOf(["promoted", "restored"]);
            expect(suffix.opts.protect, what).not.to.equal(true); // replaced freely: it holds no data
        }
        // A replica takes no final snapshot, so a standby site has no suffix: the next promotion draws a new one.
        expect(ofType(await stack("dr"), "random:index/randomId:RandomId").filter((r) => r.name.startsWith("genie-dr-db"))).to.deep.equal([]);
        // The primary's suffix changes with the inputs that would make it a new instance.
        const primary = one(await stack("production"), "random:index/randomId:RandomId", "genie-primary-db-final-snapshot-suffix");
        expect(primary.props.keepers).to.include({ role: "primary", identifier: "genie-primary-db", engine: "postgres", dbName: "genie" });
    });

    it("restored: declares the key the restore really uses, the key of the replicated backups, so the next pulumi up keeps the database", async () => {
        const production = await stack("production");
        const replication = one(production, AWS_TYPES.dbBackupReplication, "genie-primary-db-dr-backups");
        expect(production.outputs.databaseReplicatedBackupsKmsKeyArn).to.equal(replication.props.kmsKeyId);
        for (const source of ["latest-backup", "point-in-time"]) {
            const ev = await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: source, dbRestoreTime: source === "point-in-time" ? "2026-11-30T01:15:00Z" : undefined } });
            const db = one(ev, INSTANCE, "genie-dr-db-instance");
            // (Before: the DR site's own key, which RestoreDBInstanceToPointInTime cannot apply; kmsKeyId forces a replacement.)
            expect(db.props.kmsKeyId, source).to.equal(replication.props.kmsKeyId);
            expect(db.props.kmsKeyId).not.to.equal(ev.outputs.kmsKeyArn);
            expect(keyOf(production, db.props.kmsKeyId).region).to.equal("us-west-2");
        }
    });

    it("restored: takes the backups' key from config when the production state cannot be read", async () => {
        const ev = await stackWith("dr", {
            config: { siteRole: "active", dbRecoverySource: "latest-backup", primaryDatabaseBackupsArn: "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-genie", primaryDatabaseBackupsKmsKeyArn: BACKUPS_KEY_ARN, ...ACTIVE_SITE_VALUES },
            stackReference: "unavailable",
        });
        expect(one(ev, INSTANCE, "genie-dr-db-instance").props.kmsKeyId).to.equal(BACKUPS_KEY_ARN);
        // Without it (and without the production state) the evaluation fails, as pulumi up would: the restore needs the key.
        const message = await failureOf(stackWith("dr", {
            config: { siteRole: "active", dbRecoverySource: "latest-backup", primaryDatabaseBackupsArn: "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-genie", ...ACTIVE_SITE_VALUES },
            stackReference: "unavailable",
        }));
        expect(message).to.include("cannot be read");
    });

    const badConfig: { what: string; change: Record<string, string>; says: RegExp }[] = [
        { what: "active point-in-time recovery without a time", change: { siteRole: "active", dbRecoverySource: "point-in-time" }, says: /genie-infra:dbRestoreTime is missing: dbRecoverySource point-in-time needs the UTC time/ },
        { what: "a restore source on a standby site", change: { dbRecoverySource: "latest-backup" }, says: /genie-infra:dbRecoverySource = "latest-backup": restoring from backups is for an active DR site/ },
        { what: "an unknown recovery source", change: { siteRole: "active", dbRecoverySource: "snapshot" }, says: /genie-infra:dbRecoverySource = "snapshot": allowed: replica, latest-backup, point-in-time/ },
        { what: "a restore time that is not UTC", change: { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "30/11/2026 01:15" }, says: /genie-infra:dbRestoreTime = "30\/11\/2026 01:15": must be a UTC time/ },
        { what: "a malformed source database ARN", change: { primaryDatabaseArn: "genie-primary-db" }, says: /genie-infra:primaryDatabaseArn = "genie-primary-db": must be an RDS instance ARN/ },
        { what: "a backup retention of 0", change: { dbPointInTimeRetentionDays: "0" }, says: /genie-infra:dbPointInTimeRetentionDays = 0: allowed: 30 to 35 days/ },
        { what: "a point-in-time window below the vaults' lock minimum", change: { dbPointInTimeRetentionDays: "14" }, says: /genie-infra:dbPointInTimeRetentionDays = 14: allowed: 30 to 35 days: .*Vault Lock minimum of 30/ },
        { what: "a pinned minor engine version", change: { dbEngineVersion: "15.10" }, says: /genie-infra:dbEngineVersion = "15\.10": give the major version only, such as "15"; RDS creates the newest minor version/ },
        { what: "an engine version that is not a PostgreSQL major", change: { dbEngineVersion: "postgres15" }, says: /genie-infra:dbEngineVersion = "postgres15": must be a PostgreSQL major version of 13 or later, such as 15/ },
        { what: "a too old engine version", change: { dbEngineVersion: "12" }, says: /genie-infra:dbEngineVersion = "12": must be a PostgreSQL major version of 13 or later/ },
        { what: "a backups key of another region", change: { siteRole: "active", dbRecoverySource: "latest-backup", primaryDatabaseBackupsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abcd" }, says: /genie-infra:primaryDatabaseBackupsKmsKeyArn = .*must be a key of the DR region us-west-2/ },
        { what: "a backups key that is not a key ARN", change: { siteRole: "active", dbRecoverySource: "latest-backup", primaryDatabaseBackupsKmsKeyArn: "alias/genie" }, says: /genie-infra:primaryDatabaseBackupsKmsKeyArn = "alias\/genie": must be a KMS key ARN in the DR region/ },
    ];
    for (const c of badConfig) {
        it(`rejects ${c.what} before anything is declared`, async () => {
            expect(await failureOf(stackWith("dr", { config: c.change }))).to.match(c.says);
        });
    }
});
