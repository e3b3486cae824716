/**
 * Changes between two evaluations of one stack (a change of site role, a config change) that AWS or
 * the provider carries out as a replacement, or refuses: a protected, stateful resource must never
 * need one. `checkTransition(before, after)` compares the resources both declare, by URN, and looks at
 * what only one side declares: a protected resource that leaves the program (Pulumi refuses to delete
 * it) and an RDS instance the update creates.
 *
 * Like the provider's plan, it compares declared inputs with what the state holds: for an input the
 * provider computes (its Read stores AWS's value), "not declared" on one side is no change.
 */
import type { RecordedResource } from "../mock-runtime";
import {
    BACKUPS_REPLICATION_COMPUTED_FORCE_NEW,
    BACKUPS_REPLICATION_REPLACE_ON_CHANGE,
    BACKUPS_REPLICATION_REPLACE_ON_CHANGE_SOURCE,
    RDS_COMPUTED_FORCE_NEW,
    RDS_REPLACE_ON_CHANGE,
    RDS_REPLACE_ON_CHANGE_SOURCE,
    takesFinalSnapshot,
} from "./rds";
import type { AwsRuleViolation } from "./types";
import { AWS_TYPES } from "../../policies/aws-types";

/** A type's inputs whose change replaces the resource (the Terraform provider's ForceNew), with the source. */
export interface ReplaceOnChange {
    inputs: readonly string[];
    /**
     * Those of `inputs` the provider also marks Computed (Optional + Computed + ForceNew): its Read puts AWS's
     * value in the state, and the plugin SDK plans no diff for an Optional + Computed attribute the
     * configuration leaves unset (it keeps the state's value), so a side that does not declare the input is
     * no change. Only two declared values that differ replace the resource.
     */
    computed?: readonly string[];
    source: string;
}

/** Per type token: the inputs whose change forces a replacement. Filled per service. */
export const REPLACE_ON_CHANGE: Record<string, ReplaceOnChange> = {
    [AWS_TYPES.dbInstance]: { inputs: RDS_REPLACE_ON_CHANGE, computed: RDS_COMPUTED_FORCE_NEW, source: RDS_REPLACE_ON_CHANGE_SOURCE },
    [AWS_TYPES.dbBackupReplication]: {
        inputs: BACKUPS_REPLICATION_REPLACE_ON_CHANGE,
        computed: BACKUPS_REPLICATION_COMPUTED_FORCE_NEW,
        source: BACKUPS_REPLICATION_REPLACE_ON_CHANGE_SOURCE,
    },
};

/** An update AWS or the provider refuses outright (not a replacement): checked on each pair. */
export interface RefusedUpdate {
    id: string;
    types: readonly string[];
    source: string;
    check(before: RecordedResource, after: RecordedResource): string | undefined;
}

/**
 * The provider's instanceReplicateSourceDBSuppressDiff (with DiffSuppressOnRefresh): a source given as an
 * identifier on one side and as the ARN `arn:...:db:<that identifier>` on the other is no diff (AWS reports a
 * same-region source by identifier; hashicorp/terraform-provider-aws internal/service/rds/instance.go).
 */
function sameSourceDb(a: string, b: string): boolean {
    const id = (v: string) => (v.startsWith("arn:") ? /^arn:[^:]+:rds:[^:]*:[^:]*:db:([0-9a-z-]+)$/.exec(v)?.[1] : undefined);
    if (a.startsWith("arn:") === b.startsWith("arn:")) return false;
    return a.startsWith("arn:") ? id(a) === b : id(b) === a;
}

export const REFUSED_UPDATES: RefusedUpdate[] = [
    {
        id: "rds-cannot-elect-new-source",
        types: [AWS_TYPES.dbInstance],
        source:
            "hashicorp/terraform-provider-aws internal/service/rds/instance.go, resourceInstanceUpdate: a change of replicate_source_db to \"\" calls PromoteReadReplica, any other change fails with \"cannot elect new source database for replication\"; " +
            "node_modules/@pulumi/aws/rds/instance.d.ts: \"Removing the \`replicateSourceDb\` attribute from an existing RDS Replicate database managed by the provider will promote the database to a fully standalone database\"",
        check(before, after) {
            const was = before.props.replicateSourceDb ?? "";
            const is = after.props.replicateSourceDb ?? "";
            if (was === is || is === "" || sameSourceDb(was, is)) return undefined;
            return was === ""
                ? `setting replicateSourceDb (${JSON.stringify(is)}) on a standalone instance is refused ("cannot elect new source database for replication"): making it a replica again means deleting it (final snapshot) and creating a new replica: on the DR site, the next dbGeneration (docs/operations.md: Failback, step 5)`
                : `changing replicateSourceDb from ${JSON.stringify(was)} to ${JSON.stringify(is)} is refused ("cannot elect new source database for replication")`;
        },
    },
];

/**
 * What a replacement (delete and create, whether the resource is protected or not) leaves behind that AWS then
 * refuses: checked on each pair whose replace-on-change inputs differ.
 */
