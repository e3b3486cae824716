/**
 * The GitHub Actions workflows (.github/workflows), checked offline:
 * - against the GitHub workflow JSON schema (SchemaStore's github-workflow.json, which
 *   @action-validator/core ships compiled in, with its checks beyond the schema such as `needs` naming
 *   a job that exists);
 * - against what this project needs of them: the offline job runs where its prerequisites exist (a
 *   Debian 12 image: Ubuntu 24.04's archive has no postgresql-15) and runs .ci/run with CI=true; each
 *   action is at a major that runs on Node 24 and is given only inputs it declares; a job that assumes
 *   an AWS role or comments on the pull request is granted that permission.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { validateWorkflow, ValidationError } from "@action-validator/core";
import { PROJECT_DIR } from "../offline/mock-runtime";

const WORKFLOWS_DIR = path.join(PROJECT_DIR, ".github", "workflows");

function workflowFiles(): string[] {
    return fs
        .readdirSync(WORKFLOWS_DIR)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort();
}

/** The validator's errors as readable lines (nested one-of alternatives flattened). */
function schemaErrors(source: string): string[] {
    const lines: string[] = [];
    const walk = (errors: ValidationError[], prefix: string) => {
        for (const e of errors) {
            const where = "path" in e && e.path ? ` at ${e.path}` : "location" in e && e.location ? ` at line ${e.location.line}` : "";
            lines.push(`${prefix}${e.code}${where}: ${e.title}${e.detail ? ` (${e.detail})` : ""}`);
            if ("states" in e && e.states) for (const s of e.states) walk(s.errors, `${prefix}  `);
        }
    };
    walk(validateWorkflow(source).errors, "");
    return lines;
}

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
}
interface Job {
    "runs-on"?: unknown;
    needs?: string | string[];
    if?: string;
    environment?: string | { name: string };
    container?: string | { image: string };
    env?: Record<string, string>;
    permissions?: Record<string, string> | string;
    steps?: Step[];
}
interface Workflow {
    on: Record<string, any>;
    permissions?: Record<string, string> | string;
    env?: Record<string, string>;
    jobs: Record<string, Job>;
}

const workflows = workflowFiles().map((file) => ({ file, workflow: YAML.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow }));
const jobs = workflows.flatMap(({ file, workflow }) => Object.entries(workflow.jobs).map(([id, job]) => ({ file, workflow, id, job })));

/**
 * Each action the workflows use: the lowest major whose action.yml says `runs.using: node24`, and the
 * inputs that action.yml declares (read from each action's repository at that major). GitHub's runners
 * run JavaScript actions on Node 24 by default and are dropping Node 20 ("Deprecation of Node 20 on
 * GitHub Actions runners", github.blog changelog 2025-09-19). An action not listed here fails the test:
 * look up its action.yml and add it.
 */
