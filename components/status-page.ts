import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { blockPublicAccess } from "./backup-storage";
import { StatefulLifecycle } from "./lifecycle";
import { STATUS_COMPONENTS, statusFunctionClassification } from "./severity";
import { serviceTrustPolicy } from "./iam";

/** Where the function's code lives (its tests: test/status-page.test.ts, test/status-page-browser.test.ts). */
export const STATUS_FUNCTION_DIR = path.resolve(__dirname, "..", "functions", "status-page");

/**
 * CloudFront's managed cache policy "CachingOptimized": it honours the origin's Cache-Control (the
 * function writes `max-age=30`) between its minimum TTL of 1 s and maximum of one year (CloudFront
 * developer guide, "Use managed cache policies").
 */
export const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";

/**
 * The function's settings.json, packaged next to its code: the classification of every alarm and the
 * page's components, generated from components/severity.ts (the one place that decides them). In the code
 * package rather than the environment, whose variables Lambda limits to 4 KB in all (Lambda developer
 * guide, "Lambda quotas": "Function environment variables: 4 KB, for all environment variables
 * associated with the function, in aggregate").
 */
export function statusFunctionSettings(): string {
    return JSON.stringify({ classification: statusFunctionClassification(), components: STATUS_COMPONENTS }, null, 1);
}

/** The function's code package: its code and its settings. */
export function statusFunctionAssets(): Record<string, pulumi.asset.Asset> {
    return {
        "status_page.py": new pulumi.asset.FileAsset(path.join(STATUS_FUNCTION_DIR, "status_page.py")),
        "settings.json": new pulumi.asset.StringAsset(statusFunctionSettings()),
    };
}

/** The EventBridge pattern of the alarm state changes of this application's alarms (names `genie-...`). */
export function alarmStateChangePattern(namePrefix: string) {
    return {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: `${namePrefix}-` }] },
    };
}

export interface StatusPageArgs {
    /** Resource names start with it, and the alarms the page follows are named `<namePrefix>-<site>-monitoring-<key>`. */
    namePrefix: string;
    /** The sites that serve traffic now: `primary`, or `dr` once the DR site is active. Other sites' alarms show under the DR site. */
    servingSites: string[];
    /** The region's key: the customer topic and the function's log group are encrypted with it. */
    kmsKeyArn: pulumi.Input<string>;
    logRetentionDays: number;
    /** Customer notices: initial e-mail/SMS subscribers from config (customers may subscribe themselves too). */
    customerSubscribers: { emails: string[]; smsNumbers: string[] };
    /** How the page's bucket and key end (the stack's lifecycle: components/lifecycle.ts). */
    lifecycle: StatefulLifecycle;
}

/**
 * The public status page, served from the DR region so it stays up when the primary region is lost:
 *
 * - a private S3 bucket (SSE-KMS with a key of its own that CloudFront may decrypt with) holding
 *   `status.json` and the rendered `index.html`, behind a CloudFront distribution (origin access control,
 *   HTTPS only);
 * - a Python function (functions/status-page) that renders the page server-side from alarm state changes
 *   (an EventBridge rule of this region's default bus; the primary region forwards its alarms here, see
 *   {@link AlarmEventForwarder}), operators' notes (`scripts/status.sh post`) and the communication test;
 *   concurrent invocations are serialised by S3 conditional writes of its document (If-Match on the ETag
 *   it read, retried on 412/409: functions/status-page/status_page.py), not by reserved concurrency,
 *   which a new account cannot set ("You can reserve up to the Unreserved account concurrency value
 *   that is shown, minus 100", Lambda developer guide, "Configuring reserved concurrency"; new accounts
 *   may start with a concurrency quota of 10);
 * - the customer notices topic: the function publishes to it on a P1 and when the P1 is resolved, never
 *   on P3/P4 (components/severity.ts).
 *
 * CloudFront's control plane is in us-east-1, its edge locations serve without it (AWS Fault Isolation
 * Boundaries, "Global services": static stability of the data plane): the page keeps being served, and
 * updated, during a loss of us-east-1; only a change of the distribution waits for it.
 */
