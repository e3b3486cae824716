/**
 * The pack's config, merged and held to the plan. A rule's settings are its config schema's defaults
 * (the plan's numbers) DEEP-merged with what `--policy-pack-config` gives it: tightening one prefix's
 * retention keeps the other prefixes' defaults (a shallow merge dropped them, which loosened the rule).
 *
 * A config can only tighten the plan. A setting that loosens it is REFUSED with an error naming the
 * rule's setting, the value and what is allowed (the engine then fails the preview: "Error validating
 * ... with policy '<rule>'"; the offline plan and `npm run policy -- check` report it as a problem).
 * Refusing rather than ignoring: a config that silently did nothing would look like it worked.
 *
 * Which way is tighter, per setting:
 * - a number with `minimum` or `maximum` in its schema: the bound (and the default) cannot be passed
 *   the other way; otherwise by its name: `max...` (but `...AtLeast`), `...Minutes`, `...Seconds`,
 *   `...Hours` are ceilings (lower is tighter); `min...`, `...Days`, `...Kept`, `...Instances`,
 *   `...AtLeast`, `retention...` are floors (higher is tighter); a nested key without a direction (a
 *   bucket purpose, a key prefix) takes its parent's; a number with no direction cannot change;
 * - a boolean that defaults to true (a requirement) stays true;
 * - a list whose schema enumerates its items (`items.enum`) is what the rule ALLOWS (the purposes a
 *   bucket may declare, the purposes allowed SSE-S3): it may only shrink, to a subset of the enum;
 *   any other list is what a rule covers: it may grow, never lose a default entry; a list of
 *   exemptions (`siteLocal`, `exempt...`, `allow...`, `ignore...`) may shrink, never grow;
 * - an object is merged key by key, each leaf judged as above against the default it replaces.
 *
 * Not covered, on purpose: the enforcement level (the engine's own switch, shown in every preview's
 * output) and `whenConcernAbsent` (the documented "not yet built" switch for a branch that builds a
 * component).
 */
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

export class PackConfigError extends Error {
    constructor(readonly path: string, problem: string) {
        super(`pack config ${path}: ${problem} (a config can only tighten the plan)`);
    }
}

type Direction = "floor" | "ceiling" | "fixed";
const FREE_SETTINGS = new Set(["whenConcernAbsent"]);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Objects merge key by key; anything else (lists included) replaces the default. */
export function deepMerge(base: unknown, over: unknown): unknown {
    if (over === undefined) return base;
    if (!isPlainObject(base) || !isPlainObject(over)) return over;
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
}

function numberDirection(key: string, spec: PolicyConfigJSONSchema | undefined): Direction {
    if (spec?.minimum !== undefined || spec?.exclusiveMinimum !== undefined) return "floor";
    if (spec?.maximum !== undefined || spec?.exclusiveMaximum !== undefined) return "ceiling";
    if (/AtLeast$/.test(key)) return "floor";
    if (/^max|Minutes$|Seconds$|Hours$/.test(key)) return "ceiling";
    if (/^min|Days$|Kept$|Instances$|retention/i.test(key)) return "floor";
    return "fixed";
}

const isExemptionList = (key: string) => /siteLocal|^exempt|^allow|^ignore|Exempt|Exceptions?$/i.test(key);

const childSpec = (spec: PolicyConfigJSONSchema | undefined, key: string): PolicyConfigJSONSchema | undefined => {
    const s = spec?.properties?.[key] ?? spec?.additionalProperties;
    return typeof s === "object" ? s : undefined;
};

/** `rule.setting.key["db/daily/"]`: the rule's name, then each key (quoted when it is not a plain name). */
const show = (path: string[]) => path.map((p, i) => (i === 0 || /^[A-Za-z_$][\w$]*$/.test(p) ? `${i ? "." : ""}${p}` : `[${JSON.stringify(p)}]`)).join("");

