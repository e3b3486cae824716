/**
 * `npm run policy -- check <file> [--policy-config <file>]`: the policy pack over a stack's saved state,
 * without a preview and without credentials:
 *
 * - the offline plan's JSON (`npm run plan -- <stack> --json <file>`): the same violations the plan prints;
 * - the state of a deployed stack (`pulumi stack export --file <file>`, best after `pulumi refresh`):
 *   what is really there, so a retention shortened in the console, or a stack deployed before a rule
 *   existed, is found. The deployed state's `outputs` (which `pulumi refresh` brings up to date) are
 *   what both resource and stack rules read; providers, parents, dependencies and property
 *   dependencies come from the export (Pulumi docs, "pulumi stack export": `deployment.resources[]`
 *   with `urn`, `type`, `inputs`, `outputs`, `parent`, `provider`, `dependencies`, `propertyDependencies`).
 *
 * Exit codes: 0 no mandatory violation, 1 a mandatory violation or a rule error, 2 bad usage or an
 * unreadable / unknown file.
 */
import * as fs from "fs";
import { EvaluatedResource, EvaluationLike, PackConfig, PolicyRunResult, renderViolation, runRules } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { readPackConfig } from "./policy-runner";

export class CheckInputError extends Error {}

const REDACTED = "[secret]";
/** Pulumi's secret signature in serialized state (`4dabf18193072939515e22adb298388d`: "1b47061264138c4ac30d75fd1eb44270"). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function redact(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(redact);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return REDACTED;
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, redact(x)]));
    }
    return v;
}

export type CheckedFormat = "offline plan" | "pulumi stack export";

/** Reads a saved offline plan or a `pulumi stack export` file into what the pack's harness runs on. */
export function readStateFile(file: string): { format: CheckedFormat; stack?: string; evaluation: EvaluationLike } {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CheckInputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let doc: any;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new CheckInputError(`${file} is not JSON (${(e as Error).message}); give the output of \`npm run plan -- <stack> --json <file>\` or \`pulumi stack export --file <file>\``);
    }
    if (doc && typeof doc === "object" && doc.deployment && typeof doc.deployment === "object") return { format: "pulumi stack export", stack: stackOfExport(doc), evaluation: fromStackExport(doc, file) };
    if (doc && typeof doc === "object" && Array.isArray(doc.resources) && typeof doc.stack === "string") return { format: "offline plan", stack: doc.stack, evaluation: fromPlan(doc, file) };
    throw new CheckInputError(
        `${file}: unknown format: expected the offline plan's JSON (an object with "stack" and "resources", from \`npm run plan -- <stack> --json <file>\`) or a deployed stack's state (an object with "deployment.resources", from \`pulumi stack export --file <file>\`)`,
    );
}

function stackOfExport(doc: any): string | undefined {
    const stackResource = (doc.deployment.resources ?? []).find((r: any) => r?.type === "pulumi:pulumi:Stack");
    // urn:pulumi:<stack>::<project>::<type>::<name>
    return typeof stackResource?.urn === "string" ? stackResource.urn.split("::")[0].replace(/^urn:pulumi:/, "") : undefined;
}

function fromPlan(doc: any, file: string): EvaluationLike {
    const resources = doc.resources.map((r: any, i: number): EvaluatedResource => {
        if (typeof r?.urn !== "string" || typeof r?.type !== "string" || typeof r?.name !== "string" || typeof r?.props !== "object") {
            throw new CheckInputError(`${file}: resources[${i}] lacks urn, type, name or props: not the offline plan's JSON`);
        }
        if (r.outputs === undefined || r.dependencies === undefined) {
            throw new CheckInputError(`${file}: resources[${i}] has no outputs or dependencies: the file comes from an older \`npm run plan -- --json\`; write it again`);
        }
        return {
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.parent,
            provider: r.provider,
            id: r.id,
            props: r.props,
            outputs: r.outputs,
            opts: { protect: r.opts?.protect === true, retainOnDelete: r.opts?.retainOnDelete === true, dependsOn: r.dependencies ?? [] },
            propertyDependencies: r.propertyDependencies ?? {},
        };
    });
    return { resources };
}

