import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "../infra/dr-plan";

/** The request intervals Route 53 health checks allow (seconds); fixed when the check is created. */
export const ROUTE53_REQUEST_INTERVALS = [10, 30] as const;
/** The failure thresholds Route 53 health checks allow. */
export const ROUTE53_FAILURE_THRESHOLD = { min: 1, max: 10 } as const;

/**
 * The failover health check's timing: the one place these numbers live. A site is declared unhealthy
 * after `failureThreshold` consecutive failed checks `requestIntervalSeconds` apart, so the worst-case
 * detection time is their product: 10 s × 3 = 30 s, the plan's "Automatic failover within 30 seconds"
 * ({@link DR_PLAN.failoverDetectionSeconds}). Checked by {@link validateFailoverTiming}.
 */
export const FAILOVER_HEALTH_CHECK = {
    requestIntervalSeconds: 10,
    failureThreshold: 3,
} as const;

/** The app's health endpoint (the plan's `curl -f .../api/health`). */
export const HEALTH_CHECK_PATH = "/api/health";

/** Worst-case time from the site failing to Route 53 marking it unhealthy. */
export function failoverDetectionSeconds(requestIntervalSeconds: number, failureThreshold: number): number {
    return requestIntervalSeconds * failureThreshold;
}

/**
 * Throws unless the health check timing is one Route 53 accepts and detects a failure within the
 * plan's {@link DR_PLAN.failoverDetectionSeconds}.
 */
export function validateFailoverTiming(requestIntervalSeconds: number, failureThreshold: number): void {
    const problems: string[] = [];
    if (!(ROUTE53_REQUEST_INTERVALS as readonly number[]).includes(requestIntervalSeconds)) {
        problems.push(`requestIntervalSeconds = ${requestIntervalSeconds}: Route 53 allows only ${ROUTE53_REQUEST_INTERVALS.join(" or ")} seconds`);
    }
    if (!Number.isInteger(failureThreshold) || failureThreshold < ROUTE53_FAILURE_THRESHOLD.min || failureThreshold > ROUTE53_FAILURE_THRESHOLD.max) {
        problems.push(`failureThreshold = ${failureThreshold}: Route 53 allows ${ROUTE53_FAILURE_THRESHOLD.min} to ${ROUTE53_FAILURE_THRESHOLD.max}`);
    }
    const detection = failoverDetectionSeconds(requestIntervalSeconds, failureThreshold);
    if (problems.length === 0 && detection > DR_PLAN.failoverDetectionSeconds) {
        problems.push(
            `requestIntervalSeconds × failureThreshold = ${requestIntervalSeconds} × ${failureThreshold} = ${detection} s: ` +
                `a failure must be detected within ${DR_PLAN.failoverDetectionSeconds} s (plan: "Automatic failover within ${DR_PLAN.failoverDetectionSeconds} seconds")`,
        );
    }
    if (problems.length > 0) throw new Error(`DNS failover health check: ${problems.join("; ")}`);
}

export type FailoverRole = "PRIMARY" | "SECONDARY";

export interface DnsFailoverArgs {
    /** PRIMARY on the production stack, SECONDARY on the dr stack. */
    role: FailoverRole;
    /** The site's public host name; both stacks' records use the same one. */
    domainName: string;
    /** The Route 53 hosted zone holding `domainName`. */
    hostedZoneId: pulumi.Input<string>;
    /** Unique per record of the name: `genie-primary`, `genie-dr`. */
    setIdentifier: string;
    /** This site's ALB: its DNS name (checked, and the alias target) and its hosted zone. */
    loadBalancerDnsName: pulumi.Input<string>;
    loadBalancerZoneId: pulumi.Input<string>;
    /** The path Route 53 requests; default {@link HEALTH_CHECK_PATH}. */
    healthCheckPath?: string;
    /** Default {@link FAILOVER_HEALTH_CHECK}; validated against the plan. */
    requestIntervalSeconds?: number;
    failureThreshold?: number;
    /**
     * Keep this site out of DNS whatever it answers (an operator's fence, `siteFenced`): the record's
     * health check becomes a calculated check that needs one healthy child and has none, which Route 53
     * always considers unhealthy. Set on the production stack while the DR site serves, so that a
     * primary region coming back cannot take traffic with its stale database before failback.
     */
    fenced?: boolean;
    /**
     * The Route 53 health check the ARC Region switch plan created for this site's Region
     * (components/region-switch.ts, its "move-dns" step). The Route 53 health check execution block
     * "creates Amazon Route 53 health checks, which you then attach to Route 53 DNS records in your
     * account. When you execute your Region switch plan, the Route 53 health check state is updated, and
     * traffic is redirected based on your DNS configuration" (ARC developer guide,
     * route53-health-check-block). The record then carries a calculated check of it and the app's:
     * - PRIMARY: both must be healthy (2 of 2): a Region the plan deactivated is out of DNS whatever
     *   its app answers;
     * - SECONDARY: either (1 of 2), and the alias does not evaluate target health: once the plan has
     *   activated the DR Region the SECONDARY is healthy whatever the DR app answers, so Route 53 never
     *   falls back to the PRIMARY ("regardless of the health of the primary" when the SECONDARY is
     *   unhealthy); before that it follows the DR app's health as it does without the plan.
     * Known only once the plan exists: given in config (`regionSwitchHealthCheckId`), never looked up at
     * deploy time (the lookup is a call to the plan's control plane in us-east-1).
     */
    regionSwitchHealthCheckId?: pulumi.Input<string>;
}

