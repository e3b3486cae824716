/**
 * Changes between two evaluations of one stack (a change of site role, a config change) that AWS or
 * the provider carries out as a replacement, or refuses: a protected, stateful resource must never
 * need one. `checkTransition(before, after)` compares the resources both declare, by URN.
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRuleViolation } from "./types";

/** A type's inputs whose change replaces the resource (the Terraform provider's ForceNew), with the source. */
export interface ReplaceOnChange {
    inputs: readonly string[];
    source: string;
}

/** Per type token: the inputs whose change forces a replacement. Filled per service. */
export const REPLACE_ON_CHANGE: Record<string, ReplaceOnChange> = {};

/** An update AWS or the provider refuses outright (not a replacement): checked on each pair. */
export interface RefusedUpdate {
    id: string;
    types: readonly string[];
    source: string;
    check(before: RecordedResource, after: RecordedResource): string | undefined;
}

export const REFUSED_UPDATES: RefusedUpdate[] = [];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The violations of going from `before` to `after`: replacements of protected resources and refused updates. */
export function checkTransition(before: readonly RecordedResource[], after: readonly RecordedResource[]): AwsRuleViolation[] {
    const previous = new Map(before.filter((r) => r.custom).map((r) => [r.urn, r]));
    const violations: AwsRuleViolation[] = [];
    for (const next of after) {
        const prev = previous.get(next.urn);
        if (!prev || !next.custom) continue;
        const replace = REPLACE_ON_CHANGE[next.type];
        if (replace && (prev.opts.protect || next.opts.protect)) {
            const changed = replace.inputs.filter((k) => !same(prev.props[k], next.props[k]));
            if (changed.length > 0) {
                violations.push({
                    rule: "no-replacement-of-protected",
                    source: replace.source,
                    urn: next.urn,
                    type: next.type,
                    name: next.name,
                    message: `changing ${changed.join(", ")} replaces this protected resource (${changed.map((k) => `${k}: ${JSON.stringify(prev.props[k])} -> ${JSON.stringify(next.props[k])}`).join("; ")}); pulumi up refuses to delete a protected resource`,
                });
            }
        }
        for (const refused of REFUSED_UPDATES) {
            if (!refused.types.includes(next.type)) continue;
            const message = refused.check(prev, next);
            if (message) violations.push({ rule: refused.id, source: refused.source, urn: next.urn, type: next.type, name: next.name, message });
        }
    }
    return violations;
}