function fromStackExport(doc: any, file: string): EvaluationLike {
    const list = doc.deployment.resources;
    if (!Array.isArray(list)) throw new CheckInputError(`${file}: deployment.resources is not a list: not a \`pulumi stack export\` file`);
    if (doc.version !== undefined && ![3].includes(doc.version)) {
        throw new CheckInputError(`${file}: deployment version ${doc.version} is not supported (this reads version 3, what \`pulumi stack export\` writes today)`);
    }
    const resources = list
        .filter((r: any) => r?.delete !== true) // resources pending deletion are not the stack's
        .map((r: any, i: number): EvaluatedResource => {
            if (typeof r?.urn !== "string" || typeof r?.type !== "string") throw new CheckInputError(`${file}: deployment.resources[${i}] lacks urn or type`);
            const outputs = redact(r.outputs ?? {}) as Record<string, any>;
            const inputs = redact(r.inputs ?? {}) as Record<string, any>;
            return {
                urn: r.urn,
                type: r.type,
                name: r.urn.split("::").pop(),
                custom: r.custom === true,
                parent: r.parent || undefined,
                // "urn::id": the provider's URN without its id, as the mock runtime records it.
                provider: typeof r.provider === "string" && r.provider !== "" ? r.provider.split("::").slice(0, -1).join("::") : undefined,
                id: r.id || undefined,
                // The deployed state: what AWS has (after `pulumi refresh`), the inputs where an output is missing.
                props: r.type.startsWith("pulumi:providers:") ? inputs : { ...inputs, ...outputs },
                outputs: { ...inputs, ...outputs },
                opts: { protect: r.protect === true, retainOnDelete: r.retainOnDelete === true, dependsOn: r.dependencies ?? [] },
                propertyDependencies: r.propertyDependencies ?? {},
            };
        });
    return { resources };
}

export interface CheckReport {
    format: CheckedFormat;
    stack?: string;
    result: PolicyRunResult;
    lines: string[];
    failed: boolean;
}

/** Runs the pack over a saved state file. */
export async function checkFile(file: string, config: PackConfig = {}): Promise<CheckReport> {
    const { format, stack, evaluation } = readStateFile(file);
    const result = await runRules(ALL_RULES, evaluation, config);
    const mandatory = result.violations.filter((v) => v.enforcementLevel === "mandatory");
    const advisory = result.violations.filter((v) => v.enforcementLevel === "advisory");
    const lines = [`Policy pack over ${format}${stack ? ` of stack ${stack}` : ""} (${file}): ${evaluation.resources.length} resources`];
    if (mandatory.length === 0 && result.errors.length === 0) lines.push("No mandatory violation.");
    if (mandatory.length > 0) lines.push(`${mandatory.length} mandatory violation${mandatory.length === 1 ? "" : "s"}:`, ...mandatory.map((v) => `  - ${renderViolation(v)}`));
    if (result.errors.length > 0) lines.push(`${result.errors.length} rule error${result.errors.length === 1 ? "" : "s"}:`, ...result.errors.map((e) => `  - [${e.policy}] ${e.urn ?? "stack"}: the rule failed: ${e.message}`));
    if (advisory.length > 0) lines.push(`${advisory.length} advisor${advisory.length === 1 ? "y" : "ies"} (not failing):`, ...advisory.map((v) => `  - ${renderViolation(v)}`));
    return { format, stack, result, lines, failed: mandatory.length > 0 || result.errors.length > 0 };
}

const USAGE = `usage: npm run policy -- check <file> [--policy-config <file>]
  <file>                  the offline plan's JSON (npm run plan -- <stack> --json <file>)
                          or a deployed stack's state (pulumi stack export --file <file>)
  --policy-config <file>  the pack's config, as pulumi's --policy-pack-config takes it
exit codes: 0 no mandatory violation, 1 mandatory violations or rule errors, 2 bad usage or file`;

export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
    const usage = (message: string) => {
        err(`error: ${message}\n${USAGE}`);
        return 2;
    };
    const [command, ...rest] = argv;
    if (command === "--help" || command === "-h" || command === "help") {
        out(USAGE);
        return 0;
    }
    if (command !== "check") return usage(command === undefined ? "name a command: check" : `unknown command ${JSON.stringify(command)}; commands: check`);
    let file: string | undefined;
    let config: PackConfig = {};
    for (let i = 0; i < rest.length; i++) {
        const arg = rest[i];
        if (arg === "--policy-config") {
            const configFile = rest[++i];
            if (!configFile) return usage("--policy-config needs a file name");
            try {
                config = readPackConfig(configFile);
            } catch (e) {
                return usage(`--policy-config ${configFile}: ${(e as Error).message}`);
            }
        } else if (arg.startsWith("-")) return usage(`unknown option ${arg}`);
        else if (file === undefined) file = arg;
        else return usage(`one file at a time (got ${file} and ${arg})`);
    }
    if (file === undefined) return usage("name the file to check");
    try {
        const report = await checkFile(file, config);
        for (const line of report.lines) out(line);
        return report.failed ? 1 : 0;
    } catch (e) {
        if (e instanceof CheckInputError) return usage(e.message);
        throw e;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: Error) => {
            console.error(`error: ${e.message}`);
            process.exit(1);
        },
    );
}
