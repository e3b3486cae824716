import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { AL2023_POSTGRES_CLIENT_MAJORS, JOB_BACKUP_DIR, JOB_COMMANDS, JOB_FILES, JOB_LOCK_WAIT_SECONDS, postgresClientPackage, SCRIPTS_DIR } from "../components/scheduled-dump";
import { DR_PLAN } from "../infra/dr-plan";
import { PROJECT_DIR, StackEvaluation } from "../offline/mock-runtime";
import { ruleContext } from "../offline/aws-rules";
import { PolicyRequest, policyAllows, rolePolicyStatements, SSM_ASSOCIATION_INSTANCE_ACTIONS } from "../offline/aws-rules/iam-kms";
import { ofType, one, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const commandsOf = (document: { props: Record<string, any> }): string[] => JSON.parse(document.props.content).mainSteps[0].inputs.runCommand;

describe("scheduled logical dump (the runbook on a schedule)", () => {
    it("installs exactly the repository's runbook on the instance: what runs is what was reviewed", async () => {
        const ev = await stack("production");
        const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook"));
        for (const file of JOB_FILES) {
            const line = commands.find((c) => c.endsWith(`> ${SCRIPTS_DIR}/${file}`))!;
            const packed = /^echo '([^']+)'/.exec(line)![1];
            expect(zlib.gunzipSync(Buffer.from(packed, "base64")).toString(), file).to.equal(fs.readFileSync(path.join(PROJECT_DIR, "scripts", file), "utf8"));
        }
        expect(commands[commands.length - 1]).to.equal(`${SCRIPTS_DIR}/backup.sh {{ command }}`);
    });

    it("dumps the site's database into the site's backups bucket, with the credentials from Secrets Manager", async () => {
        const ev = await stack("production");
        const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook")).join("\n");
        const db = one(ev, AWS_TYPES.dbInstance, "genie-primary-db-instance");
        expect(commands).to.include(`PGHOST='${db.outputs.address}'`);
        expect(commands).to.include(`DB_SECRET_ID='${one(ev, AWS_TYPES.secret, "genie-primary-secrets-db-master").outputs.arn}'`);
        expect(commands).to.include("BACKUP_BUCKET='genie-primary-storage-backups-bucket'");
        expect(commands).to.include("PGSSLMODE=require");
        expect(commands).not.to.match(/PGPASSWORD|mock-secret/);
    });

    it("runs every 6 hours on the app group, one instance at a time, and only the group's leader dumps", async () => {
        const ev = await stack("production");
        const dump = one(ev, AWS_TYPES.ssmAssociation, "genie-primary-db-dump-dump");
        expect(dump.props.scheduleExpression).to.equal(`cron(30 0/${DR_PLAN.dbBackupIntervalHours} * * ? *)`);
        expect(dump.props.parameters).to.deep.equal({ command: "db-dump --kind auto" });
        expect(dump.props.maxConcurrency).to.equal("1");
        const group = ofType(ev, AWS_TYPES.autoscalingGroup)[0];
        expect(dump.props.targets).to.deep.equal([{ key: "tag:aws:autoscaling:groupName", values: [group.outputs.name] }]);
        const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook")).join("\n");
        expect(commands).to.match(/if \[ "\$me" != "\$leader" \]; then .* exit 0; fi/);
        const verify = one(ev, AWS_TYPES.ssmAssociation, "genie-primary-db-dump-verify");
        expect(verify.props.parameters).to.deep.equal({ command: "verify --from-s3 --deep" });
        const tighter = await stackWith("production", { config: { backupIntervalHours: "2" } });
        expect(one(tighter, AWS_TYPES.ssmAssociation, "genie-primary-db-dump-dump").props.scheduleExpression).to.equal("cron(30 0/2 * * ? *)");
    });

    it("lets the instances read the database credentials and list only their backup prefixes", async () => {
        const ev = await stack("production");
        const policy = JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, "genie-primary-app-instance").props.policy);
        const secret = policy.Statement.find((s: any) => s.Sid === "DatabaseCredentialsForBackups");
        expect(secret.Resource).to.equal(one(ev, AWS_TYPES.secret, "genie-primary-secrets-db-master").outputs.arn);
        const list = policy.Statement.find((s: any) => s.Sid === "ListBackupPrefixes");
        expect(list.Condition.StringLikeIfExists["s3:prefix"]).to.deep.equal(["db/", "db/daily/*", "db/weekly/*", "redis/*"]);
    });

    it("does not run on a standby DR site; an active one dumps into the landing zone's bucket with the replica credentials", async () => {
        expect(ofType(await stack("dr"), AWS_TYPES.ssmAssociation)).to.deep.equal([]);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        const commands = commandsOf(one(active, AWS_TYPES.ssmDocument, "genie-dr-db-dump-runbook")).join("\n");
        expect(commands).to.include("DB_SECRET_ID='genie/primary/db-master'");
        expect(commands).to.include("BACKUP_BUCKET='genie-primary-storage-dr-backups-bucket'");
        expect(commands).to.include("AWS_REGION='us-west-2'");
    });

    describe("what the job needs on the instance (issue 12: it had no PostgreSQL client and no SSM permissions)", () => {
        /** The app instance role's statements (every policy attached to it) and an `allowed` check over them. */
        const instanceRole = (ev: StackEvaluation, site: string) => {
            const ctx = ruleContext(ev.resources);
            const { statements, unknownManaged } = rolePolicyStatements(ctx, one(ev, AWS_TYPES.iamRole, `${site}-app-instance`));
            expect(unknownManaged).to.deep.equal([]);
            return (req: PolicyRequest) => policyAllows(statements, req);
        };
        /** Every AWS request the document and backup.sh (db-dump, verify --from-s3) make, as IAM sees them. */
        const jobRequests = (o: { region: string; bucketArn: string; secretArn: string; document: string; bucketKeyArn: string; keyContext?: Record<string, string[]> }): [string, PolicyRequest][] => {
            const stamp = "20260101T003000Z";
            const viaS3 = { "kms:ViaService": `s3.${o.region}.amazonaws.com`, ...o.keyContext };
            const viaSecrets = { "kms:ViaService": `secretsmanager.${o.region}.amazonaws.com`, ...o.keyContext };
            // Every S3 request carries the bucket owner's account (condition key s3:ResourceAccount), which the
            // DR site's policy requires (it names the landing zone's bucket by name prefix: issue 13).
            const s3Context = ([what, req]: [string, PolicyRequest]): [string, PolicyRequest] =>
                req.action.startsWith("s3:") ? [what, { ...req, context: { "s3:ResourceAccount": "123456789012", ...req.context } }] : [what, req];
            return ([
                ...SSM_ASSOCIATION_INSTANCE_ACTIONS.map((action): [string, PolicyRequest] => [
                    `SSM Agent: ${action}`,
                    { action, resource: action === "ssm:GetDocument" ? `arn:aws:ssm:${o.region}:123456789012:document/${o.document}` : `arn:aws:ec2:${o.region}:123456789012:instance/i-0123456789abcdef0` },
                ]),
                ["leader election: DescribeAutoScalingGroups", { action: "autoscaling:DescribeAutoScalingGroups", resource: "*" }],
                ["credentials: GetSecretValue", { action: "secretsmanager:GetSecretValue", resource: o.secretArn }],
                ["credentials: the secret's key through Secrets Manager", { action: "kms:Decrypt", resource: o.bucketKeyArn, context: viaSecrets }],
                ["s3_preflight: HeadBucket (s3:ListBucket, no prefix)", { action: "s3:ListBucket", resource: o.bucketArn }],
                ["upload: PutObject of the dump", { action: "s3:PutObject", resource: `${o.bucketArn}/db/daily/${stamp}/dump/toc.dat`, context: {} }],
                ["upload: PutObject of a weekly manifest", { action: "s3:PutObject", resource: `${o.bucketArn}/db/weekly/${stamp}/MANIFEST.json` }],
                ["upload: the bucket key through S3", { action: "kms:GenerateDataKey", resource: o.bucketKeyArn, context: viaS3 }],
                ["verify: newest_s3 lists db/", { action: "s3:ListBucket", resource: o.bucketArn, context: { "s3:prefix": "db/" } }],
                ["verify: fetch_s3 lists one backup", { action: "s3:ListBucket", resource: o.bucketArn, context: { "s3:prefix": `db/daily/${stamp}/` } }],
                ["verify: GetObject", { action: "s3:GetObject", resource: `${o.bucketArn}/db/daily/${stamp}/MANIFEST.json` }],
                ["verify: the bucket key through S3", { action: "kms:Decrypt", resource: o.bucketKeyArn, context: viaS3 }],
            ] as [string, PolicyRequest][]).map(s3Context);
        };

        it("production: the instance role allows every call the association and backup.sh make, and no listing outside the backup prefixes", async () => {
            const ev = await stack("production");
            const allowed = instanceRole(ev, "genie-primary");
            const bucketArn = one(ev, AWS_TYPES.bucket, "genie-primary-storage-backups-bucket").outputs.arn;
            const requests = jobRequests({
                region: "us-east-1",
                bucketArn,
                secretArn: one(ev, AWS_TYPES.secret, "genie-primary-secrets-db-master").outputs.arn,
                document: one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook").props.name,
                bucketKeyArn: one(ev, AWS_TYPES.kmsKey, "genie-primary-key-key").outputs.arn,
            });
            const denied = requests.filter(([, req]) => !allowed(req)).map(([what]) => what);
            expect(denied).to.deep.equal([]);
            expect(allowed({ action: "s3:ListBucket", resource: bucketArn, context: { "s3:prefix": "uploads/" } })).to.equal(false);
            expect(allowed({ action: "s3:ListBucket", resource: bucketArn, context: { "s3:prefix": "" } })).to.equal(false);
        });

        it("an active DR site: the same calls against the landing zone's bucket and the replicated credentials", async () => {
            const ev = await stackWith("dr", { config: { siteRole: "active" } });
            const allowed = instanceRole(ev, "genie-dr");
            const requests = jobRequests({
                region: "us-west-2",
                bucketArn: "arn:aws:s3:::genie-primary-storage-dr-backups-bucket",
                secretArn: "arn:aws:secretsmanager:us-west-2:123456789012:secret:genie/primary/db-master-AbCdEf",
                document: one(ev, AWS_TYPES.ssmDocument, "genie-dr-db-dump-runbook").props.name,
                // The landing zone's key, known here only by its alias.
                bucketKeyArn: "arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab",
                keyContext: { "kms:ResourceAliases": ["alias/genie-primary-dr-key"] },
            });
            expect(requests.filter(([, req]) => !allowed(req)).map(([what]) => what)).to.deep.equal([]);
            // The bucket is named by its name plus Pulumi's 7-character suffix: such a bucket in another account is
            // refused, and so are keys outside the prefixes (a "*" in the bucket name would match "/").
            const put = { action: "s3:PutObject", resource: "arn:aws:s3:::genie-primary-storage-dr-backups-bucket-a1b2c3d/db/daily/a/toc.dat" };
            expect(allowed({ ...put, context: { "s3:ResourceAccount": "123456789012" } })).to.equal(true);
            expect(allowed({ ...put, context: { "s3:ResourceAccount": "999999999999" } })).to.equal(false);
            const outside = { action: "s3:PutObject", resource: "arn:aws:s3:::genie-primary-storage-dr-backups-bucket-a1b2c3d/uploads/db/daily/x", context: { "s3:ResourceAccount": "123456789012" } };
            expect(allowed(outside)).to.equal(false);
        });

        it("installs the PostgreSQL client of the database's major version at boot, and the job installs it when an instance lacks it", async () => {
            const ev = await stack("production");
            const pkg = postgresClientPackage(ev.config["genie-infra:dbEngineVersion"]);
            expect(pkg).to.equal("postgresql15");
            const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook"));
            const install = commands.indexOf(`rpm -q ${pkg} >/dev/null 2>&1 || dnf install -y ${pkg}`);
            expect(install, "the job installs the client").to.be.greaterThan(0);
            expect(install).to.be.lessThan(commands.indexOf(`${SCRIPTS_DIR}/backup.sh {{ command }}`));
            const userData = Buffer.from(one(ev, AWS_TYPES.launchTemplate, "genie-primary-app-lt").props.userData, "base64").toString("utf8");
            expect(userData).to.include(`\ndnf install -y ${pkg}\n`);
        });

        it("the client package follows the engine's major version; pg_dump may be newer than the server, never older", () => {
            expect(postgresClientPackage("15")).to.equal("postgresql15");
            expect(postgresClientPackage("15.10")).to.equal("postgresql15");
            expect(postgresClientPackage("16")).to.equal("postgresql16");
            expect(postgresClientPackage("14")).to.equal("postgresql15");
            expect(() => postgresClientPackage("19")).to.throw(/pg_dump cannot dump a newer server/);
        });

        it("knows the clients AL2023 ships today: postgresql17 (AL2023 2023.8.20250908) and postgresql18 (AL2023 2023.10.20260330)", () => {
            expect(AL2023_POSTGRES_CLIENT_MAJORS).to.deep.equal([15, 16, 17, 18]);
            expect(postgresClientPackage("17")).to.equal("postgresql17");
            expect(postgresClientPackage("18")).to.equal("postgresql18");
        });

        it("a database on PostgreSQL 17 gets the postgresql17 client at boot and in the job", async () => {
            const ev = await stackWith("production", { config: { dbEngineVersion: "17" } });
            const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook"));
            expect(commands).to.include("rpm -q postgresql17 >/dev/null 2>&1 || dnf install -y postgresql17");
            const userData = Buffer.from(one(ev, AWS_TYPES.launchTemplate, "genie-primary-app-lt").props.userData, "base64").toString("utf8");
            expect(userData).to.include("\ndnf install -y postgresql17\n");
        });

        it("the daily verify --deep is safe beside the dumps: temp files on disk, the lock shared with db-dump, zstd installed", async () => {
            const ev = await stack("production");
            const commands = commandsOf(one(ev, AWS_TYPES.ssmDocument, "genie-primary-db-dump-runbook"));
            const run = commands.indexOf(`${SCRIPTS_DIR}/backup.sh {{ command }}`);
            const env = commands.find((c) => c.startsWith("export BACKUP_DIR="))!;
            expect(env).to.include(`BACKUP_DIR=${JOB_BACKUP_DIR} `).and.include(`TMPDIR=${JOB_BACKUP_DIR}/tmp`).and.include(`BACKUP_LOCK_WAIT=${JOB_LOCK_WAIT_SECONDS}`);
            expect(JOB_LOCK_WAIT_SECONDS).to.be.lessThan(10800); // the document's timeout
            expect(commands.indexOf(`mkdir -p ${JOB_BACKUP_DIR}/tmp`)).to.be.within(0, run);
            expect(commands.indexOf("rpm -q zstd >/dev/null 2>&1 || dnf install -y zstd")).to.be.within(0, run);
            const userData = Buffer.from(one(ev, AWS_TYPES.launchTemplate, "genie-primary-app-lt").props.userData, "base64").toString("utf8");
            expect(userData).to.include("\ndnf install -y zstd\n");
            // backup.sh: verify --deep takes the backup root's lock, waiting BACKUP_LOCK_WAIT, as db-dump does.
            const script = fs.readFileSync(path.join(PROJECT_DIR, "scripts", "backup.sh"), "utf8");
            expect(script.match(/backup_root_lock "\$root" "\$\{BACKUP_LOCK_WAIT:-\d+\}"/g)).to.have.length(2);
        });

        it("every command backup.sh requires for db-dump and verify is provided on the instance", () => {
            const script = fs.readFileSync(path.join(PROJECT_DIR, "scripts", "backup.sh"), "utf8");
            const body = (fn: string) => script.slice(script.indexOf(`${fn}() {`), script.indexOf("\n}\n", script.indexOf(`${fn}() {`)));
            const required = new Set(
                [body("cmd_db_dump"), body("cmd_verify"), fs.readFileSync(path.join(PROJECT_DIR, "scripts", "lib", "dump.sh"), "utf8")]
                    .flatMap((text) => [...text.matchAll(/require_cmd ([^\n;|]+)/g)].flatMap((m) => m[1].trim().split(/\s+/))),
            );
            const coreutils = new Set(["sha256sum"]);
            expect([...required].filter((c) => !coreutils.has(c) && !(c in JOB_COMMANDS))).to.deep.equal([]);
            for (const tool of ["pg_dump", "pg_restore", "psql", "jq", "aws"]) expect(required.has(tool), tool).to.equal(true);
        });
    });
});
