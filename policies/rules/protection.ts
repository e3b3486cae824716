/**
 * "A mistaken `pulumi destroy` loses nothing": stateful resources are protected, and backup buckets and
 * vaults are retained on delete (and never force-destroyed with their contents).
 */
import { fix, forTypes, purposeOf, Rule, settingsOf, T } from "./common";

export const STATEFUL_TYPES = [
    T.dbInstance,
    T.cache,
    ...T.bucket,
    T.backupVault,
    T.kmsKey,
    T.kmsReplicaKey,
    T.repository,
    T.secret,
];

export const statefulProtected: Rule = {
    name: "stateful-resources-protected",
    description: "Stateful resources (databases, caches, buckets, vaults, keys, registries, secrets) are protected: Pulumi refuses to delete them (`protect`).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { types: { type: "array", items: { type: "string" }, default: STATEFUL_TYPES, description: "Resource types that must be protected." } },
    },
    validateResource: (args, report) => {
        const { types } = settingsOf<{ types: string[] }>(statefulProtected.configSchema!, args);
        if (!types.includes(args.type)) args.notApplicable(`${args.type} is not a stateful type`);
        if (args.opts.protect !== true) report(`not protected${fix("pass { protect: true } (the stack's `protect` config, default true) in its resource options")}`);
    },
};

export const backupsRetainedOnDelete: Rule = {
    name: "backups-retained-on-delete",
    description:
        "Backup buckets (purpose=backups) and backup vaults stay in AWS when Pulumi deletes them (`retainOnDelete`) and are never force-destroyed with their contents. The Pulumi engine does not pass retainOnDelete to policies: the offline plan checks it; previews check forceDestroy.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([...T.bucket, T.backupVault], (props, args, report) => {
        if (args.type !== T.backupVault && purposeOf({ name: args.name, props }) !== "backups") args.notApplicable("not a backups bucket (purpose tag)");
        if (props.forceDestroy === true) report(`forceDestroy is true: a delete would empty it${fix("remove forceDestroy")}`);
        // Present only where the runner knows it (the offline plan); the engine's options carry no retainOnDelete.
        const retain = (args.opts as { retainOnDelete?: boolean }).retainOnDelete;
        if (retain === false) report(`not retained on delete${fix("pass { retainOnDelete: true } in its resource options")}`);
    }),
};

export const PROTECTION_RULES: Rule[] = [statefulProtected, backupsRetainedOnDelete];
