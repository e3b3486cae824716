// Over 300 lines on purpose: S3's settings are separate resources joined to their bucket by name: the bucket
// rules share that join and read best side by side.
/**
 * S3: the plan's cloud storage of backups ("Location: Local storage + cloud storage"), user uploads
 * ("Real-time replication to secondary storage") and logs ("90-day retention"). In aws v7 a bucket's
 * settings are separate resources (versioning, encryption, public access block, policy, lifecycle,
 * replication), so these are stack rules that join them to their bucket by the bucket's name.
 */
import { DR_PLAN } from "../dr-plan";
import { asArray, fix, forTypes, guard, isOneOf, jsonDocument, known, label, PolicyResource, pointsAt, purposeOf, regionOf, ReportViolation, Rule, settingsOf, siteOf, StackValidationArgs, T, UNKNOWN } from "./common";

export const buckets = (args: StackValidationArgs) => args.resources.filter((r) => isOneOf(r.type, T.bucket));

/**
 * The settings resources of a type that point at this bucket (by its name when known, else by the
 * engine's property dependencies), in the same region. Throws the unknown-value error when a
 * setting's `bucket` can be told neither way, so that {@link guard} reports that check as advisory.
 */
export function settingsFor(args: StackValidationArgs, bucket: PolicyResource, types: string | readonly string[]): PolicyResource[] {
    const out: PolicyResource[] = [];
    let undecided = false;
    for (const r of args.resources.filter((x) => isOneOf(x.type, types))) {
        const hit = pointsAt(r, "bucket", known(() => r.props.bucket), bucket);
        if (hit === undefined) undecided = true;
        else if (hit && (regionOf(r) === undefined || regionOf(r) === regionOf(bucket))) out.push(r);
    }
    if (out.length === 0 && undecided) throw new Error(`the bucket settings' bucket can't be known during preview`);
    return out;
}

/** Each bucket of the stack, its check run in its own {@link guard}. */
function eachBucket(args: StackValidationArgs, report: ReportViolation, what: string, check: (b: PolicyResource) => void) {
    for (const b of buckets(args)) guard(report, `${label(b)}: ${what}`, () => check(b), b.urn);
}

/** The purposes a bucket may declare: each picks the rules' requirements. */
export const BUCKET_PURPOSES = ["backups", "uploads", "logs", "cache-exports", "status-page"]; // status-page: the public status page (components/status-page.ts), rebuilt by its function

export const s3BucketPurpose: Rule = {
    name: "s3-bucket-purpose",
    description:
        "Every bucket declares what it holds (a `purpose` tag, or the storage component's naming): the S3 rules pick retention, replication, encryption and logging by it, so a bucket without a declared purpose would escape them.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { purposes: { type: "array", items: { type: "string", enum: BUCKET_PURPOSES }, default: BUCKET_PURPOSES, description: "Purposes a bucket may declare (a config may only remove some)." } } },
    validateResource: forTypes(T.bucket, (props, args, report) => {
        const { purposes } = settingsOf<{ purposes: string[] }>(s3BucketPurpose.configSchema!, args);
        const purpose = purposeOf({ name: args.name, props });
        if (!purpose || !purposes.includes(purpose)) {
            report(`bucket declares ${purpose ? `purpose "${purpose}", not one of ${purposes.join(", ")}` : "no purpose"}: no retention, replication or encryption requirement would apply${fix(`tag it purpose=<${purposes.join("|")}>`)}`);
        }
    }),
};

const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
const ENCRYPTION = ["aws:kms", "aws:kms:dsse", "AES256"];

/** The key prefix a lifecycle or replication rule applies to ("" for the whole bucket). */
function rulePrefix(rule: any): string {
    return rule.filter?.prefix ?? rule.filter?.and?.prefix ?? rule.prefix ?? "";
}
/** True when a rule's filter narrows by tag or size too (it then does not apply to every object under its prefix). */
const narrowed = (rule: any): boolean =>
    rule.filter?.tag !== undefined || asArray(rule.filter?.and?.tags).length > 0 || (rule.filter?.and?.tags && Object.keys(rule.filter.and.tags).length > 0) ||
    rule.filter?.objectSizeGreaterThan !== undefined || rule.filter?.objectSizeLessThan !== undefined || rule.filter?.and?.objectSizeGreaterThan !== undefined || rule.filter?.and?.objectSizeLessThan !== undefined;

