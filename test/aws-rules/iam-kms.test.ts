import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { siteKeyPolicy } from "../../components/keys";
import { MOCK_ACCOUNT_ID } from "../../offline/mock-runtime";
import { checkAwsRules, ruleContext } from "../../offline/aws-rules";
import { conditionHolds, evaluatePolicy, findKey, policyStatements, rules } from "../../offline/aws-rules/iam-kms";
import { stack } from "../support/stacks";
import { violationsOf } from "../support/aws-rules";
import { AWS_TYPES } from "../../policies/aws-types";

const ACCOUNT = MOCK_ACCOUNT_ID;
const REGION = "eu-west-1";
const SLR_ARN = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
const GRANT_OPERATIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"];

/**
 * The evaluation's violations of this module's rules ([] when it passes them). Other modules' rules
 * (a topic policy for AWS Backup, ...) judge what these tiny programs leave out on purpose.
 */
async function refusals(program: () => void, config: Record<string, string> = {}): Promise<{ rule: string; name: string; message: string }[]> {
    const ours = new Set(rules.map((r) => r.id));
    return (await violationsOf(program, config)).filter((v) => ours.has(v.rule)).map((v) => ({ rule: v.rule, name: v.name, message: v.message }));
}
const ids = (found: { rule: string }[]) => [...new Set(found.map((f) => f.rule))];

const provider = () => new aws.Provider("test-region", { region: REGION });

/** The site key of components/keys.ts before issue 12: every publisher conditioned on aws:SourceAccount. */
const OLD_TOPIC_STATEMENT = {
    Sid: "ServicesPublishingToEncryptedTopics",
    Effect: "Allow",
    Principal: { Service: ["backup.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"] },
    Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
    Resource: "*",
    Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
};
const oldKeyPolicy = () => {
    const policy = siteKeyPolicy(ACCOUNT, REGION) as { Statement: any[] };
    return JSON.stringify({ ...policy, Statement: [...policy.Statement.filter((s) => s.Sid !== "ServicesPublishingToThisAccountsTopics"), OLD_TOPIC_STATEMENT] });
};

