/** Logs: "Logs: Centralized logging with 90-day retention". */
import { DR_PLAN } from "../dr-plan";
import { asArray, dependenciesOf, fix, forTypes, guard, known, label, must, regionOf, Rule, settingsOf, T, UNKNOWN } from "./common";
import { AWS_TYPES } from "../aws-types";

export const logGroupRetention: Rule = {
    name: "log-group-retention",
    description:
        'File storage, "Logs: Centralized logging with 90-day retention": every CloudWatch log group keeps its events 90 days (a retention is set: none means kept forever, unplanned), and is not of the DELIVERY class (whose retention AWS forces to 2 days).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { minRetentionDays: { type: "integer", default: DR_PLAN.logRetentionDays, description: "Least retentionInDays of a log group." } },
    },
    validateResource: forTypes(T.logGroup, (props, args, report) => {
        const { minRetentionDays } = settingsOf<{ minRetentionDays: number }>(logGroupRetention.configSchema!, args);
        // "If logGroupClass is set to DELIVERY, this argument is ignored and retentionInDays is forcibly set to 2" (aws 7.48, cloudwatch LogGroup).
        if (props.logGroupClass === "DELIVERY") report(`logGroupClass is DELIVERY: AWS then keeps its events 2 days, whatever retentionInDays says${fix(`use logGroupClass "STANDARD" (or "INFREQUENT_ACCESS") with retentionInDays: ${minRetentionDays}`)}`);
        const kept = props.retentionInDays;
        if (typeof kept !== "number" || kept === 0 || kept < minRetentionDays) {
            report(`retentionInDays is ${kept ?? "unset"}, not at least ${minRetentionDays}${fix(`set retentionInDays: ${minRetentionDays} (a CloudWatch-allowed value at least that)`)}`);
        }
    }),
};

/**
 * Where AWS writes logs the stack asks for, the group must be the stack's own (with its retention):
 * RDS exports a log type to `/aws/rds/instance/<identifier>/<type>` and creates that group itself when
 * missing, with "Never expire" retention ("RDS ... creates the log group ... the default retention is
 * Never Expire", RDS User Guide, USER_LogAccess.Procedural.UploadtoCloudWatch); ElastiCache log
 * delivery to CloudWatch Logs needs the destination group to exist; a Lambda function logs to its
 * `loggingConfig.logGroup`, by default `/aws/lambda/<function name>`, which Lambda creates when missing
 * ("By default, Lambda automatically sends logs to a log group named /aws/lambda/<function name>",
 * Lambda Developer Guide, monitoring-cloudwatchlogs), kept forever.
 */
const LAMBDA_FUNCTION = AWS_TYPES.lambdaFunction;

