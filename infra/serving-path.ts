import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppCluster, architectureOf } from "../components/app-cluster";
import { AppImage } from "../components/app-image";
import { ALB_LOGS_PREFIX } from "../components/backup-storage";
import { DeployVerification } from "../components/deploy-verification";
import { DnsFailover, FailoverRole } from "../components/dns-failover";
import { Edge } from "../components/edge";
import { Network } from "../components/network";
import { SecurityGroups } from "../components/security-groups";
import { StackConfig } from "./config";
import { DataProtection } from "./data-protection";
import { StackProviders } from "./providers";

/** What the serving path gives the sections after it (monitoring alarms on these). */
export interface ServingPath {
    /** The database credentials secret the site's instances read (by ARN, or on a DR site by name). */
    dbCredentialsSecretId: pulumi.Input<string>;
    cluster: AppCluster;
    edge: Edge;
    dnsFailover: DnsFailover;
    image: AppImage;
    verification: DeployVerification;
    /** The stack outputs of this section. */
    outputs: Record<string, pulumi.Input<unknown>>;
}

/** The app group's bounds for the site's role: a standby DR site keeps `standbySize` warm. */
export function appGroupSize(config: StackConfig): { minSize: number; maxSize: number; desiredCapacity: number } {
    if (config.siteRole === "standby") {
        return { minSize: config.app.standbySize, maxSize: config.app.maxSize, desiredCapacity: config.app.standbySize };
    }
    return { minSize: config.app.minSize, maxSize: config.app.maxSize, desiredCapacity: config.app.minSize };
}

/** PRIMARY on the production site; SECONDARY on the DR site, standby or active. */
export function failoverRole(config: StackConfig): FailoverRole {
    return config.siteRole === "primary" ? "PRIMARY" : "SECONDARY";
}

/**
 * The serving path of a site: the app image, the edge (ALB, certificate, target group), the app's
 * autoscaling group, this site's half of the DNS failover pair, and the verification of each rollout.
 *
 * `site` is the site's name prefix (`genie-primary`, `genie-dr`); it is also the failover record's
 * set identifier. `primarySite` is the production site's prefix: the DR site reads the production
 * stack's replicas of the app secret, encrypted with its landing zone key `alias/<primarySite>-dr-key`.
 */