/** Deprecated inline inputs of aws.s3.Bucket that govern what the S3 rules check, and the resource that replaces each. */
const INLINE_BUCKET_SETTINGS: [string, string][] = [
    ["lifecycleRules", "aws.s3.BucketLifecycleConfiguration"],
    ["versioning", "aws.s3.BucketVersioning"],
    ["serverSideEncryptionConfiguration", "aws.s3.BucketServerSideEncryptionConfiguration"],
    ["replicationConfiguration", "aws.s3.BucketReplicationConfig"],
    ["policy", "aws.s3.BucketPolicy"],
    ["logging", "aws.s3.BucketLogging"],
    ["acl", "aws.s3.BucketAcl (or none: ACLs disabled)"],
    ["grants", "aws.s3.BucketAcl (or none: ACLs disabled)"],
    ["objectLockConfiguration", "aws.s3.BucketObjectLockConfiguration"],
];

export const s3BucketSettings: Rule = {
    name: "s3-bucket-settings",
    description:
        "Each S3 bucket and settings resource, on its own (so `pulumi up` refuses it before creating it): no bucket sets the deprecated inline lifecycleRules, versioning, serverSideEncryptionConfiguration, replicationConfiguration, policy, logging, acl, grants or objectLockConfiguration (the rules read the standalone resources); versioning Enabled (not Suspended), all four public access blocks on, default encryption with aws:kms (with a key) or AES256, and no lifecycle rule expiring objects on a fixed date (a date expires everything written before it, whatever the retention).",
    enforcementLevel: "mandatory",
    validateResource: forTypes([...T.bucket, ...T.bucketVersioning, T.bucketPublicAccessBlock, ...T.bucketEncryption, ...T.bucketLifecycle], (props, args, report) => {
        if (isOneOf(args.type, T.bucket)) {
            // The bucket's own deprecated inline settings ("@deprecated lifecycle_rule is deprecated. Use the
            // aws.s3.BucketLifecycleConfiguration resource instead", and so on: aws 7.48, s3 Bucket) are not what the
            // stack rules read, and they fight the standalone resources over the same bucket configuration: refused.
            guard(report, "inline settings", () => {
                const inline = INLINE_BUCKET_SETTINGS.filter(([k]) => props[k] !== undefined && props[k] !== null && !(Array.isArray(props[k]) && props[k].length === 0));
                if (inline.length > 0) report(`bucket sets the deprecated inline ${inline.map(([k]) => k).join(", ")}, which the pack's bucket rules do not read and which conflict with the standalone resources${fix(`move each to its resource: ${inline.map(([, r]) => r).join(", ")}`)}`);
            });
            return;
        }
        if (isOneOf(args.type, T.bucketVersioning)) {
            guard(report, "versioning status", () => {
                const status = props.versioningConfiguration?.status;
                if (status !== "Enabled") report(`versioning status is ${status ?? "unset"}${fix('set versioningConfiguration: { status: "Enabled" }')}`);
            });
        } else if (args.type === T.bucketPublicAccessBlock) {
            guard(report, "public access block", () => {
                const off = BLOCKS.filter((k) => props[k] !== true);
                if (off.length > 0) report(`public access not blocked (${off.join(", ")} off)${fix(BLOCKS.map((k) => `${k}: true`).join(", "))}`);
            });
        } else if (isOneOf(args.type, T.bucketEncryption)) {
            guard(report, "default encryption", () => {
                const defaults = asArray<any>(props.rules).map((r) => r.applyServerSideEncryptionByDefault ?? {});
                if (!defaults.some((d) => ENCRYPTION.includes(d.sseAlgorithm))) report(`no default encryption rule with ${ENCRYPTION.join(", ")}${fix('set rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId } }]')}`);
                for (const d of defaults) {
                    if (String(d.sseAlgorithm).startsWith("aws:kms") && known(() => d.kmsMasterKeyId) === undefined) report(`${d.sseAlgorithm} without kmsMasterKeyId: S3 then uses the AWS-managed key aws/s3${fix("set kmsMasterKeyId to the site's customer-managed key")}`);
                }
            });
        } else {
            for (const r of known(() => asArray<any>(props.rules)) === UNKNOWN ? [] : asArray<any>(props.rules)) {
                guard(report, `lifecycle rule ${known(() => r.id) as string}`, () => {
                    if (r.status !== "Disabled" && r.expiration?.date !== undefined && r.expiration?.date !== null) {
                        report(`lifecycle rule ${r.id} expires ${rulePrefix(r) === "" ? "every object" : `objects under ${rulePrefix(r)}`} on ${r.expiration.date}, whatever its age${fix("expire by age: expiration: { days: <retention> }")}`);
                    }
                });
            }
        }
    }),
};

