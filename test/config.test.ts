import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_SCHEMA } from "../infra/config-schema";
import { postgresClientProblem } from "../components/scheduled-dump";
import { ConfigError, editDistance, parseStackConfig, RawConfig } from "../infra/config";
import { DR_PLAN } from "../infra/dr-plan";
import { evaluateStack, EvaluationError, loadEngineConfig, parseYaml, PROJECT_DIR } from "../offline/mock-runtime";
import { projectConfigBlock } from "../offline/project-config-block";

/** Config as the engine passes it for a stack, without the project prefix. */
function rawConfigOf(stack: string): RawConfig {
    const { project, config } = loadEngineConfig(stack);
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(`${project}:`)) raw[key.slice(project.length + 1)] = value;
        else raw[key] = value;
    }
    return raw as RawConfig;
}

function problemsOf(raw: RawConfig, stack = "production"): string[] {
    try {
        parseStackConfig(raw, stack);
    } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems;
    }
    return [];
}

describe("stack config", () => {
    const production = rawConfigOf("production");
    const dr = rawConfigOf("dr");

    it("parses both stack files, with the plan's values as defaults", () => {
        const p = parseStackConfig(production, "production");
        expect(p.siteRole).to.equal("primary");
        expect(p.siteRegion).to.equal("us-east-1");
        expect(p.drRegion).to.equal("us-west-2");
        expect(p.backup).to.deep.equal({
            intervalHours: DR_PLAN.dbBackupIntervalHours,
            dailyRetentionDays: DR_PLAN.dbDailyRetentionDays,
            weeklyRetentionDays: DR_PLAN.dbWeeklyRetentionDays,
            redisSnapshotIntervalHours: DR_PLAN.redisSnapshotIntervalHours,
            redisSnapshotRetentionDays: DR_PLAN.redisRetentionDays,
            logRetentionDays: DR_PLAN.logRetentionDays,
            imageVersionsKept: DR_PLAN.imageVersionsKept,
        });
        expect(p.protect).to.equal(true);
        expect(p.tags).to.deep.equal({ app: "genie-ai-server", stack: "production", site: "primary" });

        const d = parseStackConfig(dr, "dr");
        expect(d.siteRole).to.equal("standby");
        expect(d.siteRegion).to.equal("us-west-2");
        expect(d.productionStack).to.equal("organization/genie-infra/production");
    });

    it("reads every plan value from the plan module, not from copies", () => {
        // The defaults in Pulumi.yaml (what the real engine applies) must be the plan's.
        const declared = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")).config;
        expect(declared.dailyBackupRetentionDays.default).to.equal(DR_PLAN.dbDailyRetentionDays);
        expect(declared.weeklyBackupRetentionDays.default).to.equal(DR_PLAN.dbWeeklyRetentionDays);
        expect(declared.backupIntervalHours.default).to.equal(DR_PLAN.dbBackupIntervalHours);
        expect(declared.redisSnapshotIntervalHours.default).to.equal(DR_PLAN.redisSnapshotIntervalHours);
        expect(declared.redisSnapshotRetentionDays.default).to.equal(DR_PLAN.redisRetentionDays);
        expect(declared.logRetentionDays.default).to.equal(DR_PLAN.logRetentionDays);
        expect(declared.imageVersionsKept.default).to.equal(DR_PLAN.imageVersionsKept);
        expect(declared.appMinSize.default).to.equal(DR_PLAN.appMinInstances);
    });

    it("the offline runtime's YAML parser (js-yaml, core schema) reads the project, stack and workflow files exactly as the `yaml` package does", () => {
        const files = [
            ...fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f)),
            ...fs.readdirSync(path.join(PROJECT_DIR, ".github", "workflows")).map((f) => path.join(".github", "workflows", f)),
        ];
        expect(files.filter((f) => f.startsWith("Pulumi"))).to.include.members(["Pulumi.yaml", "Pulumi.production.yaml", "Pulumi.dr.yaml"]);
        for (const f of files) {
            const text = fs.readFileSync(path.join(PROJECT_DIR, f), "utf8");
            expect(parseYaml(text), f).to.deep.equal(YAML.parse(text));
        }
        // Where the two could differ, the one the runtime uses reads what YAML 1.2 (and Pulumi) means.
        // js-yaml's default schema would make g a Date (and the config a JSON date string the program
        // refuses) and merge h into i; Pulumi reads both as written.
        const edge = "a: on\nb: yes\nc: 010\nd: 0o10\ne: ~\nf: 1_000\ng: 2026-11-30T01:15:00Z\nh: &h {x: 1}\ni: {<<: *h, y: 2}\nj: 2026-11-30";
        expect(parseYaml(edge)).to.deep.equal(YAML.parse(edge));
        expect(parseYaml(edge)).to.deep.equal({ a: "on", b: "yes", c: 10, d: 8, e: null, f: "1_000", g: "2026-11-30T01:15:00Z", h: { x: 1 }, i: { "<<": { x: 1 }, y: 2 }, j: "2026-11-30" });
    });

    it("declares in Pulumi.yaml exactly the keys the program reads, with their types, defaults and descriptions", () => {
        const declared = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")).config;
        expect(declared).to.deep.equal(projectConfigBlock(), "Pulumi.yaml is stale: regenerate it with npx ts-node offline/project-config-block.ts");
        for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
            expect(spec.description, key).to.have.length.greaterThan(10);
        }
    });

    // Each case: the change, the key its message must name, and words of what is allowed.
    const badConfig: { what: string; stack?: "production" | "dr"; change: RawConfig; key: string; says: RegExp }[] = [
        { what: "DR region equal to the primary region", change: { drRegion: "us-east-1" }, key: "genie-infra:drRegion", says: /"us-east-1": must differ from genie-infra:primaryRegion/ },
        { what: "a database generation on production", change: { dbGeneration: "2" }, key: "genie-infra:dbGeneration", says: /= 2: only the DR site's database has generations/ },
        { what: "database generation 0 on the DR site", stack: "dr", change: { dbGeneration: "0" }, key: "genie-infra:dbGeneration", says: /= 0: allowed: 1 to 99/ },
        { what: "app minimum below 2 on the primary site", change: { appMinSize: "1" }, key: "genie-infra:appMinSize", says: /= 1: a primary site needs at least 2 app instances/ },
        { what: "app minimum below 2 on an active DR site", stack: "dr", change: { siteRole: "active", appMinSize: "1" }, key: "genie-infra:appMinSize", says: /= 1: an active site needs at least 2/ },
        { what: "daily backup retention one day short", change: { dailyBackupRetentionDays: "29" }, key: "genie-infra:dailyBackupRetentionDays", says: /= 29: allowed: 30 to 36500 days; below 30 breaks the plan/ },
        { what: "weekly backup retention below 12 months", change: { weeklyBackupRetentionDays: "364" }, key: "genie-infra:weeklyBackupRetentionDays", says: /= 364: allowed: 365 to/ },
        { what: "Redis snapshots kept less than 7 days", change: { redisSnapshotRetentionDays: "6" }, key: "genie-infra:redisSnapshotRetentionDays", says: /= 6: allowed: 7 to/ },
        { what: "logs kept less than 90 days", change: { logRetentionDays: "60" }, key: "genie-infra:logRetentionDays", says: /= 60: allowed: 90 to/ },
        { what: "fewer than 10 image versions", change: { imageVersionsKept: "9" }, key: "genie-infra:imageVersionsKept", says: /= 9: allowed: 10 to 1000/ },
        { what: "backups every 12 hours", change: { backupIntervalHours: "12" }, key: "genie-infra:backupIntervalHours", says: /= 12: allowed: a divisor of 24 up to 6 hours/ },
        { what: "backups every 5 hours (not evenly spaced)", change: { backupIntervalHours: "5" }, key: "genie-infra:backupIntervalHours", says: /= 5: must divide 24 .* allowed: 1, 2, 3, 4, 6/ },
        { what: "a log retention CloudWatch does not offer", change: { logRetentionDays: "100" }, key: "genie-infra:logRetentionDays", says: /= 100: CloudWatch Logs accepts only 90, 120/ },
        { what: "a malformed email address", change: { alertEmails: '["oncall-at-example.com"]' }, key: "genie-infra:alertEmails", says: /"oncall-at-example.com": not an email address/ },
        { what: "no email recipient at all", change: { alertEmails: "[]" }, key: "genie-infra:alertEmails", says: /list at least one address/ },
        { what: "a phone number not in E.164", change: { alertSmsNumbers: '["+1-555-0001"]' }, key: "genie-infra:alertSmsNumbers", says: /"\+1-555-0001": not an E.164 phone number/ },
        { what: "alert emails not a list", change: { alertEmails: "oncall@example.com" }, key: "genie-infra:alertEmails", says: /must be a list of strings/ },
        { what: "an unknown site role", change: { siteRole: "secondary" }, key: "genie-infra:siteRole", says: /"secondary": unknown site role; allowed: primary, standby, active/ },
        { what: "max below min", change: { appMinSize: "4", appMaxSize: "3" }, key: "genie-infra:appMaxSize", says: /= 3: must be at least genie-infra:appMinSize \(4\)/ },
        { what: "a single availability zone", change: { availabilityZoneCount: "1" }, key: "genie-infra:availabilityZoneCount", says: /= 1: allowed: 2 to 6 zones/ },
        { what: "a non-number where a number belongs", change: { appMaxSize: "six" }, key: "genie-infra:appMaxSize", says: /"six": must be a whole number/ },
        { what: "a malformed instance type", change: { instanceType: "large" }, key: "genie-infra:instanceType", says: /"large": must be an EC2 instance type/ },
        { what: "a public VPC CIDR", change: { vpcCidr: "8.8.0.0/16" }, key: "genie-infra:vpcCidr", says: /must be a private IPv4 CIDR block/ },
        { what: "aws:region other than the site's region", change: { "aws:region": "eu-west-1" }, key: "aws:region", says: /"eu-west-1": must equal the site's region "us-east-1"/ },
        { what: "the 'latest' image tag", change: { imageTag: "latest" }, key: "genie-infra:imageTag", says: /tags are immutable/ },
        { what: "half a Slack configuration", change: { slackWorkspaceId: "T0123ABCD" }, key: "genie-infra:slackChannelId", says: /set both slackWorkspaceId and slackChannelId/ },
        { what: "a point-in-time window of 0 days", change: { dbPointInTimeRetentionDays: "0" }, key: "genie-infra:dbPointInTimeRetentionDays", says: new RegExp(`= 0: allowed: ${DR_PLAN.dbDailyRetentionDays} to 35 days`) },
        { what: "protect not a boolean", change: { protect: "yes" }, key: "genie-infra:protect", says: /"yes": must be true or false/ },
        { what: "an AMI id that is not one", change: { appAmiId: "al2023-ami-2023.6" }, key: "genie-infra:appAmiId", says: /"al2023-ami-2023.6": must be an AMI id such as ami-0123456789abcdef0/ },
        { what: "an AMI id of the wrong length", change: { appAmiId: "ami-0123456789" }, key: "genie-infra:appAmiId", says: /"ami-0123456789": must be an AMI id/ },
        {
            what: "a PostgreSQL major newer than any client Amazon Linux 2023 ships (the scheduled dump could not run)",
            change: { dbEngineVersion: "19" },
            key: "genie-infra:dbEngineVersion",
            says: /"19": Amazon Linux 2023 has PostgreSQL client packages for 15, 16, 17, 18 only, and pg_dump cannot dump a newer server/,
        },
    ];
    for (const c of badConfig) {
        it(`rejects ${c.what}, naming the key, the value and what is allowed`, () => {
            const base = c.stack === "dr" ? dr : production;
            const problems = problemsOf({ ...base, ...c.change }, c.stack ?? "production");
            const named = problems.filter((p) => p.startsWith(`${c.key} `));
            expect(named, `problems: ${problems.join(" | ")}`).to.have.length.greaterThan(0);
            expect(named.join("\n")).to.match(c.says);
        });
    }

    it("reports every problem at once", () => {
        const problems = problemsOf({ ...production, appMinSize: "1", drRegion: "us-east-1", logRetentionDays: "30" });
        expect(problems).to.have.length(3);
    });

    it("lets a standby DR site run a single warm instance", () => {
        expect(problemsOf({ ...dr, appMinSize: "2", standbyAppSize: "1" }, "dr")).to.deep.equal([]);
    });

    it("accepts every PostgreSQL major whose client Amazon Linux 2023 ships (17 and 18 too), with the list the scheduled dump uses", () => {
        for (const major of ["15", "16", "17", "18"]) {
            expect(problemsOf({ ...production, dbEngineVersion: major }), major).to.deep.equal([]);
            expect(parseStackConfig({ ...production, dbEngineVersion: major }, "production").database.engineVersion).to.equal(major);
        }
        // The same words as the component that installs the client: one list, one message.
        const [problem] = problemsOf({ ...production, dbEngineVersion: "19" });
        expect(problem).to.equal(`genie-infra:dbEngineVersion = "19": ${postgresClientProblem("19")}`);
    });

    it("refuses an unsupported PostgreSQL major before any resource is declared", async () => {
        const error = await evaluateStack("production", { config: { dbEngineVersion: "19" } }).then(
            () => undefined,
            (err: unknown) => err,
        );
        expect(error).to.be.instanceOf(EvaluationError);
        expect((error as Error).message).to.contain("Invalid stack configuration");
        expect((error as Error).message).to.contain("genie-infra:dbEngineVersion = \"19\": Amazon Linux 2023 has PostgreSQL client packages for");
        expect((error as EvaluationError).violations ?? []).to.deep.equal([]);
    });

    it("appAmiId is optional (unset: the AMI is looked up) and takes an 8- or 17-digit AMI id", () => {
        expect(parseStackConfig(production, "production").app.amiId).to.equal(undefined);
        expect(parseStackConfig({ ...production, appAmiId: "ami-0123456789abcdef0" }, "production").app.amiId).to.equal("ami-0123456789abcdef0");
        expect(parseStackConfig({ ...production, appAmiId: "ami-12345678" }, "production").app.amiId).to.equal("ami-12345678");
    });

    it("accepts stricter values than the plan", () => {
        const p = parseStackConfig({ ...production, backupIntervalHours: "1", dailyBackupRetentionDays: "35", logRetentionDays: "365" }, "production");
        expect(p.backup.intervalHours).to.equal(1);
        expect(p.backup.logRetentionDays).to.equal(365);
    });
});

