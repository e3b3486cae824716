/**
 * Shared by the tests of the offline AWS rules: evaluate a small program under the production stack's
 * config and return what the pretend AWS refused. Any other failure (a program error, bad config) is
 * thrown, so a test expecting no refusal cannot pass on a program that did not evaluate.
 */
import { AwsRuleViolation } from "../../offline/aws-rules";
import { evaluateStack, EvaluationError } from "../../offline/mock-runtime";

export async function violationsOf(program: () => void, config: Record<string, string> = {}): Promise<AwsRuleViolation[]> {
    try {
        await evaluateStack("production", { program, config });
        return [];
    } catch (err) {
        if (err instanceof EvaluationError && err.violations.length > 0) return err.violations;
        throw err;
    }
}

/** The rule ids, in order. */
export const ruleIds = (vs: AwsRuleViolation[]): string[] => vs.map((v) => v.rule);

/** `<rule> <resource name>` per violation, in order. */
export const ruleAndName = (vs: AwsRuleViolation[]): string[] => vs.map((v) => `${v.rule} ${v.name}`);
