import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_CHECK_PATH } from "./dns-failover";

/** Defaults: 30 attempts 10 s apart, 5 s each: a rollout has 7.5 minutes at most to answer healthy. */
export const VERIFY_DEFAULTS = { retries: 30, intervalSeconds: 10, requestTimeoutSeconds: 5 } as const;

/**
 * Defaults of the rollout check: 30 minutes for every in-service instance to run the new launch
 * template version and be healthy in the target group, polled every 15 s. An instance refresh of a
 * group at minimum healthy 100 % launches the new instances first (boot, image pull, the 120 s
 * warm-up, the target group's health checks) and only then terminates the old ones.
 */
export const ROLLOUT_DEFAULTS = { timeoutSeconds: 1800, pollSeconds: 15 } as const;

/** The lines of the verification's stdout that record which images it verified (kept in Pulumi state). */
export const VERIFIED_IMAGE_LINE = "verified-image=";
export const PREVIOUS_VERIFIED_IMAGE_LINE = "previous-verified-image=";

/** The rollout the verification awaits: the group, the launch template version it must run, its target group. */
export interface RolloutToAwait {
    autoScalingGroupName: pulumi.Input<string>;
    launchTemplateVersion: pulumi.Input<string>;
    targetGroupArn: pulumi.Input<string>;
    region: string;
    /** Seconds before the check gives up; default {@link ROLLOUT_DEFAULTS}. */
    timeoutSeconds?: number;
    /** Seconds between two looks; default {@link ROLLOUT_DEFAULTS}. */
    pollSeconds?: number;
}

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
    /**
     * The rollout to await before the health check: every in-service instance of the group on this
     * launch template version and healthy in the target group. Without it, the health check passes
     * as soon as any instance answers, old or new.
     */
    rollout?: RolloutToAwait;
    /**
     * The image being rolled out (`<repository>:<tag>`): recorded in the command's output once
     * verified, so the next rollout knows the last verified image to return to.
     */
    imageUri?: pulumi.Input<string>;
    /** The stack name, for the commands printed on failure. */
    stack?: string;
    /**
     * What must be in place before the check runs (the group, the HTTPS listener, the DNS record).
     * Given here, not as the component's `dependsOn`, which its command would not inherit.
     */
    runAfter?: pulumi.Resource[];
}

const q = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/** The tag of `<repository>:<tag>` (the registry host has no port). */
export function imageTagOf(imageUri: string | undefined): string | undefined {
    if (!imageUri) return undefined;
    const i = imageUri.lastIndexOf(":");
    return i > imageUri.lastIndexOf("/") ? imageUri.slice(i + 1) : undefined;
}

/** The images a verification's stdout records: the one it verified and the last one verified before it. */
export function parseVerifiedImages(stdout: string | undefined): { verified?: string; previous?: string } {
    const last = (prefix: string) =>
        (stdout ?? "")
            .split("\n")
            .filter((l) => l.startsWith(prefix))
            .map((l) => l.slice(prefix.length).trim())
            .filter((v) => v !== "")
            .pop();
    return { verified: last(VERIFIED_IMAGE_LINE), previous: last(PREVIOUS_VERIFIED_IMAGE_LINE) };
}

/**
 * The verification script (bash): when a rollout is given, await it (every in-service instance of the
 * group on the new launch template version and healthy in the target group, within a bound); then a
 * bounded curl loop on the site's health endpoint. Exit 1 on any failure, with what happened and the
 * command that returns to the last verified image.
 *
 * The record of verified images lives in the command's stdout, which Pulumi keeps in state: on an
 * update the command provider passes the previous run's stdout as `PULUMI_COMMAND_STDOUT` (pulumi-command
 * `update` doc: "set to the stdout and stderr properties of the Command resource from previous create or
 * update steps"); a failed run changes nothing in it. A create (or a replacement, which is a create of a
 * new resource) gets no `PULUMI_COMMAND_STDOUT`: see {@link DeployVerification} for why nothing may
 * replace the command.
 */