export const s3Versioning: Rule = {
    name: "s3-versioning",
    description: 'File storage and backups, "Real-time replication to secondary storage": every bucket has versioning enabled (replication needs it, and an overwrite or delete loses nothing).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        eachBucket(args, report, "versioning", (b) => {
            const enabled = settingsFor(args, b, T.bucketVersioning).some((v) => v.props.versioningConfiguration?.status === "Enabled");
            if (!enabled) report(`${label(b)}: versioning is not enabled${fix('add aws.s3.BucketVersioning { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }')}`, b.urn);
        });
    },
};

/** The purposes whose AWS writer accepts only SSE-S3 (a config may only remove some). */
const SSE_S3_PURPOSES = ["logs", "cache-exports"];

export const s3Encryption: Rule = {
    name: "s3-encryption",
    description:
        'Configuration, "Encrypted storage": every bucket is encrypted by default with the site\'s KMS key (aws:kms with kmsMasterKeyId; customer-managed-keys checks it is a key of the stack); SSE-S3 (AES256) only for the purposes whose AWS writer accepts nothing else: ALB access logs and S3 server access logs (logs), ElastiCache exports (cache-exports).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            sseS3Purposes: {
                type: "array",
                items: { type: "string", enum: SSE_S3_PURPOSES },
                default: SSE_S3_PURPOSES,
                description:
                    'Bucket purposes allowed SSE-S3: ALB access logs ("The only server-side encryption option that\'s supported is Amazon S3-managed keys (SSE-S3)", ELB User Guide, enable-access-logging) and ElastiCache exports ("Customer managed keys cannot be used when exporting backups", ElastiCache User Guide, backups-exporting).',
            },
        },
    },
    validateStack: (args, report) => {
        const { sseS3Purposes } = settingsOf<{ sseS3Purposes: string[] }>(s3Encryption.configSchema!, args);
        eachBucket(args, report, "default encryption", (b) => {
            const algorithms = settingsFor(args, b, T.bucketEncryption).flatMap((e) => asArray<any>(e.props.rules).map((r) => r.applyServerSideEncryptionByDefault ?? {}));
            const allowed = sseS3Purposes.includes(purposeOf(b) ?? "") ? ENCRYPTION : ENCRYPTION.filter((a) => a !== "AES256");
            const ok = algorithms.some((d) => allowed.includes(d.sseAlgorithm) && (d.sseAlgorithm === "AES256" || known(() => d.kmsMasterKeyId) !== undefined));
            if (!ok) {
                const seen = algorithms.map((d) => d.sseAlgorithm).join(", ") || "none";
                report(`${label(b)} (${purposeOf(b) ?? "no purpose"}): default encryption is ${seen}, not the site's KMS key${fix('add aws.s3.BucketServerSideEncryptionConfiguration with applyServerSideEncryptionByDefault { sseAlgorithm: "aws:kms", kmsMasterKeyId: <site key arn> }')}`, b.urn);
            }
        });
    },
};

