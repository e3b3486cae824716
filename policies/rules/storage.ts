/**
 * S3: the plan's cloud storage of backups ("Location: Local storage + cloud storage"), user uploads
 * ("Real-time replication to secondary storage") and logs ("90-day retention"). In aws v7 a bucket's
 * settings are separate resources (versioning, encryption, public access block, policy, lifecycle,
 * replication), so these are stack rules that join them to their bucket by the bucket's name.
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { asArray, fix, isOneOf, jsonDocument, label, PolicyResource, purposeOf, refsOf, regionOf, Rule, settingsOf, siteOf, StackValidationArgs, T } from "./common";

export const buckets = (args: StackValidationArgs) => args.resources.filter((r) => isOneOf(r.type, T.bucket));

/** The settings resources of a type that point at this bucket (same name, same region). */
export function settingsFor(args: StackValidationArgs, bucket: PolicyResource, types: string | readonly string[]): PolicyResource[] {
    const refs = refsOf(bucket);
    return args.resources.filter((r) => isOneOf(r.type, types) && refs.has(r.props.bucket) && (regionOf(r) === undefined || regionOf(r) === regionOf(bucket)));
}

export const s3Versioning: Rule = {
    name: "s3-versioning",
    description: 'File storage and backups, "Real-time replication to secondary storage": every bucket is versioned (replication needs it, and an overwrite or delete loses nothing).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const b of buckets(args)) {
            const enabled = settingsFor(args, b, T.bucketVersioning).some((v) => v.props.versioningConfiguration?.status === "Enabled");
            if (!enabled) report(`${label(b)}: versioning is not enabled${fix('add aws.s3.BucketVersioning { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }')}`, b.urn);
        }
    },
};

const ENCRYPTION = ["aws:kms", "aws:kms:dsse", "AES256"];

export const s3Encryption: Rule = {
    name: "s3-encryption",
    description: 'Configuration, "Encrypted storage": every bucket has default server-side encryption (KMS, or SSE-S3 where AWS requires it, e.g. ALB access logs).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const b of buckets(args)) {
            const ok = settingsFor(args, b, T.bucketEncryption).some((e) =>
                asArray<any>(e.props.rules).some((r) => ENCRYPTION.includes(r.applyServerSideEncryptionByDefault?.sseAlgorithm)),
            );
            if (!ok) report(`${label(b)}: no default server-side encryption${fix('add aws.s3.BucketServerSideEncryptionConfiguration with applyServerSideEncryptionByDefault { sseAlgorithm: "aws:kms", kmsMasterKeyId }')}`, b.urn);
        }
    },
};

const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

export const s3PublicAccessBlocked: Rule = {
    name: "s3-public-access-blocked",
    description: "Backups, uploads and logs are private: every bucket has a public access block with all four settings on.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const b of buckets(args)) {
            const blocks = settingsFor(args, b, T.bucketPublicAccessBlock);
            const off = blocks.length === 0 ? BLOCKS : BLOCKS.filter((k) => !blocks.some((p) => p.props[k] === true));
            if (off.length > 0) report(`${label(b)}: public access not blocked (${off.join(", ")} off)${fix(`add aws.s3.BucketPublicAccessBlock { bucket: bucket.id, ${BLOCKS.map((k) => `${k}: true`).join(", ")} }`)}`, b.urn);
        }
    },
};

/** True when a bucket policy denies every request made without TLS. */
export function deniesInsecureTransport(policy: unknown): boolean {
    const doc = jsonDocument(policy);
    return asArray<any>(doc?.Statement).some((st) => {
        const cond = st?.Condition?.Bool?.["aws:SecureTransport"];
        const actions = asArray<string>(st?.Action);
        return st?.Effect === "Deny" && (cond === false || cond === "false") && actions.some((a) => a === "s3:*" || a === "*");
    });
}

export const s3TlsOnly: Rule = {
    name: "s3-tls-only",
    description: "Backups, uploads and logs travel encrypted: every bucket's policy denies requests without TLS (aws:SecureTransport false).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const b of buckets(args)) {
            const ok = settingsFor(args, b, T.bucketPolicy).some((p) => deniesInsecureTransport(p.props.policy));
            if (!ok) report(`${label(b)}: no bucket policy denies non-TLS requests${fix('add a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, arn/*], Condition: { Bool: { "aws:SecureTransport": "false" } } }')}`, b.urn);
        }
    },
};

/** The key prefix a lifecycle rule applies to ("" for the whole bucket). */
function rulePrefix(rule: any): string {
    return rule.filter?.prefix ?? rule.filter?.and?.prefix ?? rule.prefix ?? "";
}

