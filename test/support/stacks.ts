/**
 * Shared access to evaluated stacks for the tests: each stack's default evaluation is made once per
 * process and shared; variations (config changes, StackReference outages) are evaluated on demand.
 */
import { evaluateStack, EvaluateOptions, RecordedResource, StackEvaluation } from "../../offline/mock-runtime";

const cache = new Map<string, Promise<StackEvaluation>>();

/** The stack as its Pulumi.<stack>.yaml declares it (evaluated once, then shared). */
export function stack(name: "production" | "dr"): Promise<StackEvaluation> {
    if (!cache.has(name)) cache.set(name, evaluateStack(name));
    return cache.get(name)!;
}

/** The stack with config changes or another StackReference answer (not cached). */
export function stackWith(name: "production" | "dr", options: EvaluateOptions): Promise<StackEvaluation> {
    return evaluateStack(name, options);
}

/** Cloud resources of a type (the full token, e.g. "aws:ec2/subnet:Subnet"). */
export function ofType(ev: StackEvaluation, type: string): RecordedResource[] {
    return ev.resources.filter((r) => r.type === type);
}

/** The one resource of a type whose name matches; fails when there is not exactly one. */
export function one(ev: StackEvaluation, type: string, name: string | RegExp): RecordedResource {
    const found = ofType(ev, type).filter((r) => (typeof name === "string" ? r.name === name : name.test(r.name)));
    if (found.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${found.map((r) => r.name).join(", ") || "none"}`);
    }
    return found[0];
}

/** The resources a component contains, at any depth. */
export function childrenOf(ev: StackEvaluation, component: RecordedResource): RecordedResource[] {
    const byUrn = new Map(ev.resources.map((r) => [r.urn, r]));
    const inside = (r: RecordedResource): boolean => {
        for (let p = r.parent; p; p = byUrn.get(p)?.parent) if (p === component.urn) return true;
        return false;
    };
    return ev.resources.filter(inside);
}

/** The resource a URN, an id or an ARN given to another resource points at. */
export function resolve(ev: StackEvaluation, ref: string): RecordedResource | undefined {
    return ev.resources.find((r) => r.urn === ref || (r.custom && r.id === ref) || (r.outputs.arn !== undefined && r.outputs.arn === ref));
}