export const s3PublicAccessBlocked: Rule = {
    name: "s3-public-access-blocked",
    description: "Backups, uploads and logs are private: every bucket has a public access block with all four settings on.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        eachBucket(args, report, "public access block", (b) => {
            const blocks = settingsFor(args, b, T.bucketPublicAccessBlock);
            const off = blocks.length === 0 ? BLOCKS : BLOCKS.filter((k) => !blocks.some((p) => p.props[k] === true));
            if (off.length > 0) report(`${label(b)}: public access not blocked (${off.join(", ")} off)${fix(`add aws.s3.BucketPublicAccessBlock { bucket: bucket.id, ${BLOCKS.map((k) => `${k}: true`).join(", ")} }`)}`, b.urn);
        });
    },
};

/** `*`-wildcard match of an IAM resource pattern. */
const matches = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);

/**
 * True when a bucket policy denies every request made without TLS, to the bucket AND its objects:
 * a Deny for every principal and every S3 action (s3:* or *), with aws:SecureTransport false, whose
 * Resource covers both `arn:aws:s3:::<bucket>` (bucket operations) and `arn:aws:s3:::<bucket>/<key>`
 * (object operations). Without `bucketName` the resources are only required to name a bucket and its objects.
 */
export function deniesInsecureTransport(policy: unknown, bucketName?: string): boolean {
    const doc = jsonDocument(policy);
    return asArray<any>(doc?.Statement).some((st) => {
        // A condition value may be a string or a list of them (IAM JSON policy reference, Condition element: "a list of values").
        const cond = asArray<unknown>(st?.Condition?.Bool?.["aws:SecureTransport"]);
        const actions = asArray<string>(st?.Action);
        const principal = st?.Principal;
        const everyone = principal === "*" || asArray(principal?.AWS).includes("*");
        if (!(st?.Effect === "Deny" && cond.some((c) => c === false || c === "false") && everyone && actions.some((a) => a === "s3:*" || a === "*") && st?.NotResource === undefined)) return false;
        const resources = asArray<string>(st?.Resource);
        const bucketArn = bucketName ? `arn:aws:s3:::${bucketName}` : undefined;
        const coversBucket = bucketArn ? resources.some((p) => matches(p, bucketArn)) : resources.some((p) => p === "*" || !p.includes("/"));
        const coversObjects = bucketArn ? resources.some((p) => matches(p, `${bucketArn}/any/key`)) : resources.some((p) => p === "*" || p.endsWith("/*"));
        return coversBucket && coversObjects;
    });
}

/** A bucket's name when known (its `bucket` output), else undefined. */
const bucketNameOf = (b: PolicyResource): string | undefined => {
    const name = known(() => b.props.bucket);
    return name === UNKNOWN || typeof name !== "string" ? undefined : name;
};

export const s3TlsOnly: Rule = {
    name: "s3-tls-only",
    description: "Backups, uploads and logs travel encrypted: every bucket's policy denies requests without TLS (aws:SecureTransport false) from every principal, for every S3 action, on the bucket AND its objects.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        eachBucket(args, report, "TLS-only bucket policy", (b) => {
            const ok = settingsFor(args, b, T.bucketPolicy).some((p) => deniesInsecureTransport(p.props.policy, bucketNameOf(b)));
            if (!ok) report(`${label(b)}: no bucket policy denies non-TLS requests to the bucket and its objects${fix('add a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, arn/*], Condition: { Bool: { "aws:SecureTransport": "false" } } }')}`, b.urn);
        });
    },
};

