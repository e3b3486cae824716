import * as aws from "@pulumi/aws";
import { StackConfig } from "./config";

/**
 * The explicit AWS providers of a stack. No resource of this program uses the default provider: a
 * resource meant for a region names that region's provider, and a test holds every resource to it.
 */
export interface StackProviders {
    /** The region this stack's site runs in. */
    site: aws.Provider;
    /**
     * The DR region, for the recovery landing zone the production stack keeps there (replica buckets,
     * the DR backup vault, the DR key). Only on the primary site.
     */
    drLandingZone?: aws.Provider;
    /**
     * us-east-1, where Route 53 publishes its health-check metrics (and only there): the alarm on the
     * site's failover health check, and the topic it notifies, use it. Only when the site runs in
     * another region (the dr stack); a site in us-east-1 uses `site` for them.
     */
    globalMetrics?: aws.Provider;
}

/** The only region with Route 53 health-check metrics (AWS). */
export const GLOBAL_METRICS_REGION = "us-east-1";

/** Creates the providers, each carrying the `app`, `stack` and `site` default tags. */
export function createProviders(config: StackConfig): StackProviders {
    const provider = (name: string, region: string, site: string) =>
        new aws.Provider(name, {
            region: region as aws.Region,
            defaultTags: { tags: { ...config.tags, site } },
        });
    const site = provider(`${config.siteName}-region`, config.siteRegion, config.siteName);
    const globalMetrics = config.siteRegion === GLOBAL_METRICS_REGION ? {} : { globalMetrics: provider("global-metrics-region", GLOBAL_METRICS_REGION, config.siteName) };
    if (config.siteRole !== "primary") return { site, ...globalMetrics };
    return { site, drLandingZone: provider("dr-landing-zone-region", config.drRegion, "dr-landing-zone"), ...globalMetrics };
}
