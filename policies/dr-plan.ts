/**
 * The Genie AI Server disaster recovery plan (`../shared/dr-plan.md`), as numbers.
 *
 * This is the ONE place the plan's values live. It sits in the policy pack's folder because
 * `pulumi policy publish` packs `policies/` alone: the pack reads it here, and the program reads it
 * through `infra/dr-plan.ts`, which re-exports this module. Stack config defaults (Pulumi.yaml, checked by a
 * test), config validation (nothing below the plan), components, the policy pack's thresholds, the
 * recovery posture report and the docs (checked by test/docs.test.ts) all read them from here.
 *
 * Each value says which line of the plan it answers. They are the floor the plan sets: config can
 * tighten them (shorter intervals, longer retentions), never loosen them.
 */
export const DR_PLAN = {
    /** "RPO (Recovery Point Objective): 1 hour". */
    rpoMinutes: 60,
    /** "RTO (Recovery Time Objective): 4 hours". */
    rtoMinutes: 240,
    /** "Maximum Acceptable Downtime: 8 hours". */
    maxDowntimeMinutes: 480,

    /** Database backups, "Frequency: Every 6 hours". */
    dbBackupIntervalHours: 6,
    /** Database backups, "Retention: 30 days for daily backups". */
    dbDailyRetentionDays: 30,
    /** Database backups, "Retention: ... 12 months for weekly backups". */
    dbWeeklyRetentionDays: 365,

    /** Redis data, "Frequency: Every 12 hours" (RDB snapshots). */
    redisSnapshotIntervalHours: 12,
    /** Redis data, "Retention: 7 days". */
    redisRetentionDays: 7,

    /** File storage, "Logs: Centralized logging with 90-day retention". */
    logRetentionDays: 90,
    /** Docker images, "Retention: Keep last 10 versions of each image". */
    imageVersionsKept: 10,

    /** Load balancer, "Failover: Automatic failover within 30 seconds". */
    failoverDetectionSeconds: 30,
    /** Application scaling, "Minimum: 2 application instances". */
    appMinInstances: 2,

    /**
     * Critical alerts, "Database down: Immediate notification". The RDS event subscription notifies as
     * the event happens; the metric alarm on RDS's one-minute metrics looks at this many minutes (2 of
     * 3 datapoints missing page): the soonest CloudWatch tells a silent instance from a late datapoint.
     */
    databaseDownAlertMinutes: 3,
    /** Critical alerts, "Application down: Immediate notification". */
    applicationDownAlertMinutes: 1,
    /**
     * Incident Response, Response Times, "P1: 15 minutes": the operator acknowledges a P1 page within it.
     * The posture counts it as the decision time of a manually started regional failover (a Region
     * switch plan without its automatic trigger).
     */
    p1ResponseMinutes: 15,
    /** Incident Response, Response Times, "P2: 1 hour" (components/severity.ts: acknowledge within it). */
    p2ResponseMinutes: 60,
    /** Incident Response, Response Times, "P3: 4 hours". */
    p3ResponseMinutes: 240,
    /** Incident Response, Response Times, "P4: 24 hours". */
    p4ResponseMinutes: 1440,
    /** Testing and Validation, "Quarterly Tests: Communication plan test: Test notification systems" (months between runs). */
    communicationTestIntervalMonths: 3,
    /** Testing and Validation, "Monthly Tests: Application deployment test: Deploy from scratch" (months between runs). */
    deployFromScratchTestIntervalMonths: 1,
    /** Critical alerts, "High error rate: 5-minute notification". */
    highErrorRateAlertMinutes: 5,
    /** Critical alerts, "Disk space low: 1-hour notification". */
    diskSpaceLowAlertMinutes: 60,

    /** Testing and Validation, "Weekly Validation: Restore test". */
    restoreTestWeekly: true,
    /** Testing and Validation, "Monthly Tests: Database restore test ... Failover test". */
    restoreTestMonthly: true,
} as const;

export type DrPlan = typeof DR_PLAN;
