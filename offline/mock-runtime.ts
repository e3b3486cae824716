// Over 300 lines on purpose: the mock runtime is one state machine (config, mocks, monitor hooks, recording,
// evaluation errors); its pieces share private state.
/**
 * The in-process mock runtime: evaluates the Pulumi program for a named stack without the Pulumi CLI
 * or cloud credentials, under that stack's real config, and records every resource as the engine
 * would receive it (inputs, parent, provider and region, protect, retainOnDelete, dependsOn).
 *
 * Shared by the tests and the offline plan. Evaluations are serialised: the Pulumi SDK keeps its
 * runtime state in globals, so one evaluation runs at a time per process.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as jsYaml from "js-yaml";
import { answerInvoke, computedOutputs, MOCK_ACCOUNT_ID } from "./mock-cloud";
import { AwsRuleViolation, checkAwsRules, formatViolation } from "./aws-rules";
import { checkRegionOutage, OutageCall, RegionOutage } from "./region-outage";
import { cachedEvaluation } from "./evaluation-cache";
import { AWS_TYPES, isOneOf } from "../policies/aws-types";
import { stackless } from "../policies/stackless";

// Internal SDK modules: the registration request carries the resource options the mocks API hides.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable");

export { MOCK_ACCOUNT_ID };

/** The repository root: where Pulumi.yaml and the stack files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The text a stringified Output leaves in a string: a resource input holding it is a bug. */
export const OUTPUT_TO_STRING_MARKER = "Calling [toString] on an [Output";

/** What a secret input looks like in recorded props: secrets never leave the runtime in plain text. */
export const REDACTED = "[secret]";

export interface RecordedOptions {
    protect: boolean;
    retainOnDelete: boolean;
    /** URNs of the resources this one depends on explicitly (`dependsOn`). */
    dependsOn: string[];
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    /**
     * The URNs the resource's aliases stand for (a spec resolved as the mock names resources: its
     * parent's type, then its own type and name, each defaulting to the resource's). Absent when it has none.
     */
    aliases?: string[];
}

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent resource (the stack or a component). */
    parent?: string;
    /** True for cloud resources, false for components. */
    custom: boolean;
    /** URN of the provider that manages it; undefined for components and default-provider resources. */
    provider?: string;
    /** Region of that provider; undefined when it has none (global providers, components, default provider). */
    region?: string;
    /** Inputs as the engine receives them, with secrets replaced by {@link REDACTED}. */
    props: Record<string, any>;
    /** Keys of `props` whose values were secret. */
    secretProps: string[];
    /** The id the mock cloud gave it. */
    id?: string;
    /** Its outputs (inputs plus what AWS computes: arn, endpoints ...), secrets redacted. */
    outputs: Record<string, any>;
    opts: RecordedOptions;
    /** Per input property, the URNs of the resources its value came from (the request's propertyDependencies, which the engine gives stack rules). */
    propertyDependencies?: Record<string, string[]>;
}

export interface RecordedInvoke {
    token: string;
    region?: string;
}

export interface StackEvaluation {
    project: string;
    stack: string;
    /** The config the program saw, fully qualified keys, as strings. */
    config: Record<string, string>;
    resources: RecordedResource[];
    invokes: RecordedInvoke[];
    outputs: Record<string, unknown>;
}

export interface EvaluateOptions {
    /**
     * Config changes over the stack file: `key` (this project) or `namespace:key` → value as the
     * engine passes it (structured values as JSON); undefined removes the key.
     */
    config?: Record<string, string | undefined>;
    /**
     * What a StackReference to the production stack reads: its outputs, or "unavailable" to model
     * the primary region or its state being unreachable (reading it then fails).
     */
    stackReference?: Record<string, unknown> | "unavailable";
    /**
     * The program to run instead of the project's (infra/index.ts), for tests of one component under
     * a stack's config. It is called inside the stack, after config is set.
     */
    program?: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;
    /**
     * Model an outage of whole regions (offline/region-outage.ts): the evaluation fails, as `pulumi up`
     * would, where a provider's configuration, an invoke, or a create/update/delete needs one of them.
     */
    regionOutage?: RegionOutage;
    /**
     * The stack's own config, instead of its Pulumi.<stack>.yaml (a stack that has no file, such as the
     * deploy test's ephemeral stack): `key` or `namespace:key` → value as the engine passes it. The
     * project's defaults (Pulumi.yaml) still apply under it, and `config` above still applies over it.
     */
    stackConfig?: Record<string, string>;
}