/** Throws a PackConfigError when `value` loosens `base` (the default) at `path`. */
function checkTightens(base: unknown, value: unknown, spec: PolicyConfigJSONSchema | undefined, path: string[], keyForDirection: string): void {
    const where = show(path);
    if (base === undefined) return; // a new entry (another prefix, another purpose): adds a requirement
    if (typeof base === "number") {
        if (typeof value !== "number" || !Number.isFinite(value)) throw new PackConfigError(where, `${JSON.stringify(value)} is not a number (default ${base})`);
        const direction = numberDirection(keyForDirection, spec);
        if (direction === "floor" && value < base) throw new PackConfigError(where, `${value} is below the plan's ${base}; use ${base} or more`);
        if (direction === "ceiling" && value > base) throw new PackConfigError(where, `${value} is above the plan's ${base}; use ${base} or less`);
        if (direction === "fixed" && value !== base) throw new PackConfigError(where, `${value} differs from the plan's ${base}, and this setting declares no direction (give its schema a minimum or maximum)`);
        if (spec?.minimum !== undefined && value < spec.minimum) throw new PackConfigError(where, `${value} is below the minimum ${spec.minimum}`);
        if (spec?.maximum !== undefined && value > spec.maximum) throw new PackConfigError(where, `${value} is above the maximum ${spec.maximum}`);
        return;
    }
    if (typeof base === "boolean") {
        if (typeof value !== "boolean") throw new PackConfigError(where, `${JSON.stringify(value)} is not true or false`);
        if (base && !value) throw new PackConfigError(where, "the plan requires true");
        return;
    }
    if (Array.isArray(base)) {
        if (!Array.isArray(value)) throw new PackConfigError(where, `${JSON.stringify(value)} is not a list`);
        const given = new Set(value.map((v) => JSON.stringify(v)));
        const items = spec?.items;
        const allowedValues = items && typeof items === "object" && !Array.isArray(items) ? items.enum : undefined;
        if (allowedValues) {
            // A list whose schema enumerates its items is what the rule ALLOWS (purposes a bucket may declare, purposes
            // allowed SSE-S3): it may only shrink. The CLI refuses other items too (JSON schema validation of the config).
            const allowed = new Set(allowedValues.map((v) => JSON.stringify(v)));
            const added = value.filter((v) => !allowed.has(JSON.stringify(v)));
            if (added.length > 0) throw new PackConfigError(where, `adds ${added.map((v) => JSON.stringify(v)).join(", ")}; it may only keep some of ${JSON.stringify(allowedValues)}`);
            return;
        }
        if (isExemptionList(keyForDirection)) {
            const allowed = new Set(base.map((v) => JSON.stringify(v)));
            const added = value.filter((v) => !allowed.has(JSON.stringify(v)));
            if (added.length > 0) throw new PackConfigError(where, `adds exemptions ${added.map((v) => JSON.stringify(v)).join(", ")}; it may only remove some of ${JSON.stringify(base)}`);
        } else {
            const dropped = base.filter((v) => !given.has(JSON.stringify(v)));
            if (dropped.length > 0) throw new PackConfigError(where, `drops ${dropped.map((v) => JSON.stringify(v)).join(", ")}; it may only add to ${JSON.stringify(base)}`);
        }
        return;
    }
    if (isPlainObject(base)) {
        if (!isPlainObject(value)) throw new PackConfigError(where, `${JSON.stringify(value)} is not an object`);
        // A nested key without a direction of its own (a purpose, a prefix) takes its parent's.
        for (const [k, v] of Object.entries(value)) checkTightens(base[k], v, childSpec(spec, k), [...path, k], numberDirection(k, undefined) === "fixed" ? keyForDirection : k);
        return;
    }
    if (typeof base === "string" && spec?.enum && !spec.enum.includes(value as string)) {
        throw new PackConfigError(where, `${JSON.stringify(value)} is not one of ${spec.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    }
}

/** The defaults of a config schema (the plan's numbers). */
export function defaultsOf(schema: { properties: Record<string, PolicyConfigJSONSchema> } | undefined): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(schema?.properties ?? {})) if (spec.default !== undefined) defaults[key] = spec.default;
    return defaults;
}

/**
 * A rule's settings: its schema's defaults deep-merged with the given config (enforcementLevel left
 * out); throws a PackConfigError when the config loosens a setting.
 */
export function mergeSettings<T extends object = Record<string, unknown>>(
    schema: { properties: Record<string, PolicyConfigJSONSchema> } | undefined,
    given: Record<string, unknown> | undefined,
    rule?: string,
): T {
    const defaults = defaultsOf(schema);
    const settings: Record<string, unknown> = { ...(given ?? {}) };
    delete settings.enforcementLevel;
    for (const [key, value] of Object.entries(settings)) {
        if (FREE_SETTINGS.has(key)) continue;
        checkTightens(defaults[key], value, schema?.properties?.[key], rule ? [rule, key] : [key], key);
    }
    return deepMerge(defaults, settings) as T;
}
