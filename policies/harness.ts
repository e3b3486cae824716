// Over 300 lines on purpose: a faithful copy of the policy engine's semantics (enforcement levels,
// applicability, unknown values, stack rules); it must stay in policies/ and in one piece to be compared
// against the engine.
/**
 * Runs the pack's rules without the Pulumi engine, with the engine's semantics (@pulumi/policy 1.21,
 * server.js): per rule, its enforcement level from the pack config, else its own, else the pack's;
 * "disabled" skips it; a resource rule whose validation carries `__pulumiType` is not applicable to
 * other types (one of `forTypes`' `__pulumiTypes`, offline only, gives the reason its own check would
 * give without being called: test/policies.test.ts compares the two); each validation runs in its own
 * try/catch where `notApplicable()` means "not applicable" and any other throw is an error (the engine
 * fails the whole preview on it); a violation reported with an object may carry its own enforcement
 * level.
 *
 * Resource rules see a resource's inputs, stack rules its outputs, with parents, dependencies and
 * property dependencies linked, as in the engine. Props reach the rules through the package's own
 * `unknownCheckingProxy` (proxy.js), as in the engine; with `preview` (see {@link PreviewOptions})
 * the values a real `pulumi preview` does not know yet are the package's unknown sentinels, so a rule
 * that reads one throws the package's `UnknownValueError`, and the harness turns it into the engine's
 * ONE advisory "can't run policy ... during preview" for that validation (a resource rule) or for the
 * whole rule (a stack rule), keeping the violations reported before it.
 *
 * Differences from the engine, on purpose: options also carry `retainOnDelete` (the engine does not
 * pass it). This file imports nothing from outside `policies/` (the published pack holds it).
 */
import type {
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import { onlyTypesReason, type Rule } from "./rules/common";
// A run keeps only the message of an error (result.errors), and rules throw as control flow
// (notApplicable, and the proxy's UnknownValueError on every unknown a preview reads): validations run
// stackless.
import { stackless } from "./stackless";

/**
 * The package's own unknown-value machinery (proxy.js). Its members are `@internal`, left out of the
 * published typings, so the module is required and typed here.
 */
interface PolicyProxyModule {
    unknownCheckingProxy<T>(toProxy: T): T;
    UnknownValueError: new (...args: any[]) => Error;
    unknownBooleanValue: string;
    unknownNumberValue: string;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownObjectValue: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy: PolicyProxyModule = require("@pulumi/policy/proxy");
const { unknownCheckingProxy, UnknownValueError, unknownBooleanValue, unknownNumberValue, unknownStringValue, unknownArrayValue, unknownObjectValue } = proxy;

/** The pack's name (policies/index.ts) and version (policies/package.json), as the engine names them in its messages. */
export const PACK_NAME = "genie-dr-policies";
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PACK_VERSION: string = require("./package.json").version;

/** The pack's config as `pulumi preview --policy-pack-config` takes it: per rule, a level or settings. */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
    policy: string;
    enforcementLevel: "advisory" | "mandatory";
    message: string;
    /** The resource it is about (stack rules may report none). */
    urn?: string;
    type?: string;
    name?: string;
}

export interface PolicyRunResult {
    violations: Violation[];
    /** Rules that declared themselves not applicable, with the engine's reason. */
    notApplicable: { policy: string; urn?: string; reason?: string }[];
    /** Validations that threw: the engine would fail the preview. */
    errors: { policy: string; urn?: string; message: string }[];
}

/** A resource as the harness takes it: a RecordedResource, or a synthetic one in tests. */
export interface HarnessResource {
    urn?: string;
    type: string;
    name: string;
    /** The cloud id (stack rules see it as `props.id` when the outputs lack one). */
    id?: string;
    props: Record<string, any>;
    outputs?: Record<string, any>;
    parent?: string;
    provider?: string;
    /** `dependsOn`: every resource it depends on (the SDK sends explicit and input dependencies together). */
    opts?: Partial<PolicyResourceOptions> & { retainOnDelete?: boolean; dependsOn?: string[] };
    /** Per input property, the URNs of the resources its value was computed from (the engine's `propertyDependencies`). */
    propertyDependencies?: Record<string, string[]>;
}

/**
 * A real preview's unknown values. `created`: the URNs of the resources the preview would create
 * (`"all"`: a first deployment), whose computed outputs (`id`, `arn` and every output the program did
 * not give as an input, except the names Pulumi assigns before the preview: `name`, `bucket`,
 * `identifier`, `region`) are unknown. Inputs computed from those outputs are unknown too: an input
 * whose property dependencies (else its resource's dependencies) include a created resource, and whose
 * string value is, or contains, one of that resource's unknown outputs (`bucket: bucket.id`, a policy
 * document built from `bucket.arn`). An `id` equal to the resource's name (a bucket, a vault) counts as
 * unknown where a dependent's input holds it: the program passes `bucket.id` (what a preview does not
 * know), and a reference through `bucket.bucket` is taken the same way (cautious: a rule that decides
 * from it in the harness decides in a real preview too).
 */
export interface PreviewOptions {
    created: "all" | Iterable<string>;
}

export interface RunOptions {
    config?: PackConfig;
    /** Providers by URN (what `provider` of a resource names). */
    providers?: Map<string, PolicyProviderResource>;
    stackTags?: ReadonlyMap<string, string>;
    /** Run as a real `pulumi preview` would: with the values it cannot know yet (see {@link PreviewOptions}). */
    preview?: PreviewOptions;
}

class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}
const throwNotApplicable = (reason?: string): never => {
    throw new NotApplicableError(reason);
};

