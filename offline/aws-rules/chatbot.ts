/**
 * AWS Chatbot (now "Amazon Q Developer in chat applications"): what its API refuses at `pulumi up`
 * (see ./types.ts).
 */
import type { AwsRule } from "./types";
import { AWS_TYPES } from "../../policies/aws-types";

const SLACK = AWS_TYPES.slackChannel;
const TEAMS = AWS_TYPES.teamsChannel;

/**
 * The regions that serve Chatbot's API. AWS Chatbot API Reference, "Welcome"
 * (https://docs.aws.amazon.com/chatbot/latest/APIReference/Welcome.html): "AWS Chatbot APIs are
 * currently available in the following Regions: US East (Ohio) - us-east-2, US West (Oregon) -
 * us-west-2, Asia Pacific (Singapore) - ap-southeast-1, Europe (Ireland) - eu-west-1".
 *
 * No rule refuses a channel configuration through a provider of another region: the provider does not
 * call that region's (missing) endpoint but sends Chatbot calls to us-west-2 instead
 * (terraform-provider-aws internal/service/chatbot/service_package.go, `NewClient`: "Chatbot endpoint
 * is available only in the 4 regions us-east-2, us-west-2, eu-west-1, and ap-southeast-1. If the
 * region from the context is one of those four, then use that region. If not default to us-west-2").
 * Only a client without that fallback fails there (the AWS CLI: `Could not connect to the endpoint
 * URL: "https://chatbot.us-east-1.amazonaws.com/..."`, aws/aws-cli#8658).
 */
export const CHATBOT_API_REGIONS: readonly string[] = ["us-east-2", "us-west-2", "ap-southeast-1", "eu-west-1"];

export const rules: AwsRule[] = [
    {
        id: "chatbot-one-configuration-per-slack-channel",
        types: [SLACK],
        source:
            'AWS, aws-cloudformation/cloudformation-coverage-roadmap#1155: "there is no way of creating multiple SlackChannelConfiguration for the same channel id. However, we do support multiple sns topic arns"; ' +
            'the API answers "InvalidRequestException: Slack channel with ID <C…> in Slack team <T…> has already been configured for AWS account <…>" (cloudcomponents/cdk-constructs#92)',
        check(r, ctx) {
            const same = ctx
                .ofType(SLACK)
                .filter((o) => o.props.slackTeamId === r.props.slackTeamId && o.props.slackChannelId === r.props.slackChannelId);
            const first = same[0];
            if (first === undefined || first.urn === r.urn) return undefined;
            return (
                `Slack channel ${r.props.slackChannelId} of workspace ${r.props.slackTeamId} already has a channel configuration (${first.name}) in this account: ` +
                "Chatbot takes one configuration per channel and account; list every topic (of every region) in that one configuration"
            );
        },
    },
    {
        id: "chatbot-configuration-name",
        types: [SLACK, TEAMS],
        source:
            'AWS Chatbot API Reference, CreateSlackChannelConfiguration: ConfigurationName "Length Constraints: Minimum length of 1. Maximum length of 128. Pattern: ^[A-Za-z0-9-_]+$"; ' +
            'names are account-wide across regions: "The chat configuration with the name … already exists. Retry with a unique configuration name." (aws-samples/aws-securityhub-to-slack#11)',
        check(r, ctx) {
            const name = r.props.configurationName;
            if (typeof name !== "string") return undefined;
            if (!/^[A-Za-z0-9_-]{1,128}$/.test(name)) return `configurationName ${JSON.stringify(name)}: 1 to 128 letters, digits, '-' or '_'`;
            const first = [...ctx.ofType(SLACK), ...ctx.ofType(TEAMS)].find((o) => o.props.configurationName === name);
            if (first && first.urn !== r.urn) return `configurationName ${JSON.stringify(name)} is already used by ${first.name}: chat configuration names are unique in the account, whatever the region`;
            return undefined;
        },
    },
];
