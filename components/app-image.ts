import * as aws from "@pulumi/aws";
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
     * pushed as `<repositoryUrl>:<imageTag>`. Unset: that tag must already be in the repository.
     */
    buildContext?: string;
    /** Dockerfile path relative to the context; default `Dockerfile`. */
    dockerfile?: string;
    /** The app instances' architecture: the image is built for it. */
    architecture: Architecture;
}

/**
 * The app image the group runs, by version tag: built from `buildContext` and pushed to the site's
 * ECR when one is configured, otherwise the configured tag already in the registry. `imageUri`
 * (`<repositoryUrl>:<imageTag>`) is what the launch template runs, so a new tag rolls the group.
 */
export class AppImage extends pulumi.ComponentResource {
    /** `<repositoryUrl>:<imageTag>`; when built, known only once the push has succeeded. */
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
            this.imageUri = reference;
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