export interface ReplacementRule {
    id: string;
    types: readonly string[];
    source: string;
    check(before: RecordedResource, after: RecordedResource): string | undefined;
}

export const REPLACEMENT_RULES: ReplacementRule[] = [
    {
        id: "rds-final-snapshot-reused",
        types: [AWS_TYPES.dbInstance],
        source:
            "AWS RDS API reference, DeleteDBInstance, FinalDBSnapshotIdentifier: \"The DBSnapshotIdentifier of the new DBSnapshot created when SkipFinalSnapshot is set to false\"; " +
            "its errors: DBSnapshotAlreadyExistsFault, \"DBSnapshotIdentifier is already used by an existing snapshot\" (snapshot identifiers are unique per account and region); " +
            "hashicorp/terraform-provider-aws internal/service/rds/instance.go, resourceInstanceDelete: sends final_snapshot_identifier whenever skip_final_snapshot is false",
        check(before, after) {
            if (!takesFinalSnapshot(before) || !takesFinalSnapshot(after) || before.props.finalSnapshotIdentifier !== after.props.finalSnapshotIdentifier) return undefined;
            return `the replaced instance's delete takes the final snapshot ${JSON.stringify(before.props.finalSnapshotIdentifier)}, and the new instance names the same one: deleting it later fails (DBSnapshotAlreadyExists); name the final snapshot per incarnation (e.g. a random suffix replaced with the instance)`;
        },
    },
];

/**
 * Types that are one configuration of a parent (their id is the parent's name), with the inputs that
 * replace them: replaced create-first (Pulumi's default), the new one overwrites the parent's only
 * configuration and the old one's delete then removes it. They must be replaced delete-first.
 */
export const REPLACE_DELETE_FIRST: Record<string, ReplaceOnChange> = {
    [AWS_TYPES.backupVaultNotifications]: {
        inputs: ["backupVaultName", "snsTopicArn", "backupVaultEvents"],
        source:
            "terraform-provider-aws internal/service/backup/vault_notifications.go: backup_vault_name, sns_topic_arn and backup_vault_events are ForceNew, " +
            "the id is the vault's name, Delete calls DeleteBackupVaultNotifications(BackupVaultName: id); PutBackupVaultNotifications replaces the vault's one configuration",
    },
};

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const undeclared = (v: unknown) => v === undefined || v === null || v === "";

/** The replace-on-change inputs that differ between `prev` and `next`, as the provider plans them. */
export function replacingChanges(replace: ReplaceOnChange, prev: RecordedResource, next: RecordedResource): string[] {
    const computed = replace.computed ?? [];
    return replace.inputs.filter((k) => {
        if (same(prev.props[k], next.props[k])) return false;
        // Optional + Computed: one side leaving it to AWS is no diff; two declared values that differ are.
        return !(computed.includes(k) && (undeclared(prev.props[k]) || undeclared(next.props[k])));
    });
}

/** Where Pulumi refuses to delete a protected resource that left the program. */
export const PROTECTED_DELETE_SOURCE =
    'Pulumi docs, resource option protect: "marks a resource as protected. A protected resource cannot be deleted directly, and it will not be deleted as part of a replacement" ' +
    '(pulumi up fails: "resource ... cannot be deleted because it is protected"; lift it with `pulumi state unprotect <urn>`); retainOnDelete does not lift it';

/**
 * An RDS instance AWS creates from nothing needs an engine: the provider doc on `engine`, "(Required unless a
 * `snapshotIdentifier` or `replicateSourceDb` is provided)", and CreateDBInstance's Engine is required; a
 * restore (`restoreToPointInTime`) names its source instead. A promoted instance declares none of them,
 * which is right for the replica it was, and wrong for an instance the update would create.
 */
export const RDS_CREATE_NEEDS_SOURCE =
    'node_modules/@pulumi/aws/rds/instance.d.ts, engine: "(Required unless a `snapshotIdentifier` or `replicateSourceDb` is provided) The database engine to use"; AWS RDS API reference, CreateDBInstance, Engine: "Required: Yes"';

/** Where RDS refuses to delete an instance with deletion protection on. */
export const RDS_DELETION_PROTECTION_SOURCE =
    'AWS RDS User Guide, "Deletion protection": "When deletion protection is enabled, you can\'t delete the DB instance"; DeleteDBInstance then fails with ' +
    'InvalidParameterCombination "Cannot delete protected DB Instance, please disable deletion protection and try again"; the provider\'s delete only calls DeleteDBInstance';

export interface TransitionOptions {
    /**
     * URNs whose protection the operator lifted before the update (`pulumi state unprotect <urn>`): they may
     * leave the program (and, with retainOnDelete, stay in AWS).
     */
    unprotected?: readonly string[];
    /**
     * URNs of RDS instances whose deletion protection the operator turned off in AWS before the update
     * (`aws rds modify-db-instance --no-deletion-protection`): the update may delete them.
     */
    deletionProtectionOff?: readonly string[];
}

/**
 * The violations of going from `before` to `after`: replacements of protected resources, refused
 * updates, protected resources that left the program, and RDS instances the update would create
 * without a source or an engine. An input `after` lists in `ignoreChanges` keeps its old value, as the
 * engine does.
 */
