/** Alerts on the ARC Region switch plan: its evaluation warnings and its failed executions (EventBridge). */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { classify, eventInputTransformer, SEVERITY_LEVELS, severityTags } from "../severity";

/** The source of ARC Region switch's events (EventBridge events reference, "ARC Region switch events"). */
export const REGION_SWITCH_EVENT_SOURCE = "aws.arc-region-switch";

/**
 * The Region where ARC Region switch emits its events for a plan: its control plane's. The ARC developer
 * guide, "Using Region switch in ARC with Amazon EventBridge": "For the AWS Region to create the rule in,
 * choose the Region where you created the plan that you want to monitor events for"; plans are created
 * through the control plane, which is in us-east-1 from every Region (components/region-switch.ts), and
 * the guide's example events carry `"region": "us-east-1"`.
 */
export const REGION_SWITCH_EVENTS_REGION = "us-east-1";

/**
 * A Region switch plan evaluation warning (a plan that cannot run: permissions, resources, capacity).
 * The ARC developer guide (working-with-rs-plan-evaluation): "Region switch automatically evaluates your
 * plan multiple times per hour. If any checks fail, Region switch returns warning messages ... You can
 * also receive validation warnings through Amazon EventBridge"; eventbridge-region-switch: "For a Region
 * switch plan evaluation, an event is emitted when a warning is returned. If the warning is not cleared,
 * an event is emitted for the warning only once every 24 hours."
 *
 * AWS's documents disagree on the event's shape, so the pattern matches each documented form: the
 * EventBridge events reference lists the detail-type "ARC Region Switch Plan Evaluation" (every such event
 * is a warning); the developer guide's example warning event carries the detail-type "ARC Region Switch
 * Plan Execution" with `detail.metadata.warning`; the SDKs' ExecutionEventType has `planEvaluationWarning`.
 * `$or`, `exists` and `equals-ignore-case` are EventBridge comparison operators (EventBridge user guide,
 * "Comparison operators for use in event patterns": "Comparison operators only work on leaf nodes, with
 * the exception of $or and anything-but"); ignore-case because the guide itself spells the detail-type
 * "ARC Region switch Plan Execution" in one pattern and "ARC Region Switch Plan Execution" in its events.
 */
export const REGION_SWITCH_EVALUATION_WARNING_PATTERN = {
    source: [REGION_SWITCH_EVENT_SOURCE],
    $or: [
        { "detail-type": [{ "equals-ignore-case": "ARC Region Switch Plan Evaluation" }] },
        { detail: { metadata: { warning: [{ exists: true }] } } },
        { detail: { eventType: [{ "equals-ignore-case": "planEvaluationWarning" }] } },
    ],
} as const;

/**
 * A Region switch execution that failed, or stopped on a failed step (the execution waits for an
 * operator). The events' `detail.eventType` (developer guide example: "ExecutionStarted", "StepStarted")
 * takes the API's ExecutionEventType values (ListPlanExecutionEvents: executionFailed, stepFailed,
 * stepPausedByError, ...), matched ignoring case since the example capitalises them. A cancelled or
 * operator-paused execution is the operator's choice: not paged.
 */
export const REGION_SWITCH_EXECUTION_FAILED_PATTERN = {
    source: [REGION_SWITCH_EVENT_SOURCE],
    "detail-type": [{ "equals-ignore-case": "ARC Region Switch Plan Execution" }],
    detail: { eventType: ["executionFailed", "stepFailed", "stepPausedByError"].map((t) => ({ "equals-ignore-case": t })) },
} as const;

export interface RegionSwitchAlertsArgs {
    /** Topics of the region the events are emitted in ({@link REGION_SWITCH_EVENTS_REGION}): high and critical. */
    topicArns: { high: pulumi.Input<string>; critical: pulumi.Input<string> };
}

/**
 * Readiness of the ARC Region switch plan: its evaluation warnings (a plan that cannot run, found before
 * the incident) to the high topic, failed executions to the critical topic, through EventBridge rules of
 * the default bus. Built with a provider of {@link REGION_SWITCH_EVENTS_REGION}. The rules match the
 * Region switch events of every plan of the account in that region (the account's plan is this stack's).
 * Events are "emitted on a best effort basis" (developer guide): the console and GetPlanEvaluationStatus
 * remain the reference (docs/operations.md).
 */
export class RegionSwitchAlerts extends pulumi.ComponentResource {
    readonly ruleNames: { evaluationWarning: pulumi.Output<string>; executionFailed: pulumi.Output<string> };

    constructor(name: string, args: RegionSwitchAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:RegionSwitchAlerts", name, {}, opts);
        // The severity (and so the topic) of each rule: components/severity.ts. No site dashboard shows
        // Region switch: the message points to its console.
        const regionSwitchConsole = `https://${REGION_SWITCH_EVENTS_REGION}.console.aws.amazon.com/arc/home?region=${REGION_SWITCH_EVENTS_REGION}#/region-switch`;
        const rule = (key: "evaluation-warning" | "execution-failed", description: string, pattern: object, title: string) => {
            const severity = SEVERITY_LEVELS[classify(key).severity].topic as "high" | "critical";
            const r = new aws.cloudwatch.EventRule(`${name}-${key}`, {
                name: `${name}-${key}`,
                description,
                eventPattern: JSON.stringify(pattern),
                tags: severityTags(key),
            }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-${key}`, { rule: r.name, arn: args.topicArns[severity], inputTransformer: eventInputTransformer(key, regionSwitchConsole, title) }, { parent: this });
            return r;
        };
        const warning = rule("evaluation-warning",
            "Plan: failover readiness. The Region switch plan evaluation found a problem (permissions, resources, capacity) that would block an execution: resolve it in the Region switch console.",
            REGION_SWITCH_EVALUATION_WARNING_PATTERN, "the Region switch plan cannot run as it is");
        const failed = rule("execution-failed",
            "Plan: failover within the RTO. A Region switch execution failed or stopped on a failed step: the failover (or return) is not done.",
            REGION_SWITCH_EXECUTION_FAILED_PATTERN, "a Region switch execution failed");
        this.ruleNames = { evaluationWarning: warning.name, executionFailed: failed.name };
        this.registerOutputs({ ruleNames: this.ruleNames });
    }
}