export function renderVerifyScript(p: {
    domainName: string;
    path: string;
    loadBalancerDnsName?: string;
    retries: number;
    intervalSeconds: number;
    requestTimeoutSeconds: number;
    imageUri?: string;
    stack?: string;
    rollout?: { autoScalingGroupName: string; launchTemplateVersion: string; targetGroupArn: string; region: string; timeoutSeconds: number; pollSeconds: number };
}): string {
    const url = `https://${p.domainName}${p.path}`;
    const connectTo = p.loadBalancerDnsName ? ` --connect-to ${p.domainName}:443:${p.loadBalancerDnsName}:443` : "";
    const stack = p.stack ?? "<stack>";
    const r = p.rollout;
    return [
        "set -u",
        `url=${q(url)}`,
        `image=${q(p.imageUri ?? "")}`,
        `stack=${q(stack)}`,
        "# The images verified before this run (this command's previous stdout, kept by Pulumi).",
        `last="$(printf '%s\\n' "\${PULUMI_COMMAND_STDOUT:-}" | sed -n 's/^${VERIFIED_IMAGE_LINE}//p' | tail -n 1)"`,
        `before="$(printf '%s\\n' "\${PULUMI_COMMAND_STDOUT:-}" | sed -n 's/^${PREVIOUS_VERIFIED_IMAGE_LINE}//p' | tail -n 1)"`,
        "fail() {",
        '  echo "deploy verification failed: $1" >&2',
        '  if [ -n "$last" ] && [ "$last" != "$image" ]; then',
        '    echo "Return to the last verified image (${last##*:}), one instance refresh:" >&2',
        '    echo "  scripts/recovery.sh rollback-image --stack $stack   (= pulumi config set -s $stack imageTag ${last##*:} && pulumi up -s $stack)" >&2',
        '  elif [ -n "$last" ]; then',
        '    echo "The image $image was verified before on this site: the failure comes from another change of the launch template (AMI, user data, app environment)." >&2',
        "  else",
        '    echo "No earlier verified image is recorded for this site." >&2',
        "  fi",
        "  exit 1",
        "}",
        ...(r
            ? [
                "",
                "# 1. The rollout: every in-service instance on the new launch template version, healthy in the target group.",
                "#    (The refresh keeps the old instances in service until new ones are healthy; its own rollback is off.)",
                `group=${q(r.autoScalingGroupName)}`,
                `version=${q(r.launchTemplateVersion)}`,
                `target_group=${q(r.targetGroupArn)}`,
                `region=${q(r.region)}`,
                'command -v aws > /dev/null 2>&1 || fail "the rollout check needs the AWS CLI on the machine running pulumi up"',
                `deadline=$(( $(date +%s) + ${r.timeoutSeconds} ))`,
                "while :; do",
                "  instances=\"$(aws autoscaling describe-auto-scaling-groups --region \"$region\" --auto-scaling-group-names \"$group\" \\",
                "    --query 'AutoScalingGroups[0].Instances[?LifecycleState==`InService`].[InstanceId,LaunchTemplate.Version]' --output text 2>&1)\" || instances=\"\"",
                "  healthy=\" $(aws elbv2 describe-target-health --region \"$region\" --target-group-arn \"$target_group\" \\",
                "    --query 'TargetHealthDescriptions[?TargetHealth.State==`healthy`].Target.Id' --output text 2> /dev/null | tr -s '\\t\\n' '  ') \"",
                "  new=0; old=0; waiting=0",
                "  while read -r id ver; do",
                '    case "${id:-}" in i-*) ;; *) continue;; esac',
                '    if [ "${ver:-}" = "$version" ]; then',
                '      case "$healthy" in *" $id "*) new=$((new + 1));; *) waiting=$((waiting + 1));; esac',
                "    else",
                "      old=$((old + 1))",
                "    fi",
                '  done <<< "$instances"',
                '  if [ "$new" -ge 1 ] && [ "$old" -eq 0 ] && [ "$waiting" -eq 0 ]; then',
                '    echo "rollout: $new instance(s) of $group on launch template version $version, healthy"',
                "    break",
                "  fi",
                '  echo "rollout: $new healthy on version $version, $waiting not healthy yet, $old on another version" >&2',
                '  if [ "$(date +%s)" -ge "$deadline" ]; then',
                `    fail "after ${r.timeoutSeconds} s, $old in-service instance(s) of $group still run another launch template version and $waiting on version $version are not healthy in the target group. The group already launches version $version (the image $image) for any new instance; its old instances keep serving until new ones are healthy."`,
                "  fi",
                `  sleep ${r.pollSeconds}`,
                "done",
            ]
            : []),
        "",
        "# 2. The site answers healthy through its HTTPS listener.",
        `for attempt in $(seq 1 ${p.retries}); do`,
        `  if curl --fail --silent --show-error --max-time ${p.requestTimeoutSeconds}${connectTo} "$url" > /dev/null; then`,
        '    echo "$url healthy (attempt $attempt)"',
        ...(p.imageUri
            ? [
                `    echo "${VERIFIED_IMAGE_LINE}$image"`,
                '    if [ "$last" = "$image" ]; then previous="$before"; else previous="$last"; fi',
                `    if [ -n "$previous" ]; then echo "${PREVIOUS_VERIFIED_IMAGE_LINE}$previous"; fi`,
            ]
            : []),
        "    exit 0",
        "  fi",
        `  echo "$url not healthy yet (attempt $attempt of ${p.retries})" >&2`,
        `  [ "$attempt" -lt ${p.retries} ] && sleep ${p.intervalSeconds}`,
        "done",
        `fail "$url never answered healthy in ${p.retries} attempts"`,
    ].join("\n");
}

