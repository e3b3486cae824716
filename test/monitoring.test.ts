import { expect } from "chai";
import { REPLICATION_RULE_IDS } from "../components/backup-storage";
import { DATABASE_EVENT_CATEGORIES } from "../components/database";
import { DASHBOARD_WIDGETS } from "../components/monitoring";
import { ConfigError, parseStackConfig, RawConfig } from "../infra/config";
import { DR_PLAN } from "../infra/dr-plan";
import { EvaluationError, loadEngineConfig, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { ALERT_TAG, AlertId, PLAN_ALERTS } from "../policies/rules/alerting";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const SLACK = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration";
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

/** Period x evaluation periods, every datapoint breaching: exactly the plan's minutes for the alert. */
function expectPlanDelay(r: RecordedResource, id: AlertId, periodSeconds: number) {
    const period = r.props.period ?? Math.max(...(r.props.metricQueries ?? []).map((q: any) => q.metric?.period ?? 0));
    expect(period, `${r.name} period`).to.equal(periodSeconds);
    expect(period * r.props.evaluationPeriods, `${r.name}: delay in seconds`).to.equal(PLAN_ALERTS[id].minutes * 60);
    expect(r.props.datapointsToAlarm, `${r.name}: every datapoint in the window breaches`).to.equal(r.props.evaluationPeriods);
    expect(r.props.tags[ALERT_TAG]).to.equal(id);
    expect(r.props.alarmDescription).to.include(PLAN_ALERTS[id].line);
}

for (const name of ["production", "dr"] as const) {
    describe(`monitoring: the ${name} stack's alarms`, () => {
        let ev: StackEvaluation;
        before(async () => {
            ev = await stack(name);
        });

        it("database down, immediately: the RDS event subscription (availability, failure) and no DatabaseConnections for 1 minute (missing is breaching), critical", () => {
            const r = alarm(ev, name, "database-down");
            expect(r.region).to.equal(ev.outputs.siteRegion);
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/RDS", "DatabaseConnections", "SampleCount"]);
            expect(r.props.dimensions).to.deep.equal({ DBInstanceIdentifier: ev.outputs.databaseIdentifier });
            expect(ofType(ev, "aws:rds/instance:Instance").filter((db) => db.outputs.identifier === ev.outputs.databaseIdentifier)).to.have.length(1);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["LessThanThreshold", 1, "breaching"]);
            expectPlanDelay(r, "database-down", 60);
            expect(r.props.evaluationPeriods).to.equal(DR_PLAN.databaseDownAlertMinutes);
            expectSeverity(ev, r, name, "critical");

            const events = one(ev, "aws:rds/eventSubscription:EventSubscription", `${SITES[name]}-db-events`);
            expect(events.props.sourceIds).to.deep.equal([ev.outputs.databaseIdentifier]);
            expect(events.props.eventCategories).to.include.members(["availability", "failure"]);
            expect(events.props.eventCategories).to.deep.equal([...DATABASE_EVENT_CATEGORIES]);
            expect(resolve(ev, events.props.snsTopic)!.name).to.equal(`${SITES[name]}-alerts-critical`);
        });

        it("application down, immediately: no healthy host behind the site's ALB for 1 minute, critical", () => {
            const r = alarm(ev, name, "app-no-healthy-hosts");
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/ApplicationELB", "HealthyHostCount", "Minimum"]);
            expect(r.props.dimensions).to.deep.equal({ LoadBalancer: ev.outputs.loadBalancerArnSuffix, TargetGroup: ev.outputs.targetGroupArnSuffix });
            const lb = ofType(ev, "aws:lb/loadBalancer:LoadBalancer");
            expect(lb.map((l) => l.outputs.arnSuffix)).to.deep.equal([r.props.dimensions.LoadBalancer]);
            expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["LessThanThreshold", 1, "breaching"]);
            expectPlanDelay(r, "application-down", 60);
            expectSeverity(ev, r, name, "critical");
        });

        it("application down, immediately: the site's Route 53 health check unhealthy for 1 minute, alarmed in us-east-1 to a critical topic there", () => {
            const r = alarm(ev, name, "app-health-check");
            expect(r.region).to.equal("us-east-1");
            expect([r.props.namespace, r.props.metricName, r.props.statistic]).to.deep.equal(["AWS/Route53", "HealthCheckStatus", "Minimum"]);
            const check = one(ev, "aws:route53/healthCheck:HealthCheck", /health-check$/);
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
            expect(ofType(ev, "aws:autoscaling/group:Group").map((g) => g.outputs.name)).to.deep.equal([ev.outputs.autoScalingGroupName]);
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
                expect(r.props.alarmDescription, r.name).to.match(/^Plan: /);
            }
            const tagged = new Set(alarms.map((r) => r.props.tags?.[ALERT_TAG]).filter(Boolean));
            expect([...tagged].sort()).to.deep.equal(Object.keys(PLAN_ALERTS).sort());
            expect(ev.outputs.alarmNames).to.deep.equal(Object.fromEntries(alarms.map((r) => [r.name.replace(`${SITES[name]}-monitoring-`, ""), r.props.name])));
        });

        it("a dashboard of the site: traffic, errors, latency, healthy hosts, database, replica lag, backup jobs", () => {
            const d = one(ev, "aws:cloudwatch/dashboard:Dashboard", `${SITES[name]}-monitoring-dashboard`);
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
        const replica = ofType(ev, "aws:rds/instance:Instance").find((db) => db.outputs.identifier === ev.outputs.databaseIdentifier)!;
        expect(replica.props.replicateSourceDb, "the dr database is the cross-region replica").to.be.a("string");
        expect(r.props.dimensions).to.deep.equal({ DBInstanceIdentifier: replica.outputs.identifier });
        expect([r.props.comparisonOperator, r.props.threshold, r.props.treatMissingData]).to.deep.equal(["GreaterThanThreshold", DR_PLAN.rpoMinutes * 60, "breaching"]);
        expect([r.props.period, r.props.evaluationPeriods, r.props.datapointsToAlarm]).to.deep.equal([60, 5, 5]);
        expectSeverity(ev, r, "dr", "high");
    });

    it("production and an active dr site have no replica lag alarm (nothing replicates into them)", async () => {
        expect(ofType(await stack("production"), ALARM).filter((r) => r.name.endsWith("replica-lag"))).to.deep.equal([]);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(ofType(active, ALARM).filter((r) => r.name.endsWith("replica-lag"))).to.deep.equal([]);
        expect(ofType(active, ALARM).map((r) => r.name)).to.include("genie-dr-monitoring-database-down");
    });

    for (const bucket of ["uploads", "backups"] as const) {
        it(`production: ${bucket} replication later than Replication Time Control's 15 minutes or failing, on the rule that has metrics, high`, async () => {
            const ev = await stack("production");
            const rule = ofType(ev, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").flatMap((c) => c.props.rules).find((x: any) => x.id === REPLICATION_RULE_IDS[bucket]);
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
        const rule = one(ev, "aws:cloudwatch/eventRule:EventRule", "genie-primary-monitoring-backup-job-failed");
        expect(JSON.parse(rule.props.eventPattern)).to.deep.equal({
            source: ["aws.backup"],
            "detail-type": ["Backup Job State Change", "Copy Job State Change"],
            detail: { state: ["FAILED", "ABORTED", "EXPIRED"] },
        });
        const target = one(ev, "aws:cloudwatch/eventTarget:EventTarget", "genie-primary-monitoring-backup-job-failed");
        expect(target.props.rule).to.equal(rule.outputs.name ?? rule.props.name);
        expect(resolve(ev, target.props.arn)!.name).to.equal("genie-primary-alerts-high");
    });

    it("production: a failed run of the Redis snapshot job, high", async () => {
        const ev = await stack("production");
        const r = alarm(ev, "production", "cache-snapshot-failed");
        expect([r.props.namespace, r.props.metricName, r.props.statistic, r.props.comparisonOperator, r.props.threshold]).to.deep.equal(["AWS/States", "ExecutionsFailed", "Sum", "GreaterThanThreshold", 0]);
        expect(r.props.dimensions).to.deep.equal({ StateMachineArn: ev.outputs.cacheSnapshotJobArn });
        expect(resolve(ev, ev.outputs.cacheSnapshotJobArn as string)!.type).to.equal("aws:sfn/stateMachine:StateMachine");
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
            expect(topics.length).to.equal(name === "dr" ? 4 : 3);
            const subs = ofType(plain, SUBSCRIPTION);
            const expected: string[] = [];
            for (const t of topics) {
                for (const e of emails) expected.push(`${t.name} email ${e}`);
                if (t.name.endsWith("-critical")) for (const n of sms) expected.push(`${t.name} sms ${n}`);
            }
            // Every subscription of the stack is one of these (the backup vault hook topics have none).
            expect(subs.map((s) => `${resolve(plain, s.props.topic)!.name} ${s.props.protocol} ${s.props.endpoint}`).sort()).to.deep.equal(expected.sort());
            expect(ofType(plain, SLACK)).to.deep.equal([]);

            const withSlack = await stackWith(name, { config: { slackWorkspaceId: "T0ABCDEF1", slackChannelId: "C0ABCDEF1" } });
            const slack = ofType(withSlack, SLACK);
            expect(slack.length).to.equal(name === "dr" ? 2 : 1);
            for (const s of slack) {
                expect([s.props.slackTeamId, s.props.slackChannelId]).to.deep.equal(["T0ABCDEF1", "C0ABCDEF1"]);
                expect(s.props.guardrailPolicyArns).to.deep.equal(["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
                for (const arn of s.props.snsTopicArns) expect(resolve(withSlack, arn)!.region).to.equal(s.region);
            }
            const heard = new Set(slack.flatMap((s) => s.props.snsTopicArns));
            const alertTopics = ofType(withSlack, TOPIC).filter((t) => /-alerts-(critical|high|warning)$/.test(t.name));
            expect(alertTopics.filter((t) => !heard.has(t.outputs.arn)).map((t) => t.name)).to.deep.equal([]);
        });
    }

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
