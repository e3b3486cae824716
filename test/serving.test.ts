import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { architectureOf, BACKUP_WRITE_PREFIXES } from "../components/app-cluster";
import { renderVerifyScript } from "../components/deploy-verification";
import { FAILOVER_HEALTH_CHECK, failoverDetectionSeconds, ROUTE53_REQUEST_INTERVALS, validateFailoverTiming } from "../components/dns-failover";
import { DR_PLAN } from "../infra/dr-plan";
import { EvaluationError, RecordedResource, StackEvaluation } from "../offline/mock-runtime";
import { ofType, one, resolve, stack, stackWith } from "./support/stacks";

const T = {
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    group: "aws:autoscaling/group:Group",
    policy: "aws:autoscaling/policy:Policy",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    certificate: "aws:acm/certificate:Certificate",
    certificateValidation: "aws:acm/certificateValidation:CertificateValidation",
    record: "aws:route53/record:Record",
    healthCheck: "aws:route53/healthCheck:HealthCheck",
    command: "command:local:Command",
    dockerImage: "docker:index/image:Image",
    kmsKey: "aws:kms/key:Key",
    kmsGrant: "aws:kms/grant:Grant",
    bucket: "aws:s3/bucket:Bucket",
} as const;

const SITES = [
    { stack: "production", site: "genie-primary", role: "PRIMARY", region: "us-east-1" },
    { stack: "dr", site: "genie-dr", role: "SECONDARY", region: "us-west-2" },
] as const;

/**
 * Actions AWS authorises only on `Resource: "*"` (no resource type in the Service Authorization
 * Reference). Any other action given "*" is a defect.
 */
const STAR_ONLY_ACTIONS = new Set([
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData", // allowed only with a cloudwatch:namespace condition, checked below
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
    "autoscaling:DescribeAutoScalingGroups", // the scheduled dump's leader election; no resource-level permissions
]);

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
}
const list = <V>(v: V | V[]): V[] => (Array.isArray(v) ? v : [v]);
const statements = (ev: StackEvaluation, site: string): Statement[] => JSON.parse(one(ev, T.rolePolicy, `${site}-app-instance`).props.policy).Statement;
const bySid = (all: Statement[], sid: string) => {
    const found = all.filter((s) => s.Sid === sid);
    expect(found, sid).to.have.length(1);
    return found[0];
};
const userData = (lt: RecordedResource) => Buffer.from(lt.props.userData, "base64").toString("utf8");

