import { expect } from "chai";
import { SUBNET_TIERS, subnetCidr } from "../components/network";
import { DR_PLAN } from "../infra/dr-plan";
import { childrenOf, ofType, one, resolve, stack, stackWith } from "./support/stacks";
import { AWS_TYPES } from "../policies/aws-types";

describe("network component", () => {
    it("spans 3 availability zones with a public, app and data subnet in each, carved without overlap", async () => {
        const ev = await stack("production");
        const subnets = ofType(ev, AWS_TYPES.subnet);
        expect(subnets).to.have.length(9);
        for (const tier of SUBNET_TIERS) {
            const inTier = subnets.filter((s) => s.props.tags.tier === tier);
            expect(inTier.map((s) => s.props.availabilityZone).sort()).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
        }
        const cidrs = subnets.map((s) => s.props.cidrBlock);
        expect(new Set(cidrs).size).to.equal(9);
        for (const cidr of cidrs) expect(cidr).to.match(/^10\.20\.\d+\.0\/21$/);
        expect(subnets.every((s) => s.props.mapPublicIpOnLaunch === false)).to.equal(true);
    });

    it("gives each zone's app subnet a route out through its own zone's NAT gateway", async () => {
        const ev = await stack("production");
        const nats = ofType(ev, AWS_TYPES.natGateway);
        expect(nats).to.have.length(3);
        for (let zone = 0; zone < 3; zone++) {
            const table = one(ev, AWS_TYPES.routeTable, `genie-primary-network-app-rt-${zone}`);
            const nat = resolve(ev, table.props.routes[0].natGatewayId)!;
            expect(nat.name).to.equal(`genie-primary-network-nat-${zone}`);
            const natSubnet = resolve(ev, nat.props.subnetId)!;
            const appAssociation = one(ev, AWS_TYPES.routeTableAssociation, `genie-primary-network-app-${zone}`);
            const appSubnet = resolve(ev, appAssociation.props.subnetId)!;
            expect(natSubnet.props.availabilityZone).to.equal(appSubnet.props.availabilityZone);
            expect(natSubnet.props.tags.tier).to.equal("public");
        }
    });

    it("keeps the data subnets isolated: their route table has no route out of the VPC", async () => {
        const ev = await stack("production");
        const dataTable = one(ev, AWS_TYPES.routeTable, "genie-primary-network-data-rt");
        expect(dataTable.props.routes ?? []).to.deep.equal([]);
        const associations = ofType(ev, AWS_TYPES.routeTableAssociation).filter((a) => /-data-\d$/.test(a.name));
        expect(associations).to.have.length(3);
        for (const a of associations) expect(resolve(ev, a.props.routeTableId)!.name).to.equal(dataTable.name);
    });

    it("logs every flow of the VPC to a log group kept for the plan's 90 days", async () => {
        const ev = await stack("production");
        const flowLog = one(ev, AWS_TYPES.flowLog, "genie-primary-network-flow-log");
        expect(flowLog.props.trafficType).to.equal("ALL");
        const group = one(ev, AWS_TYPES.logGroup, "genie-primary-network-flow-logs");
        expect(flowLog.props.logDestination).to.equal(group.outputs.arn);
        expect(group.props.retentionInDays).to.equal(DR_PLAN.logRetentionDays);
        const policy = JSON.parse(one(ev, AWS_TYPES.iamRolePolicy, "genie-primary-network-flow-logs").props.policy);
        expect(policy.Statement[0].Resource).to.deep.equal([group.outputs.arn, `${group.outputs.arn}:*`]);
    });

    it("empties the default security group", async () => {
        const ev = await stack("production");
        const sg = one(ev, AWS_TYPES.defaultSecurityGroup, "genie-primary-network-default-sg");
        expect(sg.props.ingress ?? []).to.deep.equal([]);
        expect(sg.props.egress ?? []).to.deep.equal([]);
    });

    it("follows availabilityZoneCount from config", async () => {
        const ev = await stackWith("production", { config: { availabilityZoneCount: "2" } });
        expect(ofType(ev, AWS_TYPES.subnet)).to.have.length(6);
        expect(ofType(ev, AWS_TYPES.natGateway)).to.have.length(2);
    });

    it("puts the DR site's network in us-west-2 under its own CIDR", async () => {
        const ev = await stack("dr");
        const network = one(ev, "genie:network:Network", "genie-dr-network");
        const vpc = one(ev, AWS_TYPES.vpc, "genie-dr-network-vpc");
        expect(vpc.props.cidrBlock).to.equal("10.30.0.0/16");
        const regions = new Set(childrenOf(ev, network).filter((r) => r.custom).map((r) => r.region));
        expect([...regions]).to.deep.equal(["us-west-2"]);
    });

    it("carves subnet blocks by tier and zone", () => {
        expect(subnetCidr("10.20.0.0/16", "public", 0)).to.equal("10.20.0.0/21");
        expect(subnetCidr("10.20.0.0/16", "public", 2)).to.equal("10.20.16.0/21");
        expect(subnetCidr("10.20.0.0/16", "app", 0)).to.equal("10.20.64.0/21");
        expect(subnetCidr("10.20.0.0/16", "data", 1)).to.equal("10.20.136.0/21");
        expect(subnetCidr("172.16.0.0/20", "data", 7)).to.equal("172.16.11.128/25");
    });
});

describe("security groups", () => {
    /** Every ingress rule of a group, as "port from <group tier or CIDR>". */
    async function ingressOf(tier: string) {
        const ev = await stack("production");
        const group = one(ev, AWS_TYPES.securityGroup, `genie-primary-sg-${tier}`);
        return ofType(ev, AWS_TYPES.securityGroupIngressRule)
            .filter((r) => r.props.securityGroupId === group.id)
            .map((r) => `${r.props.fromPort}-${r.props.toPort} from ${r.props.cidrIpv4 ?? resolve(ev, r.props.referencedSecurityGroupId)!.props.tags.tier}`)
            .sort();
    }

    it("admits the internet to the load balancer only, on 80 and 443", async () => {
        expect(await ingressOf("alb")).to.deep.equal(["443-443 from 0.0.0.0/0", "80-80 from 0.0.0.0/0"]);
    });

    it("admits only the load balancer to the app, on port 4000", async () => {
        expect(await ingressOf("app")).to.deep.equal(["4000-4000 from alb"]);
    });

    it("admits only the app group to the database (5432) and the cache (6379)", async () => {
        expect(await ingressOf("database")).to.deep.equal(["5432-5432 from app"]);
        expect(await ingressOf("cache")).to.deep.equal(["6379-6379 from app"]);
    });

    it("lets the database and cache send nothing out", async () => {
        const ev = await stack("production");
        const silent = ["database", "cache"].map((t) => one(ev, AWS_TYPES.securityGroup, `genie-primary-sg-${t}`).id);
        const egress = ofType(ev, AWS_TYPES.securityGroupEgressRule).filter((r) => silent.includes(r.props.securityGroupId));
        expect(egress).to.deep.equal([]);
    });
});
