/**
 * The plan's monthly "Application deployment test: Deploy from scratch" (`npm run deploy-test`, run by
 * .github/workflows/deploy-test.yml in a sandbox account): Pulumi's Automation API creates an ephemeral
 * stack of this project rebuilt in the DR region from nothing, runs `pulumi up` (with the policy pack),
 * verifies `/api/health`, records how long each step took, and destroys the stack whatever happened.
 *
 * The logic takes its workspace, clock and HTTP client as arguments: test/deploy-test.test.ts drives it
 * with a stub workspace (no credentials here).
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import type { PackConfig } from "../policies/harness";
import { alertChannels } from "../policies/rules/alerting";
import { backupVaultLockRetention } from "../policies/rules/backup";
import { rdsDeletionProtection, rdsFinalSnapshot } from "../policies/rules/database";
import { backupsRetainedOnDelete, statefulProtected } from "../policies/rules/protection";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** What the test needs of an Automation API stack (a `pulumi.automation.Stack` has it). */
export interface StackLike {
    setAllConfig(config: Record<string, { value: string; secret?: boolean }>): Promise<void>;
    up(opts: { onOutput?: (out: string) => void; policyPacks?: string[]; policyPackConfigs?: string[] }): Promise<{ outputs: Record<string, { value: unknown }> }>;
    destroy(opts: { onOutput?: (out: string) => void }): Promise<unknown>;
    workspace: { removeStack(stackName: string): Promise<void> };
}

export interface DeployTestDeps {
    createStack(stackName: string): Promise<StackLike>;
    /** The status of a GET of `url` (throws when nothing answers). */
    get(url: string): Promise<number>;
    now(): number;
    sleep(ms: number): Promise<void>;
    log(line: string): void;
}

export interface DeployTestOptions {
    stackName: string;
    config: Record<string, string>;
    /** Attempts of the health check, `intervalMs` apart (DNS and the instances' first boot take minutes). */
    healthAttempts: number;
    healthIntervalMs: number;
    /**
     * The policy pack's config file for this run (`pulumi up --policy-pack-config`): the rules an
     * ephemeral stack breaks on purpose, run advisory ({@link ephemeralPackConfig}); written by main().
     */
    policyPackConfigFile?: string;
    /** The rules that file makes advisory, with why: logged before `pulumi up`, and in the report. */
    advisoryRules?: Record<string, string>;
}

export interface DeployTestReport {
    stack: string;
    /** Seconds of each step; undefined for a step not reached. */
    upSeconds?: number;
    healthSeconds?: number;
    destroySeconds?: number;
    totalSeconds: number;
    healthy: boolean;
    destroyed: boolean;
    healthUrl?: string;
    /** The pack's rules this run ran advisory, with why ({@link ephemeralPackConfig}). */
    advisoryRules?: Record<string, string>;
    error?: string;
}

/** Runs the test; never throws: the report says what failed. The stack is destroyed in every case. */
export async function runDeployTest(opts: DeployTestOptions, deps: DeployTestDeps): Promise<DeployTestReport> {
    const started = deps.now();
    const secs = (from: number) => Math.round((deps.now() - from) / 1000);
    const report: DeployTestReport = { stack: opts.stackName, totalSeconds: 0, healthy: false, destroyed: false, ...(opts.advisoryRules ? { advisoryRules: opts.advisoryRules } : {}) };
    let stack: StackLike | undefined;
    const output = (line: string) => deps.log(line.replace(/\n$/, ""));
    try {
        stack = await deps.createStack(opts.stackName);
        await stack.setAllConfig(Object.fromEntries(Object.entries(opts.config).map(([k, v]) => [k, { value: v }])));
        for (const [rule, why] of Object.entries(opts.advisoryRules ?? {})) {
            deps.log(`policy pack: ${rule} runs advisory on this ephemeral stack (${opts.policyPackConfigFile}): ${why}`);
        }
        const upStart = deps.now();
        const up = await stack.up({
            onOutput: output,
            policyPacks: [path.join(PROJECT_DIR, "policies")],
            ...(opts.policyPackConfigFile ? { policyPackConfigs: [opts.policyPackConfigFile] } : {}),
        });
        report.upSeconds = secs(upStart);
        const siteUrl = up.outputs.siteUrl?.value;
        if (typeof siteUrl !== "string") throw new Error("the stack has no siteUrl output: cannot verify /api/health");
        report.healthUrl = `${siteUrl.replace(/\/$/, "")}/api/health`;
        const healthStart = deps.now();
        for (let attempt = 1; attempt <= opts.healthAttempts; attempt++) {
            let status: number | string;
            try {
                status = await deps.get(report.healthUrl);
            } catch (e) {
                status = (e as Error).message;
            }
            deps.log(`health check ${attempt}/${opts.healthAttempts}: ${report.healthUrl} -> ${status}`);
            if (status === 200) {
                report.healthy = true;
                break;
            }
            if (attempt < opts.healthAttempts) await deps.sleep(opts.healthIntervalMs);
        }
        report.healthSeconds = secs(healthStart);
        if (!report.healthy) throw new Error(`${report.healthUrl} never answered 200 in ${opts.healthAttempts} attempts`);
    } catch (e) {
        report.error = (e as Error).message;
    } finally {
        if (stack) {
            const destroyStart = deps.now();
            try {
                await stack.destroy({ onOutput: output });
                report.destroySeconds = secs(destroyStart);
                await stack.workspace.removeStack(opts.stackName);
                report.destroyed = true;
            } catch (e) {
                const msg = `destroy of ${opts.stackName} failed: ${(e as Error).message}: destroy it by hand (pulumi destroy -s ${opts.stackName}) before the sandbox fills up`;
                report.error = report.error ? `${report.error}; ${msg}` : msg;
            }
        }
        report.totalSeconds = secs(started);
    }
    return report;
}