async function evaluationError(promise: Promise<unknown>): Promise<Error> {
    try {
        await promise;
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected the evaluation to fail");
}

describe("serving path", () => {
    describe("app cluster: launch template", () => {
        for (const s of SITES) {
            it(`${s.stack}: IMDSv2 only, detailed monitoring, an encrypted gp3 root volume under the site's KMS key, and a looked-up AMI`, async () => {
                const ev = await stack(s.stack);
                const lt = one(ev, T.launchTemplate, `${s.site}-app-lt`);
                expect(lt.props.metadataOptions).to.include({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
                expect(lt.props.monitoring).to.deep.equal({ enabled: true });
                expect(lt.props.blockDeviceMappings).to.have.length(1);
                const ebs = lt.props.blockDeviceMappings[0].ebs;
                expect(ebs).to.include({ volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
                const key = resolve(ev, ebs.kmsKeyId)!;
                expect(key.type).to.equal(T.kmsKey);
                expect(key.region).to.equal(s.region);
                expect(key.name).to.equal(`${s.site}-key-key`); // the site's own key, not the landing zone's
                // The image id comes from the AMI lookup at deploy time, in the site's region.
                expect(ev.invokes).to.deep.include({ token: "aws:ec2/getAmi:getAmi", region: s.region });
                expect(lt.props.imageId).to.match(/^ami-0/);
                expect(lt.props.instanceType).to.equal("t3.large");
                // The group's instances can launch encrypted volumes: the autoscaling service-linked role holds a grant on the key.
                const grant = one(ev, T.kmsGrant, `${s.site}-app-autoscaling-ebs`);
                expect(resolve(ev, grant.props.keyId)!.name).to.equal(`${s.site}-key-key`);
                expect(grant.props.granteePrincipal).to.match(/:role\/aws-service-role\/autoscaling\.amazonaws\.com\/AWSServiceRoleForAutoScaling$/);
                expect(grant.props.operations).to.include.members(["Decrypt", "GenerateDataKeyWithoutPlaintext", "CreateGrant"]);
            });

            it(`${s.stack}: user data installs Docker and the CloudWatch agent, runs the ECR image on port 4000 with its environment from Secrets Manager, logs to a 90-day group`, async () => {
                const ev = await stack(s.stack);
                const script = userData(one(ev, T.launchTemplate, `${s.site}-app-lt`));
                expect(script).to.match(/^#!\/bin\/bash\n/);
                expect(script).to.include("dnf install -y docker amazon-cloudwatch-agent jq");
                expect(script).to.include("amazon-cloudwatch-agent-ctl -a fetch-config");
                expect(script).to.match(/"mem": \{\s*"measurement": \[\s*"used_percent"/);
                expect(script).to.match(/"disk": \{\s*"measurement": \[\s*"used_percent"/);
                expect(script).to.include(`IMAGE='123456789012.dkr.ecr.${s.region}.amazonaws.com/genie-ai-server:1.0.0'`);
                expect(script).to.include("docker login --username AWS --password-stdin");
                expect(script).to.include("-p 4000:4000 --env-file /etc/genie/app.env");
                expect(script).to.include('aws secretsmanager get-secret-value --region "$REGION" --secret-id "$APP_ENV_SECRET"');
                expect(script).to.include("jq -r 'to_entries[] | \"\\(.key)=\\(.value)\"'");
                const logGroup = one(ev, T.logGroup, `${s.site}-app-logs`);
                expect(script).to.include(`LOG_GROUP='${logGroup.props.name}'`);
                expect(script).to.include("--log-driver awslogs");
                expect(logGroup.props.retentionInDays).to.equal(DR_PLAN.logRetentionDays);
                expect(resolve(ev, logGroup.props.kmsKeyId)!.name).to.equal(`${s.site}-key-key`);
                // The boot script is valid bash.
                const file = path.join(os.tmpdir(), `genie-user-data-${s.stack}.sh`);
                fs.writeFileSync(file, script);
                expect(spawnSync("bash", ["-n", file]).status).to.equal(0);
            });
        }

        it("derives the AMI architecture from the instance type: Graviton families are arm64", () => {
            const cases: Array<[string, string]> = [
                ["t3.large", "x86_64"],
                ["m7i.xlarge", "x86_64"],
                ["c6a.2xlarge", "x86_64"],
                ["g4dn.xlarge", "x86_64"],
                ["t4g.large", "arm64"],
                ["m7g.xlarge", "arm64"],
                ["c7gn.large", "arm64"],
                ["r6gd.large", "arm64"],
                ["g5g.xlarge", "arm64"],
                ["a1.large", "arm64"],
            ];
            for (const [type, arch] of cases) expect(architectureOf(type), type).to.equal(arch);
        });
    });

    describe("app cluster: instance role", () => {
        for (const s of SITES) {
            it(`${s.stack}: no statement uses Resource "*" unless AWS allows nothing narrower`, async () => {
                const ev = await stack(s.stack);
                const all = statements(ev, s.site);
                expect(all.length).to.be.greaterThan(5);
                for (const st of all) {
                    expect(st.Effect).to.equal("Allow");
                    if (list(st.Resource).includes("*")) {
                        const loose = list(st.Action).filter((a) => !STAR_ONLY_ACTIONS.has(a));
                        expect(loose, `${st.Sid}: actions on "*" that accept a narrower resource`).to.deep.equal([]);
                    }
                    for (const a of list(st.Action)) expect(a, st.Sid).not.to.match(/\*$/);
                }
                const metrics = bySid(all, "AgentMetrics");
                expect(metrics.Condition).to.deep.equal({ StringEquals: { "cloudwatch:namespace": "CWAgent" } });
                // Pull from this site's repository only; read the app's environment secret only.
                const pull = bySid(all, "EcrPull");
                expect(pull.Resource).to.equal(`arn:aws:ecr:${s.region}:123456789012:repository/genie-ai-server`);
                expect(list(pull.Action)).to.have.members(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]);
                const logs = bySid(all, "AppLogs");
                const logGroupArn = one(ev, T.logGroup, `${s.site}-app-logs`).outputs.arn;
                expect(logs.Resource).to.deep.equal([logGroupArn, `${logGroupArn}:log-stream:*`]);
                expect(bySid(all, "SsmManagedInstance").Resource).to.equal(`arn:aws:ec2:${s.region}:123456789012:instance/*`);
            });
        }

        it("production: writes only the backups bucket's db/daily/, db/weekly/ and redis/ prefixes; reads its own app secret", async () => {
            const ev = await stack("production");
            const all = statements(ev, "genie-primary");
            const backups = bySid(all, "BackupPrefixes");
            const bucket = one(ev, T.bucket, "genie-primary-storage-backups-bucket");
            expect(BACKUP_WRITE_PREFIXES).to.deep.equal(["db/daily/", "db/weekly/", "redis/"]);
            expect(backups.Resource).to.deep.equal(BACKUP_WRITE_PREFIXES.map((p) => `${bucket.outputs.arn}/${p}*`));
            // s3:GetObject: the scheduled dump's daily verify reads its own backups back (these prefixes only).
            expect(list(backups.Action)).to.have.members(["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"]);
            const s3Statements = all.filter((st) => list(st.Action).some((a) => a.startsWith("s3:")));
            expect(s3Statements.map((st) => st.Sid)).to.deep.equal(["BackupPrefixes", "ListBackupPrefixes"]);
            // Listing is held to the same prefixes by condition.
            expect(bySid(all, "ListBackupPrefixes").Condition!.StringLike["s3:prefix"]).to.deep.equal(BACKUP_WRITE_PREFIXES.map((p) => `${p}*`));
            const secret = one(ev, "aws:secretsmanager/secret:Secret", "genie-primary-secrets-app-env");
            expect(bySid(all, "AppEnvironment").Resource).to.equal(secret.outputs.arn);
            const kms = bySid(all, "DataKeyThroughSecretsAndS3");
            expect(resolve(ev, kms.Resource as string)!.name).to.equal("genie-primary-key-key");
            expect(kms.Condition!.StringEquals["kms:ViaService"]).to.deep.equal(["secretsmanager.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]);
        });

        it("dr: reads the replicated app secret by name, decrypts with the landing zone key by alias, writes no backups", async () => {
            const ev = await stack("dr");
            const all = statements(ev, "genie-dr");
            expect(bySid(all, "AppEnvironment").Resource).to.equal("arn:aws:secretsmanager:us-west-2:123456789012:secret:genie/primary/app-env-??????");
            const kms = bySid(all, "DataKeyThroughSecretsAndS3");
            expect(kms.Resource).to.equal("arn:aws:kms:us-west-2:123456789012:key/*");
            expect(kms.Condition!["ForAnyValue:StringEquals"]).to.deep.equal({ "kms:ResourceAliases": "alias/genie-primary-dr-key" });
            expect(all.filter((st) => list(st.Action).some((a) => a.startsWith("s3:")))).to.deep.equal([]);
            expect(userData(one(ev, T.launchTemplate, "genie-dr-app-lt"))).to.include("APP_ENV_SECRET='genie/primary/app-env'");
        });
    });

    describe("app cluster: autoscaling group", () => {
        const groupOf = async (name: "production" | "dr", site: string, config?: Record<string, string>) => {
            const ev = config ? await stackWith(name, { config }) : await stack(name);
            return { ev, group: one(ev, T.group, `${site}-app-asg`) };
        };

        it("production: 2 to 6 instances over every zone's app subnet, ELB health checks with a grace period, in the target group", async () => {
            const { ev, group } = await groupOf("production", "genie-primary");
            expect(group.props).to.include({ minSize: DR_PLAN.appMinInstances, maxSize: 6, desiredCapacity: DR_PLAN.appMinInstances, healthCheckType: "ELB" });
            expect(group.props.healthCheckGracePeriod).to.be.within(60, 600);
            const subnets = group.props.vpcZoneIdentifiers.map((id: string) => resolve(ev, id)!);
            expect(subnets.map((sn: RecordedResource) => sn.props.tags.tier)).to.deep.equal(["app", "app", "app"]);
            expect(new Set(subnets.map((sn: RecordedResource) => sn.props.availabilityZone)).size).to.equal(3);
            expect(group.props.targetGroupArns).to.deep.equal([one(ev, T.targetGroup, "genie-primary-edge-tg").outputs.arn]);
            // Instances and volumes carry the site's tags (default tags do not reach them through the group).
            expect(group.props.tags).to.deep.include({ key: "site", value: "primary", propagateAtLaunch: true });
        });

        it("dr standby keeps standbyAppSize warm; dr active runs the production size", async () => {
            const standby = (await groupOf("dr", "genie-dr")).group;
            expect(standby.props).to.include({ minSize: 1, desiredCapacity: 1, maxSize: 6 });
            // The policy pack allows the smaller minimum only to a group tagged as a standby site's.
            expect(standby.props.tags).to.deep.include({ key: "siteRole", value: "standby", propagateAtLaunch: true });
            const active = (await groupOf("dr", "genie-dr", { siteRole: "active" })).group;
            expect(active.props).to.include({ minSize: DR_PLAN.appMinInstances, desiredCapacity: DR_PLAN.appMinInstances, maxSize: 6 });
        });

        it("rolls a new launch template version with an instance refresh: rolling, launch before terminate, automatic rollback", async () => {
            const { ev, group } = await groupOf("production", "genie-primary");
            expect(group.props.instanceRefresh.strategy).to.equal("Rolling");
            expect(group.props.instanceRefresh.preferences).to.include({ minHealthyPercentage: 100, maxHealthyPercentage: 200, autoRollback: true });
            // A pinned version: a new version is a change of the group, and rollback has a version to return to.
            const lt = one(ev, T.launchTemplate, "genie-primary-app-lt");
            expect(resolve(ev, group.props.launchTemplate.id)!.urn).to.equal(lt.urn);
            expect(group.props.launchTemplate.version).to.equal(String(lt.outputs.latestVersion));
            expect(lt.props.updateDefaultVersion).to.equal(true);
            // Scaling policies own the running size; `pulumi up` does not reset it.
            expect(group.opts.ignoreChanges).to.include("desiredCapacity");
        });

        it("tracks average CPU and the CloudWatch agent's memory metric of the group", async () => {
            const { ev, group } = await groupOf("production", "genie-primary");
            const cpu = one(ev, T.policy, "genie-primary-app-cpu");
            expect(cpu.props.policyType).to.equal("TargetTrackingScaling");
            expect(cpu.props.autoscalingGroupName).to.equal(group.outputs.name);
            expect(cpu.props.targetTrackingConfiguration.predefinedMetricSpecification).to.deep.equal({ predefinedMetricType: "ASGAverageCPUUtilization" });
            expect(cpu.props.targetTrackingConfiguration.targetValue).to.be.within(30, 90);
            const memory = one(ev, T.policy, "genie-primary-app-memory");
            expect(memory.props.policyType).to.equal("TargetTrackingScaling");
            const metric = memory.props.targetTrackingConfiguration.customizedMetricSpecification;
            expect(metric).to.include({ namespace: "CWAgent", metricName: "mem_used_percent", statistic: "Average" });
            expect(metric.metricDimensions).to.deep.equal([{ name: "AutoScalingGroupName", value: group.outputs.name }]);
            expect(memory.props.targetTrackingConfiguration.targetValue).to.be.within(30, 90);
        });
    });

    describe("edge", () => {
        for (const s of SITES) {
            it(`${s.stack}: an internet-facing ALB in the public subnets with deletion protection, invalid headers dropped, access logs to the logs bucket`, async () => {
                const ev = await stack(s.stack);
                const alb = one(ev, T.loadBalancer, `${s.site}-edge-alb`);
                expect(alb.props).to.include({ loadBalancerType: "application", internal: false, enableDeletionProtection: true, dropInvalidHeaderFields: true });
                expect(alb.props.subnets.map((id: string) => resolve(ev, id)!.props.tags.tier)).to.deep.equal(["public", "public", "public"]);
                expect(alb.props.securityGroups.map((id: string) => resolve(ev, id)!.name)).to.deep.equal([`${s.site}-sg-alb`]);
                const logsBucket = one(ev, T.bucket, `${s.site}-storage-logs-bucket`);
                expect(alb.props.accessLogs).to.deep.equal({ bucket: logsBucket.outputs.bucket, prefix: "alb", enabled: true });
            });

            it(`${s.stack}: HTTP redirects to HTTPS; HTTPS serves the DNS-validated certificate and forwards to the app's target group`, async () => {
                const ev = await stack(s.stack);
                const alb = one(ev, T.loadBalancer, `${s.site}-edge-alb`);
                const http = one(ev, T.listener, `${s.site}-edge-http`);
                expect(http.props).to.include({ port: 80, protocol: "HTTP", loadBalancerArn: alb.outputs.arn });
                expect(http.props.defaultActions).to.deep.equal([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
                const https = one(ev, T.listener, `${s.site}-edge-https`);
                expect(https.props).to.include({ port: 443, protocol: "HTTPS", loadBalancerArn: alb.outputs.arn });
                expect(https.props.sslPolicy).to.match(/^ELBSecurityPolicy-TLS13/);
                const certificate = one(ev, T.certificate, `${s.site}-edge-certificate`);
                expect(https.props.certificateArn).to.equal(certificate.outputs.arn);
                expect(https.props.defaultActions).to.deep.equal([{ type: "forward", targetGroupArn: one(ev, T.targetGroup, `${s.site}-edge-tg`).outputs.arn }]);
            });

            it(`${s.stack}: the certificate is validated by the DNS record ACM asks for, in the hosted zone (so it renews itself)`, async () => {
                const ev = await stack(s.stack);
                const certificate = one(ev, T.certificate, `${s.site}-edge-certificate`);
                expect(certificate.props).to.include({ domainName: "genie.example.com", validationMethod: "DNS" });
                const [option] = certificate.outputs.domainValidationOptions;
                const record = one(ev, T.record, `${s.site}-edge-certificate-validation`);
                expect(record.props).to.include({
                    zoneId: "Z0123456789ABCDEFGHIJ",
                    name: option.resourceRecordName,
                    type: option.resourceRecordType,
                    allowOverwrite: true,
                });
                expect(record.props.records).to.deep.equal([option.resourceRecordValue]);
                const validation = one(ev, T.certificateValidation, `${s.site}-edge-certificate`);
                expect(validation.props.certificateArn).to.equal(certificate.outputs.arn);
                expect(validation.props.validationRecordFqdns).to.deep.equal([record.outputs.fqdn]);
            });

            it(`${s.stack}: the target group serves port 4000 and checks /api/health`, async () => {
                const ev = await stack(s.stack);
                const tg = one(ev, T.targetGroup, `${s.site}-edge-tg`);
                expect(tg.props).to.include({ port: 4000, protocol: "HTTP", targetType: "instance" });
                expect(tg.props.healthCheck).to.include({ path: "/api/health", protocol: "HTTP", port: "traffic-port", matcher: "200" });
                const hc = tg.props.healthCheck;
                expect(hc.timeout).to.be.lessThan(hc.interval);
                // An instance stops receiving traffic within the plan's failover window.
                expect(hc.interval * hc.unhealthyThreshold).to.be.at.most(DR_PLAN.failoverDetectionSeconds);
            });
        }
    });

    describe("DNS failover: the ALB pair", () => {
        for (const s of SITES) {
            it(`${s.stack}: a ${s.role} alias record for the shared name, set identifier ${s.site}, on its own ALB and health check`, async () => {
                const ev = await stack(s.stack);
                const record = one(ev, T.record, `${s.site}-failover-record`);
                const alb = one(ev, T.loadBalancer, `${s.site}-edge-alb`);
                const check = one(ev, T.healthCheck, `${s.site}-failover-health-check`);
                expect(record.props).to.include({ zoneId: "Z0123456789ABCDEFGHIJ", name: "genie.example.com", type: "A", setIdentifier: s.site });
                expect(record.props.failoverRoutingPolicies).to.deep.equal([{ type: s.role }]);
                expect(record.props.aliases).to.deep.equal([{ name: alb.outputs.dnsName, zoneId: alb.outputs.zoneId, evaluateTargetHealth: true }]);
                expect(record.props.healthCheckId).to.equal(check.id);
            });

            it(`${s.stack}: the health check requests /api/health over HTTPS from its own ALB, never through the failover name`, async () => {
                const ev = await stack(s.stack);
                const check = one(ev, T.healthCheck, `${s.site}-failover-health-check`);
                const alb = one(ev, T.loadBalancer, `${s.site}-edge-alb`);
                expect(check.props).to.include({ type: "HTTPS", port: 443, resourcePath: "/api/health", fqdn: alb.outputs.dnsName, enableSni: false });
                expect(check.props.fqdn).not.to.equal("genie.example.com");
            });

            it(`${s.stack}: worst-case failover detection (request interval × failure threshold) is within the plan's ${DR_PLAN.failoverDetectionSeconds} s`, async () => {
                const ev = await stack(s.stack);
                const check = one(ev, T.healthCheck, `${s.site}-failover-health-check`);
                expect(ROUTE53_REQUEST_INTERVALS).to.include(check.props.requestInterval);
                const worstCase = check.props.requestInterval * check.props.failureThreshold;
                expect(worstCase).to.be.at.most(DR_PLAN.failoverDetectionSeconds);
                expect(worstCase).to.equal(failoverDetectionSeconds(FAILOVER_HEALTH_CHECK.requestIntervalSeconds, FAILOVER_HEALTH_CHECK.failureThreshold));
                expect(ev.outputs.failoverDetectionSeconds).to.equal(worstCase);
            });
        }

        it("both stacks answer for the same name in the same zone, one PRIMARY and one SECONDARY, with distinct set identifiers", async () => {
            const records = await Promise.all(SITES.map(async (s) => one(await stack(s.stack), T.record, `${s.site}-failover-record`)));
            expect(new Set(records.map((r) => `${r.props.zoneId} ${r.props.name} ${r.props.type}`)).size).to.equal(1);
            expect(records.map((r) => r.props.failoverRoutingPolicies[0].type)).to.deep.equal(["PRIMARY", "SECONDARY"]);
            expect(new Set(records.map((r) => r.props.setIdentifier)).size).to.equal(2);
        });

        it("a promoted (active) DR site stays SECONDARY: production answers again as soon as it is healthy", async () => {
            const ev = await stackWith("dr", { config: { siteRole: "active" } });
            expect(one(ev, T.record, "genie-dr-failover-record").props.failoverRoutingPolicies).to.deep.equal([{ type: "SECONDARY" }]);
        });

        it("refuses health check timing Route 53 does not allow or that detects a failure later than the plan allows", () => {
            expect(() => validateFailoverTiming(10, 3)).not.to.throw();
            expect(() => validateFailoverTiming(30, 1)).not.to.throw();
            expect(() => validateFailoverTiming(30, 3)).to.throw(/30 × 3 = 90 s: a failure must be detected within 30 s/);
            expect(() => validateFailoverTiming(10, 4)).to.throw(/10 × 4 = 40 s/);
            expect(() => validateFailoverTiming(20, 1)).to.throw(/requestIntervalSeconds = 20: Route 53 allows only 10 or 30 seconds/);
            expect(() => validateFailoverTiming(10, 0)).to.throw(/failureThreshold = 0: Route 53 allows 1 to 10/);
        });
    });

    describe("image and deploy verification", () => {
        it("the plans build nothing: the launch template runs the configured tag from the site's ECR", async () => {
            for (const s of SITES) {
                const ev = await stack(s.stack);
                expect(ev.config["genie-infra:appBuildContext"]).to.equal(undefined);
                expect(ofType(ev, T.dockerImage)).to.deep.equal([]);
                expect(ev.outputs.appImageUri).to.equal(`123456789012.dkr.ecr.${s.region}.amazonaws.com/genie-ai-server:1.0.0`);
            }
        });

        it("with appBuildContext, builds the image for the instances' architecture and pushes it to the site's ECR with the version tag", async () => {
            const ev = await stackWith("production", { config: { appBuildContext: "../genie-ai-server", imageTag: "2.3.1", instanceType: "m7g.large" } });
            const image = one(ev, T.dockerImage, "genie-primary-image-image");
            const repositoryUrl = "123456789012.dkr.ecr.us-east-1.amazonaws.com/genie-ai-server";
            expect(image.props.imageName).to.equal(`${repositoryUrl}:2.3.1`);
            expect(image.props.build).to.include({ context: "../genie-ai-server", platform: "linux/arm64" });
            // The ECR password stays secret (and with it the whole registry block, server included).
            expect(image.props.registry).to.equal("[secret]");
            expect(image.secretProps).to.include("registry");
            expect(ev.invokes).to.deep.include({ token: "aws:ecr/getAuthorizationToken:getAuthorizationToken", region: "us-east-1" });
            expect(userData(one(ev, T.launchTemplate, "genie-primary-app-lt"))).to.include(`IMAGE='${repositoryUrl}:2.3.1'`);
        });

        for (const s of SITES) {
            it(`${s.stack}: after each rollout, polls https://genie.example.com/api/health on this site's ALB a bounded number of times`, async () => {
                const ev = await stack(s.stack);
                const verify = one(ev, T.command, `${s.site}-verify-health`);
                const alb = one(ev, T.loadBalancer, `${s.site}-edge-alb`);
                const script: string = verify.props.create;
                expect(verify.props.update).to.equal(script);
                expect(script).to.include("url='https://genie.example.com/api/health'");
                expect(script).to.include(`--connect-to genie.example.com:443:${alb.outputs.dnsName}:443`);
                expect(script).to.include("for attempt in $(seq 1 30); do");
                expect(script).to.include("curl --fail");
                expect(script).to.match(/exit 1$/);
                // Re-runs on a new image tag or launch template version; runs after the group, the edge and the record.
                expect(verify.props.triggers).to.deep.equal([ev.outputs.appImageUri, "1"]);
                const dependsOn = verify.opts.dependsOn.map((urn) => ev.resources.find((r) => r.urn === urn)?.name);
                expect(dependsOn).to.include.members([`${s.site}-app-asg`, `${s.site}-edge-https`, `${s.site}-failover-record`]);
            });
        }

        it("the verification script succeeds once the endpoint answers, and fails after the retry bound when it never does", function () {
            this.timeout(20000);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-verify-"));
            const script = renderVerifyScript({ domainName: "genie.example.com", path: "/api/health", retries: 3, intervalSeconds: 0, requestTimeoutSeconds: 1 });
            // A stand-in curl: fails until the attempt given in HEALTHY_AT, counting its calls in a file.
            fs.writeFileSync(path.join(dir, "curl"), `#!/bin/bash\nn=$(( $(cat "${dir}/calls" 2>/dev/null || echo 0) + 1 ))\necho $n > "${dir}/calls"\n[ "$n" -ge "\${HEALTHY_AT:-999}" ]\n`, { mode: 0o755 });
            const run = (healthyAt?: number) => {
                fs.rmSync(path.join(dir, "calls"), { force: true });
                const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...(healthyAt ? { HEALTHY_AT: String(healthyAt) } : {}) };
                const result = spawnSync("bash", ["-c", script], { env, encoding: "utf8" });
                return { status: result.status, calls: Number(fs.readFileSync(path.join(dir, "calls"), "utf8")) };
            };
            expect(run(2)).to.deep.equal({ status: 0, calls: 2 });
            expect(run()).to.deep.equal({ status: 1, calls: 3 });
            expect(execFileSync("bash", ["-n", "-c", script]).toString()).to.equal("");
        });
    });

    describe("bad config", () => {
        const cases: Array<[string, Record<string, string>, RegExp]> = [
            ["min above max", { appMinSize: "7", appMaxSize: "6" }, /genie-infra:appMaxSize = 6: must be at least genie-infra:appMinSize \(7\)/],
            ["malformed instance type", { instanceType: "t3large" }, /genie-infra:instanceType = "t3large": must be an EC2 instance type such as t3.large/],
            ["standby size above max", { standbyAppSize: "9" }, /genie-infra:standbyAppSize = 9: must not exceed genie-infra:appMaxSize \(6\)/],
        ];
        for (const [what, config, message] of cases) {
            it(`rejects ${what} before anything is declared`, async () => {
                const error = await evaluationError(stackWith(what.startsWith("standby") ? "dr" : "production", { config }));
                expect(error).to.be.instanceOf(EvaluationError);
                expect(error.message).to.match(message);
            });
        }
    });
});
