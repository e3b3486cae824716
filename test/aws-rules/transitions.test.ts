import { expect } from "chai";
import { RDS_REPLACE_ON_CHANGE } from "../../offline/aws-rules/rds";
import { checkTransition, REFUSED_UPDATES, REPLACE_ON_CHANGE } from "../../offline/aws-rules/transitions";
import { RecordedResource } from "../../offline/mock-runtime";
import { stack, stackWith } from "../support/stacks";

const INSTANCE = "aws:rds/instance:Instance";
const DR_DB = "genie-dr-db-instance";

const copy = (rs: RecordedResource[]): RecordedResource[] => JSON.parse(JSON.stringify(rs));
const rules = (vs: { rule: string; name: string }[]) => vs.map((v) => `${v.rule} ${v.name}`);

describe("offline AWS rules: transitions between evaluations", () => {
    it("an RDS instance's replace-on-change inputs are the provider's ForceNew attributes, in one place", () => {
        expect(REPLACE_ON_CHANGE[INSTANCE].inputs).to.equal(RDS_REPLACE_ON_CHANGE);
        for (const input of ["kmsKeyId", "storageEncrypted", "restoreToPointInTime", "identifier", "username", "engine"]) expect(RDS_REPLACE_ON_CHANGE).to.include(input);
        // Changed by the promotion, and not ForceNew: replicateSourceDb (removal promotes), the final-snapshot settings (state only).
        for (const input of ["replicateSourceDb", "skipFinalSnapshot", "finalSnapshotIdentifier", "instanceClass", "multiAz", "engineVersion"]) expect(RDS_REPLACE_ON_CHANGE).not.to.include(input);
        expect(REFUSED_UPDATES.map((r) => r.id)).to.include("rds-cannot-elect-new-source");
    });

    it("dr standby -> active promotes the replica in place: no replacement, no refused update, the final snapshot settings flip", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(checkTransition(standby.resources, active.resources)).to.deep.equal([]);
        const before = standby.resources.find((r) => r.name === DR_DB)!;
        const after = active.resources.find((r) => r.name === DR_DB)!;
        expect([before.props.skipFinalSnapshot, before.props.finalSnapshotIdentifier]).to.deep.equal([true, undefined]);
        expect([after.props.skipFinalSnapshot, after.props.finalSnapshotIdentifier]).to.deep.equal([false, "genie-dr-db-final"]);
    });

    it("dr active -> standby (the later issue's way back) is refused: replicateSourceDb cannot be set on a standalone instance", async () => {
        const standby = await stack("dr");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(rules(checkTransition(active.resources, standby.resources))).to.deep.equal([`rds-cannot-elect-new-source ${DR_DB}`]);
    });

    it("a change of replica source is refused too; removing it (promotion) is not", async () => {
        const standby = (await stack("dr")).resources;
        const otherSource = copy(standby);
        otherSource.find((r) => r.name === DR_DB)!.props.replicateSourceDb = "arn:aws:rds:us-east-1:123456789012:db:another";
        expect(rules(checkTransition(standby, otherSource))).to.deep.equal([`rds-cannot-elect-new-source ${DR_DB}`]);
        const promoted = copy(standby);
        delete promoted.find((r) => r.name === DR_DB)!.props.replicateSourceDb;
        expect(checkTransition(standby, promoted)).to.deep.equal([]);
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
        expect(rules(violations)).to.deep.equal([`no-replacement-of-protected ${DR_DB}`]);
        expect(violations[0].message).to.match(/changing kmsKeyId replaces this protected resource/);
    });

    it("inputs under ignoreChanges keep their old value, as the engine plans them", async () => {
        const declared = (await stack("production")).resources;
        const db = (rs: RecordedResource[]) => rs.find((r) => r.name === "genie-primary-db-instance")!;
        const reported = copy(declared);
        db(reported).props.kmsKeyId = "arn:aws:kms:us-east-1:123456789012:key/another";
        expect(rules(checkTransition(reported, declared))).to.deep.equal(["no-replacement-of-protected genie-primary-db-instance"]);
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
});