const isResourceRule = (p: Rule): p is Rule & { validateResource: NonNullable<any> } => "validateResource" in p && p.validateResource !== undefined;
const isStackRule = (p: Rule): p is Rule & { validateStack: any } => "validateStack" in p && typeof (p as any).validateStack === "function";

/** The rule's effective level: pack config, then the rule, then the pack default (mandatory). */
export function levelOf(rule: Rule, config: PackConfig = {}): EnforcementLevel {
    const c = config[rule.name];
    const fromConfig = typeof c === "string" ? c : c?.enforcementLevel;
    const level = fromConfig ?? rule.enforcementLevel ?? "mandatory";
    return level === "remediate" ? "mandatory" : level;
}

/** What `getConfig()` returns: the schema's defaults (the CLI fills them) overlaid by the pack config, without enforcementLevel. */
export function configOf(rule: Rule, config: PackConfig = {}): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [k, spec] of Object.entries(rule.configSchema?.properties ?? {})) if (spec.default !== undefined) defaults[k] = spec.default;
    const c = config[rule.name];
    if (typeof c !== "object" || c === null) return defaults;
    const settings: Record<string, unknown> = { ...c };
    delete settings.enforcementLevel;
    return { ...defaults, ...settings };
}

function isTypeOf(type: string, resourceClass: any): boolean {
    const pulumiType = resourceClass?.__pulumiType;
    if (typeof pulumiType === "string" && pulumiType.length > 0) return type === pulumiType;
    return typeof resourceClass?.isInstance === "function" && resourceClass.isInstance({ __pulumiType: type }) === true;
}

function options(r: HarnessResource): PolicyResourceOptions & { retainOnDelete?: boolean } {
    return {
        protect: r.opts?.protect === true,
        ignoreChanges: r.opts?.ignoreChanges ?? [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.opts?.deleteBeforeReplace !== undefined ? { deleteBeforeReplace: r.opts.deleteBeforeReplace } : {}),
        ...(r.parent ? { parent: r.parent } : {}),
        ...(r.opts?.retainOnDelete !== undefined ? { retainOnDelete: r.opts.retainOnDelete } : {}),
    };
}

const urnOf = (r: HarnessResource) => r.urn ?? `urn:pulumi:test::genie-infra::${r.type}::${r.name}`;

