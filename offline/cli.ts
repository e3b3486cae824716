/**
 * `npm run plan -- <stack> [--json <file>] [--diagram <file>]`: the offline plan of a stack (no credentials needed).
 * Exit codes: 0 plan clean, 1 config error or problems found, 2 bad usage.
 */
import * as fs from "fs";
import { listStacks } from "./mock-runtime";
import { planJson, renderPlan, runPlan } from "./plan";
import { renderDiagram, writeDiagram } from "./diagram";
import { PackConfig, readPackConfig } from "./policy-runner";

const USAGE = `usage: npm run plan -- <stack> [--json <file>] [--config key=value ...]
  --json <file>        also write every resource (props, options) as JSON to <file>
  --diagram <file>     also write a Mermaid diagram of the stack (regions, tiers, replication,
                       DNS failover, alert routes) to <file>; a Markdown file keeps its text and
                       gets the diagram in the mermaid block after its "<!-- diagram: <stack> -->" line
  --config key=value   try a config change without editing the stack file (repeatable),
                       e.g. --config siteRole=active
  --policy-config <file>  the policy pack's config, as pulumi's --policy-pack-config takes it
                       (e.g. tighter thresholds, or whenConcernAbsent: "mandatory")`;

async function main(argv: string[]): Promise<number> {
    let stack: string | undefined;
    let jsonFile: string | undefined;
    let diagramFile: string | undefined;
    const config: Record<string, string> = {};
    let policyConfig: PackConfig = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") {
            console.log(`${USAGE}\nstacks: ${listStacks().join(", ")}`);
            return 0;
        } else if (arg === "--json") {
            jsonFile = argv[++i];
            if (!jsonFile) return usage("--json needs a file name");
        } else if (arg === "--diagram") {
            diagramFile = argv[++i];
            if (!diagramFile) return usage("--diagram needs a file name");
        } else if (arg === "--config") {
            const setting = argv[++i] ?? "";
            const eq = setting.indexOf("=");
            if (eq <= 0) return usage(`--config needs key=value, got ${JSON.stringify(setting)}`);
            config[setting.slice(0, eq)] = setting.slice(eq + 1);
        } else if (arg === "--policy-config") {
            const file = argv[++i];
            if (!file) return usage("--policy-config needs a file name");
            policyConfig = readPackConfig(file);
        } else if (arg.startsWith("-")) {
            return usage(`unknown option ${arg}`);
        } else if (stack === undefined) {
            stack = arg;
        } else {
            return usage(`one stack at a time (got ${stack} and ${arg})`);
        }
    }
    if (stack === undefined) return usage(`name a stack: ${listStacks().join(", ")}`);
    if (!listStacks().includes(stack)) return usage(`unknown stack ${JSON.stringify(stack)}; stacks: ${listStacks().join(", ")}`);

    const started = Date.now();
    const report = await runPlan(stack, { config }, policyConfig);
    console.log(renderPlan(report));
    if (jsonFile) {
        fs.writeFileSync(jsonFile, JSON.stringify(planJson(report), null, 2) + "\n");
        console.log(`Wrote ${report.evaluation.resources.length} resources to ${jsonFile}`);
    }
    if (diagramFile) {
        writeDiagram(diagramFile, stack, renderDiagram(report.evaluation));
        console.log(`Wrote the diagram of stack ${stack} to ${diagramFile}`);
    }
    console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return report.problems.length === 0 ? 0 : 1;
}

function usage(message: string): number {
    console.error(`error: ${message}\n${USAGE}`);
    return 2;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
        console.error(`error: ${err.message}`);
        process.exit(1);
    },
);
