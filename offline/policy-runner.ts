/**
 * The policy pack in the offline plan: runs every rule of `policies/` over an evaluated stack through
 * the pack's harness (the engine's semantics) and files each finding under the plan's `problems`
 * (mandatory violations and rule errors: the plan fails) or `advisories` (advisory: printed only).
 */
import * as fs from "fs";
import { PackConfig, PolicyRunResult, renderViolation, runRules, Violation } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import type { StackEvaluation } from "./mock-runtime";

export type { PackConfig, PolicyRunResult, Violation };

/** Reads a pack config file in the format of `pulumi preview --policy-pack-config <file>`. */
export function readPackConfig(file: string): PackConfig {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

export interface PolicyFindings {
    result: PolicyRunResult;
    problems: string[];
    advisories: string[];
}

export async function checkPolicies(evaluation: StackEvaluation, config: PackConfig = {}): Promise<PolicyFindings> {
    const result = await runRules(ALL_RULES, evaluation, config);
    const problems: string[] = [];
    const advisories: string[] = [];
    for (const v of result.violations) (v.enforcementLevel === "mandatory" ? problems : advisories).push(renderViolation(v));
    for (const e of result.errors) problems.push(`[${e.policy}] ${e.urn ?? "stack"}: the rule failed: ${e.message}`);
    return { result, problems, advisories };
}
