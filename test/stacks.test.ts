import { expect } from "chai";
import { EvaluationError } from "../offline/mock-runtime";
import { isRegional } from "../offline/plan";
import { ofType, stack, stackWith } from "./support/stacks";

describe("both stacks", () => {
    it("production evaluates: the primary site in us-east-1 and the landing zone provider in us-west-2", async () => {
        const ev = await stack("production");
        const providers = ofType(ev, "pulumi:providers:aws");
        expect(providers.map((p) => [p.name, p.region])).to.deep.equal([
            ["primary-region", "us-east-1"],
            ["dr-landing-zone-region", "us-west-2"],
        ]);
        expect(ev.outputs.siteRegion).to.equal("us-east-1");
    });

    it("dr evaluates: every resource in us-west-2", async () => {
        const ev = await stack("dr");
        const regions = new Set(ev.resources.filter(isRegional).map((r) => r.region));
        expect([...regions]).to.deep.equal(["us-west-2"]);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: no AWS resource falls back to the default provider`, async () => {
            const ev = await stack(name);
            const aws = ev.resources.filter(isRegional);
            expect(aws.length).to.be.greaterThan(10);
            const onDefault = aws.filter((r) => r.provider === undefined || r.region === undefined);
            expect(onDefault.map((r) => `${r.type} ${r.name}`)).to.deep.equal([]);
            // Data sources too: every invoke went to an explicit provider with a region.
            expect(ev.invokes.filter((i) => i.region === undefined)).to.deep.equal([]);
        });

        it(`${name}: every provider tags what it creates with app, stack and site`, async () => {
            const ev = await stack(name);
            for (const provider of ofType(ev, "pulumi:providers:aws")) {
                const tags = JSON.parse(provider.props.defaultTags).tags;
                expect(tags).to.include({ app: "genie-ai-server", stack: name });
                expect(tags.site).to.be.a("string").with.length.greaterThan(0);
            }
        });
    }

    it("production: every resource meant for the DR region uses the DR region's provider", async () => {
        const ev = await stack("production");
        const drProvider = ofType(ev, "pulumi:providers:aws").find((p) => p.region === "us-west-2")!;
        const inDr = ev.resources.filter((r) => isRegional(r) && r.region === "us-west-2");
        for (const r of inDr) expect(r.provider, r.name).to.equal(drProvider.urn);
        // Naming convention: DR landing-zone resources carry "-dr-" in their names, and only they do.
        const namedDr = ev.resources.filter((r) => isRegional(r) && /(^|-)dr(-|$)/.test(r.name));
        expect(namedDr.filter((r) => r.region !== "us-west-2").map((r) => r.name)).to.deep.equal([]);
    });

    it("bad config fails before any resource is declared", async () => {
        let error: unknown;
        try {
            await stackWith("production", { config: { drRegion: "us-east-1" } });
        } catch (err) {
            error = err;
        }
        expect(error).to.be.instanceOf(EvaluationError);
        expect((error as Error).message).to.match(/genie-infra:drRegion = "us-east-1": must differ/);
    });
});
