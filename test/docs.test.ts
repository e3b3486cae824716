/**
 * The documents (README.md, docs/*.md) cannot drift from the code: every path they name exists, every
 * `npm run` script and runbook command they give exists, every plan number they state agrees with
 * DR_PLAN, each alert's runbook pointer names a section that exists and covers it, and the committed
 * diagrams are what `npm run plan -- <stack> --diagram` produces.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLASSIFICATION, RUNBOOKS } from "../components/severity";
import { DR_PLAN } from "../infra/dr-plan";
import { embeddedDiagram, renderDiagram, writeDiagram } from "../offline/diagram";
import { PROJECT_DIR } from "../offline/mock-runtime";
import { stack, stackWith } from "./support/stacks";

const DOCS = ["README.md", ...fs.readdirSync(path.join(PROJECT_DIR, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (file: string) => fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
const texts = (): Record<string, string> => Object.fromEntries(DOCS.map((f) => [f, read(f)]));

/** The text outside fenced code blocks. */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, "");

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

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");

/** What is wrong with the paths a document names: links, inline code paths, and repository paths anywhere. */
export function pathProblems(file: string, md: string, exists = (p: string) => fs.existsSync(path.join(PROJECT_DIR, p)), names = filesByName()): string[] {
    const problems: string[] = [];
    const dir = path.posix.dirname(file);
    const anchors = new Set([...md.matchAll(/^#+ (.+)$/gm)].filter((m) => !/^```/.test(m[0])).map((m) => slug(m[1])));
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

type PlanKey = keyof typeof DR_PLAN;
/**
 * Where the documents state a plan number: per DR_PLAN key, the phrases that carry it (the number is the
 * first group) and the unit the phrase uses. Every phrase must be found at least once (a reworded
 * sentence must update its phrase here), and every occurrence must agree with DR_PLAN.
 */
const PLAN_PHRASES: { key: PlanKey; phrase: RegExp; unit?: "hours->minutes" | "months->days" }[] = [
    { key: "rpoMinutes", phrase: /\bRPO (\d+) h\b/g, unit: "hours->minutes" },
    { key: "rpoMinutes", phrase: /\bRPO (\d+) min\b/g },
    { key: "rpoMinutes", phrase: /\bRPO (\d+) \/ RTO/g },
    { key: "rpoMinutes", phrase: /\brpoMinutes=(\d+)/g },
    { key: "rtoMinutes", phrase: /\bRTO (\d+) h\b/g, unit: "hours->minutes" },
    { key: "rtoMinutes", phrase: /\bRTO (\d+) min\b/g },
    { key: "rtoMinutes", phrase: /\bRPO \d+ \/ RTO (\d+) min/g },
    { key: "rtoMinutes", phrase: /\brtoMinutes=(\d+)/g },
    { key: "dbBackupIntervalHours", phrase: /\bbackups every (\d+) h\b/g },
    { key: "dbBackupIntervalHours", phrase: /"Frequency: Every (\d+) hours"/g },
    { key: "dbBackupIntervalHours", phrase: /`backup\.sh db-dump` every (\d+) hours/g },
    { key: "dbBackupIntervalHours", phrase: /snapshot rule's worst-case gap ≤ (\d+) h/g },
    { key: "dbBackupIntervalHours", phrase: /`backup-plan-frequency` \|[^\n]*maxIntervalHours=(\d+)/g },
    { key: "dbDailyRetentionDays", phrase: /\bkept (\d+) days and \d+ months/g },
    { key: "dbDailyRetentionDays", phrase: /"Retention: (\d+) days for daily backups"/g },
    { key: "dbDailyRetentionDays", phrase: /\bdailyRetentionDays=(\d+)/g },
    { key: "dbDailyRetentionDays", phrase: /db\/daily\/ expires after (\d+) days/g },
    { key: "dbDailyRetentionDays", phrase: /db\/daily\/ (\d+),/g },
    { key: "dbWeeklyRetentionDays", phrase: /\bkept \d+ days and (\d+) months/g, unit: "months->days" },
    { key: "dbWeeklyRetentionDays", phrase: /\bweeklyRetentionDays=(\d+)/g },
    { key: "dbWeeklyRetentionDays", phrase: /db\/weekly\/ (\d+),/g },
    { key: "dbWeeklyRetentionDays", phrase: /`weekly` `cron\([^`]*\)`, `deleteAfter` (\d+)/g },
    { key: "redisSnapshotIntervalHours", phrase: /\bRedis\s+every (\d+) h\b/g },
    { key: "redisSnapshotIntervalHours", phrase: /\bRedis snapshots every (\d+) h\b/g },
    { key: "redisSnapshotIntervalHours", phrase: /\bevery (\d+) h a Step Functions job/g },
    { key: "redisSnapshotIntervalHours", phrase: /`elasticache-snapshot-schedule` \|[^\n]*maxIntervalHours=(\d+)/g },
    { key: "redisRetentionDays", phrase: /\bRedis\s+every \d+ h kept (\d+) days/g },
    { key: "redisRetentionDays", phrase: /\bredis\/ (\d+);/g },
    { key: "redisRetentionDays", phrase: /\bkeeps exports (\d+) days/g },
    { key: "redisRetentionDays", phrase: /`elasticache-snapshot-retention` \|[^\n]*minRetentionDays=(\d+)/g },
    { key: "logRetentionDays", phrase: /\blogs (\d+) days\b/g },
    { key: "logRetentionDays", phrase: /\b(\d+)-day retention/g },
    { key: "logRetentionDays", phrase: /\bretentionInDays ≥ (\d+)/g },
    { key: "logRetentionDays", phrase: /`log-group-retention` \|[^\n]*minRetentionDays=(\d+)/g },
    { key: "imageVersionsKept", phrase: /\blast (\d+) (?:images|versions)\b/g },
    { key: "imageVersionsKept", phrase: /\bkeeps the last (\d+)\b/g },
    { key: "imageVersionsKept", phrase: /`imageCountMoreThan` (\d+)/g },
    { key: "imageVersionsKept", phrase: /\bimagesKept=(\d+)/g },
    { key: "failoverDetectionSeconds", phrase: /\bfailover within (\d+) s\b/g },
    { key: "failoverDetectionSeconds", phrase: /"Automatic failover within (\d+) seconds"/g },
    { key: "failoverDetectionSeconds", phrase: /\bmaxDetectionSeconds=(\d+)/g },
    { key: "failoverDetectionSeconds", phrase: /\bfailover detection (\d+) s\b/g },
    { key: "appMinInstances", phrase: /\bat least (\d+) (?:app )?instances\b/g },
    { key: "appMinInstances", phrase: /\bthe plan's minimum (\d+)\b/g },
    { key: "appMinInstances", phrase: /\bminSize ≥ (\d+)/g },
    { key: "appMinInstances", phrase: /\bminInstances=(\d+)/g },
    { key: "p1ResponseMinutes", phrase: /\| P1 Critical \|[^|\n]*\| (\d+) min \|/g },
    { key: "p1ResponseMinutes", phrase: /\(P1 (\d+) min, P2/g },
    { key: "p2ResponseMinutes", phrase: /\| P2 High \|[^|\n]*\| (\d+) h \|/g, unit: "hours->minutes" },
    { key: "p2ResponseMinutes", phrase: /, P2 (\d+) h, P3/g, unit: "hours->minutes" },
    { key: "p3ResponseMinutes", phrase: /\| P3 Medium \|[^|\n]*\| (\d+) h \|/g, unit: "hours->minutes" },
    { key: "p3ResponseMinutes", phrase: /, P3 (\d+) h, P4/g, unit: "hours->minutes" },
    { key: "p4ResponseMinutes", phrase: /\| P4 Low \|[^|\n]*\| (\d+) h \|/g, unit: "hours->minutes" },
    { key: "p4ResponseMinutes", phrase: /, P4 (\d+) h\)/g, unit: "hours->minutes" },
    { key: "databaseDownAlertMinutes", phrase: /`DR_PLAN\.databaseDownAlertMinutes` = (\d+)/g },
    { key: "applicationDownAlertMinutes", phrase: /\| (\d+) minute, 1 datapoint \|/g },
    { key: "highErrorRateAlertMinutes", phrase: /\| High error rate: (\d+) minutes \|/g },
    { key: "highErrorRateAlertMinutes", phrase: /\bfailed \(5XX\) for (\d+)\s+minutes/g },
    { key: "diskSpaceLowAlertMinutes", phrase: /\| Disk space low: (\d+) hour \|/g, unit: "hours->minutes" },
];

/** Every plan number the documents state that disagrees with DR_PLAN, and every phrase found nowhere. */
export function planNumberProblems(docs: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const { key, phrase, unit } of PLAN_PHRASES) {
        const plan = DR_PLAN[key] as number;
        let found = 0;
        for (const [file, md] of Object.entries(docs)) {
            for (const m of md.matchAll(phrase)) {
                found++;
                const n = Number(m[1]);
                const value = unit === "hours->minutes" ? n * 60 : n;
                const agrees = unit === "months->days" ? n === Math.round(plan / 30.4) : value === plan;
                if (!agrees) problems.push(`${file}: "${m[0]}" says ${n}, DR_PLAN.${key} is ${plan}`);
            }
        }
        if (found === 0) problems.push(`no document states DR_PLAN.${key} as ${phrase} (reworded? update PLAN_PHRASES)`);
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

    it("every plan number the documents state agrees with DR_PLAN", () => {
        expect(planNumberProblems(texts())).to.deep.equal([]);
    });

    it("a plan number changed in a document, or in DR_PLAN, is found", () => {
        const docs = texts();
        const doctored = { ...docs, "README.md": docs["README.md"].replace("RPO 1 h", "RPO 2 h").replace("logs 90 days", "logs 30 days") };
        const problems = planNumberProblems(doctored);
        expect(problems.join("\n")).to.include('"RPO 2 h" says 2, DR_PLAN.rpoMinutes is 60').and.include('"logs 30 days" says 30, DR_PLAN.logRetentionDays is 90');
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
