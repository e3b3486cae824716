import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { templateApplies } from "../../offline/aws-rules/ecr";
import { violationsOf, ruleIds } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then(ruleIds);

interface Variant {
    repository?: string;
    prefix?: string;
    role?: boolean;
    ordered?: boolean;
}

/** A repository replicated to us-west-2, where a creation template gives the replica its settings (the registry component's shape). */
function replicatedRepository(v: Variant = {}) {
    return () => {
        const primary = new aws.Provider("primary", { region: "us-east-1" });
        const dr = new aws.Provider("dr", { region: "us-west-2" });
        const name = v.repository ?? "genie-ai-server";
        new aws.ecr.Repository("repo", { name, imageTagMutability: "IMMUTABLE" }, { provider: primary });
        const template = new aws.ecr.RepositoryCreationTemplate("template", {
            prefix: v.prefix ?? "ROOT",
            appliedFors: ["REPLICATION"],
            imageTagMutability: "IMMUTABLE",
            encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: "arn:aws:kms:us-west-2:123456789012:key/dr" }],
            ...(v.role === false ? {} : { customRoleArn: "arn:aws:iam::123456789012:role/ecr-template" }),
        }, { provider: dr });
        new aws.ecr.ReplicationConfiguration("replication", {
            replicationConfiguration: {
                rules: [{
                    destinations: [{ region: "us-west-2", registryId: "123456789012" }],
                    repositoryFilters: [{ filter: name, filterType: "PREFIX_MATCH" }],
                }],
            },
        }, { provider: primary, dependsOn: v.ordered === false ? [] : [template] });
    };
}

describe("offline AWS rules: ECR", () => {
    it("a template prefix applies to <prefix>/...; ROOT to every repository", () => {
        expect(templateApplies("genie-ai-server", "genie-ai-server")).to.equal(false);
        expect(templateApplies("genie-ai-server", "genie-ai-server/api")).to.equal(true);
        expect(templateApplies("prod/", "prod/team1")).to.equal(true);
        expect(templateApplies("ROOT", "genie-ai-server")).to.equal(true);
    });

    it("refuses a creation template whose prefix is the replicated repository's own name (the original registry)", async () => {
        expect(await refusals(replicatedRepository({ prefix: "genie-ai-server" }))).to.deep.equal(["ecr-creation-template-prefix-matches"]);
        expect(await refusals(replicatedRepository())).to.deep.equal([]);
        // A namespace the repository really lives in matches.
        expect(await refusals(replicatedRepository({ repository: "genie/ai-server", prefix: "genie" }))).to.deep.equal([]);
    });

    it("refuses a KMS template without its repository creation role, and replication that can start before the template exists", async () => {
        expect(await refusals(replicatedRepository({ role: false }))).to.deep.equal(["ecr-creation-template-role"]);
        expect(await refusals(replicatedRepository({ ordered: false }))).to.deep.equal(["ecr-replication-after-creation-template"]);
    });
});