function reporter(rule: Rule, level: EnforcementLevel, out: Violation[], subject?: HarnessResource, byUrn?: Map<string, HarnessResource>) {
    return (message: string | { message?: string; description?: string; enforcementLevel?: EnforcementLevel; urn?: string }, urn?: string) => {
        const info = typeof message === "object" ? message : { message, urn };
        const at = subject ?? (info.urn ? byUrn?.get(info.urn) : undefined);
        const effective = info.enforcementLevel ?? level;
        out.push({
            policy: rule.name,
            enforcementLevel: effective === "advisory" ? "advisory" : "mandatory",
            message: info.message || info.description || rule.description,
            urn: subject ? urnOf(subject) : info.urn,
            type: at?.type,
            name: at?.name,
        });
    };
}

/** The engine's advisory for a validation that read an unknown value (server.js, `e instanceof UnknownValueError`). */
function cannotRunDuringPreview(rule: Rule, e: Error, out: Violation[], subject?: HarnessResource): void {
    out.push({
        policy: rule.name,
        enforcementLevel: "advisory",
        message: `can't run policy '${rule.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${e.message}`,
        ...(subject ? { urn: urnOf(subject), type: subject.type, name: subject.name } : {}),
    });
}

/** A provider as the engine describes it to a rule: its props through the unknown-checking proxy. */
function providerFor(resource: HarnessResource, run: RunOptions): PolicyProviderResource | undefined {
    const provider = resource.provider ? run.providers?.get(resource.provider) : undefined;
    return provider ? { ...provider, props: unknownCheckingProxy(provider.props) } : undefined;
}

/**
 * Runs one rule's resource validation(s) on one resource, as the engine's `analyze` does. The resource
 * is taken as given: for a preview, pass it through {@link previewResources} with the whole stack first
 * (its inputs are unknown through the resources they come from).
 */
export async function runResourceRule(rule: Rule, resource: HarnessResource, run: RunOptions = {}, result = emptyResult()): Promise<PolicyRunResult> {
    const level = levelOf(rule, run.config);
    if (level === "disabled" || !isResourceRule(rule)) return result;
    const validations = Array.isArray(rule.validateResource) ? rule.validateResource : [rule.validateResource];
    const fastType = !Array.isArray(rule.validateResource) ? (rule.validateResource as any).__pulumiType : undefined;
    if (fastType && fastType !== resource.type) {
        result.notApplicable.push({ policy: rule.name, urn: urnOf(resource), reason: `Policy only applies to resources of type '${fastType}'` });
        return result;
    }
    // A rule of several types (forTypes) says the same without being called: the outcome its own check would give.
    const fastTypes: readonly string[] | undefined = !Array.isArray(rule.validateResource) ? (rule.validateResource as any).__pulumiTypes : undefined;
    if (fastTypes && !fastTypes.includes(resource.type)) {
        result.notApplicable.push({ policy: rule.name, urn: urnOf(resource), reason: onlyTypesReason(fastTypes) });
        return result;
    }
    for (const validation of validations) {
        try {
            // As server.js: the props of each validation are deserialized and wrapped anew.
            const props = unknownCheckingProxy(resource.props);
            const provider = providerFor(resource, run);
            const args: ResourceValidationArgs = {
                type: resource.type,
                props,
                urn: urnOf(resource),
                name: resource.name,
                opts: options(resource),
                ...(provider ? { provider } : {}),
                stackTags: run.stackTags ?? new Map(),
                isType: (cls: any) => isTypeOf(resource.type, cls),
                asType: ((cls: any) => (isTypeOf(resource.type, cls) ? props : undefined)) as any,
                getConfig: <T extends object>() => configOf(rule, run.config) as T,
                notApplicable: throwNotApplicable,
            };
            await Promise.resolve(stackless(() => validation(args, reporter(rule, level, result.violations, resource) as any)));
        } catch (e) {
            if (e instanceof UnknownValueError) cannotRunDuringPreview(rule, e as Error, result.violations, resource);
            else if (e instanceof NotApplicableError) result.notApplicable.push({ policy: rule.name, urn: urnOf(resource), reason: e.reason });
            else result.errors.push({ policy: rule.name, urn: urnOf(resource), message: (e as Error).message });
        }
    }
    return result;
}

