/**
 * The harness reproduces what @pulumi/policy 1.21 does in a real `pulumi preview` with values that are
 * not known yet (server.js, proxy.js): props reach the rules through the package's own
 * `unknownCheckingProxy`; reading an unknown value throws its `UnknownValueError`, which the engine
 * turns into ONE advisory "can't run policy ... during preview" for that validation (resource rules)
 * or for the whole rule (stack rules), keeping what the rule reported before it. On a first
 * deployment the outputs AWS computes (ids, ARNs) are unknown, and so is every input computed from them.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { HarnessResource, PACK_NAME, PACK_VERSION, previewResources, runResourceRule, runRules, runStackRule } from "../policies/harness";
import { ALL_RULES } from "../policies/rules";
import { Rule } from "../policies/rules/common";
import { one, stack } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // proxy.js unknownStringValue
const BUCKET = AWS_TYPES.bucket;
const LIFECYCLE = AWS_TYPES.bucketLifecycle;
const urn = (type: string, name: string) => `urn:pulumi:test::genie-infra::${type}::${name}`;

/** A bucket being created and its lifecycle, whose `bucket` input is the bucket's id (as the program passes it). */
function createdBucket(): HarnessResource[] {
    const bucket: HarnessResource = {
        urn: urn(BUCKET, "data"),
        type: BUCKET,
        name: "data",
        id: "data-1a2b3c4",
        props: { bucket: "data-1a2b3c4" },
        outputs: { bucket: "data-1a2b3c4", arn: "arn:aws:s3:::data-1a2b3c4", id: "data-1a2b3c4" },
    };
    const lifecycle: HarnessResource = {
        urn: urn(LIFECYCLE, "data-lifecycle"),
        type: LIFECYCLE,
        name: "data-lifecycle",
        props: { bucket: "data-1a2b3c4", rules: [{ id: "keep", status: "Enabled", expiration: { days: 1 } }] },
        outputs: { bucket: "data-1a2b3c4", rules: [{ id: "keep", status: "Enabled", expiration: { days: 1 } }] },
        propertyDependencies: { bucket: [bucket.urn!], rules: [] },
        opts: { dependsOn: [bucket.urn!] },
    };
    return [bucket, lifecycle];
}

const stackRule = (name: string, validateStack: (args: any, report: any) => void): Rule => ({ name, description: name, enforcementLevel: "mandatory", validateStack }) as Rule;

