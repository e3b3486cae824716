/**
 * The project's one table of AWS resource type tokens (`@pulumi/aws` 7.48 names), and the helpers that
 * select resources by them. Used by the policy rules (policies/rules/common.ts `T`), the recovery
 * posture (offline/posture.ts), the capability inventory (offline/capabilities.ts), the offline AWS
 * rules and the tests: a token is written once, here.
 *
 * It lives in `policies/` because `pulumi policy publish` packs that folder alone and nothing in it may
 * import from outside it (test/policy-pack-publish.test.ts); the rest of the project imports it from
 * here, as it does the pack's schedule reader. It imports nothing.
 */

/**
 * One key per token: the type a program declares (`new aws.s3.Bucket` records `aws:s3/bucket:Bucket`).
 * Select this program's own resources with these.
 */
export const AWS_TYPES = {
    // Certificates and DNS
    certificate: "aws:acm/certificate:Certificate",
    certificateValidation: "aws:acm/certificateValidation:CertificateValidation",
    route53Record: "aws:route53/record:Record",
    healthCheck: "aws:route53/healthCheck:HealthCheck",
    // Load balancing and content delivery (`aws.alb.*` are aliases of `aws.lb.*`, recorded under their own tokens)
    loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    albLoadBalancer: "aws:alb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    albTargetGroup: "aws:alb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    cloudfrontDistribution: "aws:cloudfront/distribution:Distribution",
    cloudfrontOriginAccessControl: "aws:cloudfront/originAccessControl:OriginAccessControl",
    // Compute and scaling
    autoscalingGroup: "aws:autoscaling/group:Group",
    autoscalingPolicy: "aws:autoscaling/policy:Policy",
    autoscalingAttachment: "aws:autoscaling/attachment:Attachment",
    autoscalingTrafficSourceAttachment: "aws:autoscaling/trafficSourceAttachment:TrafficSourceAttachment",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    ec2Instance: "aws:ec2/instance:Instance",
    lambdaFunction: "aws:lambda/function:Function",
    lambdaPermission: "aws:lambda/permission:Permission",
    // Network
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    internetGateway: "aws:ec2/internetGateway:InternetGateway",
    natGateway: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    routeTable: "aws:ec2/routeTable:RouteTable",
    routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    defaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    securityGroupIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    securityGroupEgressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    flowLog: "aws:ec2/flowLog:FlowLog",
    // Database and cache
    dbInstance: "aws:rds/instance:Instance",
    dbBackupReplication: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    dbEventSubscription: "aws:rds/eventSubscription:EventSubscription",
    dbParameterGroup: "aws:rds/parameterGroup:ParameterGroup",
    dbSubnetGroup: "aws:rds/subnetGroup:SubnetGroup",
    cache: "aws:elasticache/replicationGroup:ReplicationGroup",
    cacheCluster: "aws:elasticache/cluster:Cluster",
    cacheSubnetGroup: "aws:elasticache/subnetGroup:SubnetGroup",
    // Storage (the V2 names are the older provider's, still accepted)
    bucket: "aws:s3/bucket:Bucket",
    bucketV2: "aws:s3/bucketV2:BucketV2",
    bucketAcl: "aws:s3/bucketAcl:BucketAcl",
    bucketAclV2: "aws:s3/bucketAclV2:BucketAclV2",
    bucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
    bucketVersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    bucketEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    bucketEncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    bucketLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketLifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    bucketLogging: "aws:s3/bucketLogging:BucketLogging",
    bucketLoggingV2: "aws:s3/bucketLoggingV2:BucketLoggingV2",
    bucketObjectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    bucketObjectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    bucketOwnershipControls: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketReplication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    // Backups
    backupPlan: "aws:backup/plan:Plan",
    backupSelection: "aws:backup/selection:Selection",
    backupVault: "aws:backup/vault:Vault",
    backupVaultLock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    backupVaultNotifications: "aws:backup/vaultNotifications:VaultNotifications",
    restoreTestingPlan: "aws:backup/restoreTestingPlan:RestoreTestingPlan",
    restoreTestingSelection: "aws:backup/restoreTestingSelection:RestoreTestingSelection",
    // Images
    repository: "aws:ecr/repository:Repository",
    repositoryLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    registryReplication: "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    repositoryCreationTemplate: "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
    // Keys, secrets, identity
    kmsKey: "aws:kms/key:Key",
    kmsReplicaKey: "aws:kms/replicaKey:ReplicaKey",
    kmsKeyPolicy: "aws:kms/keyPolicy:KeyPolicy",
    kmsAlias: "aws:kms/alias:Alias",
    kmsGrant: "aws:kms/grant:Grant",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    iamRole: "aws:iam/role:Role",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    iamPolicy: "aws:iam/policy:Policy",
    iamPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
    iamUser: "aws:iam/user:User",
    iamInstanceProfile: "aws:iam/instanceProfile:InstanceProfile",
    serviceLinkedRole: "aws:iam/serviceLinkedRole:ServiceLinkedRole",
    // Monitoring, alerting, incidents
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    eventRule: "aws:cloudwatch/eventRule:EventRule",
    eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
    topic: "aws:sns/topic:Topic",
    topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
    topicSubscription: "aws:sns/topicSubscription:TopicSubscription",
    slackChannel: "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
    teamsChannel: "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration",
    contact: "aws:ssmcontacts/contact:Contact",
    contactChannel: "aws:ssmcontacts/contactChannel:ContactChannel",
    contactPlan: "aws:ssmcontacts/plan:Plan",
    responsePlan: "aws:ssmincidents/responsePlan:ResponsePlan",
    // Jobs, drills, failover
    schedule: "aws:scheduler/schedule:Schedule",
    stateMachine: "aws:sfn/stateMachine:StateMachine",
    ssmDocument: "aws:ssm/document:Document",
    ssmAssociation: "aws:ssm/association:Association",
    fisExperimentTemplate: "aws:fis/experimentTemplate:ExperimentTemplate",
    regionSwitchPlan: "aws:arcregionswitch/plan:Plan",
} as const;

