/**
 * The documents (README.md, docs/*.md) cannot drift from the code: every path they name exists and
 * every link's #anchor is a heading of its target; every `npm run` script and runbook command they
 * give exists, with only the flags its --help names; every number in a clause about a plan concept
 * agrees with DR_PLAN (test/support/doc-plan-numbers.ts: one row per DR_PLAN key, exceptions with
 * their reason); every quoted section reference (in the documents and the code's pointers) names a
 * heading or bold paragraph start of its file; each alert's runbook pointer names a section that
 * covers it; and the committed diagrams are what `npm run plan -- <stack> --diagram` produces.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLASSIFICATION, RUNBOOKS } from "../components/severity";
import { embeddedDiagram, renderDiagram, writeDiagram } from "../offline/diagram";
import { DR_PLAN } from "../infra/dr-plan";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { anchorProblem, flagProblems, headingAnchors, prose, runbookFlags, sectionReferenceProblems } from "./support/doc-checks";
import { PLAN_CONCEPTS, PLAN_NUMBER_EXCEPTIONS, planNumberProblems } from "./support/doc-plan-numbers";
import { stack, stackWith } from "./support/stacks";

const DOCS = ["README.md", ...fs.readdirSync(path.join(PROJECT_DIR, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (file: string) => fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
const texts = (): Record<string, string> => Object.fromEntries(DOCS.map((f) => [f, read(f)]));


/** The top-level folders of the repository: a token starting with one of them is a path. */
const TOP_DIRS = ["automation", "bench", "components", "docs", "functions", "infra", "offline", "policies", "scripts", "test", ".ci", ".github"];
const FILE_EXTENSIONS = /\.(ts|js|md|mmd|ya?ml|json|sh|py|env|txt)$/;
/**
 * File names the documents mention that are not in the repository, each because a command writes it:
 * the plan's --json output, a stack export, a pack config the reader writes, the deploy test's report
 * and pack config, the runbooks' dump files and manifest.
 */
const WRITTEN_BY_COMMANDS = new Set([
    "plan.json", "state.json", "policy-config.json", "deploy-test-report.json", "deploy-test-policy-config.json",
    "dump.sql.gz", "backup.sql.gz", "globals.json", "FILE.sql",
]);

/** The source files (.ts, .sh, .py) under a folder of the repository, repository-relative. */
function sourceFiles(dir: string): string[] {
    return fs.readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && /\.(ts|sh|py)$/.test(e.name) && !e.parentPath.includes("node_modules"))
        .map((e) => path.relative(PROJECT_DIR, path.join(e.parentPath, e.name)));
}

/** Every file of the repository by base name (node_modules and .git left out). */
function filesByName(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (e.name === "node_modules" || e.name === ".git") continue;
            if (e.isDirectory()) walk(path.join(dir, e.name));
            else names.add(e.name);
        }
    };
    walk(PROJECT_DIR);
    return names;
}

/**
 * What is wrong with the paths a document names: links (and their #anchors, against the headings of
 * the file they point at), inline code paths, and repository paths anywhere.
 */
export function pathProblems(file: string, md: string, exists = (p: string) => fs.existsSync(path.join(PROJECT_DIR, p)), names = filesByName(), readDoc = read): string[] {
    const problems: string[] = [];
    const dir = path.posix.dirname(file);
    const anchors = headingAnchors(md);
    for (const [, target] of prose(md).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [p, anchor] = target.split("#");
        if (p === "") {
            if (!anchors.has(anchor)) problems.push(`${file}: link #${anchor} names no heading of this file`);
            continue;
        }
        const resolved = path.posix.normalize(path.posix.join(dir, p));
        if (resolved.startsWith("..")) problems.push(`${file}: link ${target} leaves the repository`);
        else if (!exists(resolved)) problems.push(`${file}: link ${target} -> ${resolved} does not exist`);
        else if (anchor !== undefined && resolved.endsWith(".md")) {
            const problem = anchorProblem(file, resolved, anchor, readDoc(resolved));
            if (problem) problems.push(problem);
        }
    }
    for (const [, code] of prose(md).matchAll(/`([^`\n]+)`/g)) {
        if (!/^[\w.@-]+(\/[\w.@*-]+)*\/?$/.test(code)) continue;
        const first = code.split("/")[0];
        if (TOP_DIRS.includes(first)) {
            const p = code.replace(/\/$/, "");
            const glob = /^(.*)\/\*(\.\w+)$/.exec(p);
            if (glob ? !exists(glob[1]) || !fs.readdirSync(path.join(PROJECT_DIR, glob[1])).some((f) => f.endsWith(glob[2])) : !exists(p)) {
                problems.push(`${file}: \`${code}\` does not exist`);
            }
        } else if (!code.includes("/") && FILE_EXTENSIONS.test(code) && !WRITTEN_BY_COMMANDS.has(code) && !names.has(code)) {
            problems.push(`${file}: \`${code}\` is no file of the repository`);
        }
    }
    // Repository paths in commands and code blocks too (e.g. `scripts/recovery.sh`, docs/diagrams/dr.mmd).
    const dirs = TOP_DIRS.map((d) => d.replace(".", "\\.")).join("|");
    for (const [, p] of md.matchAll(new RegExp(`(?<![\\w./<-])((?:${dirs})/[\\w./-]*[\\w])`, "g"))) {
        if (!p.includes("*") && !exists(p)) problems.push(`${file}: ${p} does not exist`);
    }
    return [...new Set(problems)];
}

