import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { AwsRuleViolation, checkAwsRules } from "../../offline/aws-rules";
import { rules as rdsRules } from "../../offline/aws-rules/rds";
import { RecordedResource } from "../../offline/mock-runtime";
import { stack, stackWith } from "../support/stacks";
import { violationsOf } from "../support/aws-rules";

const KEY_EAST = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
const KEY_WEST = "arn:aws:kms:us-west-2:123456789012:key/22222222-2222-2222-2222-222222222222";
const OTHER_KEY_WEST = "arn:aws:kms:us-west-2:123456789012:key/33333333-3333-3333-3333-333333333333";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program);
const ids = (vs: AwsRuleViolation[]) => vs.map((v) => `${v.rule} ${v.name}`);

function east() {
    return new aws.Provider("east", { region: "us-east-1" });
}
function west() {
    return new aws.Provider("west", { region: "us-west-2" });
}

/** A standalone, encrypted PostgreSQL source with automated backups and a final snapshot. */
function source(provider: aws.Provider, extra: Partial<aws.rds.InstanceArgs> = {}) {
    return new aws.rds.Instance("src", {
        identifier: "src",
        engine: "postgres",
        engineVersion: "15",
        instanceClass: "db.t4g.medium",
        allocatedStorage: 20,
        username: "genie",
        password: "not-a-real-password",
        storageEncrypted: true,
        kmsKeyId: KEY_EAST,
        backupRetentionPeriod: 7,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: "src-final",
        ...extra,
    }, { provider });
}

