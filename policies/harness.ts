/**
 * Runs the pack's rules without the Pulumi engine, with the engine's semantics (@pulumi/policy 1.21,
 * server.js): per rule, its enforcement level from the pack config, else its own, else the pack's;
 * "disabled" skips it; a resource rule whose validation carries `__pulumiType` is not applicable to
 * other types; each validation runs in its own try/catch where `notApplicable()` means "not
 * applicable" and any other throw is an error (the engine fails the whole preview on it); a violation
 * reported with an object may carry its own enforcement level.
 *
 * Resource rules see a resource's inputs, stack rules its outputs, as in the engine. Differences from
 * the engine, on purpose: options also carry `retainOnDelete` (the engine does not pass it), and
 * `propertyDependencies` is empty (the mock runtime does not record it).
 */
import type {
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import type { RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import type { Rule } from "./rules/common";

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
    opts?: Partial<PolicyResourceOptions> & { retainOnDelete?: boolean; dependsOn?: string[] };
}

export interface RunOptions {
    config?: PackConfig;
    /** Providers by URN (what `provider` of a resource names). */
    providers?: Map<string, PolicyProviderResource>;
    stackTags?: ReadonlyMap<string, string>;
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

/** Runs one rule's resource validation(s) on one resource, as the engine's `analyze` does. */
export async function runResourceRule(rule: Rule, resource: HarnessResource, run: RunOptions = {}, result = emptyResult()): Promise<PolicyRunResult> {
    const level = levelOf(rule, run.config);
    if (level === "disabled" || !isResourceRule(rule)) return result;
    const validations = Array.isArray(rule.validateResource) ? rule.validateResource : [rule.validateResource];
    const fastType = !Array.isArray(rule.validateResource) ? (rule.validateResource as any).__pulumiType : undefined;
    if (fastType && fastType !== resource.type) {
        result.notApplicable.push({ policy: rule.name, urn: urnOf(resource), reason: `Policy only applies to resources of type '${fastType}'` });
        return result;
    }
    const provider = resource.provider ? run.providers?.get(resource.provider) : undefined;
    for (const validation of validations) {
        const args: ResourceValidationArgs = {
            type: resource.type,
            props: resource.props,
            urn: urnOf(resource),
            name: resource.name,
            opts: options(resource),
            ...(provider ? { provider } : {}),
            stackTags: run.stackTags ?? new Map(),
            isType: (cls: any) => isTypeOf(resource.type, cls),
            asType: ((cls: any) => (isTypeOf(resource.type, cls) ? resource.props : undefined)) as any,
            getConfig: <T extends object>() => configOf(rule, run.config) as T,
            notApplicable: throwNotApplicable,
        };
        try {
            await Promise.resolve(validation(args, reporter(rule, level, result.violations, resource) as any));
        } catch (e) {
            if (e instanceof NotApplicableError) result.notApplicable.push({ policy: rule.name, urn: urnOf(resource), reason: e.reason });
            else result.errors.push({ policy: rule.name, urn: urnOf(resource), message: (e as Error).message });
        }
    }
    return result;
}

/** The stack as the engine's `analyzeStack` passes it: outputs as props, parents and dependencies linked. */
export function policyResources(resources: HarnessResource[], providers: Map<string, PolicyProviderResource> = new Map()): PolicyResource[] {
    const out = resources.map((r) => {
        const outputs = r.outputs ?? r.props;
        const props = r.id !== undefined && outputs.id === undefined ? { id: r.id, ...outputs } : outputs;
        const provider = r.provider ? providers.get(r.provider) : undefined;
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
    resources.forEach((r, i) => {
        if (r.parent && byUrn.has(r.parent)) out[i].parent = byUrn.get(r.parent);
        out[i].dependencies = (r.opts?.dependsOn ?? []).map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    });
    return out;
}

/** Runs one stack rule over the resources, as the engine's `analyzeStack` does. */
export async function runStackRule(rule: Rule, resources: HarnessResource[], run: RunOptions = {}, result = emptyResult()): Promise<PolicyRunResult> {
    const level = levelOf(rule, run.config);
    if (level === "disabled" || !isStackRule(rule)) return result;
    const fastType = (rule.validateStack as any).__pulumiType;
    if (fastType && !resources.some((r) => r.type === fastType)) {
        result.notApplicable.push({ policy: rule.name, reason: `Policy only applies to resources of type '${fastType}'` });
        return result;
    }
    const byUrn = new Map(resources.map((r) => [urnOf(r), r]));
    const args: StackValidationArgs = {
        resources: policyResources(resources, run.providers),
        stackTags: run.stackTags ?? new Map(),
        getConfig: <T extends object>() => configOf(rule, run.config) as T,
        notApplicable: throwNotApplicable,
    };
    try {
        await Promise.resolve(rule.validateStack(args, reporter(rule, level, result.violations, undefined, byUrn)));
    } catch (e) {
        if (e instanceof NotApplicableError) result.notApplicable.push({ policy: rule.name, reason: e.reason });
        else result.errors.push({ policy: rule.name, message: (e as Error).message });
    }
    return result;
}

export const emptyResult = (): PolicyRunResult => ({ violations: [], notApplicable: [], errors: [] });

/** The providers of an evaluation, as the engine describes a resource's provider. */
export function providersOf(resources: RecordedResource[]): Map<string, PolicyProviderResource> {
    return new Map(
        resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.urn, { type: r.type, props: r.props, urn: r.urn, name: r.name }]),
    );
}

/** Runs every rule over an evaluated stack: resource rules on each resource, then stack rules on all. */
export async function runRules(rules: Rule[], evaluation: StackEvaluation, config: PackConfig = {}): Promise<PolicyRunResult> {
    const resources = evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const run: RunOptions = { config, providers: providersOf(evaluation.resources) };
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
