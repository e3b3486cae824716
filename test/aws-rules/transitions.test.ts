import { expect } from "chai";
import { RDS_REPLACE_ON_CHANGE } from "../../offline/aws-rules/rds";
import { checkTransition, REFUSED_UPDATES, REPLACE_ON_CHANGE } from "../../offline/aws-rules/transitions";
import { RecordedResource } from "../../offline/mock-runtime";
import { stack, stackWith } from "../support/stacks";
import { AWS_TYPES } from "../../policies/aws-types";

const INSTANCE = AWS_TYPES.dbInstance;
const DR_DB = "genie-dr-db-instance";

const copy = (rs: RecordedResource[]): RecordedResource[] => JSON.parse(JSON.stringify(rs));
const rules = (vs: { rule: string; name: string }[]) => vs.map((v) => `${v.rule} ${v.name}`);

describe("offline AWS rules: transitions between evaluations", () => {
    it("an RDS instance's replace-on-change inputs are the provider's ForceNew attributes, in one place", () => {
        expect(REPLACE_ON_CHANGE[INSTANCE].inputs).to.equal(RDS_REPLACE_ON_CHANGE);
        for (const input of ["kmsKeyId", "storageEncrypted", "restoreToPointInTime", "username", "engine", "dbName"]) expect(RDS_REPLACE_ON_CHANGE).to.include(input);
        // Changed by the promotion, and not ForceNew: replicateSourceDb (removal promotes), the final-snapshot settings (state only).
        // Nor is identifier: the provider renames the instance in place (ModifyDBInstance NewDBInstanceIdentifier).
        for (const input of ["replicateSourceDb", "skipFinalSnapshot", "finalSnapshotIdentifier", "instanceClass", "multiAz", "engineVersion", "identifier"]) expect(RDS_REPLACE_ON_CHANGE).not.to.include(input);
        // The ForceNew inputs that are also Computed: AWS's value is read back into the state.
        for (const input of REPLACE_ON_CHANGE[INSTANCE].computed ?? []) expect(RDS_REPLACE_ON_CHANGE).to.include(input);
        expect(REPLACE_ON_CHANGE[INSTANCE].computed).to.include.members(["engine", "kmsKeyId", "dbName", "username", "availabilityZone", "timezone", "characterSetName", "ncharCharacterSetName"]);
        expect(REPLACE_ON_CHANGE[INSTANCE].computed).not.to.include.members(["restoreToPointInTime"]);
        expect(REFUSED_UPDATES.map((r) => r.id)).to.include("rds-cannot-elect-new-source");
    });

    it("dr standby -> active promotes the replica in place: no replacement, no refused update, the final snapshot settings flip", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(checkTransition(standby.resources, active.resources)).to.deep.equal([]);
        const before = standby.resources.find((r) => r.name === DR_DB)!;
        const after = active.resources.find((r) => r.name === DR_DB)!;
        expect([before.props.skipFinalSnapshot, before.props.finalSnapshotIdentifier]).to.deep.equal([true, undefined]);
        expect(after.props.skipFinalSnapshot).to.equal(false);
        expect(after.props.finalSnapshotIdentifier).to.match(/^genie-dr-db-final-[0-9a-f]{8}$/);
    });

    it("dr active -> standby with the same database generation is refused: replicateSourceDb cannot be set on a standalone instance", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const violations = rules(checkTransition(active.resources, standby.resources));
        expect(violations).to.include(`rds-cannot-elect-new-source ${DR_DB}`);
        // What standby does not declare and active does: only the serving site's read replica (the site's
        // vault, with the backups it took while active, stays declared in both roles).
        expect(violations.filter((v) => v.startsWith("no-delete-of-protected"))).to.deep.equal(["no-delete-of-protected genie-dr-db-read-replica"]);
        expect(violations.filter((v) => v.startsWith("rds-delete-with-deletion-protection"))).to.deep.equal(["rds-delete-with-deletion-protection genie-dr-db-read-replica"]);
    });

    it("dr active -> standby with the next database generation: a new replica, the promoted instance kept in AWS once the operator unprotected it", async () => {
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const back = await stackWith("dr", { config: { siteRole: "standby", dbGeneration: "2" } });
        const urnOf = (name: string) => active.resources.find((r) => r.name === name)!.urn;
        const promoted = active.resources.find((r) => r.name === DR_DB)!;
        // Serving, the promoted instance and its log groups are kept when they leave the program.
        expect(promoted.opts).to.include({ protect: true, retainOnDelete: true });
        for (const log of ["postgresql", "upgrade"]) expect(active.resources.find((r) => r.name === `genie-dr-db-${log}-logs`)!.opts.retainOnDelete, log).to.equal(true);
        // The next generation: its own instance, a replica of production, under its own AWS name.
        const next = back.resources.find((r) => r.name === `${DR_DB}-g2`)!;
        expect(next.props).to.include({ identifier: "genie-dr-db-g2", replicateSourceDb: "arn:aws:rds:us-east-1:123456789012:db:genie-primary-db" });
        expect(back.resources.find((r) => r.name === DR_DB)).to.equal(undefined);
        expect(back.resources.find((r) => r.name === "genie-dr-db-postgresql-logs-g2")!.props.name).to.equal("/aws/rds/instance/genie-dr-db-g2/postgresql");
        // Pulumi refuses to drop a protected resource, kept or not, and RDS to delete the serving site's read
        // replica (not kept: a copy) while its deletion protection is on: the README's two steps, modelled.
        const readReplica = urnOf("genie-dr-db-read-replica");
        expect(rules(checkTransition(active.resources, back.resources)).sort()).to.deep.equal(
            ["no-delete-of-protected genie-dr-db-instance", "no-delete-of-protected genie-dr-db-read-replica", "rds-delete-with-deletion-protection genie-dr-db-read-replica"],
        );
        expect(rules(checkTransition(active.resources, back.resources, { unprotected: [urnOf(DR_DB), readReplica] }))).to.deep.equal(["rds-delete-with-deletion-protection genie-dr-db-read-replica"]);
        expect(checkTransition(active.resources, back.resources, { unprotected: [urnOf(DR_DB), readReplica], deletionProtectionOff: [readReplica] })).to.deep.equal([]);
        // The monthly database drill may reboot the new generation (its FIS role names the instance), not the old one.
        const fisPolicy = String(back.resources.find((r) => r.type === AWS_TYPES.iamRolePolicy && r.name === "genie-dr-drills-fis")!.props.policy);
        expect(fisPolicy).to.include("db:genie-dr-db-g2\"").and.not.include("db:genie-dr-db\"");
        // The Region switch plan promotes the new replica at the next failover.
        const plan = back.resources.find((r) => r.type === AWS_TYPES.regionSwitchPlan)!;
        expect(JSON.stringify(plan.props.workflows)).to.include("arn:aws:rds:us-west-2:123456789012:db:genie-dr-db-g2").and.not.include("db:genie-dr-db\"");
        // And the cycle goes on: generation 2 promoted, then generation 3.
        const activeAgain = await stackWith("dr", { config: { siteRole: "active", dbGeneration: "2" } });
        expect(checkTransition(back.resources, activeAgain.resources)).to.deep.equal([]);
    });

    it("a new generation declared on an active site (never a replica) is refused: RDS cannot create an instance with no engine and no source", async () => {
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const skipped = await stackWith("dr", { config: { siteRole: "active", dbGeneration: "2" } });
        const unprotected = active.resources.filter((r) => r.type === AWS_TYPES.dbInstance).map((r) => r.urn);
        const lifted = { unprotected, deletionProtectionOff: unprotected };
        expect(rules(checkTransition(active.resources, skipped.resources, lifted))).to.deep.equal([`rds-create-needs-source ${DR_DB}-g2`]);
        // Restoring the next generation from backups is a create with a source: allowed.
        const restored = await stackWith("dr", { config: { siteRole: "active", dbGeneration: "2", dbRecoverySource: "latest-backup" } });
        expect(checkTransition(active.resources, restored.resources, lifted)).to.deep.equal([]);
    });

    it("a change of replica source is refused too; removing it (promotion) is not", async () => {
        const standby = (await stack("dr")).resources;
        const otherSource = copy(standby);
        otherSource.find((r) => r.name === DR_DB)!.props.replicateSourceDb = "arn:aws:rds:us-east-1:123456789012:db:another";
        expect(rules(checkTransition(standby, otherSource))).to.deep.equal([`rds-cannot-elect-new-source ${DR_DB}`]);
        const promoted = copy(standby);
        delete promoted.find((r) => r.name === DR_DB)!.props.replicateSourceDb;
        expect(checkTransition(standby, promoted)).to.deep.equal([]);
        // What AWS reports for a same-region source (its identifier) against the ARN the program gives: the
        // provider suppresses that diff (instanceReplicateSourceDBSuppressDiff), so it is no change of source.
        const production = (await stack("production")).resources;
        const readReplica = (rs: RecordedResource[]) => rs.find((r) => r.name === "genie-primary-db-read-replica")!;
        const reportedById = copy(production);
        readReplica(reportedById).props.replicateSourceDb = "genie-primary-db";
        expect(readReplica(production).props.replicateSourceDb).to.equal("arn:aws:rds:us-east-1:123456789012:db:genie-primary-db");
        expect(checkTransition(reportedById, production)).to.deep.equal([]);
        readReplica(reportedById).props.replicateSourceDb = "another-db";
        expect(rules(checkTransition(reportedById, production))).to.deep.equal(["rds-cannot-elect-new-source genie-primary-db-read-replica"]);
    });

    it("a restored database whose declared key differs from what the restore used would be replaced: refused while protected (item 15)", async () => {
        const restored = (await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup" } })).resources;
        // What AWS reports after the restore: the key of the replicated backups (the declared one, since the fix).
        const production = await stack("production");
        const backupsKey = production.resources.find((r) => r.name === "genie-primary-db-dr-backups")!.props.kmsKeyId;
        const reported = copy(restored);
        reported.find((r) => r.name === DR_DB)!.props.kmsKeyId = backupsKey;
        expect(checkTransition(reported, restored)).to.deep.equal([]);
        // The original input: the DR site's own key declared, while the restore used the backups' key.
        const declaredSiteKey = copy(restored);
        declaredSiteKey.find((r) => r.name === DR_DB)!.props.kmsKeyId = "arn:aws:kms:us-west-2:123456789012:key/genie-dr-key-key-key-id";
        const violations = checkTransition(reported, declaredSiteKey);
        // (The program's final-snapshot suffix keeps the key it declared: the replacement would also reuse its name.)
        expect(rules(violations)).to.deep.equal([`no-replacement-of-protected ${DR_DB}`, `rds-final-snapshot-reused ${DR_DB}`]);
        expect(violations[0].message).to.match(/changing kmsKeyId replaces this protected resource/);
    });

    it("a ForceNew input the provider also computes is no change when only one side declares it; two declared values that differ are (A2)", () => {
        const db = (props: Record<string, unknown>, protect = true): RecordedResource => ({
            urn: "urn:pulumi:dr::genie-infra::aws:rds/instance:Instance::db",
            type: INSTANCE,
            name: "db",
            custom: true,
            props,
            secretProps: [],
            outputs: {},
            opts: { protect, retainOnDelete: false, dependsOn: [], deleteBeforeReplace: false, ignoreChanges: [] },
        });
        const base = { identifier: "db", instanceClass: "db.t4g.medium", kmsKeyId: "k1", storageEncrypted: true };
        // Read puts AWS's engine in the state: declaring it later (or no longer) plans no change.
        expect(checkTransition([db(base)], [db({ ...base, engine: "postgres" })])).to.deep.equal([]);
        expect(checkTransition([db({ ...base, engine: "postgres" })], [db(base)])).to.deep.equal([]);
        const { kmsKeyId: _k, ...unkeyed } = base;
        expect(checkTransition([db(unkeyed)], [db(base)])).to.deep.equal([]);
        // Two declared values: the provider replaces.
        const changedKey = checkTransition([db(base)], [db({ ...base, kmsKeyId: "k2" })]);
        expect(rules(changedKey)).to.deep.equal(["no-replacement-of-protected db"]);
        expect(changedKey[0].message).to.include('kmsKeyId: "k1" -> "k2"');
        expect(rules(checkTransition([db({ ...base, engine: "postgres" })], [db({ ...base, engine: "mysql" })]))).to.deep.equal(["no-replacement-of-protected db"]);
        // Not computed: restoreToPointInTime from nothing to a value is a new instance.
        expect(rules(checkTransition([db(base)], [db({ ...base, restoreToPointInTime: { useLatestRestorableTime: true } })]))).to.deep.equal(["no-replacement-of-protected db"]);
    });

    it("dr standby -> restored from backups (the replica broken or lagging) replaces the protected genie-dr-db: refused, see the README's procedure (A4)", async () => {
        const standby = (await stack("dr")).resources;
        for (const config of [
            { siteRole: "active", dbRecoverySource: "latest-backup" },
            { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "2026-11-30T01:15:00Z" },
        ]) {
            const restored = (await stackWith("dr", { config })).resources;
            const violations = checkTransition(standby, restored).filter((v) => v.name === DR_DB);
            expect(rules(violations), config.dbRecoverySource).to.deep.equal([`no-replacement-of-protected ${DR_DB}`]);
            // What really forces it: the restore itself and the backups' key. Not the engine the replica never declared
            // (AWS's "postgres" is in the state since the first Read).
            expect(violations[0].message).to.match(/^changing kmsKeyId, restoreToPointInTime replaces/);
            expect(violations[0].message).not.to.include("engine");
        }
    });

    it("a replacement whose new instance names the same final snapshot as the one it replaces: refused, its own delete would fail (A1)", async () => {
        const promoted = (await stackWith("dr", { config: { siteRole: "active" } })).resources;
        const restored = (await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup" } })).resources;
        const db = (rs: RecordedResource[]) => rs.find((r) => r.name === DR_DB)!;
        // Today: another incarnation, another name (the suffix's keepers hold the role and the key).
        expect(db(promoted).props.finalSnapshotIdentifier).not.to.equal(db(restored).props.finalSnapshotIdentifier);
        expect(rules(checkTransition(promoted, restored))).not.to.include(`rds-final-snapshot-reused ${DR_DB}`);
        // The original input: one fixed name for every incarnation.
        const fixedBefore = copy(promoted);
        const fixedAfter = copy(restored);
        db(fixedBefore).props.finalSnapshotIdentifier = "genie-dr-db-final";
        db(fixedAfter).props.finalSnapshotIdentifier = "genie-dr-db-final";
        const violations = checkTransition(fixedBefore, fixedAfter).filter((v) => v.rule === "rds-final-snapshot-reused");
        expect(rules(violations)).to.deep.equal([`rds-final-snapshot-reused ${DR_DB}`]);
        expect(violations[0].message).to.include("genie-dr-db-final");
        // Not a replacement (a promotion): the final snapshot is not taken, nothing is reused.
        const standby = (await stack("dr")).resources;
        expect(rules(checkTransition(standby, promoted))).to.deep.equal([]);
    });

    it("inputs under ignoreChanges keep their old value, as the engine plans them", async () => {
        const declared = (await stack("production")).resources;
        const db = (rs: RecordedResource[]) => rs.find((r) => r.name === "genie-primary-db-instance")!;
        const reported = copy(declared);
        db(reported).props.kmsKeyId = "arn:aws:kms:us-east-1:123456789012:key/another";
        // (A key drifted in AWS leaves the declared keepers, hence the final snapshot's name, unchanged: reused by the replacement.)
        expect(rules(checkTransition(reported, declared))).to.deep.equal(["no-replacement-of-protected genie-primary-db-instance", "rds-final-snapshot-reused genie-primary-db-instance"]);
        const ignoring = copy(declared);
        db(ignoring).opts.ignoreChanges = [...db(ignoring).opts.ignoreChanges, "kmsKeyId"];
        expect(checkTransition(reported, ignoring)).to.deep.equal([]);
        // The database ignores what AWS Backup owns once its continuous rule selects it (item 13): a refresh reads
        // AWS Backup's window and retention back, and the next pulumi up plans no ModifyDBInstance for them.
        expect(db(declared).opts.ignoreChanges).to.include.members(["backupWindow", "backupRetentionPeriod"]);
    });

    it("a new point-in-time window replaces the protected automated-backups replication (every input is ForceNew): refused, said before pulumi up", async () => {
        const before = (await stack("production")).resources;
        const after = (await stackWith("production", { config: { dbPointInTimeRetentionDays: "35" } })).resources;
        expect(rules(checkTransition(before, after))).to.deep.equal(["no-replacement-of-protected genie-primary-db-dr-backups"]);
    });

    it("a vault's notifications moved to another topic are replaced delete-first; create-first the old delete would remove the new configuration", async () => {
        const before = copy((await stack("production")).resources);
        const after = copy(before);
        const notifications = after.filter((r) => r.type === AWS_TYPES.backupVaultNotifications);
        expect(notifications.length, "production's vaults send notifications").to.be.greaterThan(0);
        for (const n of notifications) n.props.snsTopicArn = `${n.props.snsTopicArn}-moved`;
        // As declared: deleteBeforeReplace, so the replacement is safe.
        expect(checkTransition(before, after)).to.deep.equal([]);
        // Without it (what a stack deployed before this change would do on its first move): refused.
        for (const n of notifications) n.opts.deleteBeforeReplace = false;
        expect(rules(checkTransition(before, after))).to.deep.equal(notifications.map((n) => `replace-singleton-delete-first ${n.name}`));
    });
});

