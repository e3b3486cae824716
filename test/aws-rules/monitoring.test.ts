import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { violationsOf, ruleAndName } from "../support/aws-rules";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then((vs) => [...new Set(ruleAndName(vs))]);

const TOPIC_EAST = "arn:aws:sns:us-east-1:123456789012:genie-primary-alerts-critical";
const TOPIC_WEST = "arn:aws:sns:us-west-2:123456789012:genie-dr-alerts-critical";
const base: aws.cloudwatch.MetricAlarmArgs = {
    namespace: "AWS/RDS",
    metricName: "DatabaseConnections",
    statistic: "SampleCount",
    period: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    treatMissingData: "breaching",
};
const alarmIn = (region: string, name: string, args: Partial<aws.cloudwatch.MetricAlarmArgs>) => () => {
    const provider = new aws.Provider(`${region}-provider`, { region: region as aws.Region });
    new aws.cloudwatch.MetricAlarm(name, { ...base, ...args } as aws.cloudwatch.MetricAlarmArgs, { provider });
};

describe("aws-rules: CloudWatch alarms", () => {
    it("cloudwatch-alarm-action-in-alarm-region: refuses an alarm notifying a topic of another region (the Route 53 alarm in us-east-1 and the dr site's us-west-2 topic)", async () => {
        expect(await refusals(alarmIn("us-east-1", "health-check", { alarmActions: [TOPIC_WEST], okActions: [TOPIC_WEST] }))).to.deep.equal([
            "cloudwatch-alarm-action-in-alarm-region health-check",
        ]);
        expect(await refusals(alarmIn("us-east-1", "health-check", { alarmActions: [TOPIC_EAST], okActions: [TOPIC_EAST] }))).to.deep.equal([]);
        expect(await refusals(() => {
            const provider = new aws.Provider("oregon", { region: "us-west-2" });
            new aws.cloudwatch.CompositeAlarm("p1", { alarmName: "p1", alarmRule: 'ALARM("a")', alarmActions: [TOPIC_EAST] }, { provider });
        })).to.deep.equal(["cloudwatch-alarm-action-in-alarm-region p1"]);
    });

    it("cloudwatch-alarm-metric-or-queries: metric queries exclude metricName, namespace, period and statistic; a single metric needs all four", async () => {
        const queries = [{ id: "m", metric: { namespace: "AWS/RDS", metricName: "CPUUtilization", period: 60, stat: "Average" }, returnData: true }];
        expect(await refusals(alarmIn("us-east-1", "both", { metricQueries: queries }))).to.deep.equal(["cloudwatch-alarm-metric-or-queries both"]);
        expect(await refusals(alarmIn("us-east-1", "queries", { metricQueries: queries, namespace: undefined, metricName: undefined, period: undefined, statistic: undefined }))).to.deep.equal([]);
        expect(await refusals(alarmIn("us-east-1", "no-stat", { statistic: undefined }))).to.deep.equal(["cloudwatch-alarm-metric-or-queries no-stat"]);
        expect(await refusals(alarmIn("us-east-1", "two-stats", { extendedStatistic: "p99" }))).to.deep.equal(["cloudwatch-alarm-metric-or-queries two-stats"]);
    });

    it("cloudwatch-alarm-period: 10, 20, 30 or a multiple of 60, and at most a day of periods under an hour", async () => {
        expect(await refusals(alarmIn("us-east-1", "odd", { period: 45 }))).to.deep.equal(["cloudwatch-alarm-period odd"]);
        expect(await refusals(alarmIn("us-east-1", "long", { period: 300, evaluationPeriods: 289, datapointsToAlarm: 289 }))).to.deep.equal(["cloudwatch-alarm-period long"]);
        expect(await refusals(alarmIn("us-east-1", "hourly-week", { period: 3600, evaluationPeriods: 168, datapointsToAlarm: 168 }))).to.deep.equal([]);
        expect(await refusals(alarmIn("us-east-1", "query-period", {
            namespace: undefined, metricName: undefined, period: undefined, statistic: undefined,
            metricQueries: [{ id: "m", metric: { namespace: "AWS/RDS", metricName: "CPUUtilization", period: 90, stat: "Average" }, returnData: true }],
        }))).to.deep.equal(["cloudwatch-alarm-period query-period"]);
    });

    it("cloudwatch-alarm-datapoints-to-alarm: M of N needs M <= N", async () => {
        expect(await refusals(alarmIn("us-east-1", "m-over-n", { evaluationPeriods: 1, datapointsToAlarm: 2 }))).to.deep.equal(["cloudwatch-alarm-datapoints-to-alarm m-over-n"]);
        expect(await refusals(alarmIn("us-east-1", "two-of-three", { evaluationPeriods: 3, datapointsToAlarm: 2 }))).to.deep.equal([]);
    });
});