/**
 * Raised when the program fails to evaluate, as `pulumi up` would fail: carries every error seen and
 * every refusal of the pretend AWS (`offline/aws-rules`).
 */
export class EvaluationError extends Error {
    constructor(readonly stack: string, readonly errors: Error[], readonly violations: AwsRuleViolation[] = []) {
        super(`stack ${stack}: ${errors.map((e) => e.message).join("\n")}`);
        this.name = "EvaluationError";
    }
}

/** Names of the stacks this project defines (one Pulumi.<stack>.yaml each). */
export function listStacks(projectDir = PROJECT_DIR): string[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * The config the Pulumi engine would pass the program for a stack: the project's declared defaults,
 * overlaid with the stack file's values, every key namespaced, every value a string.
 */
export function loadEngineConfig(stack: string, projectDir = PROJECT_DIR, given?: Record<string, string>): { project: string; config: Record<string, string> } {
    const project = projectFile(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"));
    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!given && !fs.existsSync(stackFile)) {
        throw new Error(`unknown stack ${JSON.stringify(stack)}: ${stackFile} does not exist; stacks: ${listStacks(projectDir).join(", ")}`);
    }
    const stackConfig = given ?? (parseYaml(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
    const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
    const config: Record<string, string> = {};
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        const value = spec !== null && typeof spec === "object" && !Array.isArray(spec) ? (spec.default ?? spec.value) : spec;
        if (value !== undefined) config[qualify(key)] = engineString(value);
    }
    for (const [key, value] of Object.entries(stackConfig)) {
        if (value !== null && typeof value === "object" && "secure" in (value as object)) {
            throw new Error(`Pulumi.${stack}.yaml: ${key} is an encrypted secret, which the offline runtime cannot decrypt; keep secrets out of stack config`);
        }
        config[qualify(key)] = engineString(value);
    }
    return { project: project.name, config };
}

/**
 * YAML as Pulumi reads its project and stack files: the YAML 1.2 core schema (a date or time stays the
 * text it is, `<<` is a plain key), which the `yaml` package reads by default. js-yaml with that schema,
 * because @pulumi/pulumi loads it anyway and it parses the project file in a fraction of the time
 * (issue 17); test/config.test.ts checks that both read every file, and the cases where the two
 * packages' defaults differ, alike.
 */
export function parseYaml(text: string): unknown {
    return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
}

interface ProjectFile {
    name: string;
    config?: Record<string, unknown>;
}
/** Pulumi.yaml parsed once per content (the tests evaluate hundreds of times; nothing mutates it). */
const projectFiles = new Map<string, ProjectFile>();
function projectFile(text: string): ProjectFile {
    let parsed = projectFiles.get(text);
    if (!parsed) projectFiles.set(text, (parsed = parseYaml(text) as ProjectFile));
    return parsed;
}

function engineString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

let queue: Promise<unknown> = Promise.resolve();

/** Stacks evaluated to answer another stack's StackReference, by stack name. */
const referencedStacks = new Map<string, StackEvaluation>();

/**
 * Evaluates the program for `stack` under mocks and returns what it declared.
 *
 * A DR site reads the production stack through a StackReference: unless `options.stackReference`
 * says otherwise, it is answered with the outputs of this project's own stack of that name,
 * evaluated first (once per process, and kept between runs: offline/evaluation-cache.ts), as the real
 * engine would read them from its state.
 */
export function evaluateStack(stack: string, options: EvaluateOptions = {}): Promise<StackEvaluation> {
    const run = queue.then(async () => {
        const { project, config } = stackConfig(stack, options);
        const referenced = config[`${project}:productionStack`]?.split("/").pop();
        const role = config[`${project}:siteRole`];
        if (options.stackReference === undefined && role !== "primary" && referenced && referenced !== stack && listStacks().includes(referenced)) {
            if (!referencedStacks.has(referenced)) referencedStacks.set(referenced, await cachedEvaluation(PROJECT_DIR, referenced, () => evaluate(referenced, {})));
            const production = referencedStacks.get(referenced)!;
            options = { ...options, stackReference: production.outputs };
            // What the referenced stack declared exists in the account too: the AWS rules may look it up.
            return evaluate(stack, options, production.resources);
        }
        return evaluate(stack, options);
    });
    queue = run.catch(() => undefined);
    return run;
}

/** The stack's engine config with the evaluation's changes applied. */
function stackConfig(stack: string, options: EvaluateOptions): { project: string; config: Record<string, string> } {
    const { project, config } = loadEngineConfig(stack, PROJECT_DIR, options.stackConfig);
    for (const [key, value] of Object.entries(options.config ?? {})) {
        const qualified = key.includes(":") ? key : `${project}:${key}`;
        if (value === undefined) delete config[qualified];
        else config[qualified] = value;
    }
    return { project, config };
}

/** `deployed`: resources another stack of the account declares (the referenced production stack), for the AWS rules. */
async function evaluate(stack: string, options: EvaluateOptions, deployed: readonly RecordedResource[] = []): Promise<StackEvaluation> {
    const { project, config } = stackConfig(stack, options);

    const errors: Error[] = [];
    const resources = new Map<string, RecordedResource>();
    const invokes: RecordedInvoke[] = [];
    /** Invokes with their inputs and provider reference, for a modelled region outage. */
    const calls: OutageCall[] = [];
    const providerRegions = new Map<string, string | undefined>();
    /** Per resource (`type::name`), the outputs it declares secret (additionalSecretOutputs). */
    const secretOutputs = new Map<string, string[]>();
    const regionOf = (providerRef: string) => (providerRef ? providerRegions.get(providerRef) : undefined);

    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const text = JSON.stringify(args.inputs);
                if (text.includes(OUTPUT_TO_STRING_MARKER)) {
                    throw new Error(`${args.type} ${args.name}: an input holds a stringified Output ("${OUTPUT_TO_STRING_MARKER}..."); use pulumi.interpolate or apply`);
                }
                if (args.type === "pulumi:pulumi:StackReference") {
                    return stackReferenceState(args.name, options.stackReference);
                }
                const id = args.id || mockId(args.type, args.name, args.inputs);
                const region = args.type.startsWith("pulumi:providers:") ? args.inputs.region : regionOf(args.provider ?? "");
                const state: Record<string, any> = { ...args.inputs, ...computedOutputs(args.type, args.name, id, region, args.inputs) };
                // The engine returns a resource's additionalSecretOutputs as secrets; so does this mock.
                for (const key of secretOutputs.get(`${args.type}::${args.name}`) ?? []) {
                    if (key in state) state[key] = { [rpc.specialSigKey]: rpc.specialSecretSig, value: state[key] };
                }
                return { id, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                const region = regionOf(args.provider ?? "");
                invokes.push({ token: args.token, region });
                calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
                try {
                    return answerInvoke(args.token, args.inputs, region);
                } catch (err) {
                    // The SDK reports a failed invoke only as a failed input further on: keep the cause.
                    errors.push(err as Error);
                    throw err;
                }
            },
        },
        project,
        stack,
        false,
    );
    pulumi.runtime.setAllConfig(config, []);

    // Record every registration as the engine receives it: the request carries the options.
    const monitor = settings.getMonitor();
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        secretOutputs.set(`${req.getType()}::${req.getName()}`, req.getAdditionalsecretoutputsList());
        return registerResource(req, (err: any, resp: any) => {
            if (err) {
                errors.push(err instanceof Error ? err : new Error(String(err)));
            } else {
                const type: string = req.getType();
                const inputs = rpc.deserializeProperties(req.getObject());
                const { props, secretProps } = redactSecrets(inputs);
                const providerRef: string = req.getProvider();
                if (type.startsWith("pulumi:providers:")) providerRegions.set(`${resp.getUrn()}::${resp.getId()}`, inputs.region);
                resources.set(resp.getUrn(), {
                    urn: resp.getUrn(),
                    type,
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    custom: req.getCustom(),
                    provider: providerRef ? providerRef.split("::").slice(0, -1).join("::") : undefined,
                    region: type.startsWith("pulumi:providers:") ? inputs.region : regionOf(providerRef),
                    props,
                    secretProps,
                    id: resp.getId() || undefined,
                    outputs: redactOutputs(rpc.deserializeProperties(resp.getObject()), req.getAdditionalsecretoutputsList()),
                    opts: {
                        protect: req.getProtect() === true,
                        retainOnDelete: req.getRetainondelete() === true,
                        dependsOn: req.getDependenciesList(),
                        deleteBeforeReplace: req.getDeletebeforereplace() === true,
                        ignoreChanges: req.getIgnorechangesList(),
                        ...recordedAliases(req, stack, project),
                    },
                    propertyDependencies: Object.fromEntries(
                        [...(req.getPropertydependenciesMap()?.entries() ?? [])].map(([key, deps]: [string, any]) => [key, deps.getUrnsList() as string[]]),
                    ),
                });
            }
            callback(err, resp);
        });
    };

    const onRejection = (reason: unknown) => errors.push(reason instanceof Error ? reason : new Error(String(reason)));
    process.on("unhandledRejection", onRejection);
    const restoreTraces = cheapSdkStackTraces();
    let outputs: Record<string, unknown> = {};
    try {
        // The project's program reads config when called, not when loaded, so one load serves every evaluation.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = options.program ?? (require("../infra/index") as () => Promise<Record<string, unknown>>);
        let declared: Record<string, unknown> = {};
        outputs = (await pulumi.runtime.runInPulumiStack(async () => (declared = (await program()) ?? {}))) ?? {};
        // Stack outputs arrive unwrapped: redact those the program declared secret.
        for (const [key, value] of Object.entries(declared)) {
            if (pulumi.Output.isInstance(value) && (await (value as any).isSecret)) outputs[key] = { [rpc.specialSigKey]: rpc.specialSecretSig, value: outputs[key] };
        }
        await settings.waitForRPCs();
        // Let rejected promises of outputs nobody awaited surface.
        await new Promise((resolve) => setImmediate(resolve));
    } catch (err) {
        errors.unshift(err instanceof Error ? err : new Error(String(err)));
        // A failed program may still have work in flight (other components' registrations, outputs
        // nobody awaits): let it end here, so its late rejections are this evaluation's errors, not the
        // next evaluation's (which would then fail with this one's message).
        await settings.waitForRPCs().catch((e: unknown) => errors.push(e instanceof Error ? e : new Error(String(e))));
        await new Promise((resolve) => setImmediate(resolve));
    } finally {
        process.off("unhandledRejection", onRejection);
        restoreTraces();
    }
    if (errors.length > 0) throw new EvaluationError(stack, dedupe(errors));
    const recorded = [...resources.values()];
    // What AWS or the provider would refuse at `pulumi up` fails the evaluation as the deployment would.
    const violations = checkAwsRules(recorded, undefined, config, deployed);
    if (violations.length > 0) {
        throw new EvaluationError(stack, [new Error(`AWS would refuse ${violations.length} input${violations.length === 1 ? "" : "s"}:\n${violations.map((v) => `  - ${formatViolation(v)}`).join("\n")}`)], violations);
    }
    if (options.regionOutage) {
        const unreachable = checkRegionOutage(options.regionOutage, recorded, calls);
        if (unreachable.length > 0) {
            throw new EvaluationError(stack, [new Error(`the run needs regions that do not answer (${options.regionOutage.regions.join(", ")}):\n${unreachable.map((v) => `  - ${formatViolation(v)}`).join("\n")}`)], unreachable);
        }
    }
    return { project, stack, config, resources: recorded, invokes, outputs: redactSecrets(outputs).props };
}

