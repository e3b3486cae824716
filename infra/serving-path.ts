import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppCluster, architectureOf } from "../components/app-cluster";
import { AppImage } from "../components/app-image";
import { ALB_LOGS_PREFIX } from "../components/backup-storage";
import { Cache } from "../components/cache";
import { Database } from "../components/database";
import { DeployVerification, imageTagOf } from "../components/deploy-verification";
import { DnsFailover, FailoverRole } from "../components/dns-failover";
import { Edge } from "../components/edge";
import { Network } from "../components/network";
import { postgresClientPackage } from "../components/scheduled-dump";
import { AppEnvironment } from "../components/secrets";
import { PORTS, SecurityGroups } from "../components/security-groups";
import { StackConfig } from "./config";
import { DataProtection, secretNamePrefix } from "./data-protection";
import { StackProviders } from "./providers";

/** What the serving path gives the sections after it (monitoring alarms on these). */
export interface ServingPath {
    /** The database credentials secret the site's instances read (by ARN, or on a DR site by name). */
    dbCredentialsSecretId: pulumi.Input<string>;
    cluster: AppCluster;
    edge: Edge;
    dnsFailover: DnsFailover;
    image: AppImage;
    /** The app's environment this site's instances read (endpoints of its own database and cache). */
    appEnvironment: AppEnvironment;
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
 * stack's replica of the database credentials, encrypted with its landing zone key
 * `alias/<primarySite>-dr-key`, and writes its own app environment (`genie/dr/app-env`, under its
 * own key): the replica of the primary's names the primary's endpoints, and replicas are read-only.
 */
export function defineServingPath(
    config: StackConfig,
    providers: StackProviders,
    site: string,
    primarySite: string,
    deps: {
        network: Network;
        securityGroups: SecurityGroups;
        dataProtection: DataProtection;
        /** The site's own database and cache, and the app's database name: the app's environment names them. */
        database: Database;
        cache: Cache;
        databaseName: string;
    },
): ServingPath {
    const siteOpts = { provider: providers.site };
    const { network, securityGroups, dataProtection, database, cache } = deps;
    const account = aws.getCallerIdentityOutput({}, siteOpts).accountId;
    const region = config.siteRegion;

    const edge = new Edge(`${site}-edge`, {
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        securityGroupId: securityGroups.loadBalancerSecurityGroupId,
        domainName: config.dns.domainName,
        hostedZoneId: config.dns.hostedZoneId,
        // The production stack owns the certificate validation record both sites' certificates use.
        validationRecord: config.siteRole === "primary" ? "create" : "shared",
        lifecycle: config.lifecycle,
        accessLogsBucket: dataProtection.logsBucketName,
        accessLogsBucketPolicy: dataProtection.logsBucketPolicy,
        accessLogsPrefix: ALB_LOGS_PREFIX,
    }, siteOpts);

    const image = new AppImage(`${site}-image`, {
        repositoryUrl: dataProtection.repositoryUrl,
        imageTag: config.app.imageTag,
        buildContext: config.app.buildContext,
        architecture: architectureOf(config.app.instanceType),
    }, siteOpts);

    // The app's environment, written by this program: this site's own database and cache endpoints
    // and the secrets holding their credentials (never a password). The primary site writes the
    // secret its data protection owns (replicated to the DR region as a record); a DR site writes its
    // own, so a promoted or restored DR database is what its instances use.
    const dbCredentials = dbCredentialsSecret(dataProtection, region, account);
    const appEnvironment = new AppEnvironment(`${site}-app-env`, {
        site: config.siteName,
        region,
        appPort: PORTS.app,
        database: { host: database.address, port: database.port, name: deps.databaseName, credentialsSecretId: dbCredentials.id },
        cache: { host: cache.primaryEndpoint, port: PORTS.redis, authSecretId: cache.authSecretArn },
        secret: dataProtection.appEnvSecretArn
            ? { existing: { arn: dataProtection.appEnvSecretArn, name: dataProtection.secretNames.appEnv } }
            : { create: { name: `${secretNamePrefix(config.nameLabel)}/app-env`, kmsKeyArn: dataProtection.kmsKeyArn, lifecycle: config.lifecycle } },
    }, siteOpts);
    const appEnvSecret = {
        arn: appEnvironment.secretArn,
        id: appEnvironment.secretArn,
        digest: appEnvironment.digest,
        credentialSecretArns: [dbCredentials.arn, cache.authSecretArn],
    };
    const autoscalingRole = autoscalingServiceLinkedRole(config, site, account, siteOpts);
    const cluster = new AppCluster(`${site}-app`, {
        instanceType: config.app.instanceType,
        // Pinned (config appAmiId) or, unset, the newest Amazon Linux 2023 AMI looked up at each pulumi up.
        amiId: config.app.amiId,
        ...appGroupSize(config),
        subnetIds: network.appSubnetIds,
        securityGroupId: securityGroups.appSecurityGroupId,
        targetGroupArn: edge.targetGroupArn,
        imageUri: image.imageUri,
        repositoryArn: pulumi.interpolate`arn:aws:ecr:${region}:${account}:repository/${dataProtection.repositoryName}`,
        appEnvSecret,
        kmsKeyArn: dataProtection.kmsKeyArn,
        autoscalingServiceLinkedRole: autoscalingRole,
        // Every site's instances get the client, a standby's too: promotion then changes no launch template.
        postgresClientPackage: postgresClientPackage(config.database.engineVersion),
        dataKey: dataProtection.appEnvSecretArn ? undefined : { alias: `alias/${primarySite}-dr-key` },
        // A DR site names the landing zone's backups bucket by pattern, standby or active: IAM's control
        // plane is in us-east-1, so the instance role's policy must not change when the site is promoted
        // (a failover run during a us-east-1 outage could not update it). Unused while standby: no dump
        // is scheduled there.
        backupsBucketArn: dataProtection.drSiteRoles?.backupsBucket.arnPatterns ?? dataProtection.backupsBucketArn,
        backupsBucketAccount: dataProtection.drSiteRoles?.backupsBucket.account,
        // The scheduled logical dump runs on a serving site's instances (infra/stack.ts, components/scheduled-dump.ts).
        backupJob: dataProtection.drSiteRoles || (config.siteRole !== "standby" && dataProtection.backupsBucketArn)
            ? { dbCredentialsSecretArn: dbCredentials.arn }
            : undefined,
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
        regionSwitchHealthCheckId: config.regionSwitch.healthCheckId,
    }, siteOpts);

    // After every rollout (a new image tag or launch template version): every in-service instance on
    // the new version and healthy in the target group, then this site's ALB answering
    // https://<domainName>/api/health; or the update fails, naming the last verified image.
    const verification = new DeployVerification(`${site}-verify`, {
        domainName: config.dns.domainName,
        loadBalancerDnsName: edge.loadBalancerDnsName,
        rollout: {
            autoScalingGroupName: cluster.autoScalingGroupName,
            launchTemplateVersion: cluster.launchTemplateVersion,
            targetGroupArn: edge.targetGroupArn,
            region,
        },
        imageUri: image.imageUri,
        stack: pulumi.getStack(),
        // No triggers: the script names the image and the launch template version, so a rollout is an
        // update of the command, which keeps the record of verified images (components/deploy-verification.ts).
        runAfter: [cluster.group, edge.httpsListener, dnsFailover.record],
    }, siteOpts);

    return {
        dbCredentialsSecretId: dbCredentials.id,
        cluster,
        edge,
        dnsFailover,
        image,
        appEnvironment,
        verification,
        outputs: {
            siteUrl: `https://${config.dns.domainName}`,
            appImageUri: image.imageUri,
            appImageTag: config.app.imageTag,
            // The record the rollback reads (scripts/recovery.sh rollback-image): the tag this site
            // last verified healthy, and the one verified before it ("" until there is one).
            verifiedAppImageTag: verification.verifiedImageUri.apply((uri) => imageTagOf(uri) ?? ""),
            previousVerifiedAppImageTag: verification.previousVerifiedImageUri.apply((uri) => imageTagOf(uri) ?? ""),
            appEnvSecretArn: appEnvironment.secretArn,
            appEnvSecretName: appEnvironment.secretName,
            // What the instances read from it: endpoints and the names of the credential secrets, no password.
            appEnvironment: appEnvironment.document,
            loadBalancerArn: edge.loadBalancerArn,
            loadBalancerArnSuffix: edge.loadBalancerArnSuffix,
            loadBalancerDnsName: edge.loadBalancerDnsName,
            targetGroupArn: edge.targetGroupArn,
            targetGroupArnSuffix: edge.targetGroupArnSuffix,
            certificateArn: edge.certificateArn,
            autoScalingGroupName: cluster.autoScalingGroupName,
            autoScalingGroupArn: cluster.autoScalingGroupArn,
            autoscalingServiceLinkedRoleArn: autoscalingRole.arn,
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

/** The service EC2 Auto Scaling's service-linked role belongs to, and the role's name (set by AWS). */
export const AUTOSCALING_SERVICE = "autoscaling.amazonaws.com";
export const AUTOSCALING_SERVICE_LINKED_ROLE_NAME = "AWSServiceRoleForAutoScaling";

/**
 * The account's EC2 Auto Scaling service-linked role, which the app group's key grant names. On a
 * fresh account it does not exist before the first group ("The default AWSServiceRoleForAutoScaling
 * is only created automatically when you use the AWS Console. When using the AWS APIs, as the AWS
 * Provider does, ... you need to create the default service-linked role yourself":
 * terraform-provider-aws #28644), and KMS refuses a grant to a principal that does not exist
 * (InvalidArnException): so one stack declares it, once per account, and the grant waits for it.
 * Creating it where it exists fails ("Service role name AWSServiceRoleForAutoScaling has been taken
 * in this account"), hence `existing`.
 *
 * - The production stack (`autoscalingServiceLinkedRole: create`, the default) declares it: it is
 *   deployed first, it always exists, and it is the only stack that may depend on IAM's control plane
 *   in us-east-1. The role is retained when the stack is destroyed (the DR site's group uses it too),
 *   so it outlives the stack: after a `pulumi destroy -s production`, the next `pulumi up -s production`
 *   with `create` fails with "Service role name AWSServiceRoleForAutoScaling has been taken in this
 *   account". Any rebuild of production in an account that had it (a destroy and up, a new stack, a
 *   deploy-from-scratch drill) sets `existing` or adopts the role with `pulumi import` first.
 * - The dr stack (`existing`, set in Pulumi.dr.yaml and required on a DR site) names it by its ARN,
 *   which AWS fixes (`arn:aws:iam::<account>:role/aws-service-role/autoscaling.amazonaws.com/
 *   AWSServiceRoleForAutoScaling`): no IAM call, no StackReference. Its grant is made when the
 *   standby site is deployed and is unchanged by promotion, so it needs nothing from us-east-1 then.
 * - An account where Auto Scaling was used before already has the role: set `existing` on production
 *   too, or `pulumi import aws:iam/serviceLinkedRole:ServiceLinkedRole <name> <arn>` to adopt it.
 */
export function autoscalingServiceLinkedRole(
    config: StackConfig,
    site: string,
    account: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): { arn: pulumi.Output<string>; createdBy?: aws.iam.ServiceLinkedRole } {
    const arn = pulumi.interpolate`arn:aws:iam::${account}:role/aws-service-role/${AUTOSCALING_SERVICE}/${AUTOSCALING_SERVICE_LINKED_ROLE_NAME}`;
    if (config.autoscalingServiceLinkedRole !== "create") return { arn };
    // No description: the role AWS would create has its own, and an imported role then shows no diff.
    const role = new aws.iam.ServiceLinkedRole(`${site}-autoscaling-service-role`, { awsServiceName: AUTOSCALING_SERVICE }, { ...opts, retainOnDelete: true });
    return { arn, createdBy: role };
}
