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
     *
     * Configured so that this provider adds no call to us-east-1 unless one of those few resources
     * changes: see {@link outageTolerantProviderArgs}. (IAM and Route 53 changes still reach us-east-1,
     * their control plane, whatever the provider: see offline/region-outage.ts.)
     */
    globalMetrics?: aws.Provider;
    /**
     * A region that serves AWS Chatbot's API, for the stack's Slack channel configuration: the provider
     * of `config.alerts.chatbotRegion` (`site` or `drLandingZone` when it is theirs, else one of its
     * own). Only when Slack is configured.
     */
    chatbot?: aws.Provider;
}

/** The only region with Route 53 health-check metrics (AWS). */
export const GLOBAL_METRICS_REGION = "us-east-1";

/**
 * Provider settings that make configuring a provider call no AWS endpoint, so that a stack whose
 * resources in that region do not change can run while the region is down (the dr stack's failover
 * run during a us-east-1 outage):
 * - `skipCredentialsValidation`: pulumi-aws otherwise validates the credentials with STS in the
 *   provider's own region before configuring (pulumi/pulumi-aws provider/resources.go,
 *   `preConfigureCallback` → `validateCredentials`; the provider doc: "Skip the credentials validation
 *   via STS API");
 * - `skipRequestingAccountId`: the Terraform provider otherwise looks the account id up at configure
 *   (aws-sdk-go-base `GetAwsAccountIDAndPartition`: IAM GetUser, whose endpoint is served from
 *   us-east-1, then STS). Without the lookup the provider knows no account id ("AWS account ID not
 *   found for provider" warning); the resources through this provider (KMS key and alias, SNS topic,
 *   policy and subscriptions, metric alarm) take their ARNs from the API's answers, and the topic
 *   policy's account comes from the site's provider;
 * - `stsRegion`: STS calls (the `getCallerIdentity` data source) go to the site's region instead
 *   (provider doc: "The region where AWS STS operations will take place"; aws-sdk-go-base `stsClient`).
 * Resources through the provider are called only when they are created, updated, deleted or
 * refreshed: a failover run must not use `--refresh` while the region is down.
 */
export function outageTolerantProviderArgs(stsRegion: string): Pick<aws.ProviderArgs, "skipCredentialsValidation" | "skipRequestingAccountId" | "stsRegion"> {
    return { skipCredentialsValidation: true, skipRequestingAccountId: true, stsRegion };
}

/** Creates the providers, each carrying the `app`, `stack` and `site` default tags. */
export function createProviders(config: StackConfig): StackProviders {
    const provider = (name: string, region: string, site: string, extra: Partial<aws.ProviderArgs> = {}) =>
        new aws.Provider(name, {
            region: region as aws.Region,
            defaultTags: { tags: { ...config.tags, site } },
            ...extra,
        });
    const site = provider(`${config.siteName}-region`, config.siteRegion, config.siteName);
    const globalMetrics =
        config.siteRegion === GLOBAL_METRICS_REGION
            ? {}
            : { globalMetrics: provider("global-metrics-region", GLOBAL_METRICS_REGION, config.siteName, outageTolerantProviderArgs(config.siteRegion)) };
    const drLandingZone = config.siteRole === "primary" ? provider("dr-landing-zone-region", config.drRegion, "dr-landing-zone") : undefined;
    // One provider per region: the Slack channel configuration goes through the site's or the landing
    // zone's provider when chatbotRegion is one of theirs.
    const chatbotRegion = config.alerts.chatbotRegion;
    const chatbot = !config.alerts.slack
        ? {}
        : {
            chatbot: chatbotRegion === config.siteRegion ? site
                : drLandingZone && chatbotRegion === config.drRegion ? drLandingZone
                : provider("chatbot-region", chatbotRegion, config.siteName),
        };
    return { site, ...(drLandingZone ? { drLandingZone } : {}), ...globalMetrics, ...chatbot };
}
