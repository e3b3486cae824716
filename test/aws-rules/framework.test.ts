import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { evaluateStack, EvaluationError, RecordedResource } from "../../offline/mock-runtime";
import { AWS_RULES, AwsRule, checkAwsRules, ruleContext } from "../../offline/aws-rules";
import { checkTransition, REFUSED_UPDATES, REPLACE_ON_CHANGE } from "../../offline/aws-rules/transitions";
import { AWS_TYPES } from "../../policies/aws-types";

/** A rule for these tests only: refuses a bucket named "refused". */
const REFUSE_NAMED: AwsRule = {
    id: "test-refuse-named",
    types: [AWS_TYPES.bucket],
    source: "this test",
    check: (r) => (r.props.bucket === "refused" ? "a bucket may not be named refused" : undefined),
};

class Box extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("genie:test:Box", name, {}, opts);
        new aws.s3.Bucket(`${name}-inner`, {}, { parent: this });
        this.registerOutputs({});
    }
}

function program() {
    const p = new aws.Provider("test-region", { region: "eu-west-1" });
    const a = new aws.s3.Bucket("a", { bucket: "refused" }, { provider: p });
    const b = new aws.s3.Bucket("b", { tags: { after: a.arn } }, { provider: p });
    const box = new Box("box", { providers: [p] });
    new aws.s3.Bucket("c", {}, { provider: p, dependsOn: [b, box] });
}

describe("offline AWS rules: the framework", () => {
    it("a violation fails the evaluation like a failed pulumi up, naming the rule, the resource and the source", async () => {
        const rules = AWS_RULES as AwsRule[];
        rules.push(REFUSE_NAMED);
        try {
            const err = await evaluateStack("production", { program }).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err).to.be.instanceOf(EvaluationError);
            const violations = (err as EvaluationError).violations;
            expect(violations.map((v) => [v.rule, v.name])).to.deep.equal([["test-refuse-named", "a"]]);
            expect(err!.message).to.include("[aws:test-refuse-named] aws:s3/bucket:Bucket a: a bucket may not be named refused (source: this test)");
        } finally {
            rules.splice(rules.indexOf(REFUSE_NAMED), 1);
        }
    });

    it("the context follows dependencies at any depth, through inputs, dependsOn and components", async () => {
        const ev = await evaluateStack("production", { program });
        const ctx = ruleContext(ev.resources);
        const byName = (n: string) => ev.resources.find((r) => r.name === n)!;
        const isNamed = (n: string) => (r: RecordedResource) => r.name === n;
        expect(ctx.dependsOn(byName("b"), isNamed("a")), "b reads a's arn").to.equal(true);
        expect(ctx.dependsOn(byName("c"), isNamed("a")), "c -> b -> a").to.equal(true);
        expect(ctx.dependsOn(byName("c"), isNamed("box-inner")), "c depends on the component holding box-inner").to.equal(true);
        expect(ctx.dependsOn(byName("a"), isNamed("c"))).to.equal(false);
        expect(ctx.resolve("arn:aws:s3:::refused")?.name).to.equal("a");
        expect(checkAwsRules(ev.resources, [REFUSE_NAMED]).map((v) => v.name)).to.deep.equal(["a"]);
    });

    it("a transition that changes a replace-on-change input of a protected resource is refused; of an unprotected one it is not", () => {
        const type = "test:index/thing:Thing";
        REPLACE_ON_CHANGE[type] = { inputs: ["kmsKeyId"], source: "this test" };
        try {
            const thing = (kmsKeyId: string, protect: boolean): RecordedResource => ({
                urn: "urn:pulumi:dr::genie-infra::test:index/thing:Thing::t",
                type,
                name: "t",
                custom: true,
                props: { kmsKeyId, size: 1 },
                secretProps: [],
                outputs: {},
                opts: { protect, retainOnDelete: false, dependsOn: [], deleteBeforeReplace: false, ignoreChanges: [] },
            });
            expect(checkTransition([thing("k1", true)], [thing("k2", true)]).map((v) => v.rule)).to.deep.equal(["no-replacement-of-protected"]);
            expect(checkTransition([thing("k1", true)], [thing("k1", true)])).to.deep.equal([]);
            expect(checkTransition([thing("k1", false)], [thing("k2", false)])).to.deep.equal([]);
        } finally {
            delete REPLACE_ON_CHANGE[type];
        }
    });

    it("every rule and every refused update names its source", () => {
        for (const rule of [...AWS_RULES, ...REFUSED_UPDATES]) expect(rule.source, rule.id).to.be.a("string").with.length.greaterThan(10);
        for (const [type, r] of Object.entries(REPLACE_ON_CHANGE)) expect(r.source, type).to.be.a("string").with.length.greaterThan(10);
    });
});

describe("offline AWS rules: what the referenced production stack already declares", () => {
    it("a dr evaluation sees the production stack's resources: a restored database with a key other than its backups' is refused", async () => {
        const err = await evaluateStack("dr", {
            config: {
                siteRole: "active",
                dbRecoverySource: "latest-backup",
                primaryDatabaseBackupsKmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/some-other-key",
            },
        }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err, "the dr stack evaluated although its restored database declares a key the restore cannot apply").to.be.instanceOf(EvaluationError);
        expect((err as EvaluationError).violations.map((v) => `${v.rule} ${v.name}`)).to.deep.equal(["rds-restore-keeps-source-key genie-dr-db-instance"]);
    });

    it("what already exists needs no ordering, and lookups find it after this stack's own resources", () => {
        const made = (name: string, type: string, props: Record<string, unknown> = {}): RecordedResource => ({
            urn: `urn:pulumi:s::p::${type}::${name}`,
            type,
            name,
            custom: true,
            id: name,
            props,
            secretProps: [],
            outputs: { arn: `arn:${name}` },
            opts: { protect: false, retainOnDelete: false, dependsOn: [], deleteBeforeReplace: false, ignoreChanges: [] },
        });
        const role = made("role", AWS_TYPES.serviceLinkedRole);
        const grant = made("grant", AWS_TYPES.kmsGrant);
        const alone = ruleContext([grant]);
        expect(alone.dependsOn(grant, (r) => r.name === "role")).to.equal(false);
        expect(alone.resolve("arn:role")).to.equal(undefined);
        const withProduction = ruleContext([grant], {}, [role]);
        expect(withProduction.dependsOn(grant, (r) => r.name === "role")).to.equal(true);
        expect(withProduction.resolve("arn:role")?.name).to.equal("role");
        expect(withProduction.ofType(AWS_TYPES.serviceLinkedRole).map((r) => r.name)).to.deep.equal(["role"]);
    });
});
