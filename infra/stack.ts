import { Network } from "../components/network";
import { StackConfig } from "./config";
import { createProviders } from "./providers";

/** Resource names of this program start with this prefix (the app's name). */
export const NAME_PREFIX = "genie";

/**
 * Declares the whole stack for a validated config: the site in its region and, on the primary
 * site, the recovery landing zone in the DR region. Returns the stack outputs.
 */
export function defineStack(config: StackConfig) {
    const providers = createProviders(config);
    const siteOpts = { provider: providers.site };
    const site = `${NAME_PREFIX}-${config.siteName}`;

    const network = new Network(`${site}-network`, {
        cidrBlock: config.network.vpcCidr,
        availabilityZoneCount: config.network.availabilityZoneCount,
        flowLogRetentionDays: config.backup.logRetentionDays,
    }, siteOpts);

    return {
        siteRole: config.siteRole,
        siteRegion: config.siteRegion,
        drRegion: config.drRegion,
        vpcId: network.vpcId,
        appSubnetIds: network.appSubnetIds,
        dataSubnetIds: network.dataSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
    };
}
