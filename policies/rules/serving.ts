/**
 * The serving path: "Application Scaling: Minimum: 2 application instances ... Health checks:
 * Continuous health monitoring" and "Load Balancer: Failover: Automatic failover within 30 seconds".
 */
import { DR_PLAN } from "../dr-plan";
import { asArray, dependenciesOf, fix, forTypes, guard, isOneOf, known, knownItems, label, pointsAt, Rule, settingsOf, siteOf, SITE_ROLE_TAG, T, tagsOf, UNKNOWN } from "./common";

/** The tag a DR site's app group carries while the site is a standby (the plan's minimum applies once active). */
export { SITE_ROLE_TAG };

export const asgMinimumInstances: Rule = {
    name: "asg-minimum-instances",
    description:
        'Application Scaling, "Minimum: 2 application instances" and "Health checks: Continuous health monitoring": every app group keeps at least 2 instances and replaces those the load balancer finds unhealthy (ELB health checks). A DR-site group tagged siteRole=standby may run standbyMinInstances.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minInstances: { type: "integer", default: DR_PLAN.appMinInstances, description: "Least minSize of a serving app group." },
            standbyMinInstances: { type: "integer", default: 1, description: "Least minSize of a standby DR site's group (never on the primary site)." },
            minZones: { type: "integer", default: 2, description: "Least number of subnets (zones) a group spans." },
        },
    },
    validateResource: forTypes(T.asg, (props, args, report) => {
        const s = settingsOf<{ minInstances: number; standbyMinInstances: number; minZones: number }>(asgMinimumInstances.configSchema!, args);
        const standby = tagsOf(props)[SITE_ROLE_TAG] === "standby" && siteOf(args) !== "primary";
        const least = standby ? s.standbyMinInstances : s.minInstances;
        if (typeof props.minSize !== "number" || props.minSize < least) {
            report(`minSize is ${props.minSize ?? "unset"}, less than ${least}${standby ? " (standby)" : ""}${fix(`set minSize: ${least}`)}`);
        }
        if (props.healthCheckType !== "ELB") report(`healthCheckType is ${props.healthCheckType ?? "unset (EC2)"}${fix('set healthCheckType: "ELB" and a healthCheckGracePeriod')}`);
        // Spread over zones: at least 2 subnets (each element may be unknown in a preview; the count is known).
        guard(report, "zones", () => {
            const subnets = asArray<unknown>(props.vpcZoneIdentifiers).length;
            const zones = asArray<unknown>(props.availabilityZones).length;
            if (Math.max(subnets, zones) < s.minZones) report(`spans ${Math.max(subnets, zones)} subnet(s)/zone(s), fewer than ${s.minZones}: one zone's loss takes every instance${fix(`set vpcZoneIdentifiers to the app subnets of at least ${s.minZones} zones`)}`);
        });
    }),
};

export const asgServing: Rule = {
    name: "asg-serving",
    description:
        'Application Scaling, "Health checks: Continuous health monitoring" and Load Balancer: every app group is attached to a target group of a load balancer (targetGroupArns or an autoscaling attachment), and its subnets lie in at least 2 availability zones.',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const attachments = args.resources.filter((r) => isOneOf(r.type, T.asgAttachment));
        const subnets = args.resources.filter((r) => r.type === T.subnet);
        for (const g of args.resources.filter((r) => r.type === T.asg)) {
            guard(report, `${label(g)}: its target group`, () => {
                const direct = asArray<unknown>(g.props.targetGroupArns).length > 0 || asArray<unknown>((g.props as any).trafficSources).length > 0;
                const attached = attachments.some((a) => pointsAt(a, "autoscalingGroupName", known(() => a.props.autoscalingGroupName), g) !== false);
                if (!direct && !attached) report(`${label(g)}: attached to no target group, so no load balancer sends it traffic or health-checks it${fix("set targetGroupArns: [targetGroup.arn]")}`, g.urn);
            }, g.urn);
            guard(report, `${label(g)}: its zones`, () => {
                // The engine's property dependencies first (known while the subnet ids are not), then the ids, each read on its own.
                const deps = dependenciesOf(g, "vpcZoneIdentifiers");
                const ids = knownItems(() => g.props.vpcZoneIdentifiers);
                if (ids === UNKNOWN && deps.length === 0) throw new Error("vpcZoneIdentifiers can't be known during preview");
                const count = ids === UNKNOWN ? deps.filter((d) => d.type === T.subnet).length : ids.length;
                const used = subnets.filter((sn) => deps.some((d) => d.urn === sn.urn) || (ids !== UNKNOWN && ids.some((id) => id !== UNKNOWN && known(() => sn.props.id) === id)));
                const zones = new Set(used.map((sn) => known(() => sn.props.availabilityZone)).filter((z) => z !== UNKNOWN && z !== undefined));
                if (used.length >= count && count > 0 && zones.size > 0 && zones.size < 2) report(`${label(g)}: its subnets all lie in ${[...zones].join(", ")}: one zone's loss takes every instance${fix("use app subnets of at least 2 availability zones")}`, g.urn);
            }, g.urn);
        }
    },
};

