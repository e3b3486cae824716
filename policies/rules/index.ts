/** Every rule of the pack, in the order docs/policy-pack.md lists them. Importing this starts nothing. */
import { ALERTING_RULES } from "./alerting";
import { BACKUP_RULES } from "./backup";
import { CACHE_RULES } from "./cache";
import { Rule } from "./common";
import { DATABASE_RULES } from "./database";
import { KEY_RULES } from "./keys";
import { LOG_RULES } from "./logs";
import { POSTURE_RULES } from "./posture";
import { PROTECTION_RULES } from "./protection";
import { REGISTRY_RULES } from "./registry";
import { SERVING_RULES } from "./serving";
import { STORAGE_RULES } from "./storage";

export const ALL_RULES: Rule[] = [
    ...BACKUP_RULES,
    ...STORAGE_RULES,
    ...KEY_RULES,
    ...DATABASE_RULES,
    ...CACHE_RULES,
    ...LOG_RULES,
    ...REGISTRY_RULES,
    ...SERVING_RULES,
    ...PROTECTION_RULES,
    ...ALERTING_RULES,
    ...POSTURE_RULES,
];

export type { Rule };
