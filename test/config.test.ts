import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_SCHEMA } from "../infra/config-schema";
import { ConfigError, parseStackConfig, RawConfig } from "../infra/config";
import { DR_PLAN } from "../infra/dr-plan";
import { loadEngineConfig, PROJECT_DIR } from "../offline/mock-runtime";
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
        { what: "a point-in-time window of 0 days", change: { dbPointInTimeRetentionDays: "0" }, key: "genie-infra:dbPointInTimeRetentionDays", says: /= 0: allowed: 7 to 35 days/ },
        { what: "protect not a boolean", change: { protect: "yes" }, key: "genie-infra:protect", says: /"yes": must be true or false/ },
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

    it("accepts stricter values than the plan", () => {
        const p = parseStackConfig({ ...production, backupIntervalHours: "1", dailyBackupRetentionDays: "35", logRetentionDays: "365" }, "production");
        expect(p.backup.intervalHours).to.equal(1);
        expect(p.backup.logRetentionDays).to.equal(365);
    });
});
