import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { JOB_FILES, SCRIPTS_DIR } from "../components/scheduled-dump";
import { DR_PLAN } from "../infra/dr-plan";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { ofType, one, stack, stackWith } from "./support/stacks";

const commandsOf = (document: { props: Record<string, any> }): string[] => JSON.parse(document.props.content).mainSteps[0].inputs.runCommand;

describe("scheduled logical dump (the runbook on a schedule)", () => {
    it("installs exactly the repository's runbook on the instance: what runs is what was reviewed", async () => {
        const ev = await stack("production");
        const commands = commandsOf(one(ev, "aws:ssm/document:Document", "genie-primary-db-dump-runbook"));
        for (const file of JOB_FILES) {
            const line = commands.find((c) => c.endsWith(`> ${SCRIPTS_DIR}/${file}`))!;
            const packed = /^echo '([^']+)'/.exec(line)![1];
            expect(zlib.gunzipSync(Buffer.from(packed, "base64")).toString(), file).to.equal(fs.readFileSync(path.join(PROJECT_DIR, "scripts", file), "utf8"));
        }
        expect(commands[commands.length - 1]).to.equal(`${SCRIPTS_DIR}/backup.sh {{ command }}`);
    });

    it("dumps the site's database into the site's backups bucket, with the credentials from Secrets Manager", async () => {
        const ev = await stack("production");
        const commands = commandsOf(one(ev, "aws:ssm/document:Document", "genie-primary-db-dump-runbook")).join("\n");
        const db = one(ev, "aws:rds/instance:Instance", "genie-primary-db-instance");
        expect(commands).to.include(`PGHOST='${db.outputs.address}'`);
        expect(commands).to.include(`DB_SECRET_ID='${one(ev, "aws:secretsmanager/secret:Secret", "genie-primary-secrets-db-master").outputs.arn}'`);
        expect(commands).to.include("BACKUP_BUCKET='genie-primary-storage-backups-bucket'");
        expect(commands).to.include("PGSSLMODE=require");
        expect(commands).not.to.match(/PGPASSWORD|mock-secret/);
    });

    it("runs every 6 hours on the app group, one instance at a time, and only the group's leader dumps", async () => {
        const ev = await stack("production");
        const dump = one(ev, "aws:ssm/association:Association", "genie-primary-db-dump-dump");
        expect(dump.props.scheduleExpression).to.equal(`cron(30 0/${DR_PLAN.dbBackupIntervalHours} * * ? *)`);
        expect(dump.props.parameters).to.deep.equal({ command: "db-dump --kind auto" });
        expect(dump.props.maxConcurrency).to.equal("1");
        const group = ofType(ev, "aws:autoscaling/group:Group")[0];
        expect(dump.props.targets).to.deep.equal([{ key: "tag:aws:autoscaling:groupName", values: [group.outputs.name] }]);
        const commands = commandsOf(one(ev, "aws:ssm/document:Document", "genie-primary-db-dump-runbook")).join("\n");
        expect(commands).to.match(/if \[ "\$me" != "\$leader" \]; then .* exit 0; fi/);
        const verify = one(ev, "aws:ssm/association:Association", "genie-primary-db-dump-verify");
        expect(verify.props.parameters).to.deep.equal({ command: "verify --from-s3" });
        const tighter = await stackWith("production", { config: { backupIntervalHours: "2" } });
        expect(one(tighter, "aws:ssm/association:Association", "genie-primary-db-dump-dump").props.scheduleExpression).to.equal("cron(30 0/2 * * ? *)");
    });

    it("lets the instances read the database credentials and list only their backup prefixes", async () => {
        const ev = await stack("production");
        const policy = JSON.parse(one(ev, "aws:iam/rolePolicy:RolePolicy", "genie-primary-app-instance").props.policy);
        const secret = policy.Statement.find((s: any) => s.Sid === "DatabaseCredentialsForBackups");
        expect(secret.Resource).to.equal(one(ev, "aws:secretsmanager/secret:Secret", "genie-primary-secrets-db-master").outputs.arn);
        const list = policy.Statement.find((s: any) => s.Sid === "ListBackupPrefixes");
        expect(list.Condition.StringLike["s3:prefix"]).to.deep.equal(["db/daily/*", "db/weekly/*", "redis/*"]);
    });

    it("does not run on a standby DR site; an active one dumps into the landing zone's bucket with the replica credentials", async () => {
        expect(ofType(await stack("dr"), "aws:ssm/association:Association")).to.deep.equal([]);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const commands = commandsOf(one(active, "aws:ssm/document:Document", "genie-dr-db-dump-runbook")).join("\n");
        expect(commands).to.include("DB_SECRET_ID='genie/primary/db-master'");
        expect(commands).to.include("BACKUP_BUCKET='genie-primary-storage-dr-backups-bucket'");
        expect(commands).to.include("AWS_REGION='us-west-2'");
    });
});
