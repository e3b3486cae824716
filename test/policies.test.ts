// Over 300 lines on purpose: test corpus: every rule of the pack against the evaluated stacks.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { DR_PLAN } from "../infra/dr-plan";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { HarnessResource, PackConfig, PolicyRunResult, runResourceRule, runRules, runStackRule } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { cronIntervalHours } from "../policies/rules/backup";
import { onlyTypesReason, Rule } from "../policies/rules/common";
import { stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

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
const backupPlan = res(AWS_TYPES.backupPlan, "plan", {
    name: "plan",
    rules: [
        { ruleName: "six-hourly", targetVaultName: "vault", schedule: "cron(0 */6 * * ? *)", startWindow: 60, lifecycle: { deleteAfter: 30 }, copyActions: [{ destinationVaultArn: DR_VAULT_ARN, lifecycle: { deleteAfter: 30 } }] },
        { ruleName: "weekly", targetVaultName: "vault", schedule: "cron(0 3 ? * SUN *)", startWindow: 60, lifecycle: { deleteAfter: 365 }, copyActions: [{ destinationVaultArn: DR_VAULT_ARN, lifecycle: { deleteAfter: 365 } }] },
    ],
});
const vault = res(AWS_TYPES.backupVault, "vault", { name: "vault", kmsKeyArn: "arn:aws:kms:us-east-1:1:key/k" });
const kmsKey = res(AWS_TYPES.kmsKey, "key", { arn: "arn:aws:kms:us-east-1:1:key/k" });
const drVault = res(AWS_TYPES.backupVault, "dr-vault", { name: "dr-vault", arn: DR_VAULT_ARN, kmsKeyArn: "arn:aws:kms:us-west-2:1:key/dr" }, { provider: DR.urn });
const drVaultLock = res(AWS_TYPES.backupVaultLock, "dr-lock", { backupVaultName: "dr-vault", minRetentionDays: 30, changeableForDays: 3 }, { provider: DR.urn });
const drKmsKey = res(AWS_TYPES.kmsKey, "dr-key", { arn: "arn:aws:kms:us-west-2:1:key/dr" }, { provider: DR.urn });
const selection = res(AWS_TYPES.backupSelection, "selection", { planId: "plan", selectionTags: [{ type: "STRINGEQUALS", key: "backup-plan", value: "genie" }] });
const vaultLock = res(AWS_TYPES.backupVaultLock, "lock", { backupVaultName: "vault", minRetentionDays: 30, changeableForDays: 3 });

function bucketSet(name: string, purpose: string, provider_: string, extra: R[] = []): R[] {
    const b = (type: string, suffix: string, props: Record<string, any>) => res(type, `${name}-${suffix}`, { bucket: name, ...props }, { provider: provider_ });
    return [
        res(AWS_TYPES.bucket, `${name}-bucket`, { bucket: name, arn: `arn:aws:s3:::${name}`, tags: { purpose } }, { provider: provider_ }),
        b(AWS_TYPES.bucketVersioning, "versioning", { versioningConfiguration: { status: "Enabled" } }),
        b(AWS_TYPES.bucketEncryption, "encryption", {
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: provider_ === PRIMARY.urn ? "arn:aws:kms:us-east-1:1:key/k" : "arn:aws:kms:us-west-2:1:key/dr" } }],
        }),
        b(AWS_TYPES.bucketPublicAccessBlock, "pab", { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }),
        b(AWS_TYPES.bucketPolicy, "policy", {
            policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }),
        }),
        ...extra,
    ];
}
const lifecycle = (name: string, rules: any[], provider_ = PRIMARY.urn) => res(AWS_TYPES.bucketLifecycle, `${name}-lifecycle`, { bucket: name, rules }, { provider: provider_ });
const backupLifecycle = (name: string, provider_?: string) =>
    lifecycle(name, [
        { id: "housekeeping", status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true } },
        { id: "db-daily", status: "Enabled", filter: { prefix: "db/daily/" }, expiration: { days: 30 } },
        { id: "db-weekly", status: "Enabled", filter: { prefix: "db/weekly/" }, expiration: { days: 365 } },
        { id: "redis", status: "Enabled", filter: { prefix: "redis/" }, expiration: { days: 7 } },
    ], provider_);
