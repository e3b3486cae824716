/**
 * Shared access to evaluated stacks for the tests: each stack's default evaluation is made once per
 * process and shared; variations (config changes, StackReference outages) once per process too, and
 * copied for each caller.
 */
import { evaluateStack, EvaluateOptions, RecordedResource, StackEvaluation } from "../../offline/mock-runtime";
import { ofType as resourcesOfType } from "../../policies/aws-types";

const cache = new Map<string, Promise<StackEvaluation>>();

/** The stack as its Pulumi.<stack>.yaml declares it (evaluated once, then shared). */
export function stack(name: "production" | "dr"): Promise<StackEvaluation> {
    if (!cache.has(name)) cache.set(name, evaluateStack(name));
    return cache.get(name)!;
}

const variations = new Map<string, Promise<StackEvaluation>>();

/** A cache key for options that are plain data (config, StackReference answers, outage models); undefined when they hold code. */
function keyOf(name: string, options: EvaluateOptions): string | undefined {
    let plain = true;
    const key = JSON.stringify([name, options], (_k, v) => {
        if (typeof v === "function" || typeof v === "symbol") plain = false;
        return v;
    });
    return plain ? key : undefined;
}

/**
 * The stack with config changes or another StackReference answer. An evaluation depends only on its
 * inputs, so options that are plain data are evaluated once per process (the same variation recurs
 * across files: `siteRole: "active"` in thirty places); each caller gets its own copy, so a test that
 * edits its evaluation cannot change another's. Options holding code (`program`) are evaluated each time.
 */
export async function stackWith(name: "production" | "dr", options: EvaluateOptions): Promise<StackEvaluation> {
    const key = keyOf(name, options);
    if (key === undefined) return evaluateStack(name, options);
    if (!variations.has(key)) variations.set(key, evaluateStack(name, options));
    return structuredClone(await variations.get(key)!);
}

/** Cloud resources of a type (the full token, e.g. "aws:ec2/subnet:Subnet"). */
export function ofType(ev: StackEvaluation, type: string): RecordedResource[] {
    return resourcesOfType(ev.resources, type);
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