/** The stack as the engine's `analyzeStack` passes it: outputs as props, parents, dependencies and property dependencies linked. */
export function policyResources(resources: HarnessResource[], providers: Map<string, PolicyProviderResource> = new Map()): PolicyResource[] {
    const out = resources.map((r) => {
        const outputs = r.outputs ?? r.props;
        const props = unknownCheckingProxy(r.id !== undefined && !("id" in outputs) ? { id: r.id, ...outputs } : outputs);
        const provider = providerFor(r, { providers });
        const resource: PolicyResource = {
            type: r.type,
            props,
            urn: urnOf(r),
            name: r.name,
            opts: options(r),
            ...(provider ? { provider } : {}),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls: any) => isTypeOf(r.type, cls),
            asType: ((cls: any) => (isTypeOf(r.type, cls) ? props : undefined)) as any,
        };
        return resource;
    });
    const byUrn = new Map(out.map((r) => [r.urn, r]));
    const linked = (urns: string[] | undefined) => (urns ?? []).map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    resources.forEach((r, i) => {
        if (r.parent && byUrn.has(r.parent)) out[i].parent = byUrn.get(r.parent);
        out[i].dependencies = linked(r.opts?.dependsOn);
        for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) out[i].propertyDependencies[key] = linked(urns);
    });
    return out;
}

/** Runs one stack rule over the resources, as the engine's `analyzeStack` does (for a preview, see {@link runRules}). */
export async function runStackRule(rule: Rule, resources: HarnessResource[], run: RunOptions = {}, result = emptyResult()): Promise<PolicyRunResult> {
    const level = levelOf(rule, run.config);
    if (level === "disabled" || !isStackRule(rule)) return result;
    const fastType = (rule.validateStack as any).__pulumiType;
    if (fastType && !resources.some((r) => r.type === fastType)) {
        result.notApplicable.push({ policy: rule.name, reason: `Policy only applies to resources of type '${fastType}'` });
        return result;
    }
    const byUrn = new Map(resources.map((r) => [urnOf(r), r]));
    try {
        const args: StackValidationArgs = {
            resources: policyResources(resources, run.providers),
            stackTags: run.stackTags ?? new Map(),
            getConfig: <T extends object>() => configOf(rule, run.config) as T,
            notApplicable: throwNotApplicable,
        };
        await Promise.resolve(stackless(() => rule.validateStack(args, reporter(rule, level, result.violations, undefined, byUrn))));
    } catch (e) {
        if (e instanceof UnknownValueError) cannotRunDuringPreview(rule, e as Error, result.violations);
        else if (e instanceof NotApplicableError) result.notApplicable.push({ policy: rule.name, reason: e.reason });
        else result.errors.push({ policy: rule.name, message: (e as Error).message });
    }
    return result;
}

export const emptyResult = (): PolicyRunResult => ({ violations: [], notApplicable: [], errors: [] });

/** What the harness needs of an evaluated resource (offline/mock-runtime's RecordedResource fits). */
export interface EvaluatedResource extends HarnessResource {
    urn: string;
    custom?: boolean;
    outputs: Record<string, any>;
    opts: HarnessResource["opts"] & { protect: boolean; retainOnDelete: boolean; dependsOn: string[] };
}

/** What the harness needs of an evaluated stack (offline/mock-runtime's StackEvaluation fits). */
export interface EvaluationLike {
    resources: EvaluatedResource[];
}

/** The providers of an evaluation, as the engine describes a resource's provider. */
export function providersOf(resources: HarnessResource[]): Map<string, PolicyProviderResource> {
    return new Map(
        resources
            .filter((r) => r.type.startsWith("pulumi:providers:"))
            .map((r) => [urnOf(r), { type: r.type, props: r.outputs ?? r.props, urn: urnOf(r), name: r.name }]),
    );
}

/** Outputs Pulumi knows before a create: the names it assigns in the provider's Check (autonaming), the provider's region. */
const KNOWN_BEFORE_CREATE = new Set(["name", "bucket", "identifier", "region", "urn"]);

const unknownFor = (v: unknown): string =>
    typeof v === "number" ? unknownNumberValue : typeof v === "boolean" ? unknownBooleanValue : Array.isArray(v) ? unknownArrayValue : v !== null && typeof v === "object" ? unknownObjectValue : unknownStringValue;

