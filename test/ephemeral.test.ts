/**
 * The ephemeral mode (config `ephemeral: true`) of the monthly deploy-from-scratch test: its stack is
 * deleted whole by `pulumi destroy`, leaves nothing in the sandbox, and takes no name another stack of
 * the account (last month's, left behind by a failed destroy) holds. Evaluated offline under the
 * deploy test's own config (automation/deploy-test.ts), which has no Pulumi.<stack>.yaml.
 */
import { expect } from "chai";
import { deployTestConfig, ephemeralAdvisoryRules, ephemeralPackConfig } from "../automation/deploy-test";
import { KMS_SHORTEST_DELETION_WINDOW_DAYS } from "../components/lifecycle";
import { ConfigError, ephemeralNameLabel, parseStackConfig, RawConfig } from "../infra/config";
import { evaluateStack, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { checkPolicies } from "../offline/policy-runner";
import { AWS_TYPES } from "../policies/aws-types";
import { ofType, stack } from "./support/stacks";

const SANDBOX = { DEPLOY_TEST_DOMAIN: "deploy-test.sandbox.example.com", DEPLOY_TEST_HOSTED_ZONE_ID: "Z0SANDBOX0000", DEPLOY_TEST_ALERT_EMAIL: "ci@example.com" };
const MARCH = "deploy-test-20260301-0600";
const APRIL = "deploy-test-20260401-0600";

/** Resource types: policies/aws-types.ts. */
const T = AWS_TYPES;

/** Inputs that hold a physical name this program fixes (Pulumi auto-names the rest, with a random suffix). */
const NAME_INPUTS = ["name", "bucket", "identifier", "replicationGroupId", "alarmName", "dashboardName", "prefix", "associationName"];

/** Every fixed physical name of the stack, by resource; Route 53 records are the config's domain names, not the program's. */
function fixedNames(ev: StackEvaluation): { r: RecordedResource; name: string }[] {
    return ev.resources
        .filter((r) => r.custom && r.type !== T.route53Record)
        .flatMap((r) => NAME_INPUTS.filter((k) => typeof r.props[k] === "string").map((k) => ({ r, name: r.props[k] as string })));
}

const evaluations = new Map<string, Promise<StackEvaluation>>();
function ephemeral(stackName: string): Promise<StackEvaluation> {
    if (!evaluations.has(stackName)) evaluations.set(stackName, evaluateStack(stackName, { stackConfig: deployTestConfig(SANDBOX) }));
    return evaluations.get(stackName)!;
}

/** The deploy test's config as the program reads it (keys without the project prefix). */
function raw(change: Record<string, string> = {}): RawConfig {
    const config = { ...deployTestConfig(SANDBOX), ...change };
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^genie-infra:/, ""), v])) as RawConfig;
}

function problemsOf(config: RawConfig, stackName: string): string[] {
    try {
        parseStackConfig(config, stackName);
    } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems;
    }
    return [];
}

