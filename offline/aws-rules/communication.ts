/**
 * Incident response and communication (alarm messages, EventBridge forwarding, EventBridge Scheduler,
 * Lambda, Incident Manager contacts): what AWS refuses at `pulumi up` (see ./types.ts).
 */
import type { AwsRule } from "./types";
import { AWS_TYPES } from "../../policies/aws-types";

const METRIC_ALARM = AWS_TYPES.metricAlarm;
const COMPOSITE_ALARM = AWS_TYPES.compositeAlarm;
const EVENT_TARGET = AWS_TYPES.eventTarget;
const SCHEDULE = AWS_TYPES.schedule;
const LAMBDA = AWS_TYPES.lambdaFunction;
const CONTACT = AWS_TYPES.contact;
const CONTACT_PLAN = AWS_TYPES.contactPlan;

const regionOf = (r: { props: Record<string, any>; region?: string }): string | undefined =>
    typeof r.props.region === "string" && r.props.region !== "" ? r.props.region : r.region;

export const rules: AwsRule[] = [
    {
        id: "cloudwatch-alarm-description-length",
        types: [METRIC_ALARM, COMPOSITE_ALARM],
        source: 'CloudWatch API Reference, PutMetricAlarm and PutCompositeAlarm: AlarmDescription "Length Constraints: Minimum length of 0. Maximum length of 1024."',
        check(r) {
            const d = r.props.alarmDescription;
            return typeof d === "string" && d.length > 1024 ? `alarmDescription is ${d.length} characters: CloudWatch accepts at most 1024` : undefined;
        },
    },
    {
        id: "events-cross-region-bus-target-role",
        types: [EVENT_TARGET],
        source:
            'AWS re:Post Knowledge Center, "eventbridge-centralized-bus-to-bus", Route cross-Region events: "For Execution role, choose Create a new role for this specific resource or Use existing role" with events:PutEvents on the destination bus; EventBridge user guide, "Permissions for event buses": "We recommend always using IAM roles when the target of a rule is an event bus"',
        check(r) {
            const arn = r.props.arn;
            if (typeof arn !== "string") return undefined;
            const m = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\//.exec(arn);
            if (!m) return undefined;
            const region = regionOf(r);
            if (region !== undefined && m[1] !== region && !r.props.roleArn) {
                return `targets the event bus ${arn} of another region (${m[1]}, the rule is in ${region}) without roleArn: EventBridge needs a role allowed events:PutEvents on that bus`;
            }
            return undefined;
        },
    },
    {
        id: "scheduler-cron-day-fields",
        types: [SCHEDULE],
        source:
            'EventBridge Scheduler user guide, "Schedule types on EventBridge Scheduler", cron expressions: cron(minutes hours day-of-month month day-of-week year); "You can\'t specify the Day-of-month and Day-of-week fields in the same cron expression. If you specify a value or a * (asterisk) in one of the fields, you must use a ? (question mark) in the other."',
        check(r) {
            const e = r.props.scheduleExpression;
            if (typeof e !== "string" || !e.startsWith("cron(")) return undefined;
            const fields = e.slice(5, -1).trim().split(/\s+/);
            if (fields.length !== 6) return `scheduleExpression ${e}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`;
            const [, , dom, , dow] = fields;
            if ((dom === "?") === (dow === "?")) return `scheduleExpression ${e}: exactly one of day-of-month (${dom}) and day-of-week (${dow}) must be "?"`;
            return undefined;
        },
    },
    {
        id: "lambda-function-name",
        types: [LAMBDA],
        source: 'Lambda API Reference, CreateFunction: FunctionName "The length constraint applies only to the full ARN. If you specify only the function name, it is limited to 64 characters in length"; Pattern of the name part: [a-zA-Z0-9-_]+',
        check(r) {
            const name = r.props.name;
            if (typeof name !== "string") return undefined;
            return /^[A-Za-z0-9_-]{1,64}$/.test(name) ? undefined : `name ${JSON.stringify(name)}: 1 to 64 letters, digits, '-' or '_'`;
        },
    },
    {
        id: "ssm-contacts-alias",
        types: [CONTACT],
        source: 'AWS Systems Manager Incident Manager Contacts API Reference, CreateContact: Alias "Length Constraints: Minimum length of 1. Maximum length of 255. Pattern: ^[a-z0-9_\\-]*$"',
        check(r) {
            const alias = r.props.alias;
            if (typeof alias !== "string") return undefined;
            return /^[a-z0-9_-]{1,255}$/.test(alias) ? undefined : `alias ${JSON.stringify(alias)}: 1 to 255 lowercase letters, digits, '_' or '-'`;
        },
    },
    {
        id: "ssm-contacts-plan-stage-duration",
        types: [CONTACT_PLAN],
        source:
            'AWS Systems Manager Incident Manager Contacts API Reference, Stage: DurationInMinutes "The time to wait until beginning the next stage. The duration can only be set to 0 if a target is specified for the stage. Type: Integer. Valid Range: Minimum value of 0. Maximum value of 30."; CloudFormation AWS::SSMContacts::Plan Stage: DurationInMinutes "Minimum: 0, Maximum: 30"',
        check(r) {
            const stages: unknown[] = Array.isArray(r.props.stages) ? r.props.stages : [];
            const bad = stages
                .map((s, i) => [i, (s as { durationInMinutes?: unknown })?.durationInMinutes] as const)
                .filter(([, d]) => typeof d === "number" && (!Number.isInteger(d) || d < 0 || d > 30));
            return bad.length ? `stages ${bad.map(([i, d]) => `[${i}] durationInMinutes ${d}`).join(", ")}: a stage lasts 0 to 30 minutes (repeat the stage to engage longer)` : undefined;
        },
    },
    {
        id: "lambda-reserved-concurrency",
        types: [LAMBDA],
        source:
            'Lambda developer guide, "Configuring reserved concurrency for a function": "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions that don\'t have reserved concurrency"; PutFunctionConcurrency refuses otherwise ("Specified ReservedConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value"); "Lambda quotas": new accounts may start with reduced concurrency quotas, raised automatically with use. A fresh account (the deploy-from-scratch sandbox) cannot reserve any.',
        check(r) {
            const n = r.props.reservedConcurrentExecutions;
            return typeof n === "number" && n > 0
                ? `reservedConcurrentExecutions ${n}: an account must keep 100 unreserved, and a new account's quota may be 10: nothing can be reserved there (serialise in the function instead, or leave it unset)`
                : undefined;
        },
    },
];
