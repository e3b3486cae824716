/**
 * A modelled regional outage for the mock runtime: every AWS endpoint of some regions stops
 * answering, and an evaluation fails as `pulumi up` would wherever the engine or the provider would
 * have to call one of them.
 *
 * What a real `pulumi up` calls, and so what this model refuses:
 * - configuring an `aws` provider: pulumi-aws validates the credentials with STS in the provider's
 *   own region unless `skipCredentialsValidation` is set (pulumi/pulumi-aws provider/resources.go,
 *   `preConfigureCallback` → `validateCredentials`, which builds its awsbase config without
 *   `stsRegion`); the Terraform provider then looks the account id up (aws-sdk-go-base
 *   `GetAwsAccountIDAndPartition`: STS GetCallerIdentity when credentials are validated; otherwise,
 *   unless `skipRequestingAccountId`, IAM GetUser, whose endpoint iam.amazonaws.com is served from
 *   us-east-1, then STS), its STS client using `stsRegion` when set (aws-sdk-go-base `stsClient`);
 * - every invoke (data source) through a provider of that region (`getCallerIdentity` calls STS in
 *   the provider's `stsRegion`, or its region; `getRegion` with no arguments answers from the
 *   provider's configuration without a call);
 * - every resource of that region that is created, updated or deleted. A resource whose inputs are
 *   the same as in the state before (`state`, a previous evaluation) is left alone: the engine diffs
 *   it locally and calls nothing (no `--refresh`).
 *
 * "That region" is where the service's control plane answers, which for a global service is not the
 * provider's region ({@link controlPlaneRegion}): in the `aws` partition every IAM and Route 53
 * (hosted zones, records, health checks) create, update, delete or read goes to us-east-1, whatever
 * region the provider names.
 */
import type { AwsRuleViolation } from "./aws-rules/types";
import type { RecordedResource } from "./mock-runtime";

export interface RegionOutage {
    /** Regions none of whose AWS endpoints answer. */
    regions: readonly string[];
    /**
     * The stack's resources as its state holds them before this run (a previous evaluation's
     * `resources`). Without it, every resource of an unreachable region counts as a create.
     */
    state?: readonly RecordedResource[];
}

/** An invoke as the mock saw it: the token, its inputs and the provider reference it went through (`urn::id`). */
export interface OutageCall {
    token: string;
    inputs: Record<string, any>;
    provider?: string;
}

const RULE = "region-unreachable";
const SOURCE =
    "modelled regional outage (offline/region-outage.ts): pulumi-aws validateCredentials / aws-sdk-go-base GetAwsAccountIDAndPartition at provider configure, the provider's API calls for invokes, creates, updates and deletes";

const truthy = (v: unknown) => v === true || v === "true";
const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The region whose endpoints a change of a resource of this type (or an invoke of this token) calls,
 * when that is fixed by the service rather than by the provider: the control plane of a global
 * service (`aws` partition only; undefined for regional services).
 *
 * - IAM: "In the aws partition, the IAM service's control plane is in the us-east-1 Region" (AWS Fault
 *   Isolation Boundaries whitepaper, "Global services",
 *   https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html);
 *   "The IAM control plane consists of all public IAM APIs ... like CreateRole, AttachRolePolicy ...
 *   During a control plane impairment, CRUDL type operations for IAM may not work, but authentication
 *   and authorization for existing principals will continue to work" (Appendix A). So every
 *   `aws:iam/*` resource and IAM data source but `getPolicyDocument` (built by the provider, no call).
 * - Route 53: "The Route 53 control plane consists of all public Route 53 APIs covering functionality
 *   for hosted zones, records, health checks, DNS query logs, reusable delegation sets, traffic
 *   policies, and cost allocation tags. It is hosted in us-east-1. ... During a control plane
 *   impairment, CRUDL-type operations for Route 53 may not work, but DNS resolution and health checks,
 *   and updates to routing resulting from changes in health checks, will continue to work"
 *   (Appendix B, .../appendix-b---edge-network-global-service-guidance.html). So `aws:route53/*`
 *   except Route 53 Resolver (`resolver*`) and Route 53 Profiles (`profiles*`), which are regional
 *   services. Health-check-driven failover (the data plane, and ARC routing controls) keeps working.
 */
export function controlPlaneRegion(token: string): string | undefined {
    if (token.startsWith("aws:iam/")) return token === "aws:iam/getPolicyDocument:getPolicyDocument" ? undefined : "us-east-1";
    if (token.startsWith("aws:route53/") && !/^aws:route53\/(get)?(resolver|profiles)/i.test(token)) return "us-east-1";
    return undefined;
}