describe("ephemeral stacks (config ephemeral: the deploy-from-scratch test)", () => {
    describe("config", () => {
        it("is off by default; the deploy test turns it on, and the stack's lifecycle lets destroy delete everything", () => {
            const parsed = parseStackConfig(raw(), MARCH);
            expect(parsed.ephemeral).to.equal(true);
            expect(parsed.lifecycle).to.deep.equal({
                protect: false,
                retainOnDelete: false,
                deletionProtection: false,
                finalSnapshot: false,
                forceDestroy: true,
                secretRecoveryWindowDays: 0,
                kmsDeletionWindowDays: KMS_SHORTEST_DELETION_WINDOW_DAYS,
            });
            expect(parsed.nameLabel).to.equal(ephemeralNameLabel(MARCH)).and.to.have.length("primary".length);
            const withoutKey = raw();
            delete (withoutKey as Record<string, string>).ephemeral;
            expect(parseStackConfig({ ...withoutKey, protect: "true", autoscalingServiceLinkedRole: "create" } as RawConfig, "staging").ephemeral, "the default").to.equal(false);
            const kept = parseStackConfig(raw({ "genie-infra:ephemeral": "false", "genie-infra:protect": "true" }), "staging");
            expect(kept.ephemeral).to.equal(false);
            expect(kept.nameLabel).to.equal("primary");
            expect(kept.lifecycle).to.include({ protect: true, retainOnDelete: true, deletionProtection: true, finalSnapshot: true, forceDestroy: false });
        });

        it("is refused on the production and dr stacks, with protect, on a DR site, with a compliance lock or a declared service-linked role", () => {
            for (const name of ["production", "dr", "organization/genie-infra/production"]) {
                expect(problemsOf(raw(), name).join("\n")).to.match(/genie-infra:ephemeral = true on the (production|dr) stack: refused on production and dr/);
            }
            const cases: [Record<string, string>, RegExp][] = [
                [{ "genie-infra:protect": "true" }, /genie-infra:ephemeral = true with genie-infra:protect = true: .*set genie-infra:protect to false/],
                [{ "genie-infra:siteRole": "standby", "genie-infra:primaryRegion": "us-east-2", "genie-infra:drRegion": "us-west-2" }, /genie-infra:ephemeral = true with genie-infra:siteRole = "standby"/],
                [{ "genie-infra:backupVaultLockMode": "compliance" }, /genie-infra:ephemeral = true with genie-infra:backupVaultLockMode = "compliance": .*set it to governance/],
                [{ "genie-infra:autoscalingServiceLinkedRole": "create" }, /genie-infra:ephemeral = true with genie-infra:autoscalingServiceLinkedRole = "create": .*set existing/],
            ];
            for (const [change, says] of cases) {
                expect(problemsOf(raw(change), MARCH).join("\n"), JSON.stringify(change)).to.match(says);
            }
            expect(problemsOf(raw(), MARCH)).to.deep.equal([]);
        });
    });

    describe("the evaluated stack", () => {
        it("protects and retains nothing", async () => {
            const ev = await ephemeral(MARCH);
            const kept = ev.resources.filter((r) => r.opts.protect || r.opts.retainOnDelete).map((r) => `${r.type} ${r.name}`);
            expect(kept).to.deep.equal([]);
            // What it must reach: the stateful resources of both regions.
            for (const type of [T.bucket, T.backupVault, T.repository, T.secret, T.kmsKey, T.dbInstance, T.cache]) expect(ofType(ev, type).length, type).to.be.greaterThan(0);
        });

        it("has no deletion protection, takes no final snapshot, and deletes contents and secrets at once", async () => {
            const ev = await ephemeral(MARCH);
            for (const db of ofType(ev, T.dbInstance)) {
                expect(db.props, db.name).to.include({ deletionProtection: false, skipFinalSnapshot: true, deleteAutomatedBackups: true });
                expect(db.props.finalSnapshotIdentifier, db.name).to.equal(undefined);
            }
            expect(ev.resources.filter((r) => r.type === "random:index/randomId:RandomId" && /final-snapshot/.test(r.name))).to.deep.equal([]);
            for (const cache of ofType(ev, T.cache)) expect(cache.props.finalSnapshotIdentifier, cache.name).to.equal(undefined);
            for (const alb of ofType(ev, T.loadBalancer)) expect(alb.props.enableDeletionProtection, alb.name).to.equal(false);
            for (const b of [...ofType(ev, T.bucket), ...ofType(ev, T.backupVault)]) expect(b.props.forceDestroy, `${b.type} ${b.name}`).to.equal(true);
            for (const repo of ofType(ev, T.repository)) expect(repo.props.forceDelete, repo.name).to.equal(true);
            for (const secret of ofType(ev, T.secret)) expect(secret.props.recoveryWindowInDays, secret.name).to.equal(0);
            for (const key of ofType(ev, T.kmsKey)) expect(key.props.deletionWindowInDays, key.name).to.equal(KMS_SHORTEST_DELETION_WINDOW_DAYS);
        });

        it("names every fixed physical name after the stack, so two months' stacks never collide", async () => {
            const [march, april] = await Promise.all([ephemeral(MARCH), ephemeral(APRIL)]);
            const label = ephemeralNameLabel(MARCH);
            expect(label).to.not.equal(ephemeralNameLabel(APRIL));
            const names = fixedNames(march);
            // The names AWS keeps unique per account (and region): buckets, vaults, secrets, the database, the cache, the repository.
            for (const type of [T.bucket, T.backupVault, T.secret, T.dbInstance, T.cache, T.repository]) expect(names.some(({ r }) => r.type === type), type).to.equal(true);
            const unlabelled = names.filter(({ name }) => !name.includes(label)).map(({ r, name }) => `${r.type} ${r.name}: ${name}`);
            expect(unlabelled).to.deep.equal([]);
            const taken = new Set(names.map(({ name }) => name));
            // Inputs that name another resource of the stack (a log group's bucket, a vault's lock) repeat a name: compare names, not resources.
            const shared = fixedNames(april).map(({ name }) => name).filter((n) => taken.has(n));
            expect(shared).to.deep.equal([]);
            // The ECR creation template matches this stack's repository only (ECR appends "/" to a prefix), never the registry's ROOT.
            const template = ofType(march, T.repositoryCreationTemplate)[0];
            expect(template.props.prefix).to.equal(`genie-${label}`);
            expect(ofType(march, T.repository)[0].props.name).to.equal(`genie-${label}/genie-ai-server`);
        });

        it("production and dr are unchanged: protected, retained, deletion protection, final snapshots, fixed names of their site", async () => {
            for (const name of ["production", "dr"] as const) {
                const ev = await stack(name);
                // The status page's bucket and key are protected, not retained (their content is rebuilt by its function).
                const statusPage = (r: RecordedResource) => /-status-/.test(r.name);
                for (const r of [...ofType(ev, T.bucket), ...ofType(ev, T.backupVault), ...ofType(ev, T.kmsKey)].filter((x) => !statusPage(x))) {
                    expect(r.opts, `${name} ${r.type} ${r.name}`).to.include({ protect: true, retainOnDelete: true });
                    expect(r.props.forceDestroy, `${name} ${r.name}`).to.not.equal(true);
                }
                for (const db of ofType(ev, T.dbInstance)) expect(db.props, db.name).to.include({ deletionProtection: true, deleteAutomatedBackups: false });
                for (const key of ofType(ev, T.kmsKey)) expect(key.props.deletionWindowInDays, key.name).to.equal(30);
                const site = name === "production" ? "genie-primary" : "genie-dr";
                expect(fixedNames(ev).filter(({ r }) => r.type === T.backupVault).map(({ name: n }) => n)).to.include(`${site}-backup-vault`);
            }
        });
    });

    describe("the policy pack on the deploy test's up", () => {
        it("runs exactly the rules the ephemeral stack breaks on purpose advisory; every other rule stays mandatory and passes", async () => {
            const ev = await ephemeral(MARCH);
            const rules = ephemeralAdvisoryRules(deployTestConfig(SANDBOX));
            const strict = await checkPolicies(ev);
            const failing = new Set(strict.result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy));
            // Without the config the pack refuses the up, for those rules only.
            expect([...failing].sort()).to.deep.equal(Object.keys(rules).sort());
            const relaxed = await checkPolicies(ev, ephemeralPackConfig(rules));
            expect(relaxed.problems).to.deep.equal([]);
            // Still reported, visibly, as advisories.
            expect(new Set(relaxed.result.violations.map((v) => v.policy))).to.deep.equal(failing);
            // With a verified SMS number the alert-channels rule stays mandatory.
            expect(ephemeralAdvisoryRules(deployTestConfig({ ...SANDBOX, DEPLOY_TEST_ALERT_SMS: "+15555550100" }))).to.not.have.property("alert-channels");
        });
    });
});
