/**
 * The plan's Incident Response in the stacks: every alarm and event carries a severity P1-P4 decided in
 * components/severity.ts, notifies that severity's topic, and its message names the severity, the
 * response time, the runbook and the dashboard; Incident Manager is opt-in; the quarterly communication
 * test and the status page are where the plan needs them.
 */
import { expect } from "chai";
import { communicationTestCron, SNS_PUBLISH_TARGET, testMonths } from "../components/communication-test";
import { ENGAGED_SEVERITIES, MAX_STAGE_MINUTES } from "../components/incident-response";
import { CLASSIFICATION, responseTime, SEVERITY_LEVELS, SEVERITY_TAG, statusFunctionClassification } from "../components/severity";
import { ConfigError, parseStackConfig, RawConfig } from "../infra/config";
import { DR_PLAN } from "../infra/dr-plan";
import { RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { planTests, renderPlanTests } from "../offline/plan-tests";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { statusFunctionAssets, statusFunctionSettings } from "../components/status-page";
import { AWS_TYPES } from "../policies/aws-types";

const ALARM = AWS_TYPES.metricAlarm;
const COMPOSITE = AWS_TYPES.compositeAlarm;
const RULE = AWS_TYPES.eventRule;
const TARGET = AWS_TYPES.eventTarget;
const SCHEDULE = AWS_TYPES.schedule;
const SITES = { production: "genie-primary", dr: "genie-dr" } as const;

/**
 * What AWS Chatbot requires of a custom notification (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html,
 * Event schema): version "1.0", source "custom", content.textType "client-markdown" when given, string title and
 * description, string arrays nextSteps/keywords/relatedResources, additionalContext of strings.
 */
function chatbotProblems(m: any): string[] {
    const p: string[] = [];
    const strings = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (m?.version !== "1.0") p.push(`version ${m?.version}: must be "1.0"`);
    if (m?.source !== "custom") p.push(`source ${m?.source}: must be "custom"`);
    if (typeof m?.content !== "object") p.push("no content");
    else {
        if (m.content.textType !== undefined && m.content.textType !== "client-markdown") p.push("textType: only client-markdown");
        for (const k of ["title", "description"]) if (typeof m.content[k] !== "string" || !m.content[k]) p.push(`content.${k}: a string`);
        for (const k of ["nextSteps", "keywords"]) if (!strings(m.content[k])) p.push(`content.${k}: strings`);
    }
    if (m?.metadata !== undefined) {
        if (!strings(m.metadata.relatedResources)) p.push("metadata.relatedResources: strings");
        if (m.metadata.additionalContext !== undefined && !Object.values(m.metadata.additionalContext).every((v) => typeof v === "string")) p.push("metadata.additionalContext: strings");
    }
    return p;
}

/** Replaces each `<name>` of an input template, knowing whether it stands inside a JSON string. */
function substitute(template: string, value: (name: string, inString: boolean) => string): string {
    let out = "";
    let inString = false;
    for (let i = 0; i < template.length; i++) {
        const ch = template[i];
        const m = ch === "<" ? /^<([A-Za-z]+)>/.exec(template.slice(i)) : null;
        if (m) {
            out += value(m[1], inString);
            i += m[0].length - 1;
            continue;
        }
        if (ch === "\\" && inString) {
            out += ch + template[++i];
            continue;
        }
        if (ch === '"') inString = !inString;
        out += ch;
    }
    return out;
}

/** The key of an alarm or rule: its name after the component's prefix. */
const keyOf = (r: RecordedResource) => Object.keys(CLASSIFICATION).find((k) => r.name.endsWith(`-${k}`));

/**
 * The first Tuesdays (or whichever `d#n`) a Scheduler cron `cron(m h ? months dow#n *)` fires in a year,
 * as ISO dates: the few fields this program uses, evaluated by hand.
 */
function firings(expression: string, year: number): string[] {
    const m = /^cron\((\d+) (\d+) \? ([\d,]+) (\d)#(\d) \*\)$/.exec(expression);
    if (!m) throw new Error(`unexpected cron ${expression}`);
    const [, minute, hour, months, dow, nth] = m;
    return months.split(",").map(Number).map((month) => {
        const first = new Date(Date.UTC(year, month - 1, 1));
        const offset = (Number(dow) - 1 - first.getUTCDay() + 7) % 7; // AWS cron: 1 = SUN
        const day = 1 + offset + 7 * (Number(nth) - 1);
        return new Date(Date.UTC(year, month - 1, day, Number(hour), Number(minute))).toISOString();
    });
}

describe("severities P1-P4 (components/severity.ts)", () => {
    it("take the plan's response times from DR_PLAN: 15 min, 1 h, 4 h, 24 h", () => {
        expect(["P1", "P2", "P3", "P4"].map((s) => responseTime(s as "P1"))).to.deep.equal(["15 min", "1 h", "4 h", "24 h"]);
        expect(SEVERITY_LEVELS.P1.responseMinutes).to.equal(DR_PLAN.p1ResponseMinutes);
        expect(SEVERITY_LEVELS.P4.responseMinutes).to.equal(DR_PLAN.p4ResponseMinutes);
    });

    it("P1 is the complete system outage alone; only P1 tells customers; P1/P2 page by SMS, P3/P4 never do", () => {
        expect(Object.entries(CLASSIFICATION).filter(([, c]) => c.severity === "P1").map(([k]) => k)).to.deep.equal(["complete-outage"]);
        expect(Object.entries(SEVERITY_LEVELS).filter(([, l]) => l.notifyCustomers).map(([s]) => s)).to.deep.equal(["P1"]);
        expect(Object.entries(SEVERITY_LEVELS).filter(([, l]) => l.channels.includes("sms")).map(([s]) => s)).to.deep.equal(["P1", "P2"]);
        for (const l of Object.values(SEVERITY_LEVELS)) expect(l.channels).to.include.members(["email", "slack"]);
        expect(ENGAGED_SEVERITIES).to.deep.equal(["P1", "P2"]);
    });
});

for (const name of ["production", "dr"] as const) {
    describe(`severities in the ${name} stack`, () => {
        let ev: StackEvaluation;
        before(async () => {
            ev = await stack(name);
        });

        it("every alarm and alert rule carries a severity from the one table, and notifies that severity's topic", () => {
            const raisers = [...ofType(ev, ALARM), ...ofType(ev, COMPOSITE), ...ofType(ev, RULE).filter((r) => r.props.tags?.severity)];
            expect(raisers.length).to.be.greaterThan(10);
            for (const r of raisers) {
                const key = keyOf(r);
                expect(key, `${r.name} has no severity in CLASSIFICATION`).to.not.equal(undefined);
                const sev = CLASSIFICATION[key as keyof typeof CLASSIFICATION].severity;
                expect(r.props.tags[SEVERITY_TAG], r.name).to.equal(sev);
                const topicArns: string[] = r.type === RULE
                    ? ofType(ev, TARGET).filter((t) => t.name === r.name).map((t) => t.props.arn)
                    : r.props.alarmActions;
                const topics = topicArns.map((a) => resolve(ev, a)).filter((t) => t?.type === AWS_TYPES.topic);
                expect(topics, `${r.name}: its topic`).to.have.length(1);
                expect(topics[0]!.name, r.name).to.match(new RegExp(`-alerts-${SEVERITY_LEVELS[sev].topic}$`));
            }
        });

        it("each alarm's message starts with severity, response time, runbook and the site's dashboard, within CloudWatch's 1024 characters", () => {
            for (const r of [...ofType(ev, ALARM), ...ofType(ev, COMPOSITE)]) {
                const sev = CLASSIFICATION[keyOf(r) as keyof typeof CLASSIFICATION].severity;
                const d: string = r.props.alarmDescription;
                expect(d.length, r.name).to.be.at.most(1024);
                expect(d, r.name).to.match(new RegExp(`^${SEVERITY_LEVELS[sev].label} \\(${SEVERITY_LEVELS[sev].meaning}\\): acknowledge within ${responseTime(sev)}\\. Runbook: docs/operations\\.md "[^"]+"`));
                expect(d, r.name).to.include(`#dashboards/dashboard/${SITES[name]}-monitoring.`);
            }
        });

        it("each alert event's message (input transformer) is an AWS Chatbot custom notification (Slack posts nothing else) that starts with the severity", () => {
            const rules = ofType(ev, RULE).filter((r) => r.props.tags?.severity);
            expect(rules.length).to.be.greaterThan(0);
            for (const r of rules) {
                const target = ofType(ev, TARGET).find((t) => t.name === r.name)!;
                const t = target.props.inputTransformer;
                // EventBridge's substitution: out of quotes the JSON value, inside a string the string value (escaped).
                const event: Record<string, unknown> = { detailType: "Backup Job State Change", region: "us-east-1", time: "2026-03-01T10:00:00Z", resources: ["arn:aws:rds:us-east-1:123456789012:db:genie"], state: 'FAILED "quoted"', statusMessage: "Access denied" };
                const sample = substitute(t.inputTemplate, (k, inString) => {
                    expect(t.inputPaths, `${r.name}: <${k}> has an input path`).to.have.property(k);
                    const v = event[k] ?? "";
                    return inString ? JSON.stringify(String(v)).slice(1, -1) : JSON.stringify(v);
                });
                const message = JSON.parse(sample);
                expect(chatbotProblems(message), r.name).to.deep.equal([]);
                const sev = CLASSIFICATION[keyOf(r) as keyof typeof CLASSIFICATION].severity;
                expect(message.content.title, r.name).to.match(new RegExp(`^${SEVERITY_LEVELS[sev].label}: `));
                expect(message.content.description, r.name).to.match(new RegExp(`^${SEVERITY_LEVELS[sev].label} \\(${SEVERITY_LEVELS[sev].meaning}\\): acknowledge within ${responseTime(sev)}\\.`));
                expect(message.content.description).to.include('*state:* FAILED "quoted"');
                expect(message.metadata.relatedResources).to.deep.equal(["arn:aws:rds:us-east-1:123456789012:db:genie"]);
                expect(message.metadata.additionalContext.statusMessage).to.equal("Access denied");
            }
        });

        it("tests every alert topic the stack creates, from the topic's own region, once a quarter", () => {
            const topics = ofType(ev, AWS_TYPES.topic).filter((t) => /-alerts-(critical|high|warning)$/.test(t.name));
            const tests = ofType(ev, SCHEDULE).filter((s) => s.props.target.arn === SNS_PUBLISH_TARGET);
            const tested = tests.map((s) => {
                const request = JSON.parse(s.props.target.input);
                const topic = resolve(ev, request.TopicArn);
                expect(topic, `${s.name} publishes to a topic of the stack`).to.not.equal(undefined);
                expect(s.region, `${s.name} publishes from ${topic!.name}'s region`).to.equal(topic!.region);
                return topic!.name;
            });
            expect(tested.sort()).to.deep.equal(topics.map((t) => t.name).sort());
            expect(topics.map((t) => t.name), "the site's topics and those elsewhere").to.include.members(name === "production"
                ? ["genie-primary-alerts-critical", "genie-primary-landing-zone-alerts-high"]
                : ["genie-dr-alerts-critical", "genie-dr-global-metrics-alerts-critical", "genie-dr-global-metrics-alerts-high"]);
            // Each scheduler role may publish to its topics and encrypt with their key.
            for (const s of tests) {
                const policy = ofType(ev, AWS_TYPES.iamRolePolicy).find((p) => resolve(ev, p.props.role)?.name === resolve(ev, s.props.target.roleArn)?.name)!;
                const statements = JSON.parse(policy.props.policy).Statement as { Action: string | string[]; Resource: string | string[] }[];
                const topicArn = JSON.parse(s.props.target.input).TopicArn;
                expect(statements.some((st) => [st.Action].flat().includes("sns:Publish") && [st.Resource].flat().includes(topicArn)), s.name).to.equal(true);
                const keyArn = resolve(ev, topicArn)!.props.kmsMasterKeyId;
                expect(statements.some((st) => [st.Action].flat().includes("kms:GenerateDataKey*") && [st.Resource].flat().includes(keyArn)), `${s.name}: the key of its topic`).to.equal(true);
            }
        });

        it("runs the quarterly communication test through every alert topic, on the first Tuesday of each quarter", () => {
            const schedules = ofType(ev, SCHEDULE).filter((s) => s.name.startsWith(`${SITES[name]}-communication-test-`));
            const toTopics = schedules.filter((s) => /-(critical|high|warning)$/.test(s.name));
            expect(toTopics.map((s) => s.name.split("-").pop()).sort()).to.deep.equal(["critical", "high", "warning"]);
            for (const s of toTopics) {
                const request = JSON.parse(s.props.target.input);
                expect(resolve(ev, request.TopicArn)?.name).to.equal(`${SITES[name]}-alerts-${s.name.split("-").pop()}`);
                // One message per protocol: plain text by e-mail and SMS, a Chatbot custom notification to Slack (HTTPS) and by default.
                expect(request.MessageStructure).to.equal("json");
                const perProtocol = JSON.parse(request.Message);
                expect(perProtocol.email).to.match(/^\[TEST\] Genie communication test/);
                expect(perProtocol.email).to.include(`topic of ${SITES[name]}, `);
                expect(perProtocol.sms).to.match(/^\[TEST\] Genie communication test/);
                expect(perProtocol.sms.length, "one SMS").to.be.at.most(160);
                for (const p of ["default", "https"]) {
                    const chatbot = JSON.parse(perProtocol[p]);
                    expect(chatbotProblems(chatbot), p).to.deep.equal([]);
                    expect(chatbot.content.title).to.match(/^\[TEST\] Genie communication test/);
                }
                expect(request.Subject.length).to.be.below(100);
                expect(s.props.state).to.equal("ENABLED");
                expect(firings(s.props.scheduleExpression, 2026)).to.deep.equal(["2026-01-06T15:00:00.000Z", "2026-04-07T15:00:00.000Z", "2026-07-07T15:00:00.000Z", "2026-10-06T15:00:00.000Z"]);
            }
            expect(testMonths(DR_PLAN.communicationTestIntervalMonths)).to.have.length(12 / DR_PLAN.communicationTestIntervalMonths);
            // The status page's test component: dr only (the page is the dr stack's).
            expect(schedules.some((s) => s.name.endsWith("status-start"))).to.equal(name === "dr");
        });
    });
}

describe("the status page and the alarm events it follows", () => {
    it("dr: the function, bucket, CDN and customer topic in the DR region; alarm changes of every site reach it", async () => {
        const dr = await stack("dr");
        const fn = one(dr, AWS_TYPES.lambdaFunction, "genie-status-function");
        expect(fn.region).to.equal(dr.outputs.drRegion);
        // No reserved concurrency (a fresh account cannot reserve any: aws-rule lambda-reserved-concurrency); S3 conditional writes serialise updates.
        expect(fn.props.reservedConcurrentExecutions).to.equal(undefined);
        // The classification travels in the code package (settings.json), not in the 4 KB of environment.
        expect(JSON.stringify(fn.props.environment.variables)).to.not.include("complete-outage");
        expect(JSON.stringify(fn.props.environment.variables).length).to.be.below(1024);
        expect(JSON.parse(statusFunctionSettings()).classification).to.deep.equal(statusFunctionClassification());
        expect(Object.keys(statusFunctionAssets()).sort()).to.deep.equal(["settings.json", "status_page.py"]);
        expect(fn.props.environment.variables.SERVING_SITES).to.equal("primary");
        const rule = one(dr, RULE, "genie-status-alarm-changes");
        expect(JSON.parse(rule.props.eventPattern)).to.deep.equal({ source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], detail: { alarmName: [{ prefix: "genie-" }] } });
        expect(resolve(dr, one(dr, TARGET, "genie-status-alarm-changes").props.arn)?.name).to.equal("genie-status-function");
        expect(one(dr, AWS_TYPES.topic, "genie-status-customer-notices").region).to.equal(dr.outputs.drRegion);
        const active = await stackWith("dr", { config: { siteRole: "active" } });
        expect(one(active, AWS_TYPES.lambdaFunction, "genie-status-function").props.environment.variables.SERVING_SITES).to.equal("dr");
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: every alarm outside the DR region reaches the status page's region through exactly one forwarding rule of its own region`, async () => {
            const ev = await stack(name);
            const drRegion = ev.outputs.drRegion;
            const forwarders = ofType(ev, RULE).filter((r) => /-alarms-to-status-page$/.test(r.name));
            const outside = [...ofType(ev, ALARM), ...ofType(ev, COMPOSITE)].filter((a) => a.region !== drRegion);
            expect(outside.length).to.be.greaterThan(0);
            for (const a of outside) {
                const alarmName: string = a.props.alarmName ?? a.props.name;
                const matching = forwarders.filter((f) => f.region === a.region && alarmName.startsWith(JSON.parse(f.props.eventPattern).detail.alarmName[0].prefix));
                expect(matching.map((f) => f.name), `${alarmName} (${a.region})`).to.have.length(1);
                const target = ofType(ev, TARGET).find((t) => t.name === matching[0].name)!;
                expect(target.props.arn).to.match(new RegExp(`^arn:aws:events:${drRegion}:\\d{12}:event-bus/default$`));
            }
            if (name === "dr") expect(outside.map((a) => a.props.alarmName ?? a.props.name)).to.include("genie-dr-monitoring-app-health-check");
        });
    }

    it("production: forwards its region's alarm changes to the DR region's default bus, with a role", async () => {
        const prod = await stack("production");
        const target = one(prod, TARGET, "genie-primary-alarms-to-status-page");
        expect(target.props.arn).to.match(new RegExp(`^arn:aws:events:${prod.outputs.drRegion}:\\d{12}:event-bus/default$`));
        expect(target.props.roleArn).to.be.a("string");
        expect(ofType(prod, AWS_TYPES.lambdaFunction).filter((f) => f.name.startsWith("genie-status"))).to.deep.equal([]);
    });
});