function stringsIn(v: unknown, out: Set<string>): void {
    if (typeof v === "string" && v.length >= 3) out.add(v);
    else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, out));
    else if (v && typeof v === "object") Object.values(v).forEach((x) => stringsIn(x, out));
}

/** Replaces every string that is, or holds, one of `tokens` by the unknown-string sentinel. */
function markUnknown(v: unknown, tokens: string[]): unknown {
    if (typeof v === "string") return tokens.some((t) => v === t || v.includes(t)) ? unknownStringValue : v;
    if (Array.isArray(v)) return v.map((x) => markUnknown(x, tokens));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markUnknown(x, tokens)]));
    return v;
}

/**
 * The resources as a real `pulumi preview` describes them to the rules (see {@link PreviewOptions}):
 * the unknown outputs of the created resources, and the inputs (and the outputs they become) computed
 * from them, hold the package's unknown sentinels.
 */
export function previewResources<R extends HarnessResource>(resources: R[], preview: PreviewOptions): R[] {
    const created = preview.created === "all" ? new Set(resources.map(urnOf)) : new Set(preview.created);
    const unknownKeys = new Map<string, string[]>();
    const tokens = new Map<string, string[]>();
    for (const r of resources) {
        const urn = urnOf(r);
        if (!created.has(urn) || r.type.startsWith("pulumi:providers:")) continue;
        const outputs = r.outputs ?? r.props;
        const keys = Object.keys(outputs).filter((k) => !(k in r.props) && !KNOWN_BEFORE_CREATE.has(k));
        for (const k of ["id", "arn"]) if (!keys.includes(k) && (k === "id" || k in outputs) && !(k in r.props)) keys.push(k);
        unknownKeys.set(urn, keys);
        const values = new Set<string>();
        for (const k of keys) stringsIn(k === "id" ? (outputs.id ?? r.id) : outputs[k], values);
        tokens.set(urn, [...values]);
    }
    const tokensOf = (r: R, key: string): string[] => {
        const from = r.propertyDependencies?.[key] ?? (r.propertyDependencies ? [] : (r.opts?.dependsOn ?? []));
        return from.filter((u) => u !== urnOf(r)).flatMap((u) => tokens.get(u) ?? []);
    };
    return resources.map((r) => {
        const urn = urnOf(r);
        const markInputs = (values: Record<string, any>) =>
            Object.fromEntries(Object.entries(values).map(([k, v]) => [k, k in r.props ? markUnknown(v, tokensOf(r, k)) : v]));
        const props = markInputs(r.props);
        let outputs = r.outputs ? markInputs(r.outputs) : undefined;
        let id = r.id;
        const keys = unknownKeys.get(urn);
        if (keys) {
            outputs = { ...(outputs ?? props) };
            for (const k of keys) outputs[k] = unknownFor(k === "id" ? (outputs.id ?? r.id ?? "") : outputs[k]);
            id = undefined;
        }
        return { ...r, props, ...(outputs ? { outputs } : {}), id };
    });
}

/**
 * Runs every rule over an evaluated stack: resource rules on each resource, then stack rules on all.
 * `options.preview`: as a real `pulumi preview` would (see {@link PreviewOptions}).
 */
export async function runRules(rules: Rule[], evaluation: EvaluationLike, config: PackConfig = {}, options: Pick<RunOptions, "preview" | "stackTags"> = {}): Promise<PolicyRunResult> {
    const all = evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const resources = options.preview ? previewResources(all, options.preview) : all;
    const run: RunOptions = { config, providers: providersOf(resources), ...options };
    const result = emptyResult();
    for (const rule of rules) {
        for (const r of resources) await runResourceRule(rule, r, run, result);
        await runStackRule(rule, resources, run, result);
    }
    return result;
}

/** One line per violation: `[rule] type name: message`. */
export function renderViolation(v: Violation): string {
    const subject = v.type ? `${v.type} ${v.name}` : "stack";
    const message = v.type && v.message.startsWith(`${subject}: `) ? v.message.slice(subject.length + 2) : v.message;
    return `[${v.policy}] ${subject}: ${message}`;
}