describe("offline AWS rules: RDS", () => {
    it("rds-replica-subnet-group-needs-arn: a same-region replica given a subnet group must name its source by ARN (item 1)", async () => {
        const program = (useArn: boolean) => () => {
            const p = east();
            const subnets = new aws.rds.SubnetGroup("subnets", { subnetIds: ["subnet-a", "subnet-b"] }, { provider: p });
            const src = source(p, { dbSubnetGroupName: subnets.name });
            new aws.rds.Instance("replica", {
                identifier: "replica",
                instanceClass: "db.t4g.medium",
                replicateSourceDb: useArn ? src.arn : src.identifier,
                dbSubnetGroupName: subnets.name,
                storageEncrypted: true,
                skipFinalSnapshot: true,
            }, { provider: p });
        };
        // The original input: the identifier, with the subnet group (DBSubnetGroupNotAllowedFault).
        expect(ids(await refusals(program(false)))).to.deep.equal(["rds-replica-subnet-group-needs-arn replica"]);
        expect(await refusals(program(true))).to.deep.equal([]);
    });

    it("rds-replica-no-final-snapshot: a replica must not name a final snapshot, and must skip it (item 2)", async () => {
        const program = (deleteSettings: Partial<aws.rds.InstanceArgs>) => () => {
            const p = east();
            const src = source(p);
            new aws.rds.Instance("replica", { identifier: "replica", instanceClass: "db.t4g.medium", replicateSourceDb: src.arn, storageEncrypted: true, ...deleteSettings }, { provider: p });
        };
        // The original input: the replica with a final snapshot identifier (the provider doc: "Must not be provided when deleting a read replica").
        expect(ids(await refusals(program({ skipFinalSnapshot: false, finalSnapshotIdentifier: "replica-final" })))).to.deep.equal(["rds-replica-no-final-snapshot replica"]);
        // skipFinalSnapshot left at its default (false): the provider's delete refuses without an identifier.
        expect(ids(await refusals(program({})))).to.deep.equal(["rds-replica-no-final-snapshot replica"]);
        expect(await refusals(program({ skipFinalSnapshot: true }))).to.deep.equal([]);
    });

    it("rds-final-snapshot-needs-identifier: a standalone instance taking a final snapshot names a valid one", async () => {
        expect(ids(await refusals(() => void source(east(), { finalSnapshotIdentifier: undefined })))).to.deep.equal(["rds-final-snapshot-needs-identifier src"]);
        expect(ids(await refusals(() => void source(east(), { finalSnapshotIdentifier: "src--final" })))).to.deep.equal(["rds-final-snapshot-needs-identifier src"]);
        expect(await refusals(() => void source(east(), { finalSnapshotIdentifier: undefined, skipFinalSnapshot: true }))).to.deep.equal([]);
    });

    it("rds-final-snapshot-name-unique: two instances of one account and region may not name the same final snapshot (A1)", async () => {
        const program = (otherName: string, otherRegion: "east" | "west") => () => {
            source(east(), { finalSnapshotIdentifier: "db-final" });
            new aws.rds.Instance("other", {
                identifier: "other", engine: "postgres", engineVersion: "15", instanceClass: "db.t4g.medium", allocatedStorage: 20, username: "genie", password: "x",
                storageEncrypted: true, kmsKeyId: otherRegion === "east" ? KEY_EAST : KEY_WEST, backupRetentionPeriod: 7, skipFinalSnapshot: false, finalSnapshotIdentifier: otherName,
            }, { provider: otherRegion === "east" ? east() : west() });
        };
        // The second delete fails with DBSnapshotAlreadyExists: both are named, in the message of each.
        expect(ids(await refusals(program("db-final", "east")))).to.deep.equal(["rds-final-snapshot-name-unique src", "rds-final-snapshot-name-unique other"]);
        // Snapshot names are per region, and distinct names are fine.
        expect(await refusals(program("db-final", "west"))).to.deep.equal([]);
        expect(await refusals(program("other-final", "east"))).to.deep.equal([]);
        // The production and dr stacks together (the rule's context for a dr evaluation) pass.
        const production = await stack("production");
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(checkAwsRules([...production.resources, ...active.resources], rdsRules).filter((v) => v.rule === "rds-final-snapshot-name-unique")).to.deep.equal([]);
    });

    it("rds-engine-version-major-with-auto-minor-upgrade: a pinned minor with automatic minor upgrades is refused (item 3)", async () => {
        // The original input: "15.10" with autoMinorVersionUpgrade on (the provider's default too).
        expect(ids(await refusals(() => void source(east(), { engineVersion: "15.10", autoMinorVersionUpgrade: true })))).to.deep.equal(["rds-engine-version-major-with-auto-minor-upgrade src"]);
        expect(ids(await refusals(() => void source(east(), { engineVersion: "16.4" })))).to.deep.equal(["rds-engine-version-major-with-auto-minor-upgrade src"]);
        expect(await refusals(() => void source(east(), { engineVersion: "15", autoMinorVersionUpgrade: true }))).to.deep.equal([]);
        // Pinning is a choice when automatic upgrades are off.
        expect(await refusals(() => void source(east(), { engineVersion: "15.10", autoMinorVersionUpgrade: false }))).to.deep.equal([]);
    });

    it("rds-cross-region-replica-needs-kms-key and rds-same-region-replica-no-kms-key: the key a replica may name", async () => {
        const program = (region: "east" | "west", kmsKeyId?: string) => () => {
            const src = source(east());
            new aws.rds.Instance("replica", { identifier: "replica", instanceClass: "db.t4g.medium", replicateSourceDb: src.arn, storageEncrypted: true, skipFinalSnapshot: true, kmsKeyId }, { provider: region === "east" ? east() : west() });
        };
        expect(ids(await refusals(program("west")))).to.deep.equal(["rds-cross-region-replica-needs-kms-key replica"]);
        expect(await refusals(program("west", KEY_WEST))).to.deep.equal([]);
        expect(ids(await refusals(program("east", KEY_EAST)))).to.deep.equal(["rds-same-region-replica-no-kms-key replica"]);
        expect(await refusals(program("east"))).to.deep.equal([]);
    });

    it("rds-replica-source-needs-backups: a replica's or a backup replication's source keeps automated backups", async () => {
        const program = (retention: number | undefined) => () => {
            const p = east();
            const src = source(p, { backupRetentionPeriod: retention });
            new aws.rds.InstanceAutomatedBackupsReplication("dr-backups", { sourceDbInstanceArn: src.arn, kmsKeyId: KEY_WEST, retentionPeriod: 7 }, { provider: west() });
        };
        expect(ids(await refusals(program(0)))).to.deep.equal(["rds-replica-source-needs-backups src"]);
        expect(ids(await refusals(program(undefined)))).to.deep.equal(["rds-replica-source-needs-backups src"]);
        expect(await refusals(program(7))).to.deep.equal([]);
    });

    it("rds-restore-keeps-source-key: a database restored from replicated automated backups declares their key (item 15)", async () => {
        const program = (declared: string) => () => {
            const src = source(east());
            const replication = new aws.rds.InstanceAutomatedBackupsReplication("dr-backups", { sourceDbInstanceArn: src.arn, kmsKeyId: KEY_WEST, retentionPeriod: 7 }, { provider: west() });
            new aws.rds.Instance("restored", {
                identifier: "restored",
                engine: "postgres",
                engineVersion: "15",
                instanceClass: "db.t4g.medium",
                storageEncrypted: true,
                kmsKeyId: declared,
                restoreToPointInTime: { sourceDbInstanceAutomatedBackupsArn: replication.id, useLatestRestorableTime: true },
                skipFinalSnapshot: false,
                finalSnapshotIdentifier: "restored-final",
            }, { provider: west() });
        };
        // The original input: the restoring site's own key, which the restore cannot apply.
        expect(ids(await refusals(program(OTHER_KEY_WEST)))).to.deep.equal(["rds-restore-keeps-source-key restored"]);
        expect(await refusals(program(KEY_WEST))).to.deep.equal([]);
    });

    it("rds-restore-keeps-source-key across the two stacks: the dr stack's restored database and the production stack's backup replication", async () => {
        const production = await stack("production");
        const dr = await stackWith("dr", { config: { siteRole: "active", dbRecoverySource: "latest-backup" } });
        // The replication lives in the production stack: the rule sees it when both stacks' resources are its context.
        expect(checkAwsRules([...production.resources, ...dr.resources], rdsRules)).to.deep.equal([]);
        // The original input: the DR site's own key (the kmsKeyArn output of the dr stack).
        const bad = JSON.parse(JSON.stringify(dr.resources)) as RecordedResource[];
        const db = bad.find((r) => r.name === "genie-dr-db-instance")!;
        db.props.kmsKeyId = dr.outputs.kmsKeyArn;
        expect(checkAwsRules([...production.resources, ...bad], rdsRules).map((v) => `${v.rule} ${v.name}`)).to.deep.equal(["rds-restore-keeps-source-key genie-dr-db-instance"]);
    });

    it("rds-backup-settings-owned-by-aws-backup: an instance under a continuous-backup rule leaves its backup window and retention to AWS Backup (item 13)", async () => {
        const program = (continuous: boolean) => () => {
            const p = east();
            source(p, { backupWindow: "02:00-02:30", tags: { "backup-plan": "genie-test" } });
            const plan = new aws.backup.Plan("plan", {
                name: "plan",
                rules: [{ ruleName: "continuous", targetVaultName: "vault", schedule: "cron(0 3 * * ? *)", enableContinuousBackup: continuous, lifecycle: { deleteAfter: 30 } }],
            }, { provider: p });
            new aws.backup.Selection("selection", {
                name: "by-tag",
                planId: plan.id,
                iamRoleArn: "arn:aws:iam::123456789012:role/backup",
                selectionTags: [{ type: "STRINGEQUALS", key: "backup-plan", value: "genie-test" }],
            }, { provider: p });
        };
        // Declared and not ignored: refresh shows AWS Backup's values, and the update back is refused.
        expect(ids(await refusals(program(true)))).to.deep.equal(["rds-backup-settings-owned-by-aws-backup src"]);
        // A snapshot-only plan leaves them to RDS.
        expect(await refusals(program(false))).to.deep.equal([]);
        // The declared stack ignores them: it evaluates (with every rule) and its database is under the continuous rule.
        const db = (await stack("production")).resources.find((r) => r.name === "genie-primary-db-instance")!;
        expect(db.opts.ignoreChanges).to.include.members(["backupWindow", "backupRetentionPeriod"]);
    });

    it("ignoring the AWS Backup-owned inputs satisfies rds-backup-settings-owned-by-aws-backup", async () => {
        const violations = await refusals(() => {
            const p = east();
            new aws.rds.Instance("src", {
                identifier: "src", engine: "postgres", engineVersion: "15", instanceClass: "db.t4g.medium", allocatedStorage: 20, username: "genie", password: "x",
                storageEncrypted: true, kmsKeyId: KEY_EAST, backupRetentionPeriod: 30, backupWindow: "02:00-02:30", skipFinalSnapshot: false, finalSnapshotIdentifier: "src-final",
                tags: { "backup-plan": "genie-test" },
            }, { provider: p, ignoreChanges: ["backupWindow", "backupRetentionPeriod"] });
            const plan = new aws.backup.Plan("plan", { name: "plan", rules: [{ ruleName: "continuous", targetVaultName: "vault", schedule: "cron(0 3 * * ? *)", enableContinuousBackup: true, lifecycle: { deleteAfter: 30 } }] }, { provider: p });
            new aws.backup.Selection("selection", { name: "by-tag", planId: plan.id, iamRoleArn: "arn:aws:iam::123456789012:role/backup", selectionTags: [{ type: "STRINGEQUALS", key: "backup-plan", value: "genie-test" }] }, { provider: p });
        });
        expect(violations).to.deep.equal([]);
    });
});
