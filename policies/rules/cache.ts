/**
 * ElastiCache Redis: "Redis Data: Frequency: Every 12 hours, Method: Redis RDB snapshots, Retention: 7
 * days" and high availability.
 */
import { DR_PLAN } from "../../infra/dr-plan";
import { fix, forTypes, Rule, settingsOf, T } from "./common";

export const cacheAutomaticFailover: Rule = {
    name: "elasticache-automatic-failover",
    description: 'High Availability Setup: every Redis replication group fails over automatically (automaticFailoverEnabled and multiAzEnabled, so at least 2 nodes).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.cache, (props, _args, report) => {
        const off = ["automaticFailoverEnabled", "multiAzEnabled"].filter((k) => props[k] !== true);
        if (off.length > 0) report(`${off.join(" and ")} not true${fix("set automaticFailoverEnabled: true, multiAzEnabled: true and numCacheClusters (or replicasPerNodeGroup) for at least 2 nodes")}`);
    }),
};

export const cacheSnapshotRetention: Rule = {
    name: "elasticache-snapshot-retention",
    description: 'Redis Data, "Retention: 7 days": every Redis replication group keeps its automatic snapshots 7 days.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { minRetentionDays: { type: "integer", default: DR_PLAN.redisRetentionDays, description: "Least snapshotRetentionLimit in days." } },
    },
    validateResource: forTypes(T.cache, (props, args, report) => {
        const { minRetentionDays } = settingsOf<{ minRetentionDays: number }>(cacheSnapshotRetention.configSchema!, args);
        const kept = props.snapshotRetentionLimit;
        if (typeof kept !== "number" || kept < minRetentionDays) {
            report(`snapshotRetentionLimit is ${kept ?? "unset (0: no snapshots)"}, less than ${minRetentionDays}${fix(`set snapshotRetentionLimit: ${minRetentionDays} and a snapshotWindow`)}`);
        }
    }),
};

export const cacheEncrypted: Rule = {
    name: "elasticache-encryption",
    description: 'Configuration, "Encrypted storage": Redis data is encrypted at rest and in transit.',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.cache, (props, _args, report) => {
        const off = ["atRestEncryptionEnabled", "transitEncryptionEnabled"].filter((k) => props[k] !== true && props[k] !== "true");
        if (off.length > 0) report(`${off.join(" and ")} not true${fix(`set ${off.map((k) => `${k}: true`).join(", ")}`)}`);
    }),
};

export const CACHE_RULES: Rule[] = [cacheAutomaticFailover, cacheSnapshotRetention, cacheEncrypted];
