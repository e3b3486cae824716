import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SNS_PUBLISHING_SERVICES } from "./keys";
import { serviceTrustPolicy } from "./iam";

/** The service principal of AWS Backup's vault notifications. */
const BACKUP_SERVICE = "backup.amazonaws.com";

/** Alert severities, each a topic. The plan: "Immediate" alerts are critical. */
export const SEVERITIES = ["critical", "high", "warning"] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * The regions that serve AWS Chatbot's API, and so the only regions a channel configuration can be
 * created through. AWS Chatbot API Reference, "Welcome": "AWS Chatbot APIs are currently available in
 * the following Regions: US East (Ohio) - us-east-2, US West (Oregon) - us-west-2, Asia Pacific
 * (Singapore) - ap-southeast-1, Europe (Ireland) - eu-west-1"
 * (https://docs.aws.amazon.com/chatbot/latest/APIReference/Welcome.html).
 */
export const CHATBOT_REGIONS = ["us-east-2", "us-west-2", "ap-southeast-1", "eu-west-1"] as const;
export type ChatbotRegion = (typeof CHATBOT_REGIONS)[number];

export interface NotificationsArgs {
    /** The region's key: the topics are encrypted with it (its policy lets CloudWatch, EventBridge and AWS Backup publish). */
    kmsKeyArn: pulumi.Input<string>;
    /**
     * The account the topics' publishers must belong to (`aws:SourceAccount`). Give it when the
     * component's provider must not be asked (a region that may be down: see infra/providers.ts);
     * otherwise it is read through the component's provider.
     */
    accountId?: pulumi.Input<string>;
    /** Subscribed to every topic: the plan's primary channel. */
    emails: string[];
    /** Paged by SMS on critical alerts only: the plan's emergency channel. */
    smsNumbers: string[];
    /**
     * The severities to create topics for (default: all). A region that hosts only some alarms (us-east-1
     * for Route 53 health-check alarms on a site elsewhere) needs only their severities: an alarm can
     * notify only a topic of its own region.
     */
    severities?: readonly Severity[];
}

/**
 * Where alerts go, by severity (the plan's "Alert Channels"): an encrypted SNS topic per severity;
 * email on all of them, SMS on critical. Slack is one {@link SlackChannel} per stack, listing the
 * topics of every region. Email subscriptions stay pending until each recipient confirms (AWS).
 */
export class Notifications extends pulumi.ComponentResource {
    /** The topic of each severity this component was asked for (all of them by default). */
    readonly topicArns: Record<Severity, pulumi.Output<string>>;

    constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:Notifications", name, {}, opts);
        const parent = { parent: this };
        const accountId = args.accountId ?? aws.getCallerIdentityOutput({}, parent).accountId;

        const severities = args.severities ?? SEVERITIES;
        const topics = {} as Record<Severity, aws.sns.Topic>;
        for (const severity of severities) {
            const topic = new aws.sns.Topic(`${name}-${severity}`, {
                name: `${name}-${severity}`,
                displayName: `Genie ${severity} alerts`,
                kmsMasterKeyId: args.kmsKeyArn,
            }, parent);
            // Who may publish: this account's alarms, events and RDS event subscriptions; the backup
            // vaults with the statement AWS Backup documents ("Notification options with AWS Backup",
            // "Specifying AWS Backup as a service principal": Principal backup.amazonaws.com, Action
            // SNS:Publish, Resource the topic), with the aws:SourceAccount condition its "Cross-service
            // confused deputy prevention" page recommends (AWS Backup sends the vault's account and ARN
            // when it publishes). AWS Backup only notifies topics of the vault's own account: "While the
            // Amazon SNS service allows cross-account notifications, AWS Backup does not currently
            // support this feature".
            new aws.sns.TopicPolicy(`${name}-${severity}`, {
                arn: topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "ServicesOfThisAccountPublish",
                            Effect: "Allow",
                            Principal: { Service: SNS_PUBLISHING_SERVICES.filter((s) => s !== BACKUP_SERVICE) },
                            Action: "sns:Publish",
                            Resource: topic.arn,
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        },
                        {
                            Sid: "BackupVaultsPublish",
                            Effect: "Allow",
                            Principal: { Service: BACKUP_SERVICE },
                            Action: "SNS:Publish",
                            Resource: topic.arn,
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        },
                    ],
                }),
            }, parent);
            topics[severity] = topic;
            args.emails.forEach((email, i) =>
                new aws.sns.TopicSubscription(`${name}-${severity}-email-${i}`, { topic: topic.arn, protocol: "email", endpoint: email }, parent));
            if (severity === "critical") {
                args.smsNumbers.forEach((phone, i) =>
                    new aws.sns.TopicSubscription(`${name}-${severity}-sms-${i}`, { topic: topic.arn, protocol: "sms", endpoint: phone }, parent));
            }
        }

        this.topicArns = Object.fromEntries(severities.map((s) => [s, topics[s].arn])) as Record<Severity, pulumi.Output<string>>;
        this.registerOutputs({ topicArns: this.topicArns });
    }
}

