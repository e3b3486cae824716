/**
 * CloudWatch alarms: what PutMetricAlarm / PutCompositeAlarm and the provider refuse at `pulumi up`
 * (see ./types.ts).
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule } from "./types";
import { list, orNone } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const METRIC_ALARM = AWS_TYPES.metricAlarm;
const COMPOSITE_ALARM = AWS_TYPES.compositeAlarm;

/** The region a resource is managed in: its own `region` input (provider 7) or its provider's. */
const regionOf = (r: RecordedResource): string | undefined => (typeof r.props.region === "string" && r.props.region !== "" ? r.props.region : r.region);
const isSet = (v: unknown) => v !== undefined && v !== null && v !== "";

/** Every period an alarm names: its own, and each metric query's. */
function periodsOf(r: RecordedResource): { where: string; period: number }[] {
    const found: { where: string; period: number }[] = [];
    if (typeof r.props.period === "number") found.push({ where: "period", period: r.props.period });
    for (const q of list(r.props.metricQueries) as any[]) {
        if (typeof q?.metric?.period === "number") found.push({ where: `metricQueries[${q.id}].metric.period`, period: q.metric.period });
        if (typeof q?.period === "number") found.push({ where: `metricQueries[${q.id}].period`, period: q.period });
    }
    return found;
}

export const rules: AwsRule[] = [
    {
        id: "cloudwatch-alarm-action-in-alarm-region",
        types: [METRIC_ALARM, COMPOSITE_ALARM],
        source:
            'CloudWatch PutMetricAlarm refuses an SNS action of another region: "Creating metric alarm failed: ValidationError: Invalid region ca-central-1 specified. Only us-west-2 is supported." (cds-snc/notification-terraform#128: "alarms require SNS topics to be in the same region")',
        check(r) {
            const region = regionOf(r);
            if (region === undefined) return undefined;
            const problems: string[] = [];
            for (const key of ["alarmActions", "okActions", "insufficientDataActions"]) {
                for (const action of list(r.props[key])) {
                    const m = typeof action === "string" ? /^arn:aws[a-z-]*:sns:([a-z0-9-]+):/.exec(action) : null;
                    if (m && m[1] !== region) {
                        problems.push(`${key} names topic ${action} of ${m[1]}, but the alarm is in ${region}: an alarm notifies only topics of its own region (create a topic there)`);
                    }
                }
            }
            return orNone(problems);
        },
    },
    {
        id: "cloudwatch-alarm-metric-or-queries",
        types: [METRIC_ALARM],
        source:
            'Provider doc, aws.cloudwatch.MetricAlarm metricQueries: "If you specify at least one `metricQuery`, you may not specify a `metricName`, `namespace`, `period` or `statistic`. If you do not specify a `metricQuery`, you must specify each of these (although you may use `extendedStatistic` instead of `statistic`)"; "You cannot create a metric alarm consisting of both `statistic` and `extendedStatistic` parameters."',
        check(r) {
            const p = r.props;
            const queries = list(p.metricQueries);
            if (isSet(p.statistic) && isSet(p.extendedStatistic)) return "statistic and extendedStatistic are both set: choose one";
            if (queries.length > 0) {
                const clashing = ["metricName", "namespace", "period", "statistic"].filter((k) => isSet(p[k]));
                return clashing.length > 0 ? `metricQueries together with ${clashing.join(", ")}: with metric queries, the period and statistic go in each query's metric` : undefined;
            }
            const missing = ["metricName", "namespace", "period"].filter((k) => !isSet(p[k]));
            if (!isSet(p.statistic) && !isSet(p.extendedStatistic)) missing.push("statistic");
            return missing.length > 0 ? `neither metricQueries nor ${missing.join(", ")}: a single-metric alarm needs metricName, namespace, period and a statistic` : undefined;
        },
    },
    {
        id: "cloudwatch-alarm-period",
        types: [METRIC_ALARM],
        source:
            'CloudWatch API Reference, PutMetricAlarm Period: "Valid values are 10, 20, 30, and any multiple of 60." and "Period multiplied by EvaluationPeriods can\'t be more than 604,800 seconds. For alarms with a period of less than one hour (3,600 seconds), the total evaluation period can\'t be longer than one day (86,400 seconds)."',
        check(r) {
            const problems: string[] = [];
            const periods = periodsOf(r);
            for (const { where, period } of periods) {
                if (![10, 20, 30].includes(period) && (period <= 0 || period % 60 !== 0)) problems.push(`${where} = ${period} s: CloudWatch accepts 10, 20, 30 or a multiple of 60`);
            }
            const n = r.props.evaluationPeriods;
            if (typeof n === "number" && periods.length > 0) {
                const longest = Math.max(...periods.map((p) => p.period));
                const limit = longest < 3600 ? 86400 : 604800;
                if (longest * n > limit) problems.push(`period ${longest} s x evaluationPeriods ${n} = ${longest * n} s: more than the ${limit} s CloudWatch allows for this period`);
            }
            return orNone(problems);
        },
    },
    {
        id: "cloudwatch-alarm-datapoints-to-alarm",
        types: [METRIC_ALARM],
        source:
            'CloudWatch PutMetricAlarm: "ValidationError: DatapointsToAlarm must be less than or equal to EvaluationPeriods" (hashicorp/terraform#24070); API Reference: EvaluationPeriods and DatapointsToAlarm "Valid Range: Minimum value of 1."',
        check(r) {
            const n = r.props.evaluationPeriods;
            const m = r.props.datapointsToAlarm;
            if (typeof n === "number" && n < 1) return `evaluationPeriods = ${n}: at least 1`;
            if (typeof m !== "number") return undefined;
            if (m < 1) return `datapointsToAlarm = ${m}: at least 1`;
            if (typeof n === "number" && m > n) return `datapointsToAlarm ${m} > evaluationPeriods ${n}: M of N needs M <= N`;
            return undefined;
        },
    },
];