export const logGroupsDeclared: Rule = {
    name: "log-groups-declared",
    description:
        'File storage, "Logs: Centralized logging with 90-day retention": every log an RDS instance exports (/aws/rds/instance/<identifier>/<type>), every ElastiCache log delivered to CloudWatch Logs and every Lambda function\'s log (loggingConfig.logGroup, else /aws/lambda/<name>) goes to a log group this stack declares in that region (else RDS creates one kept forever, outside log-group-retention).',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const groups = args.resources.filter((r) => r.type === T.logGroup);
        const declared = (name: string, region: string | undefined) => groups.some((g) => known(() => g.props.name) === name && (regionOf(g) === undefined || regionOf(g) === region));
        for (const r of args.resources) {
            if (r.type === T.dbInstance) {
                guard(report, `${label(r)}: its exported log groups`, () => {
                    const types = asArray<string>(r.props.enabledCloudwatchLogsExports);
                    if (types.length === 0) return;
                    const id = known(() => r.props.identifier);
                    if (id === UNKNOWN || typeof id !== "string") throw new Error("identifier can't be known during preview");
                    for (const t of types) {
                        const name = `/aws/rds/instance/${id}/${t}`;
                        if (!declared(name, regionOf(r))) report(`${label(r)}: exports its ${t} log to ${name}, a log group this stack does not declare: RDS creates it kept forever${fix(`add aws.cloudwatch.LogGroup { name: "${name}", retentionInDays: ${DR_PLAN.logRetentionDays} } and make the instance depend on it`)}`, r.urn);
                    }
                }, r.urn);
            }
            if (r.type === LAMBDA_FUNCTION) {
                guard(report, `${label(r)}: its log group`, () => {
                    const configured = known(() => r.props.loggingConfig?.logGroup);
                    if (configured === UNKNOWN) {
                        // A log group being created: its name comes from the engine's property dependencies.
                        if (dependenciesOf(r, "loggingConfig").some((d) => d.type === T.logGroup)) return;
                        throw new Error("loggingConfig.logGroup can't be known during preview");
                    }
                    const fnName = known(() => r.props.name);
                    if (!configured && (fnName === UNKNOWN || typeof fnName !== "string")) throw new Error("the function's name can't be known during preview");
                    const name = configured || `/aws/lambda/${fnName as string}`;
                    if (!declared(name, regionOf(r))) report(`${label(r)}: logs to ${name}, a log group this stack does not declare: Lambda creates it kept forever${fix(`add aws.cloudwatch.LogGroup { name: "${name}", retentionInDays: ${DR_PLAN.logRetentionDays} } and set loggingConfig: { logFormat: "Text", logGroup: logGroup.name }`)}`, r.urn);
                }, r.urn);
            }
            if (r.type === T.cache) {
                guard(report, `${label(r)}: its log delivery`, () => {
                    // Log groups being created: the engine's property dependencies name them (one per delivery with an unknown destination).
                    const groupsDependedOn = dependenciesOf(r, "logDeliveryConfigurations").filter((g) => g.type === T.logGroup && (regionOf(g) === undefined || regionOf(g) === regionOf(r)));
                    let unknownDestinations = 0;
                    for (const d of asArray<any>(r.props.logDeliveryConfigurations)) {
                        if (d.destinationType !== "cloudwatch-logs") continue;
                        const destination = known(() => d.destination);
                        if (destination === UNKNOWN) {
                            if (++unknownDestinations <= groupsDependedOn.length) continue;
                            throw new Error("logDeliveryConfigurations[].destination can't be known during preview");
                        }
                        if (!declared(d.destination, regionOf(r))) report(`${label(r)}: delivers its ${d.logType} to ${d.destination}, a log group this stack does not declare${fix(`add aws.cloudwatch.LogGroup { name: "${d.destination}", retentionInDays: ${DR_PLAN.logRetentionDays} }`)}`, r.urn);
                    }
                }, r.urn);
            }
        }
    },
};

export const albAccessLogs: Rule = {
    name: "alb-access-logs",
    description: 'File storage, "Logs: Centralized logging with 90-day retention": every application load balancer writes its access logs (accessLogs.enabled true, into a bucket: the logs bucket, whose lifecycle keeps them 90 days).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.loadBalancer, (props, args, report) => {
        const kind = known(() => props.loadBalancerType);
        if (kind !== undefined && kind !== "application") args.notApplicable(`a ${String(kind)} load balancer`);
        guard(report, "access logs", () => {
            const enabled = must(known(() => props.accessLogs?.enabled), "accessLogs.enabled");
            // The bucket's name of a bucket being created may be unknown in a preview: unknown still means set.
            const bucket = known(() => props.accessLogs?.bucket);
            if (enabled !== true || (bucket !== UNKNOWN && !bucket)) report(`access logs are ${enabled === true ? "enabled without a bucket" : "off"}${fix('set accessLogs: { enabled: true, bucket: <the site\'s logs bucket>, prefix: "alb" }')}`);
        });
    }),
};

export const LOG_RULES: Rule[] = [logGroupRetention, logGroupsDeclared, albAccessLogs];