describe("unknown values in a preview (the harness as @pulumi/policy 1.21's engine)", () => {
    it("names the pack as the engine does, from the pack's own package.json", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", "package.json"), "utf8"));
        expect(PACK_VERSION).to.equal(pkg.version);
        expect(fs.readFileSync(path.join(__dirname, "..", "policies", "index.ts"), "utf8")).to.include(`new PolicyPack("${PACK_NAME}"`);
        // The message the harness builds is the engine's own template (server.js).
        const server = fs.readFileSync(require.resolve("@pulumi/policy/server.js"), "utf8");
        expect(server).to.include("message: `can't run ${policyFrom} during preview: ${e.message}`");
        expect(server).to.include("const props = proxy_1.unknownCheckingProxy(deserd);");
    });

    it("makes a created resource's computed outputs unknown, and the inputs computed from them, and nothing else", () => {
        const [bucket, lifecycle] = previewResources(createdBucket(), { created: "all" });
        expect(bucket.outputs!.arn).to.equal(UNKNOWN_STRING);
        expect(bucket.outputs!.id).to.equal(UNKNOWN_STRING);
        expect(bucket.outputs!.bucket, "the name Pulumi assigns before the preview").to.equal("data-1a2b3c4");
        expect(bucket.props.bucket).to.equal("data-1a2b3c4");
        expect(lifecycle.props.bucket, "bucket: bucket.id").to.equal(UNKNOWN_STRING);
        expect(lifecycle.outputs!.bucket).to.equal(UNKNOWN_STRING);
        expect(lifecycle.props.rules).to.deep.equal([{ id: "keep", status: "Enabled", expiration: { days: 1 } }]);
        // Nothing is created: every value is known.
        const [known] = previewResources(createdBucket(), { created: [] });
        expect(known.outputs!.arn).to.equal("arn:aws:s3:::data-1a2b3c4");
    });

    it("turns a stack rule that reads an unknown value into ONE advisory with the engine's message, keeping what it reported before", async () => {
        const reads = stackRule("reads-arns", (args, report) => {
            report("a violation found before the unknown read");
            for (const r of args.resources) if (r.type === BUCKET && !String(r.props.arn).startsWith("arn:aws:s3:::")) report("not an S3 ARN");
        });
        const resources = previewResources(createdBucket(), { created: "all" });
        const result = await runStackRule(reads, resources);
        expect(result.errors).to.deep.equal([]);
        expect(result.violations.map((v) => [v.enforcementLevel, v.message])).to.deep.equal([
            ["mandatory", "a violation found before the unknown read"],
            ["advisory", `can't run policy 'reads-arns' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: string value at .arn can't be known during preview`],
        ]);
        // Deployed (nothing unknown), the same rule decides.
        const deployed = await runStackRule(reads, createdBucket());
        expect(deployed.violations.map((v) => v.enforcementLevel)).to.deep.equal(["mandatory"]);
    });

    it("turns only the resource validation that reads an unknown input advisory; the others stay mandatory", async () => {
        const rule: Rule = {
            name: "lifecycle-checks",
            description: "two validations",
            enforcementLevel: "mandatory",
            validateResource: [
                (args, report) => {
                    if (!String(args.props.bucket).startsWith("data")) report("wrong bucket");
                },
                (args, report) => {
                    if (args.props.rules[0].expiration.days < 30) report("expires too soon");
                },
            ],
        };
        const [, lifecycle] = previewResources(createdBucket(), { created: "all" });
        const result = await runResourceRule(rule, lifecycle);
        expect(result.violations.map((v) => [v.enforcementLevel, v.message])).to.deep.equal([
            ["advisory", `can't run policy 'lifecycle-checks' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: string value at .bucket can't be known during preview`],
            ["mandatory", "expires too soon"],
        ]);
    });

    it("gives stack rules the property dependencies that link a setting to its resource when its value is unknown", async () => {
        let linked: string[] = [];
        const links = stackRule("links", (args) => {
            const lc = args.resources.find((r: any) => r.type === LIFECYCLE);
            linked = lc.propertyDependencies.bucket.map((d: any) => d.name);
        });
        await runStackRule(links, previewResources(createdBucket(), { created: "all" }));
        expect(linked).to.deep.equal(["data"]);
    });

    it("on a first deployment of the production stack: unknown ARNs and ids, bucket settings unknown through bucket.id, property dependencies recorded", async () => {
        const ev = await stack("production");
        const lifecycle = ev.resources.find((r) => r.type === LIFECYCLE)!;
        const bucket = ev.resources.find((r) => r.urn === lifecycle.propertyDependencies?.bucket?.[0])!;
        expect(bucket, "the mock runtime records the request's property dependencies").to.not.equal(undefined);
        expect(bucket.type).to.equal(BUCKET);
        const preview = previewResources(ev.resources, { created: "all" });
        const at = (u: string) => preview.find((r) => r.urn === u)!;
        expect(at(bucket.urn).outputs!.arn).to.equal(UNKNOWN_STRING);
        expect(at(lifecycle.urn).props.bucket).to.equal(UNKNOWN_STRING);
        expect(at(bucket.urn).props.bucket, "its own name stays known").to.equal(bucket.props.bucket);
    });

    it("adding one bucket to a deployed stack makes only that bucket's computed values unknown", async () => {
        const ev = await stack("production");
        const buckets = ev.resources.filter((r) => r.type === BUCKET);
        const added = one(ev, BUCKET, /storage-uploads-bucket$/);
        const preview = previewResources(ev.resources, { created: [added.urn] });
        for (const b of buckets) {
            const arn = preview.find((r) => r.urn === b.urn)!.outputs!.arn;
            if (b.urn === added.urn) expect(arn, b.name).to.equal(UNKNOWN_STRING);
            else expect(arn, b.name).to.equal(b.outputs.arn);
        }
    });

    it("runs the whole pack over a first deployment without a rule error: every finding is a violation or the engine's advisory", async () => {
        const ev = await stack("production");
        const result = await runRules(ALL_RULES, ev, {}, { preview: { created: "all" } });
        expect(result.errors).to.deep.equal([]);
        const deployed = await runRules(ALL_RULES, ev);
        // Whatever the preview cannot decide is advisory; it never invents a mandatory finding the deployed state lacks.
        const key = (v: { policy: string; urn?: string; message: string }) => `${v.policy} ${v.urn ?? ""} ${v.message}`;
        const deployedMandatory = new Set(deployed.violations.filter((v) => v.enforcementLevel === "mandatory").map(key));
        for (const v of result.violations.filter((x) => x.enforcementLevel === "mandatory")) expect(deployedMandatory.has(key(v)), key(v)).to.equal(true);
    });

    it("decides each repository's lifecycle on its own: one policy document unknown in a preview leaves another repository's missing policy mandatory", async () => {
        const REPO = AWS_TYPES.repository;
        const POLICY = AWS_TYPES.repositoryLifecycle;
        const resources: HarnessResource[] = [
            { urn: urn(REPO, "a"), type: REPO, name: "a", props: { name: "a" } },
            { urn: urn(REPO, "b"), type: REPO, name: "b", props: { name: "b" } },
            { urn: urn(POLICY, "pa"), type: POLICY, name: "pa", props: { repository: "a", policy: UNKNOWN_STRING } },
        ];
        const rule = ALL_RULES.find((r) => r.name === "ecr-lifecycle-keeps-images")!;
        const result = await runStackRule(rule, resources);
        expect(result.errors).to.deep.equal([]);
        expect(result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message)).to.deep.equal([
            `${REPO} b: no lifecycle policy (fix: add aws.ecr.LifecyclePolicy { repository: repo.name, policy: rules [{ selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }] })`,
        ]);
        const advisory = result.violations.filter((v) => v.enforcementLevel === "advisory");
        expect(advisory.map((v) => v.message)).to.have.length(1);
        expect(advisory[0].message).to.match(/pa: its lifecycle policy: not decidable during preview/);
    });

    it("decides an alert's topics from the engine's property dependencies when the ARN list holds an unknown item", async () => {
        const TOPIC = AWS_TYPES.topic;
        const SUB = AWS_TYPES.topicSubscription;
        const ALARM = AWS_TYPES.metricAlarm;
        const resources: HarnessResource[] = [
            { urn: urn(TOPIC, "warning"), type: TOPIC, name: "genie-alerts-warning", props: { name: "genie-alerts-warning", arn: UNKNOWN_STRING } },
            { urn: urn(SUB, "warning-email"), type: SUB, name: "warning-email", props: { topic: UNKNOWN_STRING, protocol: "email", endpoint: "ops@example.com" }, propertyDependencies: { topic: [urn(TOPIC, "warning")] } },
            {
                urn: urn(ALARM, "db-down"),
                type: ALARM,
                name: "genie-monitoring-database-down",
                props: { alarmActions: [UNKNOWN_STRING], period: 60, evaluationPeriods: 3, treatMissingData: "breaching", tags: { alert: "database-down" } },
                propertyDependencies: { alarmActions: [urn(TOPIC, "warning")] },
            },
        ];
        const rule = ALL_RULES.find((r) => r.name === "alert-channels")!;
        const result = await runStackRule(rule, resources);
        expect(result.errors).to.deep.equal([]);
        // The critical alert routed to the warning topic (email only) lacks SMS: decided, mandatory, although every ARN is unknown.
        const mandatory = result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message);
        expect(mandatory.some((m) => /database-down, critical\) reaches email, not sms/.test(m)), mandatory.join("\n")).to.equal(true);
        expect(result.violations.filter((v) => v.enforcementLevel === "advisory" && /genie-monitoring-database-down/.test(v.message))).to.deep.equal([]);
    });
});
