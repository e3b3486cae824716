/** Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts). */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule } from "./types";
import { list } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const RECORD = AWS_TYPES.route53Record;
const CERTIFICATE = AWS_TYPES.certificate;
const CERTIFICATE_VALIDATION = AWS_TYPES.certificateValidation;

const fqdn = (name: unknown) => String(name ?? "").replace(/\.$/, "").toLowerCase();

/**
 * What identifies a Route 53 record set: hosted zone, name (case-insensitive, without the final
 * dot), type and set identifier. Two resources with the same key are one record in Route 53.
 */
export function recordKey(r: RecordedResource): string {
    return [r.props.zoneId, fqdn(r.props.name), r.props.type, r.props.setIdentifier ?? ""].join(" ");
}

const ONE_OWNER_SOURCE =
    'Provider doc, aws.route53.Record allowOverwrite: "Allow creation of this record to overwrite an existing record, if any. This does not affect the ability to update the record using this provider and does not prevent other resources within this provider or manual Route 53 changes outside this provider from overwriting this record ... This configuration is not recommended for most environments"; Route 53 ChangeResourceRecordSets: a CREATE of an existing record set fails (InvalidChangeBatch, "it already exists"), and a DELETE by either owner removes the record the other relies on';

/**
 * Records of several evaluations (stacks) that are the same Route 53 record: key → the stacks and
 * resource names that declare it. A record must have one owner: with two, the second create fails
 * or (with allowOverwrite) destroying either stack deletes what the other needs.
 */
export function sharedRecords(evaluations: { stack: string; resources: readonly RecordedResource[] }[]): Map<string, string[]> {
    const owners = new Map<string, string[]>();
    for (const ev of evaluations) {
        for (const r of ev.resources.filter((x) => x.custom && x.type === RECORD)) {
            owners.set(recordKey(r), [...(owners.get(recordKey(r)) ?? []), `${ev.stack}:${r.name}`]);
        }
    }
    return new Map([...owners].filter(([, names]) => names.length > 1));
}

export const rules: AwsRule[] = [
    {
        id: "route53-record-one-owner",
        types: [RECORD],
        source: ONE_OWNER_SOURCE,
        check(record, ctx) {
            const others = ctx.ofType(RECORD).filter((r) => r !== record && recordKey(r) === recordKey(record));
            if (others.length === 0) return undefined;
            // Reported once: on this stack's record when another stack already owns it, else on the later declaration.
            const first = ctx.ofType(RECORD).find((r) => recordKey(r) === recordKey(record));
            if (!others.some((r) => ctx.declaredElsewhere(r)) && first === record) return undefined;
            const overwrite = [record, ...others].some((r) => r.props.allowOverwrite === true || r.props.allowOverwrite === "true");
            return (
                `${fqdn(record.props.name)} ${record.props.type} is also declared by ${others.map((r) => r.name).join(", ")}: ` +
                (overwrite
                    ? "with allowOverwrite both resources own it, and deleting either deletes the record the other relies on"
                    : "the second create fails because the record already exists") +
                "; give the record one owner"
            );
        },
    },
    {
        id: "acm-validation-record-fqdns",
        types: [CERTIFICATE_VALIDATION],
        source:
            'terraform-provider-aws internal/service/acm/certificate_validation.go: every DNS validation option of the certificate must be among validation_record_fqdns (trailing dot trimmed), else "missing %s DNS validation record: %s"',
        check(validation, ctx) {
            const fqdns = list<string>(validation.props.validationRecordFqdns);
            if (fqdns.length === 0) return undefined;
            const certificate = ctx.resolve(validation.props.certificateArn, CERTIFICATE);
            if (!certificate) return undefined;
            const given = new Set(fqdns.map((f) => String(f).replace(/\.$/, "")));
            const missing = list<any>(certificate.outputs.domainValidationOptions)
                .filter((o) => typeof o.resourceRecordName === "string" && !given.has(o.resourceRecordName.replace(/\.$/, "")))
                .map((o) => `${o.domainName}: ${o.resourceRecordName.replace(/\.$/, "")}`);
            return missing.length > 0 ? `missing DNS validation record ${missing.join(", ")} among validationRecordFqdns (${[...given].join(", ")})` : undefined;
        },
    },
];
