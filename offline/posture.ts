// Over 300 lines on purpose: the recovery posture: one RPO/RTO calculation per data store and per failure,
// each with its cited basis; a candidate for a split (data stores, failures, state).
/**
 * The recovery posture of a stack: for each data store the worst-case recovery point (RPO) in its
 * region and across regions, and for each failure the expected recovery time (RTO), computed from
 * the resources the stack declares (schedules, retentions, replication, health-check timing,
 * promotion) and AWS's documented figures, then checked against the plan's targets.
 *
 * Figures are minutes. Each carries its basis: the declared mechanism and the AWS figure (cited) or
 * our own budget where AWS documents none (said as such).
 */
import { REPLICATION_TIME_MINUTES } from "../components/backup-storage";
import { DR_PLAN } from "../infra/dr-plan";
import { AWS_TYPES, isOneOf, ofType, RULE_TYPES } from "../policies/aws-types";
import { ruleWorstGap } from "../policies/rules/backup";
import { jobGapHours, scheduleIntervalHours } from "../policies/schedule";
import { RecordedResource, StackEvaluation } from "./mock-runtime";

/** AWS's documented figures, and the budgets we use where AWS gives none. */
export const AWS_FIGURES = {
    /** RDS ships transaction logs to S3 every 5 minutes; LatestRestorableTime is typically within the last 5 minutes (RDS User Guide, "Restoring a DB instance to a specified time"). */
    rdsLogShippingMinutes: 5,
    /** Multi-AZ failover typically completes in 60-120 seconds (RDS User Guide, "Failover process for Amazon RDS"). */
    rdsMultiAzFailoverMinutes: 2,
    /** Promoting a read replica takes "a few minutes" with a reboot (RDS User Guide, "Promoting a read replica"); budget: 10. */
    rdsReplicaPromotionMinutes: 10,
    /** Cross-Region automated backups: logs are shipped every 5 minutes and then copied; AWS gives no copy time. Budget: 15. */
    rdsCrossRegionBackupsMinutes: 15,
    /** Restoring an instance from backups or to a point in time: AWS gives no time (it grows with size). Budget for this database: 60. */
    rdsRestoreMinutes: 60,
    /** S3 Replication Time Control replicates 99.99% of objects within 15 minutes (S3 User Guide, "Meeting compliance requirements with S3 RTC"). */
    s3ReplicationTimeControlMinutes: REPLICATION_TIME_MINUTES,
    /** Without RTC, S3 replicates most objects within 15 minutes but some take hours, with no bound (S3 User Guide). Budget: 24 h. */
    s3ReplicationWithoutRtcMinutes: 24 * 60,
    /** ECR: most images replicate in less than 30 minutes (ECR User Guide, "Private image replication"). */
    ecrReplicationMinutes: 30,
    /** Secrets Manager replicates a secret's versions to its replica Regions; AWS gives no time. Budget: 5. */
    secretsReplicationMinutes: 5,
    /** ElastiCache Multi-AZ: a replica is promoted automatically when the primary fails; AWS gives no time. Budget: 5. */
    elasticacheFailoverMinutes: 5,
    /** Route 53 alias records to an ALB have a fixed TTL of 60 seconds (Route 53 Developer Guide). */
    route53AliasTtlMinutes: 1,
    /** Launching and warming an app instance (boot, image pull, health checks): our budget, 5. */
    instanceLaunchMinutes: 5,
    /** Returning to the last verified image after a bad release: one `pulumi up` of its tag, an instance refresh of a new set of instances; our budget, 30. */
    rollbackMinutes: 30,
} as const;

export interface Figure {
    minutes: number;
    basis: string;
}

export const DATA_STORES = ["database", "cache", "uploads", "backups", "images", "secrets"] as const;
export type DataStore = (typeof DATA_STORES)[number];
export const FAILURES = ["instance", "zone", "database primary", "whole region", "bad deploy", "deleted or encrypted data"] as const;
export type Failure = (typeof FAILURES)[number];

export interface DataStorePosture {
    store: DataStore;
    inRegion?: Figure;
    crossRegion?: Figure;
}

export interface FailurePosture {
    failure: Failure;
    rto?: Figure;
    rpo?: Figure;
    /** What the site's state makes of this failure when it has no figure to give (e.g. a site that does not serve). */
    note?: string;
}

export interface PostureCheck {
    what: string;
    targetMinutes: number;
    /** Undefined: no mechanism declared at all (a miss). */
    minutes?: number;
    met: boolean;
    /**
     * Set when the stack's state takes this target away from this site (a fenced site does not serve; an
     * active DR site has no standby region until failback): why. Reported with its figure, never a
     * problem. Only {@link siteState}'s states set it, and only on the rows that state names: the normal
     * states (production serving, dr standby) set nothing aside.
     */
    setAside?: string;
}

/** A check that fails the plan: its figure misses the target and the state does not set it aside. */
export const isMissed = (c: PostureCheck): boolean => !c.met && c.setAside === undefined;

/**
 * The state of the site a stack runs, read from its config (`siteRole`, `siteFenced`), and what the
 * posture judges it against. A failover moves the serving site: the dr stack goes `standby` -> `active`
 * and production is fenced (out of DNS) until failback; each stack's plan must pass in each state,
 * judged as what the site is in that state, not as the site it is in normal times.
 */
