import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { CHATBOT_REGIONS as PROGRAM_CHATBOT_REGIONS } from "../../components/notifications";
import { CHATBOT_API_REGIONS } from "../../offline/aws-rules/chatbot";
import { listStacks, loadEngineConfig } from "../../offline/mock-runtime";
import { violationsOf, ruleAndName } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then(ruleAndName);

const ROLE = "arn:aws:iam::123456789012:role/chatbot";
const channel = (name: string, provider: aws.Provider, extra: Partial<aws.chatbot.SlackChannelConfigurationArgs> = {}) =>
    new aws.chatbot.SlackChannelConfiguration(name, {
        configurationName: name,
        slackTeamId: "T0ABCDEF1",
        slackChannelId: "C0ABCDEF1",
        iamRoleArn: ROLE,
        snsTopicArns: ["arn:aws:sns:us-east-1:123456789012:alerts-critical", "arn:aws:sns:us-west-2:123456789012:alerts-critical"],
        ...extra,
    }, { provider });
const provider = (name: string, region: string) => new aws.Provider(name, { region: region as aws.Region });

describe("aws-rules: AWS Chatbot", () => {
    it("refuses the original dr stack: a second configuration of the same Slack channel (the us-east-1 provider's calls went to us-west-2 all the same)", async () => {
        const found = await refusals(() => {
            channel("genie-dr-alerts-slack", provider("dr-region", "us-west-2"));
            channel("genie-dr-global-metrics-alerts-slack", provider("global-metrics-region", "us-east-1"));
        });
        expect(found).to.deep.equal(["chatbot-one-configuration-per-slack-channel genie-dr-global-metrics-alerts-slack"]);
    });

    it("accepts a configuration through a provider of any region: the provider sends Chatbot calls to us-west-2 outside the four API regions", async () => {
        // terraform-provider-aws internal/service/chatbot/service_package.go: "If not default to us-west-2".
        expect(await refusals(() => channel("through-us-east-1", provider("east", "us-east-1")))).to.deep.equal([]);
        expect(await refusals(() => channel("through-eu-central-1", provider("frankfurt", "eu-central-1")))).to.deep.equal([]);
        for (const region of CHATBOT_API_REGIONS) expect(await refusals(() => channel(`through-${region}`, provider(region, region))), region).to.deep.equal([]);
        expect(await refusals(() => channel("overridden", provider("oregon", "us-west-2"), { region: "us-east-1" }))).to.deep.equal([]);
    });

    it("chatbot-one-configuration-per-slack-channel: one configuration per Slack channel; other channels are fine", async () => {
        const oregon = () => provider("oregon", "us-west-2");
        expect(await refusals(() => {
            const p = oregon();
            channel("first", p);
            channel("second", p);
        })).to.deep.equal(["chatbot-one-configuration-per-slack-channel second"]);
        expect(await refusals(() => {
            const p = oregon();
            channel("first", p);
            channel("second", p, { slackChannelId: "C0ABCDEF2" });
        })).to.deep.equal([]);
    });

    it("chatbot-configuration-name: letters, digits, '-' and '_', at most 128, unique in the account", async () => {
        expect(await refusals(() => channel("bad", provider("oregon", "us-west-2"), { configurationName: "genie alerts!" }))).to.deep.equal(["chatbot-configuration-name bad"]);
        expect(await refusals(() => channel("long", provider("oregon", "us-west-2"), { configurationName: "x".repeat(129) }))).to.deep.equal(["chatbot-configuration-name long"]);
        expect(await refusals(() => {
            channel("a", provider("oregon", "us-west-2"), { configurationName: "same" });
            channel("b", provider("ohio", "us-east-2"), { configurationName: "same", slackChannelId: "C0ABCDEF2" });
        })).to.deep.equal(["chatbot-configuration-name b"]);
    });

    it("the program's list of Chatbot regions is AWS's", () => {
        expect([...PROGRAM_CHATBOT_REGIONS].sort()).to.deep.equal([...CHATBOT_API_REGIONS].sort());
    });

    it("the stacks of this project (one account) do not share a Slack channel: Chatbot takes one configuration per channel", () => {
        const channels = listStacks()
            .map((s) => ({ stack: s, config: loadEngineConfig(s).config }))
            .map(({ stack, config }) => ({ stack, channel: config[`genie-infra:slackWorkspaceId`] && `${config["genie-infra:slackWorkspaceId"]}/${config["genie-infra:slackChannelId"]}` }))
            .filter((c) => c.channel);
        expect(new Set(channels.map((c) => c.channel)).size, JSON.stringify(channels)).to.equal(channels.length);
    });
});
