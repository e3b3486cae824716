import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Architecture } from "./app-cluster";

export interface AppImageArgs {
    /** The site's ECR repository URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`). */
    repositoryUrl: pulumi.Input<string>;
    /** The version tag (immutable; config `imageTag`). */
    imageTag: string;
    /**
     * Path of the app's Docker build context (config `appBuildContext`). Set: the image is built and
     * pushed as `<repositoryUrl>:<imageTag>`. Unset: that tag must already be in the repository
     * (checked by `pulumi up` before the launch template uses it).
     */
    buildContext?: string;
    /** Dockerfile path relative to the context; default `Dockerfile`. */
    dockerfile?: string;
    /** The app instances' architecture: the image is built for it. */
    architecture: Architecture;
}

/** `<registryId>.dkr.ecr.<region>.amazonaws.com/<name>` → its parts; throws on anything else. */
export function parseRepositoryUrl(url: string): { registryId: string; region: string; repositoryName: string } {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(url);
    if (!m) throw new Error(`not an ECR repository URL: ${url}`);
    return { registryId: m[1], region: m[2], repositoryName: m[3] };
}

/**
 * The check that the configured image exists before anything runs it: `aws ecr describe-images` for
 * the tag, exit 1 with what to do when it is missing (the first deployment of a new account: the
 * registry is empty until an image is pushed; the DR region: until ECR has replicated it).
 */
export function renderImagePresentScript(p: { registryId: string; region: string; repositoryName: string; imageTag: string }): string {
    const ref = `${p.repositoryName}:${p.imageTag}`;
    return [
        "set -u",
        "if ! command -v aws > /dev/null 2>&1; then",
        `  echo "image check: the AWS CLI is needed on the machine running pulumi up (to look up ${ref} in ECR)" >&2; exit 1`,
        "fi",
        `if digest="$(aws ecr describe-images --region '${p.region}' --registry-id '${p.registryId}' --repository-name '${p.repositoryName}' --image-ids imageTag='${p.imageTag}' --query 'imageDetails[0].imageDigest' --output text 2>&1)"; then`,
        `  echo "${ref} present in ${p.region}: $digest"; exit 0`,
        "fi",
        `echo "image check failed: no image ${ref} in the ECR registry ${p.registryId} (${p.region}): $digest" >&2`,
        `echo "Nothing was rolled out. Push the image first, then run pulumi up again:" >&2`,
        `echo "  aws ecr get-login-password --region ${p.region} | docker login --username AWS --password-stdin ${p.registryId}.dkr.ecr.${p.region}.amazonaws.com" >&2`,
        `echo "  docker build --platform <linux/amd64 or linux/arm64, the instances' architecture> -t ${p.registryId}.dkr.ecr.${p.region}.amazonaws.com/${ref} <app source> && docker push ${p.registryId}.dkr.ecr.${p.region}.amazonaws.com/${ref}" >&2`,
        `echo "(or set appBuildContext to let pulumi up build and push it; on the dr stack, push to production's registry and wait for ECR replication, most images within 30 minutes)" >&2`,
        "exit 1",
    ].join("\n");
}

/**
 * The app image the group runs, by version tag: built from `buildContext` and pushed to the site's
 * ECR when one is configured, otherwise the configured tag, which must already be in the registry.
 * `imageUri` (`<repositoryUrl>:<imageTag>`) is what the launch template runs, so a new tag rolls the
 * group.
 *
 * Without a build, `pulumi up` first checks that the tag is in the registry (a local command, run
 * again whenever the reference changes) and the launch template waits for that check: a missing
 * image (a new account's empty registry, a typo, a tag the lifecycle policy expired, an image not
 * yet replicated to the DR region) stops the update before any instance is asked to pull it, with
 * the commands that push it. `pulumi preview` does not run it.
 */
export class AppImage extends pulumi.ComponentResource {
    /** `<repositoryUrl>:<imageTag>`; known once the push (build) or the presence check has succeeded. */
    readonly imageUri: pulumi.Output<string>;
    readonly imageTag: string;
    /** Whether this deployment builds and pushes the image. */
    readonly built: boolean;

    constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:app:AppImage", name, {}, opts);
        const reference = pulumi.interpolate`${args.repositoryUrl}:${args.imageTag}`;
        this.imageTag = args.imageTag;
        this.built = args.buildContext !== undefined;

        if (args.buildContext === undefined) {
            const script = pulumi.output(args.repositoryUrl).apply((url) => renderImagePresentScript({ ...parseRepositoryUrl(url), imageTag: args.imageTag }));
            const present = new command.local.Command(`${name}-present`, {
                create: script,
                update: script,
                interpreter: ["/bin/bash", "-c"],
                triggers: [reference],
            }, { parent: this });
            // The launch template waits for the check.
            this.imageUri = pulumi.all([reference, present.id]).apply(([ref]) => ref);
        } else {
            const registryServer = pulumi.output(args.repositoryUrl).apply((url) => url.split("/")[0]);
            const registryId = registryServer.apply((server) => server.split(".")[0]);
            const token = aws.ecr.getAuthorizationTokenOutput({ registryId }, { parent: this });
            const image = new docker.Image(`${name}-image`, {
                imageName: reference,
                build: {
                    context: args.buildContext,
                    dockerfile: args.dockerfile,
                    platform: args.architecture === "arm64" ? "linux/arm64" : "linux/amd64",
                },
                registry: { server: registryServer, username: token.userName, password: pulumi.secret(token.password) },
            }, { parent: this });
            // The pushed name: the launch template waits for the push.
            this.imageUri = image.imageName;
        }
        this.registerOutputs({ imageUri: this.imageUri, imageTag: this.imageTag, built: this.built });
    }
}
