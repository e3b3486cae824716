/**
 * The app instances' launch template: the AMI (pinned, or the newest Amazon Linux 2023 of the instance
 * type's architecture), IMDSv2 only, an encrypted gp3 root volume (site KMS key), detailed monitoring,
 * and the boot script (./user-data.ts). Every change of it is a new version, which rolls the group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AppClusterArgs } from "./args";
import type { InstanceRole } from "./instance-role";
import { renderUserData } from "./user-data";

export type Architecture = "x86_64" | "arm64";

/**
 * The CPU architecture of an EC2 instance type: Graviton families (a `g` among the attributes after
 * the generation, as in t4g, m7g, c7gn, r6gd, g5g; and the first-generation a1) are arm64, the rest
 * x86_64 (t3, m7i, c6a, g4dn ...).
 */
export function architectureOf(instanceType: string): Architecture {
    const family = instanceType.split(".")[0];
    if (family === "a1") return "arm64";
    const m = /^[a-z]+\d+([a-z-]*)$/.exec(family);
    return m && m[1].includes("g") ? "arm64" : "x86_64";
}

/** The launch template and the version the group runs (a string: the group pins it). */
export function appLaunchTemplate(
    name: string,
    args: AppClusterArgs,
    ctx: { parent: pulumi.Resource; architecture: Architecture; region: pulumi.Output<string>; logGroup: aws.cloudwatch.LogGroup; role: InstanceRole },
): { launchTemplate: aws.ec2.LaunchTemplate; launchTemplateVersion: pulumi.Output<string> } {
    const parent = { parent: ctx.parent };
    const { architecture, region, logGroup } = ctx;
    const { profile, appCredentials } = ctx.role;

    // The pinned AMI, or the newest Amazon Linux 2023 AMI of the architecture (looked up only when none is pinned).
    const imageId = args.amiId !== undefined
        ? pulumi.output(args.amiId)
        : aws.ec2.getAmiOutput({
            owners: ["amazon"],
            mostRecent: true,
            filters: [
                { name: "name", values: [`al2023-ami-2023.*-${architecture}`] },
                { name: "architecture", values: [architecture] },
                { name: "virtualization-type", values: ["hvm"] },
                { name: "root-device-type", values: ["ebs"] },
            ],
        }, parent).id;

    // The launch template waits for the credentials policy (its user data is computed after the
    // policy exists), so no instance boots before it may read what it needs; the boot script
    // also retries while IAM propagates.
    const userData = pulumi
        .all([args.imageUri, args.appEnvSecret.id, args.appEnvSecret.digest, logGroup.name, region, appCredentials?.id])
        .apply(([imageUri, appEnvSecretId, appEnvDigest, logGroupName, regionName]) =>
            Buffer.from(renderUserData({ imageUri, appEnvSecretId, appEnvDigest, logGroupName, region: regionName, postgresClientPackage: args.postgresClientPackage })).toString("base64"),
        );

    const tagSpecification = (resourceType: string) => ({ resourceType, tags: { ...args.instanceTags, Name: `${name}-app` } });
    const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-lt`, {
        description: "Genie AI Server app instance",
        imageId,
        instanceType: args.instanceType,
        iamInstanceProfile: { arn: profile.arn },
        vpcSecurityGroupIds: [args.securityGroupId],
        metadataOptions: {
            httpEndpoint: "enabled",
            httpTokens: "required", // IMDSv2 only
            // One hop: the host's agents reach the metadata service, the app's container does not
            // (it cannot borrow the instance role).
            httpPutResponseHopLimit: 1,
        },
        monitoring: { enabled: true },
        blockDeviceMappings: [{
            deviceName: "/dev/xvda", // Amazon Linux 2023's root device
            ebs: {
                volumeType: "gp3",
                volumeSize: args.rootVolumeGb ?? 30,
                encrypted: "true",
                kmsKeyId: args.kmsKeyArn,
                deleteOnTermination: "true",
            },
        }],
        userData,
        updateDefaultVersion: true,
        tagSpecifications: [tagSpecification("instance"), tagSpecification("volume")],
    }, parent);
    const launchTemplateVersion = launchTemplate.latestVersion.apply((v) => String(v));

    return { launchTemplate, launchTemplateVersion };
}