export interface SiteState {
    /** The site this stack runs: the primary region's or the DR region's. */
    site: "primary" | "dr";
    /** normal: production serving; fenced: out of DNS (deactivated) while the other site serves; standby / active: the dr stack's roles. */
    state: "normal" | "fenced" | "standby" | "active";
    /** Whether this site takes the users' traffic in this state. */
    serving: boolean;
    /** Which site serves, in words. */
    servingSite: string;
    /** What is degraded in this state, and the way back. Empty in the normal states. */
    degraded: string[];
    /** The targets this site is judged against in this state. */
    judgedAs: string;
}

/** The serving-path rows: whether users reach a working site, and how fast DNS moves them. */
const FAILOVER_DETECTION_CHECK = `failover detection (plan: within ${DR_PLAN.failoverDetectionSeconds} s)`;
const SERVING_PATH_CHECKS = [FAILOVER_DETECTION_CHECK, "RTO whole region", "RPO whole region"];

export function siteState(ev: StackEvaluation): SiteState {
    const role = ev.config[`${ev.project}:siteRole`] ?? "primary";
    const site = role === "primary" ? "primary" : "dr";
    // Only a fenced primary is out of service: the dr stack's serving-path rows measure the loss of the
    // primary region, which a fence on the DR site does not make anyone else's job.
    const fenced = site === "primary" && String(ev.config[`${ev.project}:siteFenced`] ?? "false") === "true";
    if (fenced) {
        return {
            site,
            state: "fenced",
            serving: false,
            servingSite: site === "primary" ? "the DR site" : "the primary site",
            degraded: [
                `this site is out of DNS (siteFenced): it takes no traffic whatever its health, and its database is not the one of record (${site === "primary" ? "the DR site's, promoted: dr stack with siteRole active" : "the primary site's"})`,
                `no site to fail over to: a loss of ${site === "primary" ? "the DR" : "the primary"} region is an outage until this site is brought back (docs/operations.md: Failback)`,
            ],
            judgedAs: "a site out of service: its own recovery mechanisms are checked (its readiness to serve after failback); the serving-path targets (failover detection, region failover) belong to the serving site",
        };
    }
    if (site === "primary") {
        return { site, state: "normal", serving: true, servingSite: "this site, in the primary region", degraded: [], judgedAs: "the serving site: every target, the regional failover to the DR site included" };
    }
    if (role === "active") {
        return {
            site,
            state: "active",
            serving: true,
            servingSite: "this site, in the DR region",
            // computePosture adds the serving database's newest copy in another region.
            degraded: ["no standby region: cross-region recovery points and a regional failover are reported, not required, until failback re-creates replication toward the primary region (docs/operations.md: Failback)"],
            judgedAs: "the serving site: every in-region target (instances, zone, database, Redis snapshots, bad deploy, deleted data) and failover detection",
        };
    }
    return { site, state: "standby", serving: false, servingSite: "the primary site", degraded: [], judgedAs: "the recovery site: cross-region recovery points and the regional failover to this site" };
}

/** Why the state sets a check aside, or undefined when it is judged as in normal times. */
function setAsideBy(state: SiteState, what: string): string | undefined {
    if (state.state === "fenced" && SERVING_PATH_CHECKS.includes(what)) return `not serving: ${state.servingSite} serves`;
    if (state.state === "active" && (/\(across regions\)$/.test(what) || what === "RTO whole region" || what === "RPO whole region")) {
        return "degraded: no standby region until failback (docs/operations.md: Failback)";
    }
    return undefined;
}

export interface Posture {
    stack: string;
    siteRole: string;
    /** Which site serves, what is degraded, and what this site is judged against. */
    state: SiteState;
    dataStores: DataStorePosture[];
    failures: FailurePosture[];
    /** Worst-case time for Route 53 to declare the site unhealthy: request interval × failure threshold. */
    failoverDetectionSeconds?: number;
    checks: PostureCheck[];
}

/** The stores the plan's RPO applies to. The cache is derived data: the plan sets its own 12-hour snapshot cadence for it. */
const RPO_BOUND_STORES: DataStore[] = ["database", "uploads", "backups", "images", "secrets"];

/** This program's resource types: policies/aws-types.ts. */
const T = AWS_TYPES;

/**
 * The worst-case hours between runs of a `cron(...)` or `rate(...)` expression (undefined when it is not
 * a valid one): the policy pack's schedule module, the project's one parser of AWS schedules.
 */
export const cronIntervalHours = (expression: string): number | undefined => scheduleIntervalHours(expression);

/** An EventBridge Scheduler schedule's worst-case gap, as the pack reads it: time zone, flexible window, start and end dates. */
function schedulerJobGapHours(schedule: RecordedResource): number | undefined {
    const p = schedule.props;
    const window = p.flexibleTimeWindow?.mode === "FLEXIBLE" ? Number(p.flexibleTimeWindow.maximumWindowInMinutes ?? 0) : 0;
    return jobGapHours(p.scheduleExpression, { timezone: p.scheduleExpressionTimezone, lateMinutes: window, startDate: p.startDate, endDate: p.endDate })?.hours;
}

const min = (...figures: (Figure | undefined)[]): Figure | undefined =>
    figures.filter((f): f is Figure => f !== undefined).sort((a, b) => a.minutes - b.minutes)[0];
const max = (...figures: Figure[]): Figure => [...figures].sort((a, b) => b.minutes - a.minutes)[0];
const sum = (basis: string, ...figures: Figure[]): Figure => ({
    minutes: figures.reduce((total, f) => total + f.minutes, 0),
    basis: `${basis}: ${figures.map((f) => `${f.basis} (${f.minutes} min)`).join(" + ")}`,
});