const ACTIONS: Record<string, { node24Major: number; inputs: string[] }> = {
    "actions/checkout": {
        node24Major: 5,
        inputs: ["repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "persist-credentials", "path", "clean", "filter", "sparse-checkout", "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags", "show-progress", "lfs", "submodules", "set-safe-directory", "github-server-url"],
    },
    "actions/setup-node": {
        node24Major: 5,
        inputs: ["always-auth", "node-version", "node-version-file", "architecture", "check-latest", "registry-url", "scope", "token", "cache", "package-manager-cache", "cache-dependency-path", "mirror", "mirror-token"],
    },
    "actions/cache": {
        node24Major: 5,
        inputs: ["path", "key", "restore-keys", "upload-chunk-size", "enableCrossOsArchive", "fail-on-cache-miss", "lookup-only", "save-always"],
    },
    "aws-actions/configure-aws-credentials": {
        node24Major: 6,
        inputs: ["aws-region", "aws-profile", "overwrite-aws-profile", "role-to-assume", "aws-access-key-id", "aws-secret-access-key", "aws-session-token", "web-identity-token-file", "role-chaining", "audience", "http-proxy", "no-proxy", "mask-aws-account-id", "role-duration-seconds", "role-external-id", "role-session-name", "role-skip-session-tagging", "transitive-tag-keys", "inline-session-policy", "managed-session-policies", "output-credentials", "output-env-credentials", "unset-current-credentials", "disable-retry", "retry-max-attempts", "special-characters-workaround", "use-existing-credentials", "allowed-account-ids", "force-skip-oidc", "action-timeout-s", "custom-tags", "sts-endpoint"],
    },
    "pulumi/actions": {
        node24Major: 7,
        inputs: ["command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug"],
    },
};

/** The permissions a job gets: its own block, else the workflow's. */
function permissionsOf(workflow: Workflow, job: Job): Record<string, string> {
    const p = job.permissions ?? workflow.permissions ?? {};
    return typeof p === "string" ? { "*": p } : p;
}
const grants = (perms: Record<string, string>, scope: string, level: "read" | "write") =>
    perms[scope] === "write" || (level === "read" && perms[scope] === "read") || perms["*"] === `${level}-all` || perms["*"] === "write-all";

describe("GitHub workflows", () => {
    it("are there: deploy.yml, preview.yml and failover.yml", () => {
        expect(workflowFiles()).to.include.members(["deploy.yml", "preview.yml", "failover.yml"]);
    });

    for (const file of workflowFiles()) {
        it(`${file} is valid under the GitHub workflow schema`, () => {
            const source = fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
            expect(schemaErrors(source), file).to.deep.equal([]);
        });
    }

    it("the validator refuses broken copies of each workflow", () => {
        const mutations: { what: string; change: (source: string) => string; says: RegExp }[] = [
            { what: "runs-on misspelt", change: (s) => s.replace("runs-on:", "runs_on:"), says: /Additional property 'runs_on' is not allowed/ },
            { what: "a job that needs one that does not exist", change: (s) => s.replace(/needs: (\w+)/, "needs: $1x"), says: /unresolved job/ },
            { what: "a permission level GitHub does not know", change: (s) => s.replace("contents: read", "contents: readonly"), says: /enum/ },
            { what: "a trigger GitHub does not know", change: (s) => s.replace(/^on:\n  (\w+):/m, "on:\n  $1s:"), says: /Additional property '\w+s' is not allowed/ },
            { what: "a step with both uses and run", change: (s) => s.replace(/( +)- uses: actions\/checkout@(\S+)/, "$1- uses: actions/checkout@$2\n$1  run: echo both"), says: /one_of/ },
            { what: "broken YAML", change: (s) => s.replace("jobs:\n", "jobs:\n - [\n"), says: /parse_error/ },
        ];
        for (const file of workflowFiles()) {
            const source = fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
            for (const m of mutations) {
                const mutated = m.change(source);
                expect(mutated, `${file}: the mutation "${m.what}" changed nothing`).to.not.equal(source);
                const errors = schemaErrors(mutated);
                expect(errors, `${file} with ${m.what}`).to.not.deep.equal([]);
                expect(errors.join("\n"), `${file} with ${m.what}`).to.match(m.says);
            }
        }
    });

    it("run the offline checks (.ci/run) in a Debian 12 image with CI=true, where .ci/runbook-prereqs.sh's packages exist", () => {
        const offline = jobs.filter(({ job }) => (job.steps ?? []).some((s) => /\.ci\/run\b|npm test|runbook-prereqs/.test(s.run ?? "")));
        expect(offline.map((j) => `${j.file}:${j.id}`)).to.have.members(["deploy.yml:offline", "preview.yml:offline"]);
        for (const { file, workflow, id, job } of offline) {
            const image = typeof job.container === "string" ? job.container : job.container?.image;
            // postgresql-15 is Debian 12's PostgreSQL; Ubuntu 24.04 (ubuntu-latest) has 16 only.
            expect(image, `${file}:${id} container`).to.match(/^(debian:(12|bookworm)|node:\d+(\.\d+)*-bookworm)(-slim)?$/);
            // The tests' Node: the major the project's machines and package.json's engines have.
            if (image?.startsWith("node:")) expect(image, `${file}:${id}`).to.match(/^node:20[.-]/);
            expect({ ...workflow.env, ...job.env }.CI, `${file}:${id}: CI=true makes a missing runbook prerequisite fail, not skip`).to.equal("true");
            const runs = (job.steps ?? []).map((s) => s.run ?? "");
            expect(runs, `${file}:${id} runs the same script as CI`).to.include("bash .ci/run");
            expect(runs.join("\n"), `${file}:${id}: root in the container; sudo is not there`).to.not.match(/\bsudo\b/);
        }
    });

    it("use each action at a major that runs on Node 24, giving it only inputs it declares", () => {
        for (const { file, id, job } of jobs) {
            for (const step of job.steps ?? []) {
                if (!step.uses) continue;
                const m = /^([^@]+)@v(\d+)$/.exec(step.uses);
                expect(m, `${file}:${id}: ${step.uses} pinned to a major version tag (vN)`).to.not.equal(null);
                const [, action, major] = m!;
                const known = ACTIONS[action];
                expect(known, `${file}:${id}: ${action} is not in this test's table: read its action.yml and add it`).to.not.equal(undefined);
                expect(Number(major), `${file}:${id}: ${step.uses} runs on Node 20; use v${known.node24Major} or later`).to.be.at.least(known.node24Major);
                for (const input of Object.keys(step.with ?? {})) {
                    expect(known.inputs, `${file}:${id}: ${action} has no input ${JSON.stringify(input)}`).to.include(input);
                }
            }
        }
    });

    it("grant each job the permissions its steps use, and no OIDC token to jobs that assume no role", () => {
        for (const { file, workflow, id, job } of jobs) {
            const perms = permissionsOf(workflow, job);
            const steps = job.steps ?? [];
            const assumesRole = steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@") && s.with?.["role-to-assume"] !== undefined);
            const comments = steps.some((s) => s.uses?.startsWith("pulumi/actions@") && String(s.with?.["comment-on-pr"]) === "true");
            expect(grants(perms, "contents", "read"), `${file}:${id} contents: read (checkout)`).to.equal(true);
            expect(grants(perms, "id-token", "write"), `${file}:${id} id-token: write exactly when it assumes an AWS role by OIDC`).to.equal(assumesRole);
            if (comments) expect(grants(perms, "pull-requests", "write"), `${file}:${id} pull-requests: write (the preview comment)`).to.equal(true);
        }
    });
});

/** The `pulumi up` jobs of a workflow, with the stack each updates (the last segment of stack-name). */
function upJobs(file: string) {
    return jobs
        .filter((j) => j.file === file)
        .flatMap((j) =>
            (j.job.steps ?? [])
                .filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "up")
                .map((s) => ({ ...j, step: s, stack: String(s.with!["stack-name"]).split("/").pop()! })),
        );
}
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);