export interface SlackChannelArgs {
    /** The authorised Slack workspace (team) and the channel (from config). */
    slack: { workspaceId: string; channelId: string };
    /** Every alert topic of the stack, of any region: one configuration lists them all. */
    topicArns: pulumi.Input<string>[];
    /**
     * Where earlier versions of this program declared the channel configuration (the component it was
     * a child of and its name there), so that a stack upgraded from them moves that configuration here
     * instead of creating a second one of the same channel, which Chatbot refuses.
     */
    previously?: { parent: pulumi.Resource; name: string }[];
}

/**
 * The plan's secondary channel: the stack's alert topics in one Slack channel through AWS Chatbot.
 *
 * - Created through a provider of one of {@link CHATBOT_REGIONS}, the regions with Chatbot's API
 *   (config `chatbotRegion`): explicit about where the calls go. Through a provider of another region
 *   it would work too, the provider sending the calls to us-west-2 ("If not default to us-west-2",
 *   terraform-provider-aws internal/service/chatbot/service_package.go); only clients without that
 *   fallback, like the AWS CLI, fail there (aws/aws-cli#8658). The configuration may list SNS topics of
 *   any region (the configuration data "is stored in each of the relevant available Regions", Chatbot
 *   API Reference, Welcome).
 * - ONE configuration per stack, listing every region's topics: Chatbot takes one configuration per
 *   Slack channel and account ("there is no way of creating multiple SlackChannelConfiguration for the
 *   same channel id. However, we do support multiple sns topic arns", AWS in
 *   aws-cloudformation/cloudformation-coverage-roadmap#1155). So two stacks of one account need two
 *   Slack channels.
 * - Encrypted topics: SNS decrypts for delivery; only publishers need the topic's key (SNS developer
 *   guide, "Key management": KMS requests scale with "the number of publishing principals"). Chatbot
 *   needs no key grant.
 * - The channel role and the guardrail are both CloudWatch read-only: the channel shows alarms and
 *   graphs and can change nothing, and no channel member reads the backups bucket through it.
 * - Replaced delete-first (`deleteBeforeReplace`): Pulumi otherwise creates the replacement before
 *   deleting the old configuration, and Chatbot refuses a second configuration of the channel ("Slack
 *   channel with ID ... has already been configured for AWS account", cloudcomponents/cdk-constructs#92)
 *   or a second use of the name. An upgrade from the version that declared the configuration inside
 *   {@link Notifications} (`<notifications>-slack`, through the site's provider) finds it through
 *   `previously` (aliases): the provider change replaces it, old one first, and the channel is without
 *   a configuration only between the two calls.
 */
export class SlackChannel extends pulumi.ComponentResource {
    readonly configurationArn: pulumi.Output<string>;

    constructor(name: string, args: SlackChannelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:SlackChannel", name, {}, opts);
        const parent = { parent: this };
        const readOnly = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess";
        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: serviceTrustPolicy("chatbot.amazonaws.com"),
            managedPolicyArns: [readOnly],
        }, parent);
        const configuration = new aws.chatbot.SlackChannelConfiguration(name, {
            configurationName: name,
            slackTeamId: args.slack.workspaceId,
            slackChannelId: args.slack.channelId,
            iamRoleArn: role.arn,
            guardrailPolicyArns: [readOnly],
            snsTopicArns: args.topicArns,
            loggingLevel: "ERROR",
        }, {
            parent: this,
            deleteBeforeReplace: true,
            aliases: (args.previously ?? []).map((p) => ({ name: p.name, parent: p.parent })),
        });
        this.configurationArn = configuration.chatConfigurationArn;
        this.registerOutputs({ configurationArn: this.configurationArn });
    }
}
