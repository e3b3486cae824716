import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

export interface ScheduledDumpArgs {
    /** The app group whose instances run the job; one of them (the leader) does, the others skip. */
    autoScalingGroupName: pulumi.Input<string>;
    /** Hours between dumps (the plan's 6, or fewer). */
    intervalHours: number;
    /** The database to dump: its address, name and the Secrets Manager id of its credentials. */
    database: { host: pulumi.Input<string>; name: string; credentialsSecretId: pulumi.Input<string> };
    /** The backups bucket: dumps land under db/daily/ and db/weekly/, where its lifecycle applies. */
    backupsBucketName: pulumi.Input<string>;
    region: string;
    /**
     * The Amazon Linux 2023 package of the PostgreSQL client tools the runbook needs (psql, pg_dump,
     * pg_restore), from {@link postgresClientPackage}: the job installs it when the instance lacks it.
     */
    postgresClientPackage: string;
    /** Run the associations on their schedules (false keeps them for manual runs). */
    enabled: boolean;
}

/**
 * PostgreSQL client packages Amazon Linux 2023 offers, by major version: `postgresqlNN` ("PostgreSQL
 * client programs": psql, pg_dump, pg_restore; `postgresqlNN-server` is the server). Sources:
 * - 15 and 16: the AL2023 package lists (`postgresql15`, `postgresql16`);
 * - 17: AL2023 release notes 2023.8.20250908 (https://docs.aws.amazon.com/linux/al2023/release-notes/relnotes-2023.8.20250908.html),
 *   "Core Updated Packages": `postgresql17-17.6-1.amzn2023.0.1` (and `postgresql15-15.14-1.amzn2023.0.1`);
 * - 18: amazonlinux/amazon-linux-2023 #1031, "`postgresql18-18.3-1.amzn2023.0.1` was added in AL
 *   2023.10.20260330", and #1112, `dnf info` on AL2023: "Name: postgresql18 ... Repository: amazonlinux
 *   Summary: PostgreSQL client programs".
 * Add a major here when AL2023 ships it (and RDS offers it); config validation reads this list.
 */
export const AL2023_POSTGRES_CLIENT_MAJORS = [15, 16, 17, 18] as const;

/**
 * Why the scheduled dump cannot serve a database engine version ("15" or "15.10"), or undefined when
 * it can: pg_dump refuses a server newer than itself ("pg_dump cannot dump from PostgreSQL servers
 * newer than its own major version", PostgreSQL docs, pg_dump), so the engine's major version must
 * not exceed the newest client package Amazon Linux 2023 offers. Infra/config.ts refuses such a
 * `dbEngineVersion` with this message before any resource is declared.
 */
export function postgresClientProblem(engineVersion: string): string | undefined {
    const major = Number(engineVersion.split(".")[0]);
    const newest = AL2023_POSTGRES_CLIENT_MAJORS[AL2023_POSTGRES_CLIENT_MAJORS.length - 1];
    if (Number.isInteger(major) && major <= newest) return undefined;
    return (
        `Amazon Linux 2023 has PostgreSQL client packages for ${AL2023_POSTGRES_CLIENT_MAJORS.join(", ")} only, ` +
        "and pg_dump cannot dump a newer server: the scheduled dump would fail"
    );
}

/**
 * The Amazon Linux 2023 package of the client tools for a database engine version ("15" or "15.10"):
 * the same major version. pg_dump "can also dump from PostgreSQL servers older than its own version":
 * a server older than the oldest package gets that oldest one; a server newer than the newest package
 * is refused ({@link postgresClientProblem}).
 */
export function postgresClientPackage(engineVersion: string): string {
    const problem = postgresClientProblem(engineVersion);
    if (problem) throw new Error(`PostgreSQL ${engineVersion}: ${problem}`);
    const major = Number(engineVersion.split(".")[0]);
    return `postgresql${Math.max(major, AL2023_POSTGRES_CLIENT_MAJORS[0])}`;
}

/** What runbook commands need on the instance besides bash and coreutils, by the package that provides them on AL2023. */
export const JOB_COMMANDS = { aws: "awscli-2 (in the AL2023 AMI)", jq: "jq (user data)", flock: "util-linux", psql: "postgresqlNN", pg_dump: "postgresqlNN", pg_restore: "postgresqlNN", zstd: "zstd (user data, and the job)" } as const;

/** Where the SSM document installs the runbooks on an instance. */
export const SCRIPTS_DIR = "/opt/genie/scripts";

/** The runbook files the job needs, relative to the repository's scripts/ folder. */
export const JOB_FILES = ["backup.sh", "lib/common.sh", "lib/dump.sh"] as const;

/** The job's backup root on the instance's disk (BACKUP_DIR); its tmp/ is the job's TMPDIR. */
export const JOB_BACKUP_DIR = "/var/backups/genie";

/**
 * Seconds a run waits for the other one on the same instance (BACKUP_LOCK_WAIT): db-dump and
 * verify --deep share the lock of the backup root, so the daily deep check never runs beside a dump
 * (and a dump waits for the check instead of failing). Below the document's 3 h timeout.
 */
export const JOB_LOCK_WAIT_SECONDS = 7200;

/** Local dumps an instance keeps beside the uploaded ones (the runbook's BACKUP_KEEP_LOCAL). */
export const LOCAL_DUMPS_KEPT = 4;

const REPO_SCRIPTS = path.resolve(__dirname, "..", "scripts");

