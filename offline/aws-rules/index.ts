/**
 * The pretend AWS's refusals: every rule of the services this program uses, run over an evaluation's
 * recorded resources. The mock runtime runs them at the end of every evaluation, and a violation fails
 * the evaluation (and so the offline plan) as a failed `pulumi up` would, naming the resource and the
 * rule. One module per service; each rule cites its source.
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, AwsRuleViolation, RuleContext } from "./types";
import { rules as arcRules } from "./arc";
import { rules as backupRules } from "./backup";
import { rules as chatbotRules } from "./chatbot";
import { rules as communicationRules } from "./communication";
import { rules as ecrRules } from "./ecr";
import { rules as elasticacheRules } from "./elasticache";
import { rules as elbRules } from "./elb";
import { rules as iamKmsRules } from "./iam-kms";
import { rules as monitoringRules } from "./monitoring";
import { rules as rdsRules } from "./rds";
import { rules as route53AcmRules } from "./route53-acm";
import { rules as s3Rules } from "./s3";
import { rules as secretsRules } from "./secrets";

export type { AwsRule, AwsRuleViolation, RuleContext } from "./types";

/** Every rule, by service. */
export const AWS_RULES: readonly AwsRule[] = [
    ...arcRules,
    ...backupRules,
    ...chatbotRules,
    ...communicationRules,
    ...ecrRules,
    ...elasticacheRules,
    ...elbRules,
    ...iamKmsRules,
    ...monitoringRules,
    ...rdsRules,
    ...route53AcmRules,
    ...s3Rules,
    ...secretsRules,
];

/** Builds the context rules see: lookups over one evaluation's resources. */
export function ruleContext(
    resources: readonly RecordedResource[],
    config: Readonly<Record<string, string>> = {},
    deployed: readonly RecordedResource[] = [],
): RuleContext {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const custom = resources.filter((r) => r.custom);
    const byType = new Map<string, RecordedResource[]>();
    for (const r of custom) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
    // What another stack of the account declares is there too, after this stack's own resources.
    const own = new Set(resources.map((r) => r.urn));
    const existing = deployed.filter((r) => r.custom && !own.has(r.urn));
    for (const r of existing) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
    const refersTo = (r: RecordedResource, ref: unknown) =>
        typeof ref === "string" &&
        ref !== "" &&
        (r.urn === ref || r.id === ref || r.outputs.arn === ref || r.outputs.name === ref || r.outputs.bucket === ref || r.outputs.identifier === ref);
    return {
        resources,
        config,
        ofType: (type) => byType.get(type) ?? [],
        declaredElsewhere: (r) => existing.includes(r),
        // This stack's resources first, then what another stack of the account already declares.
        resolve: (ref, type) => (type ? (byType.get(type) ?? []) : [...custom, ...existing]).find((r) => refersTo(r, ref)),
        dependsOn(from, target) {
            // A resource another stack already declared exists before this run: nothing to wait for.
            if (existing.some(target)) return true;
            const seen = new Set<string>();
            const stack = [...from.opts.dependsOn];
            while (stack.length > 0) {
                const urn = stack.pop()!;
                if (seen.has(urn)) continue;
                seen.add(urn);
                const r = byUrn.get(urn);
                if (!r) continue;
                if (target(r)) return true;
                stack.push(...r.opts.dependsOn);
                // Depending on a component orders after everything inside it (the SDK expands it so).
                if (!r.custom) stack.push(...resources.filter((c) => c.parent === r.urn).map((c) => c.urn));
            }
            return false;
        },
    };
}

/** Runs every rule (or the given ones) over the resources; returns the violations, in declaration order. */
export function checkAwsRules(
    resources: readonly RecordedResource[],
    rules: readonly AwsRule[] = AWS_RULES,
    config: Readonly<Record<string, string>> = {},
    deployed: readonly RecordedResource[] = [],
): AwsRuleViolation[] {
    const ctx = ruleContext(resources, config, deployed);
    const violations: AwsRuleViolation[] = [];
    for (const resource of resources) {
        if (!resource.custom) continue;
        for (const rule of rules) {
            if (!rule.types.includes(resource.type)) continue;
            const found = rule.check(resource, ctx);
            for (const message of found === undefined ? [] : Array.isArray(found) ? found : [found]) {
                violations.push({ rule: rule.id, source: rule.source, urn: resource.urn, type: resource.type, name: resource.name, message });
            }
        }
    }
    return violations;
}

/** One line per violation, as the plan and a failed evaluation print it. */
export function formatViolation(v: AwsRuleViolation): string {
    return `[aws:${v.rule}] ${v.type} ${v.name}: ${v.message} (source: ${v.source})`;
}