describe("the failover workflow (failover.yml): a region failover from the pipeline while the primary region is down", () => {
    const failover = workflows.find((w) => w.file === "failover.yml")!.workflow;

    it("is started by hand only (workflow_dispatch), with the stack and the target state as choices", () => {
        expect(Object.keys(failover.on)).to.deep.equal(["workflow_dispatch"]);
        const inputs = failover.on.workflow_dispatch.inputs;
        expect(inputs.stack).to.include({ type: "choice", required: true });
        expect(inputs.stack.options).to.have.members(["dr", "production"]);
        // No standby: in the same database generation the provider refuses it (the README's return procedure).
        expect(inputs.siteRole.options).to.have.members(["active"]);
        expect(inputs.siteFenced.options).to.have.members(["true", "false"]);
    });

    it("updates only the chosen stack: one up job per stack, each run only when that stack is chosen, with the chosen value", () => {
        const ups = upJobs("failover.yml");
        expect(ups.map((u) => u.stack).sort()).to.deep.equal(["dr", "production"]);
        for (const u of ups) {
            expect(u.job.if, `${u.id} runs only for its stack`).to.equal(`inputs.stack == '${u.stack}'`);
            const key = u.stack === "dr" ? "siteRole" : "siteFenced";
            expect(String(u.step.with!["config-map"]), `${u.id} applies the chosen ${key}`).to.include(`'genie-infra:${key}': { value: '\${{ inputs.${key} }}'`);
        }
    });

    it("never waits on the primary region: no job needs an up of production, and every AWS credential is taken in us-west-2", () => {
        const production = new Set(upJobs("failover.yml").filter((u) => u.stack === "production").map((u) => u.id));
        for (const { file, id, job } of jobs.filter((j) => j.file === "failover.yml")) {
            expect(needsOf(job).filter((n) => production.has(n)), `${file}:${id} needs a production job`).to.deep.equal([]);
            for (const s of (job.steps ?? []).filter((x) => x.uses?.startsWith("aws-actions/configure-aws-credentials@"))) {
                expect(s.with?.["aws-region"], `${file}:${id} credentials`).to.equal("us-west-2");
            }
        }
        // deploy.yml, by contrast, runs dr after production: the reason this workflow exists.
        expect(needsOf(jobs.find((j) => j.file === "deploy.yml" && j.id === "dr")!.job)).to.include("production");
    });

    it("has the same approval and policy pack as deploy.yml: each stack's GitHub Environment, --policy-pack policies", () => {
        const deploy = new Map(upJobs("deploy.yml").map((u) => [u.stack, u]));
        for (const u of upJobs("failover.yml")) {
            const same = deploy.get(u.stack)!;
            expect(environmentOf(u.job), `${u.id} environment`).to.equal(environmentOf(same.job)).and.to.equal(u.stack);
            expect(u.step.with!.policyPacks, `${u.id} policy pack`).to.equal(same.step.with!.policyPacks).and.to.equal("policies");
            expect(u.step.with!["stack-name"]).to.equal(same.step.with!["stack-name"]);
        }
    });

    it("runs the offline plan of the target state before any update", () => {
        const offline = failover.jobs.offline;
        const runs = (offline.steps ?? []).map((s) => s.run ?? "");
        expect(runs).to.include('npm run plan -- "$TARGET_STACK" --config "$TARGET_KEY=$TARGET_VALUE"');
        // In an incident it waits for the plan only, not for the whole suite (which ran when the commit landed).
        expect(runs.filter((r) => /\.ci\/run\b|npm test|mocha/.test(r))).to.deep.equal([]);
        expect(runs).to.include.members(["npm ci --no-audit --no-fund", "cd policies && npm ci --no-audit --no-fund"]);
        expect(failover.env).to.include({ TARGET_STACK: "${{ inputs.stack }}" });
        for (const u of upJobs("failover.yml")) expect(needsOf(u.job), `${u.id} waits for the offline plan`).to.include("offline");
    });
});