const replication = (name: string, target: string, rtc: boolean) =>
    res(AWS_TYPES.bucketReplication, `${name}-replication`, {
        bucket: name,
        role: "arn:aws:iam::1:role/r",
        rules: [
            {
                status: "Enabled",
                sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
                destination: { bucket: `arn:aws:s3:::${target}`, encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:us-west-2:1:key/dr" }, ...(rtc ? { replicationTime: { status: "Enabled", time: { minutes: 15 } } } : {}) },
            },
        ],
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
        res(AWS_TYPES.bucketLogging, `${name}-access-logging`, { bucket: name, targetBucket: name.startsWith("dr-") ? "dr-logs" : "logs", targetPrefix: "s3-access/" }, { provider: name.startsWith("dr-") ? DR.urn : PRIMARY.urn })),
];
const db = res(AWS_TYPES.dbInstance, "db", {
    arn: "arn:aws:rds:us-east-1:1:db:db", multiAz: true, backupRetentionPeriod: 30, storageEncrypted: true, deletionProtection: true,
    skipFinalSnapshot: false, finalSnapshotIdentifier: "db-final", publiclyAccessible: false, tags: { "backup-plan": "genie" },
});
const dbBackupsReplication = res(AWS_TYPES.dbBackupReplication, "db-backups-dr", { sourceDbInstanceArn: "arn:aws:rds:us-east-1:1:db:db", retentionPeriod: 30 }, { provider: DR.urn });
const cache = res(AWS_TYPES.cache, "cache", {
    replicationGroupId: "genie-cache", automaticFailoverEnabled: true, multiAzEnabled: true, snapshotRetentionLimit: 7, atRestEncryptionEnabled: true, transitEncryptionEnabled: true,
});
const logGroup = res(AWS_TYPES.logGroup, "logs", { retentionInDays: 90 });
const SNAPSHOT_JOB = "arn:aws:states:us-east-1:1:stateMachine:snapshots";
const snapshotJob = res(AWS_TYPES.stateMachine, "snapshot-job", { arn: SNAPSHOT_JOB, definition: JSON.stringify({ States: { CreateSnapshot: { Arguments: { ReplicationGroupId: "genie-cache" } } } }) });
const snapshotSchedule = res(AWS_TYPES.schedule, "snapshot-schedule", { state: "ENABLED", scheduleExpression: "cron(30 3/12 * * ? *)", target: { arn: SNAPSHOT_JOB } });
const repo = res(AWS_TYPES.repository, "app", { name: "app", imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "IMMUTABLE" });
const repoLifecycle = res(AWS_TYPES.repositoryLifecycle, "app-lifecycle", {
    repository: "app",
    policy: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }] }),
});
const registryReplication = res(AWS_TYPES.registryReplication, "replication", { replicationConfiguration: { rules: [{ destinations: [{ region: "us-west-2", registryId: "1" }] }] } });
const secret = res(AWS_TYPES.secret, "db-credentials", { replicas: [{ region: "us-west-2" }] });
const asg = res(AWS_TYPES.autoscalingGroup, "asg", { minSize: 2, healthCheckType: "ELB", vpcZoneIdentifiers: ["subnet-a", "subnet-b"], targetGroupArns: ["arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1"] });
const targetGroup = res(AWS_TYPES.targetGroup, "tg", { healthCheck: { enabled: true, interval: 10, unhealthyThreshold: 3 } });
const alb = res(AWS_TYPES.loadBalancer, "alb", { loadBalancerType: "application", accessLogs: { enabled: true, bucket: "logs" } });
const record = res(AWS_TYPES.route53Record, "record", { failoverRoutingPolicies: [{ type: "PRIMARY" }], healthCheckId: "hc-1" });
const launchTemplate = res(AWS_TYPES.launchTemplate, "lt", { metadataOptions: { httpTokens: "required" } });
const healthCheck = res(AWS_TYPES.healthCheck, "hc", { type: "HTTPS", requestInterval: 10, failureThreshold: 3 });
const TOPIC = "arn:aws:sns:us-east-1:1:critical";
const topic = res(AWS_TYPES.topic, "critical", { arn: TOPIC });
const subscription = res(AWS_TYPES.topicSubscription, "critical-email", { topic: TOPIC, protocol: "email", endpoint: "a@b.co" });
const smsSubscription = res(AWS_TYPES.topicSubscription, "critical-sms", { topic: TOPIC, protocol: "sms", endpoint: "+15555550001" });
const alarm = (id: string, period: number, periods: number, metricName: string, comparisonOperator: string) =>
    res(AWS_TYPES.metricAlarm, `alarm-${id}`, { alarmActions: [TOPIC], metricName, comparisonOperator, threshold: 1, period, evaluationPeriods: periods, treatMissingData: "breaching", tags: { alert: id } });
const alarms = [
    alarm("database-down", 60, 1, "DatabaseConnections", "LessThanThreshold"),
    alarm("application-down", 60, 1, "HealthyHostCount", "LessThanThreshold"),
    alarm("high-error-rate", 60, 5, "HTTPCode_Target_5XX_Count", "GreaterThanThreshold"),
    alarm("disk-space-low", 300, 12, "disk_used_percent", "GreaterThanThreshold"),
];

