/**
 * The policy pack in the offline plan: runs every rule of `policies/` over an evaluated stack through
 * the pack's harness (the engine's semantics) and files each finding under the plan's `problems`
 * (mandatory violations and rule errors: the plan fails) or `advisories` (advisory: printed only).
 */
import * as fs from "fs";
import { PackConfig, PolicyRunResult, PreviewOptions, renderViolation, runRules, Violation } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import type { StackEvaluation } from "./mock-runtime";

export type { PackConfig, PolicyRunResult, Violation };

/** Reads a pack config file in the format of `pulumi preview --policy-pack-config <file>`; a clear error when it cannot. */
export function readPackConfig(file: string): PackConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(`cannot read the pack config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let config: unknown;
    try {
        config = JSON.parse(text);
    } catch (e) {
        throw new Error(`the pack config ${file} is not JSON (${(e as Error).message})`);
    }
    if (!config || typeof config !== "object" || Array.isArray(config)) {
        throw new Error(`the pack config ${file} must be an object of rule name -> enforcement level or settings, e.g. {"backup-plan-frequency": {"maxIntervalHours": 4}}`);
    }
    return config as PackConfig;
}

export interface PolicyFindings {
    result: PolicyRunResult;
    problems: string[];
    advisories: string[];
}

/** `options.preview`: run as a real `pulumi preview` would, with the values it cannot know (policies/harness.ts). */
export async function checkPolicies(evaluation: StackEvaluation, config: PackConfig = {}, options: { preview?: PreviewOptions } = {}): Promise<PolicyFindings> {
    const result = await runRules(ALL_RULES, evaluation, config, options);
    const problems: string[] = [];
    const advisories: string[] = [];
    for (const v of result.violations) (v.enforcementLevel === "mandatory" ? problems : advisories).push(renderViolation(v));
    for (const e of result.errors) problems.push(`[${e.policy}] ${e.urn ?? "stack"}: the rule failed: ${e.message}`);
    return { result, problems, advisories };
}
