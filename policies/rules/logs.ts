/** Logs: "Logs: Centralized logging with 90-day retention". */
import { DR_PLAN } from "../../infra/dr-plan";
import { fix, forTypes, Rule, settingsOf, T } from "./common";

export const logGroupRetention: Rule = {
    name: "log-group-retention",
    description: 'File storage, "Logs: Centralized logging with 90-day retention": every CloudWatch log group keeps its events 90 days (a retention is set: none means kept forever, unplanned).',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { minRetentionDays: { type: "integer", default: DR_PLAN.logRetentionDays, description: "Least retentionInDays of a log group." } },
    },
    validateResource: forTypes(T.logGroup, (props, args, report) => {
        const { minRetentionDays } = settingsOf<{ minRetentionDays: number }>(logGroupRetention.configSchema!, args);
        const kept = props.retentionInDays;
        if (typeof kept !== "number" || kept === 0 || kept < minRetentionDays) {
            report(`retentionInDays is ${kept ?? "unset"}, not at least ${minRetentionDays}${fix(`set retentionInDays: ${minRetentionDays} (a CloudWatch-allowed value at least that)`)}`);
        }
    }),
};

export const LOG_RULES: Rule[] = [logGroupRetention];
