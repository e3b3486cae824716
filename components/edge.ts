import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StatefulLifecycle } from "./lifecycle";
import { HEALTH_CHECK_PATH } from "./dns-failover";
import { PORTS } from "./security-groups";

/** TLS 1.3 and 1.2 only, forward secrecy. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * The target group's health check of each instance. An instance is taken out of rotation after
 * `unhealthyThreshold` failures `intervalSeconds` apart, and the group (ELB health checks) replaces it.
 */
export const TARGET_HEALTH_CHECK = {
    path: HEALTH_CHECK_PATH,
    intervalSeconds: 10,
    timeoutSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    matcher: "200",
} as const;

export interface EdgeArgs {
    /** The site's VPC (the target group's). */
    vpcId: pulumi.Input<string>;
    /** Public subnets, one per zone: the ALB's. */
    publicSubnetIds: pulumi.Input<string>[];
    /** The load balancer tier's security group (80 and 443 from the internet, 4000 to the app). */
    securityGroupId: pulumi.Input<string>;
    /** The public host name the certificate is for. */
    domainName: string;
    /** The Route 53 hosted zone of `domainName`, where the DNS validation record goes. */
    hostedZoneId: pulumi.Input<string>;
    /**
     * Who writes the certificate's DNS validation record. ACM gives the same validation record for the
     * same name in every region of an account, so the two sites' certificates share one record, and it
     * must have one owner: "create" (the production stack: it writes the record and keeps it on
     * delete, so destroying either stack never removes what the other's renewal needs), or "shared"
     * (the dr stack: it waits for its certificate to be validated through the record the production
     * stack keeps, and writes nothing to Route 53 itself).
     */
    validationRecord: "create" | "shared";
    /**
     * The stack's lifecycle (components/lifecycle.ts): the ALB's deletion protection, and whether the
     * validation record it creates is kept on delete (an ephemeral stack's, in its sandbox zone, is not).
     */
    lifecycle: StatefulLifecycle;
    /** The logs bucket receiving the ALB's access logs (must use SSE-S3 and allow the region's ELB log delivery). */
    accessLogsBucket: pulumi.Input<string>;
    /**
     * The logs bucket's policy granting ELB log delivery: the load balancer is created after it. ELB
     * checks the bucket when access logs are turned on and fails with "Access Denied for bucket" if the
     * policy is not there yet (ELB guide, "Enable access logs", Troubleshooting).
     */
    accessLogsBucketPolicy: pulumi.Resource;
    /** Key prefix of the access logs in that bucket (no leading or trailing slash). */
    accessLogsPrefix: string;
    /** The port the app listens on; default {@link PORTS.app}. */
    appPort?: number;
}

/**
 * A site's edge: an internet-facing ALB in the public subnets (deletion protection on, invalid header
 * fields dropped, access logs to the logs bucket once its policy lets ELB write), HTTP redirected to
 * HTTPS, HTTPS with an ACM certificate validated by DNS in the hosted zone (ACM then renews it
 * automatically, as long as the validation record stays: the plan's "SSL Certificates: Automated
 * renewal"; one stack owns that record, see {@link EdgeArgs.validationRecord}), and the app's target
 * group on port 4000 health-checked on `/api/health`.
 */
export class Edge extends pulumi.ComponentResource {
    readonly loadBalancerArn: pulumi.Output<string>;
    /** `app/<name>/<id>`: the `LoadBalancer` dimension of AWS/ApplicationELB metrics. */
    readonly loadBalancerArnSuffix: pulumi.Output<string>;
    readonly loadBalancerDnsName: pulumi.Output<string>;
    readonly loadBalancerZoneId: pulumi.Output<string>;
    readonly targetGroupArn: pulumi.Output<string>;
    /** `targetgroup/<name>/<id>`: the `TargetGroup` dimension of AWS/ApplicationELB metrics. */
    readonly targetGroupArnSuffix: pulumi.Output<string>;
    readonly targetGroupName: pulumi.Output<string>;
    /** The certificate's ARN once validated (the HTTPS listener waits for it). */
    readonly certificateArn: pulumi.Output<string>;
    readonly httpsListenerArn: pulumi.Output<string>;
    /** The HTTPS listener itself, for `dependsOn`. */
    readonly httpsListener: aws.lb.Listener;

    constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:edge:Edge", name, {}, opts);
        const parent = { parent: this };
        const appPort = args.appPort ?? PORTS.app;

