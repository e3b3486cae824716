/**
 * The app's autoscaling group and its scaling: the KMS grant its service-linked role needs to launch
 * instances with encrypted volumes, the group over every zone's app subnet (ELB health checks, an
 * instance refresh on every new launch template version), and target tracking on CPU and on the
 * CloudWatch agent's memory metric.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AppClusterArgs } from "./args";
import { AGENT_METRICS, AGENT_NAMESPACE } from "./user-data";

/** The group, children of `ctx.parent` (the AppCluster), after the grant on the site key. */
export function appGroup(
    name: string,
    args: AppClusterArgs,
    ctx: { parent: pulumi.Resource; desiredCapacity: number; launchTemplate: aws.ec2.LaunchTemplate; launchTemplateVersion: pulumi.Output<string> },
): aws.autoscaling.Group {
    const { desiredCapacity, launchTemplate, launchTemplateVersion } = ctx;

    // The group launches instances with volumes encrypted by the site key: its service-linked role
    // needs a grant on the key (a service-linked role's own policy cannot be changed), with the
    // operations of "Required AWS KMS key policy for use with encrypted volumes" (EC2 Auto Scaling
    // User Guide). KMS refuses a grant to a principal that does not exist (InvalidArnException),
    // and the role exists on a fresh account only once declared: the grant waits for it.
    const keyGrant = new aws.kms.Grant(`${name}-autoscaling-ebs`, {
        keyId: args.kmsKeyArn,
        granteePrincipal: args.autoscalingServiceLinkedRole.arn,
        operations: ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
    }, { parent: ctx.parent, dependsOn: args.autoscalingServiceLinkedRole.createdBy ? [args.autoscalingServiceLinkedRole.createdBy] : [] });

    const group = new aws.autoscaling.Group(`${name}-asg`, {
        vpcZoneIdentifiers: args.subnetIds,
        minSize: args.minSize,
        maxSize: args.maxSize,
        desiredCapacity,
        // A pinned version (not $Latest): a new template version is a change of the group, which
        // starts the instance refresh, and the deploy verification knows which version to await.
        launchTemplate: { id: launchTemplate.id, version: launchTemplateVersion },
        targetGroupArns: [args.targetGroupArn],
        healthCheckType: "ELB",
        healthCheckGracePeriod: args.healthCheckGracePeriodSeconds ?? 300,
        defaultInstanceWarmup: 120,
        instanceRefresh: {
            strategy: "Rolling",
            preferences: {
                // Launch before terminate: capacity never drops below the group's size while it rolls.
                minHealthyPercentage: args.minHealthyPercentage ?? 100,
                maxHealthyPercentage: 200,
                instanceWarmup: "120",
                // Off: it would not return to the previous image. AWS rolls back to "the
                // configuration that you last saved on the Auto Scaling group before starting the
                // instance refresh" (EC2 Auto Scaling User Guide, "Undo changes with a manual or
                // auto rollback"), and the provider saves the new launch template version on the
                // group before it starts the refresh (terraform-provider-aws #34189): the rollback
                // target is the new version itself. The provider does not wait for the refresh
                // either ("This resource does not wait for the instance refresh to complete",
                // input.d.ts, instanceRefresh). The rollout is awaited and checked by the deploy
                // verification (components/deploy-verification.ts); the way back is a `pulumi up`
                // of the last verified image tag (`scripts/recovery.sh rollback-image`).
                autoRollback: false,
                // Instances already on the group's launch template version are not replaced (a refresh
                // restarted after a cancelled one only finishes the job).
                skipMatching: true,
            },
            // No extra `triggers`: a refresh starts on a change of the launch template (version), which
            // is what rolls the image, AMI, user data and environment. A "tag" trigger only started a
            // refresh that skipMatching makes replace nothing (tags are not part of the configuration
            // instances are matched on), yet it cancels a running one ("When this resource is updated,
            // any existing refresh is cancelled", input.d.ts instanceRefresh.triggers).
        },
        terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
        enabledMetrics: ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances"],
        metricsGranularity: "1Minute",
        waitForCapacityTimeout: "15m",
        tags: Object.entries({ ...args.instanceTags, Name: `${name}-app` }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    }, {
        parent: ctx.parent,
        dependsOn: [keyGrant],
        // Scaling policies own the running size between the bounds; `pulumi up` changes the bounds only.
        ignoreChanges: ["desiredCapacity"],
    });
    return group;
}

/** Target tracking on the group's average CPU and on the agent's memory used percent. */
export function scalingPolicies(name: string, args: AppClusterArgs, group: aws.autoscaling.Group, parent: pulumi.Resource): void {
    new aws.autoscaling.Policy(`${name}-cpu`, {
        autoscalingGroupName: group.name,
        policyType: "TargetTrackingScaling",
        estimatedInstanceWarmup: 120,
        targetTrackingConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
            targetValue: args.cpuTargetPercent ?? 60,
        },
    }, { parent });
    new aws.autoscaling.Policy(`${name}-memory`, {
        autoscalingGroupName: group.name,
        policyType: "TargetTrackingScaling",
        estimatedInstanceWarmup: 120,
        targetTrackingConfiguration: {
            customizedMetricSpecification: {
                namespace: AGENT_NAMESPACE,
                metricName: AGENT_METRICS.memoryUsedPercent,
                metricDimensions: [{ name: "AutoScalingGroupName", value: group.name }],
                statistic: "Average",
                unit: "Percent",
            },
            targetValue: args.memoryTargetPercent ?? 70,
        },
    }, { parent });
}
