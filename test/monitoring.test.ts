// Over 300 lines on purpose: test corpus: every alarm, rule, topic and route of both stacks, with
// CloudWatch's documented evaluation modelled.
import { expect } from "chai";
import { REPLICATION_RULE_IDS } from "../components/backup-storage";
import { DATABASE_EVENT_CATEGORIES } from "../components/database";
import { DASHBOARD_WIDGETS, DATABASE_DOWN_DATAPOINTS, REGION_SWITCH_EVALUATION_WARNING_PATTERN, REGION_SWITCH_EXECUTION_FAILED_PATTERN, RESTORE_JOB_FAILED_PATTERN } from "../components/monitoring";
import { CHATBOT_REGIONS } from "../components/notifications";
import { ConfigError, parseStackConfig, RawConfig } from "../infra/config";
import { DR_PLAN } from "../infra/dr-plan";
import * as aws from "@pulumi/aws";
import { evaluateStack, EvaluationError, loadEngineConfig, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { providerConfigureRegions } from "../offline/region-outage";
import { AWS_RULES, checkAwsRules } from "../offline/aws-rules";
import { runRules } from "../policies/harness";
import { ALERT_TAG, AlertId, PLAN_ALERTS, planAlertsRouted } from "../policies/rules/alerting";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

const ALARM = AWS_TYPES.metricAlarm;
const COMPOSITE = AWS_TYPES.compositeAlarm;
const TOPIC = AWS_TYPES.topic;
const SUBSCRIPTION = AWS_TYPES.topicSubscription;
const SLACK = AWS_TYPES.slackChannel;
const GIB = 1024 ** 3;

const SITES = { production: "genie-primary", dr: "genie-dr" } as const;
type StackName = keyof typeof SITES;

function alarm(ev: StackEvaluation, name: StackName, key: string): RecordedResource {
    return one(ev, ALARM, `${SITES[name]}-monitoring-${key}`);
}

/** The topic an alarm's actions go to: the same one on ALARM and on OK, one of the site's severity topics. */
function topicOf(ev: StackEvaluation, r: RecordedResource): RecordedResource {
    expect(r.props.alarmActions, `${r.name} alarmActions`).to.have.length(1);
    expect(r.props.okActions, `${r.name} notifies on recovery (OK) too`).to.deep.equal(r.props.alarmActions);
    const topic = resolve(ev, r.props.alarmActions[0]);
    expect(topic?.type, `${r.name}: ${r.props.alarmActions[0]} is no topic of the stack`).to.equal(TOPIC);
    expect(topic!.region, `${r.name}: an alarm notifies only a topic of its region`).to.equal(r.region);
    return topic!;
}

function expectSeverity(ev: StackEvaluation, r: RecordedResource, name: StackName, severity: string) {
    const topic = topicOf(ev, r);
    const expected = r.region === ev.outputs.siteRegion ? `${SITES[name]}-alerts-${severity}` : `${SITES[name]}-global-metrics-alerts-${severity}`;
    expect(topic.name, r.name).to.equal(expected);
    expect(r.props.tags.severity).to.equal(severity);
}

/** Period x evaluation periods: exactly the plan's minutes for the alert; every datapoint of them breaching unless `datapoints` says M of N. */
function expectPlanDelay(r: RecordedResource, id: AlertId, periodSeconds: number, datapoints?: number) {
    const period = r.props.period ?? Math.max(...(r.props.metricQueries ?? []).map((q: any) => q.metric?.period ?? 0));
    expect(period, `${r.name} period`).to.equal(periodSeconds);
    expect(period * r.props.evaluationPeriods, `${r.name}: delay in seconds`).to.equal(PLAN_ALERTS[id].minutes * 60);
    expect(r.props.datapointsToAlarm, `${r.name}: breaching datapoints in the window`).to.equal(datapoints ?? r.props.evaluationPeriods);
    expect(r.props.tags[ALERT_TAG]).to.equal(id);
    expect(r.props.alarmDescription).to.include(PLAN_ALERTS[id].line);
}

for (const name of ["production", "dr"] as const) {
    describe(`monitoring: the ${name} stack's alarms`, () => {
        let ev: StackEvaluation;
        before(async () => {
            ev = await stack(name);
        });

        it("database down, immediately: the RDS event subscription (availability, failure) and no DatabaseConnections in 2 of 3 minutes (missing is breaching), critical", () => {
            const r = alarm(ev, name, "database-down");
            expect(r.region).to.equal(ev.outputs.siteRegion);
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/RDS", "DatabaseConnections", "SampleCount"]);
            expect(r.props.dimensions).to.deep.equal({ DBInstanceIdentifier: ev.outputs.databaseIdentifier });
            expect(ofType(ev, AWS_TYPES.dbInstance).filter((db) => db.outputs.identifier === ev.outputs.databaseIdentifier)).to.have.length(1);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["LessThanThreshold", 1, "breaching"]);
            expectPlanDelay(r, "database-down", 60, DATABASE_DOWN_DATAPOINTS);
            expect([r.props.evaluationPeriods, r.props.datapointsToAlarm]).to.deep.equal([DR_PLAN.databaseDownAlertMinutes, 2]);
            expectSeverity(ev, r, name, "critical");

            const events = one(ev, AWS_TYPES.dbEventSubscription, `${SITES[name]}-db-events`);
            expect(events.props.sourceIds).to.deep.equal([ev.outputs.databaseIdentifier]);
            expect(events.props.eventCategories).to.include.members(["availability", "failure"]);
            expect(events.props.eventCategories).to.deep.equal([...DATABASE_EVENT_CATEGORIES]);
            expect(resolve(ev, events.props.snsTopic)!.name).to.equal(`${SITES[name]}-alerts-critical`);
        });

        it("application down, immediately: no healthy host behind the site's ALB for 1 minute, critical", () => {
            const r = alarm(ev, name, "app-no-healthy-hosts");
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/ApplicationELB", "HealthyHostCount", "Minimum"]);
            expect(r.props.dimensions).to.deep.equal({ LoadBalancer: ev.outputs.loadBalancerArnSuffix, TargetGroup: ev.outputs.targetGroupArnSuffix });
            const lb = ofType(ev, AWS_TYPES.loadBalancer);
            expect(lb.map((l) => l.outputs.arnSuffix)).to.deep.equal([r.props.dimensions.LoadBalancer]);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["LessThanThreshold", 1, "breaching"]);
            expectPlanDelay(r, "application-down", 60);
            expectSeverity(ev, r, name, "critical");
        });

        it("application down, immediately: the site's Route 53 health check unhealthy for 1 minute, alarmed in us-east-1 to a critical topic there", () => {
            const r = alarm(ev, name, "app-health-check");
            expect(r.region).to.equal("us-east-1");
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/Route53", "HealthCheckStatus", "Minimum"]);
            const check = one(ev, AWS_TYPES.healthCheck, /health-check$/);
            expect(r.props.dimensions).to.deep.equal({ HealthCheckId: check.id });
            expect(check.id).to.equal(ev.outputs.failoverHealthCheckId);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["LessThanThreshold", 1, "breaching"]);
            expectPlanDelay(r, "application-down", 60);
            expectSeverity(ev, r, name, "critical");
            // Somebody hears that topic: the same email and SMS recipients as the site's critical topic.
            const topic = topicOf(ev, r);
            const subs = ofType(ev, SUBSCRIPTION).filter((s) => s.props.topic === topic.outputs.arn);
            const site = ofType(ev, SUBSCRIPTION).filter((s) => resolve(ev, s.props.topic)!.name === `${SITES[name]}-alerts-critical`);
            expect(subs.map((s) => [s.props.protocol, s.props.endpoint])).to.deep.equal(site.map((s) => [s.props.protocol, s.props.endpoint]));
            expect(subs).to.have.length.greaterThan(0);
        });

        it("high error rate, 5 minutes: target 5XX / requests above the configured percentage in 5 one-minute datapoints, high", () => {
            const r = alarm(ev, name, "high-error-rate");
            expect(r.props.metricName).to.equal(undefined);
            const queries: any[] = r.props.metricQueries;
            const dims = { LoadBalancer: ev.outputs.loadBalancerArnSuffix, TargetGroup: ev.outputs.targetGroupArnSuffix };
            const byId = Object.fromEntries(queries.map((q) => [q.id, q]));
            expect(byId.errors.metric).to.deep.include({ namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", stat: "Sum", period: 60, dimensions: dims });
            expect(byId.requests.metric).to.deep.include({ namespace: "AWS/ApplicationELB", metricName: "RequestCount", stat: "Sum", period: 60, dimensions: dims });
            expect(queries.filter((q) => q.returnData).map((q) => q.expression)).to.deep.equal(["IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"]);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["GreaterThanThreshold", 5, "notBreaching"]);
            expectPlanDelay(r, "high-error-rate", 60);
            expect(r.props.evaluationPeriods).to.equal(DR_PLAN.highErrorRateAlertMinutes);
            expectSeverity(ev, r, name, "high");
        });

        it("disk space low, 1 hour: the app group's disk used percent (CloudWatch agent) and the database's free storage, warning", () => {
            const disk = alarm(ev, name, "app-disk-space-low");
            expect([disk.props.namespace, disk.props.metricName, disk.props.statistic]).to.deep.equal(["CWAgent", "disk_used_percent", "Maximum"]);
            expect(disk.props.dimensions).to.deep.equal({ AutoScalingGroupName: ev.outputs.autoScalingGroupName });
            expect(ofType(ev, AWS_TYPES.autoscalingGroup).map((g) => g.outputs.name)).to.deep.equal([ev.outputs.autoScalingGroupName]);
            expect([disk.props.comparisonOperator, disk.props.threshold]).to.deep.equal(["GreaterThanThreshold", 85]);
            expectPlanDelay(disk, "disk-space-low", 300);
            expectSeverity(ev, disk, name, "warning");

            const db = alarm(ev, name, "db-storage-low");
            expect([db.props.namespace, db.props.metricName, db.props.statistic]).to.deep.equal(["AWS/RDS", "FreeStorageSpace", "Minimum"]);
            expect(db.props.dimensions).to.deep.equal({ DBInstanceIdentifier: ev.outputs.databaseIdentifier });
            expect([db.props.comparisonOperator, db.props.threshold]).to.deep.equal(["LessThanThreshold", 10 * GIB]);
            expectPlanDelay(db, "disk-space-low", 300);
            expectSeverity(ev, db, name, "warning");
        });

        it("complete system outage (P1): a composite of app down AND database down, critical, exported as criticalAlarmArn", () => {
            const c = one(ev, COMPOSITE, `${SITES[name]}-monitoring-complete-outage`);
            const app = alarm(ev, name, "app-no-healthy-hosts");
            const db = alarm(ev, name, "database-down");
            expect(c.props.alarmRule).to.equal(`ALARM("${app.props.name}") AND ALARM("${db.props.name}")`);
            expect(c.region).to.equal(app.region).and.to.equal(db.region);
            expectSeverity(ev, c, name, "critical");
            expect(ev.outputs.criticalAlarmArn).to.equal(c.outputs.arn);
            expect(c.outputs.arn).to.match(/^arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:/);
        });

        it("every alarm notifies its topic on ALARM and OK, chooses how missing data counts, and each plan alert is tagged", () => {
            const alarms = ofType(ev, ALARM);
            for (const r of alarms) {
                topicOf(ev, r);
                expect(["breaching", "notBreaching", "missing", "ignore"], r.name).to.include(r.props.treatMissingData);
                // The severity, response time, runbook and dashboard first (components/severity.ts), then the plan line.
                expect(r.props.alarmDescription, r.name).to.match(/^P[1-4] - .* Plan: /);
            }
            const tagged = new Set(alarms.map((r) => r.props.tags?.[ALERT_TAG]).filter(Boolean));
            expect([...tagged].sort()).to.deep.equal(Object.keys(PLAN_ALERTS).sort());
            expect(ev.outputs.alarmNames).to.deep.equal(Object.fromEntries(alarms.map((r) => [r.name.replace(`${SITES[name]}-monitoring-`, ""), r.props.name])));
        });

        it("a dashboard of the site: traffic, errors, latency, healthy hosts, database, replica lag, backup jobs", () => {
            const d = one(ev, AWS_TYPES.dashboard, `${SITES[name]}-monitoring-dashboard`);
            const body = JSON.parse(d.props.dashboardBody);
            const titles = body.widgets.map((w: any) => w.properties.title);
            expect(titles).to.deep.equal(Object.values(DASHBOARD_WIDGETS));
            const byTitle = (t: string) => body.widgets.find((w: any) => w.properties.title === t).properties;
            expect(JSON.stringify(byTitle(DASHBOARD_WIDGETS.traffic).metrics)).to.include(ev.outputs.loadBalancerArnSuffix as string);
            expect(JSON.stringify(byTitle(DASHBOARD_WIDGETS.database).metrics)).to.include(ev.outputs.databaseIdentifier as string);
            expect(JSON.stringify(byTitle(DASHBOARD_WIDGETS.backupJobs).metrics)).to.include("NumberOfBackupJobsFailed");
            const lag = JSON.stringify(byTitle(DASHBOARD_WIDGETS.replicaLag).metrics);
            expect(lag).to.include("ReplicaLag");
            expect(byTitle(DASHBOARD_WIDGETS.traffic).region).to.equal(ev.outputs.siteRegion);
        });
    });
}

