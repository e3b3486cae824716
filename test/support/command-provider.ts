/**
 * A model of what pulumi-command (the `command:local:Command` provider, v1) does with a command between
 * two `pulumi up`s, so tests run a command's script the way the provider would, never with an
 * environment the provider would not give it. From the provider's source (pulumi/pulumi-command):
 *
 * - provider/pkg/provider/common/inputs.go: `Triggers *[]any ... provider:"replaceOnChanges"`, and the
 *   Node SDK adds `replaceOnChanges: ["triggers[*]"]` to every command (@pulumi/command
 *   local/command.js): a change of `triggers` REPLACES the command; a change of any other input
 *   (create, update, interpreter, environment ...) is an UPDATE (no custom Diff).
 * - local/commandController.go: `Create` starts from `CommandOutputs{CommandInputs: input}` (no stdout);
 *   `Update` from `BaseOutputs: olds.BaseOutputs` (the previous stdout) and runs `update`, or `create`
 *   when there is no `update`.
 * - local/commandOutputs.go `run`: sets `PULUMI_COMMAND_STDOUT` only `if out.Stdout != ""` (and
 *   `addPreviousOutputInEnv` is not false); on a non-zero exit it returns before writing `Stdout`, so
 *   the state keeps the previous stdout; on success `Stdout` is the output less one trailing newline.
 */

/** The inputs of a `command:local:Command` as the mock runtime records them (`RecordedResource.props`). */
export interface CommandInputs {
    create?: string;
    update?: string;
    triggers?: unknown[];
    interpreter?: string[];
    environment?: Record<string, string>;
    addPreviousOutputInEnv?: boolean;
    [key: string]: unknown;
}

/** What Pulumi keeps of a command in the stack's state. */
export interface CommandState {
    inputs: CommandInputs;
    stdout: string;
}

/** The inputs whose change makes the provider replace the command (the SDK's replaceOnChanges). */
export const COMMAND_REPLACE_ON_CHANGES = ["triggers"] as const;

export type CommandStep = "create" | "replace" | "update" | "same";

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What `pulumi up` does with the command: create it, replace it, update it, or leave it. */
export function commandStep(old: CommandState | undefined, inputs: CommandInputs): CommandStep {
    if (!old) return "create";
    if (COMMAND_REPLACE_ON_CHANGES.some((k) => !same(old.inputs[k], inputs[k]))) return "replace";
    const keys = new Set([...Object.keys(old.inputs), ...Object.keys(inputs)]);
    return [...keys].some((k) => !same(old.inputs[k], inputs[k])) ? "update" : "same";
}

/** Runs a script with an environment; returns its exit status and stdout. */
export type ScriptRunner = (script: string, env: Record<string, string>) => { status: number | null; stdout: string; stderr: string };

/**
 * One `pulumi up` of the command: which step the provider takes, the environment it gives the script,
 * and the state Pulumi keeps afterwards (a failed run keeps the previous stdout; a failed create has none).
 */
export function applyCommand(old: CommandState | undefined, inputs: CommandInputs, run: ScriptRunner) {
    const step = commandStep(old, inputs);
    if (step === "same") return { step, env: undefined, status: 0, stdout: old!.stdout, stderr: "", state: old! };
    // A replacement creates a new resource: it starts with no outputs, like a first create.
    const previous = step === "update" ? old!.stdout : "";
    const script = step === "update" ? (inputs.update ?? inputs.create) : inputs.create;
    if (script === undefined) return { step, env: undefined, status: 0, stdout: "", stderr: "", state: { inputs, stdout: previous } };
    const env: Record<string, string> = { ...(inputs.environment ?? {}) };
    if (previous !== "" && inputs.addPreviousOutputInEnv !== false) env.PULUMI_COMMAND_STDOUT = previous;
    const r = run(script, env);
    const stdout = r.status === 0 ? r.stdout.replace(/\n$/, "") : previous;
    return { step, env, status: r.status, stdout: r.stdout, stderr: r.stderr, state: { inputs, stdout } };
}