export function checkTransition(before: readonly RecordedResource[], after: readonly RecordedResource[], options: TransitionOptions = {}): AwsRuleViolation[] {
    const previous = new Map(before.filter((r) => r.custom).map((r) => [r.urn, r]));
    const violations: AwsRuleViolation[] = [];
    const declaredNow = new Set(after.map((r) => r.urn));
    const unprotected = new Set(options.unprotected ?? []);
    const deletionProtectionOff = new Set(options.deletionProtectionOff ?? []);
    for (const prev of previous.values()) {
        // An instance that leaves the program and is not retained is deleted: RDS refuses while its
        // deletion protection is on, whatever Pulumi's protect says.
        if (!declaredNow.has(prev.urn) && prev.type === AWS_TYPES.dbInstance && prev.props.deletionProtection === true && !prev.opts.retainOnDelete && !deletionProtectionOff.has(prev.urn)) {
            violations.push({
                rule: "rds-delete-with-deletion-protection",
                source: RDS_DELETION_PROTECTION_SOURCE,
                urn: prev.urn,
                type: prev.type,
                name: prev.name,
                message: `it leaves the program and pulumi up deletes it, which RDS refuses while deletionProtection is on: turn it off first (aws rds modify-db-instance --db-instance-identifier ${String(prev.props.identifier ?? prev.name)} --no-deletion-protection --apply-immediately)`,
            });
        }
        if (declaredNow.has(prev.urn) || !prev.opts.protect || unprotected.has(prev.urn)) continue;
        violations.push({
            rule: "no-delete-of-protected",
            source: PROTECTED_DELETE_SOURCE,
            urn: prev.urn,
            type: prev.type,
            name: prev.name,
            message: `it leaves the program, and pulumi up refuses to delete a protected resource${prev.opts.retainOnDelete ? " (even one it would keep in AWS: retainOnDelete)" : ""}: run pulumi state unprotect '${prev.urn}' first`,
        });
    }
    for (const declared of after) {
        const prev = previous.get(declared.urn);
        if (!prev && declared.custom && declared.type === AWS_TYPES.dbInstance) {
            const p = declared.props;
            if (undeclared(p.engine) && undeclared(p.replicateSourceDb) && undeclared(p.snapshotIdentifier) && !p.restoreToPointInTime) {
                violations.push({
                    rule: "rds-create-needs-source",
                    source: RDS_CREATE_NEEDS_SOURCE,
                    urn: declared.urn,
                    type: declared.type,
                    name: declared.name,
                    message: "this update creates the instance with no engine, no replica source and no restore source (a promoted instance that was never a replica): create it as a replica first (siteRole standby), or restore it (dbRecoverySource latest-backup or point-in-time)",
                });
            }
        }
        if (!prev || !declared.custom) continue;
        const ignored = declared.opts.ignoreChanges ?? [];
        const next: RecordedResource =
            ignored.length === 0 ? declared : { ...declared, props: { ...declared.props, ...Object.fromEntries(ignored.filter((k) => k in prev.props).map((k) => [k, prev.props[k]])) } };
        const replace = REPLACE_ON_CHANGE[next.type];
        const changed = replace ? replacingChanges(replace, prev, next) : [];
        if (replace && (prev.opts.protect || next.opts.protect)) {
            if (changed.length > 0) {
                violations.push({
                    rule: "no-replacement-of-protected",
                    source: replace.source,
                    urn: next.urn,
                    type: next.type,
                    name: next.name,
                    message: `changing ${changed.join(", ")} replaces this protected resource (${changed.map((k) => `${k}: ${JSON.stringify(prev.props[k])} -> ${JSON.stringify(next.props[k])}`).join("; ")}); pulumi up refuses to delete a protected resource`,
                });
            }
        }
        if (changed.length > 0) {
            for (const rule of REPLACEMENT_RULES) {
                if (!rule.types.includes(next.type)) continue;
                const message = rule.check(prev, next);
                if (message) violations.push({ rule: rule.id, source: rule.source, urn: next.urn, type: next.type, name: next.name, message });
            }
        }
        const singleton = REPLACE_DELETE_FIRST[next.type];
        if (singleton && !next.opts.deleteBeforeReplace) {
            const changed = singleton.inputs.filter((k) => !same(prev.props[k], next.props[k]));
            if (changed.length > 0) {
                violations.push({
                    rule: "replace-singleton-delete-first",
                    source: singleton.source,
                    urn: next.urn,
                    type: next.type,
                    name: next.name,
                    message: `changing ${changed.join(", ")} replaces it create-first: the new configuration overwrites the parent's only one and the old one's delete removes it; set deleteBeforeReplace`,
                });
            }
        }
        for (const refused of REFUSED_UPDATES) {
            if (!refused.types.includes(next.type)) continue;
            const message = refused.check(prev, next);
            if (message) violations.push({ rule: refused.id, source: refused.source, urn: next.urn, type: next.type, name: next.name, message });
        }
    }
    return violations;
}