        // Certificate, validated by a DNS record in the hosted zone.
        const certificate = new aws.acm.Certificate(`${name}-certificate`, {
            domainName: args.domainName,
            validationMethod: "DNS",
            tags: { Name: args.domainName },
        }, parent);
        const validation = certificate.domainValidationOptions.apply((options) => {
            const option = options.find((o) => o.domainName === args.domainName);
            if (!option) throw new Error(`Edge ${name}: the certificate has no DNS validation option for ${args.domainName}`);
            return option;
        });
        let validationFqdn: pulumi.Input<string>;
        if (args.validationRecord === "create") {
            const validationRecord = new aws.route53.Record(`${name}-certificate-validation`, {
                zoneId: args.hostedZoneId,
                name: validation.resourceRecordName,
                type: validation.resourceRecordType,
                records: [validation.resourceRecordValue],
                ttl: 300,
                // Adopts a record left by an earlier deployment (this resource keeps it on delete);
                // nothing else in the project declares it.
                allowOverwrite: true,
            }, { parent: this, retainOnDelete: args.lifecycle.retainOnDelete });
            validationFqdn = validationRecord.fqdn;
        } else {
            // The record the production stack keeps (the same name and value for this certificate).
            validationFqdn = validation.resourceRecordName.apply((n) => n.replace(/\.$/, ""));
        }
        const certificateValidation = new aws.acm.CertificateValidation(`${name}-certificate`, {
            certificateArn: certificate.arn,
            validationRecordFqdns: [validationFqdn],
        }, parent);

        const loadBalancer = new aws.lb.LoadBalancer(`${name}-alb`, {
            loadBalancerType: "application",
            internal: false,
            subnets: args.publicSubnetIds,
            securityGroups: [args.securityGroupId],
            enableDeletionProtection: args.lifecycle.deletionProtection,
            dropInvalidHeaderFields: true,
            accessLogs: { bucket: args.accessLogsBucket, prefix: args.accessLogsPrefix, enabled: true },
            tags: { Name: `${name}-alb` },
        }, { parent: this, dependsOn: [args.accessLogsBucketPolicy] });

        const targetGroup = new aws.lb.TargetGroup(`${name}-tg`, {
            vpcId: args.vpcId,
            targetType: "instance",
            protocol: "HTTP",
            port: appPort,
            // Draining: in-flight requests finish before an instance of a rolling refresh goes away.
            deregistrationDelay: 30,
            healthCheck: {
                enabled: true,
                protocol: "HTTP",
                port: "traffic-port",
                path: TARGET_HEALTH_CHECK.path,
                interval: TARGET_HEALTH_CHECK.intervalSeconds,
                timeout: TARGET_HEALTH_CHECK.timeoutSeconds,
                healthyThreshold: TARGET_HEALTH_CHECK.healthyThreshold,
                unhealthyThreshold: TARGET_HEALTH_CHECK.unhealthyThreshold,
                matcher: TARGET_HEALTH_CHECK.matcher,
            },
            tags: { Name: `${name}-tg` },
        }, parent);

        new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: loadBalancer.arn,
            port: PORTS.http,
            protocol: "HTTP",
            defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: String(PORTS.https), statusCode: "HTTP_301" } }],
        }, parent);
        const https = new aws.lb.Listener(`${name}-https`, {
            loadBalancerArn: loadBalancer.arn,
            port: PORTS.https,
            protocol: "HTTPS",
            sslPolicy: TLS_POLICY,
            certificateArn: certificateValidation.certificateArn,
            defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
        }, parent);

        this.loadBalancerArn = loadBalancer.arn;
        this.loadBalancerArnSuffix = loadBalancer.arnSuffix;
        this.loadBalancerDnsName = loadBalancer.dnsName;
        this.loadBalancerZoneId = loadBalancer.zoneId;
        this.targetGroupArn = targetGroup.arn;
        this.targetGroupArnSuffix = targetGroup.arnSuffix;
        this.targetGroupName = targetGroup.name;
        this.certificateArn = certificateValidation.certificateArn;
        this.httpsListenerArn = https.arn;
        this.httpsListener = https;
        this.registerOutputs({
            loadBalancerArn: this.loadBalancerArn,
            loadBalancerArnSuffix: this.loadBalancerArnSuffix,
            loadBalancerDnsName: this.loadBalancerDnsName,
            loadBalancerZoneId: this.loadBalancerZoneId,
            targetGroupArn: this.targetGroupArn,
            targetGroupArnSuffix: this.targetGroupArnSuffix,
            targetGroupName: this.targetGroupName,
            certificateArn: this.certificateArn,
            httpsListenerArn: this.httpsListenerArn,
        });
    }
}