describe("Incident Manager: opt-in, contacts from config", () => {
    const contacts = JSON.stringify(["Technical Lead|+15555550100|lead@example.com", "DevOps Engineer|+15555550101|devops@example.com"]);

    it("disabled by default: alarms notify SNS only, no Incident Manager resource", async () => {
        const prod = await stack("production");
        expect(prod.resources.filter((r) => /ssmcontacts|ssmincidents/.test(r.type))).to.deep.equal([]);
        for (const a of ofType(prod, ALARM)) expect(a.props.alarmActions.every((x: string) => !x.includes("ssm-incidents")), a.name).to.equal(true);
    });

    it("enabled: contacts in config order, escalation stages of the severity's response time, P1/P2 alarms start its response plan", async () => {
        const prod = await stackWith("production", { config: { incidentManager: "enabled", incidentContacts: contacts } });
        const plan = (sev: string) => one(prod, AWS_TYPES.contactPlan, `genie-primary-incident-response-${sev}-escalation`);
        // Each contact is engaged for the response time before the next one, in stages of at most 30 minutes (AWS's limit).
        const engaged = (sev: string) => {
            const stages = plan(sev).props.stages as { durationInMinutes: number; targets: { contactTargetInfo: { contactId: string } }[] }[];
            expect(Math.max(...stages.map((s) => s.durationInMinutes)), sev).to.be.at.most(MAX_STAGE_MINUTES);
            const minutes: Record<string, number> = {};
            for (const s of stages) {
                const alias = resolve(prod, s.targets[0].contactTargetInfo.contactId)!.props.alias as string;
                minutes[alias] = (minutes[alias] ?? 0) + s.durationInMinutes;
            }
            return minutes;
        };
        expect(engaged("p1")).to.deep.equal({ "genie-technical-lead": DR_PLAN.p1ResponseMinutes, "genie-devops-engineer": DR_PLAN.p1ResponseMinutes });
        expect(engaged("p2")).to.deep.equal({ "genie-technical-lead": DR_PLAN.p2ResponseMinutes, "genie-devops-engineer": DR_PLAN.p2ResponseMinutes });
        expect(plan("p2").props.stages.map((s: any) => s.durationInMinutes)).to.deep.equal([30, 30, 30, 30]);
        const aliases = ofType(prod, AWS_TYPES.contact).filter((c) => c.props.type === "PERSONAL").map((c) => c.props.alias);
        expect(aliases).to.deep.equal(["genie-technical-lead", "genie-devops-engineer"]);
        expect(one(prod, AWS_TYPES.responsePlan, "genie-primary-incident-response-p1").props.incidentTemplate.impact).to.equal(1);
        const withPlan = (key: string) => one(prod, key === "complete-outage" ? COMPOSITE : ALARM, `genie-primary-monitoring-${key}`).props.alarmActions.length === 2;
        expect(withPlan("complete-outage")).to.equal(true);
        expect(withPlan("database-down")).to.equal(true);
        expect(withPlan("high-error-rate")).to.equal(false);
        expect(withPlan("app-disk-space-low")).to.equal(false);
    });

    it("bad config names the key and what is allowed", () => {
        const fail = (raw: RawConfig) => {
            try {
                parseStackConfig({ alertEmails: '["oncall@example.com"]', ...raw }, "production");
            } catch (e) {
                return (e as ConfigError).problems.join("\n");
            }
            return "";
        };
        expect(fail({ incidentManager: "yes" })).to.match(/genie-infra:incidentManager = "yes": allowed: disabled, enabled/);
        expect(fail({ incidentManager: "enabled" })).to.match(/genie-infra:incidentContacts = \[\]: incidentManager is enabled/);
        expect(fail({ incidentContacts: '["Lead|555-0001|lead@example.com"]' })).to.match(/genie-infra:incidentContacts has "Lead\|555-0001\|lead@example.com": must be "Name\|\+E164 phone\|email"/);
    });
});

describe("the offline plan lists the plan's tests with their schedules", () => {
    it("production: restore tests, failover drills, the communication test and the deploy-from-scratch workflow", async () => {
        const tests = planTests(await stack("production"));
        const plans = new Set(tests.map((t) => t.plan));
        expect([...plans]).to.include.members([
            "Weekly Validation: Restore test",
            "Monthly Tests: Database restore test",
            "Monthly Tests: Failover test",
            "Quarterly Tests: Communication plan test",
            "Monthly Tests: Application deployment test (deploy from scratch)",
        ]);
        expect(tests.find((t) => t.plan.startsWith("Quarterly"))!.schedule).to.equal(communicationTestCron());
        expect(renderPlanTests(tests)).to.match(/^The plan's tests and their schedules:\n/);
    });
});