/**
 * The ephemeral stack's config: the project rebuilt from scratch in the DR region (the production
 * configuration, moved there), made disposable: `ephemeral: true` (infra/config.ts: pulumi destroy
 * deletes everything with its contents, fixed names carry a label of the stack name), nothing protected,
 * backup vaults in governance mode (a compliance lock would keep the sandbox's vaults for years), the
 * account's Auto Scaling service-linked role named, not declared, no drills or communication test.
 * Sandbox values come from the environment; a missing one is named.
 */
export function deployTestConfig(env: NodeJS.ProcessEnv, projectDir = PROJECT_DIR): Record<string, string> {
    const read = (stack: string) => (YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8")).config ?? {}) as Record<string, unknown>;
    const production = read("production");
    const dr = read("dr");
    const need = (name: string, what: string) => {
        const v = env[name];
        if (!v) throw new Error(`missing setting: ${name} (${what})`);
        return v;
    };
    const drRegion = String(dr["aws:region"]);
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(production)) config[k] = typeof v === "string" ? v : JSON.stringify(v);
    Object.assign(config, {
        "aws:region": drRegion,
        "genie-infra:primaryRegion": drRegion,
        "genie-infra:drRegion": env.DEPLOY_TEST_SECONDARY_REGION || "us-east-2",
        "genie-infra:domainName": need("DEPLOY_TEST_DOMAIN", "a host name in the sandbox account's hosted zone, e.g. deploy-test.sandbox.example.com"),
        "genie-infra:hostedZoneId": need("DEPLOY_TEST_HOSTED_ZONE_ID", "the sandbox's Route 53 hosted zone holding DEPLOY_TEST_DOMAIN"),
        "genie-infra:alertEmails": JSON.stringify([need("DEPLOY_TEST_ALERT_EMAIL", "who receives the ephemeral stack's alerts")]),
        // A verified number of the sandbox's SMS sandbox, if any: without one the alert-channels rule runs advisory.
        "genie-infra:alertSmsNumbers": JSON.stringify(env.DEPLOY_TEST_ALERT_SMS ? [env.DEPLOY_TEST_ALERT_SMS] : []),
        // Disposable (infra/config.ts, components/lifecycle.ts): pulumi destroy deletes everything with its
        // contents, and the site's fixed names carry a label of the stack name.
        "genie-infra:ephemeral": "true",
        "genie-infra:protect": "false",
        "genie-infra:backupVaultLockMode": "governance",
        // The account's Auto Scaling service-linked role outlives any stack: the sandbox has it (created
        // once, docs/operations.md "Monthly deploy from scratch"), and an ephemeral stack never declares it.
        "genie-infra:autoscalingServiceLinkedRole": "existing",
        "genie-infra:drillsEnabled": "false",
        "genie-infra:communicationTestEnabled": "false",
    });
    return config;
}