export function defineServingPath(
    config: StackConfig,
    providers: StackProviders,
    site: string,
    primarySite: string,
    deps: { network: Network; securityGroups: SecurityGroups; dataProtection: DataProtection },
): ServingPath {
    const siteOpts = { provider: providers.site };
    const { network, securityGroups, dataProtection } = deps;
    const account = aws.getCallerIdentityOutput({}, siteOpts).accountId;
    const region = config.siteRegion;

    const edge = new Edge(`${site}-edge`, {
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        securityGroupId: securityGroups.loadBalancerSecurityGroupId,
        domainName: config.dns.domainName,
        hostedZoneId: config.dns.hostedZoneId,
        accessLogsBucket: dataProtection.logsBucketName,
        accessLogsPrefix: ALB_LOGS_PREFIX,
    }, siteOpts);

    const image = new AppImage(`${site}-image`, {
        repositoryUrl: dataProtection.repositoryUrl,
        imageTag: config.app.imageTag,
        buildContext: config.app.buildContext,
        architecture: architectureOf(config.app.instanceType),
    }, siteOpts);

    // The primary site owns the app secret; the DR site reads the production stack's replica in its
    // region by name (its ARN suffix is unknown here), encrypted with the landing zone's key.
    const appEnvSecret = dataProtection.appEnvSecretArn
        ? { arn: dataProtection.appEnvSecretArn, id: dataProtection.appEnvSecretArn }
        : {
            arn: pulumi.interpolate`arn:aws:secretsmanager:${region}:${account}:secret:${dataProtection.secretNames.appEnv}-??????`,
            id: dataProtection.secretNames.appEnv,
        };
    const dbCredentials = dbCredentialsSecret(dataProtection, region, account);
    const cluster = new AppCluster(`${site}-app`, {
        instanceType: config.app.instanceType,
        ...appGroupSize(config),
        subnetIds: network.appSubnetIds,
        securityGroupId: securityGroups.appSecurityGroupId,
        targetGroupArn: edge.targetGroupArn,
        imageUri: image.imageUri,
        repositoryArn: pulumi.interpolate`arn:aws:ecr:${region}:${account}:repository/${dataProtection.repositoryName}`,
        appEnvSecret,
        kmsKeyArn: dataProtection.kmsKeyArn,
        dataKey: dataProtection.appEnvSecretArn ? undefined : { alias: `alias/${primarySite}-dr-key` },
        backupsBucketArn: dataProtection.backupsBucketArn,
        // The scheduled logical dump runs on a serving site's instances (infra/stack.ts, components/scheduled-dump.ts).
        backupJob: config.siteRole !== "standby" && dataProtection.backupsBucketArn ? { dbCredentialsSecretArn: dbCredentials.arn } : undefined,
        logRetentionDays: config.backup.logRetentionDays,
        // siteRole: the policy pack holds a standby DR group to its smaller minimum, every other group to the plan's.
        instanceTags: { ...config.tags, siteRole: config.siteRole },
    }, siteOpts);

    const dnsFailover = new DnsFailover(`${site}-failover`, {
        role: failoverRole(config),
        domainName: config.dns.domainName,
        hostedZoneId: config.dns.hostedZoneId,
        setIdentifier: site,
        loadBalancerDnsName: edge.loadBalancerDnsName,
        loadBalancerZoneId: edge.loadBalancerZoneId,
        fenced: config.siteFenced,
    }, siteOpts);

    // After every rollout (a new image tag or launch template version), this site's ALB must answer
    // https://<domainName>/api/health, or the update fails.
    const verification = new DeployVerification(`${site}-verify`, {
        domainName: config.dns.domainName,
        loadBalancerDnsName: edge.loadBalancerDnsName,
        triggers: [image.imageUri, cluster.launchTemplateVersion],
        runAfter: [cluster.group, edge.httpsListener, dnsFailover.record],
    }, siteOpts);

    return {
        dbCredentialsSecretId: dbCredentials.id,
        cluster,
        edge,
        dnsFailover,
        image,
        verification,
        outputs: {
            siteUrl: `https://${config.dns.domainName}`,
            appImageUri: image.imageUri,
            loadBalancerArn: edge.loadBalancerArn,
            loadBalancerArnSuffix: edge.loadBalancerArnSuffix,
            loadBalancerDnsName: edge.loadBalancerDnsName,
            targetGroupArn: edge.targetGroupArn,
            targetGroupArnSuffix: edge.targetGroupArnSuffix,
            certificateArn: edge.certificateArn,
            autoScalingGroupName: cluster.autoScalingGroupName,
            autoScalingGroupArn: cluster.autoScalingGroupArn,
            appLogGroupName: cluster.logGroupName,
            failoverRole: dnsFailover.role,
            failoverSetIdentifier: dnsFailover.setIdentifier,
            failoverHealthCheckId: dnsFailover.healthCheckId,
            failoverDetectionSeconds: dnsFailover.detectionSeconds,
        },
    };
}

/**
 * The database credentials secret the site reads: the primary's own, or on a DR site the production
 * stack's replica in its region, known by name (ARN pattern with the random suffix).
 */
export function dbCredentialsSecret(dataProtection: DataProtection, region: pulumi.Input<string>, account: pulumi.Input<string>) {
    return dataProtection.dbMaster
        ? { arn: dataProtection.dbMaster.secretArn, id: dataProtection.dbMaster.secretArn as pulumi.Input<string> }
        : {
            arn: pulumi.interpolate`arn:aws:secretsmanager:${region}:${account}:secret:${dataProtection.secretNames.dbMaster}-??????`,
            id: dataProtection.secretNames.dbMaster,
        };
}
