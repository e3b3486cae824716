/**
 * How the stateful resources of a stack end: the one settings object every component that declares a
 * database, cache, bucket, vault, key, secret or registry receives (infra/config.ts builds it from the
 * `protect` and `ephemeral` config keys), instead of values of its own.
 *
 * - A kept stack (production, dr: the default) loses nothing to a mistaken `pulumi destroy`: stateful
 *   resources are protected (config `protect`), retained on delete, RDS has deletion protection,
 *   databases and caches leave a final snapshot, buckets, vaults and registries are never deleted with
 *   their contents, a deleted secret can be restored for 30 days and a deleted key for 30 days.
 * - An ephemeral stack (config `ephemeral: true`: the monthly deploy-from-scratch test) leaves nothing
 *   behind: `pulumi destroy` deletes every resource with its contents, at once, so the next month's stack
 *   starts from an empty sandbox.
 */
export interface StatefulLifecycle {
    /** Pulumi refuses to delete the resource (the `protect` resource option). */
    protect: boolean;
    /** Pulumi leaves the resource in AWS when it deletes it (the `retainOnDelete` resource option). */
    retainOnDelete: boolean;
    /**
     * AWS refuses to delete the resource while it is on: RDS instances (`deletionProtection`) and the
     * ALB (`enableDeletionProtection`: "You can't delete a load balancer if deletion protection is
     * enabled", ELB user guide, "Deletion protection").
     */
    deletionProtection: boolean;
    /**
     * A deleted database or cache leaves a final snapshot (`skipFinalSnapshot: false` and a name,
     * `finalSnapshotIdentifier` of ElastiCache), and RDS keeps its automated backups (`deleteAutomatedBackups: false`).
     */
    finalSnapshot: boolean;
    /** Buckets, backup vaults and repositories are deleted with their contents (`forceDestroy`, `forceDelete`). */
    forceDestroy: boolean;
    /**
     * Days a deleted secret can be restored, its name taken meanwhile; 0 deletes it at once. Secrets
     * Manager's DeleteSecret: "RecoveryWindowInDays ... Valid Range: Minimum value of 7. Maximum value of
     * 30", or ForceDeleteWithoutRecovery; the provider's `recoveryWindowInDays`: "0 to force deletion
     * without recovery or range from 7 to 30 days".
     */
    secretRecoveryWindowDays: number;
    /** Days a deleted KMS key waits before it is deleted (KMS ScheduleKeyDeletion, PendingWindowInDays: 7 to 30). */
    kmsDeletionWindowDays: number;
}

/** The longest recovery windows AWS offers (Secrets Manager and KMS: 30 days). */
const LONGEST_RECOVERY_WINDOW_DAYS = 30;
/** KMS's shortest pending window: a key is never deleted at once (ScheduleKeyDeletion, PendingWindowInDays minimum 7). */
export const KMS_SHORTEST_DELETION_WINDOW_DAYS = 7;

/** A kept stack's lifecycle: `protect` from config, everything else the safe choice. */
export function keptLifecycle(protect: boolean): StatefulLifecycle {
    return {
        protect,
        retainOnDelete: true,
        deletionProtection: true,
        finalSnapshot: true,
        forceDestroy: false,
        secretRecoveryWindowDays: LONGEST_RECOVERY_WINDOW_DAYS,
        kmsDeletionWindowDays: LONGEST_RECOVERY_WINDOW_DAYS,
    };
}

/** An ephemeral stack's lifecycle: `pulumi destroy` deletes everything, contents included, and leaves no name taken. */
export const EPHEMERAL_LIFECYCLE: StatefulLifecycle = {
    protect: false,
    retainOnDelete: false,
    deletionProtection: false,
    finalSnapshot: false,
    forceDestroy: true,
    secretRecoveryWindowDays: 0,
    kmsDeletionWindowDays: KMS_SHORTEST_DELETION_WINDOW_DAYS,
};