export class StatusPage extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly functionName: pulumi.Output<string>;
    readonly functionArn: pulumi.Output<string>;
    readonly customerTopicArn: pulumi.Output<string>;
    readonly distributionId: pulumi.Output<string>;

    constructor(name: string, args: StatusPageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:communication:StatusPage", name, {}, opts);
        const parent = { parent: this };

        const bucket = new aws.s3.Bucket(`${name}-bucket`, { tags: { purpose: "status-page" }, forceDestroy: args.lifecycle.forceDestroy }, { parent: this, protect: args.lifecycle.protect });
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
        const publicAccessBlock = blockPublicAccess(name, bucket.id, parent);
        new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent);
        // The page's history is in status.json; old versions of it are kept a week.
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: [{ id: "old-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 7 } }],
        }, parent);

        const oac = new aws.cloudfront.OriginAccessControl(`${name}-oac`, {
            name: `${name}-oac`,
            description: "The status page's CloudFront distribution reads its bucket",
            originAccessControlOriginType: "s3",
            signingBehavior: "always",
            signingProtocol: "sigv4",
        }, parent);
        const originId = "status-bucket";
        const distribution = new aws.cloudfront.Distribution(`${name}-cdn`, {
            enabled: true,
            comment: "Genie public status page (origin in the DR region)",
            defaultRootObject: "index.html",
            priceClass: "PriceClass_100",
            origins: [{ originId, domainName: bucket.bucketRegionalDomainName, originAccessControlId: oac.id }],
            defaultCacheBehavior: {
                targetOriginId: originId,
                viewerProtocolPolicy: "redirect-to-https",
                allowedMethods: ["GET", "HEAD"],
                cachedMethods: ["GET", "HEAD"],
                cachePolicyId: CACHING_OPTIMIZED_POLICY_ID,
                compress: true,
            },
            restrictions: { geoRestriction: { restrictionType: "none" } },
            viewerCertificate: { cloudfrontDefaultCertificate: true },
        }, parent);
        // The page's own key: CloudFront reads SSE-KMS objects through origin access control when the key
        // policy lets cloudfront.amazonaws.com decrypt for the distribution (CloudFront developer guide,
        // "Restrict access to an Amazon S3 origin", SSE-KMS: kms:Decrypt with AWS:SourceArn the
        // distribution). The site's key policy is not this component's: a key of its own.
        const key = new aws.kms.Key(`${name}-key`, {
            description: "The public status page's objects (CloudFront decrypts them for its distribution)",
            enableKeyRotation: true,
            deletionWindowInDays: args.lifecycle.kmsDeletionWindowDays,
            policy: pulumi.all([aws.getCallerIdentityOutput({}, parent).accountId, aws.getPartitionOutput({}, parent).partition, distribution.arn]).apply(([account, partition, distributionArn]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "AccountAdministersAndEnablesIamPolicies", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
                    {
                        Sid: "CloudFrontDecryptsForTheStatusPage",
                        Effect: "Allow",
                        Principal: { Service: "cloudfront.amazonaws.com" },
                        Action: "kms:Decrypt",
                        Resource: "*",
                        Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
                    },
                ],
            })),
        }, { parent: this, protect: args.lifecycle.protect });
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
        }, parent);
        // CloudFront developer guide, "Restrict access to an Amazon S3 origin": the bucket policy grants
        // cloudfront.amazonaws.com s3:GetObject on the distribution's behalf (AWS:SourceArn).
        new aws.s3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "CloudFrontReadsThePage",
                        Effect: "Allow",
                        Principal: { Service: "cloudfront.amazonaws.com" },
                        Action: "s3:GetObject",
                        Resource: pulumi.interpolate`${bucket.arn}/*`,
                        Condition: { StringEquals: { "AWS:SourceArn": distribution.arn } },
                    },
                    {
                        Sid: "TlsOnly",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            }),
        }, { parent: this, dependsOn: [publicAccessBlock] });

        const topic = new aws.sns.Topic(`${name}-customer-notices`, {
            name: `${name}-customer-notices`,
            displayName: "Genie status",
            kmsMasterKeyId: args.kmsKeyArn,
            tags: { audience: "customers" },
        }, parent);
        args.customerSubscribers.emails.forEach((email, i) =>
            new aws.sns.TopicSubscription(`${name}-customer-email-${i}`, { topic: topic.arn, protocol: "email", endpoint: email }, parent));
        args.customerSubscribers.smsNumbers.forEach((phone, i) =>
            new aws.sns.TopicSubscription(`${name}-customer-sms-${i}`, { topic: topic.arn, protocol: "sms", endpoint: phone }, parent));

        const functionName = `${name}-function`;
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/aws/lambda/${functionName}`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);
        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
        }, parent);
        new aws.iam.RolePolicy(`${name}-role`, {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    // ListBucket: a missing status.json is then NoSuchKey (a first run), not AccessDenied.
                    { Effect: "Allow", Action: "s3:ListBucket", Resource: bucket.arn },
                    { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: pulumi.interpolate`${bucket.arn}/*` },
                    { Effect: "Allow", Action: "sns:Publish", Resource: topic.arn },
                    // Publishing to an encrypted topic (SNS developer guide, "Key management": the publisher needs these).
                    { Effect: "Allow", Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: [args.kmsKeyArn, key.arn] },
                    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroup.arn}:*` },
                ],
            }),
        }, parent);
        const fn = new aws.lambda.Function(`${name}-function`, {
            name: functionName,
            description: "Renders the public status page from alarm state changes, operators' notes and the communication test",
            runtime: "python3.12",
            handler: "status_page.handler",
            code: new pulumi.asset.AssetArchive(statusFunctionAssets()),
            role: role.arn,
            timeout: 30,
            memorySize: 128,
            loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
            environment: {
                variables: {
                    STATUS_BUCKET: bucket.bucket,
                    CUSTOMER_TOPIC_ARN: topic.arn,
                    SERVING_SITES: args.servingSites.join(","),
                    ALARM_PREFIX: args.namePrefix,
                    PAGE_TITLE: "Genie status",
                    PAGE_URL: pulumi.interpolate`https://${distribution.domainName}/`,
                },
            },
        }, parent);

        const rule = new aws.cloudwatch.EventRule(`${name}-alarm-changes`, {
            name: `${name}-alarm-changes`,
            description: "Every alarm of the application changing state (this region's and those the primary region forwards): the status page's function updates the page",
            eventPattern: JSON.stringify(alarmStateChangePattern(args.namePrefix)),
        }, parent);
        const permission = new aws.lambda.Permission(`${name}-events-invoke`, {
            action: "lambda:InvokeFunction",
            function: fn.name,
            principal: "events.amazonaws.com",
            sourceArn: rule.arn,
        }, parent);
        new aws.cloudwatch.EventTarget(`${name}-alarm-changes`, { rule: rule.name, arn: fn.arn, retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 } }, { parent: this, dependsOn: [permission] });

        this.bucketName = bucket.bucket;
        this.url = pulumi.interpolate`https://${distribution.domainName}/`;
        this.functionName = fn.name;
        this.functionArn = fn.arn;
        this.customerTopicArn = topic.arn;
        this.distributionId = distribution.id;
        this.registerOutputs({ bucketName: this.bucketName, url: this.url, functionName: this.functionName, customerTopicArn: this.customerTopicArn });
    }
}

export interface AlarmEventForwarderArgs {
    /** The alarms forwarded: names starting `<alarmPrefix>-` (the stack's site, e.g. `genie-primary`). */
    alarmPrefix: string;
    /** The region of the status page's function: its default event bus receives this region's alarm changes. */
    targetRegion: string;
    accountId: pulumi.Input<string>;
}

