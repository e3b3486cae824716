import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StatefulLifecycle } from "./lifecycle";
import { serviceTrustPolicy } from "./iam";

/** The app image's repository name: the same in every region (replication keeps the name). */
export const APP_REPOSITORY_NAME = "genie-ai-server";

/**
 * The prefix of the creation template that gives the replicated repository its settings. ECR appends
 * a "/" to a template prefix (ECR API, CreateRepositoryCreationTemplate: "There is always an assumed /
 * applied to the end of the prefix"; "a prefix of prod would apply to all repositories beginning with
 * prod/"), so a prefix equal to the repository's name, `genie-ai-server`, matches only
 * `genie-ai-server/...` and never the repository itself, which lives at the registry's root. `ROOT`
 * ("To apply a template to all repositories in your registry that don't have an associated creation
 * template, you can use ROOT as the prefix") is the template of every repository ECR creates in the
 * DR region's registry without a more specific template; the replication filter only replicates this
 * repository, so in practice it is this one.
 */
export const CREATION_TEMPLATE_PREFIX = "ROOT";

/** The ECR lifecycle policy that keeps the newest `count` images (plan: "Keep last 10 versions of each image"). */
export function keepLastImagesPolicy(count: number): string {
    return JSON.stringify({
        rules: [{
            rulePriority: 1,
            description: `Keep the last ${count} images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: count },
            action: { type: "expire" },
        }],
    });
}

export interface AppRegistryArgs {
    /** The repository name (default {@link APP_REPOSITORY_NAME}). */
    repositoryName?: string;
    /** The region's customer-managed KMS key. */
    kmsKeyArn: pulumi.Input<string>;
    /** Images kept (the plan's 10). */
    imagesKept: number;
    /**
     * Replicate every pushed image to this region (the DR landing zone): its provider, name and KMS
     * key. The replicated repository is created there by ECR from a creation template (prefix
     * {@link CREATION_TEMPLATE_PREFIX}) that gives it the same immutability, lifecycle policy and
     * encryption with that region's key; the template's role is required because it uses KMS ("This
     * role must be provided when using repository tags and/or KMS in the template").
     */
    replica?: { provider: aws.Provider; region: string; kmsKeyArn: pulumi.Input<string> };
    /**
     * The replica region's creation template prefix (default {@link CREATION_TEMPLATE_PREFIX}, ROOT). An
     * ephemeral stack names its repository `<prefix>/genie-ai-server` and gives its prefix here: its
     * template then matches its repository only and never takes the registry's ROOT template.
     */
    creationTemplatePrefix?: string;
    /** Protected and retained, or deleted with its images (components/lifecycle.ts). */
    lifecycle: StatefulLifecycle;
}

/**
 * The app's container registry (the plan's "Registry: Container registry with versioning"): an ECR
 * repository with scan on push, immutable tags, KMS encryption, a lifecycle policy that keeps the
 * last N images, protected and retained on delete; and, with a replica region, the registry's
 * replication configuration. `aws.ecr.ReplicationConfiguration` is one per registry (account and
 * region): this component must be the only one that declares it.
 */
export class AppRegistry extends pulumi.ComponentResource {
    readonly repositoryName: pulumi.Output<string>;
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** The URL of the replicated repository in the replica region, when there is one. */
    readonly replicaRepositoryUrl?: pulumi.Output<string>;

    constructor(name: string, args: AppRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:registry:AppRegistry", name, {}, opts);
        const parent = { parent: this };
        const repositoryName = args.repositoryName ?? APP_REPOSITORY_NAME;
        const lifecyclePolicy = keepLastImagesPolicy(args.imagesKept);

        const repository = new aws.ecr.Repository(`${name}-repository`, {
            name: repositoryName,
            imageTagMutability: "IMMUTABLE",
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: args.kmsKeyArn }],
            // An ephemeral stack's repository holds the image it pushed: DeleteRepository refuses a repository
            // with images unless forced (ECR API Reference, DeleteRepository: "force ... If true, deleting the
            // repository force deletes the contents of the repository").
            forceDelete: args.lifecycle.forceDestroy,
        }, { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete });
        this.repositoryName = repository.name;
        this.repositoryUrl = repository.repositoryUrl;
        this.repositoryArn = repository.arn;

        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repository.name, policy: lifecyclePolicy }, parent);

        if (args.replica) {
            const replica = args.replica;
            const identity = aws.getCallerIdentityOutput({}, parent);
            const drOpts = { parent: this, provider: replica.provider };
            // ECR creates the replicated repository; this template (applied to replication) decides its settings.
            const templateRole = new aws.iam.Role(`${name}-dr-template-role`, {
                assumeRolePolicy: serviceTrustPolicy("ecr.amazonaws.com"),
            }, drOpts);
            new aws.iam.RolePolicy(`${name}-dr-template-role`, {
                role: templateRole.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Action: ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource", "ecr:PutLifecyclePolicy"],
                            Resource: pulumi.interpolate`arn:aws:ecr:${replica.region}:${identity.accountId}:repository/${repositoryName}*`,
                        },
                        { Effect: "Allow", Action: ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"], Resource: replica.kmsKeyArn },
                    ],
                }),
            }, drOpts);
            // The template must exist before the first image is replicated: a repository ECR creates
            // without a matching template gets ECR's defaults (mutable tags, no lifecycle, AWS-managed key).
            const template = new aws.ecr.RepositoryCreationTemplate(`${name}-dr-template`, {
                prefix: args.creationTemplatePrefix ?? CREATION_TEMPLATE_PREFIX,
                appliedFors: ["REPLICATION"],
                description: "Genie AI Server: settings of the app repository replicated from the primary region",
                imageTagMutability: "IMMUTABLE",
                lifecyclePolicy,
                encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: replica.kmsKeyArn }],
                customRoleArn: templateRole.arn,
            }, drOpts);
            new aws.ecr.ReplicationConfiguration(`${name}-replication`, {
                replicationConfiguration: {
                    rules: [{
                        destinations: [{ region: replica.region, registryId: identity.accountId }],
                        repositoryFilters: [{ filter: repositoryName, filterType: "PREFIX_MATCH" }],
                    }],
                },
            }, { parent: this, dependsOn: [template] });
            this.replicaRepositoryUrl = pulumi.interpolate`${identity.accountId}.dkr.ecr.${replica.region}.amazonaws.com/${repositoryName}`;
        }

        this.registerOutputs({ repositoryName: this.repositoryName, repositoryUrl: this.repositoryUrl, replicaRepositoryUrl: this.replicaRepositoryUrl });
    }
}

/**
 * The app repository as another stack sees it in its own region, where it exists because the primary
 * registry replicates into it: no resource, only its name and URL (the account from the caller).
 */
export function replicatedRepository(region: string, opts: pulumi.InvokeOptions, repositoryName = APP_REPOSITORY_NAME) {
    const identity = aws.getCallerIdentityOutput({}, opts);
    return {
        repositoryName: pulumi.output(repositoryName),
        repositoryUrl: pulumi.interpolate`${identity.accountId}.dkr.ecr.${region}.amazonaws.com/${repositoryName}`,
    };
}