const isAlarm = (r: RecordedResource) => r.type === T.metricAlarm || r.type === T.compositeAlarm;
const alarmName = (r: RecordedResource): string => String(r.props.name ?? r.props.alarmName ?? r.outputs.name ?? r.outputs.alarmName ?? r.name);

/**
 * The soonest an alarm of this evaluation goes to ALARM after its metric turns bad: a metric alarm needs
 * `datapointsToAlarm` (default `evaluationPeriods`) breaching periods; a composite alarm follows its rule's
 * children (AND: the slowest; OR only: the fastest). Metric publication delays are not counted.
 */
export function alarmTiming(ev: StackEvaluation, alarm: RecordedResource, depth = 0): Figure | undefined {
    if (alarm.type === T.metricAlarm) {
        const period = Number(alarm.props.period);
        const periods = Number(alarm.props.datapointsToAlarm ?? alarm.props.evaluationPeriods);
        if (!(period > 0 && periods > 0)) return undefined;
        return { minutes: (period * periods) / 60, basis: `${alarmName(alarm)} (${periods} × ${period} s)` };
    }
    if (alarm.type !== T.compositeAlarm || depth > 5) return undefined;
    const rule = String(alarm.props.alarmRule ?? "");
    const children = [...rule.matchAll(/ALARM\(\s*"?([^")]+?)"?\s*\)/g)].map((m) => ev.resources.find((r) => isAlarm(r) && alarmName(r) === m[1]));
    if (children.length === 0 || children.some((c) => c === undefined)) return undefined;
    const timings = children.map((c) => alarmTiming(ev, c!, depth + 1));
    if (timings.some((t) => t === undefined)) return undefined;
    const anyOf = /\bOR\b/.test(rule) && !/\bAND\b/.test(rule);
    const pick = anyOf ? min(...timings)! : max(...(timings as Figure[]));
    return { minutes: pick.minutes, basis: `${alarmName(alarm)} (${anyOf ? "the first of" : "all of"}: ${(timings as Figure[]).map((t) => t.basis).join(", ")})` };
}

/** What the Region switch plan's activate workflow for a region makes of the loss of the other region. */
export interface RegionSwitchRecovery {
    /** Detection, then the workflow's steps at their expected durations; undefined when the workflow cannot recover the site (`problems`). */
    rto?: Figure;
    /** The same detection, then every block at its timeout (a block without one at its expected duration): the longest the execution runs before a step fails. */
    worstCase?: Figure;
    /** The plan's declared recovery time objective (`recoveryTimeObjectiveMinutes`). */
    planRtoMinutes?: number;
    /** Why the workflow does not recover the site: a step it lacks, a block that times out before AWS's figure. */
    problems: string[];
}

export interface RegionSwitchSite {
    /** The region the workflow activates (this site's). */
    region: string;
    /** This site's database (the replica the workflow must promote). */
    database?: RecordedResource;
    /** This site's app group (its health check grace period counts in the scale-out). */
    group?: RecordedResource;
    /** The app's Route 53 health check (its interval × threshold counts in the DNS step). */
    healthCheck?: RecordedResource;
}

/**
 * The region-loss recovery time through an ARC Region switch plan: detection (the plan's trigger, or an
 * operator paged by the primary's P1 alarm), then the activate workflow of the site's region. Steps run
 * in sequence and a Parallel step takes its longest child ("Execution blocks run sequentially or in
 * parallel": ARC developer guide, Region switch plans). Each block's expected duration is AWS's figure where
 * one exists, else our budget (said as such); a block whose figure exceeds its `timeoutMinutes` times out
 * and the execution does not complete.
 */
