import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { evaluateStack, RecordedResource } from "../../offline/mock-runtime";
import { checkAwsRules } from "../../offline/aws-rules";
import { rules as route53Rules, sharedRecords } from "../../offline/aws-rules/route53-acm";
import { stack } from "../support/stacks";
import { violationsOf, ruleIds } from "../support/aws-rules";
import { AWS_TYPES } from "../../policies/aws-types";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program).then(ruleIds);

const ZONE = "Z0123456789ABCDEFGHIJ";

/** A certificate validated by DNS, as the edge component declares it; `records` validation records of it. */
function validatedCertificate(region: string, records: number, fqdn?: string) {
    return () => {
        const p = new aws.Provider("site", { region: region as aws.Region });
        const certificate = new aws.acm.Certificate("cert", { domainName: "genie.example.com", validationMethod: "DNS" }, { provider: p });
        const option = certificate.domainValidationOptions.apply((o) => o[0]);
        const declared = Array.from({ length: records }, (_, i) =>
            new aws.route53.Record(`validation-${i}`, {
                zoneId: ZONE,
                name: option.resourceRecordName,
                type: option.resourceRecordType,
                records: [option.resourceRecordValue],
                ttl: 300,
                allowOverwrite: true,
            }, { provider: p }));
        new aws.acm.CertificateValidation("cert", {
            certificateArn: certificate.arn,
            validationRecordFqdns: [fqdn ?? (declared[0] ? declared[0].fqdn : option.resourceRecordName.apply((n) => n.replace(/\.$/, "")))],
        }, { provider: p });
    };
}

describe("offline AWS rules: Route 53 and ACM", () => {
    it("refuses a record that another resource of the evaluation also declares, with or without allowOverwrite", async () => {
        expect(await refusals(validatedCertificate("us-east-1", 2))).to.deep.equal(["route53-record-one-owner"]);
        expect(await refusals(validatedCertificate("us-east-1", 1))).to.deep.equal([]);
        // The two halves of a failover pair are two record sets (distinct set identifiers).
        expect(await refusals(() => {
            const p = new aws.Provider("site", { region: "us-east-1" });
            for (const role of ["PRIMARY", "SECONDARY"]) {
                new aws.route53.Record(`failover-${role}`, {
                    zoneId: ZONE, name: "genie.example.com", type: "A", setIdentifier: role,
                    failoverRoutingPolicies: [{ type: role }], aliases: [{ name: `${role}.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K", evaluateTargetHealth: true }],
                }, { provider: p });
            }
        })).to.deep.equal([]);
    });

    it("finds a record two stacks both declare (the original edge: each stack wrote the shared ACM validation record)", async () => {
        const production = await evaluateStack("production", { program: validatedCertificate("us-east-1", 1) });
        const dr = await evaluateStack("dr", { program: validatedCertificate("us-west-2", 1), stackReference: {} });
        const shared = sharedRecords([production, dr]);
        expect([...shared.values()]).to.deep.equal([["production:validation-0", "dr:validation-0"]]);
        // A dr stack that validates through the production stack's record declares none.
        const drShared = await evaluateStack("dr", { program: validatedCertificate("us-west-2", 0), stackReference: {} });
        expect(sharedRecords([production, drShared]).size).to.equal(0);
    });

    it("a dr evaluation refuses a record the production stack already owns (what the original dr edge wrote)", async () => {
        const production = await stack("production");
        const dr = await stack("dr");
        const owned = production.resources.find((r) => r.type === AWS_TYPES.route53Record && /certificate-validation/.test(r.name))!;
        // The original dr edge: its own resource for the same validation record, allowOverwrite on.
        const drCopy: RecordedResource = { ...owned, urn: owned.urn.replace("urn:pulumi:production::", "urn:pulumi:dr::").replace("genie-primary-edge", "genie-dr-edge"), name: "genie-dr-edge-certificate-validation" };
        const found = checkAwsRules([...dr.resources, drCopy], route53Rules, {}, production.resources);
        expect(found.map((v) => `${v.rule} ${v.name}`)).to.deep.equal(["route53-record-one-owner genie-dr-edge-certificate-validation"]);
        expect(found[0].message).to.match(/allowOverwrite both resources own it/);
        // The dr stack as declared writes none.
        expect(checkAwsRules(dr.resources, route53Rules, {}, production.resources)).to.deep.equal([]);
    });

    it("refuses a certificate validation whose record FQDNs miss the certificate's validation record", async () => {
        expect(await refusals(validatedCertificate("us-east-1", 0, "_elsewhere.genie.example.com"))).to.deep.equal(["acm-validation-record-fqdns"]);
        expect(await refusals(validatedCertificate("us-east-1", 0))).to.deep.equal([]);
    });
});
