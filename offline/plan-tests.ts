/**
 * The plan's "Testing and Validation" as the offline plan lists them: each scheduled test the stack
 * declares (or the repository's workflows run), the plan line it answers and its schedule, read from the
 * evaluated resources, so the list shows what is really built.
 */
import * as fs from "fs";
import * as path from "path";
import { parseYaml, type StackEvaluation } from "./mock-runtime";
import { AWS_TYPES, ofType } from "../policies/aws-types";

export interface PlanTest {
    plan: string;
    mechanism: string;
    schedule: string;
}

const WORKFLOWS_DIR = path.resolve(__dirname, "..", ".github", "workflows");

/** The schedules of a workflow (`on.schedule[].cron`), or none. */
function workflowCrons(file: string): string[] {
    try {
        const w = parseYaml(fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as { on?: { schedule?: { cron: string }[] } } | null;
        return (w?.on?.schedule ?? []).map((s: { cron: string }) => s.cron);
    } catch {
        return [];
    }
}

export function planTests(evaluation: StackEvaluation): PlanTest[] {
    const tests: PlanTest[] = [];
    const byType = (t: string) => ofType(evaluation.resources, t);
    for (const p of byType(AWS_TYPES.restoreTestingPlan)) {
        tests.push({ plan: /weekly/.test(p.name) ? "Weekly Validation: Restore test" : "Monthly Tests: Database restore test", mechanism: `AWS Backup restore testing plan ${p.name}`, schedule: String(p.props.scheduleExpression) });
    }
    for (const s of byType(AWS_TYPES.schedule)) {
        const state = s.props.state === "DISABLED" ? " (disabled)" : "";
        if (/-drills-/.test(s.name)) tests.push({ plan: "Monthly Tests: Failover test", mechanism: `FIS experiment schedule ${s.name}${state}`, schedule: String(s.props.scheduleExpression) });
        else if (/-communication-test-/.test(s.name)) tests.push({ plan: "Quarterly Tests: Communication plan test", mechanism: `test message schedule ${s.name}${state}`, schedule: String(s.props.scheduleExpression) });
    }
    for (const cron of workflowCrons("deploy-test.yml")) {
        tests.push({ plan: "Monthly Tests: Application deployment test (deploy from scratch)", mechanism: "GitHub workflow deploy-test.yml (npm run deploy-test, sandbox account)", schedule: `cron ${cron} (UTC)` });
    }
    return tests;
}

export function renderPlanTests(tests: PlanTest[]): string {
    if (tests.length === 0) return "The plan's tests: none declared by this stack.";
    const width = Math.max(...tests.map((t) => t.plan.length));
    return ["The plan's tests and their schedules:", ...tests.map((t) => `  ${t.plan.padEnd(width)}  ${t.schedule}  ${t.mechanism}`)].join("\n");
}
