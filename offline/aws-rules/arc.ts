/**
 * Amazon Application Recovery Controller (ARC) Region switch: what its API refuses at `pulumi up`
 * (see ./types.ts). Sources: the ARC Region switch API Reference (CreatePlan, Plan, Workflow, Trigger,
 * RdsPromoteReadReplicaConfiguration, RdsCreateCrossRegionReplicaConfiguration) and the ARC developer guide.
 */
import type { AwsRule } from "./types";
import { orNone } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const PLAN = AWS_TYPES.regionSwitchPlan;
const ROLE = AWS_TYPES.iamRole;

const REGION = /^[a-z]{2}-[a-z-]+-\d+$/;
const PLAN_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/;
const RDS_DB_ARN = /^arn:aws[a-zA-Z-]*:rds:([a-z0-9-]+):\d{12}:db:[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
const REGIONAL_ARN = /^arn:aws[a-zA-Z-]*:[a-z0-9-]+:([a-z0-9-]+):\d{12}:/;

type Step = Record<string, any>;
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
/** Every step of a workflow, the steps inside a Parallel step included. */
const stepsOf = (workflow: Record<string, any>): Step[] =>
    list(workflow.steps).flatMap((s: Step) => [s, ...list(s.parallelConfigs).flatMap((p) => list(p.steps))]);
const allSteps = (props: Record<string, any>): Step[] => list(props.workflows).flatMap(stepsOf);
/** Every block configuration of a step, with the key it sits under. */
const configsOf = (step: Step): [string, Record<string, any>][] =>
    Object.entries(step).filter(([k, v]) => k.endsWith("Configs") && k !== "parallelConfigs" && Array.isArray(v)).flatMap(([k, v]) => (v as any[]).map((c) => [k, c] as [string, Record<string, any>]));

export const rules: AwsRule[] = [
    {
        id: "arc-plan-name",
        types: [PLAN],
        source: 'ARC Region switch API Reference, CreatePlan, name: "Length Constraints: Minimum length of 1. Maximum length of 32. Pattern: [a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?"',
        check(r) {
            const name = r.props.name;
            if (typeof name !== "string" || PLAN_NAME.test(name)) return undefined;
            return `plan name ${JSON.stringify(name)}: 1 to 32 letters, digits and hyphens, starting and ending with a letter or digit`;
        },
    },
    {
        id: "arc-plan-regions",
        types: [PLAN],
        source:
            'ARC Region switch API Reference, Plan, regions: "Array Members: Fixed number of 2 items. Pattern: [a-z]{2}-[a-z-]+-\\d+"; CreatePlan, primaryRegion: "The primary AWS Region for the application. This is the Region where the application normally runs"',
        check(r) {
            const regions = list(r.props.regions);
            const problems: string[] = [];
            if (regions.length !== 2 || new Set(regions).size !== 2) problems.push(`regions ${JSON.stringify(regions)}: a plan has exactly two different Regions`);
            for (const region of regions) if (typeof region !== "string" || !REGION.test(region)) problems.push(`region ${JSON.stringify(region)} is not a Region code`);
            const primary = r.props.primaryRegion;
            if (primary !== undefined && !regions.includes(primary)) problems.push(`primaryRegion ${primary} is not one of the plan's regions ${JSON.stringify(regions)}`);
            return orNone(problems);
        },
    },
    {
        id: "arc-target-region-of-plan",
        types: [PLAN],
        source:
            'ARC Region switch API Reference, Workflow, workflowTargetRegion ("The AWS Region that the workflow targets") and Trigger, targetRegion; ARC developer guide, components-rs: a workflow completes "the activation or deactivation of a Region as part of a recovery plan": a Region of the plan',
        check(r) {
            const regions = list(r.props.regions);
            const problems: string[] = [];
            for (const w of list(r.props.workflows)) {
                if (w.workflowTargetRegion !== undefined && !regions.includes(w.workflowTargetRegion)) {
                    problems.push(`workflow ${w.workflowTargetAction} targets ${w.workflowTargetRegion}, not one of the plan's regions ${JSON.stringify(regions)}`);
                }
            }
            for (const t of list(r.props.triggers)) {
                if (!regions.includes(t.targetRegion)) problems.push(`trigger targets ${t.targetRegion}, not one of the plan's regions ${JSON.stringify(regions)}`);
            }
            return orNone(problems);
        },
    },
    {
        id: "arc-block-arns-by-region",
        types: [PLAN],
        source:
            'ARC Region switch API Reference, RdsPromoteReadReplicaConfiguration and RdsCreateCrossRegionReplicaConfiguration, dbInstanceArnMap: "A map of database instance ARNs for each Region in the plan. Key Pattern: [a-z]{2}-[a-z-]+-\\d+ Value Pattern: arn:aws[a-zA-Z-]*:rds:[a-z0-9-]+:\\d{12}:db:..."; ' +
            'ARC developer guide, ec2-auto-scaling-block: "EC2 Auto Scaling group ARN for Region: Enter the ARN for the EC2 Auto Scaling group in each Region for your plan"; route53-health-check-block: record sets are mapped to the plan\'s Regions',
        check(r) {
            const regions = list(r.props.regions);
            const problems: string[] = [];
            for (const step of allSteps(r.props)) {
                for (const [key, c] of configsOf(step)) {
                    if (key === "rdsPromoteReadReplicaConfigs" || key === "rdsCreateCrossRegionReadReplicaConfigs") {
                        const map = (c.dbInstanceArnMap ?? {}) as Record<string, unknown>;
                        for (const region of regions) if (!(region in map)) problems.push(`step ${step.name}: dbInstanceArnMap has no database for ${region}`);
                        for (const [region, arn] of Object.entries(map)) {
                            if (!regions.includes(region)) problems.push(`step ${step.name}: dbInstanceArnMap key ${region} is not one of the plan's regions`);
                            const m = typeof arn === "string" ? RDS_DB_ARN.exec(arn) : null;
                            if (typeof arn === "string" && !m) problems.push(`step ${step.name}: ${arn} is not an RDS DB instance ARN`);
                            else if (m && m[1] !== region) problems.push(`step ${step.name}: the database for ${region} is in ${m[1]} (${arn})`);
                        }
                    }
                    if (key === "ec2AsgCapacityIncreaseConfigs") {
                        for (const asg of list(c.asgs)) {
                            const m = typeof asg.arn === "string" ? REGIONAL_ARN.exec(asg.arn) : null;
                            if (m && !regions.includes(m[1])) problems.push(`step ${step.name}: Auto Scaling group ${asg.arn} is in ${m[1]}, not one of the plan's regions`);
                        }
                    }
                    if (key === "route53HealthCheckConfigs") {
                        for (const rs of list(c.recordSets)) {
                            if (!regions.includes(rs.region)) problems.push(`step ${step.name}: record set ${rs.recordSetIdentifier} is mapped to ${rs.region}, not one of the plan's regions`);
                        }
                    }
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "arc-block-timeout",
        types: [PLAN],
        source: 'ARC Region switch API Reference, each execution block configuration\'s timeoutMinutes: "Valid Range: Minimum value of 1" (e.g. RdsPromoteReadReplicaConfiguration, RdsCreateCrossRegionReplicaConfiguration)',
        check(r) {
            const problems: string[] = [];
            for (const step of allSteps(r.props)) {
                for (const [, c] of configsOf(step)) {
                    const t = c.timeoutMinutes;
                    if (t !== undefined && !(Number.isInteger(t) && t >= 1)) problems.push(`step ${step.name}: timeoutMinutes ${t} must be a whole number of at least 1`);
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "arc-promote-read-replica-active-passive",
        types: [PLAN],
        source: 'ARC developer guide, rds-promote-read-replica-block: "This block only supports active/passive plans"',
        check(r) {
            if (r.props.recoveryApproach === "activePassive") return undefined;
            const found = allSteps(r.props).filter((s) => s.executionBlockType === "RdsPromoteReadReplica");
            return found.length > 0 ? `step ${found[0].name}: the RDS Promote Read Replica block needs an activePassive plan (this one is ${r.props.recoveryApproach})` : undefined;
        },
    },
    {
        id: "arc-trigger-conditions",
        types: [PLAN],
        source:
            'ARC Region switch API Reference, Trigger, conditions: "Array Members: Minimum number of 1 item. Maximum number of 10 items"; TriggerCondition, associatedAlarmName: "The name of the CloudWatch alarm associated with the condition" (one of the plan\'s associatedAlarms)',
        check(r) {
            const names = new Set(list(r.props.associatedAlarms).map((a) => a.mapBlockKey));
            const problems: string[] = [];
            for (const t of list(r.props.triggers)) {
                const conditions = list(t.conditions);
                if (conditions.length < 1 || conditions.length > 10) problems.push(`trigger for ${t.targetRegion}: 1 to 10 conditions, not ${conditions.length}`);
                for (const c of conditions) if (!names.has(c.associatedAlarmName)) problems.push(`trigger condition names ${c.associatedAlarmName}, not an associated alarm of the plan`);
            }
            return orNone(problems);
        },
    },
    {
        id: "arc-execution-role-trust",
        types: [PLAN],
        source:
            'ARC developer guide, security_iam_region_switch_trust_policy: "This trust policy authorizes the arc-region-switch.amazonaws.com service principal to assume the role ... If the trust policy is missing, Region switch cannot assume the role"',
        check(r, ctx) {
            const role = ctx.resolve(r.props.executionRole, ROLE);
            if (!role) return undefined; // a role of another account or stack: not visible here
            let doc: any;
            try {
                doc = typeof role.props.assumeRolePolicy === "string" ? JSON.parse(role.props.assumeRolePolicy) : role.props.assumeRolePolicy;
            } catch {
                return `execution role ${role.name}: its trust policy is not JSON`;
            }
            const trusts = list(doc?.Statement).some((s) => {
                if (s.Effect !== "Allow") return false;
                const actions = ([] as unknown[]).concat(s.Action ?? []);
                const services = ([] as unknown[]).concat(s.Principal?.Service ?? []);
                return actions.includes("sts:AssumeRole") && services.includes("arc-region-switch.amazonaws.com");
            });
            return trusts ? undefined : `execution role ${role.name} does not trust arc-region-switch.amazonaws.com (sts:AssumeRole)`;
        },
    },
];