const WORLD: R[] = [
    backupPlan, vault, vaultLock, drVault, drVaultLock, selection, kmsKey, drKmsKey, ...storage, db, dbBackupsReplication, cache, snapshotJob, snapshotSchedule, logGroup, repo, repoLifecycle, registryReplication, secret,
    asg, targetGroup, alb, record, launchTemplate, healthCheck, topic, subscription, smsSubscription, ...alarms,
];

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
    "backup-vault-lock-retention": ["lock minimum 7 days", (w) => void (find(w, "lock").props.minRetentionDays = 7)],
    "backup-selection-covers-database": ["selection tag typo", (w) => void (find(w, "selection").props.selectionTags[0].value = "genei")],
    "backup-copy-vault-exists": ["copy to a vault name instead of an ARN", (w) => void (find(w, "plan").props.rules[0].copyActions[0].destinationVaultArn = "dr-vault")],
    "customer-managed-keys": ["vault key not declared in the stack", (w) => void (find(w, "vault").props.kmsKeyArn = "arn:aws:kms:us-east-1:1:key/other")],
    "s3-bucket-purpose": ["bucket without purpose", (w) => void delete find(w, "uploads-bucket").props.tags],
    "s3-bucket-settings": ["versioning suspended (resource rule)", (w) => void (find(w, "logs-versioning").props.versioningConfiguration.status = "Suspended")],
    "elasticache-snapshot-schedule": ["snapshot schedule disabled", (w) => void (find(w, "snapshot-schedule").props.state = "DISABLED")],
    "log-groups-declared": ["postgresql log exported without its log group", (w) => void (find(w, "db").props = { ...find(w, "db").props, identifier: "db", enabledCloudwatchLogsExports: ["postgresql"] })],
    "alb-access-logs": ["ALB access logs off", (w) => void (find(w, "alb").props.accessLogs.enabled = false)],
    "ecr-immutable-tags": ["mutable tags", (w) => void (find(w, "app").props.imageTagMutability = "MUTABLE")],
    "ecr-replication": ["replication filter misses the repository", (w) => void (find(w, "replication").props.replicationConfiguration.rules[0].repositoryFilters = [{ filter: "web", filterType: "PREFIX_MATCH" }])],
    "asg-serving": ["no target group", (w) => void delete find(w, "asg").props.targetGroupArns],
    "failover-record-health-checked": ["PRIMARY record without health check", (w) => void delete find(w, "record").props.healthCheckId],
    "target-group-failure-detection": ["target group 30 s x 3", (w) => void (find(w, "tg").props.healthCheck.interval = 30)],
    "plan-alert-settings": ["down alarm notBreaching", (w) => void (find(w, "alarm-database-down").props.treatMissingData = "notBreaching")],
    "alert-channels": ["critical topic without SMS", (w) => w.filter((r) => r.name !== "critical-sms")],
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
    "plan-alerts-routed": ["the alarms' topic has no subscriber", (w) => w.filter((r) => r.name !== "critical-email" && r.name !== "critical-sms")],
    "plan-alerts-timely": ["error-rate alarm after 6 minutes", (w) => void (find(w, "alarm-high-error-rate").props.evaluationPeriods = 6)],
    "cross-region-copies": ["secret without replica", (w) => void delete find(w, "db-credentials").props.replicas],
    "recovery-posture": ["automated backups not replicated", (w) => w.filter((r) => r.name !== "db-backups-dr")],
};