describe("config keys the schema does not declare", () => {
    const production = rawConfigOf("production");
    const hint = "(every key is declared in Pulumi.yaml's config block, generated from infra/config-schema.ts)";

    it("refuses a misspelt key, naming the declared key it is closest to", () => {
        const problems = problemsOf({ ...production, appMinSze: "3" } as RawConfig);
        expect(problems).to.deep.equal([`genie-infra:appMinSze is not a config key of this project: did you mean genie-infra:appMinSize? ${hint}`]);
        // Case and a swapped pair of letters are one edit each, not a different key.
        expect(problemsOf({ ...production, dbrecoverysource: "replica" } as RawConfig)[0]).to.contain("did you mean genie-infra:dbRecoverySource?");
        expect(problemsOf({ ...production, "genie-infra:siteRloe": "primary" } as RawConfig)[0]).to.contain("did you mean genie-infra:siteRole?");
    });

    it("refuses a key that resembles none, still naming the closest declared key", () => {
        const [problem, ...rest] = problemsOf({ ...production, bogusKey: "1" } as RawConfig);
        expect(rest).to.deep.equal([]);
        expect(problem).to.match(/^genie-infra:bogusKey is not a config key of this project: the closest declared key is genie-infra:[A-Za-z]+ \(/);
    });

    it("never shows the value of an undeclared key (it may be a secret)", () => {
        const [problem] = problemsOf({ ...production, dbPasword: "hunter2-very-secret" } as RawConfig);
        expect(problem).to.contain("genie-infra:dbPasword").and.not.contain("hunter2");
    });

    it("lets keys of other namespaces pass: they belong to providers and the engine", () => {
        const raw = { ...production, "aws:skipMetadataApiCheck": "false", "aws:defaultTags": "{}", "pulumi:tags": "{}", "random:anything": "1" } as RawConfig;
        expect(problemsOf(raw)).to.deep.equal([]);
    });

    it("measures closeness by edit distance", () => {
        expect(editDistance("appminsze", "appminsize")).to.equal(1);
        expect(editDistance("sitrole", "siterole")).to.equal(1);
        expect(editDistance("siterloe", "siterole")).to.equal(1);
        expect(editDistance("abc", "xyz")).to.equal(3);
        expect(editDistance("", "abc")).to.equal(3);
    });

    it("fails `npm run plan -- production --config bogusKey=1` before any resource is declared", () => {
        const r = spawnSync(process.execPath, ["-r", "./offline/register.js", "offline/cli.ts", "production", "--config", "bogusKey=1"], {
            cwd: PROJECT_DIR,
            env: { ...process.env },
            encoding: "utf8",
            timeout: 120_000,
        });
        expect(r.status, r.stdout + r.stderr).to.equal(1);
        expect(r.stderr).to.contain("genie-infra:bogusKey is not a config key of this project");
        expect(r.stdout).not.to.contain("No problems found");
    });

    it("fails the evaluation of a stack whose stack file misspells a key (genie-infra:appMinSze: 3)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-config-typo-"));
        try {
            fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            const stackFile = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.production.yaml"), "utf8");
            fs.writeFileSync(path.join(dir, "Pulumi.production.yaml"), stackFile.replace("genie-infra:appMinSize: 2", "genie-infra:appMinSze: 3"));
            // The config the engine would pass for that stack file, evaluated by the project's program.
            const { config } = loadEngineConfig("production", dir);
            expect(config).to.have.property("genie-infra:appMinSze", "3");
            const error = await evaluateStack("production", { config }).then(
                () => undefined,
                (err: unknown) => err,
            );
            expect(error).to.be.instanceOf(EvaluationError);
            expect((error as Error).message).to.contain("Invalid stack configuration (1 problem)");
            expect((error as Error).message).to.contain("genie-infra:appMinSze is not a config key of this project: did you mean genie-infra:appMinSize?");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses under the real engine too: every key the language host passes in PULUMI_CONFIG reaches the check", () => {
        // pulumi-language-nodejs passes the stack's whole config as JSON in PULUMI_CONFIG, keys as
        // <namespace>:config:<name> (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go, constructConfig).
        const { config } = loadEngineConfig("production");
        const asLanguageHost = (extra: Record<string, string>) =>
            JSON.stringify(
                Object.fromEntries(
                    Object.entries({ ...config, ...extra }).map(([key, value]) => {
                        const colon = key.indexOf(":");
                        return [`${key.slice(0, colon)}:config:${key.slice(colon + 1)}`, value];
                    }),
                ),
            );
        const load = (extra: Record<string, string>) => {
            const script =
                "try { const c = require('./infra/config').loadStackConfig(); console.log(JSON.stringify({ minSize: c.app.minSize })); }" +
                " catch (e) { console.log(JSON.stringify({ error: e.message })); }";
            const r = spawnSync(process.execPath, ["-r", "./offline/register.js", "-e", script], {
                cwd: PROJECT_DIR,
                env: { ...process.env, PULUMI_CONFIG: asLanguageHost(extra), PULUMI_NODEJS_PROJECT: "genie-infra", PULUMI_NODEJS_STACK: "production" },
                encoding: "utf8",
                timeout: 60_000,
            });
            expect(r.status, r.stderr).to.equal(0);
            return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
        };
        expect(load({})).to.deep.equal({ minSize: 2 });
        expect(load({ "genie-infra:appMinSize": "3" })).to.deep.equal({ minSize: 3 });
        const refused = load({ "genie-infra:appMinSze": "3", "aws:skipCredentialsValidation": "true" });
        expect(refused.error).to.contain("genie-infra:appMinSze is not a config key of this project: did you mean genie-infra:appMinSize?");
        expect(refused.error).not.to.contain("aws:skipCredentialsValidation");
    });
});