/** The aliases of a registration request, as URNs (see {@link RecordedOptions.aliases}), when it has any. */
function recordedAliases(req: any, stack: string, project: string): Pick<RecordedOptions, "aliases"> {
    // The mock runtime's URN scheme (@pulumi/pulumi runtime/mocks.js, newUrn): the parent's own type, "$", the type.
    const urn = (parent: string, type: string, name: string, inStack: string, inProject: string) =>
        `urn:pulumi:${inStack}::${inProject}::${parent ? `${parent.split("::")[2].split("$").pop()}$` : ""}${type}::${name}`;
    const aliases: string[] = [
        ...(req.getAliasurnsList?.() ?? []),
        ...(req.getAliasesList?.() ?? []).map((a: any) => {
            if (!a.hasSpec?.()) return a.getUrn();
            const spec = a.getSpec();
            const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent() || "";
            return urn(parent, spec.getType() || req.getType(), spec.getName() || req.getName(), spec.getStack() || stack, spec.getProject() || project);
        }),
    ];
    return aliases.length > 0 ? { aliases } : {};
}

/**
 * A deterministic id, unique per type and name: `subnet-genie-primary-network-app-0`. Where AWS's id
 * is the resource's name (S3 buckets, backup vaults, IAM roles, log groups), so is the mock's.
 */