export const launchTemplateImdsv2: Rule = {
    name: "launch-template-imdsv2",
    description: "App instances keep their credentials safe: every launch template requires IMDSv2 (metadataOptions.httpTokens required).",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.launchTemplate, (props, _args, report) => {
        if (props.metadataOptions?.httpTokens !== "required") report(`metadataOptions.httpTokens is ${props.metadataOptions?.httpTokens ?? "unset (optional)"}${fix('set metadataOptions: { httpEndpoint: "enabled", httpTokens: "required" }')}`);
    }),
};

const PROBING = ["HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"];
/** Route 53's defaults when requestInterval / failureThreshold are not given. */
const DEFAULT_INTERVAL = 30;
const DEFAULT_THRESHOLD = 3;
/** The tag that declares a CALCULATED health check a deliberate fence (always unhealthy: more healthy children required than it has). */
export const FENCE_TAG = "fenced";

export const healthCheckDetection: Rule = {
    name: "health-check-failover-detection",
    description:
        'Load Balancer, "Failover: Automatic failover within 30 seconds": every Route 53 health check can go unhealthy: none is disabled or inverted (whatever its type); a probing one detects a failure within 30 s (requestInterval x failureThreshold); a CALCULATED one requires 1 to all of its children healthy (0 is always healthy; more than it has is always unhealthy, allowed only on a check tagged fenced=true); a CLOUDWATCH_METRIC one is unhealthy when its alarm has insufficient data.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { maxDetectionSeconds: { type: "integer", default: DR_PLAN.failoverDetectionSeconds, description: "Longest allowed requestInterval x failureThreshold, in seconds." } },
    },
    validateResource: forTypes(T.healthCheck, (props, args, report) => {
        const { maxDetectionSeconds } = settingsOf<{ maxDetectionSeconds: number }>(healthCheckDetection.configSchema!, args);
        // "Disabled: Route 53 ... considers the status of the health check to be always healthy"; "Inverted: Route 53 considers healthy what it would otherwise consider unhealthy" (Route 53 API, HealthCheckConfig). Any type.
        guard(report, "disabled", () => {
            if (props.disabled === true) report(`disabled: Route 53 then considers it always healthy and never fails over${fix("remove disabled (or set false)")}`);
        });
        guard(report, "invertHealthcheck", () => {
            if (props.invertHealthcheck === true) report(`inverted: an unhealthy endpoint reads as healthy${fix("remove invertHealthcheck (or set false)")}`);
        });
        const type = known(() => props.type);
        if (type === "CALCULATED") {
            guard(report, "childHealthThreshold", () => {
                // "HealthThreshold ... If you specify 0, Route 53 always considers this health check to be healthy" (Route 53 API, HealthCheckConfig); 0-256.
                const threshold = props.childHealthThreshold;
                const children = knownItems(() => props.childHealthchecks);
                const count = children === UNKNOWN ? undefined : children.length;
                if (typeof threshold !== "number" || threshold < 1) report(`CALCULATED health check with childHealthThreshold ${threshold ?? "unset (0)"}: Route 53 then always considers it healthy and never fails over${fix("set childHealthThreshold to at least 1 (all children for a primary that must fail over when any fails)")}`);
                else if (count !== undefined && threshold > count && tagsOf(props)[FENCE_TAG] !== "true") report(`CALCULATED health check requires ${threshold} healthy children of ${count}: always unhealthy, so the record is always failed over${fix(`set childHealthThreshold between 1 and ${count}, or tag it ${FENCE_TAG}=true if it is a deliberate fence`)}`);
            });
            return;
        }
        if (type === "CLOUDWATCH_METRIC") {
            guard(report, "insufficientDataHealthStatus", () => {
                // Healthy or LastKnownStatus keep a region whose metrics stopped (the region is down) "healthy" (Route 53 API, HealthCheckConfig.InsufficientDataHealthStatus).
                if (props.insufficientDataHealthStatus !== "Unhealthy") report(`insufficientDataHealthStatus is ${props.insufficientDataHealthStatus ?? "unset"}: when the alarm gets no data (the region is down) the check stays healthy${fix('set insufficientDataHealthStatus: "Unhealthy"')}`);
            });
            return;
        }
        if (type === UNKNOWN || !PROBING.includes(type)) return;
        guard(report, "detection time", () => {
            const interval = props.requestInterval ?? DEFAULT_INTERVAL;
            const threshold = props.failureThreshold ?? DEFAULT_THRESHOLD;
            if (interval * threshold > maxDetectionSeconds) {
                report(`detects a failure after ${interval} s x ${threshold} = ${interval * threshold} s, more than ${maxDetectionSeconds} s${fix(`set requestInterval: 10 and failureThreshold at most ${Math.floor(maxDetectionSeconds / 10)}`)}`);
            }
        });
    }),
};