export function regionSwitchRecovery(ev: StackEvaluation, plan: RecordedResource, site: RegionSwitchSite): RegionSwitchRecovery {
    const problems: string[] = [];
    const planName = String(plan.props.name ?? plan.name);
    const alarms = (plan.props.associatedAlarms ?? []) as any[];
    const regionOf = (arn: unknown) => (typeof arn === "string" && arn.startsWith("arn:") ? arn.split(":")[3] : undefined);
    // An associated alarm's timing: from its resource in this evaluation, or, for the other region's
    // alarm (the production stack's), from this site's alarm of the same type (the same component builds both).
    const timingOf = (alarm: any): Figure | undefined => {
        const declared = ev.resources.find((r) => isAlarm(r) && r.outputs.arn === alarm.resourceIdentifier);
        if (declared) return alarmTiming(ev, declared);
        // Prefer an alarm of the same type (a trigger alarm names the other site's P1 alarm too).
        const candidates = [...alarms.filter((a) => a.alarmType === alarm.alarmType), ...alarms.filter((a) => a.alarmType !== alarm.alarmType)];
        const counterpart = candidates
            .map((a) => ev.resources.find((r) => isAlarm(r) && r.outputs.arn === a.resourceIdentifier))
            .find((r): r is RecordedResource => r !== undefined);
        const timing = counterpart && alarmTiming(ev, counterpart);
        return timing && { minutes: timing.minutes, basis: `${alarm.mapBlockKey} as this site declares its own, ${timing.basis} (the same component builds the other site's; its stack is not in this evaluation)` };
    };

    // Detection: an operator paged by the primary region's P1 alarm or this region's replica lag alarm.
    const trigger = ((plan.props.triggers ?? []) as any[]).find((t) => t.action === "activate" && t.targetRegion === site.region);
    const operator: Figure = {
        minutes: DR_PLAN.p1ResponseMinutes,
        basis: `an operator acknowledging the page and starting the plan (dr-plan.md, P1 response time "${DR_PLAN.p1ResponseMinutes} minutes", which the plan gives to acknowledge; assessing is not budgeted apart)`,
    };
    // The trigger (when on) watches the primary's P1 alarm in us-east-1, which may never change state when
    // that whole region is lost (docs/operations.md: "The automatic trigger"): it does not shorten this row, whatever
    // it does for an outage of the application alone. Detection is the pages an operator can count on.
    const page = alarms.filter((a) => a.alarmType === "applicationHealth" && regionOf(a.resourceIdentifier) !== site.region).map(timingOf).find((t) => t !== undefined);
    // When the whole primary region is lost, its own alarm may never change state: the page that comes
    // from this region is the replica's lag alarm (lag stops reporting: missing data is breaching). The
    // later of the two is what an operator can count on.
    const lagAlarm = ev.resources.find(
        (r) => isAlarm(r) && r.region === site.region && r.props.metricName === "ReplicaLag" && r.props.treatMissingData === "breaching",
    );
    const lagPage = lagAlarm && alarmTiming(ev, lagAlarm);
    const pages = [page, lagPage && { minutes: lagPage.minutes, basis: `this region's replica lag alarm, ${lagPage.basis}` }].filter((f): f is Figure => f !== undefined);
    const triggerNote = trigger ? " (the plan's trigger is on, but its alarm is in the region that is lost: not counted)" : "";
    const detection: Figure = pages.length > 0
        ? sum(`manual${triggerNote}: the later page of the other region's P1 alarm and this region's replica lag alarm, then`, max(...pages), operator)
        : { ...operator, basis: `manual${triggerNote}, no alarm associated or in this region: ${operator.basis}` };

    const workflow = ((plan.props.workflows ?? []) as any[]).find(
        (w) => w.workflowTargetAction === "activate" && (w.workflowTargetRegion === undefined || w.workflowTargetRegion === site.region),
    );
    if (!workflow) return { planRtoMinutes: plan.props.recoveryTimeObjectiveMinutes, problems: [...problems, `the plan ${planName} has no activate workflow for ${site.region}`] };

    const did = { promote: false, scale: false, dns: false };
    interface Estimate { expected: number; worst: number; text: string }
    const estimate = (step: any): Estimate => {
        if (step.executionBlockType === "Parallel") {
            const children = ((step.parallelConfigs ?? []) as any[]).flatMap((c) => (c.steps ?? []) as any[]).map(estimate);
            const expected = Math.max(0, ...children.map((c) => c.expected));
            return { expected, worst: Math.max(0, ...children.map((c) => c.worst)), text: `${step.name} in parallel, its longest block ${+expected.toFixed(1)} min [${children.map((c) => c.text).join(" | ")}]` };
        }
        const config = Object.entries(step)
            .filter(([k, v]) => k.endsWith("Configs") && k !== "parallelConfigs" && Array.isArray(v))
            .flatMap(([, v]) => v as any[])[0];
        const timeout = config?.timeoutMinutes === undefined ? undefined : Number(config.timeoutMinutes);
        let figure: Figure | undefined;
        switch (step.executionBlockType) {
            case "RdsPromoteReadReplica": {
                const arn = config?.dbInstanceArnMap?.[site.region];
                if (arn !== undefined && (site.database === undefined || arn === site.database.outputs.arn)) did.promote = true;
                figure = { minutes: AWS_FIGURES.rdsReplicaPromotionMinutes, basis: `RDS read replica promotion, AWS "a few minutes" (budget ${AWS_FIGURES.rdsReplicaPromotionMinutes})` };
                break;
            }
            case "EC2AutoScaling": {
                if (((config?.asgs ?? []) as any[]).some((a) => regionOf(a.arn) === site.region)) did.scale = true;
                const grace = Number(site.group?.props.healthCheckGracePeriod ?? 0) / 60;
                figure = { minutes: AWS_FIGURES.instanceLaunchMinutes + grace, basis: `instance launch (budget ${AWS_FIGURES.instanceLaunchMinutes}) + the group's health check grace period (${+grace.toFixed(1)})` };
                break;
            }
            case "Route53HealthCheck": {
                if (((config?.recordSets ?? []) as any[]).some((r) => r.region === site.region)) did.dns = true;
                const hc = site.healthCheck;
                const detect = hc ? (Number(hc.props.requestInterval) * Number(hc.props.failureThreshold)) / 60 : 0;
                figure = {
                    minutes: detect + AWS_FIGURES.route53AliasTtlMinutes,
                    basis: `Route 53 health check ${hc ? `${hc.props.requestInterval} s × ${hc.props.failureThreshold}` : "(none declared)"} + alias TTL ${AWS_FIGURES.route53AliasTtlMinutes}`,
                };
                break;
            }
            case "ManualApproval":
                figure = { ...operator, basis: `an approval: ${operator.basis}` };
                break;
            default:
                // AWS gives no figure for the other blocks (custom Lambda, nested plans...): their timeout.
                if (timeout !== undefined) figure = { minutes: timeout, basis: "no AWS figure: its timeout" };
        }
        const bound = timeout === undefined ? "no timeout" : `timeout ${timeout}`;
        if (figure === undefined) {
            problems.push(`step ${step.name} (${step.executionBlockType}) has no AWS figure and no timeout`);
            return { expected: 0, worst: 0, text: `${step.name}: unknown (${bound})` };
        }
        if (timeout !== undefined && figure.minutes > timeout) {
            problems.push(`step ${step.name} times out after ${timeout} min, before its expected ${+figure.minutes.toFixed(1)} min (${figure.basis}): the execution stops there`);
        }
        const expected = timeout === undefined ? figure.minutes : Math.min(figure.minutes, timeout);
        return { expected, worst: timeout ?? figure.minutes, text: `${step.name}: ${figure.basis} = ${+figure.minutes.toFixed(1)} min (${bound})` };
    };
    const steps = ((workflow.steps ?? []) as any[]).map(estimate);
    if (!did.promote) problems.push(`no step promotes ${site.database?.name ?? "this site's database"} in ${site.region} (the site stays read-only)`);
    if (!did.scale) problems.push(`no step scales this site's app group in ${site.region} (it stays at standby size)`);
    if (!did.dns) problems.push(`no Route 53 health check step moves ${site.region}'s record (traffic follows the app's health alone: a primary region coming back takes it back, with a stale database)`);
    const workflowFigure: Figure = {
        minutes: steps.reduce((t, s) => t + s.expected, 0),
        basis: `the Region switch plan ${planName}, activate ${site.region}, in sequence: ${steps.map((s) => s.text).join(" → ")}`,
    };
    const worstFigure: Figure = { minutes: steps.reduce((t, s) => t + s.worst, 0), basis: "every block at its timeout" };
    return {
        rto: problems.length === 0 ? sum("detection, then the plan's steps", detection, workflowFigure) : undefined,
        worstCase: sum("detection, then every block of the plan at its timeout", detection, worstFigure),
        planRtoMinutes: plan.props.recoveryTimeObjectiveMinutes === undefined ? undefined : Number(plan.props.recoveryTimeObjectiveMinutes),
        problems,
    };
}