/**
 * The plan's "Database Backups: PostgreSQL dump files" on a schedule, run by the same runbook an
 * operator runs by hand (scripts/backup.sh): an SSM Command document that installs the runbook from
 * this repository (embedded, so what runs is what was reviewed) and runs `backup.sh db-dump --kind
 * auto` (the first dump of each Sunday is the weekly copy), and a State Manager association every
 * `intervalHours` over the app group. Every instance receives it; only the group's leader (the
 * in-service instance with the lowest id) dumps, so there is one dump per run. A second association
 * runs the plan's daily validation, `backup.sh verify --from-s3 --deep` (restores the newest dump into a
 * throwaway database beside the live one and compares every table's row count with the manifest).
 */
export class ScheduledDump extends pulumi.ComponentResource {
    readonly documentName: pulumi.Output<string>;

    constructor(name: string, args: ScheduledDumpArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:ScheduledDump", name, {}, opts);
        if (!Number.isInteger(args.intervalHours) || args.intervalHours < 1 || 24 % args.intervalHours !== 0) {
            throw new Error(`ScheduledDump ${name}: intervalHours must divide 24, got ${args.intervalHours}`);
        }
        const parent = { parent: this };

        const document = new aws.ssm.Document(`${name}-runbook`, {
            name: `${name}-runbook`,
            documentType: "Command",
            documentFormat: "JSON",
            content: pulumi.jsonStringify({
                schemaVersion: "2.2",
                description: "Genie: run scripts/backup.sh (installed from the deployed revision) on the app group's leader",
                parameters: {
                    command: { type: "String", description: "backup.sh command and flags", allowedValues: ["db-dump --kind auto", "verify --from-s3 --deep"], default: "db-dump --kind auto" },
                },
                mainSteps: [{
                    action: "aws:runShellScript",
                    name: "runBackupRunbook",
                    inputs: {
                        timeoutSeconds: "10800",
                        runCommand: jobScript(args),
                    },
                }],
            }),
        }, parent);
        this.documentName = document.name;

        const targets = [{ key: "tag:aws:autoscaling:groupName", values: [args.autoScalingGroupName] }];
        const association = (suffix: string, command: string, scheduleExpression: string) =>
            new aws.ssm.Association(`${name}-${suffix}`, {
                associationName: `${name}-${suffix}`,
                name: document.name,
                targets,
                parameters: { command },
                scheduleExpression,
                applyOnlyAtCronInterval: true,
                maxConcurrency: "1",
                maxErrors: "1",
                complianceSeverity: "HIGH",
            }, parent);
        if (args.enabled) {
            // Half past, so the dump does not start with the AWS Backup jobs on the hour.
            association("dump", "db-dump --kind auto", `cron(30 0/${args.intervalHours} * * ? *)`);
            association("verify", "verify --from-s3 --deep", "cron(45 7 * * ? *)");
        }
        this.registerOutputs({ documentName: this.documentName });
    }
}

/** The document's shell lines: install the runbook, elect the leader, run the command. */
export function jobScript(args: Pick<ScheduledDumpArgs, "autoScalingGroupName" | "database" | "backupsBucketName" | "region" | "postgresClientPackage">): pulumi.Output<string[]> {
    const install = JOB_FILES.map((file) => {
        const packed = zlib.gzipSync(fs.readFileSync(path.join(REPO_SCRIPTS, file))).toString("base64");
        return `echo '${packed}' | base64 -d | gunzip > ${SCRIPTS_DIR}/${file}`;
    });
    return pulumi.all([args.autoScalingGroupName, args.database.host, args.database.credentialsSecretId, args.backupsBucketName]).apply(
        ([group, host, secretId, bucket]) => [
            "set -euo pipefail",
            `mkdir -p ${SCRIPTS_DIR}/lib`,
            ...install,
            `chmod 0755 ${SCRIPTS_DIR}/backup.sh`,
            // One dump per run: only the in-service instance with the lowest id goes on.
            "token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')",
            "me=$(curl -sf -H \"X-aws-ec2-metadata-token: $token\" http://169.254.169.254/latest/meta-data/instance-id)",
            `leader=$(aws autoscaling describe-auto-scaling-groups --region ${args.region} --auto-scaling-group-names '${group}' ` +
                "--query 'AutoScalingGroups[0].Instances[?LifecycleState==`InService`].InstanceId' --output text | tr '\\t' '\\n' | sort | head -n 1)",
            'if [ "$me" != "$leader" ]; then echo "not the leader ($leader runs the job)"; exit 0; fi',
            // The user data installs the client at boot; an instance launched before that (or where it
            // failed) gets it here, so the dump never runs without the server's pg_dump.
            `rpm -q ${args.postgresClientPackage} >/dev/null 2>&1 || dnf install -y ${args.postgresClientPackage}`,
            // zstd: new dumps are zstd-compressed, and verify --deep streams them into pg_restore.
            "rpm -q zstd >/dev/null 2>&1 || dnf install -y zstd",
            // Temporary files on the disk (/tmp is a tmpfs, in memory, on AL2023); verify --deep
            // downloads into BACKUP_DIR/restore/ and drops the throwaway databases a killed run left.
            `mkdir -p ${JOB_BACKUP_DIR}/tmp`,
            `export PGHOST='${host}' PGPORT=5432 PGDATABASE='${args.database.name}' PGSSLMODE=require`,
            `export DB_SECRET_ID='${secretId}' AWS_REGION='${args.region}' BACKUP_BUCKET='${bucket}'`,
            `export BACKUP_DIR=${JOB_BACKUP_DIR} BACKUP_KEEP_LOCAL=${LOCAL_DUMPS_KEPT} TMPDIR=${JOB_BACKUP_DIR}/tmp BACKUP_LOCK_WAIT=${JOB_LOCK_WAIT_SECONDS}`,
            `${SCRIPTS_DIR}/backup.sh {{ command }}`,
        ],
    );
}
