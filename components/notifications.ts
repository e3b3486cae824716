import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SNS_PUBLISHING_SERVICES } from "./keys";

/** Alert severities, each a topic. The plan: "Immediate" alerts are critical. */
export const SEVERITIES = ["critical", "high", "warning"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface NotificationsArgs {
    /** The region's key: the topics are encrypted with it (its policy lets CloudWatch, EventBridge and AWS Backup publish). */
    kmsKeyArn: pulumi.Input<string>;
    /** Subscribed to every topic: the plan's primary channel. */
    emails: string[];
    /** Paged by SMS on critical alerts only: the plan's emergency channel. */
    smsNumbers: string[];
    /** The plan's secondary channel, through AWS Chatbot: every topic goes to the channel. */
    slack?: { workspaceId: string; channelId: string };
    /**
     * The severities to create topics for (default: all). A region that hosts only some alarms (us-east-1
     * for Route 53 health-check alarms on a site elsewhere) needs only their severities: an alarm can
     * notify only a topic of its own region.
     */
    severities?: readonly Severity[];
}

/**
 * Where alerts go, by severity (the plan's "Alert Channels"): an encrypted SNS topic per severity;
 * email on all of them, SMS on critical, Slack (AWS Chatbot, read-only guardrail) on all when
 * configured. Email subscriptions stay pending until each recipient confirms (AWS).
 */
export class Notifications extends pulumi.ComponentResource {
    /** The topic of each severity this component was asked for (all of them by default). */
    readonly topicArns: Record<Severity, pulumi.Output<string>>;

    constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:monitoring:Notifications", name, {}, opts);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);

        const severities = args.severities ?? SEVERITIES;
        const topics = {} as Record<Severity, aws.sns.Topic>;
        for (const severity of severities) {
            const topic = new aws.sns.Topic(`${name}-${severity}`, {
                name: `${name}-${severity}`,
                displayName: `Genie ${severity} alerts`,
                kmsMasterKeyId: args.kmsKeyArn,
            }, parent);
            // Who may publish: this account's alarms, events, RDS event subscriptions and backup vaults.
            new aws.sns.TopicPolicy(`${name}-${severity}`, {
                arn: topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Sid: "ServicesOfThisAccountPublish",
                        Effect: "Allow",
                        Principal: { Service: [...SNS_PUBLISHING_SERVICES] },
                        Action: "sns:Publish",
                        Resource: topic.arn,
                        Condition: { StringEquals: { "aws:SourceAccount": identity.accountId } },
                    }],
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

        if (args.slack) {
            const chatbotRole = new aws.iam.Role(`${name}-chatbot`, {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "chatbot.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                managedPolicyArns: ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"],
            }, parent);
            new aws.chatbot.SlackChannelConfiguration(`${name}-slack`, {
                configurationName: `${name}-slack`,
                slackTeamId: args.slack.workspaceId,
                slackChannelId: args.slack.channelId,
                iamRoleArn: chatbotRole.arn,
                guardrailPolicyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                snsTopicArns: severities.map((s) => topics[s].arn),
                loggingLevel: "ERROR",
            }, parent);
        }

        this.topicArns = Object.fromEntries(severities.map((s) => [s, topics[s].arn])) as Record<Severity, pulumi.Output<string>>;
        this.registerOutputs({ topicArns: this.topicArns });
    }
}