describe("monitoring: the recovery point", () => {
    it("dr standby: the cross-region replica's lag above the RPO budget (5 one-minute datapoints; no lag reported is breaching), high", async () => {
        const ev = await stack("dr");
        const r = alarm(ev, "dr", "replica-lag");
        expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/RDS", "ReplicaLag", "Maximum"]);
        const replica = ofType(ev, AWS_TYPES.dbInstance).find((db) => db.outputs.identifier === ev.outputs.databaseIdentifier)!;
        expect(replica.props.replicateSourceDb, "the dr database is the cross-region replica").to.be.a("string");
        expect(r.props.dimensions).to.deep.equal({ DBInstanceIdentifier: replica.outputs.identifier });
        expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["GreaterThanThreshold", DR_PLAN.rpoMinutes * 60, "breaching"]);
        expect([r.props.period, r.props.evaluationPeriods, r.props.datapointsToAlarm]).to.deep.equal([60, 5, 5]);
        expectSeverity(ev, r, "dr", "high");
    });

    it("production and an active dr site: the in-region read replica's lag above the RPO budget (5 one-minute datapoints; no lag reported is breaching), high", async () => {
        for (const ev of [await stack("production"), await stackWith("dr", { config: { siteRole: "active" } })]) {
            const site = ev.stack === "production" ? "production" : "dr";
            // Nothing replicates into the site's own database any more: no cross-region lag alarm.
            expect(ofType(ev, ALARM).filter((r) => r.name.endsWith("-replica-lag") && !r.name.endsWith("read-replica-lag")).map((r) => r.name)).to.deep.equal([]);
            const replicas = ofType(ev, AWS_TYPES.dbInstance).filter((db) => db.outputs.identifier !== ev.outputs.databaseIdentifier && db.region === ev.outputs.siteRegion);
            expect(replicas, `${ev.stack}: the in-region read replica`).to.have.length(1);
            expect(replicas[0].props.replicateSourceDb, "a replica of the site's database").to.be.a("string");
            const r = alarm(ev, site, "read-replica-lag");
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/RDS", "ReplicaLag", "Maximum"]);
            expect(r.props.dimensions).to.deep.equal({ DBInstanceIdentifier: replicas[0].outputs.identifier });
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["GreaterThanThreshold", DR_PLAN.rpoMinutes * 60, "breaching"]);
            expect([r.props.period, r.props.evaluationPeriods, r.props.datapointsToAlarm]).to.deep.equal([60, 5, 5]);
            expectSeverity(ev, r, site, "high");
            expect(ofType(ev, ALARM).map((a) => a.name)).to.include(`${SITES[site]}-monitoring-database-down`);
        }
        // A standby has no in-region read replica (its database is the cross-region replica).
        expect(ofType(await stack("dr"), ALARM).map((a) => a.name)).to.not.include("genie-dr-monitoring-read-replica-lag");
    });

    for (const bucket of ["uploads", "backups"] as const) {
        it(`production: ${bucket} replication later than Replication Time Control's 15 minutes or failing, on the rule that has metrics, high`, async () => {
            const ev = await stack("production");
            const rule = ofType(ev, AWS_TYPES.bucketReplication).flatMap((c) => c.props.rules).find((x: any) => x.id === REPLICATION_RULE_IDS[bucket]);
            expect(rule.destination.metrics.status).to.equal("Enabled");
            const dr = bucket === "uploads" ? ev.outputs.drUploadsBucketName : ev.outputs.drBackupsBucketName;
            const dims = { SourceBucket: ev.outputs[`${bucket}BucketName`], DestinationBucket: dr, RuleId: REPLICATION_RULE_IDS[bucket] };
            const late = alarm(ev, "production", `${bucket}-replication-late`);
            expect([late.props.namespace, late.props.metricName, late.props.statistic, late.props.threshold]).to.deep.equal(["AWS/S3", "ReplicationLatency", "Maximum", 15 * 60]);
            expect(late.props.dimensions).to.deep.equal(dims);
            const failed = alarm(ev, "production", `${bucket}-replication-failed`);
            expect([failed.props.namespace, failed.props.metricName, failed.props.statistic, failed.props.threshold]).to.deep.equal(["AWS/S3", "OperationsFailedReplication", "Sum", 0]);
            expect(failed.props.dimensions).to.deep.equal(dims);
            for (const r of [late, failed]) {
                expect(r.props.treatMissingData).to.equal("notBreaching");
                expectSeverity(ev, r, "production", "high");
            }
        });
    }

    it("production: failed, aborted or expired backup and copy jobs go to the high topic (EventBridge)", async () => {
        const ev = await stack("production");
        const rule = one(ev, AWS_TYPES.eventRule, "genie-primary-monitoring-backup-job-failed");
        expect(JSON.parse(rule.props.eventPattern)).to.deep.equal({
            source: ["aws.backup"],
            "detail-type": ["Backup Job State Change", "Copy Job State Change"],
            detail: { state: ["FAILED", "ABORTED", "EXPIRED"] },
        });
        const target = one(ev, AWS_TYPES.eventTarget, "genie-primary-monitoring-backup-job-failed");
        expect(target.props.rule).to.equal(rule.outputs.name ?? rule.props.name);
        expect(resolve(ev, target.props.arn)!.name).to.equal("genie-primary-alerts-high");
    });

    it("production: a failed run of the Redis snapshot job, high", async () => {
        const ev = await stack("production");
        const r = alarm(ev, "production", "cache-snapshot-failed");
        expect([r.props.namespace, r.props.metricName, r.props.statistic, r.props.comparisonOperator, r.props.threshold]).to.deep.equal(["AWS/States", "ExecutionsFailed", "Sum", "GreaterThanThreshold", 0]);
        expect(r.props.dimensions).to.deep.equal({ StateMachineArn: ev.outputs.cacheSnapshotJobArn });
        expect(resolve(ev, ev.outputs.cacheSnapshotJobArn as string)!.type).to.equal(AWS_TYPES.stateMachine);
        expectSeverity(ev, r, "production", "high");
    });
});