/** The commands a runbook script lists under "Commands:" in its --help. */
function scriptCommands(script: string): string[] {
    const help = execFileSync("bash", [path.join(PROJECT_DIR, "scripts", `${script}.sh`), "--help"], { encoding: "utf8" });
    const block = help.slice(help.indexOf("Commands:")).split(/\n\s*\n/)[0];
    return [...block.matchAll(/^ {2}([a-z][\w-]*)\s/gm)].map((m) => m[1]);
}

export function commandProblems(file: string, md: string, scripts: Record<string, string>, runbooks: Record<string, string[]>): string[] {
    const problems: string[] = [];
    for (const [, name] of md.matchAll(/\bnpm run ([a-z][\w:-]*)/g)) {
        if (!(name in scripts)) problems.push(`${file}: npm run ${name}: package.json has no script ${name} (${Object.keys(scripts).join(", ")})`);
    }
    for (const [, script, command] of md.matchAll(/(?<![\w-])(?:scripts\/)?(backup|recovery|status)\.sh ([a-z][\w-]*)/g)) {
        if (!runbooks[script].includes(command)) problems.push(`${file}: ${script}.sh ${command}: not a command of scripts/${script}.sh (${runbooks[script].join(", ")})`);
    }
    return problems;
}

describe("docs: README.md and docs/*.md", function () {
    this.timeout(120_000);

    it("the README is the front door: at most 250 lines, with the two commands and where to read on", () => {
        const readme = read("README.md");
        expect(readme.split("\n").length).to.be.at.most(250);
        expect(readme).to.include("npm run plan -- production");
        expect(readme).to.match(/^npm test\b/m);
        for (const doc of ["docs/operations.md", "docs/architecture.md", "docs/policy-pack.md", "docs/development.md"]) {
            expect(readme, doc).to.include(`](${doc})`);
        }
    });

    it("every link, file path in backticks and repository path in the documents exists", () => {
        const names = filesByName();
        const problems = Object.entries(texts()).flatMap(([f, md]) => pathProblems(f, md, undefined, names));
        expect(problems).to.deep.equal([]);
    });

    it("finds a missing path, a link out of the repository and an unknown anchor (the check can fail)", () => {
        const md = "See `components/no-such.ts`, [plan](../../shared/dr-plan.md), [x](#nowhere) and\n```bash\nscripts/nothing.sh run\n```\n";
        const problems = pathProblems("docs/x.md", md);
        expect(problems.join("\n")).to.include("components/no-such.ts").and.include("leaves the repository").and.include("#nowhere").and.include("scripts/nothing.sh");
    });

    it("every `npm run <script>` is a script of package.json, every runbook command one its script lists", () => {
        const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
        const runbooks = Object.fromEntries(["backup", "recovery", "status"].map((s) => [s, scriptCommands(s)]));
        expect(runbooks.recovery).to.include.members(["restore-dump", "pitr", "promote", "verify-app", "rollback-image"]);
        const problems = Object.entries(texts()).flatMap(([f, md]) => commandProblems(f, md, scripts, runbooks));
        expect(problems).to.deep.equal([]);
        // and the check can fail
        const bad = commandProblems("x.md", "npm run deploy-everything; scripts/recovery.sh failover --yes", scripts, runbooks);
        expect(bad).to.have.length(2);
    });

    it("every plan number the documents state agrees with DR_PLAN, and each exception says why", () => {
        expect(planNumberProblems(texts())).to.deep.equal([]);
        for (const e of PLAN_NUMBER_EXCEPTIONS) expect(e.reason, `${e.file} "${e.phrase}"`).to.match(/\w{3}/);
        expect(Object.keys(PLAN_CONCEPTS).sort()).to.deep.equal(Object.entries(DR_PLAN).filter(([, v]) => typeof v === "number").map(([k]) => k).sort());
    });

    it("finds each plan number changed in a document, in any spelling (the review's edits)", () => {
        const docs = texts();
        // [file, text as it is, text changed, the changed numbers the check must report]
        const edits: [string, string, string, string[]][] = [
            ["README.md", "RPO 1 h", "RPO 2 h", ["2 h"]],
            ["README.md", "logs 90 days", "logs 30 days", ["30 days"]],
            ["docs/architecture.md", "rule `db/daily/` expires after 30 days", "rule `db/daily/` expires after 31 days", ["31 days"]],
            ["docs/architecture.md", "groups\nkept 90 days, Performance", "groups\nkept 30 days, Performance", ["30 days"]],
            ["docs/architecture.md", "automatic snapshot kept 7 days", "automatic snapshot kept 3 days", ["3 days"]],
            ["docs/operations.md", "the plan's 30-day backup retention", "the plan's 14-day backup retention", ["14-day"]],
            ["docs/operations.md", "the response time (15 min, 1 h)", "the response time (30 min, 2 h)", ["30 min", "2 h"]],
            ["docs/operations.md", "the 12-hourly Redis snapshot", "the 24-hourly Redis snapshot", ["24-hourly"]],
            ["docs/operations.md", "the next 6-hourly run", "the next 8-hourly run", ["8-hourly"]],
            ["docs/architecture.md", "detected within 30 s", "detected within 45 s", ["45 s"]],
            ["docs/architecture.md", "GLACIER_IR after 30 days, expires after 365", "GLACIER_IR after 60 days, expires after 180", ["60 days", "180"]],
            ["docs/architecture.md", "expires exports after 7 days", "expires exports after 5 days", ["5 days"]],
            ["docs/policy-pack.md", "worst-case gap ≤ 12 h", "worst-case gap ≤ 24 h", ["24 h"]],
            ["docs/policy-pack.md", "interval × threshold ≤ 30 s", "interval × threshold ≤ 60 s", ["60 s"]],
            ["docs/operations.md", "(P1 15 min, P2 1 h, P3 4 h, P4 24 h)", "(P1 15 min, P2 1 h, P3 6 h, P4 24 h)", ["6 h"]],
            ["docs/operations.md", "| P3 Medium | minor functionality affected | 4 h |", "| P3 Medium | minor functionality affected | 6 h |", ["6 h"]],
            ["docs/policy-pack.md", "imagesKept=10", "imagesKept=5", ["5"]],
            ["docs/policy-pack.md", "within RPO 60 / RTO 240 min", "within RPO 90 / RTO 240 min", ["90"]],
        ];
        for (const [file, from, to, reported] of edits) {
            expect(docs[file], `${file} no longer says ${JSON.stringify(from)}: update this test`).to.include(from);
            const problems = planNumberProblems({ ...docs, [file]: docs[file].replace(from, to) }).join("\n");
            for (const said of reported) expect(problems, `${file}: ${from} -> ${to}`).to.include(`${file}: "${said}" in `);
        }
    });

    it("an exception that excepts nothing, and a plan number no document states any more, are reported", () => {
        const docs = texts();
        const stale = planNumberProblems(docs, [...PLAN_NUMBER_EXCEPTIONS, { file: "README.md", phrase: "kept 5 min", reason: "none" }]);
        expect(stale).to.deep.equal(['PLAN_NUMBER_EXCEPTIONS: README.md "kept 5 min" excepts no number any more: remove it']);
        const withoutLogs = Object.fromEntries(Object.entries(docs).map(([f, md]) => [f, md.replace(/\b90(-day| days)|retentionInDays ≥ 90|(minRetentionDays=|logs )90/g, "")]));
        expect(planNumberProblems(withoutLogs).join("\n")).to.include("no document states DR_PLAN.logRetentionDays = 90");
    });

    it("every flag written after a runbook command is one that command's --help names", () => {
        const flags = new Map<string, string[]>();
        const flagsOf = (script: string, command: string) => flags.get(`${script} ${command}`) ?? flags.set(`${script} ${command}`, runbookFlags(script, command)).get(`${script} ${command}`)!;
        expect(flagsOf("recovery", "restore-dump")).to.include.members(["--yes", "--backup", "--source-db", "--region"]);
        expect(Object.entries(texts()).flatMap(([f, md]) => flagProblems(f, md, flagsOf))).to.deep.equal([]);
        // and the check can fail: a misspelt flag in a code block, an unknown one in inline code
        const bad = flagProblems("x.md", "```bash\nDB=x \\\n  scripts/backup.sh db-snapshot --reasn \"x\"   # a comment --not-a-flag\n```\nRun `recovery.sh promote --force --yes`.\n", flagsOf);
        expect(bad).to.have.length(2);
        expect(bad.join("\n")).to.include("backup.sh db-snapshot --reasn").and.include("recovery.sh promote --force");
    });

    it("every link's #anchor names a heading of the file it points at", () => {
        const ops = read("docs/operations.md");
        expect(anchorProblem("README.md", "docs/operations.md", "when-an-alert-fires", ops)).to.equal(undefined);
        expect(anchorProblem("README.md", "docs/architecture.md", "backup-strategy-plan-line--resource--test", read("docs/architecture.md"))).to.equal(undefined);
        expect(headingAnchors("# A\n## A\n```bash\n# not a heading\n```\n## Stack `dr` (standby)\n")).to.deep.equal(new Set(["a", "a-1", "stack-dr-standby"]));
        const problems = pathProblems("docs/x.md", "[ops](operations.md#when-an-alert-fires) and [ops](operations.md#no-such-section)");
        expect(problems).to.have.length(1);
        expect(problems[0]).to.include("operations.md#no-such-section names no heading of docs/operations.md");
    });

    it('every quoted section reference ("Prepare once" in docs/operations.md, code pointers included) names a heading or bold paragraph start', () => {
        const readTarget = (p: string) => (fs.existsSync(path.join(PROJECT_DIR, p)) ? read(p) : undefined);
        const code = ["components", "infra", "offline", "policies", "automation", "bench", "scripts"].flatMap((d) => sourceFiles(d));
        const problems = [...Object.entries(texts()), ...code.map((f) => [f, read(f)] as const)].flatMap(([f, text]) => sectionReferenceProblems(f, text, readTarget));
        expect(problems).to.deep.equal([]);
        // and the check can fail: a renamed section, in each form a reference takes
        const bad = [
            sectionReferenceProblems("README.md", 'values in `Pulumi.dr.yaml` ("Prepare twice" in\n[docs/operations.md](docs/operations.md))', readTarget),
            sectionReferenceProblems("docs/architecture.md", '[operations.md](operations.md), "Rolling forward a bad deploy".', readTarget),
            sectionReferenceProblems("components/x.ts", "runbook: 'docs/operations.md \"Disk alerts\" (disk space)'", readTarget),
            sectionReferenceProblems("docs/operations.md", 'as "Failing over" above', readTarget),
            sectionReferenceProblems("README.md", '"Setup" in [docs/gone.md](docs/gone.md)', readTarget),
        ];
        expect(bad.map((p) => p.length)).to.deep.equal([1, 1, 1, 1, 1]);
        expect(bad.flat().join("\n")).to.include('"Prepare twice" names no heading or bold paragraph start of docs/operations.md').and.include("docs/gone.md, which does not exist");
    });

    it("each alert's runbook names a section of docs/operations.md that covers that alert", () => {
        const ops = read("docs/operations.md");
        const alerts = ops.slice(ops.indexOf("\n## When an alert fires\n"));
        expect(ops).to.include("\n## When an alert fires\n");
        for (const [runbook, pointer] of Object.entries(RUNBOOKS)) {
            const m = /^docs\/operations\.md "([^"]+)"/.exec(pointer);
            expect(m, pointer).to.not.equal(null);
            const start = alerts.indexOf(`\n### ${m![1]}\n`);
            expect(start, `${runbook}: ### ${m![1]}`).to.be.greaterThan(-1);
            const section = alerts.slice(start + 1).split(/\n##+ /)[0];
            for (const [key, c] of Object.entries(CLASSIFICATION)) {
                if (c.runbook === runbook) expect(section, `${key} under ### ${m![1]}`).to.include(`\`${key}\``);
            }
        }
    });
});

