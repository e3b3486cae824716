/**
 * What a site can do, as named capabilities read off the resources declared in its region. The
 * production site's capabilities are the bar an active DR site must meet: a test lists every one
 * the active DR site lacks (and the list must be empty).
 *
 * A site's region may hold resources of more than one stack: the DR region has the DR stack's own
 * resources and the production stack's recovery landing zone (replica buckets, secret replicas,
 * the replicated registry), which the DR site uses as its own.
 */
import { DR_PLAN } from "../infra/dr-plan";
import { AWS_TYPES, hasType, ofType } from "../policies/aws-types";
import { PLAN_ALERTS } from "../policies/rules/alerting";
import { RecordedResource, StackEvaluation } from "./mock-runtime";

const PLAN_ALERT_IDS = Object.keys(PLAN_ALERTS);

type Resources = RecordedResource[];
/** This program's resource types: policies/aws-types.ts. */
const T = AWS_TYPES;
const has = hasType<RecordedResource>;
const tagged = (r: RecordedResource, key: string, value?: string) => r.props.tags?.[key] !== undefined && (value === undefined || r.props.tags[key] === value);

/** Each capability and how to see it among a region's resources (`all` holds every stack's resources, for cross-region links). */
export const CAPABILITIES: Record<string, (site: Resources, all: Resources, region: string) => boolean> = {
    "network over at least two zones, a NAT gateway each": (rs) => {
        const zones = new Set(ofType(rs, T.subnet).filter((s) => s.props.tags?.tier === "app").map((s) => s.props.availabilityZone));
        return zones.size >= 2 && ofType(rs, T.natGateway).length >= zones.size;
    },
    "security groups per tier": (rs) => ["alb", "app", "database", "cache"].every((tier) => has(rs, T.securityGroup, (g) => g.props.tags?.tier === tier)),
    "customer-managed KMS key with rotation": (rs) => has(rs, T.kmsKey, (k) => k.props.enableKeyRotation === true),
    "Multi-AZ database primary with point-in-time backups": (rs) =>
        has(rs, T.dbInstance, (db) => db.props.multiAz === true && !db.props.replicateSourceDb && Number(db.props.backupRetentionPeriod) > 0 && db.props.deletionProtection === true),
    // A replica whose source is in its own region (named by identifier, or by an ARN of that region).
    "in-region database read replica": (rs) =>
        has(rs, T.dbInstance, (db) => typeof db.props.replicateSourceDb === "string" && db.props.replicateSourceDb !== "" && (!db.props.replicateSourceDb.startsWith("arn:") || db.props.replicateSourceDb.split(":")[3] === db.region)),
    "database in a backup plan every 6 h, copied to another region": (rs) =>
        has(rs, T.backupPlan, (p) =>
            p.props.rules.some((rule: any) => /0\/\d+ \*/.test(rule.schedule) && (rule.copyActions ?? []).length > 0)) && has(rs, T.backupSelection),
    "locked backup vault": (rs) => has(rs, T.backupVaultLock),
    "weekly and monthly restore tests": (rs) => ofType(rs, T.restoreTestingPlan).length >= 2,
    "Redis with automatic failover, encrypted": (rs) =>
        has(rs, T.cache, (g) => g.props.automaticFailoverEnabled && g.props.atRestEncryptionEnabled && g.props.transitEncryptionEnabled),
    "Redis snapshots every 12 h": (rs) => has(rs, T.schedule, (s) => /cache-snapshots/.test(s.name) && s.props.state === "ENABLED"),
    "app group of at least 2 with CPU and memory scaling": (rs) =>
        has(rs, T.autoscalingGroup, (g) => Number(g.props.minSize) >= DR_PLAN.appMinInstances) && ofType(rs, T.autoscalingPolicy).length >= 2,
    "HTTPS load balancer with a DNS-validated certificate": (rs) => has(rs, T.loadBalancer) && has(rs, T.certificateValidation),
    "DNS failover record with a health check": (rs, all) => has(rs, T.route53Record, (r) => Array.isArray(r.props.failoverRoutingPolicies)) && has(all, T.healthCheck),
    "deploy verification": (_rs, all) => has(all, "command:local:Command"),
    // Alarms of the site's region; the Route 53 health-check alarm may sit in us-east-1 (its metrics live only there).
    "the plan's alerts (database down, app down, error rate, disk)": (rs) =>
        PLAN_ALERT_IDS.every((id) => has(rs, T.metricAlarm, (a) => tagged(a, "alert", id))),
    "complete-outage composite alarm": (rs) => has(rs, T.compositeAlarm),
    "alert topics with subscribers": (rs) => has(rs, T.topicSubscription),
    "dashboard": (rs) => has(rs, T.dashboard),
    "monthly failover drills": (rs) => ofType(rs, T.fisExperimentTemplate).length >= 2,
    "uploads bucket, replicated to another region": (rs) => has(rs, T.bucketReplication, (c) => String(c.props.bucket).includes("uploads")),
    "backups bucket, replicated to another region": (rs) => has(rs, T.bucketReplication, (c) => String(c.props.bucket).includes("backups")),
    "ALB access-log bucket": (rs) => has(rs, T.bucket, (b) => /logs-bucket$/.test(b.name)),
    "app image registry": (rs, all, region) =>
        has(rs, T.repository) ||
        has(all, T.registryReplication, (c) => c.props.replicationConfiguration.rules.some((rule: any) => rule.destinations.some((d: any) => d.region === region))),
    "app secrets": (rs, all, region) =>
        has(rs, T.secret, (s) => /app-env$/.test(s.name)) ||
        has(all, T.secret, (s) => /app-env$/.test(s.name) && (s.props.replicas ?? []).some((x: any) => x.region === region)),
};

/** The capabilities a region has, from the resources every given stack declares there. */
export function capabilitiesIn(region: string, ...stacks: StackEvaluation[]): string[] {
    const all = stacks.flatMap((ev) => ev.resources.filter((r) => r.custom));
    const site = all.filter((r) => r.region === region);
    return Object.entries(CAPABILITIES)
        .filter(([, present]) => present(site, all, region))
        .map(([name]) => name);
}
