/**
 * The serving path: "Application Scaling: Minimum: 2 application instances ... Health checks:
 * Continuous health monitoring" and "Load Balancer: Failover: Automatic failover within 30 seconds".
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { fix, forTypes, Rule, settingsOf, siteOf, T, tagsOf } from "./common";

/** The tag a DR site's app group carries while the site is a standby (the plan's minimum applies once active). */
export const SITE_ROLE_TAG = "siteRole";

export const asgMinimumInstances: Rule = {
    name: "asg-minimum-instances",
    description:
        'Application Scaling, "Minimum: 2 application instances" and "Health checks: Continuous health monitoring": every app group keeps at least 2 instances and replaces those the load balancer finds unhealthy (ELB health checks). A DR-site group tagged siteRole=standby may run standbyMinInstances.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minInstances: { type: "integer", default: DR_PLAN.appMinInstances, description: "Least minSize of a serving app group." },
            standbyMinInstances: { type: "integer", default: 1, description: "Least minSize of a standby DR site's group (never on the primary site)." },
        },
    },
    validateResource: forTypes(T.asg, (props, args, report) => {
        const s = settingsOf<{ minInstances: number; standbyMinInstances: number }>(asgMinimumInstances.configSchema!, args);
        const standby = tagsOf(props)[SITE_ROLE_TAG] === "standby" && siteOf(args) !== "primary";
        const least = standby ? s.standbyMinInstances : s.minInstances;
        if (typeof props.minSize !== "number" || props.minSize < least) {
            report(`minSize is ${props.minSize ?? "unset"}, less than ${least}${standby ? " (standby)" : ""}${fix(`set minSize: ${least}`)}`);
        }
        if (props.healthCheckType !== "ELB") report(`healthCheckType is ${props.healthCheckType ?? "unset (EC2)"}${fix('set healthCheckType: "ELB" and a healthCheckGracePeriod')}`);
    }),
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

export const healthCheckDetection: Rule = {
    name: "health-check-failover-detection",
    description: 'Load Balancer, "Failover: Automatic failover within 30 seconds": every probing Route 53 health check detects a failure within 30 s (requestInterval x failureThreshold).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { maxDetectionSeconds: { type: "integer", default: DR_PLAN.failoverDetectionSeconds, description: "Longest allowed requestInterval x failureThreshold, in seconds." } },
    },
    validateResource: forTypes(T.healthCheck, (props, args, report) => {
        if (!PROBING.includes(props.type)) args.notApplicable(`health check of type ${props.type} does not probe an endpoint`);
        const { maxDetectionSeconds } = settingsOf<{ maxDetectionSeconds: number }>(healthCheckDetection.configSchema!, args);
        const interval = props.requestInterval ?? DEFAULT_INTERVAL;
        const threshold = props.failureThreshold ?? DEFAULT_THRESHOLD;
        if (interval * threshold > maxDetectionSeconds) {
            report(`detects a failure after ${interval} s x ${threshold} = ${interval * threshold} s, more than ${maxDetectionSeconds} s${fix(`set requestInterval: 10 and failureThreshold at most ${Math.floor(maxDetectionSeconds / 10)}`)}`);
        }
    }),
};

export const SERVING_RULES: Rule[] = [asgMinimumInstances, launchTemplateImdsv2, healthCheckDetection];