export const s3LifecycleRetention: Rule = {
    name: "s3-lifecycle-retention",
    description:
        'Database backups "Retention: 30 days for daily backups, 12 months for weekly backups" (dumps under db/daily/ and db/weekly/ of the backups bucket), Redis "Retention: 7 days" (redis/ of the backups bucket, the exports bucket) and "Logs: Centralized logging with 90-day retention" (the logs bucket): each prefix has an enabled lifecycle rule declaring an expiration by age of at least the retention for every object under it, and no enabled rule covering it expires objects sooner, on a date, or deletes their noncurrent (overwritten or deleted) versions sooner.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            retention: {
                type: "object",
                description: "Per bucket purpose (the bucket's `purpose` tag), per key prefix: the days objects must be kept, at least.",
                default: {
                    backups: { "db/daily/": DR_PLAN.dbDailyRetentionDays, "db/weekly/": DR_PLAN.dbWeeklyRetentionDays, "redis/": DR_PLAN.redisRetentionDays },
                    "cache-exports": { "": DR_PLAN.redisRetentionDays },
                    logs: { "": DR_PLAN.logRetentionDays },
                },
            },
        },
    },
    validateStack: (args, report) => {
        const { retention } = settingsOf<{ retention: Record<string, Record<string, number>> }>(s3LifecycleRetention.configSchema!, args);
        eachBucket(args, report, "lifecycle retention", (b) => {
            const wanted = retention[purposeOf(b) ?? ""];
            if (!wanted) return;
            const rules = settingsFor(args, b, T.bucketLifecycle).flatMap((l) => asArray<any>(l.props.rules)).filter((r) => r.status !== "Disabled");
            for (const [prefix, minDays] of Object.entries(wanted)) {
                const where = prefix === "" ? "objects" : `objects under ${prefix}`;
                // Rules acting on some objects under this prefix: theirs is a prefix of it (whole bucket, or a parent) or the reverse.
                const covering = rules.filter((r) => prefix.startsWith(rulePrefix(r)) || rulePrefix(r).startsWith(prefix));
                // A rule declares the retention of EVERY object under the prefix: its prefix contains this one, no tag or size filter, an expiration by age.
                const declaring = covering.filter((r) => prefix.startsWith(rulePrefix(r)) && !narrowed(r) && typeof r.expiration?.days === "number");
                if (declaring.length === 0) {
                    report(`${label(b)}: no enabled lifecycle rule expires every one of its ${where} by age (plan: kept ${minDays} days, then expired)${fix(`add a lifecycle rule { filter: { prefix: "${prefix}" }, expiration: { days: ${minDays} } }`)}`, b.urn);
                }
                for (const r of covering) {
                    const expire = r.expiration?.days;
                    if (typeof expire === "number" && expire < minDays) {
                        report(`${label(b)}: lifecycle rule ${r.id} expires ${where} after ${expire} days, less than ${minDays}${fix(`set expiration.days to at least ${minDays}`)}`, b.urn);
                    }
                    if (r.expiration?.date !== undefined && r.expiration?.date !== null) {
                        report(`${label(b)}: lifecycle rule ${r.id} expires ${where} on ${r.expiration.date}, whatever their age (plan: ${minDays} days)${fix(`expire by age: expiration: { days: ${minDays} }`)}`, b.urn);
                    }
                    const noncurrent = r.noncurrentVersionExpiration?.noncurrentDays;
                    // "NewerNoncurrentVersions: Specifies how many noncurrent versions Amazon S3 will retain. If there are this many
                    // more recent noncurrent versions, Amazon S3 will take the associated action" (S3 API, NoncurrentVersionExpiration):
                    // with at least 1, the version a delete leaves behind (the newest noncurrent one) is never expired by age.
                    const newer = r.noncurrentVersionExpiration?.newerNoncurrentVersions;
                    const keepsNewest = typeof newer === "number" ? newer >= 1 : typeof newer === "string" && Number(newer) >= 1;
                    if (typeof noncurrent === "number" && noncurrent < minDays && !keepsNewest) {
                        report(
                            `${label(b)}: lifecycle rule ${r.id} deletes noncurrent versions of ${where} after ${noncurrent} days, less than ${minDays}: an overwritten or deleted backup is gone before its retention` +
                                fix(`set noncurrentVersionExpiration.noncurrentDays to at least ${minDays} for these objects (overlapping rules: the shortest wins)`),
                            b.urn,
                        );
                    }
                }
            }
        });
    },
};

