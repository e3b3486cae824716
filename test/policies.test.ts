import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { DR_PLAN } from "../infra/dr-plan";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { HarnessResource, PackConfig, PolicyRunResult, runResourceRule, runRules, runStackRule } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { cronIntervalHours } from "../policies/rules/backup";
import { Rule } from "../policies/rules/common";
import { stack } from "./support/stacks";

const rule = (name: string): Rule => {
    const found = ALL_RULES.find((r) => r.name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found;
};

const provider = (name: string, region: string, site: string) => ({
    type: "pulumi:providers:aws",
    name,
    urn: `urn:pulumi:test::genie-infra::pulumi:providers:aws::${name}`,
    props: { region, defaultTags: JSON.stringify({ tags: { site } }) },
});
const PRIMARY = provider("primary-region", "us-east-1", "primary");
const DR = provider("dr-landing-zone-region", "us-west-2", "dr-landing-zone");
const DR_SITE = provider("dr-region", "us-west-2", "dr");
const providers = new Map([PRIMARY, DR, DR_SITE].map((p) => [p.urn, p]));

type R = HarnessResource;
const res = (type: string, name: string, props: Record<string, any>, extra: Partial<R> = {}): R => ({
    type,
    name,
    urn: `urn:pulumi:test::genie-infra::${type}::${name}`,
    props,
    provider: PRIMARY.urn,
    opts: { protect: true, retainOnDelete: true },
    ...extra,
});
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

async function check(r: Rule, resources: R[], config?: PackConfig): Promise<PolicyRunResult> {
    const run = { providers, config };
    if ("validateStack" in r) return runStackRule(r, resources, run);
    let result: PolicyRunResult | undefined;
    for (const x of resources) result = await runResourceRule(r, x, run, result);
    return result!;
}
const mandatory = (r: PolicyRunResult) => r.violations.filter((v) => v.enforcementLevel === "mandatory");

// ── A small world that follows every rule ──────────────────────────────────────────────────────
const DR_VAULT_ARN = "arn:aws:backup:us-west-2:123456789012:backup-vault:dr-vault";
const backupPlan = res("aws:backup/plan:Plan", "plan", {
    rules: [
        { ruleName: "six-hourly", targetVaultName: "vault", schedule: "cron(0 */6 * * ? *)", lifecycle: { deleteAfter: 30 }, copyActions: [{ destinationVaultArn: DR_VAULT_ARN, lifecycle: { deleteAfter: 30 } }] },
        { ruleName: "weekly", targetVaultName: "vault", schedule: "cron(0 3 ? * SUN *)", lifecycle: { deleteAfter: 365 }, copyActions: [{ destinationVaultArn: DR_VAULT_ARN, lifecycle: { deleteAfter: 365 } }] },
    ],
});
const vault = res("aws:backup/vault:Vault", "vault", { name: "vault", kmsKeyArn: "arn:aws:kms:us-east-1:1:key/k" });
const vaultLock = res("aws:backup/vaultLockConfiguration:VaultLockConfiguration", "lock", { backupVaultName: "vault", minRetentionDays: 30, changeableForDays: 3 });

function bucketSet(name: string, purpose: string, provider_: string, extra: R[] = []): R[] {
    const b = (type: string, suffix: string, props: Record<string, any>) => res(type, `${name}-${suffix}`, { bucket: name, ...props }, { provider: provider_ });
    return [
        res("aws:s3/bucket:Bucket", `${name}-bucket`, { bucket: name, arn: `arn:aws:s3:::${name}`, tags: { purpose } }, { provider: provider_ }),
        b("aws:s3/bucketVersioning:BucketVersioning", "versioning", { versioningConfiguration: { status: "Enabled" } }),
        b("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "encryption", { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] }),
        b("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }),
        b("aws:s3/bucketPolicy:BucketPolicy", "policy", {
            policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }),
        }),
        ...extra,
    ];
}
const lifecycle = (name: string, rules: any[], provider_ = PRIMARY.urn) => res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${name}-lifecycle`, { bucket: name, rules }, { provider: provider_ });
const backupLifecycle = (name: string, provider_?: string) =>
    lifecycle(name, [
        { id: "housekeeping", status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true } },
        { id: "db-daily", status: "Enabled", filter: { prefix: "db/daily/" }, expiration: { days: 30 } },
        { id: "db-weekly", status: "Enabled", filter: { prefix: "db/weekly/" }, expiration: { days: 365 } },
    ], provider_);
const replication = (name: string, target: string, rtc: boolean) =>
    res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", `${name}-replication`, {
        bucket: name,
        role: "arn:aws:iam::1:role/r",
        rules: [{ status: "Enabled", destination: { bucket: `arn:aws:s3:::${target}`, ...(rtc ? { replicationTime: { status: "Enabled", time: { minutes: 15 } } } : {}) } }],
    });
const storage: R[] = [
    ...bucketSet("backups", "backups", PRIMARY.urn, [backupLifecycle("backups"), replication("backups", "dr-backups", false)]),
    ...bucketSet("uploads", "uploads", PRIMARY.urn, [replication("uploads", "dr-uploads", true)]),
    ...bucketSet("logs", "logs", PRIMARY.urn, [lifecycle("logs", [{ id: "logs", status: "Enabled", filter: {}, expiration: { days: 90 } }])]),
    ...bucketSet("dr-backups", "backups", DR.urn, [backupLifecycle("dr-backups", DR.urn)]),
    ...bucketSet("dr-uploads", "uploads", DR.urn),
    ...bucketSet("dr-logs", "logs", DR.urn, [lifecycle("dr-logs", [{ id: "logs", status: "Enabled", filter: {}, expiration: { days: 90 } }], DR.urn)]),
    // S3 server access logging of the backups and uploads buckets into the logs bucket of their region.
    ...(["backups", "uploads", "dr-backups", "dr-uploads"] as const).map((name) =>
        res("aws:s3/bucketLogging:BucketLogging", `${name}-access-logging`, { bucket: name, targetBucket: name.startsWith("dr-") ? "dr-logs" : "logs", targetPrefix: "s3-access/" }, { provider: name.startsWith("dr-") ? DR.urn : PRIMARY.urn })),
];
const db = res("aws:rds/instance:Instance", "db", {
    arn: "arn:aws:rds:us-east-1:1:db:db", multiAz: true, backupRetentionPeriod: 30, storageEncrypted: true, deletionProtection: true,
    skipFinalSnapshot: false, finalSnapshotIdentifier: "db-final", publiclyAccessible: false,
});
const dbBackupsReplication = res("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "db-backups-dr", { sourceDbInstanceArn: "arn:aws:rds:us-east-1:1:db:db", retentionPeriod: 30 }, { provider: DR.urn });
const cache = res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", {
    automaticFailoverEnabled: true, multiAzEnabled: true, snapshotRetentionLimit: 7, atRestEncryptionEnabled: true, transitEncryptionEnabled: true,
});
const logGroup = res("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 90 });
const repo = res("aws:ecr/repository:Repository", "app", { name: "app", imageScanningConfiguration: { scanOnPush: true } });
const repoLifecycle = res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "app-lifecycle", {
    repository: "app",
    policy: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }] }),
});
const registryReplication = res("aws:ecr/replicationConfiguration:ReplicationConfiguration", "replication", { replicationConfiguration: { rules: [{ destinations: [{ region: "us-west-2", registryId: "1" }] }] } });
const secret = res("aws:secretsmanager/secret:Secret", "db-credentials", { replicas: [{ region: "us-west-2" }] });
const asg = res("aws:autoscaling/group:Group", "asg", { minSize: 2, healthCheckType: "ELB" });
const launchTemplate = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { metadataOptions: { httpTokens: "required" } });
const healthCheck = res("aws:route53/healthCheck:HealthCheck", "hc", { type: "HTTPS", requestInterval: 10, failureThreshold: 3 });
const TOPIC = "arn:aws:sns:us-east-1:1:critical";
const topic = res("aws:sns/topic:Topic", "critical", { arn: TOPIC });
const subscription = res("aws:sns/topicSubscription:TopicSubscription", "critical-email", { topic: TOPIC, protocol: "email", endpoint: "a@b.co" });
const alarm = (id: string, period: number, periods: number) =>
    res("aws:cloudwatch/metricAlarm:MetricAlarm", `alarm-${id}`, { alarmActions: [TOPIC], period, evaluationPeriods: periods, tags: { alert: id } });
const alarms = [alarm("database-down", 60, 1), alarm("application-down", 60, 1), alarm("high-error-rate", 60, 5), alarm("disk-space-low", 300, 12)];

const WORLD: R[] = [backupPlan, vault, vaultLock, ...storage, db, dbBackupsReplication, cache, logGroup, repo, repoLifecycle, registryReplication, secret, asg, launchTemplate, healthCheck, topic, subscription, ...alarms];

/** Each rule, with a mutation of the world it must reject. */
const find = (w: R[], name: string) => {
    const r = w.find((x) => x.name === name);
    if (!r) throw new Error(`no ${name}`);
    return r;
};
const MUTATIONS: Record<string, [string, (w: R[]) => R[] | void]> = {
    "backup-plan-frequency": ["the frequent rule runs every 12 h", (w) => void (find(w, "plan").props.rules[0].schedule = "cron(0 */12 * * ? *)")],
    "backup-plan-retention": ["daily backups kept one day short", (w) => void (find(w, "plan").props.rules[0].lifecycle.deleteAfter = DR_PLAN.dbDailyRetentionDays - 1)],
    "backup-plan-cross-region-copy": ["a rule without copy action", (w) => void delete find(w, "plan").props.rules[1].copyActions],
    "backup-vault-encrypted": ["vault without KMS key", (w) => void delete find(w, "vault").props.kmsKeyArn],
    "backup-vault-locked": ["vault lock removed", (w) => w.filter((r) => r.name !== "lock")],
    "s3-versioning": ["uploads versioning suspended", (w) => void (find(w, "uploads-versioning").props.versioningConfiguration.status = "Suspended")],
    "s3-encryption": ["logs bucket encryption removed", (w) => w.filter((r) => r.name !== "logs-encryption")],
    "s3-public-access-blocked": ["restrictPublicBuckets off", (w) => void (find(w, "backups-pab").props.restrictPublicBuckets = false)],
    "s3-tls-only": ["policy allows plain HTTP", (w) => void (find(w, "uploads-policy").props.policy = JSON.stringify({ Statement: [] }))],
    "s3-lifecycle-retention": ["weekly dumps kept one day short", (w) => void (find(w, "backups-lifecycle").props.rules[2].expiration.days = DR_PLAN.dbWeeklyRetentionDays - 1)],
    "s3-replication": ["uploads replication without RTC", (w) => void delete find(w, "uploads-replication").props.rules[0].destination.replicationTime],
    "s3-access-logging": ["the DR backups replica's access logging removed", (w) => w.filter((r) => r.name !== "dr-backups-access-logging")],
    "rds-multi-az": ["single-AZ database", (w) => void (find(w, "db").props.multiAz = false)],
    "rds-backup-retention": ["backups kept one day short", (w) => void (find(w, "db").props.backupRetentionPeriod = DR_PLAN.dbDailyRetentionDays - 1)],
    "rds-encrypted": ["unencrypted database", (w) => void (find(w, "db").props.storageEncrypted = false)],
    "rds-deletion-protection": ["deletion protection off", (w) => void (find(w, "db").props.deletionProtection = false)],
    "rds-final-snapshot": ["final snapshot skipped", (w) => void (find(w, "db").props.skipFinalSnapshot = true)],
    "rds-not-public": ["public database", (w) => void (find(w, "db").props.publiclyAccessible = true)],
    "elasticache-automatic-failover": ["failover off", (w) => void (find(w, "cache").props.automaticFailoverEnabled = false)],
    "elasticache-snapshot-retention": ["snapshots kept one day short", (w) => void (find(w, "cache").props.snapshotRetentionLimit = DR_PLAN.redisRetentionDays - 1)],
    "elasticache-encryption": ["no TLS", (w) => void (find(w, "cache").props.transitEncryptionEnabled = false)],
    "log-group-retention": ["logs kept one day short", (w) => void (find(w, "logs").props.retentionInDays = DR_PLAN.logRetentionDays - 1)],
    "ecr-scan-on-push": ["scan on push off", (w) => void (find(w, "app").props.imageScanningConfiguration.scanOnPush = false)],
    "ecr-lifecycle-keeps-images": [
        "keeps 9 images",
        (w) => void (find(w, "app-lifecycle").props.policy = JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: DR_PLAN.imageVersionsKept - 1 }, action: { type: "expire" } }] })),
    ],
    "asg-minimum-instances": ["one instance", (w) => void (find(w, "asg").props.minSize = DR_PLAN.appMinInstances - 1)],
    "launch-template-imdsv2": ["IMDSv1 allowed", (w) => void (find(w, "lt").props.metadataOptions.httpTokens = "optional")],
    "health-check-failover-detection": ["30 s interval", (w) => void (find(w, "hc").props.requestInterval = 30)],
    "stateful-resources-protected": ["protection removed from the database", (w) => void (find(w, "db").opts!.protect = false)],
    "backups-retained-on-delete": ["backups bucket not retained", (w) => void (find(w, "backups-bucket").opts!.retainOnDelete = false)],
    "plan-alerts-routed": ["disk alarm's topic has no subscriber", (w) => w.filter((r) => r.name !== "critical-email")],
    "plan-alerts-timely": ["error-rate alarm after 6 minutes", (w) => void (find(w, "alarm-high-error-rate").props.evaluationPeriods = 6)],
    "cross-region-copies": ["secret without replica", (w) => void delete find(w, "db-credentials").props.replicas],
    "recovery-posture": ["automated backups not replicated", (w) => w.filter((r) => r.name !== "db-backups-dr")],
};

describe("policy pack", () => {
    it("has a rejecting mutation for every rule, and every rule has a unique name, a description and a level", () => {
        expect(Object.keys(MUTATIONS).sort()).to.deep.equal(ALL_RULES.map((r) => r.name).sort());
        expect(new Set(ALL_RULES.map((r) => r.name)).size).to.equal(ALL_RULES.length);
        for (const r of ALL_RULES) {
            expect(r.description, r.name).to.have.length.greaterThan(20);
            expect(r.enforcementLevel, r.name).to.equal("mandatory");
        }
    });

    it("passes the synthetic world that follows the plan", async () => {
        for (const r of ALL_RULES) {
            const result = await check(r, clone(WORLD));
            expect(result.errors, r.name).to.deep.equal([]);
            expect(result.violations.map((v) => v.message), r.name).to.deep.equal([]);
        }
    });

    for (const [name, [what, mutate]] of Object.entries(MUTATIONS)) {
        it(`${name} rejects: ${what}`, async () => {
            const world = clone(WORLD);
            const mutated = mutate(world) ?? world;
            const result = await check(rule(name), mutated);
            expect(result.errors).to.deep.equal([]);
            expect(mandatory(result).map((v) => v.policy)).to.include(name);
        });
    }

    it("marks resource rules not applicable to other types, as the engine does", async () => {
        const result = await runResourceRule(rule("rds-multi-az"), logGroup, { providers });
        expect(result.violations).to.deep.equal([]);
        expect(result.notApplicable[0]).to.include({ policy: "rds-multi-az" });
        expect(result.notApplicable[0].reason).to.match(/aws:rds\/instance:Instance/);
        const replica = res("aws:rds/instance:Instance", "replica", { replicateSourceDb: "arn:aws:rds:us-east-1:1:db:db", deletionProtection: true });
        const na = await runResourceRule(rule("rds-backup-retention"), replica, { providers });
        expect(na.violations).to.deep.equal([]);
        expect(na.notApplicable[0].reason).to.match(/read replica/);
    });

    it("reports a rule that throws as an error, never as a pass", async () => {
        const broken: Rule = { name: "broken", description: "throws", validateResource: () => { throw new Error("boom"); } };
        const result = await runResourceRule(broken, db, { providers });
        expect(result.errors).to.deep.equal([{ policy: "broken", urn: db.urn, message: "boom" }]);
    });

    it("honours the pack config: disabled skips a rule, advisory downgrades it", async () => {
        const world = clone(WORLD);
        find(world, "db").props.multiAz = false;
        expect((await check(rule("rds-multi-az"), world, { "rds-multi-az": "disabled" })).violations).to.deep.equal([]);
        const advisory = await check(rule("rds-multi-az"), world, { "rds-multi-az": "advisory" });
        expect(advisory.violations.map((v) => v.enforcementLevel)).to.deep.equal(["advisory"]);
    });

    it("reports a missing concern as mandatory by default, as advisory 'not yet built' when configured so", async () => {
        const noAlarms = WORLD.filter((r) => r.type !== "aws:cloudwatch/metricAlarm:MetricAlarm");
        const soft = await check(rule("plan-alerts-routed"), noAlarms, { "plan-alerts-routed": { whenConcernAbsent: "advisory" } });
        expect(soft.violations).to.have.length(1);
        expect(soft.violations[0]).to.include({ policy: "plan-alerts-routed", enforcementLevel: "advisory" });
        expect(soft.violations[0].message).to.match(/not yet built/);
        const hard = await check(rule("plan-alerts-routed"), noAlarms);
        expect(mandatory(hard)).to.have.length(1);
        // Once one alarm exists, a missing one is mandatory.
        const oneMissing = await check(rule("plan-alerts-routed"), WORLD.filter((r) => r.name !== "alarm-disk-space-low"));
        expect(mandatory(oneMissing).map((v) => v.message)).to.deep.equal([mandatory(oneMissing)[0].message]);
        expect(mandatory(oneMissing)[0].message).to.match(/disk-space-low/);
    });

    it("lets a standby DR group run below the plan's minimum, never the primary site", async () => {
        const standby = (provider_: string) => res("aws:autoscaling/group:Group", "asg", { minSize: 1, healthCheckType: "ELB", tags: [{ key: "siteRole", value: "standby" }] }, { provider: provider_ });
        expect((await check(rule("asg-minimum-instances"), [standby(DR_SITE.urn)])).violations).to.deep.equal([]);
        expect(mandatory(await check(rule("asg-minimum-instances"), [standby(PRIMARY.urn)]))).to.have.length(1);
    });

    it("reads AWS Backup cron schedules", () => {
        expect(cronIntervalHours("cron(0 */6 * * ? *)")).to.equal(6);
        expect(cronIntervalHours("cron(0 0,6,12,18 * * ? *)")).to.equal(6);
        expect(cronIntervalHours("cron(0 1,13 * * ? *)")).to.equal(12);
        expect(cronIntervalHours("cron(0 5 * * ? *)")).to.equal(24);
        expect(cronIntervalHours("cron(0 3 ? * SUN *)")).to.equal(168);
        expect(cronIntervalHours("rate(6 hours)")).to.equal(undefined);
    });

    for (const name of ["production", "dr"] as const) {
        it(`finds no mandatory violation in the ${name} stack`, async () => {
            const result = await runRules(ALL_RULES, await stack(name));
            expect(result.errors).to.deep.equal([]);
            expect(mandatory(result).map((v) => `[${v.policy}] ${v.name}: ${v.message}`)).to.deep.equal([]);
        });
    }

    it("turns the passing production stack into a failing one when the pack's config tightens a threshold", async () => {
        const ev = await stack("production");
        const tightened = await runRules(ALL_RULES, ev, { "log-group-retention": { minRetentionDays: 120 } });
        const failing = mandatory(tightened).filter((v) => v.policy === "log-group-retention");
        expect(failing).to.have.length.greaterThan(0);
        expect(failing[0].message).to.match(/not at least 120/);
    });

    it("lists every rule in the README's Policy pack section", () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("## Policy pack"));
        expect(readme).to.include("## Policy pack");
        for (const r of ALL_RULES) expect(section, r.name).to.include(`\`${r.name}\``);
    });
});
