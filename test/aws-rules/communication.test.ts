import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { ruleAndName, violationsOf } from "../support/aws-rules";

const refusals = (program: () => void) => violationsOf(program).then(ruleAndName);
const oregon = () => new aws.Provider("oregon", { region: "us-west-2" });
const virginia = () => new aws.Provider("virginia", { region: "us-east-1" });

describe("aws-rules: incident response and communication", () => {
    it("cloudwatch-alarm-description-length: at most 1024 characters", async () => {
        const alarm = (name: string, alarmDescription: string) =>
            new aws.cloudwatch.MetricAlarm(name, { alarmDescription, comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 1, metricName: "CPUUtilization", namespace: "AWS/EC2", period: 60, statistic: "Average", threshold: 1 }, { provider: oregon() });
        expect(await refusals(() => alarm("long", "x".repeat(1025)))).to.deep.equal(["cloudwatch-alarm-description-length long"]);
        expect(await refusals(() => alarm("fits", "x".repeat(1024)))).to.deep.equal([]);
    });

    it("events-cross-region-bus-target-role: another region's bus needs a role; this region's does not", async () => {
        const target = (name: string, arn: string, roleArn?: string) => {
            const p = virginia();
            const rule = new aws.cloudwatch.EventRule(`${name}-rule`, { eventPattern: JSON.stringify({ source: ["aws.cloudwatch"] }) }, { provider: p });
            new aws.cloudwatch.EventTarget(name, { rule: rule.name, arn, ...(roleArn ? { roleArn } : {}) }, { provider: p });
        };
        expect(await refusals(() => target("no-role", "arn:aws:events:us-west-2:123456789012:event-bus/default"))).to.deep.equal(["events-cross-region-bus-target-role no-role"]);
        expect(await refusals(() => target("role", "arn:aws:events:us-west-2:123456789012:event-bus/default", "arn:aws:iam::123456789012:role/fwd"))).to.deep.equal([]);
        expect(await refusals(() => target("same-region", "arn:aws:events:us-east-1:123456789012:event-bus/default"))).to.deep.equal([]);
    });

    it("scheduler-cron-day-fields: exactly one of day-of-month and day-of-week is '?'", async () => {
        const schedule = (name: string, scheduleExpression: string) =>
            new aws.scheduler.Schedule(name, { scheduleExpression, flexibleTimeWindow: { mode: "OFF" }, target: { arn: "arn:aws:sns:us-west-2:123456789012:t", roleArn: "arn:aws:iam::123456789012:role/s" } }, { provider: oregon() });
        expect(await refusals(() => schedule("both", "cron(0 15 1 1,4,7,10 3#1 *)"))).to.deep.equal(["scheduler-cron-day-fields both"]);
        expect(await refusals(() => schedule("five-fields", "cron(0 15 ? * 3#1)"))).to.deep.equal(["scheduler-cron-day-fields five-fields"]);
        expect(await refusals(() => schedule("ok", "cron(0 15 ? 1,4,7,10 3#1 *)"))).to.deep.equal([]);
    });

    it("lambda-function-name and ssm-contacts-alias: AWS's name patterns", async () => {
        expect(await refusals(() => new aws.lambda.Function("fn", { name: "x".repeat(65), role: "arn:aws:iam::123456789012:role/r", runtime: "python3.12", handler: "h.handler" }, { provider: oregon() }))).to.deep.equal(["lambda-function-name fn"]);
        expect(await refusals(() => new aws.ssmcontacts.Contact("lead", { alias: "Technical Lead", type: "PERSONAL" }, { provider: virginia() }))).to.deep.equal(["ssm-contacts-alias lead"]);
        expect(await refusals(() => new aws.ssmcontacts.Contact("lead", { alias: "genie-technical-lead", type: "PERSONAL" }, { provider: virginia() }))).to.deep.equal([]);
    });

    it("ssm-contacts-plan-stage-duration: an escalation stage lasts 0 to 30 minutes", async () => {
        const plan = (name: string, minutes: number[]) =>
            new aws.ssmcontacts.Plan(name, {
                contactId: "arn:aws:ssm-contacts:us-east-1:123456789012:contact/genie-p2-escalation",
                stages: minutes.map((durationInMinutes) => ({ durationInMinutes, targets: [{ contactTargetInfo: { contactId: "arn:aws:ssm-contacts:us-east-1:123456789012:contact/lead", isEssential: true } }] })),
            }, { provider: virginia() });
        expect(await refusals(() => plan("hour", [60, 60]))).to.deep.equal(["ssm-contacts-plan-stage-duration hour"]);
        expect(await refusals(() => plan("halves", [30, 30, 15]))).to.deep.equal([]);
    });

    it("lambda-reserved-concurrency: a fresh account cannot reserve concurrency", async () => {
        const fn = (name: string, reserved?: number) =>
            new aws.lambda.Function(name, { name, role: "arn:aws:iam::123456789012:role/r", runtime: "python3.12", handler: "h.handler", ...(reserved === undefined ? {} : { reservedConcurrentExecutions: reserved }) }, { provider: oregon() });
        expect(await refusals(() => fn("reserved", 1))).to.deep.equal(["lambda-reserved-concurrency reserved"]);
        expect(await refusals(() => fn("unreserved"))).to.deep.equal([]);
    });
});