/** Computes the posture of an evaluated stack and checks it against the plan. */
export function computePosture(ev: StackEvaluation): Posture {
    const project = ev.project;
    const siteRole = ev.config[`${project}:siteRole`] ?? "primary";
    const state = siteState(ev);
    const siteRegion = siteRole === "primary" ? ev.config[`${project}:primaryRegion`] : ev.config[`${project}:drRegion`];
    const of = (type: string) => ofType(ev.resources, type);
    const inSite = (r: RecordedResource) => r.region === siteRegion;
    const elsewhere = (region: string | undefined) => region !== undefined && region !== siteRegion;

    // Database.
    const db = of(T.dbInstance).find((r) => inSite(r) && /-db-instance$/.test(r.name));
    const pitr: Figure | undefined =
        db && Number(db.props.backupRetentionPeriod) > 0
            ? { minutes: AWS_FIGURES.rdsLogShippingMinutes, basis: `point-in-time restore of ${db.name} (logs shipped every 5 min)` }
            : undefined;
    // A replica of a source in another region (an in-region replica names its source by ARN too).
    const crossRegionReplica: Figure | undefined =
        db && typeof db.props.replicateSourceDb === "string" && db.props.replicateSourceDb.startsWith("arn:") && elsewhere(db.props.replicateSourceDb.split(":")[3])
            ? { minutes: 0, basis: `${db.name} is a cross-region replica (asynchronous: seconds of lag, alarmed)` }
            : undefined;
    const backupsReplication = of(T.dbBackupReplication).find((r) => elsewhere(r.region));
    const replicatedBackups: Figure | undefined = backupsReplication
        ? { minutes: AWS_FIGURES.rdsCrossRegionBackupsMinutes, basis: `automated backups replicated to ${backupsReplication.region} (${backupsReplication.name})` }
        : undefined;
    const rules = of(T.backupPlan).filter(inSite).flatMap((p) => (p.props.rules ?? []) as any[]);
    const copiedRules = rules.filter((rule) => (rule.copyActions ?? []).some((c: any) => elsewhere(String(c.destinationVaultArn).split(":")[3])));
    // The pack's reading of a backup rule: its cron in its time zone, plus how late its start window lets it run.
    const copyInterval = Math.min(...copiedRules.map((rule) => ruleWorstGap(rule)?.hours ?? Infinity));
    const backupCopies: Figure | undefined = Number.isFinite(copyInterval)
        ? { minutes: copyInterval * 60, basis: `AWS Backup every ${copyInterval} h, copied to another region` }
        : undefined;
    const continuous = rules.some((rule) => rule.enableContinuousBackup === true);
    const locked = of(T.backupVaultLock).some(inSite);
    // A continuous rule's schedule makes no snapshot in the vault (AWS Backup keeps one continuous
    // recovery point): only the snapshot rules set the interval between locked snapshots.
    const lockedInterval = Math.min(...rules.filter((rule) => rule.enableContinuousBackup !== true).map((rule) => ruleWorstGap(rule)?.hours ?? Infinity));
    const immutableBackups: Figure | undefined = !locked
        ? undefined
        : continuous
          ? { minutes: AWS_FIGURES.rdsLogShippingMinutes, basis: "AWS Backup continuous backup (point-in-time) in a vault under Vault Lock" }
          : Number.isFinite(lockedInterval)
            ? { minutes: lockedInterval * 60, basis: `AWS Backup every ${lockedInterval} h in a vault under Vault Lock` }
            : undefined;

    // Object stores, images, secrets.
    // "redis": the Redis exports bucket (`<storage>-redis-<account>-<region>`), replicated like the backups.
    const replicationOf = (purpose: "uploads" | "backups" | "redis"): Figure | undefined => {
        const config = of(T.bucketReplication).find((r) => inSite(r) && String(r.props.bucket).includes(purpose));
        const rule = (config?.props.rules ?? []).find((x: any) => x.status === "Enabled");
        if (!config || !rule) return undefined;
        return rule.destination?.replicationTime?.status === "Enabled"
            ? { minutes: AWS_FIGURES.s3ReplicationTimeControlMinutes, basis: `S3 replication with Replication Time Control (${config.name})` }
            : { minutes: AWS_FIGURES.s3ReplicationWithoutRtcMinutes, basis: `S3 replication without Replication Time Control, no time bound (${config.name})` };
    };
    const versioned = (purpose: string) =>
        ev.resources.some((r) => isOneOf(r.type, RULE_TYPES.bucketVersioning) && inSite(r) && String(r.props.bucket).includes(purpose) && r.props.versioningConfiguration?.status === "Enabled");
    const ecr = of(T.registryReplication).find((r) => inSite(r) && (r.props.replicationConfiguration?.rules ?? []).some((rule: any) => (rule.destinations ?? []).some((d: any) => elsewhere(d.region))));
    const secretsReplicated = of(T.secret).some((r) => inSite(r) && (r.props.replicas ?? []).some((x: any) => elsewhere(x.region)));
    const isDrSite = siteRole !== "primary";
    // On a DR site, the production stack's landing zone holds the copies of uploads, backups, images and secrets in this region.
    const landingZone = (what: string): Figure | undefined => (isDrSite ? { minutes: 0, basis: `the production stack's replica of the ${what} in this region (the landing zone)` } : undefined);

    // Cache.
    const cache = of(T.cache).find(inSite);
    const cacheSnapshotHours = Math.min(
        ...of(T.schedule).filter((s) => inSite(s) && /cache-snapshots/.test(s.name) && s.props.state === "ENABLED").map((s) => schedulerJobGapHours(s) ?? Infinity),
        cache && Number(cache.props.snapshotRetentionLimit) > 0 ? 24 : Infinity,
    );

    const dataStores: DataStorePosture[] = [
        {
            store: "database",
            inRegion: min(db?.props.multiAz ? { minutes: 0, basis: "Multi-AZ synchronous standby" } : undefined, pitr),
            crossRegion: min(crossRegionReplica, replicatedBackups, backupCopies),
        },
        {
            store: "cache",
            inRegion: Number.isFinite(cacheSnapshotHours) ? { minutes: cacheSnapshotHours * 60, basis: `Redis snapshot every ${cacheSnapshotHours} h` } : undefined,
            crossRegion: min(
                replicationOf("redis") && Number.isFinite(cacheSnapshotHours)
                    ? sum("exported snapshot replicated", { minutes: cacheSnapshotHours * 60, basis: `snapshot every ${cacheSnapshotHours} h` }, replicationOf("redis")!)
                    : undefined,
                landingZone("Redis exports"),
            ),
        },
        { store: "uploads", inRegion: versioned("uploads") ? { minutes: 0, basis: "S3 versioning" } : landingZone("uploads"), crossRegion: min(replicationOf("uploads"), landingZone("uploads")) },
        { store: "backups", inRegion: versioned("backups") ? { minutes: 0, basis: "S3 versioning" } : landingZone("backups"), crossRegion: min(replicationOf("backups"), landingZone("backups")) },
        {
            store: "images",
            inRegion: of(T.repository).some(inSite) ? { minutes: 0, basis: "ECR repository with immutable tags" } : landingZone("images"),
            crossRegion: min(ecr ? { minutes: AWS_FIGURES.ecrReplicationMinutes, basis: `ECR replication (${ecr.name})` } : undefined, landingZone("images")),
        },
        {
            store: "secrets",
            inRegion: of(T.secret).some(inSite) ? { minutes: 0, basis: "Secrets Manager" } : landingZone("secrets"),
            crossRegion: min(secretsReplicated ? { minutes: AWS_FIGURES.secretsReplicationMinutes, basis: "Secrets Manager replica secrets" } : undefined, landingZone("secrets")),
        },
    ];

    // Serving path timings.
    const healthCheck = of(T.healthCheck).find((h) => h.props.resourcePath);
    const failoverDetectionSeconds = healthCheck ? Number(healthCheck.props.requestInterval) * Number(healthCheck.props.failureThreshold) : undefined;
    const group = of(T.autoscalingGroup).find(inSite);
    const targetGroup = of(T.targetGroup).find(inSite);
    const albDetection: Figure | undefined = targetGroup?.props.healthCheck
        ? { minutes: (Number(targetGroup.props.healthCheck.interval) * Number(targetGroup.props.healthCheck.unhealthyThreshold)) / 60, basis: "ALB target health check (interval × unhealthy threshold)" }
        : undefined;
    const launch: Figure = { minutes: AWS_FIGURES.instanceLaunchMinutes, basis: "launching a replacement instance" };
    const redundantInstances = group !== undefined && Number(group.props.minSize) >= DR_PLAN.appMinInstances;

    const dbFailover: Figure | undefined = db
        ? db.props.multiAz
            ? { minutes: AWS_FIGURES.rdsMultiAzFailoverMinutes, basis: "RDS Multi-AZ automatic failover (AWS: 60-120 s)" }
            : crossRegionReplica || db.props.replicateSourceDb
              ? undefined
              : { minutes: AWS_FIGURES.rdsRestoreMinutes, basis: "restoring the database from its backups (single-AZ)" }
        : undefined;
    const cacheFailover: Figure | undefined = cache?.props.automaticFailoverEnabled ? { minutes: AWS_FIGURES.elasticacheFailoverMinutes, basis: "ElastiCache automatic failover" } : undefined;

    // The dr stack's Region switch plan: the regional failover to this site is its activate workflow.
    const regionSwitchPlan = isDrSite ? of(T.regionSwitchPlan).find((p) => ((p.props.regions ?? []) as string[]).includes(String(siteRegion))) : undefined;
    let regionSwitch: RegionSwitchRecovery | undefined;
    const regionFailover = (): FailurePosture => {
        // A fenced site serves nobody: losing its region loses no traffic (the other site serves).
        if (state.state === "fenced") return { failure: "whole region", note: `not serving: ${state.servingSite} serves; losing this region loses no traffic` };
        if (siteRole === "active") {
            // This site already serves; losing its region means failing back to the primary region (docs/operations.md: Failback).
            return { failure: "whole region", rto: undefined, rpo: dataStores[0].crossRegion, note: "this site serves: fail back to the primary region (docs/operations.md: Failback)" };
        }
        if (regionSwitchPlan) {
            regionSwitch = regionSwitchRecovery(ev, regionSwitchPlan, { region: String(siteRegion), database: db, group, healthCheck });
            return {
                failure: "whole region",
                rto: regionSwitch.rto,
                rpo: crossRegionReplica,
                note: regionSwitch.problems.length > 0 ? `the Region switch plan does not recover this site: ${regionSwitch.problems.join("; ")}` : undefined,
            };
        }
        if (failoverDetectionSeconds === undefined) return { failure: "whole region" };
        const detect: Figure = { minutes: failoverDetectionSeconds / 60, basis: "Route 53 health check (interval × threshold)" };
        const ttl: Figure = { minutes: AWS_FIGURES.route53AliasTtlMinutes, basis: "alias record TTL" };
        const promote: Figure = { minutes: AWS_FIGURES.rdsReplicaPromotionMinutes, basis: "promoting the DR replica" };
        const scale: Figure = { ...launch, basis: "scaling the DR app group to production size" };
        return {
            failure: "whole region",
            // The production stack cannot see the dr stack's Region switch plan: it keeps this estimate, and
            // the dr stack's posture computes the row from the plan's steps (`npm run plan -- dr`).
            rto: sum(
                isDrSite
                    ? "DNS failover to the DR site, then promotion and scale-out (no Region switch plan declared)"
                    : "this stack's estimate (the dr stack's posture computes it from its Region switch plan's steps): DNS failover to the DR site, then promotion and scale-out",
                detect,
                ttl,
                max(promote, scale),
            ),
            rpo: isDrSite ? crossRegionReplica : dataStores[0].crossRegion,
        };
    };

    // A bad release. The instance refresh's automatic rollback is not counted: it returns to "the
    // configuration that you last saved on the Auto Scaling group before starting the instance
    // refresh" (EC2 Auto Scaling User Guide), which the provider has already set to the new launch
    // template version (terraform-provider-aws #34189). What returns to the previous image is a
    // `pulumi up` of its tag; it is a known way back only when `pulumi up` awaits and checks each
    // rollout (a command that watches this group's instances) and so records the last verified image.
    const badDeployReturn = (): Figure | undefined => {
        if (!group?.props.instanceRefresh) return undefined;
        const awaited = of("command:local:Command").some(
            (c) => typeof c.props.create === "string" && c.props.create.includes("describe-auto-scaling-groups") && c.props.create.includes(String(group.outputs.name)),
        );
        if (!awaited) return undefined;
        const oldServe = Number(group.props.instanceRefresh.preferences?.minHealthyPercentage ?? 90) >= 100;
        return {
            minutes: AWS_FIGURES.rollbackMinutes,
            basis:
                `pulumi up awaits the rollout and fails when the new instances never turn healthy${oldServe ? " (the old ones keep serving: minimum healthy 100 %)" : ""}; ` +
                "back: scripts/recovery.sh rollback-image, a pulumi up of the last verified imageTag (one more instance refresh, budget); " +
                "not the refresh's auto-rollback, which returns to the new version (terraform-provider-aws #34189)",
        };
    };

    if (state.state === "active") {
        const copy = dataStores[0].crossRegion;
        state.degraded.push(
            copy === undefined
                ? "the serving database has no copy in another region"
                : `the serving database's newest copy in another region is up to ${fmt(copy)} old (${copy.basis}); target ${DR_PLAN.rpoMinutes} min`,
        );
    }

    const failures: FailurePosture[] = [
        {
            failure: "instance",
            rto: redundantInstances
                ? { minutes: albDetection?.minutes ?? 0, basis: `the other instances of a group of at least ${DR_PLAN.appMinInstances} keep serving once the ALB stops routing to the lost one; ${launch.basis} restores capacity` }
                : albDetection && sum("a single instance: the site is down until it is replaced", albDetection, launch),
            rpo: { minutes: 0, basis: "instances hold no data" },
        },
        {
            failure: "zone",
            rto: dbFailover && cacheFailover ? max(dbFailover, cacheFailover, albDetection ?? launch) : dbFailover ?? cacheFailover,
            rpo: db?.props.multiAz ? { minutes: 0, basis: "Multi-AZ synchronous standby" } : dataStores[0].inRegion,
        },
        { failure: "database primary", rto: dbFailover ?? (crossRegionReplica ? { minutes: 0, basis: "the primary is in the other region" } : undefined), rpo: db?.props.multiAz ? { minutes: 0, basis: "Multi-AZ synchronous standby" } : pitr },
        regionFailover(),
        { failure: "bad deploy", rto: badDeployReturn(), rpo: { minutes: 0, basis: "a release changes no data" } },
        {
            failure: "deleted or encrypted data",
            rto: db ? { minutes: AWS_FIGURES.rdsRestoreMinutes, basis: "restoring the database to a point in time from the locked vault" } : undefined,
            rpo: immutableBackups ?? (isDrSite ? { minutes: 0, basis: "the production stack's locked vaults hold the recovery points" } : undefined),
        },
    ];

    // Checks against the plan.
    const checks: PostureCheck[] = [];
    const push = (c: PostureCheck) => {
        const setAside = setAsideBy(state, c.what);
        checks.push(setAside === undefined ? c : { ...c, setAside });
    };
    const check = (what: string, targetMinutes: number, figure: Figure | undefined) =>
        push({ what, targetMinutes, minutes: figure?.minutes, met: figure !== undefined && figure.minutes <= targetMinutes });
    for (const s of dataStores.filter((d) => RPO_BOUND_STORES.includes(d.store))) {
        check(`RPO ${s.store} (in region)`, DR_PLAN.rpoMinutes, s.inRegion);
        check(`RPO ${s.store} (across regions)`, DR_PLAN.rpoMinutes, s.crossRegion);
    }
    // A standby site's cache serves nobody and holds nothing of record: it starts empty or from a replicated export.
    if (siteRole !== "standby") check("Redis snapshot interval (plan: every 12 hours)", DR_PLAN.redisSnapshotIntervalHours * 60, dataStores[1].inRegion);
    for (const f of failures) {
        check(`RTO ${f.failure}`, DR_PLAN.rtoMinutes, f.rto);
        check(`RPO ${f.failure}`, DR_PLAN.rpoMinutes, f.rpo);
    }
    if (regionSwitch) {
        if (regionSwitch.planRtoMinutes !== undefined) check(`RTO whole region (the Region switch plan's own RTO, ${regionSwitch.planRtoMinutes} min)`, regionSwitch.planRtoMinutes, regionSwitch.rto);
        // The longest the execution runs before a step times out must fit the RTO too.
        check("RTO whole region, worst case (every Region switch block at its timeout)", Math.min(regionSwitch.planRtoMinutes ?? DR_PLAN.rtoMinutes, DR_PLAN.rtoMinutes), regionSwitch.worstCase);
    }
    push({
        what: FAILOVER_DETECTION_CHECK,
        targetMinutes: DR_PLAN.failoverDetectionSeconds / 60,
        minutes: failoverDetectionSeconds === undefined ? undefined : failoverDetectionSeconds / 60,
        met: failoverDetectionSeconds !== undefined && failoverDetectionSeconds <= DR_PLAN.failoverDetectionSeconds,
    });

    return { stack: ev.stack, siteRole, state, dataStores, failures, failoverDetectionSeconds, checks };
}

