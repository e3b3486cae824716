import * as pulumi from "@pulumi/pulumi";
import { Network } from "../components/network";
import { SecurityGroups } from "../components/security-groups";
import { StackConfig } from "./config";
import { defineDataProtection } from "./data-protection";
import { createProviders } from "./providers";
import { defineServingPath } from "./serving-path";

/** Resource names of this program start with this prefix (the app's name). */
export const NAME_PREFIX = "genie";

/**
 * Declares the whole stack for a validated config: the site in its region and, on the primary
 * site, the recovery landing zone in the DR region. Returns the stack outputs.
 *
 * Read top to bottom: one section per concern, each building its component(s) from config and the
 * outputs of the sections above it.
 */
export function defineStack(config: StackConfig) {
    const providers = createProviders(config);
    const siteOpts = { provider: providers.site };
    const site = `${NAME_PREFIX}-${config.siteName}`;
    const outputs: Record<string, pulumi.Input<unknown>> = {
        siteRole: config.siteRole,
        siteRegion: config.siteRegion,
        drRegion: config.drRegion,
    };

    // ── Network ──────────────────────────────────────────────────────────────────────────────
    const network = new Network(`${site}-network`, {
        cidrBlock: config.network.vpcCidr,
        availabilityZoneCount: config.network.availabilityZoneCount,
        flowLogRetentionDays: config.backup.logRetentionDays,
    }, siteOpts);
    // Each tier admits only the tier in front of it: internet → ALB → app → database and cache.
    const securityGroups = new SecurityGroups(`${site}-sg`, { vpcId: network.vpcId }, siteOpts);
    Object.assign(outputs, {
        vpcId: network.vpcId,
        appSubnetIds: network.appSubnetIds,
        dataSubnetIds: network.dataSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        appSecurityGroupId: securityGroups.appSecurityGroupId,
    });

    // ── Data protection: keys and secrets, backup storage, AWS Backup, registry, DR landing zone ──
    // The plan's Backup Strategy; on the primary site also the recovery landing zone in the DR region.
    // Later sections use `dataProtection` (KMS key, DB master credentials, backup tags, buckets, registry).
    const dataProtection = defineDataProtection(config, providers, site);
    Object.assign(outputs, dataProtection.outputs);

    // ── Database and cache ───────────────────────────────────────────────────────────────────

    // ── Serving path: app cluster, edge and DNS failover, image, deploy verification ─────────
    // Later sections use `servingPath` (ALB, target group, group, failover health check: monitoring alarms on them).
    const servingPath = defineServingPath(config, providers, site, `${NAME_PREFIX}-primary`, { network, securityGroups, dataProtection });
    Object.assign(outputs, servingPath.outputs);

    // ── Monitoring and alerting ──────────────────────────────────────────────────────────────

    // ── Drills ───────────────────────────────────────────────────────────────────────────────

    return outputs;
}