describe("the harness's shortcut for rules of several types", () => {
    it("gives every resource of another type exactly what calling the rule gives (the engine calls it)", async () => {
        const marked = ALL_RULES.filter((r) => "validateResource" in r && !Array.isArray(r.validateResource) && (r.validateResource as any)?.__pulumiTypes);
        expect(marked.length, "rules built by forTypes with several types").to.be.greaterThan(0);
        const resources = (await stack("production")).resources;
        let compared = 0;
        for (const rule of marked) {
            const validate = (rule as any).validateResource;
            const types: readonly string[] = validate.__pulumiTypes;
            const unmarked = { ...rule, validateResource: (args: any, report: any) => validate(args, report) } as Rule;
            for (const r of resources.filter((x) => !types.includes(x.type))) {
                expect(await runResourceRule(rule, r), `${rule.name} on ${r.type} ${r.name}`).to.deep.equal(await runResourceRule(unmarked, r));
                compared++;
            }
            // And a resource of its types still reaches the rule.
            const own = resources.find((x) => types.includes(x.type));
            if (own) expect((await runResourceRule(rule, own)).notApplicable.map((n) => n.reason), `${rule.name} on its own type`).not.to.include(onlyTypesReason(types));
        }
        expect(compared).to.be.greaterThan(100);
    });
});

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
        const replica = res(AWS_TYPES.dbInstance, "replica", { replicateSourceDb: "arn:aws:rds:us-east-1:1:db:db", deletionProtection: true });
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
        const noAlarms = WORLD.filter((r) => r.type !== AWS_TYPES.metricAlarm);
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
        const standby = (provider_: string) => res(AWS_TYPES.autoscalingGroup, "asg", { minSize: 1, healthCheckType: "ELB", vpcZoneIdentifiers: ["subnet-a", "subnet-b"], tags: [{ key: "siteRole", value: "standby" }] }, { provider: provider_ });
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

    it("in a preview of a first deploy (every arn and id unknown), no rule turns into one advisory 'can't run during preview'", async () => {
        for (const [name, ev] of [["production", await stack("production")], ["dr", await stack("dr")], ["dr active", await stackWith("dr", { config: { siteRole: "active" } })]] as const) {
            const result = await runRules(ALL_RULES, ev, {}, { preview: { created: "all" } });
            expect(result.errors, name).to.deep.equal([]);
            expect(result.violations.filter((v) => /can't run policy/.test(v.message)).map((v) => `${v.policy}: ${v.message}`), name).to.deep.equal([]);
        }
    });

    it("keeps a violation in a known value mandatory in a preview, and reports only the undecidable check as advisory", async () => {
        const ev = await stack("production");
        const resources = JSON.parse(JSON.stringify(ev.resources));
        const lifecycle = resources.find((r: any) => r.name === "genie-primary-storage-backups-lifecycle");
        for (const o of [lifecycle.props, lifecycle.outputs]) o.rules.find((r: any) => r.id === "db-daily").expiration.days = 20;
        const db = resources.find((r: any) => r.name === "genie-primary-db-instance");
        for (const o of [db.props, db.outputs]) o.multiAz = false;
        const result = await runRules(ALL_RULES, { ...ev, resources }, {}, { preview: { created: "all" } });
        const found = mandatory(result).map((v) => `${v.policy}: ${v.message}`);
        expect(found.some((m) => m.startsWith("rds-multi-az"))).to.equal(true);
        expect(found.some((m) => m.startsWith("s3-lifecycle-retention") && /db\/daily\/ after 20 days/.test(m)), found.join("\n")).to.equal(true);
        // What a preview cannot know (a bucket policy computed from the bucket's ARN) is one advisory per check, naming it.
        const advisories = result.violations.filter((v) => v.enforcementLevel === "advisory" && v.policy === "s3-tls-only");
        expect(advisories.length).to.be.greaterThan(0);
        expect(advisories[0].message).to.match(/not decidable during preview .*policy -- check/);
    });

    it("links resources by the engine's property dependencies when the referenced ARN is unknown", async () => {
        // The engine's sentinel for an unknown string (@pulumi/policy proxy.js, unknownStringValue).
        const unknownStringValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const bucket = res(AWS_TYPES.bucket, "uploads-bucket", { bucket: "uploads", arn: unknownStringValue, tags: { purpose: "uploads" } });
        const versioning = { ...res(AWS_TYPES.bucketVersioning, "uploads-versioning", { bucket: unknownStringValue, versioningConfiguration: { status: "Enabled" } }), propertyDependencies: { bucket: [bucket.urn!] } };
        const linked = await check(rule("s3-versioning"), [bucket, versioning]);
        expect(linked.violations).to.deep.equal([]);
        const orphan = await check(rule("s3-versioning"), [bucket, { ...versioning, propertyDependencies: { bucket: ["urn:other"] } }]);
        expect(orphan.violations.map((v) => v.enforcementLevel)).to.deep.equal(["advisory"]);
        const none = await check(rule("s3-versioning"), [bucket]);
        expect(mandatory(none).map((v) => v.policy)).to.deep.equal(["s3-versioning"]);
    });

    it("turns the passing production stack into a failing one when the pack's config tightens a threshold", async () => {
        const ev = await stack("production");
        const tightened = await runRules(ALL_RULES, ev, { "log-group-retention": { minRetentionDays: 120 } });
        const failing = mandatory(tightened).filter((v) => v.policy === "log-group-retention");
        expect(failing).to.have.length.greaterThan(0);
        expect(failing[0].message).to.match(/not at least 120/);
    });

    it("lists every rule in the Rules table of docs/policy-pack.md", () => {
        const doc = fs.readFileSync(path.join(PROJECT_DIR, "docs", "policy-pack.md"), "utf8");
        expect(doc).to.include("\n## Rules\n");
        const section = doc.slice(doc.indexOf("\n## Rules\n")).split(/\n## /)[1];
        const listed = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
        for (const r of ALL_RULES) expect(listed, r.name).to.include(r.name);
        // and no row for a rule the pack does not have
        for (const name of listed) expect(ALL_RULES.map((r) => r.name), name).to.include(name);
    });
});