export const s3LifecycleRetention: Rule = {
    name: "s3-lifecycle-retention",
    description:
        'Database backups "Retention: 30 days for daily backups, 12 months for weekly backups" (dumps under db/daily/ and db/weekly/ of the backups bucket) and "Logs: Centralized logging with 90-day retention" (the logs bucket): each prefix has a lifecycle rule, and no enabled rule expires its objects sooner.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            retention: {
                type: "object",
                description: "Per bucket purpose (the bucket's `purpose` tag), per key prefix: the days objects must be kept, at least.",
                default: {
                    backups: { "db/daily/": DR_PLAN.dbDailyRetentionDays, "db/weekly/": DR_PLAN.dbWeeklyRetentionDays },
                    "cache-exports": { "": DR_PLAN.redisRetentionDays },
                    logs: { "": DR_PLAN.logRetentionDays },
                },
            },
        },
    },
    validateStack: (args, report) => {
        const { retention } = settingsOf<{ retention: Record<string, Record<string, number>> }>(s3LifecycleRetention.configSchema!, args);
        for (const b of buckets(args)) {
            const wanted = retention[purposeOf(b) ?? ""];
            if (!wanted) continue;
            const rules = settingsFor(args, b, T.bucketLifecycle).flatMap((l) => asArray<any>(l.props.rules)).filter((r) => r.status !== "Disabled");
            for (const [prefix, minDays] of Object.entries(wanted)) {
                const where = prefix === "" ? "objects" : `objects under ${prefix}`;
                // Rules covering this prefix: theirs is a prefix of it (whole bucket, or a parent) or the reverse.
                const covering = rules.filter((r) => prefix.startsWith(rulePrefix(r)) || rulePrefix(r).startsWith(prefix));
                if (!covering.some((r) => rulePrefix(r) === prefix || prefix.startsWith(rulePrefix(r)))) {
                    report(`${label(b)}: no lifecycle rule declares how long ${where} are kept (plan: ${minDays} days)${fix(`add a lifecycle rule { filter: { prefix: "${prefix}" }, expiration: { days: ${minDays} } }`)}`, b.urn);
                }
                for (const r of covering) {
                    const expire = r.expiration?.days;
                    if (typeof expire === "number" && expire < minDays) {
                        report(`${label(b)}: lifecycle rule ${r.id} expires ${where} after ${expire} days, less than ${minDays}${fix(`set expiration.days to at least ${minDays}`)}`, b.urn);
                    }
                }
            }
        }
    },
};

export const s3Replication: Rule = {
    name: "s3-replication",
    description:
        'File storage, "User uploads: Real-time replication to secondary storage" and backups "Location: ... cloud storage": the uploads and backups buckets replicate to a bucket in another region; uploads with Replication Time Control (15 minutes).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            purposes: { type: "array", items: { type: "string" }, default: ["uploads", "backups", "cache-exports"], description: "Bucket purposes that must replicate to another region." },
            realTimePurposes: { type: "array", items: { type: "string" }, default: ["uploads"], description: "Bucket purposes that must replicate with Replication Time Control." },
            sites: { type: "array", items: { type: "string" }, default: ["primary"], description: "Sites (provider `site` tag) whose buckets are replication sources." },
        },
    },
    validateStack: (args, report) => {
        const s = settingsOf<{ purposes: string[]; realTimePurposes: string[]; sites: string[] }>(s3Replication.configSchema!, args);
        const all = buckets(args);
        for (const b of all) {
            const purpose = purposeOf(b);
            if (!purpose || !s.purposes.includes(purpose)) continue;
            // Sources are the buckets of the sites named in `sites`; the DR landing zone holds their replicas.
            if (!s.sites.includes(siteOf(b) ?? "")) continue;
            const rules = settingsFor(args, b, T.bucketReplication).flatMap((c) => asArray<any>(c.props.rules)).filter((r) => r.status === "Enabled");
            const remote = rules.filter((r) => {
                const target = all.find((t) => t.props.arn === r.destination?.bucket);
                return target !== undefined && regionOf(target) !== undefined && regionOf(target) !== regionOf(b);
            });
            if (remote.length === 0) {
                report(`${label(b)} (${purpose}): no enabled replication rule to a bucket of this stack in another region${fix("add aws.s3.BucketReplicationConfig { bucket: bucket.id, role, rules: [{ status: \"Enabled\", destination: { bucket: <DR replica bucket arn> } }] } (both buckets versioned)")}`, b.urn);
                continue;
            }
            if (s.realTimePurposes.includes(purpose) && !remote.some((r) => r.destination?.replicationTime?.status === "Enabled")) {
                report(`${label(b)} (${purpose}): replication has no Replication Time Control, so it is not real-time${fix('set destination.replicationTime { status: "Enabled", time: { minutes: 15 } } and metrics { status: "Enabled", eventThreshold: { minutes: 15 } }')}`, b.urn);
            }
        }
    },
};

/** S3 server access logging resources (aws v7 name and the older V2 one). */
const BUCKET_LOGGING = ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"];

export const s3AccessLogging: Rule = {
    name: "s3-access-logging",
    description:
        'Backups and uploads are auditable ("Backup accessibility", "Security and access audits"): every bucket holding backups, uploads or Redis exports, primary and replica, has S3 server access logging into a logs bucket of this stack in its region (who read, wrote or deleted which object).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            purposes: { type: "array", items: { type: "string" }, default: ["backups", "uploads", "cache-exports"], description: "Bucket purposes whose access must be logged." },
        },
    },
    validateStack: (args, report) => {
        const { purposes } = settingsOf<{ purposes: string[] }>(s3AccessLogging.configSchema!, args);
        const all = buckets(args);
        for (const b of all) {
            const purpose = purposeOf(b);
            if (!purpose || !purposes.includes(purpose)) continue;
            const targets = settingsFor(args, b, BUCKET_LOGGING).map((l) => all.find((t) => t !== b && refsOf(t).has(l.props.targetBucket)));
            const ok = targets.some((t) => t !== undefined && (regionOf(t) === undefined || regionOf(t) === regionOf(b)));
            if (!ok) {
                report(`${label(b)} (${purpose}): no server access logging into a logs bucket of this stack in its region${fix('add aws.s3.BucketLogging { bucket: bucket.id, targetBucket: <logs bucket of the same region>, targetPrefix: "s3-access/<purpose>/" } and let logging.s3.amazonaws.com put objects there (bucket policy)')}`, b.urn);
            }
        }
    },
};

export const STORAGE_RULES: Rule[] = [s3Versioning, s3Encryption, s3PublicAccessBlocked, s3TlsOnly, s3LifecycleRetention, s3Replication, s3AccessLogging];
