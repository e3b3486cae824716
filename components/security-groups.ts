import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Ports of the site's tiers. */
export const PORTS = {
    https: 443,
    http: 80,
    /** The Genie app listens here (the plan's `curl http://localhost:4000/api/health`). */
    app: 4000,
    postgres: 5432,
    redis: 6379,
} as const;

export interface SecurityGroupsArgs {
    /** The VPC the groups belong to. */
    vpcId: pulumi.Input<string>;
}

/**
 * The site's tiers as security groups, each open only to the tier in front of it:
 * internet → ALB (80, 443) → app (4000) → database (5432) and cache (6379).
 * The database and cache groups admit nothing but the app group, and send nothing out.
 */
export class SecurityGroups extends pulumi.ComponentResource {
    readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
    readonly appSecurityGroupId: pulumi.Output<string>;
    readonly databaseSecurityGroupId: pulumi.Output<string>;
    readonly cacheSecurityGroupId: pulumi.Output<string>;

    constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:network:SecurityGroups", name, {}, opts);
        const parent = { parent: this };
        const group = (tier: string, description: string) =>
            new aws.ec2.SecurityGroup(`${name}-${tier}`, {
                vpcId: args.vpcId,
                description,
                revokeRulesOnDelete: true,
                tags: { Name: `${name}-${tier}`, tier },
            }, parent);
        const alb = group("alb", "Genie load balancer: HTTP and HTTPS from the internet");
        const app = group("app", "Genie app instances: port 4000 from the load balancer only");
        const database = group("database", "Genie PostgreSQL: port 5432 from the app instances only");
        const cache = group("cache", "Genie Redis: port 6379 from the app instances only");

        const ingress = (rule: string, groupId: pulumi.Input<string>, port: number, from: { cidrIpv4?: string; referencedSecurityGroupId?: pulumi.Input<string> }) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${rule}`, { securityGroupId: groupId, ipProtocol: "tcp", fromPort: port, toPort: port, ...from }, parent);
        const egress = (rule: string, groupId: pulumi.Input<string>, port: number, to: { cidrIpv4?: pulumi.Input<string>; referencedSecurityGroupId?: pulumi.Input<string> }) =>
            new aws.vpc.SecurityGroupEgressRule(`${name}-${rule}`, { securityGroupId: groupId, ipProtocol: "tcp", fromPort: port, toPort: port, ...to }, parent);

        ingress("alb-https-in", alb.id, PORTS.https, { cidrIpv4: "0.0.0.0/0" });
        ingress("alb-http-in", alb.id, PORTS.http, { cidrIpv4: "0.0.0.0/0" }); // redirected to HTTPS
        egress("alb-to-app", alb.id, PORTS.app, { referencedSecurityGroupId: app.id });

        ingress("app-from-alb", app.id, PORTS.app, { referencedSecurityGroupId: alb.id });
        egress("app-to-database", app.id, PORTS.postgres, { referencedSecurityGroupId: database.id });
        egress("app-to-cache", app.id, PORTS.redis, { referencedSecurityGroupId: cache.id });
        // HTTPS out: ECR, Secrets Manager, SSM, CloudWatch, S3 (through the NAT gateways).
        egress("app-https-out", app.id, PORTS.https, { cidrIpv4: "0.0.0.0/0" });

        ingress("database-from-app", database.id, PORTS.postgres, { referencedSecurityGroupId: app.id });
        ingress("cache-from-app", cache.id, PORTS.redis, { referencedSecurityGroupId: app.id });

        this.loadBalancerSecurityGroupId = alb.id;
        this.appSecurityGroupId = app.id;
        this.databaseSecurityGroupId = database.id;
        this.cacheSecurityGroupId = cache.id;
        this.registerOutputs({
            loadBalancerSecurityGroupId: alb.id,
            appSecurityGroupId: app.id,
            databaseSecurityGroupId: database.id,
            cacheSecurityGroupId: cache.id,
        });
    }
}
