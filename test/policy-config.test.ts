/**
 * The pack's config (policies/config.ts): a rule's settings are its defaults (the plan) deep-merged
 * with the pack config, and a config can only tighten the plan: one that loosens a setting is refused
 * with an error naming the rule, the setting, the value and what is allowed.
 */
import { expect } from "chai";
import { mergeSettings, PackConfigError } from "../policies/config";
import { DR_PLAN } from "../policies/dr-plan";
import { runResourceRule } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { Rule, settingsOf } from "../policies/rules/common";
import { AWS_TYPES } from "../policies/aws-types";

const rule = (name: string): Rule => {
    const found = ALL_RULES.find((r) => r.name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found;
};
const settings = (name: string, config: Record<string, unknown>) => settingsOf<Record<string, any>>(rule(name).configSchema!, { getConfig: <C>() => config as C });

/** Every leaf of a default value with its path: numbers, booleans and lists. */
function leaves(value: unknown, path: string[] = []): { path: string[]; value: unknown }[] {
    if (value && typeof value === "object" && !Array.isArray(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
    return [{ path, value }];
}
const withLeaf = (path: string[], value: unknown): Record<string, unknown> => (path.length === 1 ? { [path[0]]: value } : { [path[0]]: withLeaf(path.slice(1), value) });
const accepted = (r: Rule, config: Record<string, unknown>) => {
    try {
        mergeSettings(r.configSchema, config, r.name);
        return true;
    } catch (e) {
        if (e instanceof PackConfigError) return false;
        throw e;
    }
};

describe("the pack's config: deep-merged with the plan, and only ever tighter", () => {
    it("keeps the other prefixes' defaults when a config tightens one prefix's retention", () => {
        const defaults = rule("s3-lifecycle-retention").configSchema!.properties.retention.default as Record<string, Record<string, number>>;
        const s = settings("s3-lifecycle-retention", { retention: { backups: { "db/daily/": 60 } } });
        expect(s.retention.backups).to.deep.equal({ ...defaults.backups, "db/daily/": 60 });
        expect(s.retention.backups["db/weekly/"]).to.equal(DR_PLAN.dbWeeklyRetentionDays);
        expect(s.retention.logs).to.deep.equal({ "": DR_PLAN.logRetentionDays });
        // A new purpose or prefix adds a requirement.
        expect(settings("s3-lifecycle-retention", { retention: { backups: { "db/monthly/": 400 } } }).retention.backups["db/weekly/"]).to.equal(DR_PLAN.dbWeeklyRetentionDays);
    });

    it("refuses a config that loosens a setting, naming the rule, the setting and what is allowed", () => {
        // By setting (whichever rule holds it: the rules' owners move settings between rules).
        const refused: [string, unknown, RegExp][] = [
            ["retention", { backups: { "db/weekly/": 30 } }, /\.retention\.backups\["db\/weekly\/"\]: 30 is below the plan's 365; use 365 or more/],
            ["maxIntervalHours", 100, /\.maxIntervalHours: 100 is above the plan's \d+; use \d+ or less/],
            ["dailyRetentionDays", 7, /\.dailyRetentionDays: 7 is below the plan's 30/],
            ["minRetentionDays", 1, /\.minRetentionDays: 1 is below the plan's \d+; use \d+ or more/],
            ["requireComplianceMode", false, /\.requireComplianceMode: the plan requires true/],
            ["minInstances", 1, /\.minInstances: 1 is below the plan's 2/],
            ["types", [], /\.types: drops "aws:/],
            ["minRetentionDays", "90", /\.minRetentionDays: "90" is not a number/],
        ];
        let checked = 0;
        for (const [key, value, message] of refused) {
            for (const r of ALL_RULES.filter((x) => x.configSchema?.properties[key] !== undefined)) {
                expect(() => mergeSettings(r.configSchema, { [key]: value }, r.name), `${r.name}.${key}`).to.throw(PackConfigError, message);
                expect(() => mergeSettings(r.configSchema, { [key]: value }, r.name)).to.throw(new RegExp(`^pack config ${r.name}\\.${key}.*\\(a config can only tighten the plan\\)$`));
                checked++;
            }
        }
        expect(checked).to.be.at.least(5);
    });

    it("lets every numeric setting of every rule move one way only, and accepts its default", () => {
        let checked = 0;
        for (const r of ALL_RULES) {
            const defaults = Object.fromEntries(Object.entries(r.configSchema?.properties ?? {}).map(([k, spec]) => [k, spec.default]));
            expect(accepted(r, defaults), `${r.name}: its own defaults`).to.equal(true);
            for (const leaf of leaves(defaults)) {
                if (typeof leaf.value !== "number") continue;
                const up = accepted(r, withLeaf(leaf.path, leaf.value + 1));
                const down = accepted(r, withLeaf(leaf.path, leaf.value - 1));
                expect(up !== down, `${r.name}.${leaf.path.join(".")}: exactly one direction tightens (up ${up}, down ${down})`).to.equal(true);
                checked++;
            }
        }
        expect(checked).to.be.greaterThan(10);
    });

    it("lets a list of what a rule covers grow but not shrink, and a list of exemptions shrink but not grow", () => {
        for (const r of ALL_RULES) {
            for (const [key, spec] of Object.entries(r.configSchema?.properties ?? {})) {
                if (!Array.isArray(spec.default) || spec.default.length === 0) continue;
                const list = spec.default as unknown[];
                const grown = accepted(r, { [key]: [...list, "something-else"] });
                const shrunk = accepted(r, { [key]: list.slice(1) });
                expect(grown !== shrunk, `${r.name}.${key}: one way only (grow ${grown}, shrink ${shrunk})`).to.equal(true);
            }
        }
        const exemptions = ALL_RULES.find((r) => r.configSchema?.properties.siteLocal);
        if (exemptions) expect(accepted(exemptions, { siteLocal: [...(exemptions.configSchema!.properties.siteLocal.default as string[]), "-db-"] })).to.equal(false);
    });

    it("holds every list setting to its declared direction: a list of what a rule ALLOWS (items.enum) only shrinks", () => {
        // Every list setting of the pack, with the way it tightens: a new list setting must be classified here.
        const DIRECTIONS: Record<string, "shrink" | "grow"> = {
            "s3-bucket-purpose.purposes": "shrink", // purposes a bucket may declare
            "s3-encryption.sseS3Purposes": "shrink", // purposes allowed SSE-S3
            "s3-replication.purposes": "grow",
            "s3-replication.realTimePurposes": "grow",
            "s3-replication.sites": "grow",
            "s3-access-logging.purposes": "grow",
            "stateful-resources-protected.types": "grow",
            "cross-region-copies.bucketPurposes": "grow",
            "cross-region-copies.siteLocal": "shrink", // exemptions
        };
        const seen: string[] = [];
        for (const r of ALL_RULES) {
            for (const [key, spec] of Object.entries(r.configSchema?.properties ?? {})) {
                if (!Array.isArray(spec.default)) continue;
                const name = `${r.name}.${key}`;
                seen.push(name);
                const list = spec.default as unknown[];
                const grown = accepted(r, { [key]: [...list, "misc"] });
                const shrunk = accepted(r, { [key]: list.slice(1) });
                expect([grown, shrunk], `${name} (${DIRECTIONS[name]})`).to.deep.equal(DIRECTIONS[name] === "grow" ? [true, false] : [false, true]);
            }
        }
        expect(seen.sort()).to.deep.equal(Object.keys(DIRECTIONS).sort());
        // The review's two loosening configs, refused with the setting named.
        expect(() => settingsOf(rule("s3-bucket-purpose").configSchema!, { getConfig: () => ({ purposes: ["backups", "uploads", "logs", "cache-exports", "status-page", "misc"] }) as any })).to.throw(
            PackConfigError,
            /purposes: adds "misc"; it may only keep some of/,
        );
        expect(() => settingsOf(rule("s3-encryption").configSchema!, { getConfig: () => ({ sseS3Purposes: ["logs", "cache-exports", "backups", "uploads"] }) as any })).to.throw(PackConfigError, /sseS3Purposes: adds "backups", "uploads"/);
        // The engine itself refuses them too: the schema enumerates the allowed items.
        expect((rule("s3-bucket-purpose").configSchema!.properties.purposes as any).items.enum).to.deep.equal(rule("s3-bucket-purpose").configSchema!.properties.purposes.default);
    });

    it("fails the rule's run (a plan problem, an engine error) on a loosening config, and passes a tightening one", async () => {
        const plan = {
            type: AWS_TYPES.backupPlan,
            name: "plan",
            props: { rules: [{ ruleName: "six-hourly", schedule: "cron(0 */6 * * ? *)", lifecycle: { deleteAfter: 35 } }] },
        };
        const loose = await runResourceRule(rule("backup-plan-frequency"), plan, { config: { "backup-plan-frequency": { maxIntervalHours: 24 } } });
        expect(loose.errors.map((e) => e.message)).to.deep.equal(["pack config maxIntervalHours: 24 is above the plan's 6; use 6 or less (a config can only tighten the plan)"]);
        const tight = await runResourceRule(rule("backup-plan-frequency"), plan, { config: { "backup-plan-frequency": { maxIntervalHours: 4 } } });
        expect(tight.errors).to.deep.equal([]);
        expect(tight.violations.map((v) => v.message).join("\n")).to.match(/at least every 4 h/);
    });

    it("leaves the enforcement level and the 'not yet built' switch to the config", () => {
        const withSwitch = ALL_RULES.find((r) => r.configSchema?.properties.whenConcernAbsent);
        if (withSwitch) expect(accepted(withSwitch, { whenConcernAbsent: "advisory", enforcementLevel: "advisory" })).to.equal(true);
    });
});