export function mockId(type: string, name: string, inputs: Record<string, any> = {}): string {
    if (isOneOf(type, [AWS_TYPES.bucket, AWS_TYPES.bucketV2])) return inputs.bucket ?? name;
    if (isOneOf(type, [AWS_TYPES.backupVault, AWS_TYPES.iamRole, AWS_TYPES.logGroup])) return inputs.name ?? name;
    const kind = (type.split(":")[2] ?? type).replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
    return `${kind}-${name}`;
}

/**
 * The Pulumi SDK takes `new Error().stack` for every output promise and resource (debug context and
 * source positions, which nothing reads under mocks). Under ts-node each of those stacks is mapped
 * through the source maps, which made most of an evaluation's time. While evaluating, stacks of
 * those message-less errors are formatted plainly; every error with a message (a real one) keeps the
 * full, source-mapped trace. Returns the function that puts the previous formatter back.
 */
function cheapSdkStackTraces(): () => void {
    // Where a leaked promise was made is wanted: the SDK's own behaviour, with full stacks (give node a
    // higher --stack-trace-limit than the plan's 3 to reach the program's frames).
    if (process.env.GENIE_PROMISE_STACKS === "1" || debuggable.debugPromiseLeaks) return () => undefined;
    const previous = Error.prepareStackTrace;
    // The SDK captures `new Error().stack` for every promise it makes (debuggable.js), only for the
    // report of promises still pending at exit. Offline that capture is skipped (stack trace limit 0
    // around the call: the leak report itself still runs, naming each promise's context): it was the
    // largest single cost of an evaluation after loading the SDK (issue 17).
    const restoreDebuggable = stacklessDebuggablePromises();
    // Any other message-less stack the SDK renders is shown as its top call site only, without source
    // maps; every other error keeps its full, mapped trace.
    Error.prepareStackTrace = (error, callSites) =>
        error.message === "" || previous === undefined
            ? `${error.name}${error.message ? `: ${error.message}` : ""}${callSites.length > 0 ? `\n    at ${callSites[0]}` : ""}`
            : previous(error, callSites);
    return () => {
        Error.prepareStackTrace = previous;
        restoreDebuggable();
    };
}