/** Whether a region is in AWS's standard (`aws`) partition, where {@link controlPlaneRegion} applies. */
const standardPartition = (region: string | undefined) => region === undefined || !/^(cn|us-gov|us-iso[a-z]*|eu-isoe)-/.test(region);

/**
 * The region a change of the resource calls: a global service's control plane
 * ({@link controlPlaneRegion}), else its own `region` input (provider 7) or its provider's.
 */
export function managedRegion(r: RecordedResource): string | undefined {
    const region = str(r.props.region) ?? r.region;
    const global = controlPlaneRegion(r.type);
    return global !== undefined && standardPartition(region) ? global : region;
}

/** The regions an `aws` provider calls when the engine configures it (see the module comment). */
export function providerConfigureRegions(props: Record<string, any>): string[] {
    const region = str(props.region);
    const sts = str(props.stsRegion) ?? region;
    const regions: (string | undefined)[] = [];
    if (!truthy(props.skipCredentialsValidation)) regions.push(region, sts);
    else if (!truthy(props.skipRequestingAccountId)) regions.push("us-east-1", sts); // IAM GetUser (iam.amazonaws.com), then STS
    return [...new Set(regions.filter((r): r is string => r !== undefined))];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What the run would have to ask an unreachable region for; empty when it can complete. */
export function checkRegionOutage(outage: RegionOutage, resources: readonly RecordedResource[], calls: readonly OutageCall[]): AwsRuleViolation[] {
    const down = new Set(outage.regions);
    const violations: AwsRuleViolation[] = [];
    const refuse = (r: Pick<RecordedResource, "urn" | "type" | "name">, message: string) =>
        violations.push({ rule: RULE, source: SOURCE, urn: r.urn, type: r.type, name: r.name, message });
    const providers = new Map(resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((p) => [`${p.urn}::${p.id}`, p]));

    for (const p of resources.filter((r) => r.type === "pulumi:providers:aws")) {
        const contacted = providerConfigureRegions(p.props).filter((r) => down.has(r));
        if (contacted.length > 0) {
            refuse(
                p,
                `configuring this provider calls ${contacted.join(", ")} (credential validation / account id lookup), which does not answer: ` +
                    "set skipCredentialsValidation and skipRequestingAccountId (and stsRegion to a reachable region) on a provider the run must configure during the outage",
            );
        }
    }

    for (const call of calls) {
        const provider = call.provider ? providers.get(call.provider) : undefined;
        if (!provider) continue;
        if (call.token === "aws:index/getRegion:getRegion" && !str(call.inputs.region) && !str(call.inputs.name) && !str(call.inputs.endpoint)) continue;
        const own = call.token === "aws:index/getCallerIdentity:getCallerIdentity" ? (str(provider.props.stsRegion) ?? str(provider.props.region)) : (str(call.inputs.region) ?? str(provider.props.region));
        const global = controlPlaneRegion(call.token);
        const region = global !== undefined && standardPartition(own) ? global : own;
        if (region !== undefined && down.has(region)) {
            refuse(
                provider,
                global !== undefined
                    ? `the invoke ${call.token} calls the global service's control plane in ${region}, which does not answer, whatever the provider's region: give the value in config instead`
                    : `the invoke ${call.token} through this provider calls ${region}, which does not answer: read the value through a provider of a reachable region`,
            );
        }
    }

    const before = new Map((outage.state ?? []).filter((r) => r.custom).map((r) => [r.urn, r]));
    const now = new Set(resources.map((r) => r.urn));
    for (const r of resources) {
        if (!r.custom || r.type.startsWith("pulumi:providers:")) continue;
        const region = managedRegion(r);
        if (region === undefined || !down.has(region)) continue;
        const prev = before.get(r.urn);
        const where = region + (region !== (str(r.props.region) ?? r.region) ? " (the global service's control plane)" : "");
        if (!prev) refuse(r, `creating it calls ${where}, which does not answer`);
        else if (!same(prev.props, r.props) || prev.provider !== r.provider) {
            const changed = Object.keys({ ...prev.props, ...r.props }).filter((k) => !same(prev.props[k], r.props[k]));
            refuse(r, `updating it (${changed.join(", ") || "provider"}) calls ${where}, which does not answer: a run during the outage must leave this resource unchanged`);
        }
    }
    for (const prev of before.values()) {
        if (prev.type.startsWith("pulumi:providers:") || now.has(prev.urn)) continue;
        const region = managedRegion(prev);
        if (region !== undefined && down.has(region) && !prev.opts.retainOnDelete) {
            refuse(prev, `deleting it calls ${region}, which does not answer: a run during the outage must keep declaring it`);
        }
    }
    return violations;
}
