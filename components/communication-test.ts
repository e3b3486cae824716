import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DR_PLAN } from "../infra/dr-plan";
import type { Severity } from "./notifications";
import { ChatbotNotification, INCIDENT_SEVERITIES, SEVERITY_LEVELS } from "./severity";
import { serviceTrustPolicy } from "./iam";

/** The communication test runs at this hour (UTC) on the first Tuesday of its months. */
export const COMMUNICATION_TEST_HOUR_UTC = 15;
/** The status page's test component shows "under test" this long. */
export const STATUS_TEST_MINUTES = 60;

/** The months (1-12) of a test repeated every `intervalMonths` months from January. */
export function testMonths(intervalMonths: number): number[] {
    if (!Number.isInteger(intervalMonths) || intervalMonths < 1 || 12 % intervalMonths !== 0) throw new Error(`a test every ${intervalMonths} months: must divide 12`);
    return Array.from({ length: 12 / intervalMonths }, (_, i) => 1 + i * intervalMonths);
}

/**
 * EventBridge Scheduler cron (minutes hours day-of-month month day-of-week year): the first Tuesday of the
 * plan's months. Scheduler user guide, "Schedule types", cron expressions: day-of-week 1-7 = SUN-SAT,
 * "#": "3#2 ... the second Tuesday of the month"; one of day-of-month or day-of-week must be "?".
 */
export function communicationTestCron(minuteOffset = 0): string {
    const hour = COMMUNICATION_TEST_HOUR_UTC + Math.floor(minuteOffset / 60);
    return `cron(${minuteOffset % 60} ${hour} ? ${testMonths(DR_PLAN.communicationTestIntervalMonths).join(",")} 3#1 *)`;
}

/**
 * The test message of a topic: clearly marked, naming the severities whose channel it proves and the
 * stack's topic (site, region) it went through, so a recipient of several tells them apart.
 *
 * Published with MessageStructure "json", one message per protocol (SNS developer guide, "Amazon SNS
 * message publishing": "Send different messages for each protocol": the message is a JSON object with a
 * `default` string and one per protocol): e-mail and SMS get plain text; Slack's subscription (AWS
 * Chatbot's HTTPS endpoint) and any other gets a Chatbot custom notification, the only form Chatbot posts
 * of a message it does not know (components/severity.ts, {@link ChatbotNotification}).
 */
export function testMessage(topic: Severity, where: string): { subject: string; text: string; sms: string; chatbot: ChatbotNotification } {
    const severities = INCIDENT_SEVERITIES.filter((s) => SEVERITY_LEVELS[s].topic === topic);
    const channel = `the ${severities.join("/")} channel (${topic} topic of ${where})`;
    const text = `${TEST_MARK} Genie communication test (every ${DR_PLAN.communicationTestIntervalMonths} months, plan "Communication plan test"): ${channel}. No incident, no action: confirm receipt as docs/operations.md "Incident response and communication" says.`;
    return {
        // SNS Publish: Subject "must be ASCII text ... and must be less than 100 characters long".
        subject: `${TEST_MARK} Genie communication test: ${topic} (${where})`.slice(0, 99),
        text,
        sms: `${TEST_MARK} Genie communication test: ${severities.join("/")} SMS (${where}). No incident, no action.`,
        chatbot: {
            version: "1.0",
            source: "custom",
            content: {
                textType: "client-markdown",
                title: `${TEST_MARK} Genie communication test: ${severities.join("/")} (${topic})`,
                description: text,
                nextSteps: ["No incident, no action", 'Confirm receipt: docs/operations.md "Incident response and communication"'],
                keywords: ["test", ...severities],
            },
            metadata: { eventType: "communication-test", additionalContext: { topic, where } },
        },
    };
}

/** The start of every test message. */
export const TEST_MARK = "[TEST]";

/**
 * EventBridge Scheduler's universal target for SNS Publish (Scheduler user guide, "Using universal
 * targets": `arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`, the input is the API's request): unlike
 * the templated SNS target, which publishes the input as one message, it can set MessageStructure.
 */