describe("monitoring: thresholds and recipients come from config", () => {
    it("the alarms' thresholds follow errorRateThresholdPercent, diskUsedThresholdPercent and dbFreeStorageThresholdGb", async () => {
        const ev = await stackWith("production", { config: { errorRateThresholdPercent: "2", diskUsedThresholdPercent: "70", dbFreeStorageThresholdGb: "25" } });
        expect(alarm(ev, "production", "high-error-rate").props.threshold).to.equal(2);
        expect(alarm(ev, "production", "app-disk-space-low").props.threshold).to.equal(70);
        expect(alarm(ev, "production", "db-storage-low").props.threshold).to.equal(25 * GIB);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: every subscription's protocol and endpoint come from config: email on every topic, SMS on critical only, Slack only with both ids`, async () => {
            const emails = ["first@example.org", "second@example.net"];
            const sms = ["+4915112345678", "+15555550123"];
            const plain = await stackWith(name, { config: { alertEmails: JSON.stringify(emails), alertSmsNumbers: JSON.stringify(sms) } });
            const topics = ofType(plain, TOPIC).filter((t) => /-alerts-(critical|high|warning)$/.test(t.name));
            // The site's three; dr: the us-east-1 critical topic of the health-check alarm and failed Region
            // switch executions, and the us-east-1 high topic of the plan's evaluation warnings; production:
            // the landing zone's high topic in us-west-2 (its vault's notifications).
            expect(topics.map((t) => `${t.name} ${t.region}`).sort()).to.deep.equal(
                name === "dr"
                    ? ["genie-dr-alerts-critical us-west-2", "genie-dr-alerts-high us-west-2", "genie-dr-alerts-warning us-west-2", "genie-dr-global-metrics-alerts-critical us-east-1", "genie-dr-global-metrics-alerts-high us-east-1"]
                    : ["genie-primary-alerts-critical us-east-1", "genie-primary-alerts-high us-east-1", "genie-primary-alerts-warning us-east-1", "genie-primary-landing-zone-alerts-high us-west-2"],
            );
            const subs = ofType(plain, SUBSCRIPTION);
            const expected: string[] = [];
            for (const t of topics) {
                for (const e of emails) expected.push(`${t.name} email ${e}`);
                if (t.name.endsWith("-critical")) for (const n of sms) expected.push(`${t.name} sms ${n}`);
            }
            // Every subscription of the stack is one of these (and no other topic exists: see "every notification reaches somebody").
            expect(subs.map((s) => `${resolve(plain, s.props.topic)!.name} ${s.props.protocol} ${s.props.endpoint}`).sort()).to.deep.equal(expected.sort());
            expect(ofType(plain, SLACK)).to.deep.equal([]);

            const withSlack = await stackWith(name, { config: { slackWorkspaceId: "T0ABCDEF1", slackChannelId: "C0ABCDEF1" } });
            // One channel configuration per stack (Chatbot takes one per channel and account), created in a
            // region that serves Chatbot's API, listing the alert topics of every region.
            const slack = ofType(withSlack, SLACK);
            expect(slack.length).to.equal(1);
            for (const s of slack) {
                expect([s.props.slackTeamId, s.props.slackChannelId]).to.deep.equal(["T0ABCDEF1", "C0ABCDEF1"]);
                expect(CHATBOT_REGIONS as readonly string[], `${s.name} is created through a Chatbot region`).to.include(s.region);
                expect(s.region).to.equal("us-west-2");
                expect(s.props.guardrailPolicyArns).to.deep.equal(["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]);
                const role = resolve(withSlack, s.props.iamRoleArn)!;
                expect(role.props.managedPolicyArns).to.deep.equal(["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]);
                const regions = new Set(s.props.snsTopicArns.map((arn: string) => resolve(withSlack, arn)!.region));
                expect([...regions].sort()).to.deep.equal(["us-east-1", "us-west-2"]);
            }
            const heard = new Set(slack.flatMap((s) => s.props.snsTopicArns));
            const alertTopics = ofType(withSlack, TOPIC).filter((t) => /-alerts-(critical|high|warning)$/.test(t.name));
            expect(alertTopics.filter((t) => !heard.has(t.outputs.arn)).map((t) => t.name)).to.deep.equal([]);
        });
    }

    for (const name of ["production", "dr"] as const) {
        it(`${name}: upgrading a stack with Slack moves the configuration the Notifications component used to declare (alias) and replaces it delete-first (one configuration per channel)`, async () => {
            const ev = await stackWith(name, { config: { slackWorkspaceId: "T0ABCDEF1", slackChannelId: "C0ABCDEF1" } });
            const slack = one(ev, SLACK, `${SITES[name]}-alerts-slack`);
            // Pulumi creates a replacement before deleting the old one unless told otherwise; Chatbot
            // refuses a second configuration of the channel.
            expect(slack.opts.deleteBeforeReplace).to.equal(true);
            // The aliases stand for the earlier version's `<notifications>-slack`, a child of the
            // Notifications component (the site's and, on dr, the us-east-1 one's): the URNs it had.
            const old = (notificationsName: string) => `urn:pulumi:${ev.stack}::${ev.project}::genie:monitoring:Notifications$${SLACK}::${notificationsName}-slack`;
            const expected = name === "dr" ? [old("genie-dr-alerts"), old("genie-dr-global-metrics-alerts")] : [old("genie-primary-alerts")];
            expect([...(slack.opts.aliases ?? [])].sort()).to.deep.equal(expected.sort());
            // ... the URNs of the topics those components hold today have the same form.
            const topic = one(ev, TOPIC, `${SITES[name]}-alerts-high`);
            expect(topic.urn).to.equal(`urn:pulumi:${ev.stack}::${ev.project}::genie:monitoring:Notifications$${TOPIC}::${SITES[name]}-alerts-high`);
            expect(expected).to.not.include(slack.urn);
        });
    }

    it("chatbotRegion moves the Slack channel configuration to another region with Chatbot's API, through a provider of that region", async () => {
        const ev = await stackWith("dr", { config: { slackWorkspaceId: "T0ABCDEF1", slackChannelId: "C0ABCDEF1", chatbotRegion: "eu-west-1" } });
        const slack = one(ev, SLACK, /-alerts-slack$/);
        expect(slack.region).to.equal("eu-west-1");
        const provider = ofType(ev, "pulumi:providers:aws").find((p) => p.urn === slack.provider)!;
        expect([provider.name, provider.region]).to.deep.equal(["chatbot-region", "eu-west-1"]);
        expect(JSON.parse(provider.props.defaultTags).tags.site).to.equal("dr");
    });

    /** Config as the engine passes it for production, without the project prefix. */
    function productionRaw(): RawConfig {
        const { project, config } = loadEngineConfig("production");
        return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.startsWith(`${project}:`) ? k.slice(project.length + 1) : k, v])) as RawConfig;
    }
    const malformed = [
        { what: "an email without a domain", change: { alertEmails: '["oncall@"]' }, says: /genie-infra:alertEmails has "oncall@": not an email address/ },
        { what: "an email with a space", change: { alertEmails: '["on call@example.com"]' }, says: /genie-infra:alertEmails has "on call@example.com": not an email address/ },
        { what: "an SMS number without the + and country code", change: { alertSmsNumbers: '["5555550100"]' }, says: /genie-infra:alertSmsNumbers has "5555550100": not an E.164 phone number/ },
        { what: "an SMS number with letters", change: { alertSmsNumbers: '["+1555CALLNOW"]' }, says: /genie-infra:alertSmsNumbers has "\+1555CALLNOW": not an E.164 phone number/ },
        { what: "a Slack workspace id that is not one", change: { slackWorkspaceId: "genie", slackChannelId: "C0ABCDEF1" }, says: /genie-infra:slackWorkspaceId = "genie": must be a Slack workspace id/ },
        { what: "a Slack channel name instead of its id", change: { slackWorkspaceId: "T0ABCDEF1", slackChannelId: "#alerts" }, says: /genie-infra:slackChannelId = "#alerts": must be a Slack channel id/ },
        { what: "only a Slack channel", change: { slackChannelId: "C0ABCDEF1" }, says: /genie-infra:slackWorkspaceId is missing: set both/ },
        { what: "a Chatbot region without Chatbot's API", change: { chatbotRegion: "us-east-1" }, says: /genie-infra:chatbotRegion = "us-east-1": AWS Chatbot's API exists only in us-east-2, us-west-2, ap-southeast-1, eu-west-1/ },
    ];
    for (const c of malformed) {
        it(`rejects ${c.what}, naming the key and the value`, () => {
            let problems: string[] = [];
            try {
                parseStackConfig({ ...productionRaw(), ...c.change }, "production");
            } catch (err) {
                expect(err).to.be.instanceOf(ConfigError);
                problems = (err as ConfigError).problems;
            }
            expect(problems.join("\n")).to.match(c.says);
        });
    }

    it("a malformed recipient stops the stack before any resource is declared", async () => {
        let error: unknown;
        try {
            await stackWith("dr", { config: { alertSmsNumbers: '["555-0100"]' } });
        } catch (err) {
            error = err;
        }
        expect(error).to.be.instanceOf(EvaluationError);
        expect((error as Error).message).to.match(/genie-infra:alertSmsNumbers has "555-0100": not an E.164 phone number/);
    });
});

/**
 * EventBridge's matching for the patterns used here (EventBridge user guide, "Creating event patterns" and
 * "Comparison operators"): every key of the pattern present, its value one of the listed ones (any element
 * of an array value); `$or`: one of the sub-patterns; `exists` and `equals-ignore-case` on leaves.
 */
function matches(pattern: Record<string, any>, event: Record<string, any>): boolean {
    const leaf = (want: unknown, value: unknown): boolean => {
        if (Array.isArray(value)) return value.some((v) => leaf(want, v));
        if (want !== null && typeof want === "object") {
            const op = want as Record<string, unknown>;
            if ("exists" in op) return op.exists === (value !== undefined && value !== null && typeof value !== "object");
            if ("equals-ignore-case" in op) return typeof value === "string" && value.toLowerCase() === String(op["equals-ignore-case"]).toLowerCase();
            throw new Error(`matcher ${JSON.stringify(want)} is not modelled here`);
        }
        return value === want;
    };
    return Object.entries(pattern).every(([k, want]) =>
        k === "$or" ? (want as Record<string, any>[]).some((p) => matches(p, event))
        : Array.isArray(want) ? (k in event ? want.some((w) => leaf(w, event[k])) : want.some((w) => w !== null && typeof w === "object" && "exists" in w && w.exists === false))
        : event[k] !== null && typeof event[k] === "object" && matches(want, event[k]));
}

/** The AWS Backup developer guide's example restore job events ("Monitoring AWS Backup events using Amazon EventBridge"). */
const RESTORE_JOB_FAILED_EVENT = {
    "detail-type": "Restore Job State Change",
    source: "aws.backup",
    region: "us-west-2",
    detail: { restoreJobId: "1B234A56-789B-01CD-2A34-4567A08901FD", percentDone: 0, resourceType: "EC2", status: "FAILED", statusMessage: "AWS Backup does not permit attaching a new instance profile to an EC2 instance." },
};
const RESTORE_JOB_COMPLETED_EVENT = { ...RESTORE_JOB_FAILED_EVENT, detail: { ...RESTORE_JOB_FAILED_EVENT.detail, status: "COMPLETED", restoreTestingPlanArn: "arn:aws:backup:us-west-2:1:restore-testing-plan:x" } };

const VARIANTS = [
    { label: "production", name: "production" as const, config: {} },
    { label: "dr standby", name: "dr" as const, config: {} },
    { label: "dr active", name: "dr" as const, config: { siteRole: "active" } },
];

describe("monitoring: backup, copy and restore jobs reach somebody", () => {
    for (const v of VARIANTS) {
        it(`${v.label}: a failed or aborted restore job of the site's region (restore tests are restore jobs) goes to the high topic (EventBridge)`, async () => {
            const ev = await stackWith(v.name, { config: v.config });
            const rule = one(ev, AWS_TYPES.eventRule, `${SITES[v.name]}-monitoring-restore-job-failed`);
            const pattern = JSON.parse(rule.props.eventPattern);
            expect(pattern).to.deep.equal(RESTORE_JOB_FAILED_PATTERN);
            expect(matches(pattern, RESTORE_JOB_FAILED_EVENT), "the documented FAILED restore job event").to.equal(true);
            expect(matches(pattern, { ...RESTORE_JOB_FAILED_EVENT, detail: { ...RESTORE_JOB_FAILED_EVENT.detail, status: "ABORTED", restoreTestingPlanArn: "arn:x" } })).to.equal(true);
            expect(matches(pattern, RESTORE_JOB_COMPLETED_EVENT), "a completed restore test does not page").to.equal(false);
            expect(rule.region).to.equal(ev.outputs.siteRegion);
            const target = one(ev, AWS_TYPES.eventTarget, `${SITES[v.name]}-monitoring-restore-job-failed`);
            expect(target.props.rule).to.equal(rule.outputs.name ?? rule.props.name);
            expect(resolve(ev, target.props.arn)!.name).to.equal(`${SITES[v.name]}-alerts-high`);
        });

        it(`${v.label}: every notification the stack publishes (alarms, RDS events, EventBridge rules, vault notifications) reaches a subscribed topic of its region`, async () => {
            const ev = await stackWith(v.name, { config: v.config });
            const subscribed = new Set(ofType(ev, SUBSCRIPTION).map((s) => s.props.topic));
            const published: { by: RecordedResource; arn: string }[] = [];
            for (const r of ev.resources) {
                const arns =
                    r.type === ALARM || r.type === COMPOSITE ? [...(r.props.alarmActions ?? []), ...(r.props.okActions ?? [])]
                    : r.type === AWS_TYPES.eventTarget ? [r.props.arn]
                    : r.type === AWS_TYPES.dbEventSubscription ? [r.props.snsTopic]
                    : r.type === AWS_TYPES.backupVaultNotifications ? [r.props.snsTopicArn]
                    : [];
                for (const arn of arns) if (String(arn).startsWith("arn:aws:sns:")) published.push({ by: r, arn });
            }
            expect(published.length).to.be.greaterThan(5);
            for (const { by, arn } of published) {
                const topic = resolve(ev, arn);
                expect(topic?.type, `${by.name} publishes to ${arn}, no topic of the stack`).to.equal(TOPIC);
                expect(topic!.region, `${by.name}: a topic of its own region`).to.equal(by.region);
                expect(subscribed.has(arn), `${by.name} publishes to ${topic!.name}, which nobody subscribes to`).to.equal(true);
            }
            // Every topic of the stack is published to and subscribed: no topic nobody hears (the vaults'
            // former hook topics) and no topic nobody publishes to.
            // (The customer notices topic is the status function's, for customers who subscribe themselves: test/status-page.test.ts.)
            for (const t of ofType(ev, TOPIC).filter((x) => x.props.tags?.audience !== "customers")) {
                expect(subscribed.has(t.outputs.arn), `${t.name} has a subscriber`).to.equal(true);
                expect(published.some((p) => p.arn === t.outputs.arn), `${t.name} is published to`).to.equal(true);
            }
            // Backup, copy and restore job failures arrive through EventBridge, by severity; each vault the
            // stack owns notifies the high topic of its region of what EventBridge does not report
            // (RECOVERY_POINT_MODIFIED) and of failed copies (test/data-protection.test.ts).
            const vaultNotifications = ofType(ev, AWS_TYPES.backupVaultNotifications);
            expect(vaultNotifications.map((n) => `${n.name} -> ${resolve(ev, n.props.snsTopicArn)!.name}`).sort()).to.deep.equal(
                {
                    production: ["genie-primary-backup-vault-notifications -> genie-primary-alerts-high", "genie-primary-dr-backup-vault-notifications -> genie-primary-landing-zone-alerts-high"],
                    "dr standby": ["genie-dr-backup-vault-notifications -> genie-dr-alerts-high"],
                    "dr active": ["genie-dr-backup-vault-notifications -> genie-dr-alerts-high"],
                }[v.label],
            );
            expect(published.filter((p) => p.by.type === AWS_TYPES.backupVaultNotifications).length).to.equal(vaultNotifications.length);
            const backupRules = ofType(ev, AWS_TYPES.eventRule).filter((r) => JSON.parse(r.props.eventPattern).source?.includes("aws.backup"));
            const detailTypes = backupRules.flatMap((r) => JSON.parse(r.props.eventPattern)["detail-type"]);
            expect(detailTypes).to.include("Restore Job State Change");
            if (v.label !== "dr standby") expect(detailTypes).to.include.members(["Backup Job State Change", "Copy Job State Change"]);
            // The policy pack holds every stack to the same: a publisher's topic must have a subscriber.
            const result = await runRules([planAlertsRouted], ev);
            expect(result.violations.map((x) => x.message)).to.deep.equal([]);
        });
    }

    it("the policy pack refuses a topic that something publishes to and nobody subscribes to (the vaults' former hook topics)", async () => {
        const ev = await stack("production");
        const hook = "arn:aws:sns:us-east-1:123456789012:genie-primary-backup-vault-alerts";
        const bad: StackEvaluation = {
            ...ev,
            resources: [
                ...ev.resources,
                { ...one(ev, TOPIC, "genie-primary-alerts-high"), urn: "urn:hook-topic", name: "genie-primary-backup-vault-alerts", props: { name: "hook" }, outputs: { arn: hook } },
                { ...one(ev, AWS_TYPES.eventTarget, "genie-primary-monitoring-restore-job-failed"), type: AWS_TYPES.backupVaultNotifications, urn: "urn:hook-notifications", name: "genie-primary-backup-vault-notifications", props: { backupVaultName: "genie-primary-backup-vault", snsTopicArn: hook, backupVaultEvents: ["BACKUP_JOB_COMPLETED"] }, outputs: { snsTopicArn: hook } },
            ],
        };
        const result = await runRules([planAlertsRouted], bad);
        expect(result.violations.map((x) => x.message).join("\n")).to.match(/genie-primary-backup-vault-notifications.*publishes to arn:aws:sns:us-east-1:123456789012:genie-primary-backup-vault-alerts, a topic of this stack that nobody subscribes to/);
    });
});

/**
 * CloudWatch's documented evaluation of an alarm with missing data (CloudWatch user guide, "How alarm
 * state is evaluated when data is missing"), for 3 evaluation periods, whose evaluation range the guide
 * gives as 5: with at least N real datapoints in the range, the newest N real ones decide and missing
 * data is ignored; with fewer, all real ones count and the rest are filled with the missing-data choice.
 * Datapoints oldest first; null is missing; true is breaching.
 */
function cloudWatchState(datapoints: (boolean | null)[], n: number, m: number, missingBreaches: boolean): "ALARM" | "OK" {
    expect(n, "the guide gives the evaluation range (5) for 3 evaluation periods").to.equal(3);
    const range = datapoints.slice(-5);
    const real = range.filter((d): d is boolean => d !== null);
    const considered = real.length >= n ? real.slice(-n) : [...real, ...Array<boolean>(n - real.length).fill(missingBreaches)];
    return considered.filter(Boolean).length >= m ? "ALARM" : "OK";
}

describe("monitoring: database down when AWS's one-minute RDS metrics arrive late", () => {
    it("the evaluation model reproduces the CloudWatch user guide's tables (3 of 3 and 2 of 3, missing data breaching)", () => {
        const row = (s: string) => s.split(" ").map((c) => (c === "-" ? null : c === "X"));
        const threeOfThree: [string, string][] = [["0 - X - X", "OK"], ["0 - - - -", "OK"], ["- - - - -", "ALARM"], ["0 X X - X", "ALARM"], ["- - X - -", "ALARM"]];
        for (const [data, state] of threeOfThree) expect(cloudWatchState(row(data), 3, 3, true), data).to.equal(state);
        const twoOfThree: [string, string][] = [["0 - X - X", "ALARM"], ["0 0 X 0 X", "ALARM"], ["0 - X - -", "ALARM"], ["- - - - 0", "ALARM"], ["- - - X -", "ALARM"]];
        for (const [data, state] of twoOfThree) expect(cloudWatchState(row(data), 3, 2, true), data).to.equal(state);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: up to three late datapoints never page; an instance silent for four minutes does`, async () => {
            const r = alarm(await stack(name), name, "database-down");
            // DatabaseConnections SampleCount < 1: a datapoint that arrives never breaches; missing ones do.
            expect(r.props.treatMissingData).to.equal("breaching");
            const state = (late: number) => cloudWatchState([...Array<boolean>(10 - late).fill(false), ...Array<null>(late).fill(null)], r.props.evaluationPeriods, r.props.datapointsToAlarm, true);
            for (const late of [1, 2, 3]) expect(state(late), `${late} late datapoint(s)`).to.equal("OK");
            for (const silent of [4, 5, 10]) expect(state(silent), `${silent} minutes without a datapoint`).to.equal("ALARM");
            // The immediate path: the RDS event subscription delivers availability and failure events as they happen.
            const events = one(await stack(name), AWS_TYPES.dbEventSubscription, `${SITES[name]}-db-events`);
            expect(events.props.eventCategories).to.include.members(["availability", "failure"]);
            expect(events.props.tags?.[ALERT_TAG]).to.equal("database-down");
        });
    }
});

describe("the dr stack during a us-east-1 outage (the outage it exists for)", () => {
    const outage = { regions: ["us-east-1"] };

    it("its us-east-1 provider calls no endpoint when configured: credentials not validated there, no account lookup, STS in the site's region", async () => {
        const ev = await stack("dr");
        const global = ofType(ev, "pulumi:providers:aws").find((p) => p.name === "global-metrics-region")!;
        expect(global.region).to.equal("us-east-1");
        expect(providerConfigureRegions(global.props)).to.deep.equal([]);
        expect(String(global.props.stsRegion)).to.equal("us-west-2");
        // Nothing else is read through it: getRegion answers from the provider's configuration, and
        // getCallerIdentity (the us-east-1 key's policy) calls STS in stsRegion, us-west-2.
        const calling = ev.invokes.filter((i) => i.region === "us-east-1" && !["aws:index/getRegion:getRegion", "aws:index/getCallerIdentity:getCallerIdentity"].includes(i.token));
        expect(calling.map((i) => i.token)).to.deep.equal([]);
    });

    /**
     * A failover run (standby -> active) asks nothing of us-east-1: the IAM roles, policies and
     * attachments of what an active site runs (its AWS Backup plan, restore tests, Redis snapshot job,
     * drills) and the app instance role's policy are declared by the standby already, with the same
     * inputs (IAM's control plane is in us-east-1, AWS Fault Isolation Boundaries, "Global services",
     * whatever the provider's region). (Before issue 13 this test listed the 13 IAM creates and the
     * update of genie-dr-app-instance's policy that the run still needed: the defect.)
     */
    const IAM = /^aws:iam\//;
    for (const change of [
        { label: "promotion of the replica", config: { siteRole: "active" } },
        { label: "restore from the latest replicated backup", config: { siteRole: "active", dbRecoverySource: "latest-backup" } },
        { label: "restore to a point in time", config: { siteRole: "active", dbRecoverySource: "point-in-time", dbRestoreTime: "2026-01-01T00:00:00Z" } },
    ]) {
        it(`the failover run (${change.label}) during a us-east-1 outage needs nothing of us-east-1: no IAM change, the us-east-1 provider calls nothing, the health-check alarm and its topic stay unchanged`, async () => {
            // The state before: the standby as Pulumi.dr.yaml declares it.
            const standby = await stack("dr");
            let error: unknown;
            try {
                await stackWith("dr", { config: change.config, regionOutage: { ...outage, state: standby.resources } });
            } catch (err) {
                error = err;
            }
            const needs = error instanceof EvaluationError ? error.violations.map((v) => `${v.rule} ${v.type} ${v.name}: ${v.message}`) : [];
            expect(needs, "what the failover run still asks of us-east-1").to.deep.equal([]);
            expect(error).to.equal(undefined);
            // Every IAM resource of the active site is the standby's, same URN and same inputs.
            const failover = await stackWith("dr", { config: change.config });
            const iam = (ev: typeof standby) => new Map(ev.resources.filter((r) => IAM.test(r.type)).map((r) => [r.urn, JSON.stringify(r.props)]));
            const [before, after] = [iam(standby), iam(failover)];
            expect([...after.keys()].filter((urn) => !before.has(urn)), "IAM resources the failover would create").to.deep.equal([]);
            expect([...after.keys()].filter((urn) => before.has(urn) && before.get(urn) !== after.get(urn)), "IAM resources the failover would update").to.deep.equal([]);
            // Without the outage the same run declares the health-check alarm in us-east-1, unchanged.
            const beforeAlarm = alarm(standby, "dr", "app-health-check");
            const afterAlarm = alarm(failover, "dr", "app-health-check");
            expect([afterAlarm.region, afterAlarm.props]).to.deep.equal(["us-east-1", beforeAlarm.props]);
        });
    }

    it("the mock refuses the same run when the us-east-1 provider validates credentials, looks the account up, or a us-east-1 resource changes", async () => {
        const program = (flags: Partial<aws.ProviderArgs>, alarmName: string) => () => {
            const p = new aws.Provider("global-metrics-region", { region: "us-east-1", ...flags });
            new aws.cloudwatch.MetricAlarm("health-check", {
                name: alarmName, namespace: "AWS/Route53", metricName: "HealthCheckStatus", statistic: "Minimum", period: 60,
                evaluationPeriods: 1, threshold: 1, comparisonOperator: "LessThanThreshold",
            }, { provider: p });
        };
        const tolerant = { skipCredentialsValidation: true, skipRequestingAccountId: true, stsRegion: "us-west-2" };
        const before = await evaluateStack("dr", { program: program(tolerant, "a") });
        await evaluateStack("dr", { program: program(tolerant, "a"), regionOutage: { ...outage, state: before.resources } });
        const refused = async (flags: Partial<aws.ProviderArgs>, alarmName: string) => {
            try {
                await evaluateStack("dr", { program: program(flags, alarmName), regionOutage: { ...outage, state: before.resources } });
            } catch (err) {
                expect(err).to.be.instanceOf(EvaluationError);
                return (err as EvaluationError).violations.map((x) => `${x.rule} ${x.name}: ${x.message}`).join("\n");
            }
            return "";
        };
        expect(await refused({}, "a")).to.match(/region-unreachable global-metrics-region: configuring this provider calls us-east-1/);
        expect(await refused({ skipCredentialsValidation: true }, "a")).to.match(/global-metrics-region: configuring this provider calls us-east-1 \(credential validation \/ account id lookup\)/);
        expect(await refused(tolerant, "b")).to.match(/region-unreachable health-check: updating it \(name\) calls us-east-1/);
    });

    it("IAM and Route 53 changes call us-east-1 (their control plane) whatever the provider's region; Route 53 Resolver is regional", async () => {
        const program = (roleName: string) => () => {
            const oregon = new aws.Provider("dr-region", { region: "us-west-2" });
            new aws.iam.Role("role", { name: roleName, assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) }, { provider: oregon });
            new aws.route53.HealthCheck("check", { type: "HTTPS", fqdn: "dr.example.org", port: 443, resourcePath: "/api/health", requestInterval: 10, failureThreshold: 3 }, { provider: oregon });
            new aws.route53.ResolverRule("rule", { domainName: "corp.example.org", ruleType: "SYSTEM" }, { provider: oregon });
        };
        const refusedNames = async (run: Parameters<typeof evaluateStack>[1]) => {
            try {
                await evaluateStack("dr", run);
            } catch (err) {
                expect(err).to.be.instanceOf(EvaluationError);
                return (err as EvaluationError).violations.map((v) => `${v.rule} ${v.name}: ${v.message}`);
            }
            return [];
        };
        // A fresh run: the role and the health check are creates in us-east-1; the resolver rule stays in us-west-2.
        const fresh = await refusedNames({ program: program("a"), regionOutage: outage });
        expect(fresh.map((x) => x.split(":")[0]).sort()).to.deep.equal(["region-unreachable check", "region-unreachable role"]);
        expect(fresh.join("\n")).to.match(/role: creating it calls us-east-1 \(the global service's control plane\)/);
        // Nothing changed: nothing to call. A changed role: refused.
        const before = await evaluateStack("dr", { program: program("a") });
        expect(await refusedNames({ program: program("a"), regionOutage: { ...outage, state: before.resources } })).to.deep.equal([]);
        expect((await refusedNames({ program: program("b"), regionOutage: { ...outage, state: before.resources } })).join("\n")).to.match(/region-unreachable role: updating it \(name\) calls us-east-1/);
        // The same resources are regional in us-west-2's own outage only where the service is: the resolver rule.
        expect((await refusedNames({ program: program("a"), regionOutage: { regions: ["us-west-2"] } })).map((x) => x.split(":")[0]).filter((x) => !x.includes("dr-region"))).to.deep.equal(["region-unreachable rule"]);
    });
});

/**
 * The ARC developer guide's example events ("Using Region switch in ARC with Amazon EventBridge"), as
 * published (the `#` comments removed): an execution start, a step start, and a plan evaluation warning.
 */
const REGION_SWITCH_EXECUTION_STARTED_EVENT = {
    version: "0",
    id: "1111111-bbbb-aaaa-cccc-dddddEXAMPLE",
    "detail-type": "ARC Region Switch Plan Execution",
    source: "aws.arc-region-switch",
    account: "111122223333",
    time: "2023-11-16T23:38:14Z",
    region: "us-east-1",
    resources: ["arn:aws:arc-region-switch::111122223333:plan/aaaaaExample"],
    detail: { version: "0.0.1", eventType: "ExecutionStarted", executionId: "bbbbbbEXAMPLE", executionAction: "activating/deactivating {region}", idempotencyKey: "1111111-2222-3333-4444-5555555555" },
};
const REGION_SWITCH_STEP_STARTED_EVENT = {
    ...REGION_SWITCH_EXECUTION_STARTED_EVENT,
    detail: {
        ...REGION_SWITCH_EXECUTION_STARTED_EVENT.detail,
        eventType: "StepStarted",
        stepDetails: { stepName: "Routing control step", resource: ["arn:aws:route53-recovery-control::111122223333:controlpanel/abcdefghiEXAMPLE/routingcontrol/jklmnopqrsEXAMPLE"] },
    },
};
const REGION_SWITCH_EVALUATION_WARNING_EVENT = {
    version: "0",
    id: "05d4d2d5-9c76-bfea-72d2-d4614802adb4",
    "detail-type": "ARC Region Switch Plan Execution",
    source: "aws.arc-region-switch",
    account: "111122223333",
    time: "2023-11-16T23:38:14Z",
    region: "us-east-1",
    resources: ["arn:aws:arc-region-switch::111122223333:plan/a2b89be4821bfd1d"],
    detail: {
        version: "0.0.1",
        idempotencyKey: "1111111-2222-3333-4444-5555555555",
        metadata: {
            evaluationTime: "timestamp",
            warning: "There is a plan evaluation warning for arn:aws:arc-region-switch::111122223333:plan/a2b89be4821bfd1d. Navigate to the Region switch console to resolve.",
        },
    },
};

describe("monitoring: the Region switch plan's readiness and executions reach the alert topics (dr stack)", () => {
    const RULE = AWS_TYPES.eventRule;
    const TARGET = AWS_TYPES.eventTarget;

    it("the patterns match AWS's documented events and not unrelated ones", () => {
        const warning = REGION_SWITCH_EVALUATION_WARNING_PATTERN as unknown as Record<string, any>;
        const failed = REGION_SWITCH_EXECUTION_FAILED_PATTERN as unknown as Record<string, any>;
        // The evaluation warning, in each documented form: the guide's example event, the EventBridge
        // reference's detail-type, the SDK's planEvaluationWarning event type.
        expect(matches(warning, REGION_SWITCH_EVALUATION_WARNING_EVENT), "the guide's example evaluation warning").to.equal(true);
        expect(matches(warning, { ...REGION_SWITCH_EVALUATION_WARNING_EVENT, "detail-type": "ARC Region Switch Plan Evaluation", detail: { version: "0.0.1" } })).to.equal(true);
        expect(matches(warning, { ...REGION_SWITCH_EXECUTION_STARTED_EVENT, detail: { ...REGION_SWITCH_EXECUTION_STARTED_EVENT.detail, eventType: "planEvaluationWarning" } })).to.equal(true);
        // Not an execution's progress, and not another service's event with a warning.
        expect(matches(warning, REGION_SWITCH_EXECUTION_STARTED_EVENT), "an execution start is no warning").to.equal(false);
        expect(matches(warning, REGION_SWITCH_STEP_STARTED_EVENT)).to.equal(false);
        expect(matches(warning, { ...REGION_SWITCH_EVALUATION_WARNING_EVENT, source: "aws.health" }), "another source").to.equal(false);

        // A failed execution or a step that failed (the execution waits on an operator): the guide's
        // execution event with the API's failure event types, in either capitalisation.
        for (const eventType of ["executionFailed", "ExecutionFailed", "stepFailed", "StepFailed", "stepPausedByError", "StepPausedByError"]) {
            expect(matches(failed, { ...REGION_SWITCH_EXECUTION_STARTED_EVENT, detail: { ...REGION_SWITCH_EXECUTION_STARTED_EVENT.detail, eventType } }), eventType).to.equal(true);
        }
        expect(matches(failed, { ...REGION_SWITCH_EXECUTION_STARTED_EVENT, "detail-type": "ARC Region switch Plan Execution", detail: { ...REGION_SWITCH_EXECUTION_STARTED_EVENT.detail, eventType: "executionFailed" } }), "the guide's other spelling of the detail-type").to.equal(true);
        for (const event of [REGION_SWITCH_EXECUTION_STARTED_EVENT, REGION_SWITCH_STEP_STARTED_EVENT, REGION_SWITCH_EVALUATION_WARNING_EVENT]) {
            expect(matches(failed, event), `${event.detail.version} ${(event.detail as any).eventType ?? "warning"} does not page as a failure`).to.equal(false);
        }
        for (const eventType of ["executionSucceeded", "executionCanceled", "stepPausedByOperator", "stepSucceeded"]) {
            expect(matches(failed, { ...REGION_SWITCH_EXECUTION_STARTED_EVENT, detail: { ...REGION_SWITCH_EXECUTION_STARTED_EVENT.detail, eventType } }), `${eventType} is no failure`).to.equal(false);
        }
        expect(matches(failed, { ...REGION_SWITCH_EXECUTION_STARTED_EVENT, source: "aws.states", detail: { eventType: "executionFailed" } }), "another source").to.equal(false);
    });

    for (const v of [
        { label: "dr standby", config: {} },
        { label: "dr active", config: { siteRole: "active" } },
    ]) {
        it(`${v.label}: evaluation warnings go to a subscribed high topic, failed executions to a subscribed critical topic, in us-east-1 where Region switch emits its events`, async () => {
            const ev = await stackWith("dr", { config: v.config });
            const expected = { "evaluation-warning": ["high", REGION_SWITCH_EVALUATION_WARNING_PATTERN], "execution-failed": ["critical", REGION_SWITCH_EXECUTION_FAILED_PATTERN] } as const;
            const subscribed = new Set(ofType(ev, SUBSCRIPTION).map((s) => s.props.topic));
            for (const [key, [severity, pattern]] of Object.entries(expected)) {
                const rule = one(ev, RULE, `genie-dr-region-switch-alerts-${key}`);
                expect(rule.region, `${rule.name}: the Region where the plan's events are emitted`).to.equal("us-east-1");
                expect(JSON.parse(rule.props.eventPattern)).to.deep.equal(JSON.parse(JSON.stringify(pattern)));
                expect(rule.props.tags.severity).to.equal(severity);
                const target = one(ev, TARGET, `genie-dr-region-switch-alerts-${key}`);
                expect(target.props.rule).to.equal(rule.outputs.name ?? rule.props.name);
                expect(target.region).to.equal("us-east-1");
                const topic = resolve(ev, target.props.arn)!;
                expect(topic.name).to.equal(`genie-dr-global-metrics-alerts-${severity}`);
                expect(topic.region, "a topic of the rule's own region").to.equal("us-east-1");
                expect(subscribed.has(target.props.arn), `${topic.name} has subscribers`).to.equal(true);
                expect(ofType(ev, SUBSCRIPTION).filter((s) => s.props.topic === target.props.arn).map((s) => s.props.protocol)).to.include("email");
            }
            // The one Slack channel lists the new topic too.
            const withSlack = await stackWith("dr", { config: { ...v.config, slackWorkspaceId: "T0ABCDEF1", slackChannelId: "C0ABCDEF1" } });
            const slack = one(withSlack, SLACK, /.*/);
            expect(slack.props.snsTopicArns.map((a: string) => resolve(withSlack, a)!.name)).to.include.members(["genie-dr-global-metrics-alerts-high", "genie-dr-global-metrics-alerts-critical"]);
        });
    }

    it("the us-east-1 topics' key lets EventBridge publish: without its statement for events.amazonaws.com the pretend AWS refuses the rules' targets", async () => {
        const ev = await stack("dr");
        const target = one(ev, TARGET, "genie-dr-region-switch-alerts-evaluation-warning");
        const topic = resolve(ev, target.props.arn)!;
        const key = resolve(ev, topic.props.kmsMasterKeyId)!;
        expect(key.region).to.equal("us-east-1");
        const publisherRule = AWS_RULES.filter((r) => r.id === "sns-encrypted-topic-publisher-allowed-by-key");
        expect(publisherRule).to.have.length(1);
        expect(checkAwsRules(ev.resources, publisherRule).filter((x) => x.name.startsWith("genie-dr-region-switch-alerts"))).to.deep.equal([]);
        // The same stack with EventBridge taken out of the key's policy: both targets are refused.
        const policy = JSON.parse(key.props.policy);
        for (const st of policy.Statement) {
            const services = ([] as string[]).concat(st.Principal?.Service ?? []);
            if (services.includes("events.amazonaws.com")) st.Principal.Service = services.filter((s) => s !== "events.amazonaws.com");
        }
        const without = ev.resources.map((r) => (r === key ? { ...r, props: { ...r.props, policy: JSON.stringify(policy) } } : r));
        expect(checkAwsRules(without, publisherRule).filter((x) => x.name.startsWith("genie-dr-region-switch-alerts")).map((x) => x.name).sort()).to.deep.equal([
            "genie-dr-region-switch-alerts-evaluation-warning",
            "genie-dr-region-switch-alerts-execution-failed",
        ]);
    });

    it("production declares no Region switch rule (the dr stack owns the plan)", async () => {
        const ev = await stack("production");
        expect(ofType(ev, RULE).filter((r) => r.props.eventPattern.includes("aws.arc-region-switch")).map((r) => r.name)).to.deep.equal([]);
    });
});
