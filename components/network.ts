import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "./iam";

export interface NetworkArgs {
    /** The VPC's IPv4 block, /16 to /20. Each tier gets a /(prefix+5) per zone. */
    cidrBlock: string;
    /** Availability zones to span, at least 2: one public, app and data subnet and one NAT gateway each. */
    availabilityZoneCount: number;
    /** Days the VPC flow log group keeps its logs (the plan's 90 days). */
    flowLogRetentionDays: number;
    /** KMS key that encrypts the flow log group; CloudWatch's own key when absent. */
    logsKmsKeyArn?: pulumi.Input<string>;
}

/** The three subnet tiers, in the order their CIDR blocks are carved from the VPC. */
export const SUBNET_TIERS = ["public", "app", "data"] as const;
export type SubnetTier = (typeof SUBNET_TIERS)[number];

/** Zones a tier can hold: the tier's slice of the VPC is cut into this many equal blocks. */
const MAX_ZONES = 8;

/**
 * A site's network: a VPC over N availability zones with three subnet tiers.
 * - public: the ALB and one NAT gateway per zone (a zone's loss does not cut the others' egress);
 * - app: private subnets of the app group, egress through their own zone's NAT gateway;
 * - data: isolated subnets of the database and cache, with no route out of the VPC at all.
 * The default security group is emptied, and every flow is logged to a log group kept `flowLogRetentionDays`.
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly vpcCidrBlock: pulumi.Output<string>;
    readonly availabilityZones: pulumi.Output<string>[];
    readonly publicSubnetIds: pulumi.Output<string>[];
    readonly appSubnetIds: pulumi.Output<string>[];
    readonly dataSubnetIds: pulumi.Output<string>[];
    readonly natGatewayIds: pulumi.Output<string>[];
    readonly flowLogGroupName: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:network:Network", name, {}, opts);
        if (!Number.isInteger(args.availabilityZoneCount) || args.availabilityZoneCount < 2 || args.availabilityZoneCount > MAX_ZONES) {
            throw new Error(`Network ${name}: availabilityZoneCount must be 2 to ${MAX_ZONES}, got ${args.availabilityZoneCount}`);
        }
        const parent = { parent: this };
        const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
            cidrBlock: args.cidrBlock,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            tags: { Name: `${name}-vpc` },
        }, parent);
        this.vpcId = vpc.id;
        this.vpcCidrBlock = vpc.cidrBlock;

        // Nothing may use the default security group: it loses all its rules.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: { Name: `${name}-default-deny` } }, parent);

        const internetGateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, parent);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
            tags: { Name: `${name}-public` },
        }, parent);
        const dataRoutes = new aws.ec2.RouteTable(`${name}-data-rt`, {
            vpcId: vpc.id,
            routes: [], // isolated: local VPC traffic only
            tags: { Name: `${name}-data` },
        }, parent);

        this.availabilityZones = [];
        this.publicSubnetIds = [];
        this.appSubnetIds = [];
        this.dataSubnetIds = [];
        this.natGatewayIds = [];
        for (let zone = 0; zone < args.availabilityZoneCount; zone++) {
            const availabilityZone = zones.names.apply((names) => {
                if (zone >= names.length) {
                    throw new Error(`Network ${name}: the region has ${names.length} available zones, ${args.availabilityZoneCount} were asked for`);
                }
                return names[zone];
            });
            this.availabilityZones.push(availabilityZone);
            const subnet = (tier: SubnetTier) =>
                new aws.ec2.Subnet(`${name}-${tier}-${zone}`, {
                    vpcId: vpc.id,
                    availabilityZone,
                    cidrBlock: subnetCidr(args.cidrBlock, tier, zone),
                    mapPublicIpOnLaunch: false,
                    tags: { Name: `${name}-${tier}-${zone}`, tier },
                }, parent);

            const publicSubnet = subnet("public");
            new aws.ec2.RouteTableAssociation(`${name}-public-${zone}`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, parent);
            const natAddress = new aws.ec2.Eip(`${name}-nat-${zone}`, { domain: "vpc", tags: { Name: `${name}-nat-${zone}` } }, parent);
            const nat = new aws.ec2.NatGateway(`${name}-nat-${zone}`, {
                subnetId: publicSubnet.id,
                allocationId: natAddress.id,
                tags: { Name: `${name}-nat-${zone}` },
            }, { parent: this, dependsOn: [internetGateway] });

            const appSubnet = subnet("app");
            const appRoutes = new aws.ec2.RouteTable(`${name}-app-rt-${zone}`, {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
                tags: { Name: `${name}-app-${zone}` },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-app-${zone}`, { subnetId: appSubnet.id, routeTableId: appRoutes.id }, parent);

            const dataSubnet = subnet("data");
            new aws.ec2.RouteTableAssociation(`${name}-data-${zone}`, { subnetId: dataSubnet.id, routeTableId: dataRoutes.id }, parent);

            this.publicSubnetIds.push(publicSubnet.id);
            this.appSubnetIds.push(appSubnet.id);
            this.dataSubnetIds.push(dataSubnet.id);
            this.natGatewayIds.push(nat.id);
        }

        // VPC flow logs: every accepted and rejected flow, kept for the plan's log retention.
        const flowLogGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, {
            name: `/genie/${name}/vpc-flow-logs`,
            retentionInDays: args.flowLogRetentionDays,
            kmsKeyId: args.logsKmsKeyArn,
        }, parent);
        this.flowLogGroupName = flowLogGroup.name;
        const flowLogRole = new aws.iam.Role(`${name}-flow-logs`, {
            assumeRolePolicy: serviceTrustPolicy("vpc-flow-logs.amazonaws.com"),
        }, parent);
        new aws.iam.RolePolicy(`${name}-flow-logs`, {
            role: flowLogRole.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [flowLogGroup.arn, pulumi.interpolate`${flowLogGroup.arn}:*`],
                }],
            }),
        }, parent);
        new aws.ec2.FlowLog(`${name}-flow-log`, {
            vpcId: vpc.id,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: flowLogGroup.arn,
            iamRoleArn: flowLogRole.arn,
            maxAggregationInterval: 60,
        }, parent);

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            appSubnetIds: this.appSubnetIds,
            dataSubnetIds: this.dataSubnetIds,
            flowLogGroupName: this.flowLogGroupName,
        });
    }
}

/**
 * The CIDR block of one subnet: the VPC is cut into 4 tier slices (one spare), each slice into
 * {@link MAX_ZONES} zone blocks. A /16 VPC gives /21 subnets (2,048 addresses each).
 */
export function subnetCidr(vpcCidr: string, tier: SubnetTier, zone: number): string {
    const [base, prefixText] = vpcCidr.split("/");
    const prefix = Number(prefixText);
    const octets = base.split(".").map(Number);
    const network = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const newPrefix = prefix + 5; // 2 bits of tier + 3 bits of zone
    const index = SUBNET_TIERS.indexOf(tier) * MAX_ZONES + zone;
    const address = network + index * 2 ** (32 - newPrefix);
    return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".") + `/${newPrefix}`;
}