/**
 * The plan's "Verify deployment" (`curl -f .../api/health`), after every rollout: a local command, run
 * by `pulumi up` once the group, listener and record are in place. It awaits the rollout itself (the
 * provider starts the instance refresh and returns without waiting; see components/app-cluster.ts),
 * then polls the site's health endpoint a bounded number of times, and fails the update if either
 * never succeeds, printing the command that returns to the last verified image. Needs `bash`, `curl`
 * and, with a rollout, the AWS CLI (same account and credentials as `pulumi up`) on the machine running it.
 *
 * It runs again whenever its script changes, and the script names the image and the launch template
 * version: a new image tag, AMI, user data or app environment is a new script, so an UPDATE of the
 * command. It has no `triggers`, on purpose: pulumi-command replaces a command whose triggers change
 * (`@pulumi/command` local/command.js: `replaceOnChanges: ["triggers[*]"]`; provider
 * provider/pkg/provider/common/inputs.go: `Triggers ... provider:"replaceOnChanges"`), and a replacement
 * runs `create` on a new resource whose outputs are empty, so the provider sets no
 * `PULUMI_COMMAND_STDOUT` (provider/pkg/provider/local/commandOutputs.go sets it only `if out.Stdout != ""`;
 * commandController.go `Create` starts from `CommandOutputs{CommandInputs: input}`). With triggers,
 * every rollout wiped the record and `rollback-image` could not return from a verified-but-bad image.
 * An update starts from the old outputs (`Update`: `BaseOutputs: olds.BaseOutputs`), so the script
 * reads the previous record, and a failed run leaves it as it was (`run` sets `Stdout` only on success).
 *
 * `verifiedImageUri` and `previousVerifiedImageUri` are the record the rollback reads
 * (`scripts/recovery.sh rollback-image`, through the stack outputs).
 */
export class DeployVerification extends pulumi.ComponentResource {
    readonly url: string;
    readonly retries: number;
    readonly stdout: pulumi.Output<string>;
    /** The image this site last verified healthy (undefined before the first verification). */
    readonly verifiedImageUri: pulumi.Output<string | undefined>;
    /** The image verified before that one. */
    readonly previousVerifiedImageUri: pulumi.Output<string | undefined>;

    constructor(name: string, args: DeployVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:app:DeployVerification", name, {}, opts);
        const retries = args.retries ?? VERIFY_DEFAULTS.retries;
        const intervalSeconds = args.intervalSeconds ?? VERIFY_DEFAULTS.intervalSeconds;
        const requestTimeoutSeconds = args.requestTimeoutSeconds ?? VERIFY_DEFAULTS.requestTimeoutSeconds;
        const timeoutSeconds = args.rollout?.timeoutSeconds ?? ROLLOUT_DEFAULTS.timeoutSeconds;
        const pollSeconds = args.rollout?.pollSeconds ?? ROLLOUT_DEFAULTS.pollSeconds;
        for (const [key, value] of Object.entries({ retries, intervalSeconds, requestTimeoutSeconds, timeoutSeconds, pollSeconds })) {
            if (!Number.isInteger(value) || value < 1) throw new Error(`DeployVerification ${name}: ${key} must be a whole number of at least 1, got ${value}`);
        }
        const path = args.path ?? HEALTH_CHECK_PATH;
        this.url = `https://${args.domainName}${path}`;
        this.retries = retries;

        const r = args.rollout;
        const script = pulumi
            .all([args.loadBalancerDnsName, args.imageUri, r?.autoScalingGroupName, r?.launchTemplateVersion, r?.targetGroupArn])
            .apply(([loadBalancerDnsName, imageUri, autoScalingGroupName, launchTemplateVersion, targetGroupArn]) =>
                renderVerifyScript({
                    domainName: args.domainName,
                    path,
                    loadBalancerDnsName,
                    retries,
                    intervalSeconds,
                    requestTimeoutSeconds,
                    imageUri,
                    stack: args.stack,
                    rollout: r
                        ? { autoScalingGroupName: autoScalingGroupName!, launchTemplateVersion: launchTemplateVersion!, targetGroupArn: targetGroupArn!, region: r.region, timeoutSeconds, pollSeconds }
                        : undefined,
                }),
            );
        const verify = new command.local.Command(`${name}-health`, {
            create: script,
            update: script,
            interpreter: ["/bin/bash", "-c"],
            // No `triggers` (see above): a change of the script is an update, which keeps the record.
        }, {
            parent: this,
            dependsOn: args.runAfter,
            // A stack deployed when the command had triggers keeps them in its state: without this, their
            // removal is itself a change of triggers and would replace the command (and lose the record)
            // once, at the first `pulumi up` after the upgrade. The engine diffs ignored inputs against
            // their old values, so the old triggers stay and change nothing.
            ignoreChanges: ["triggers"],
        });
        this.stdout = verify.stdout;
        const record = verify.stdout.apply((out) => parseVerifiedImages(out));
        this.verifiedImageUri = record.apply((x) => x.verified);
        this.previousVerifiedImageUri = record.apply((x) => x.previous);
        this.registerOutputs({ url: this.url, retries: this.retries, stdout: this.stdout, verifiedImageUri: this.verifiedImageUri });
    }
}
