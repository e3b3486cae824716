/** The alarms' periods and delays, in the plan's terms (its alert minutes come from DR_PLAN through PLAN_ALERTS). */
import { AlertId, PLAN_ALERTS } from "../../policies/rules/alerting";

/** One-minute datapoints: the finest period standard-resolution AWS metrics offer. */
export const MINUTE = 60;
/** Period of the "over 1 hour" alarms (disk space): an hour of five-minute datapoints, all breaching. */
export const SUSTAINED_PERIOD_SECONDS = 300;
/** Period of the alarms on job-like metrics (replication failures, failed snapshot runs). */
export const JOB_PERIOD_SECONDS = 300;
/** Consecutive one-minute datapoints of replica lag above the RPO budget before the alarm. */
export const REPLICA_LAG_MINUTES = 5;
/**
 * "Database down" from the metrics: of the plan's {@link PLAN_ALERTS} minutes of one-minute
 * DatabaseConnections datapoints, this many missing (or empty) ones page. RDS publishes its metrics
 * once a minute and they can arrive late; CloudWatch then evaluates the real datapoints it has, and
 * fills in missing ones (as breaching here) only "if ... the number of actual data points that were
 * retrieved is lower than the alarm's number of Evaluation Periods" (CloudWatch user guide, "How alarm
 * state is evaluated when data is missing"; its evaluation range for 3 periods is 5 datapoints). With
 * 2 of 3 the alarm never pages on up to three late datapoints and pages once four minutes are missing
 * (test/monitoring.test.ts models the documented evaluation). The immediate notification is the RDS
 * event subscription (the database component), delivered as the event happens.
 */
export const DATABASE_DOWN_DATAPOINTS = 2;

/**
 * Each alarm's delay, in the plan's terms: period x evaluation periods (= datapoints to alarm) equals
 * the plan's minutes for that alert, exactly. Read from {@link PLAN_ALERTS} (which reads DR_PLAN).
 */
export function planTiming(id: AlertId, periodSeconds: number): { period: number; evaluationPeriods: number; datapointsToAlarm: number } {
    const seconds = PLAN_ALERTS[id].minutes * 60;
    if (seconds % periodSeconds !== 0) throw new Error(`alert ${id}: the plan's ${PLAN_ALERTS[id].minutes} min is not a whole number of ${periodSeconds} s periods`);
    const n = seconds / periodSeconds;
    return { period: periodSeconds, evaluationPeriods: n, datapointsToAlarm: n };
}
