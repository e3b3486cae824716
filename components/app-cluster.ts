/**
 * The app cluster: the component and its public API. Its pieces, each read top to bottom, are in
 * components/app-cluster/: `args.ts` (what it takes), `instance-role.ts` (the instances' identity),
 * `user-data.ts` (what runs on an instance), `launch-template.ts` (how an instance is launched) and
 * `group.ts` (the autoscaling group and its scaling). Import from this file.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AppClusterArgs } from "./app-cluster/args";
import { appGroup, scalingPolicies } from "./app-cluster/group";
import { instanceRole } from "./app-cluster/instance-role";
import { appLaunchTemplate, type Architecture, architectureOf } from "./app-cluster/launch-template";

export type { AppClusterArgs } from "./app-cluster/args";
export { BACKUP_LIST_PREFIXES, BACKUP_WRITE_PREFIXES, SSM_MANAGED_INSTANCE_CORE_POLICY_ARN } from "./app-cluster/instance-role";
export { architectureOf } from "./app-cluster/launch-template";
export type { Architecture } from "./app-cluster/launch-template";
export { AGENT_METRICS, AGENT_NAMESPACE, agentConfig, renderUserData, USER_DATA_MAX_BYTES } from "./app-cluster/user-data";
export type { UserDataParams } from "./app-cluster/user-data";

/**
 * The app's autoscaling group ("Application Scaling: Minimum 2, auto-scaling on CPU/memory, health
 * checks") and everything its instances need:
 * - a launch template: a pinned AMI (`amiId`) or the current Amazon Linux 2023 image of the instance
 *   type's architecture (looked up at deploy time), IMDSv2 required, an encrypted gp3 root volume
 *   (site KMS key), detailed monitoring, and user data that installs Docker and the CloudWatch agent, reads the app's
 *   environment from Secrets Manager, pulls the image from ECR and runs it on port 4000, its logs
 *   going to a log group kept `logRetentionDays`;
 * - an instance role with least privilege (SSM management, the agent's metrics, pulling this
 *   repository, reading this secret, writing only the backup prefixes);
 * - the group over every zone's app subnet with ELB health checks, target tracking on CPU and on the
 *   agent's memory metric, and an instance refresh (rolling, launch before terminate) whenever the
 *   launch template changes: the plan's "Rolling Recovery" without downtime. The refresh's automatic
 *   rollback is off (it would return to the new version: see the group); the deploy verification
 *   awaits the rollout, and the way back is a `pulumi up` of the last verified image.
 */
export class AppCluster extends pulumi.ComponentResource {
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly autoScalingGroupArn: pulumi.Output<string>;
    readonly launchTemplateId: pulumi.Output<string>;
    /** The launch template version the group runs; changes with every rollout. */
    readonly launchTemplateVersion: pulumi.Output<string>;
    readonly instanceRoleArn: pulumi.Output<string>;
    readonly instanceRoleName: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly architecture: Architecture;
    /** The group itself, for `dependsOn` (the deploy verification runs after it). */
    readonly group: aws.autoscaling.Group;

    constructor(name: string, args: AppClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:app:AppCluster", name, {}, opts);
        if (!Number.isInteger(args.minSize) || !Number.isInteger(args.maxSize) || args.minSize < 0 || args.maxSize < Math.max(1, args.minSize)) {
            throw new Error(`AppCluster ${name}: need 0 <= minSize <= maxSize and maxSize >= 1, got minSize ${args.minSize}, maxSize ${args.maxSize}`);
        }
        const desiredCapacity = args.desiredCapacity ?? args.minSize;
        if (desiredCapacity < args.minSize || desiredCapacity > args.maxSize) {
            throw new Error(`AppCluster ${name}: desiredCapacity ${desiredCapacity} must lie within minSize ${args.minSize} and maxSize ${args.maxSize}`);
        }
        const parent = { parent: this };
        const architecture = architectureOf(args.instanceType);
        this.architecture = architecture;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/genie/${name}/app`,
            retentionInDays: args.logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
        }, parent);
        const role = instanceRole(name, args, { parent: this, account, region, logGroup });
        const { launchTemplate, launchTemplateVersion } = appLaunchTemplate(name, args, { parent: this, architecture, region, logGroup, role });
        const group = appGroup(name, args, { parent: this, desiredCapacity, launchTemplate, launchTemplateVersion });
        scalingPolicies(name, args, group, this);

        this.group = group;
        this.autoScalingGroupName = group.name;
        this.autoScalingGroupArn = group.arn;
        this.launchTemplateId = launchTemplate.id;
        this.launchTemplateVersion = launchTemplateVersion;
        this.instanceRoleArn = role.role.arn;
        this.instanceRoleName = role.role.name;
        this.logGroupName = logGroup.name;
        this.registerOutputs({
            autoScalingGroupName: this.autoScalingGroupName,
            autoScalingGroupArn: this.autoScalingGroupArn,
            launchTemplateId: this.launchTemplateId,
            launchTemplateVersion: this.launchTemplateVersion,
            instanceRoleArn: this.instanceRoleArn,
            logGroupName: this.logGroupName,
            architecture,
        });
    }
}
