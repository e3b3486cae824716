/**
 * The offline plan: evaluates a stack under the mock runtime and reports what it would build
 * (resources per component and per region, totals) and every problem found. Later stages (the policy
 * pack, the recovery posture) add their findings to `problems`.
 */
import { evaluateStack, EvaluateOptions, RecordedResource, StackEvaluation } from "./mock-runtime";
import { checkPolicies, PackConfig, Violation } from "./policy-runner";
import { computePosture, describeState, isMissed, Posture, renderPosture } from "./posture";
import { planTests, renderPlanTests } from "./plan-tests";

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    region?: string;
    props: Record<string, unknown>;
    opts: { protect: boolean; retainOnDelete: boolean };
    /** What `npm run policy -- check` needs to run the pack as the plan does: */
    custom: boolean;
    /** the provider's URN, */
    provider?: string;
    id?: string;
    /** outputs (secrets redacted), */
    outputs: Record<string, unknown>;
    /** every resource it depends on, and per input property the resources its value came from. */
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
}

export interface ComponentSummary {
    /** The top-level component (directly under the stack), or "(stack)" for resources outside one. */
    component: string;
    type: string;
    /** Cloud resources under it, by region. */
    byRegion: Record<string, number>;
    total: number;
}

export interface PlanReport {
    stack: string;
    evaluation: StackEvaluation;
    components: ComponentSummary[];
    byRegion: Record<string, number>;
    /** Cloud resources (components and providers excluded). */
    total: number;
    /** Problems that make the plan fail. */
    problems: string[];
    /** Findings that do not fail the plan (advisory policy violations). */
    advisories: string[];
    /** The policy pack's violations (set by runPlan). */
    policy?: { violations: Violation[] };
    /**
     * The recovery posture against the plan's targets, judged in the stack's state (production serving
     * or fenced, dr standby or active): a missed target is a problem; a target the state sets aside (a
     * fenced site does not serve) is reported, and what the state degrades is an advisory.
     */
    posture: Posture;
}

/** Where a resource is meant to live but has no region: the default provider, which this program never uses. */
export const NO_REGION = "(default provider)";

export function isCloudResource(r: RecordedResource): boolean {
    return r.custom && !r.type.startsWith("pulumi:");
}

/** True for resources of a provider whose resources live in a region. */
export function isRegional(r: RecordedResource): boolean {
    return isCloudResource(r) && r.type.startsWith("aws:");
}

export async function runPlan(stack: string, options: EvaluateOptions = {}, policyConfig: PackConfig = {}): Promise<PlanReport> {
    const evaluation = await evaluateStack(stack, options);
    const report = summarise(evaluation);
    // The policy pack over every resource, with its options: mandatory findings fail the plan.
    const findings = await checkPolicies(evaluation, policyConfig);
    report.problems.push(...findings.problems);
    report.advisories.push(...findings.advisories);
    report.policy = { violations: findings.result.violations };
    return report;
}