const A = AWS_TYPES;

/**
 * What a policy rule matches (the pack's `T`, policies/rules/common.ts): one resource under every
 * token it can be declared with (the S3 V2 names, the `aws.alb` aliases), so that a rule also checks a
 * program written with the other name.
 */
export const RULE_TYPES = {
    backupPlan: A.backupPlan,
    backupVault: A.backupVault,
    backupVaultLock: A.backupVaultLock,
    backupSelection: A.backupSelection,
    bucket: [A.bucket, A.bucketV2],
    bucketVersioning: [A.bucketVersioning, A.bucketVersioningV2],
    bucketEncryption: [A.bucketEncryption, A.bucketEncryptionV2],
    bucketPublicAccessBlock: A.bucketPublicAccessBlock,
    bucketPolicy: A.bucketPolicy,
    bucketLifecycle: [A.bucketLifecycle, A.bucketLifecycleV2],
    bucketReplication: A.bucketReplication,
    dbInstance: A.dbInstance,
    dbBackupReplication: A.dbBackupReplication,
    dbEventSubscription: A.dbEventSubscription,
    cache: A.cache,
    logGroup: A.logGroup,
    metricAlarm: A.metricAlarm,
    compositeAlarm: A.compositeAlarm,
    repository: A.repository,
    repositoryLifecycle: A.repositoryLifecycle,
    registryReplication: A.registryReplication,
    asg: A.autoscalingGroup,
    asgAttachment: [A.autoscalingAttachment, A.autoscalingTrafficSourceAttachment],
    subnet: A.subnet,
    loadBalancer: [A.loadBalancer, A.albLoadBalancer],
    targetGroup: [A.targetGroup, A.albTargetGroup],
    route53Record: A.route53Record,
    schedule: A.schedule,
    stateMachine: A.stateMachine,
    bucketLogging: [A.bucketLogging, A.bucketLoggingV2],
    kmsAlias: A.kmsAlias,
    launchTemplate: A.launchTemplate,
    healthCheck: A.healthCheck,
    kmsKey: A.kmsKey,
    kmsReplicaKey: A.kmsReplicaKey,
    secret: A.secret,
    topic: A.topic,
    topicSubscription: A.topicSubscription,
    slackChannel: A.slackChannel,
} as const;

/** One token, or every token of one resource (a {@link RULE_TYPES} entry). */
export type TypeSelector = string | readonly string[];

/** Whether a type token is the one, or one of the several, selected. */
export const isOneOf = (type: string, types: TypeSelector): boolean => (typeof types === "string" ? type === types : types.includes(type));

/** The resources of the selected type(s), in their order. */
export function ofType<R extends { type: string }>(resources: readonly R[], types: TypeSelector): R[] {
    return resources.filter((r) => isOneOf(r.type, types));
}

/** Whether any resource of the selected type(s) passes `test` (any at all without one). */
export function hasType<R extends { type: string }>(resources: readonly R[], types: TypeSelector, test: (r: R) => boolean = () => true): boolean {
    return resources.some((r) => isOneOf(r.type, types) && test(r));
}