export const SNS_PUBLISH_TARGET = "arn:aws:scheduler:::aws-sdk:sns:publish";

/** The SNS Publish request of a topic's test. */
export function testPublishRequest(topic: Severity, where: string, topicArn: pulumi.Input<string>): pulumi.Output<string> {
    const m = testMessage(topic, where);
    const chatbot = JSON.stringify(m.chatbot);
    return pulumi.jsonStringify({
        TopicArn: topicArn,
        Subject: m.subject,
        MessageStructure: "json",
        Message: JSON.stringify({ default: chatbot, https: chatbot, email: m.text, sms: m.sms }),
    });
}

export interface CommunicationTestArgs {
    /** Whose topics these are, named in the messages: `<site>, <region>` (e.g. "genie-primary, us-east-1"). */
    where: string;
    /** The alert topics to test, by tier (each reaches its severities' channels: email, SMS on critical, Slack). */
    topicArns: Partial<Record<Severity, pulumi.Input<string>>>;
    /** The key the topics are encrypted with: the scheduler's role encrypts with it to publish. */
    kmsKeyArn: pulumi.Input<string>;
    /** The status page's function (dr stack): its "Communication test" component is marked during the test. */
    statusFunctionArn?: pulumi.Input<string>;
    enabled: boolean;
}

/**
 * The plan's quarterly "Communication plan test: Test notification systems": EventBridge Scheduler
 * publishes a marked test message to each alert topic given (so every severity's channels: email, SMS,
 * Slack; one component per region, since a schedule publishes in its own region) and marks the status
 * page's test component, so a broken or unconfirmed subscription is found before an incident.
 */
export class CommunicationTest extends pulumi.ComponentResource {
    readonly scheduleNames: pulumi.Output<string>[];

    constructor(name: string, args: CommunicationTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:communication:CommunicationTest", name, {}, opts);
        const parent = { parent: this };
        const topics = Object.entries(args.topicArns) as [Severity, pulumi.Input<string>][];
        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: serviceTrustPolicy("scheduler.amazonaws.com"),
        }, parent);
        new aws.iam.RolePolicy(`${name}-role`, {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: "sns:Publish", Resource: topics.map(([, arn]) => arn) },
                    { Effect: "Allow", Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: args.kmsKeyArn },
                    ...(args.statusFunctionArn ? [{ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: args.statusFunctionArn }] : []),
                ],
            }),
        }, parent);
        const state = args.enabled ? "ENABLED" : "DISABLED";
        const schedule = (key: string, expression: string, description: string, target: aws.types.input.scheduler.ScheduleTarget) =>
            new aws.scheduler.Schedule(`${name}-${key}`, {
                name: `${name}-${key}`,
                description,
                scheduleExpression: expression,
                scheduleExpressionTimezone: "UTC",
                flexibleTimeWindow: { mode: "OFF" },
                state,
                target,
            }, parent);
        const schedules = topics.map(([tier, arn]) =>
            schedule(tier, communicationTestCron(), `Plan: "Communication plan test" (every ${DR_PLAN.communicationTestIntervalMonths} months): a marked test message to the ${tier} alert topic`, {
                arn: SNS_PUBLISH_TARGET,
                roleArn: role.arn,
                input: testPublishRequest(tier, args.where, arn),
                retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
            }));
        if (args.statusFunctionArn) {
            schedules.push(
                schedule("status-start", communicationTestCron(), "Communication test: the status page's test component shows the test", {
                    arn: args.statusFunctionArn,
                    roleArn: role.arn,
                    input: JSON.stringify({ kind: "communication-test", phase: "start" }),
                }),
                schedule("status-end", communicationTestCron(STATUS_TEST_MINUTES), "Communication test ends: the status page's test component back to operational", {
                    arn: args.statusFunctionArn,
                    roleArn: role.arn,
                    input: JSON.stringify({ kind: "communication-test", phase: "end" }),
                }),
            );
        }
        this.scheduleNames = schedules.map((s) => s.name);
        this.registerOutputs({ scheduleNames: this.scheduleNames });
    }
}