export function summarise(evaluation: StackEvaluation): PlanReport {
    const byUrn = new Map(evaluation.resources.map((r) => [r.urn, r]));
    const topComponent = (r: RecordedResource): RecordedResource | undefined => {
        let current: RecordedResource | undefined = r;
        while (current?.parent) {
            const parent = byUrn.get(current.parent);
            if (!parent || parent.type === "pulumi:pulumi:Stack") return current.custom ? undefined : current;
            current = parent;
        }
        return undefined;
    };

    const components = new Map<string, ComponentSummary>();
    const byRegion: Record<string, number> = {};
    const problems: string[] = [];
    let total = 0;
    for (const r of evaluation.resources.filter(isCloudResource)) {
        const region = r.region ?? (isRegional(r) ? NO_REGION : "global");
        if (region === NO_REGION) {
            problems.push(`${r.type} ${r.name}: uses the default AWS provider; give it the site's or the DR region's provider`);
        }
        const top = topComponent(r);
        const key = top?.urn ?? "(stack)";
        const summary = components.get(key) ?? { component: top?.name ?? "(stack)", type: top?.type ?? "", byRegion: {}, total: 0 };
        summary.byRegion[region] = (summary.byRegion[region] ?? 0) + 1;
        summary.total++;
        components.set(key, summary);
        byRegion[region] = (byRegion[region] ?? 0) + 1;
        total++;
    }
    const posture = computePosture(evaluation);
    for (const c of posture.checks.filter(isMissed)) {
        problems.push(
            `[recovery posture] ${c.what}: ${c.minutes === undefined ? "no mechanism declared" : `${+c.minutes.toFixed(1)} min`}, target ${+c.targetMinutes.toFixed(1)} min`,
        );
    }
    // A committed failover or fence is a state the operator chose: what it degrades is said, not failed.
    const advisories = posture.state.degraded.map((d) => `[recovery posture] ${describeState(evaluation.stack, posture.state)}: degraded: ${d}`);
    return { stack: evaluation.stack, evaluation, components: [...components.values()], byRegion, total, problems, advisories, posture };
}

/** The `--json` document: every resource with its props (secrets redacted) and options. */
export function planJson(report: PlanReport) {
    return {
        stack: report.stack,
        resources: report.evaluation.resources.map(
            (r): PlanResource => ({
                urn: r.urn,
                type: r.type,
                name: r.name,
                parent: r.parent,
                region: r.region,
                props: r.props,
                opts: { protect: r.opts.protect, retainOnDelete: r.opts.retainOnDelete },
                custom: r.custom,
                provider: r.provider,
                id: r.id,
                outputs: r.outputs,
                dependencies: r.opts.dependsOn,
                propertyDependencies: r.propertyDependencies ?? {},
            }),
        ),
        summary: { total: report.total, byRegion: report.byRegion },
        problems: report.problems,
        advisories: report.advisories,
        policy: { violations: report.policy?.violations ?? [] },
        posture: report.posture,
    };
}

export function renderPlan(report: PlanReport): string {
    const lines: string[] = [];
    const c = report.evaluation.config;
    const role = c[`${report.evaluation.project}:siteRole`];
    const state = report.posture.state;
    const stateText = state.state === "normal" || state.state === role ? "" : `, ${state.state}`;
    lines.push(`Offline plan of stack ${report.stack} (site role ${role}${stateText}, ${state.serving ? "serving" : `not serving: ${state.servingSite} serves`}, mock runtime: nothing was deployed)`);
    lines.push("");
    const regions = Object.keys(report.byRegion).sort();
    const width = Math.max(9, ...report.components.map((s) => s.component.length));
    lines.push(`  ${"component".padEnd(width)}  ${regions.map((r) => r.padStart(10)).join("  ")}  ${"total".padStart(5)}`);
    for (const s of report.components) {
        const cells = regions.map((r) => String(s.byRegion[r] ?? "-").padStart(10));
        lines.push(`  ${s.component.padEnd(width)}  ${cells.join("  ")}  ${String(s.total).padStart(5)}`);
    }
    const totals = regions.map((r) => String(report.byRegion[r]).padStart(10));
    lines.push(`  ${"total".padEnd(width)}  ${totals.join("  ")}  ${String(report.total).padStart(5)}`);
    lines.push("");
    lines.push(renderPosture(report.posture));
    lines.push("");
    lines.push(renderPlanTests(planTests(report.evaluation)));
    lines.push("");
    if (report.problems.length === 0) {
        lines.push("No problems found.");
    } else {
        lines.push(`${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}:`);
        for (const p of report.problems) lines.push(`  - ${p}`);
    }
    if (report.advisories.length > 0) {
        lines.push(`${report.advisories.length} advisor${report.advisories.length === 1 ? "y" : "ies"} (not failing the plan):`);
        for (const a of report.advisories) lines.push(`  - ${a}`);
    }
    return lines.join("\n");
}