/**
 * One half of the ALB pair's DNS failover: a Route 53 health check of this site's `/api/health` and
 * this site's failover alias record for the shared name.
 *
 * Route 53 answers the PRIMARY record (production's ALB) while its health check passes, and the
 * SECONDARY (the DR site's ALB) once it has failed `failureThreshold` checks in a row.
 *
 * What the health check targets, and why:
 * - It checks this site's ALB by its own DNS name, never `domainName`: `domainName` resolves through
 *   these very failover records, so a check of it would follow the failover to the healthy site and
 *   never see the primary fail (or flap).
 * - Over HTTPS on 443, the path users take (listener, certificate, target group, app). Route 53 health
 *   checkers do not validate the certificate, so the certificate being issued for `domainName` rather
 *   than the ALB's DNS name does not fail the check.
 * - SNI off: with SNI on, the checker sends the ALB's DNS name in the client hello, the ALB (which
 *   has no certificate for that name) answers with its default certificate, and the checker retries
 *   the handshake without SNI: the same outcome, one handshake later, inside the 4 s connect budget.
 *   Without SNI the ALB serves its default certificate (the `domainName` one) at once.
 * - The Host header is the ALB's DNS name; the listener routes every host to the app, whose health
 *   endpoint does not depend on the host.
 */
export class DnsFailover extends pulumi.ComponentResource {
    /** The app's health check (`/api/health`): what the alarms watch. */
    readonly healthCheckId: pulumi.Output<string>;
    /** The health check the record carries: the app's, or its combination with the plan's. */
    readonly recordHealthCheckId: pulumi.Output<string>;
    /** Fully qualified name of the record (`domainName`). */
    readonly recordName: pulumi.Output<string>;
    readonly setIdentifier: string;
    readonly role: FailoverRole;
    /** Worst-case seconds from this site failing to Route 53 failing over (interval × threshold). */
    readonly detectionSeconds: number;
    /** The failover record itself, for `dependsOn`. */
    readonly record: aws.route53.Record;

    constructor(name: string, args: DnsFailoverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:edge:DnsFailover", name, {}, opts);
        const requestInterval = args.requestIntervalSeconds ?? FAILOVER_HEALTH_CHECK.requestIntervalSeconds;
        const failureThreshold = args.failureThreshold ?? FAILOVER_HEALTH_CHECK.failureThreshold;
        validateFailoverTiming(requestInterval, failureThreshold);
        const parent = { parent: this };

        const healthCheck = new aws.route53.HealthCheck(`${name}-health-check`, args.fenced
            ? { type: "CALCULATED", childHealthThreshold: 1, childHealthchecks: [], tags: { Name: `${name}-health-check`, role: args.role, fenced: "true" } }
            : {
                type: "HTTPS",
                fqdn: args.loadBalancerDnsName,
                port: 443,
                resourcePath: args.healthCheckPath ?? HEALTH_CHECK_PATH,
                enableSni: false,
                requestInterval,
                failureThreshold,
                tags: { Name: `${name}-health-check`, role: args.role },
            }, parent);

        const planControlled = !args.fenced && args.regionSwitchHealthCheckId !== undefined;
        const recordHealthCheck = planControlled
            ? new aws.route53.HealthCheck(`${name}-record-health-check`, {
                type: "CALCULATED",
                childHealthchecks: [healthCheck.id, args.regionSwitchHealthCheckId!],
                childHealthThreshold: args.role === "PRIMARY" ? 2 : 1,
                tags: { Name: `${name}-record-health-check`, role: args.role, controlledBy: "arc-region-switch" },
            }, parent)
            : healthCheck;

        const record = new aws.route53.Record(`${name}-record`, {
            zoneId: args.hostedZoneId,
            name: args.domainName,
            type: "A",
            setIdentifier: args.setIdentifier,
            failoverRoutingPolicies: [{ type: args.role }],
            healthCheckId: recordHealthCheck.id,
            // Alias records to an ALB have a fixed 60 s TTL; evaluating target health also fails over
            // when the ALB has no healthy target at all. Not on a plan-controlled SECONDARY: its target
            // health would make it unhealthy, and Route 53 would answer the deactivated PRIMARY.
            aliases: [{
                name: args.loadBalancerDnsName,
                zoneId: args.loadBalancerZoneId,
                evaluateTargetHealth: !(planControlled && args.role === "SECONDARY"),
            }],
        }, parent);
        this.recordHealthCheckId = recordHealthCheck.id;

        this.healthCheckId = healthCheck.id;
        this.record = record;
        this.recordName = record.name;
        this.setIdentifier = args.setIdentifier;
        this.role = args.role;
        this.detectionSeconds = failoverDetectionSeconds(requestInterval, failureThreshold);
        this.registerOutputs({
            healthCheckId: this.healthCheckId,
            recordHealthCheckId: this.recordHealthCheckId,
            recordName: this.recordName,
            setIdentifier: this.setIdentifier,
            role: this.role,
            detectionSeconds: this.detectionSeconds,
        });
    }
}
