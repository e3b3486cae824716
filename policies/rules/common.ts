/**
 * Shared pieces of the policy pack's rules: the resource type tokens they check (policies/aws-types.ts:
 * aws 7.48 names, old and V2 S3 names alike), how a rule reads its config (the schema's defaults,
 * overridden by the pack's config), how a resource's purpose and site are found, and the "not yet
 * built" switch of the cross-component stack rules.
 */
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { isOneOf, RULE_TYPES } from "../aws-types";
import { mergeSettings } from "../config";
import type {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export type Rule = ResourceValidationPolicy | StackValidationPolicy;

/** Every rule names the fix with the problem: `reportViolation(problem + fix(...))`. */
export const fix = (how: string) => ` (fix: ${how})`;

/** The resource types the rules check, under every token each can be declared with: policies/aws-types.ts. */
export const T = RULE_TYPES;

export { isOneOf };

/**
 * A rule's settings: the defaults of its config schema, overridden by what the pack's config gives it.
 * The Pulumi CLI fills schema defaults itself; doing it here too keeps the rules right in any runner.
 */
export function settingsOf<T extends object>(schema: PolicyConfigSchema, args: { getConfig<C extends object>(): C }): T {
    // Deep-merged, and refused when it loosens the plan: policies/config.ts.
    return mergeSettings<T>(schema, args.getConfig<Record<string, unknown>>());
}

/** What a validation of some types says of a resource of another type. */
export const onlyTypesReason = (types: readonly string[]) => `Policy only applies to resources of type ${types.map((t) => `'${t}'`).join(" or ")}`;

/**
 * A resource validation for some types, marked not applicable (as the engine's
 * `validateResourceOfType` does) for every other type. With one type it carries `__pulumiType`, so
 * the engine skips other types without calling it.
 */
export function forTypes(
    types: string | readonly string[],
    validate: (props: Record<string, any>, args: ResourceValidationArgs, report: ReportViolation) => void | Promise<void>,
): ResourceValidation {
    const list = typeof types === "string" ? [types] : types;
    const fn: ResourceValidation & { __pulumiType?: string; __pulumiTypes?: readonly string[] } = (args, report) => {
        if (!list.includes(args.type)) args.notApplicable(onlyTypesReason(list));
        return validate(args.props, args, report);
    };
    if (list.length === 1) fn.__pulumiType = list[0];
    // The offline harness skips other types from this list without the call (the engine calls it).
    else fn.__pulumiTypes = list;
    return fn;
}

/** AWS tags of a resource's props: the `tags` map, or an ASG's `tags` list of {key, value} (values the preview does not know are left out). */
export function tagsOf(props: Record<string, any>): Record<string, string> {
    const all = known(() => props?.tagsAll);
    const own = known(() => props?.tags);
    const tags = all !== UNKNOWN && all !== undefined && all !== null ? all : own === UNKNOWN ? undefined : own;
    if (Array.isArray(tags)) {
        const out: Record<string, string> = {};
        for (const t of tags) {
            const key = known(() => t.key);
            const value = known(() => t.value);
            if (key !== UNKNOWN && value !== UNKNOWN) out[key] = String(value);
        }
        return out;
    }
    if (!tags || typeof tags !== "object") return {};
    const out: Record<string, string> = {};
    for (const k of Object.keys(tags)) {
        const v = known(() => tags[k]);
        if (v !== UNKNOWN) out[k] = v;
    }
    return out;
}

/**
 * The purpose of a bucket (backups | uploads | logs): its `purpose` tag when it has one, else the
 * data-protection component's naming (`<site>-storage-backups-bucket`, `...-dr-uploads-bucket`,
 * `...-logs-bucket`). The S3 rules pick their requirements by it.
 */
export const PURPOSE_TAG = "purpose";
export function purposeOf(r: { name: string; props: Record<string, any> }): string | undefined {
    return tagsOf(r.props)[PURPOSE_TAG] ?? /-(backups|uploads|logs|cache-exports)(-bucket)?$/.exec(r.name)?.[1];
}

/**
 * The site a resource belongs to, from its provider's default tags (`site`: primary | dr |
 * dr-landing-zone; infra/providers.ts sets them), falling back to the resource's own `site` tag.
 */
export function siteOf(r: { props: Record<string, any>; provider?: { props: Record<string, any> } }): string | undefined {
    // Provider inputs of object type reach the engine JSON-encoded.
    const raw = known(() => r.provider?.props?.defaultTags);
    const defaultTags = raw === UNKNOWN ? undefined : jsonDocument(raw);
    return defaultTags?.tags?.site ?? tagsOf(r.props).site;
}

/** The provider's default tags (JSON-encoded provider input), {} when unknown or absent. */
export function defaultTagsOf(r: { provider?: { props: Record<string, any> } }): Record<string, string> {
    const raw = known(() => r.provider?.props?.defaultTags);
    const doc = raw === UNKNOWN ? undefined : jsonDocument(raw);
    return doc?.tags && typeof doc.tags === "object" ? doc.tags : {};
}

/** The tag that says what a site does now: primary, active (a DR site serving) or standby. */
export const SITE_ROLE_TAG = "siteRole";

/**
 * The sites of the stack that serve users: the primary site, and a DR site whose app group is tagged
 * siteRole=active (a failed-over DR site is a primary in all but name: its data needs the same care).
 */
export function servingSites(args: StackValidationArgs): Set<string> {
    const sites = new Set<string>(["primary"]);
    for (const r of args.resources) {
        if (r.type !== T.asg) continue;
        const site = siteOf(r);
        if (site && tagsOf(r.props)[SITE_ROLE_TAG] === "active") sites.add(site);
    }
    return sites;
}

/** The region of a resource's provider (undefined when the engine does not tell). */
export const regionOf = (r: { provider?: { props: Record<string, any> } }): string | undefined => {
    const region = known(() => r.provider?.props?.region);
    return region === UNKNOWN ? undefined : region;
};

/** The region an ARN names (`arn:aws:backup:us-west-2:...`), or undefined (S3 ARNs have none). */
export const arnRegion = (arn: unknown): string | undefined => (typeof arn === "string" ? arn.split(":")[3] || undefined : undefined);

/** Parses a JSON policy document given as a string or an object; undefined when it is neither. */
export function jsonDocument(doc: unknown): any {
    if (typeof doc === "string") {
        try {
            return JSON.parse(doc);
        } catch {
            return undefined;
        }
    }
    return doc && typeof doc === "object" ? doc : undefined;
}

export const asArray = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/**
 * Unknown values. In a real `pulumi preview` (@pulumi/policy 1.21, proxy.js) reading an output of a
 * resource being created (an `arn`, an `id`, anything computed from them) throws `UnknownValueError`;
 * uncaught, the engine turns the WHOLE rule into one advisory "can't run during preview". The rules
 * therefore read through {@link known}, link resources by name, URN and `propertyDependencies`
 * (which the engine passes to stack rules), and run each check in its own {@link guard}: a
 * violation in a known value stays mandatory, and only the check that needs an unknown value becomes
 * an advisory naming what the preview could not know (`npm run policy -- check` decides it on the
 * deployed state).
 */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** True for the engine's UnknownValueError (matched by name too: the pack and a runner may load different copies of @pulumi/policy). */
export const isUnknownError = (e: unknown): boolean =>
    e instanceof Error && (e.constructor?.name === "UnknownValueError" || /can't be known during preview/.test(e.message));

/** The value a read returns, or {@link UNKNOWN} when the engine does not know it yet. */
export function known<V>(read: () => V): V | Unknown {
    try {
        return read();
    } catch (e) {
        if (isUnknownError(e)) return UNKNOWN;
        throw e;
    }
}

/**
 * Runs one check; when it needs a value the preview does not know, reports one advisory finding for
 * that check only (what was unknown, and where it is decided instead) and lets the rule go on.
 */
export function guard(report: ReportViolation, what: string, check: () => void, urn?: string): void {
    try {
        check();
    } catch (e) {
        if (!isUnknownError(e)) throw e;
        (report as unknown as (info: object) => void)({
            message: `${what}: not decidable during preview (${(e as Error).message}); decided by the offline plan and by \`npm run policy -- check\` on the deployed stack's state`,
            enforcementLevel: "advisory",
            urn,
        });
    }
}

/** The resources the engine says a property of `r` was computed from (`propertyDependencies`; empty when the runner does not record them). */
export function dependenciesOf(r: PolicyResource, prop: string): PolicyResource[] {
    const deps = known(() => (r as { propertyDependencies?: Record<string, PolicyResource[]> }).propertyDependencies?.[prop]);
    return deps === UNKNOWN || !Array.isArray(deps) ? [] : deps;
}

/**
 * What other resources use to point at this one: its name, id, bucket name or ARN (in AWS a bucket's,
 * vault's or repository's id is its name; the mock runtime's ids differ, so all are accepted). Values
 * the preview does not know are left out.
 */
export function refsOf(r: PolicyResource): Set<unknown> {
    const refs = ["bucket", "name", "id", "arn"].map((k) => known(() => r.props[k]));
    return new Set(refs.filter((v) => v !== undefined && v !== UNKNOWN && v !== null));
}

/**
 * Whether `from`'s property `prop` (whose value, or a value inside it, is `value`) points at
 * `target`: by value when known (name, id or ARN), else by the engine's property dependencies.
 * `undefined` when it cannot be told (the value is unknown and the runner gives no dependencies).
 */
export function pointsAt(from: PolicyResource, prop: string, value: unknown, target: PolicyResource): boolean | undefined {
    if (value !== UNKNOWN) return refsOf(target).has(value);
    const deps = dependenciesOf(from, prop);
    if (deps.length > 0) return deps.some((d) => d.urn === target.urn);
    return undefined;
}

/**
 * The items of a list property, each read on its own: a known item as it is, an unknown one as
 * {@link UNKNOWN}. (Array methods such as `map` or `some` on the engine's proxy read every item before
 * the callback runs, so one unknown item would throw outside {@link known}.) {@link UNKNOWN} when the
 * list itself is unknown; a single value is a list of one; undefined/null an empty list.
 */
export function knownItems(read: () => unknown): unknown[] | Unknown {
    const list = known(read);
    if (list === UNKNOWN) return UNKNOWN;
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) return [list];
    const length = known(() => list.length);
    if (length === UNKNOWN) return UNKNOWN;
    return Array.from({ length }, (_v, i) => known(() => list[i]));
}

/** Reads a value; when unknown, throws the engine's error again so that {@link guard} reports it. */
export function must<V>(value: V | Unknown, what: string): V {
    if (value === UNKNOWN) throw new UnknownRead(what);
    return value;
}
class UnknownRead extends Error {
    constructor(what: string) {
        super(`${what} can't be known during preview`);
    }
}

/** Names a stack resource in a message: `aws:s3/bucketV2:BucketV2 genie-primary-backups`. */
export const label = (r: PolicyResource) => `${r.type} ${r.name}`;

/**
 * The "not yet built" switch of cross-component stack rules: when the pack's config sets
 * `whenConcernAbsent` to "advisory" and the stack holds NONE of the resources of the rule's concern,
 * the rule reports one advisory "not yet built" violation instead of mandatory ones. As soon as one
 * resource of the concern exists, every finding is mandatory. Every component has landed, so the
 * default is "mandatory": a stack without any alarm, data store or database fails; "advisory" is for
 * a new component's branch while it is being built.
 */
export const concernAbsentSchema: Record<string, PolicyConfigJSONSchema> = {
    whenConcernAbsent: {
        type: "string",
        enum: ["advisory", "mandatory"],
        default: "mandatory",
        description:
            "What a stack without any resource of this rule's concern gets: one advisory 'not yet built' finding (while the component is being built) or mandatory violations.",
    },
};

/**
 * Reports that a concern is missing entirely: advisory "not yet built" (engine: enforcement level
 * advisory through the object form of reportViolation) unless the config makes it mandatory.
 * Returns true when it reported.
 */
export function reportConcernAbsent(
    present: boolean,
    concern: string,
    settings: { whenConcernAbsent?: string },
    policyName: string,
    report: ReportViolation,
    fixText: string,
): boolean {
    if (present) return false;
    const message = `not yet built: the stack has no ${concern}${fix(fixText)}`;
    if (settings.whenConcernAbsent === "mandatory") {
        report(message);
    } else {
        (report as unknown as (info: object) => void)({ name: policyName, message, enforcementLevel: "advisory" });
    }
    return true;
}

export type { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy, ResourceValidationPolicy };