/** The state in one line: `production fenced (not serving: the DR site ... serves)`. */
export function describeState(stack: string, s: SiteState): string {
    return `${stack} ${s.state}${s.serving ? " (serving)" : ` (not serving: ${s.servingSite} serves)`}`;
}

const fmt = (f?: Figure) => (f === undefined ? "none declared" : f.minutes < 1 && f.minutes > 0 ? `${Math.round(f.minutes * 60)} s` : `${+f.minutes.toFixed(1)} min`);

/** The posture as the plan prints it. */
export function renderPosture(p: Posture): string {
    const lines = [`Recovery posture (targets: RPO ${DR_PLAN.rpoMinutes} min, RTO ${DR_PLAN.rtoMinutes} min, failover detection ${DR_PLAN.failoverDetectionSeconds} s)`];
    lines.push(`  state: ${describeState(p.stack, p.state)}; serving site: ${p.state.servingSite}`);
    lines.push(`  judged as ${p.state.judgedAs}`);
    for (const d of p.state.degraded) lines.push(`  degraded: ${d}`);
    lines.push("  data store   worst-case RPO in region   across regions");
    for (const s of p.dataStores) lines.push(`  ${s.store.padEnd(11)}  ${fmt(s.inRegion).padEnd(25)}  ${fmt(s.crossRegion)}`);
    lines.push("  failure                     RTO        RPO        how");
    for (const f of p.failures) lines.push(`  ${f.failure.padEnd(26)}  ${fmt(f.rto).padEnd(9)}  ${fmt(f.rpo).padEnd(9)}  ${f.rto?.basis ?? f.note ?? ""}`);
    const figure = (c: PostureCheck) => (c.minutes === undefined ? "no mechanism declared" : `${+c.minutes.toFixed(1)} min`);
    const judged = p.checks.filter((c) => c.setAside === undefined);
    const setAside = p.checks.filter((c) => c.setAside !== undefined);
    const missed = judged.filter(isMissed);
    lines.push(missed.length === 0 ? `  all ${judged.length} targets met` : `  ${missed.length} of ${judged.length} targets MISSED:`);
    for (const c of missed) lines.push(`    - ${c.what}: ${figure(c)} (target ${+c.targetMinutes.toFixed(1)} min)`);
    if (setAside.length > 0) lines.push(`  ${setAside.length} set aside by the state (reported, not failed):`);
    for (const c of setAside) lines.push(`    - ${c.what}: ${c.setAside} (${figure(c)}, target ${+c.targetMinutes.toFixed(1)} min${c.met ? ", met" : ""})`);
    return lines.join("\n");
}