/**
 * Sends one site's alarm state changes of this region to the status page's region (the DR region's
 * default event bus). Each stack forwards its own site's alarms from each region it has alarms in other
 * than the DR region: its site region (production) and us-east-1, where the Route 53 health-check alarms
 * live when the site is elsewhere (both stacks), so two stacks never forward the same alarm twice. EventBridge user guide, "Sending and receiving events between AWS Regions": a rule may target an
 * event bus of another Region, with an IAM role allowing `events:PutEvents` on it.
 */
export class AlarmEventForwarder extends pulumi.ComponentResource {
    constructor(name: string, args: AlarmEventForwarderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:communication:AlarmEventForwarder", name, {}, opts);
        const parent = { parent: this };
        const busArn = pulumi.interpolate`arn:aws:events:${args.targetRegion}:${args.accountId}:event-bus/default`;
        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: serviceTrustPolicy("events.amazonaws.com"),
        }, parent);
        new aws.iam.RolePolicy(`${name}-role`, {
            role: role.id,
            policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: busArn }] }),
        }, parent);
        const rule = new aws.cloudwatch.EventRule(name, {
            name,
            description: `Alarm state changes of ${args.alarmPrefix} in this region to the status page's region (${args.targetRegion})`,
            eventPattern: JSON.stringify(alarmStateChangePattern(args.alarmPrefix)),
        }, parent);
        new aws.cloudwatch.EventTarget(name, { rule: rule.name, arn: busArn, roleArn: role.arn }, parent);
        this.registerOutputs({});
    }
}
