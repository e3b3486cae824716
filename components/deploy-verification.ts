import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_CHECK_PATH } from "./dns-failover";

/** Defaults: 30 attempts 10 s apart, 5 s each: a rollout has 7.5 minutes at most to answer healthy. */
export const VERIFY_DEFAULTS = { retries: 30, intervalSeconds: 10, requestTimeoutSeconds: 5 } as const;

export interface DeployVerificationArgs {
    /** The site's public host name: the URL checked is `https://<domainName><path>`. */
    domainName: string;
    /** Default {@link HEALTH_CHECK_PATH}. */
    path?: string;
    /**
     * This site's ALB DNS name. The request is made for `domainName` (TLS name check included) but
     * sent to this ALB, so the dr stack verifies its own rollout even while the name resolves to the
     * primary site.
     */
    loadBalancerDnsName?: pulumi.Input<string>;
    /** Attempts before the update fails; default {@link VERIFY_DEFAULTS}. */
    retries?: number;
    /** Seconds between attempts. */
    intervalSeconds?: number;
    /** Seconds one request may take. */
    requestTimeoutSeconds?: number;
    /** A change of any of these re-runs the verification: the image tag, the launch template version. */
    triggers: pulumi.Input<unknown>[];
    /**
     * What must be in place before the check runs (the group, the HTTPS listener, the DNS record).
     * Given here, not as the component's `dependsOn`, which its command would not inherit.
     */
    runAfter?: pulumi.Resource[];
}

/** The verification script: a bounded curl loop, exit 1 if the site never answers healthy. */
export function renderVerifyScript(p: {
    domainName: string;
    path: string;
    loadBalancerDnsName?: string;
    retries: number;
    intervalSeconds: number;
    requestTimeoutSeconds: number;
}): string {
    const url = `https://${p.domainName}${p.path}`;
    const connectTo = p.loadBalancerDnsName ? ` --connect-to ${p.domainName}:443:${p.loadBalancerDnsName}:443` : "";
    return [
        "set -u",
        `url='${url}'`,
        `for attempt in $(seq 1 ${p.retries}); do`,
        `  if curl --fail --silent --show-error --max-time ${p.requestTimeoutSeconds}${connectTo} "$url" > /dev/null; then`,
        '    echo "$url healthy (attempt $attempt)"; exit 0',
        "  fi",
        `  echo "$url not healthy yet (attempt $attempt of ${p.retries})" >&2`,
        `  [ "$attempt" -lt ${p.retries} ] && sleep ${p.intervalSeconds}`,
        "done",
        `echo "deploy verification failed: $url never answered healthy in ${p.retries} attempts" >&2`,
        "exit 1",
    ].join("\n");
}

/**
 * The plan's "Verify deployment" (`curl -f .../api/health`), after every rollout: a local command, run
 * by `pulumi up` once the group, listener and record are in place, that polls the site's health
 * endpoint a bounded number of times and fails the update if it never answers healthy. It runs again
 * whenever a trigger changes (a new image tag or launch template version).
 */
export class DeployVerification extends pulumi.ComponentResource {
    readonly url: string;
    readonly retries: number;
    readonly stdout: pulumi.Output<string>;

    constructor(name: string, args: DeployVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:app:DeployVerification", name, {}, opts);
        const retries = args.retries ?? VERIFY_DEFAULTS.retries;
        const intervalSeconds = args.intervalSeconds ?? VERIFY_DEFAULTS.intervalSeconds;
        const requestTimeoutSeconds = args.requestTimeoutSeconds ?? VERIFY_DEFAULTS.requestTimeoutSeconds;
        for (const [key, value] of Object.entries({ retries, intervalSeconds, requestTimeoutSeconds })) {
            if (!Number.isInteger(value) || value < 1) throw new Error(`DeployVerification ${name}: ${key} must be a whole number of at least 1, got ${value}`);
        }
        const path = args.path ?? HEALTH_CHECK_PATH;
        this.url = `https://${args.domainName}${path}`;
        this.retries = retries;

        const script = pulumi.output(args.loadBalancerDnsName).apply((loadBalancerDnsName) =>
            renderVerifyScript({ domainName: args.domainName, path, loadBalancerDnsName, retries, intervalSeconds, requestTimeoutSeconds }),
        );
        const verify = new command.local.Command(`${name}-health`, {
            create: script,
            update: script,
            interpreter: ["/bin/bash", "-c"],
            triggers: args.triggers,
        }, { parent: this, dependsOn: args.runAfter });
        this.stdout = verify.stdout;
        this.registerOutputs({ url: this.url, retries: this.retries, stdout: this.stdout });
    }
}