export const failoverRecordHealthChecked: Rule = {
    name: "failover-record-health-checked",
    description:
        'Load Balancer, "Failover: Automatic failover within 30 seconds": every PRIMARY failover record carries a Route 53 health check of its own (the plan\'s 30 s detection is the health check\'s; an alias with evaluateTargetHealth only follows the load balancer\'s target health, and a record with neither is always healthy).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.route53Record, (props, args, report) => {
        const primary = known(() => asArray<any>(props.failoverRoutingPolicies).some((p) => p.type === "PRIMARY"));
        if (primary === UNKNOWN || !primary) args.notApplicable("not a PRIMARY failover record");
        // A health check being created has an unknown id in a preview: unknown still means set.
        const id = known(() => props.healthCheckId);
        if (id === undefined || id === null || id === "") {
            const evaluates = known(() => asArray<any>(props.aliases).some((a) => a.evaluateTargetHealth === true));
            report(
                evaluates === true
                    ? `PRIMARY failover record without healthCheckId: it fails over only on the load balancer's own target health (evaluateTargetHealth), not on the plan's health check of the site's endpoint within 30 s${fix("set healthCheckId to the site's Route 53 health check")}`
                    : `PRIMARY failover record without healthCheckId or evaluateTargetHealth: Route 53 considers it always healthy and never fails over from it${fix("set healthCheckId to the site's Route 53 health check")}`,
            );
        }
    }),
};

/**
 * The provider's defaults when a target group's health check omits them (aws 7.48, lb TargetGroupHealthCheck:
 * interval "Defaults to 30", unhealthyThreshold "The range is 2-10. Defaults to 3").
 */
const TG_DEFAULT_INTERVAL = 30;
const TG_DEFAULT_UNHEALTHY = 3;

export const targetGroupDetection: Rule = {
    name: "target-group-failure-detection",
    description:
        'Load Balancer, "Failover: Automatic failover within 30 seconds": every target group health-checks its targets (enabled) and takes an instance out within 30 s (healthCheck.interval x unhealthyThreshold).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { maxDetectionSeconds: { type: "integer", default: DR_PLAN.failoverDetectionSeconds, description: "Longest allowed interval x unhealthyThreshold, in seconds." } },
    },
    validateResource: forTypes(T.targetGroup, (props, args, report) => {
        const { maxDetectionSeconds } = settingsOf<{ maxDetectionSeconds: number }>(targetGroupDetection.configSchema!, args);
        guard(report, "health check", () => {
            const hc = props.healthCheck ?? {};
            if (hc.enabled === false) {
                report(`health check disabled: the load balancer keeps routing to dead instances${fix("set healthCheck.enabled: true")}`);
                return;
            }
            const interval = hc.interval ?? TG_DEFAULT_INTERVAL;
            const threshold = hc.unhealthyThreshold ?? TG_DEFAULT_UNHEALTHY;
            if (interval * threshold > maxDetectionSeconds) report(`takes a failed instance out after ${interval} s x ${threshold} = ${interval * threshold} s, more than ${maxDetectionSeconds} s${fix(`set healthCheck.interval and unhealthyThreshold so that their product is at most ${maxDetectionSeconds}`)}`);
        });
    }),
};

export const SERVING_RULES: Rule[] = [asgMinimumInstances, asgServing, launchTemplateImdsv2, healthCheckDetection, failoverRecordHealthChecked, targetGroupDetection];