/** Wraps the SDK's debuggablePromise (its modules call it through the module object) to capture no stack. */
function stacklessDebuggablePromises(): () => void {
    const original = debuggable.debuggablePromise;
    debuggable.debuggablePromise = function stacklessDebuggablePromise(this: unknown, ...args: unknown[]) {
        return stackless(() => original.apply(this, args));
    };
    return () => {
        debuggable.debuggablePromise = original;
    };
}

function stackReferenceState(name: string, reference: EvaluateOptions["stackReference"]) {
    if (reference === "unavailable") {
        throw new Error(`StackReference ${name}: the stack's state cannot be read (modelled outage of the primary region)`);
    }
    return { id: name, state: { name, outputs: reference ?? {}, secretOutputNames: [] } };
}

/** Outputs with secrets redacted: wrapped secrets, and the outputs the resource declares secret. */
function redactOutputs(outputs: Record<string, any>, secretOutputs: string[]): Record<string, any> {
    const { props } = redactSecrets(outputs);
    for (const key of secretOutputs) if (key in props) props[key] = REDACTED;
    return props;
}

function dedupe(errors: Error[]): Error[] {
    const seen = new Set<string>();
    return errors.filter((e) => !seen.has(e.message) && seen.add(e.message));
}

/** Replaces secret values (the SDK's wrapped form) with {@link REDACTED}, listing the top-level keys that held one. */
export function redactSecrets(value: Record<string, any>): { props: Record<string, any>; secretProps: string[] } {
    const secretProps: string[] = [];
    const walk = (v: any): any => {
        if (Array.isArray(v)) return v.map(walk);
        if (v !== null && typeof v === "object") {
            if (v[rpc.specialSigKey] === rpc.specialSecretSig) return REDACTED;
            return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, walk(e)]));
        }
        return v;
    };
    const props: Record<string, any> = {};
    for (const [key, v] of Object.entries(value ?? {})) {
        props[key] = walk(v);
        if (JSON.stringify(props[key])?.includes(REDACTED)) secretProps.push(key);
    }
    return { props, secretProps };
}