describe("docs: the diagrams are generated from the stacks", function () {
    this.timeout(120_000);

    for (const name of ["production", "dr"] as const) {
        it(`${name}: docs/diagrams/${name}.mmd and the block in docs/architecture.md are what --diagram produces`, async () => {
            const diagram = renderDiagram(await stack(name));
            const update = `run: npm run plan -- ${name} --diagram docs/diagrams/${name}.mmd && npm run plan -- ${name} --diagram docs/architecture.md`;
            expect(read(`docs/diagrams/${name}.mmd`), update).to.equal(diagram);
            expect(embeddedDiagram(read("docs/architecture.md"), name), update).to.equal(diagram);
        });
    }

    it("production: regions, tiers, replication and copies to the DR region, the PRIMARY record, alert routes", async () => {
        const d = renderDiagram(await stack("production"));
        expect(d).to.match(/^flowchart LR$/m);
        for (const region of ["us-east-1", "us-west-2"]) expect(d).to.include(`subgraph region_${region.replace(/-/g, "_")}["${region}"]`);
        for (const tier of ["edge", "app", "data", "backups", "alerts"]) expect(d).to.include(`subgraph region_us_east_1_${tier}["${tier}"]`);
        expect(d).to.include('r_genie_primary_storage_uploads_bucket -.->|"S3 replication RTC 15 min"| r_genie_primary_storage_dr_uploads_bucket');
        expect(d).to.include('r_genie_primary_backup_vault_vault -.->|"AWS Backup copy: every-6h, weekly"| r_genie_primary_dr_backup_vault_vault');
        expect(d).to.match(/r_genie_primary_db_instance -\.->\|"automated backups \d+ d"\| r_genie_primary_db_dr_backups/);
        expect(d).to.include('r_genie_primary_registry_repository -.->|"ECR replication"| r_genie_primary_registry_dr_template');
        expect(d).to.include('r_genie_primary_secrets_db_master -.->|"secret replica"| replica_genie_primary_secrets_db_master_us_west_2');
        expect(d).to.include('dns_genie_example_com -->|"PRIMARY (health-checked)"| r_genie_primary_edge_alb');
        expect(d).to.match(/alerts_us_east_1 -->\|"\d+ alarms, 1 composite alarm, 1 RDS event subscription"\| r_genie_primary_alerts_critical/);
        // Deterministic: a second rendering of the same evaluation is identical.
        expect(renderDiagram(await stack("production"))).to.equal(d);
    });

    it("dr: the replica of production's database while standby; a backup plan and no replica once active", async () => {
        const standby = renderDiagram(await stack("dr"));
        expect(standby).to.include('ext_genie_primary_db -.->|"RDS replica"| r_genie_dr_db_instance');
        expect(standby).to.include('dns_genie_example_com -->|"SECONDARY (health-checked)"| r_genie_dr_edge_alb');
        expect(standby).to.include("PRIMARY record of genie.example.com");
        const active = renderDiagram(await stackWith("dr", { config: { siteRole: "active" } }));
        expect(active).to.not.include('"RDS replica"| r_genie_dr_db_instance');
        expect(active).to.include("AWS Backup plan:");
        expect(active).to.include("(site role active)");
    });

    it("--diagram into a Markdown file replaces only the block after the stack's marker", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "diagram-")), "a.md");
        fs.writeFileSync(file, "# A\n\n<!-- diagram: dr -->\n\ntext after\n");
        writeDiagram(file, "dr", "flowchart LR\n    x\n");
        writeDiagram(file, "dr", "flowchart LR\n    y\n");
        expect(fs.readFileSync(file, "utf8")).to.equal("# A\n\n<!-- diagram: dr -->\n```mermaid\nflowchart LR\n    y\n```\n\ntext after\n");
        expect(() => writeDiagram(file, "production", "flowchart LR\n")).to.throw(/no line <!-- diagram: production -->/);
    });
});