/**
 * The policy pack's rules an ephemeral stack breaks on purpose, each with why. They run ADVISORY on the
 * deploy test's `pulumi up` (a pack config file: "A configured enforcement level for a specific policy
 * will override the policy's existing enforcement level", Pulumi docs, "Configuring policy packs",
 * https://www.pulumi.com/docs/using-pulumi/crossguard/configuration): every violation is still printed
 * in the run's output, nothing is skipped, and every other rule stays mandatory. The pack itself is
 * unchanged: production and dr run it as published, where these rules are mandatory.
 */
export function ephemeralAdvisoryRules(config: Record<string, string>): Record<string, string> {
    const rules: Record<string, string> = {
        [statefulProtected.name]: "an ephemeral stack is deleted whole by pulumi destroy (config ephemeral: true): nothing is protected",
        [backupsRetainedOnDelete.name]: "an ephemeral stack leaves nothing behind: its backup buckets and vaults are deleted (force-destroyed) with it",
        [rdsDeletionProtection.name]: "RDS refuses to delete an instance with deletion protection: the ephemeral stack's database has none",
        [rdsFinalSnapshot.name]: "an ephemeral stack's database leaves no final snapshot in the sandbox",
        [backupVaultLockRetention.name]: "the sandbox's vaults are locked in governance mode: a compliance lock could never be removed from a vault a failed destroy left behind",
    };
    if (JSON.parse(config["genie-infra:alertSmsNumbers"] ?? "[]").length === 0) {
        rules[alertChannels.name] = "no SMS number for the sandbox's critical alerts (DEPLOY_TEST_ALERT_SMS unset; SNS's SMS sandbox delivers to verified numbers only)";
    }
    return rules;
}

/** The pack config file's content for {@link ephemeralAdvisoryRules}: each rule's enforcement level set to advisory. */
export function ephemeralPackConfig(rules: Record<string, string>): PackConfig {
    return Object.fromEntries(Object.keys(rules).map((name) => [name, { enforcementLevel: "advisory" as const }]));
}

/** `deploy-test-YYYYMMDD-HHMM` (UTC). */
export function ephemeralStackName(now: Date): string {
    const p = (n: number) => String(n).padStart(2, "0");
    return `deploy-test-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}`;
}

async function main(): Promise<number> {
    // Loaded here only: the Automation API needs the pulumi CLI, which a test never calls.
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const stackName = process.env.DEPLOY_TEST_STACK || ephemeralStackName(new Date());
    const config = deployTestConfig(process.env);
    const advisoryRules = ephemeralAdvisoryRules(config);
    const policyPackConfigFile = path.resolve(process.env.DEPLOY_TEST_POLICY_CONFIG || "deploy-test-policy-config.json");
    fs.writeFileSync(policyPackConfigFile, `${JSON.stringify(ephemeralPackConfig(advisoryRules), null, 2)}\n`);
    const report = await runDeployTest(
        { stackName, config, healthAttempts: Number(process.env.DEPLOY_TEST_HEALTH_ATTEMPTS || 40), healthIntervalMs: 30_000, policyPackConfigFile, advisoryRules },
        {
            createStack: (name) => LocalWorkspace.createOrSelectStack({ stackName: name, workDir: PROJECT_DIR }) as unknown as Promise<StackLike>,
            get: async (url) => (await fetch(url, { signal: AbortSignal.timeout(10_000) })).status,
            now: () => Date.now(),
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
            log: (line) => console.error(line),
        },
    );
    const json = JSON.stringify(report, null, 2);
    console.log(json);
    fs.writeFileSync(process.env.DEPLOY_TEST_REPORT || "deploy-test-report.json", `${json}\n`);
    if (process.env.GITHUB_STEP_SUMMARY) {
        fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, `## Deploy from scratch: ${report.healthy && report.destroyed ? "passed" : "FAILED"}\n\n| step | seconds |\n|---|---|\n| pulumi up | ${report.upSeconds ?? "-"} |\n| /api/health | ${report.healthSeconds ?? "-"} |\n| destroy | ${report.destroySeconds ?? "-"} |\n| total | ${report.totalSeconds} |\n\n${report.error ? `Error: ${report.error}\n\n` : ""}Policy rules run advisory on this ephemeral stack:\n\n${Object.entries(report.advisoryRules ?? {}).map(([rule, why]) => `- ${rule}: ${why}`).join("\n")}\n`);
    }
    return report.healthy && report.destroyed ? 0 : 1;
}

if (require.main === module) {
    main().then((code) => process.exit(code), (e) => {
        console.error(`error: ${(e as Error).message}`);
        process.exit(2);
    });
}
