import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { AwsRuleViolation } from "../../offline/aws-rules";
import { DEPRECATED_VAULT_EVENTS, SUPPORTED_VAULT_EVENTS } from "../../offline/aws-rules/backup";
import { VAULT_ALERT_EVENTS } from "../../components/backup-plan";
import { violationsOf } from "../support/aws-rules";

const DR_VAULT_ARN = "arn:aws:backup:us-west-2:123456789012:backup-vault:dr-vault";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program);
const ids = (vs: AwsRuleViolation[]) => vs.map((v) => `${v.rule} ${v.name}`);
const east = () => new aws.Provider("east", { region: "us-east-1" });

const snapshotRule = { ruleName: "every-6h", targetVaultName: "vault", schedule: "cron(0 0/6 * * ? *)", lifecycle: { deleteAfter: 30 } };
const continuousRule = { ruleName: "continuous", targetVaultName: "vault", schedule: "cron(0 3 * * ? *)", enableContinuousBackup: true, lifecycle: { deleteAfter: 30 } };

describe("offline AWS rules: AWS Backup", () => {
    it("backup-continuous-rule-retention: a continuous rule keeps 1 to 35 days and no cold storage (item 13)", async () => {
        const plan = (rule: Record<string, unknown>) => () => void new aws.backup.Plan("plan", { name: "plan", rules: [snapshotRule, rule as any] }, { provider: east() });
        expect(ids(await refusals(plan({ ...continuousRule, lifecycle: { deleteAfter: 60 } })))).to.deep.equal(["backup-continuous-rule-retention plan"]);
        expect(ids(await refusals(plan({ ...continuousRule, lifecycle: undefined })))).to.deep.equal(["backup-continuous-rule-retention plan"]);
        expect(ids(await refusals(plan({ ...continuousRule, lifecycle: { deleteAfter: 35, coldStorageAfter: 7 } })))).to.deep.equal(["backup-continuous-rule-retention plan"]);
        expect(await refusals(plan(continuousRule))).to.deep.equal([]);
        // The same retention on a snapshot rule is fine.
        expect(await refusals(plan({ ...snapshotRule, ruleName: "daily", lifecycle: { deleteAfter: 60 } }))).to.deep.equal([]);
    });

    it("backup-rule-within-vault-lock: a rule or a copy kept less than the target vault's lock minimum fails every job", async () => {
        const program = (continuousDays: number, copyDays: number) => () => {
            const p = east();
            const west = new aws.Provider("west", { region: "us-west-2" });
            const vault = new aws.backup.Vault("vault", { name: "vault" }, { provider: p });
            new aws.backup.VaultLockConfiguration("lock", { backupVaultName: vault.name, minRetentionDays: 30, maxRetentionDays: 3653 }, { provider: p });
            const drVault = new aws.backup.Vault("dr-vault", { name: "dr-vault" }, { provider: west });
            new aws.backup.VaultLockConfiguration("dr-lock", { backupVaultName: drVault.name, minRetentionDays: 30, maxRetentionDays: 3653 }, { provider: west });
            new aws.backup.Plan("plan", {
                name: "plan",
                rules: [
                    { ...snapshotRule, targetVaultName: vault.name, copyActions: [{ destinationVaultArn: drVault.arn, lifecycle: { deleteAfter: copyDays } }] },
                    { ...continuousRule, targetVaultName: vault.name, lifecycle: { deleteAfter: continuousDays } },
                ],
            }, { provider: p });
        };
        // The original configuration this change refuses: a 14-day point-in-time window, in a vault locked at 30.
        const refused = await refusals(program(14, 7));
        expect(ids(refused)).to.deep.equal(["backup-rule-within-vault-lock plan", "backup-rule-within-vault-lock plan"]);
        expect(refused.map((v) => v.message).join("\n")).to.match(/rule continuous: its backups are kept 14 days, below the lock's minRetentionDays 30/).and.to.match(/its copies are kept 7 days/);
        expect(await refusals(program(30, 30))).to.deep.equal([]);
    });

    it("backup-role-can-delete-snapshots: the selection's role may delete AWS Backup's RDS snapshots (expiry, copies)", async () => {
        const program = (policies: string[]) => () => {
            const p = east();
            const role = new aws.iam.Role("backup-role", {
                assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
            }, { provider: p });
            for (const policy of policies) new aws.iam.RolePolicyAttachment(`backup-role-${policy.split("/").pop()}`, { role: role.name, policyArn: policy }, { provider: p });
            const plan = new aws.backup.Plan("plan", { name: "plan", rules: [{ ...snapshotRule, copyActions: [{ destinationVaultArn: DR_VAULT_ARN, lifecycle: { deleteAfter: 30 } }] }] }, { provider: p });
            new aws.backup.Selection("selection", { name: "by-tag", planId: plan.id, iamRoleArn: role.arn, selectionTags: [{ type: "STRINGEQUALS", key: "backup-plan", value: "x" }] }, { provider: p });
        };
        expect(ids(await refusals(program(["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"])))).to.deep.equal(["backup-role-can-delete-snapshots selection"]);
        expect(await refusals(program(["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"]))).to.deep.equal([]);
    });

    it("backup-restore-test-rds-target: an RDS restore test names the subnet group and security groups it restores into (item 14)", async () => {
        const program = (overrides: Record<string, string> | undefined) => () => {
            const p = east();
            const plan = new aws.backup.RestoreTestingPlan("weekly", {
                name: "genie_weekly",
                scheduleExpression: "cron(0 6 ? * MON *)",
                recoveryPointSelection: { algorithm: "LATEST_WITHIN_WINDOW", includeVaults: ["*"], recoveryPointTypes: ["SNAPSHOT"], selectionWindowDays: 7 },
            }, { provider: p });
            new aws.backup.RestoreTestingSelection("weekly-database", {
                name: "genie_weekly_database",
                restoreTestingPlanName: plan.name,
                protectedResourceType: "RDS",
                protectedResourceArns: ["*"],
                iamRoleArn: "arn:aws:iam::123456789012:role/restore-testing",
                validationWindowHours: 24,
                restoreMetadataOverrides: overrides,
            }, { provider: p });
        };
        // The original input: no overrides (AWS Backup infers the default VPC).
        const refused = await refusals(program(undefined));
        expect(ids(refused)).to.deep.equal(["backup-restore-test-rds-target weekly-database", "backup-restore-test-rds-target weekly-database"]);
        expect(refused[0].message).to.match(/restores into the default VPC/);
        // A list that is not JSON text.
        expect(ids(await refusals(program({ dbSubnetGroupName: "genie-db-subnets", vpcSecurityGroupIds: "sg-0123" })))).to.deep.equal(["backup-restore-test-rds-target weekly-database"]);
        // Keys are not case sensitive.
        expect(await refusals(program({ DBSubnetGroupName: "genie-db-subnets", vpcSecurityGroupIds: JSON.stringify(["sg-0123"]) }))).to.deep.equal([]);
    });

    describe("vault notifications (issue 12, item 10: modified recovery points and failed copies reach nobody)", () => {
        /** A vault notifying a topic whose access policy is `statement` (none: the topic's default policy). */
        const program = (events: string[], statement?: Record<string, unknown>, topicArgs: Partial<aws.sns.TopicArgs> = {}) => () => {
            const p = east();
            const vault = new aws.backup.Vault("vault", { name: "vault" }, { provider: p });
            const topic = new aws.sns.Topic("alerts-high", { name: "alerts-high", ...topicArgs }, { provider: p });
            if (statement) {
                new aws.sns.TopicPolicy("alerts-high", {
                    arn: topic.arn,
                    policy: topic.arn.apply((arn) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "SNS:Publish", Resource: arn, ...statement }] })),
                }, { provider: p });
            }
            new aws.backup.VaultNotifications("vault-notifications", { backupVaultName: vault.name, snsTopicArn: topic.arn, backupVaultEvents: events }, { provider: p });
        };
        const backupMayPublish = { Principal: { Service: "backup.amazonaws.com" } };

        it("backup-vault-notifications-events: refuses deprecated events (never sent) and values that are no vault event", async () => {
            // The deprecated events a first version would pick for "failures": AWS never sends them.
            const deprecated = await refusals(program(["BACKUP_JOB_FAILED", "RESTORE_JOB_FAILED"], backupMayPublish));
            expect(ids(deprecated)).to.deep.equal(["backup-vault-notifications-events vault-notifications", "backup-vault-notifications-events vault-notifications"]);
            expect(deprecated.map((v) => v.message).join("\n")).to.match(/BACKUP_JOB_FAILED, RESTORE_JOB_FAILED: deprecated/).and.to.match(/notifies nobody/);
            expect(ids(await refusals(program(["RECOVERY_POINT_CHANGED"], backupMayPublish)))).to.deep.equal(["backup-vault-notifications-events vault-notifications"]);
            expect(await refusals(program([...VAULT_ALERT_EVENTS], backupMayPublish))).to.deep.equal([]);
        });

        it("backup-vault-notifications-topic-accepts-backup: the topic's access policy lets backup.amazonaws.com publish as AWS Backup documents; no FIFO topic", async () => {
            const events = ["RECOVERY_POINT_MODIFIED", "COPY_JOB_FAILED"];
            // The topic's default policy (no TopicPolicy): AWS Backup is not let in.
            expect(ids(await refusals(program(events)))).to.deep.equal(["backup-vault-notifications-topic-accepts-backup vault-notifications"]);
            // A statement for other services only.
            expect(ids(await refusals(program(events, { Principal: { Service: "cloudwatch.amazonaws.com" } })))).to.deep.equal(["backup-vault-notifications-topic-accepts-backup vault-notifications"]);
            // Conditioned on the vault's account, as AWS Backup's confused-deputy guidance recommends: AWS Backup sends it.
            expect(await refusals(program(events, { ...backupMayPublish, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } }))).to.deep.equal([]);
            // Conditioned on another account: the vault's notifications are dropped.
            expect(ids(await refusals(program(events, { ...backupMayPublish, Condition: { StringEquals: { "aws:SourceAccount": "210987654321" } } })))).to.deep.equal([
                "backup-vault-notifications-topic-accepts-backup vault-notifications",
            ]);
            // AWS Backup's documented statement.
            expect(await refusals(program(events, backupMayPublish))).to.deep.equal([]);
            // A FIFO topic.
            const fifo = await refusals(program(events, backupMayPublish, { name: "alerts-high.fifo", fifoTopic: true }));
            expect(fifo.map((v) => v.message).join("\n")).to.match(/FIFO topic/);
        });

        it("the program's vault events are all supported, none deprecated", () => {
            for (const e of VAULT_ALERT_EVENTS) {
                expect(SUPPORTED_VAULT_EVENTS, e).to.include(e);
                expect(DEPRECATED_VAULT_EVENTS, e).to.not.include(e);
            }
        });
    });
});