describe("offline AWS rules: IAM and KMS", () => {
    describe("the policy evaluator", () => {
        it("a condition key absent from the request fails the condition, except with IfExists and negated operators", () => {
            expect(conditionHolds({ StringEquals: { "aws:SourceAccount": ACCOUNT } }, {})).to.equal(false);
            expect(conditionHolds({ StringEquals: { "aws:SourceAccount": ACCOUNT } }, { "aws:sourceaccount": ACCOUNT })).to.equal(true);
            expect(conditionHolds({ StringLike: { "s3:prefix": ["db/*"] } }, {})).to.equal(false);
            expect(conditionHolds({ StringLikeIfExists: { "s3:prefix": ["db/*"] } }, {})).to.equal(true);
            expect(conditionHolds({ StringLikeIfExists: { "s3:prefix": ["db/*"] } }, { "s3:prefix": "uploads/" })).to.equal(false);
            expect(conditionHolds({ StringNotEquals: { "aws:SourceAccount": "999999999999" } }, {})).to.equal(true);
            expect(conditionHolds({ ArnLike: { "kms:EncryptionContext:aws:sns:topicArn": `arn:aws:sns:${REGION}:${ACCOUNT}:*` } }, { "kms:EncryptionContext:aws:sns:topicArn": `arn:aws:sns:${REGION}:${ACCOUNT}:alerts` })).to.equal(true);
        });

        it("an explicit Deny wins; an account principal in a key policy does not by itself admit a role or a service", () => {
            const statements = policyStatements({
                Statement: [
                    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
                    { Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "kms:GenerateDataKey*", Resource: "*" },
                    { Effect: "Deny", Principal: "*", Action: "kms:GenerateDataKeyWithoutPlaintext", Resource: "*" },
                ],
            });
            expect(evaluatePolicy(statements, { action: "kms:GenerateDataKey", principal: { service: "cloudwatch.amazonaws.com" } })).to.equal("allow");
            expect(evaluatePolicy(statements, { action: "kms:GenerateDataKeyWithoutPlaintext", principal: { service: "cloudwatch.amazonaws.com" } })).to.equal("deny");
            expect(evaluatePolicy(statements, { action: "kms:Decrypt", principal: { arn: SLR_ARN } })).to.equal("implicit-deny");
        });

        it("every rule names its source", () => {
            for (const rule of rules) expect(rule.source, rule.id).to.match(/https:\/\/|terraform-provider-aws/);
        });
    });

    describe("kms-principal-must-exist", () => {
        const keyAndGrant = (opts: { declareRole?: boolean; ordered?: boolean } = {}) => () => {
            const p = provider();
            const key = new aws.kms.Key("k", { description: "k" }, { provider: p });
            const role = opts.declareRole ? new aws.iam.ServiceLinkedRole("asg-role", { awsServiceName: "autoscaling.amazonaws.com" }, { provider: p }) : undefined;
            new aws.kms.Grant("g", { keyId: key.arn, granteePrincipal: SLR_ARN, operations: GRANT_OPERATIONS }, { provider: p, dependsOn: role && opts.ordered ? [role] : [] });
        };

        it("refuses a grant to the Auto Scaling service-linked role that nothing creates (the original app cluster grant on a fresh account)", async () => {
            const found = await refusals(keyAndGrant());
            expect(ids(found)).to.deep.equal(["kms-principal-must-exist"]);
            expect(found[0].message).to.match(/AWSServiceRoleForAutoScaling.*InvalidArnException/);
        });

        it("refuses it when the role is declared but the grant is not ordered after it", async () => {
            expect(ids(await refusals(keyAndGrant({ declareRole: true, ordered: false })))).to.deep.equal(["kms-principal-must-exist"]);
        });

        it("accepts it ordered after the declared ServiceLinkedRole, or when the stack states the role already exists", async () => {
            expect(await refusals(keyAndGrant({ declareRole: true, ordered: true }))).to.deep.equal([]);
            expect(await refusals(keyAndGrant(), { autoscalingServiceLinkedRole: "existing" })).to.deep.equal([]);
        });

        it("refuses a key policy naming a role this stack creates without waiting for it", async () => {
            const program = (ordered: boolean) => () => {
                const p = provider();
                const role = new aws.iam.Role("r", { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) }, { provider: p });
                const roleArn = `arn:aws:iam::${ACCOUNT}:role/r`;
                new aws.kms.Key("k", {
                    policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: roleArn }, Action: "kms:Decrypt", Resource: "*" }] }),
                }, { provider: p, dependsOn: ordered ? [role] : [] });
            };
            expect(ids(await refusals(program(false)))).to.deep.equal(["kms-principal-must-exist"]);
            expect(await refusals(program(true))).to.deep.equal([]);
        });
    });

    describe("autoscaling-cmk-volumes-need-service-linked-role-access", () => {
        const group = (access: "none" | "grant" | "grant-without-create-grant" | "grant-not-awaited") => () => {
            const p = provider();
            const key = new aws.kms.Key("k", { description: "k" }, { provider: p });
            const lt = new aws.ec2.LaunchTemplate("lt", {
                imageId: "ami-0123456789abcdef0",
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: key.arn, volumeSize: 30 } }],
            }, { provider: p });
            const deps: pulumi.Resource[] = [];
            if (access !== "none") {
                const operations = access === "grant-without-create-grant" ? GRANT_OPERATIONS.filter((o) => o !== "CreateGrant") : GRANT_OPERATIONS;
                const grant = new aws.kms.Grant("g", { keyId: key.arn, granteePrincipal: SLR_ARN, operations }, { provider: p });
                if (access !== "grant-not-awaited") deps.push(grant);
            }
            new aws.autoscaling.Group("asg", { minSize: 1, maxSize: 2, launchTemplate: { id: lt.id, version: "1" }, vpcZoneIdentifiers: ["subnet-1"] }, { provider: p, dependsOn: deps });
        };
        const existing = { autoscalingServiceLinkedRole: "existing" };

        it("refuses a group whose launch template encrypts volumes with a customer managed key its service-linked role may not use", async () => {
            expect(ids(await refusals(group("none"), existing))).to.deep.equal(["autoscaling-cmk-volumes-need-service-linked-role-access"]);
            expect(ids(await refusals(group("grant-without-create-grant"), existing))).to.deep.equal(["autoscaling-cmk-volumes-need-service-linked-role-access"]);
            expect(ids(await refusals(group("grant-not-awaited"), existing))).to.deep.equal(["autoscaling-cmk-volumes-need-service-linked-role-access"]);
        });

        it("accepts it once the group waits for a grant with the documented operations", async () => {
            expect(await refusals(group("grant"), existing)).to.deep.equal([]);
        });
    });

    describe("EventBridge and the other publishers of encrypted topics", () => {
        const site = (policy: () => string, publisher: "events" | "alarm" | "rds" | "vault", keyRef?: string) => () => {
            const p = provider();
            const key = new aws.kms.Key("k", { policy: policy() }, { provider: p });
            const topic = new aws.sns.Topic("alerts", { name: "alerts", kmsMasterKeyId: keyRef ?? key.arn }, { provider: p });
            if (publisher === "events") {
                const rule = new aws.cloudwatch.EventRule("backup-failed", { name: "backup-failed", eventPattern: JSON.stringify({ source: ["aws.backup"] }) }, { provider: p });
                new aws.cloudwatch.EventTarget("backup-failed", { rule: rule.name, arn: topic.arn }, { provider: p });
            } else if (publisher === "alarm") {
                new aws.cloudwatch.MetricAlarm("down", {
                    name: "down", comparisonOperator: "LessThanThreshold", evaluationPeriods: 1, threshold: 1, metricName: "HealthyHostCount",
                    namespace: "AWS/ApplicationELB", period: 60, statistic: "Minimum", alarmActions: [topic.arn],
                }, { provider: p });
            } else if (publisher === "rds") {
                new aws.rds.EventSubscription("db-events", { snsTopic: topic.arn, sourceType: "db-instance" }, { provider: p });
            } else {
                new aws.backup.VaultNotifications("vault", { backupVaultName: "v", snsTopicArn: topic.arn, backupVaultEvents: ["COPY_JOB_FAILED"] }, { provider: p });
            }
        };
        const current = () => JSON.stringify(siteKeyPolicy(ACCOUNT, REGION));

        it("refuses the original site key: an events.amazonaws.com statement conditioned on aws:SourceAccount, on a key that encrypts topics", async () => {
            const found = await refusals(site(oldKeyPolicy, "events"));
            expect(ids(found)).to.have.members(["kms-eventbridge-statement-without-source-conditions", "sns-encrypted-topic-publisher-allowed-by-key"]);
            expect(found.find((f) => f.rule === "sns-encrypted-topic-publisher-allowed-by-key")!.name).to.equal("backup-failed");
        });

        it("accepts an aws:SourceAccount-conditioned EventBridge statement on a key that encrypts no topic (event bus encryption documents it)", async () => {
            const program = () => {
                new aws.kms.Key("k", { policy: oldKeyPolicy() }, { provider: provider() });
            };
            expect(await refusals(program)).to.deep.equal([]);
        });

        /** The site key plus the statement AWS documents for event bus encryption (aws:SourceAccount and aws:SourceArn). */
        const EVENT_BUS_STATEMENT = {
            Sid: "EventBridgeEncryptsTheEventBus",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT, "aws:SourceArn": `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` } },
        };
        const withEventBusStatement = (base: () => string) => () => {
            const policy = JSON.parse(base());
            return JSON.stringify({ ...policy, Statement: [...policy.Statement, EVENT_BUS_STATEMENT] });
        };

        it("accepts an aws:Source*-conditioned EventBridge statement (event bus encryption) beside the one that lets EventBridge publish to the topics without them", async () => {
            for (const publisher of ["events", "alarm"] as const) {
                expect(await refusals(site(withEventBusStatement(current), publisher)), publisher).to.deep.equal([]);
            }
        });

        it("refuses the conditioned statement when no statement lets EventBridge use the key for the topics without aws:Source* keys, even before a rule targets them", async () => {
            // Only the documented event bus statement (and no topic statement for EventBridge): the key encrypts a topic EventBridge cannot publish to.
            const onlyEventBus = () => {
                const policy = siteKeyPolicy(ACCOUNT, REGION) as { Statement: any[] };
                const statements = policy.Statement.map((st) =>
                    Array.isArray(st.Principal?.Service) ? { ...st, Principal: { Service: st.Principal.Service.filter((x: string) => x !== "events.amazonaws.com") } } : st,
                );
                return JSON.stringify({ ...policy, Statement: [...statements, EVENT_BUS_STATEMENT] });
            };
            const found = await refusals(site(onlyEventBus, "alarm"));
            expect(ids(found)).to.deep.equal(["kms-eventbridge-statement-without-source-conditions"]);
            expect(found[0].message).to.match(/EventBridgeEncryptsTheEventBus .*aws:SourceAccount, aws:SourceArn.* no other statement lets it kms:GenerateDataKey and kms:Decrypt for alerts without them/);
        });

        it("refuses a publisher the key policy does not name, and a topic under the AWS managed key", async () => {
            const withoutCloudWatch = () => {
                const policy = siteKeyPolicy(ACCOUNT, REGION) as { Statement: any[] };
                return JSON.stringify({ ...policy, Statement: policy.Statement.map((s) => (s.Principal?.Service instanceof Array ? { ...s, Principal: { Service: s.Principal.Service.filter((x: string) => x !== "cloudwatch.amazonaws.com") } } : s)) });
            };
            expect(ids(await refusals(site(withoutCloudWatch, "alarm")))).to.deep.equal(["sns-encrypted-topic-publisher-allowed-by-key"]);
            const managed = await refusals(site(current, "alarm", "alias/aws/sns"));
            expect(ids(managed)).to.deep.equal(["sns-encrypted-topic-publisher-allowed-by-key"]);
            expect(managed[0].message).to.match(/AWS managed key alias\/aws\/sns/);
        });

        for (const publisher of ["events", "alarm", "rds", "vault"] as const) {
            it(`accepts the site key's policy for a ${publisher} publisher`, async () => {
                expect(await refusals(site(current, publisher))).to.deep.equal([]);
            });
        }
    });

    describe("encrypted log groups and state machine logs (issue item 9)", () => {
        /** The site key's policy without the statements of the given Sids. */
        const siteKeyWithout = (...sids: string[]) => () => {
            const policy = siteKeyPolicy(ACCOUNT, REGION) as { Statement: any[] };
            return JSON.stringify({ ...policy, Statement: policy.Statement.filter((st) => !sids.includes(st.Sid)) });
        };
        const current = () => JSON.stringify(siteKeyPolicy(ACCOUNT, REGION));
        const logGroup = (policy: () => string, name = "/genie/app") => () => {
            const p = provider();
            const key = new aws.kms.Key("k", { policy: policy() }, { provider: p });
            new aws.cloudwatch.LogGroup("app-logs", { name, retentionInDays: 90, kmsKeyId: key.arn }, { provider: p });
        };
        const stateMachine = (policy: () => string, level = "ERROR") => () => {
            const p = provider();
            const key = new aws.kms.Key("k", { policy: policy() }, { provider: p });
            const log = new aws.cloudwatch.LogGroup("job-logs", { name: "/genie/job", retentionInDays: 90, kmsKeyId: key.arn }, { provider: p });
            new aws.sfn.StateMachine("job", {
                roleArn: `arn:aws:iam::${ACCOUNT}:role/job`,
                definition: JSON.stringify({ StartAt: "Done", States: { Done: { Type: "Succeed" } } }),
                loggingConfiguration: { level, includeExecutionData: false, logDestination: pulumi.interpolate`${log.arn}:*` },
                encryptionConfiguration: { type: "CUSTOMER_MANAGED_KMS_KEY", kmsKeyId: key.arn, kmsDataKeyReusePeriodSeconds: 300 },
            }, { provider: p });
        };

        it("refuses a log group whose key policy does not let logs.<region>.amazonaws.com use the key (CreateLogGroup fails)", async () => {
            const found = await refusals(logGroup(siteKeyWithout("CloudWatchLogsOfThisAccount")));
            expect(ids(found)).to.deep.equal(["logs-encrypted-log-group-key-allows-cloudwatch-logs"]);
            expect(found[0].name).to.equal("app-logs");
            expect(found[0].message).to.include(`logs.${REGION}.amazonaws.com kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey for arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/genie/app`);
        });

        it("refuses it when the statement's encryption context does not match the log group's ARN, or names another region's service", async () => {
            const otherGroups = () => {
                const policy = siteKeyPolicy(ACCOUNT, REGION) as { Statement: any[] };
                return JSON.stringify({
                    ...policy,
                    Statement: policy.Statement.map((st) =>
                        st.Sid === "CloudWatchLogsOfThisAccount" ? { ...st, Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/other/*` } } } : st,
                    ),
                });
            };
            expect(ids(await refusals(logGroup(otherGroups)))).to.deep.equal(["logs-encrypted-log-group-key-allows-cloudwatch-logs"]);
            const otherRegion = () => JSON.stringify(siteKeyPolicy(ACCOUNT, "us-east-1"));
            expect(ids(await refusals(logGroup(otherRegion)))).to.include("logs-encrypted-log-group-key-allows-cloudwatch-logs");
        });

        it("accepts the site key's policy (the statement the CloudWatch Logs guide documents)", async () => {
            expect(await refusals(logGroup(current))).to.deep.equal([]);
        });

        it("refuses an encrypted, logging state machine whose key policy does not let delivery.logs.amazonaws.com decrypt; accepts it with the statement or without logs", async () => {
            const found = await refusals(stateMachine(siteKeyWithout("LogDeliveryOfEncryptedStateMachines")));
            expect(ids(found)).to.deep.equal(["sfn-encrypted-state-machine-logs-need-log-delivery"]);
            expect(found[0].name).to.equal("job");
            expect(await refusals(stateMachine(current))).to.deep.equal([]);
            expect(await refusals(stateMachine(siteKeyWithout("LogDeliveryOfEncryptedStateMachines"), "OFF"))).to.deep.equal([]);
        });

        for (const name of ["production", "dr"] as const) {
            it(`${name}: every encrypted log group and the encrypted state machines pass, and the rules really judged them`, async () => {
                const ev = await stack(name);
                const ctx = ruleContext(ev.resources);
                const judged = ev.resources.filter((r) => r.type === AWS_TYPES.logGroup && findKey(ctx, r.props.kmsKeyId));
                expect(judged.length, "log groups under a key this evaluation declares").to.be.greaterThan(0);
                const byId = (id: string) => rules.filter((r) => r.id === id);
                expect(checkAwsRules(ev.resources, byId("logs-encrypted-log-group-key-allows-cloudwatch-logs"), ev.config)).to.deep.equal([]);
                expect(checkAwsRules(ev.resources, byId("sfn-encrypted-state-machine-logs-need-log-delivery"), ev.config)).to.deep.equal([]);
            });
        }
    });

    describe("ssm-association-targets-need-instance-permissions", () => {
        const fleet = (permissions: "original" | "managed-core" | "no-profile") => () => {
            const p = provider();
            const role = new aws.iam.Role("app", { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) }, { provider: p });
            new aws.iam.RolePolicy("app", {
                role: role.id,
                // components/app-cluster.ts before issue 12: registration and status, but not GetDocument/DescribeAssociation.
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Effect: "Allow",
                        Action: ["ssm:UpdateInstanceInformation", "ssm:ListInstanceAssociations", "ssm:UpdateInstanceAssociationStatus"],
                        Resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`,
                    }],
                }),
            }, { provider: p });
            if (permissions === "managed-core") {
                new aws.iam.RolePolicyAttachment("ssm-core", { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }, { provider: p });
            }
            const profile = new aws.iam.InstanceProfile("app", { role: role.name }, { provider: p });
            const lt = new aws.ec2.LaunchTemplate("lt", {
                imageId: "ami-0123456789abcdef0",
                ...(permissions === "no-profile" ? {} : { iamInstanceProfile: { arn: profile.arn } }),
            }, { provider: p });
            const group = new aws.autoscaling.Group("asg", { name: "app-asg", minSize: 1, maxSize: 2, launchTemplate: { id: lt.id, version: "1" }, vpcZoneIdentifiers: ["subnet-1"] }, { provider: p });
            const doc = new aws.ssm.Document("runbook", { name: "runbook", documentType: "Command", content: "{}" }, { provider: p });
            new aws.ssm.Association("dump", { name: doc.name, targets: [{ key: "tag:aws:autoscaling:groupName", values: [group.name] }], scheduleExpression: "rate(6 hours)" }, { provider: p });
        };

        it("refuses an association whose instances' role cannot fetch the document (the original instance role)", async () => {
            const found = await refusals(fleet("original"));
            expect(ids(found)).to.deep.equal(["ssm-association-targets-need-instance-permissions"]);
            expect(found[0].message).to.match(/lacks ssm:DescribeAssociation, ssm:GetDocument/);
        });

        it("refuses an association whose instances have no instance profile", async () => {
            expect(ids(await refusals(fleet("no-profile")))).to.deep.equal(["ssm-association-targets-need-instance-permissions"]);
        });

        it("accepts it with AmazonSSMManagedInstanceCore attached", async () => {
            expect(await refusals(fleet("managed-core"))).to.deep.equal([]);
        });
    });
});