export const s3Replication: Rule = {
    name: "s3-replication",
    description:
        'File storage, "User uploads: Real-time replication to secondary storage" and backups "Location: ... cloud storage": the uploads, backups and Redis-exports buckets of the serving site replicate EVERY object (an enabled rule without a prefix or tag filter) to a bucket of this stack in another region, uploads with Replication Time Control (15 minutes); from an SSE-KMS bucket the rule replicates KMS-encrypted objects (sourceSelectionCriteria.sseKmsEncryptedObjects Enabled and a replica key), or nothing replicates.',
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
        eachBucket(args, report, "replication", (b) => {
            const purpose = purposeOf(b);
            if (!purpose || !s.purposes.includes(purpose)) return;
            // Sources are the buckets of the sites named in `sites`; the DR landing zone holds their replicas.
            if (!s.sites.includes(siteOf(b) ?? "")) return;
            const configs = settingsFor(args, b, T.bucketReplication);
            const rules = configs.flatMap((c) => asArray<any>(c.props.rules).map((r) => ({ c, r }))).filter(({ r }) => r.status === "Enabled");
            const remote = rules.filter(({ c, r }) => {
                const dest = known(() => r.destination?.bucket);
                return all.some(
                    (t) =>
                        t !== b &&
                        regionOf(t) !== undefined &&
                        regionOf(t) !== regionOf(b) &&
                        (dest === UNKNOWN ? pointsAt(c, "rules", UNKNOWN, t) === true : known(() => t.props.arn) === dest),
                );
            });
            if (remote.length === 0) {
                report(`${label(b)} (${purpose}): no enabled replication rule to a bucket of this stack in another region${fix("add aws.s3.BucketReplicationConfig { bucket: bucket.id, role, rules: [{ status: \"Enabled\", filter: {}, destination: { bucket: <DR replica bucket arn> } }] } (both buckets versioned)")}`, b.urn);
                return;
            }
            const whole = remote.filter(({ r }) => rulePrefix(r) === "" && !narrowed(r));
            if (whole.length === 0) {
                report(`${label(b)} (${purpose}): its replication rules cover only ${remote.map(({ r }) => `"${rulePrefix(r)}"${narrowed(r) ? " (with a tag or size filter)" : ""}`).join(", ")}, not every object${fix("give one enabled rule filter: {} (no prefix, no tag)")}`, b.urn);
                return;
            }
            const kms = settingsFor(args, b, T.bucketEncryption).some((e) => asArray<any>(e.props.rules).some((r) => String(r.applyServerSideEncryptionByDefault?.sseAlgorithm ?? "").startsWith("aws:kms")));
            if (kms && !whole.some(({ r }) => r.sourceSelectionCriteria?.sseKmsEncryptedObjects?.status === "Enabled" && known(() => r.destination?.encryptionConfiguration?.replicaKmsKeyId) !== undefined)) {
                report(`${label(b)} (${purpose}): the bucket is SSE-KMS encrypted but its replication rule does not replicate KMS-encrypted objects, so nothing replicates${fix('set sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } } and destination.encryptionConfiguration.replicaKmsKeyId')}`, b.urn);
            }
            if (s.realTimePurposes.includes(purpose) && !whole.some(({ r }) => r.destination?.replicationTime?.status === "Enabled")) {
                report(`${label(b)} (${purpose}): replication has no Replication Time Control, so it is not real-time${fix('set destination.replicationTime { status: "Enabled", time: { minutes: 15 } } and metrics { status: "Enabled", eventThreshold: { minutes: 15 } }')}`, b.urn);
            }
        });
    },
};

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
        eachBucket(args, report, "server access logging", (b) => {
            const purpose = purposeOf(b);
            if (!purpose || !purposes.includes(purpose)) return;
            const targets = settingsFor(args, b, T.bucketLogging).map((l) => all.find((t) => t !== b && pointsAt(l, "targetBucket", known(() => l.props.targetBucket), t) === true));
            const ok = targets.some((t) => t !== undefined && purposeOf(t) === "logs" && (regionOf(t) === undefined || regionOf(t) === regionOf(b)));
            if (!ok) {
                report(`${label(b)} (${purpose}): no server access logging into a logs bucket of this stack in its region${fix('add aws.s3.BucketLogging { bucket: bucket.id, targetBucket: <logs bucket of the same region>, targetPrefix: "s3-access/<purpose>/" } and let logging.s3.amazonaws.com put objects there (bucket policy)')}`, b.urn);
            }
        });
    },
};

export const STORAGE_RULES: Rule[] = [s3BucketPurpose, s3BucketSettings, s3Versioning, s3Encryption, s3PublicAccessBlocked, s3TlsOnly, s3LifecycleRetention, s3Replication, s3AccessLogging];
