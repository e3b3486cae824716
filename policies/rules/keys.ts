/**
 * "Environment Variables: Encrypted storage" and the backups themselves: what the stack encrypts with
 * a KMS key uses a CUSTOMER-managed key that this stack declares (its key policy is ours: who may
 * decrypt a backup, and that it survives the account's other keys). An AWS-managed key (aws/backup,
 * aws/s3) or a key from nowhere passes a "has a key" check but not this one.
 */
import { asArray, fix, guard, isOneOf, known, label, PolicyResource, pointsAt, Rule, StackValidationArgs, T, UNKNOWN } from "./common";
import { isAwsManagedAlias } from "./backup";

/** (resource, property, key reference) of every KMS key reference this rule checks. */
function keyReferences(args: StackValidationArgs): { r: PolicyResource; prop: string; key: unknown }[] {
    const out: { r: PolicyResource; prop: string; key: unknown }[] = [];
    for (const r of args.resources) {
        if (r.type === T.backupVault) out.push({ r, prop: "kmsKeyArn", key: known(() => r.props.kmsKeyArn) });
        if (isOneOf(r.type, T.bucketEncryption)) {
            const rules = known(() => asArray<any>(r.props.rules));
            if (rules === UNKNOWN) out.push({ r, prop: "rules", key: UNKNOWN });
            else for (const x of rules) {
                const algo = known(() => x.applyServerSideEncryptionByDefault?.sseAlgorithm);
                if (typeof algo === "string" && algo.startsWith("aws:kms")) out.push({ r, prop: "rules", key: known(() => x.applyServerSideEncryptionByDefault?.kmsMasterKeyId) });
            }
        }
    }
    return out;
}

export const customerManagedKeys: Rule = {
    name: "customer-managed-keys",
    description:
        'Configuration, "Encrypted storage": every backup vault and every SSE-KMS bucket is encrypted with a customer-managed KMS key declared in this stack (by its ARN, key id or one of its aliases), never an AWS-managed key (aws/backup, aws/s3: used when no key is named) or a key the stack does not own.',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const keys = args.resources.filter((r) => r.type === T.kmsKey || r.type === T.kmsReplicaKey);
        const aliases = args.resources.filter((r) => r.type === T.kmsAlias);
        for (const { r, prop, key } of keyReferences(args)) {
            guard(
                report,
                `${label(r)}: its KMS key`,
                () => {
                    if (key === undefined || key === null || key === "") {
                        report(`${label(r)}: no KMS key named, so AWS uses its AWS-managed key${fix("name the site's customer-managed key (its arn)")}`, r.urn);
                        return;
                    }
                    if (isAwsManagedAlias(key)) {
                        report(`${label(r)}: encrypted with the AWS-managed key ${key}${fix("name the site's customer-managed key (its arn)")}`, r.urn);
                        return;
                    }
                    const refs = (k: PolicyResource) => ["arn", "keyId", "id"].map((p) => known(() => k.props[p])).filter((v) => v !== UNKNOWN && v !== undefined);
                    if (key !== UNKNOWN && keys.some((k) => refs(k).includes(key))) return;
                    if (key !== UNKNOWN && aliases.some((a) => [known(() => a.props.arn), known(() => a.props.name)].includes(key as string))) return;
                    if (key === UNKNOWN) {
                        if ([...keys, ...aliases].some((k) => pointsAt(r, prop, UNKNOWN, k) === true)) return;
                        throw new Error(`${prop} can't be known during preview`);
                    }
                    report(`${label(r)}: KMS key ${String(key)} is not a key this stack declares (customer-managed)${fix("use the site's aws.kms.Key (its arn) declared in this stack")}`, r.urn);
                },
                r.urn,
            );
        }
    },
};

export const KEY_RULES: Rule[] = [customerManagedKeys];
