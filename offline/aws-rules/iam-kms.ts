// Over 300 lines on purpose: the IAM and KMS rules share one small policy evaluator (principals, actions,
// conditions) that they all call; a candidate for a split into the evaluator and the rules.
/**
 * Rules of IAM and KMS that AWS or the provider enforces at `pulumi up` (see ./types.ts), and the
 * small policy evaluator they share: principals that must exist before a grant or key policy names
 * them, the key access an Auto Scaling group needs for volumes encrypted with a customer managed key,
 * the key access each AWS service that publishes to an encrypted SNS topic needs (with the condition
 * keys that service really sends), the key access CloudWatch Logs and log delivery need for encrypted
 * log groups and state machine logs, and the instance permissions a State Manager association needs.
 *
 * Where AWS does not refuse the input but silently drops the work (a message to an encrypted topic
 * its publisher cannot encrypt, an association whose instance cannot fetch the document), the
 * pretend AWS refuses it: a green plan must mean the alert arrives and the job runs.
 */
import { AWS_TYPES } from "../../policies/aws-types";
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, RuleContext } from "./types";
import { list, orNone } from "./values";

// ── A small IAM policy evaluator ─────────────────────────────────────────────────────────────────

export interface PolicyStatement {
    Sid?: string;
    Effect: string;
    Principal?: unknown;
    NotPrincipal?: unknown;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
}

/** One request as IAM evaluates it: who (for resource and key policies), what, on what, with which context keys. */
export interface PolicyRequest {
    action: string;
    /** Checked against Resource/NotResource; key policies use "*" (the key itself). */
    resource?: string;
    /** The caller, for resource-based and key policies: a service principal or an IAM ARN. Omit for identity policies. */
    principal?: { service?: string; arn?: string };
    /** Condition keys present in the request (absent keys are simply not listed). */
    context?: Record<string, string | string[] | boolean | undefined>;
}


/** The statements of a policy document given as JSON text or as an object; [] when unreadable. */
export function policyStatements(policy: unknown): PolicyStatement[] {
    let doc: any = policy;
    if (typeof policy === "string") {
        try {
            doc = JSON.parse(policy);
        } catch {
            return [];
        }
    }
    return doc && typeof doc === "object" ? list(doc.Statement) : [];
}

/** IAM wildcard matching: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
    const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${escaped}$`, ignoreCase ? "si" : "s").test(value);
}

function principalMatches(principal: unknown, who: PolicyRequest["principal"]): boolean {
    if (principal === "*") return true;
    if (!who || principal === undefined || principal === null || typeof principal !== "object") return false;
    const p = principal as Record<string, unknown>;
    if (who.service && list(p.Service as string | string[]).some((s) => String(s).toLowerCase() === who.service!.toLowerCase())) return true;
    // An account (id or :root) in a key policy delegates to IAM policies, evaluated on their own: it
    // does not by itself let a role of the account (or a service-linked role) use the key.
    if (who.arn && list(p.AWS as string | string[]).some((a) => a === "*" || a === who.arn)) return true;
    return false;
}

const NEGATED = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"]);

function compare(operator: string, wanted: string[], actual: string): boolean | undefined {
    switch (operator) {
        case "StringEquals":
            return wanted.includes(actual);
        case "StringNotEquals":
            return !wanted.includes(actual);
        case "StringEqualsIgnoreCase":
            return wanted.some((w) => w.toLowerCase() === actual.toLowerCase());
        case "StringNotEqualsIgnoreCase":
            return !wanted.some((w) => w.toLowerCase() === actual.toLowerCase());
        case "StringLike":
        case "ArnEquals":
        case "ArnLike":
            return wanted.some((w) => wildcardMatch(w, actual));
        case "StringNotLike":
        case "ArnNotEquals":
        case "ArnNotLike":
            return !wanted.some((w) => wildcardMatch(w, actual));
        case "Bool":
            return wanted.some((w) => w.toLowerCase() === actual.toLowerCase());
        default:
            return undefined; // an operator this evaluator does not know: the statement is not assumed to apply
    }
}

/**
 * Whether a statement's Condition block holds for the request's context keys. IAM: "If the key that
 * you specify in a policy condition is not present in the request context, the values do not match"
 * (the condition is false), except with `...IfExists`, negated operators and `ForAllValues:`.
 */
export function conditionHolds(condition: PolicyStatement["Condition"], context: PolicyRequest["context"] = {}): boolean {
    const lookup = (key: string) => {
        const found = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
        return found === undefined ? undefined : context[found];
    };
    for (const [rawOperator, entries] of Object.entries(condition ?? {})) {
        let operator = rawOperator;
        let set: "any" | "all" | undefined;
        if (operator.startsWith("ForAnyValue:")) [set, operator] = ["any", operator.slice("ForAnyValue:".length)];
        if (operator.startsWith("ForAllValues:")) [set, operator] = ["all", operator.slice("ForAllValues:".length)];
        const ifExists = operator.endsWith("IfExists");
        if (ifExists) operator = operator.slice(0, -"IfExists".length);
        for (const [key, expected] of Object.entries(entries ?? {})) {
            const actual = lookup(key);
            const wanted = list(expected as unknown).map(String);
            if (operator === "Null") {
                if (wanted.some((w) => (w === "true") !== (actual === undefined))) return false;
                continue;
            }
            if (actual === undefined) {
                if (ifExists || NEGATED.has(operator) || set === "all") continue;
                return false;
            }
            const actuals = list(actual as string | string[] | boolean).map(String);
            const results = actuals.map((a) => compare(operator, wanted, a));
            if (results.some((r) => r === undefined)) return false;
            const ok = set === "all" ? results.every(Boolean) : results.some(Boolean);
            if (!ok) return false;
        }
    }
    return true;
}

function statementMatches(st: PolicyStatement, req: PolicyRequest): boolean {
    if (req.principal) {
        if (st.Principal !== undefined && !principalMatches(st.Principal, req.principal)) return false;
        if (st.NotPrincipal !== undefined && principalMatches(st.NotPrincipal, req.principal)) return false;
        if (st.Principal === undefined && st.NotPrincipal === undefined) return false;
    }
    const actionIn = (actions: string | string[] | undefined) => list(actions).some((a) => wildcardMatch(a, req.action, true));
    if (st.Action !== undefined && !actionIn(st.Action)) return false;
    if (st.NotAction !== undefined && actionIn(st.NotAction)) return false;
    if (st.Action === undefined && st.NotAction === undefined) return false;
    const resource = req.resource ?? "*";
    const resourceIn = (resources: string | string[] | undefined) => list(resources).some((r) => r === "*" || resource === "*" || wildcardMatch(r, resource));
    if (st.Resource !== undefined && !resourceIn(st.Resource)) return false;
    if (st.NotResource !== undefined && resourceIn(st.NotResource)) return false;
    return conditionHolds(st.Condition, req.context);
}

/** IAM's decision over a set of statements: an explicit Deny wins, else an Allow is needed. */
export function evaluatePolicy(statements: readonly PolicyStatement[], req: PolicyRequest): "allow" | "deny" | "implicit-deny" {
    const matching = statements.filter((st) => statementMatches(st, req));
    if (matching.some((st) => st.Effect === "Deny")) return "deny";
    return matching.some((st) => st.Effect === "Allow") ? "allow" : "implicit-deny";
}

export const policyAllows = (statements: readonly PolicyStatement[], req: PolicyRequest) => evaluatePolicy(statements, req) === "allow";

// ── Facts about AWS the rules rely on ───────────────────────────────────────────────────────────

/**
 * AWS managed policies whose statements a rule needs, verbatim from the AWS Managed Policy Reference
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html,
 * version 3): "This required trust policy enables an instance to use Systems Manager core service functionality."
 */
export const AWS_MANAGED_POLICIES: Record<string, PolicyStatement[]> = {
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": [
        {
            Effect: "Allow",
            Action: [
                "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument",
                "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations", "ssm:ListInstanceAssociations",
                "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation",
            ],
            Resource: "*",
        },
        { Effect: "Allow", Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], Resource: "*" },
        {
            Effect: "Allow",
            Action: ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"],
            Resource: "*",
        },
    ],
};

/**
 * Service-linked role names AWS gives, by service (IAM: "the name of a service-linked role is set by
 * the service"): https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html
 * "Amazon EC2 Auto Scaling uses the service-linked role named AWSServiceRoleForAutoScaling".
 */
export const SERVICE_LINKED_ROLE_NAMES: Record<string, string> = {
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
};

/**
 * Stack config keys by which an operator states that a service-linked role already exists in the
 * account (the pretend AWS cannot see the account): `existing` means created before this deployment
 * (by another stack of the account, or by AWS when the service was first used).
 */
export const EXISTING_SERVICE_LINKED_ROLE_CONFIG: Record<string, string> = {
    autoscalingServiceLinkedRole: "autoscaling.amazonaws.com",
};

/**
 * What each AWS service that publishes to SNS sends when SNS uses the topic's key on its behalf.
 * SNS guide, "Enable compatibility between event sources from AWS services and encrypted topics"
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): the key policy must give the
 * service principal `kms:GenerateDataKey*` and `kms:Decrypt`; "Add the aws:SourceAccount and
 * aws:SourceArn condition keys ..." but "Adding the aws:SourceAccount, aws:SourceArn, and
 * aws:SourceOrgID to a AWS KMS policy is not supported for EventBridge-to-encrypted topics."
 * SNS puts the topic ARN in the encryption context (`kms:EncryptionContext:aws:sns:topicArn`, as
 * AWS's own key policy examples condition on it, e.g.
 * https://docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html).
 */
export const SNS_PUBLISHER_CONTEXT: Record<string, { sourceKeys: boolean }> = {
    "events.amazonaws.com": { sourceKeys: false },
    "cloudwatch.amazonaws.com": { sourceKeys: true },
    "events.rds.amazonaws.com": { sourceKeys: true },
    "backup.amazonaws.com": { sourceKeys: true },
};

/** The actions an encrypted topic's publisher needs on its key (SNS guide, quoted above). */
export const SNS_PUBLISHER_KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"] as const;

/**
 * The grant operations EC2 Auto Scaling's service-linked role needs on a customer managed key that
 * encrypts the volumes it launches ("Required AWS KMS key policy for use with encrypted volumes",
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html,
 * the `create-grant` example: Encrypt, Decrypt, ReEncryptFrom, ReEncryptTo, GenerateDataKey,
 * GenerateDataKeyWithoutPlaintext, DescribeKey, CreateGrant).
 */
export const AUTOSCALING_EBS_GRANT_OPERATIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"] as const;

/**
 * What CloudWatch Logs does with a log group's customer managed key, as its service principal
 * `logs.<region>.amazonaws.com`, under the encryption context `kms:EncryptionContext:aws:logs:arn` = the
 * log group's ARN. CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html): the key policy
 * statement allows `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`,
 * `kms:Describe*` with `ArnEquals`/`ArnLike` on that context key; "CloudWatch Logs must have permissions for
 * the customer managed key whenever encrypted data is requested". The cryptographic operations, which carry
 * the context, are checked (DescribeKey carries none, so a statement conditioned on the context cannot
 * allow it either: AWS's own example would fail such a check).
 */
export const LOGS_KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"] as const;

/** The SSM actions an instance needs for a State Manager association to reach it and run. */
export const SSM_ASSOCIATION_INSTANCE_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssm:ListInstanceAssociations",
    "ssm:DescribeAssociation",
    "ssm:GetDocument",
    "ssm:UpdateInstanceAssociationStatus",
] as const;

// ── Lookups over an evaluation ──────────────────────────────────────────────────────────────────

/** Resource types: policies/aws-types.ts. */
const T = AWS_TYPES;

const KEY_TYPES = [T.kmsKey, T.kmsReplicaKey];
const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws)?:(.*)$/;
const SLR_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/aws-service-role\/([^/]+)\/([^/]+)$/;

function accountOf(...arns: unknown[]): string | undefined {
    for (const a of arns) {
        const m = typeof a === "string" ? ARN.exec(a) : null;
        if (m && m[4] && m[4] !== "aws") return m[4];
    }
    return undefined;
}
function regionOf(r: RecordedResource): string | undefined {
    const m = typeof r.outputs.arn === "string" ? ARN.exec(r.outputs.arn) : null;
    return r.region ?? (m && m[3] ? m[3] : undefined);
}

/** The customer managed key a key id, key ARN, alias name or alias ARN points at, if declared here. */
export function findKey(ctx: RuleContext, ref: unknown): RecordedResource | undefined {
    if (typeof ref !== "string" || ref === "") return undefined;
    const aliasName = ref.startsWith("alias/") ? ref : /:alias\/(.+)$/.exec(ref) ? `alias/${/:alias\/(.+)$/.exec(ref)![1]}` : undefined;
    if (aliasName) {
        const alias = ctx.ofType(T.kmsAlias).find((a) => a.props.name === aliasName || a.outputs.name === aliasName);
        return alias ? findKey(ctx, alias.props.targetKeyId) : undefined;
    }
    return KEY_TYPES.flatMap((t) => ctx.ofType(t)).find((k) => k.id === ref || k.outputs.arn === ref || k.outputs.keyId === ref);
}

/** Whether a key reference names an AWS managed key (`alias/aws/...`), whose policy nobody can change. */
export const isAwsManagedKeyRef = (ref: unknown) => typeof ref === "string" && /(^|:)alias\/aws\//.test(ref);

/** The key's policy statements: its own `policy`, or a separate KeyPolicy resource's. */
export function keyPolicyOf(ctx: RuleContext, key: RecordedResource): PolicyStatement[] {
    const separate = ctx.ofType(T.kmsKeyPolicy).filter((p) => findKey(ctx, p.props.keyId) === key);
    if (separate.length > 0) return separate.flatMap((p) => policyStatements(p.props.policy));
    return policyStatements(key.props.policy);
}

/** Service-linked roles the stack's config states already exist in the account (see EXISTING_SERVICE_LINKED_ROLE_CONFIG). */
export function servicesWithExistingSlr(ctx: RuleContext): string[] {
    const config = ctx.config ?? {};
    return Object.entries(EXISTING_SERVICE_LINKED_ROLE_CONFIG)
        .filter(([key]) => Object.entries(config).some(([k, v]) => k.endsWith(`:${key}`) && v === "existing"))
        .map(([, service]) => service);
}

/** The declared ServiceLinkedRole that creates the role an ARN names, if any. */
function declaredSlr(ctx: RuleContext, service: string, name: string): RecordedResource | undefined {
    return ctx.ofType(T.serviceLinkedRole).find((r) => {
        if (r.props.awsServiceName !== service) return false;
        const suffix = r.props.customSuffix ? `_${r.props.customSuffix}` : "";
        const base = SERVICE_LINKED_ROLE_NAMES[service];
        return base ? name === `${base}${suffix}` : suffix === "" || name.endsWith(suffix);
    });
}

/**
 * Why a principal ARN named by `from` (a grant or key policy) may not exist when `from` is created,
 * or undefined when it will: a service-linked role must be created by a ServiceLinkedRole that `from`
 * is ordered after, or be stated to exist already; a role or user of this evaluation must be created
 * before `from` (an ARN built as a string carries no dependency).
 */
export function missingPrincipal(ctx: RuleContext, from: RecordedResource, arn: unknown): string | undefined {
    if (typeof arn !== "string") return undefined;
    const slr = SLR_ARN.exec(arn);
    if (slr) {
        const [, , service, name] = slr;
        const declared = declaredSlr(ctx, service, name);
        if (declared) {
            return ctx.dependsOn(from, (r) => r.urn === declared.urn)
                ? undefined
                : `names ${arn}, which ${declared.name} creates, but is not ordered after it (dependsOn): KMS may see the principal before it exists`;
        }
        if (servicesWithExistingSlr(ctx).includes(service)) return undefined;
        return (
            `names the service-linked role ${arn}, which no resource of this stack creates and the stack's config does not state exists: ` +
            `AWS creates it only when ${service} is first used, so on a fresh account KMS refuses the principal (InvalidArnException). ` +
            `Declare aws.iam.ServiceLinkedRole for ${service} and order this after it, or state that it already exists`
        );
    }
    const declared = [...ctx.ofType(T.iamRole), ...ctx.ofType(T.iamUser)].find((r) => r.outputs.arn === arn);
    if (declared && !ctx.dependsOn(from, (r) => r.urn === declared.urn)) {
        return `names ${arn} (${declared.name}) without being ordered after it: the principal may not exist yet when KMS checks it`;
    }
    return undefined;
}

// ── The rules ───────────────────────────────────────────────────────────────────────────────────

/** KMS refuses a grant or key policy whose principal does not exist (yet). */
const principalsMustExist: AwsRule = {
    id: "kms-principal-must-exist",
    types: [T.kmsGrant, T.kmsKey, T.kmsReplicaKey, T.kmsKeyPolicy],
    source:
        "KMS CreateGrant: an unknown GranteePrincipal fails with InvalidArnException (the provider retries it only for IAM propagation: " +
        "terraform-provider-aws internal/service/kms/grant.go, 'a newly created IAM Role doesn't show up and causes an InvalidArnException'); " +
        "PutKeyPolicy/CreateKey: MalformedPolicyDocumentException 'Policy contains a statement with one or more invalid principals'. " +
        "EC2 Auto Scaling creates AWSServiceRoleForAutoScaling when the first group is created unless it is declared " +
        "(https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html)",
    check(r, ctx) {
        const principals =
            r.type === T.kmsGrant
                ? [r.props.granteePrincipal, r.props.retiringPrincipal]
                : policyStatements(r.props.policy).flatMap((st) =>
                    st.Principal && typeof st.Principal === "object" ? list((st.Principal as Record<string, unknown>).AWS as string | string[]) : [],
                );
        const problems = principals.map((p) => missingPrincipal(ctx, r, p)).filter((m): m is string => m !== undefined);
        return orNone(problems);
    },
};

/** The launch template an Auto Scaling group launches from, if declared here. */
function launchTemplateOf(ctx: RuleContext, group: RecordedResource): RecordedResource | undefined {
    const spec = group.props.launchTemplate ?? group.props.mixedInstancesPolicy?.launchTemplate?.launchTemplateSpecification;
    if (!spec) return undefined;
    const ref = spec.id ?? spec.launchTemplateId ?? spec.name ?? spec.launchTemplateName;
    return ctx.ofType(T.launchTemplate).find((lt) => lt.id === ref || lt.outputs.name === ref || lt.props.name === ref);
}

/** Whether the role may use the key as Auto Scaling needs, through a grant `group` is ordered after or the key policy. */
function autoscalingKeyAccess(ctx: RuleContext, group: RecordedResource, key: RecordedResource, slrArn: string): boolean {
    const grant = ctx.ofType(T.kmsGrant).find(
        (g) =>
            findKey(ctx, g.props.keyId) === key &&
            g.props.granteePrincipal === slrArn &&
            AUTOSCALING_EBS_GRANT_OPERATIONS.every((op) => list(g.props.operations as string[]).includes(op)) &&
            ctx.dependsOn(group, (r) => r.urn === g.urn),
    );
    if (grant) return true;
    const policy = keyPolicyOf(ctx, key);
    const who = { arn: slrArn };
    const use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"];
    return (
        use.every((action) => policyAllows(policy, { action, principal: who })) &&
        policyAllows(policy, { action: "kms:CreateGrant", principal: who, context: { "kms:GrantIsForAWSResource": "true" } })
    );
}

/** An Auto Scaling group cannot launch instances whose volumes use a customer managed key its service-linked role may not use. */
const autoscalingNeedsKeyAccess: AwsRule = {
    id: "autoscaling-cmk-volumes-need-service-linked-role-access",
    types: [T.autoscalingGroup],
    source:
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html: 'If you specify a customer managed key " +
        "for Amazon EBS encryption, you must give the appropriate service-linked role access to the key so that Amazon EC2 Auto Scaling can " +
        "launch instances on your behalf' (key policy statements, or a grant with Encrypt, Decrypt, ReEncryptFrom, ReEncryptTo, GenerateDataKey, " +
        "GenerateDataKeyWithoutPlaintext, DescribeKey, CreateGrant); otherwise instances fail to launch (Client.InternalError)",
    check(group, ctx) {
        const lt = launchTemplateOf(ctx, group);
        if (!lt) return undefined;
        const problems: string[] = [];
        for (const mapping of list(lt.props.blockDeviceMappings as any[])) {
            const ebs = mapping?.ebs;
            if (!ebs || String(ebs.encrypted) !== "true" || !ebs.kmsKeyId) continue;
            const key = findKey(ctx, ebs.kmsKeyId);
            if (!key) continue; // a key of another stack or account: not judged here
            const account = accountOf(key.outputs.arn, lt.outputs.arn);
            const slrArn: string = group.props.serviceLinkedRoleArn ?? `arn:aws:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
            if (!autoscalingKeyAccess(ctx, group, key, slrArn)) {
                problems.push(
                    `launches ${mapping.deviceName ?? "a volume"} encrypted with ${key.name}, but ${slrArn} may not use that key: give it a grant ` +
                    `(${AUTOSCALING_EBS_GRANT_OPERATIONS.join(", ")}) that the group is ordered after, or the key policy statements AWS documents`,
                );
            }
        }
        return orNone(problems);
    },
};

const SOURCE_KEYS = ["aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"];

/** The SNS topics of this evaluation a key encrypts. */
const topicsEncryptedBy = (ctx: RuleContext, key: RecordedResource) => ctx.ofType(T.topic).filter((t) => findKey(ctx, t.props.kmsMasterKeyId) === key);

/** What SNS asks KMS for when it encrypts a message to a topic on a publisher's behalf (no aws:Source* keys: see SNS_PUBLISHER_CONTEXT). */
function topicKeyContext(topic: RecordedResource): PolicyRequest["context"] {
    const region = regionOf(topic);
    return { "kms:EncryptionContext:aws:sns:topicArn": topic.outputs.arn, ...(region ? { "kms:ViaService": `sns.${region}.amazonaws.com` } : {}) };
}

/**
 * EventBridge sends no aws:Source* keys when it publishes to an encrypted topic: a statement for it that
 * requires them never applies to that call. That alone is not a mistake: AWS documents such a statement
 * for EventBridge's own use of a key (event bus encryption: "As a security best practice, add an
 * aws:SourceArn, aws:sourceAccount, or kms:EncryptionContext:aws:events:event-bus:arn condition key"), and
 * another statement may let EventBridge publish to the key's topics without them. The key is refused
 * only when it encrypts topics of this stack and no statement of its policy lets events.amazonaws.com
 * `kms:GenerateDataKey*`/`kms:Decrypt` for them without source conditions, while a statement for
 * EventBridge shows the intent (conditioned on aws:Source*). A key with no EventBridge statement at all
 * is left to `sns-encrypted-topic-publisher-allowed-by-key`, which judges each real publisher.
 */
const eventBridgeNoSourceConditions: AwsRule = {
    id: "kms-eventbridge-statement-without-source-conditions",
    types: [T.kmsKey, T.kmsReplicaKey, T.kmsKeyPolicy],
    source:
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html: 'Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to " +
        "a AWS KMS policy is not supported for EventBridge-to-encrypted topics.' (the event is dropped: the rule's FailedInvocations grow, nobody is told); " +
        "yet for EventBridge's own use of a key AWS recommends them (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html: " +
        "'As a security best practice, add an aws:SourceArn, aws:sourceAccount, or kms:EncryptionContext:aws:events:event-bus:arn condition key to the " +
        "AWS KMS key policy'): such a statement is refused only when no other statement lets EventBridge use the key for the topics without them",
    check(r, ctx) {
        const key = r.type === T.kmsKeyPolicy ? findKey(ctx, r.props.keyId) : r;
        if (!key) return undefined;
        const topics = topicsEncryptedBy(ctx, key);
        if (topics.length === 0) return undefined;
        const conditioned = policyStatements(r.props.policy)
            .filter((st) => st.Effect === "Allow" && st.Principal !== "*" && principalMatches(st.Principal, { service: "events.amazonaws.com" }))
            .map((st) => ({ st, used: Object.values(st.Condition ?? {}).flatMap((entries) => Object.keys(entries ?? {})).filter((k) => SOURCE_KEYS.includes(k.toLowerCase())) }))
            .filter((x) => x.used.length > 0);
        if (conditioned.length === 0) return undefined;
        const statements = keyPolicyOf(ctx, key);
        const unreachable = topics.filter((topic) =>
            SNS_PUBLISHER_KMS_ACTIONS.some((action) => !policyAllows(statements, { action, principal: { service: "events.amazonaws.com" }, context: topicKeyContext(topic) })),
        );
        if (unreachable.length === 0) return undefined;
        return conditioned.map(
            ({ st, used }) =>
                `statement ${st.Sid ?? "(no Sid)"} lets events.amazonaws.com use the key only with ${used.join(", ")}, which EventBridge does not send ` +
                `when it publishes to an encrypted SNS topic, and no other statement lets it ${SNS_PUBLISHER_KMS_ACTIONS.join(" and ")} for ` +
                `${unreachable.map((t) => t.name).join(", ")} without them: EventBridge rules targeting those topics are dropped`,
        );
    },
};

/** The SNS topics a publisher sends to, with the service that publishes and the publisher's ARN (its aws:SourceArn). */
function publishedTopics(ctx: RuleContext, r: RecordedResource): { service: string; topicArns: string[]; sourceArn?: string } | undefined {
    switch (r.type) {
        case T.eventTarget: {
            const rule = ctx.ofType(T.eventRule).find((e) => e.props.name === r.props.rule || e.outputs.name === r.props.rule || e.id === r.props.rule);
            return { service: "events.amazonaws.com", topicArns: [r.props.arn], sourceArn: rule?.outputs.arn };
        }
        case T.metricAlarm:
        case T.compositeAlarm:
            return {
                service: "cloudwatch.amazonaws.com",
                topicArns: [...list(r.props.alarmActions), ...list(r.props.okActions), ...list(r.props.insufficientDataActions)] as string[],
                sourceArn: r.outputs.arn,
            };
        case T.dbEventSubscription:
            return { service: "events.rds.amazonaws.com", topicArns: [r.props.snsTopic ?? r.props.snsTopicArn] };
        case T.backupVaultNotifications:
            return { service: "backup.amazonaws.com", topicArns: [r.props.snsTopicArn] };
        default:
            return undefined;
    }
}

/** A service publishing to a topic encrypted with a customer managed key must be allowed to use that key, with the condition keys it sends. */
const snsPublishersAllowedByKey: AwsRule = {
    id: "sns-encrypted-topic-publisher-allowed-by-key",
    types: [T.eventTarget, T.metricAlarm, T.compositeAlarm, T.dbEventSubscription, T.backupVaultNotifications],
    source:
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, 'Enable compatibility between event sources from AWS services and " +
        "encrypted topics': the key policy must give the service principal kms:GenerateDataKey* and kms:Decrypt (cloudwatch.amazonaws.com, " +
        "events.amazonaws.com, events.rds.amazonaws.com, ...); an AWS managed key (alias/aws/sns) cannot be used: 'CloudWatch Alarms does not have " +
        "authorization to access the SNS topic encryption key' (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns). AWS drops the message silently",
    check(r, ctx) {
        const published = publishedTopics(ctx, r);
        if (!published) return undefined;
        const facts = SNS_PUBLISHER_CONTEXT[published.service];
        const problems: string[] = [];
        for (const topicArn of published.topicArns.filter((a) => typeof a === "string" && a.startsWith("arn:") && a.includes(":sns:"))) {
            const topic = ctx.resolve(topicArn, T.topic);
            if (!topic || !topic.props.kmsMasterKeyId) continue; // unencrypted, or a topic of another stack
            const keyRef = topic.props.kmsMasterKeyId;
            if (isAwsManagedKeyRef(keyRef)) {
                problems.push(`publishes to ${topic.name}, encrypted with the AWS managed key ${keyRef}, whose policy ${published.service} is not in and cannot be added to: use a customer managed key`);
                continue;
            }
            const key = findKey(ctx, keyRef);
            if (!key) continue;
            const region = regionOf(topic);
            const context: PolicyRequest["context"] = {
                "kms:EncryptionContext:aws:sns:topicArn": topicArn,
                ...(region ? { "kms:ViaService": `sns.${region}.amazonaws.com` } : {}),
                ...(facts?.sourceKeys !== false
                    ? { "aws:SourceAccount": accountOf(r.outputs.arn, topicArn), ...(published.sourceArn ? { "aws:SourceArn": published.sourceArn } : {}) }
                    : {}),
            };
            const denied = SNS_PUBLISHER_KMS_ACTIONS.filter((action) => !policyAllows(keyPolicyOf(ctx, key), { action, principal: { service: published.service }, context }));
            if (denied.length > 0) {
                problems.push(
                    `publishes to ${topic.name}, encrypted with ${key.name}, whose key policy does not let ${published.service} ${denied.join(" and ")}` +
                    `${facts?.sourceKeys === false ? " without aws:SourceAccount/aws:SourceArn/aws:SourceOrgID conditions (EventBridge does not send them)" : ""}: ` +
                    `AWS drops the message silently`,
                );
            }
        }
        return orNone(problems);
    },
};

/** A log group encrypted with a customer managed key: CloudWatch Logs must be allowed to use the key for that log group. */
const logGroupKeyAllowsLogs: AwsRule = {
    id: "logs-encrypted-log-group-key-allows-cloudwatch-logs",
    types: [T.logGroup],
    source:
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html ('Encrypt log data in CloudWatch Logs using AWS KMS'): " +
        "the key policy must let logs.<region>.amazonaws.com kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe* " +
        "(condition kms:EncryptionContext:aws:logs:arn = the log group's ARN); 'CloudWatch Logs must have permissions for the customer managed key " +
        "whenever encrypted data is requested'. Otherwise CreateLogGroup/AssociateKmsKey fail (AccessDeniedException: 'The specified KMS key does not " +
        "exist or is not allowed to be used with Arn ...')",
    check(lg, ctx) {
        const ref = lg.props.kmsKeyId;
        if (!ref || isAwsManagedKeyRef(ref)) return undefined;
        const key = findKey(ctx, ref);
        if (!key) return undefined; // a key of another stack or account: not judged here
        const region = regionOf(lg) ?? regionOf(key);
        const account = accountOf(lg.outputs.arn, key.outputs.arn, ...ctx.resources.map((r) => r.outputs.arn));
        const name = lg.outputs.name ?? lg.props.name;
        if (!region || !account || typeof name !== "string") return undefined;
        const logGroupArn = `arn:aws:logs:${region}:${account}:log-group:${name}`;
        const service = `logs.${region}.amazonaws.com`;
        const context = { "kms:EncryptionContext:aws:logs:arn": logGroupArn };
        const denied = LOGS_KMS_ACTIONS.filter((action) => !policyAllows(keyPolicyOf(ctx, key), { action, principal: { service }, context }));
        if (denied.length === 0) return undefined;
        return (
            `is encrypted with ${key.name}, whose key policy does not let ${service} ${denied.join(", ")} for ${logGroupArn} ` +
            `(encryption context kms:EncryptionContext:aws:logs:arn): CloudWatch Logs refuses the key and the log group is not created. ` +
            `Add the statement the CloudWatch Logs guide documents (kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*, ` +
            `ArnLike kms:EncryptionContext:aws:logs:arn arn:aws:logs:${region}:${account}:log-group:*)`
        );
    },
};

/**
 * A state machine encrypted with a customer managed key that logs to CloudWatch Logs: the log delivery
 * service must be allowed to decrypt with the key, or its execution logs are not delivered.
 */
const encryptedStateMachineLogsNeedDelivery: AwsRule = {
    id: "sfn-encrypted-state-machine-logs-need-log-delivery",
    types: [T.stateMachine],
    source:
        "https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html ('Data at rest encryption in Step Functions', logging " +
        "with a customer managed key): the key policy must let the log delivery service delivery.logs.amazonaws.com kms:Decrypt; AWS CDK's " +
        "StateMachine adds exactly that key policy statement when a customer managed key and logs (level not OFF) go together " +
        "(aws/aws-cdk packages/aws-cdk-lib/aws-stepfunctions/lib/state-machine.ts: actions ['kms:Decrypt*'], principals delivery.logs.amazonaws.com)",
    check(sm, ctx) {
        const enc = sm.props.encryptionConfiguration;
        const logging = sm.props.loggingConfiguration;
        if (!enc || enc.type !== "CUSTOMER_MANAGED_KMS_KEY" || !enc.kmsKeyId) return undefined;
        if (!logging || !logging.level || logging.level === "OFF") return undefined;
        const key = findKey(ctx, enc.kmsKeyId);
        if (!key) return undefined;
        const region = regionOf(sm) ?? regionOf(key);
        const account = accountOf(sm.outputs.arn, key.outputs.arn, ...ctx.resources.map((r) => r.outputs.arn));
        // The context Step Functions' log encryption uses (AWS CDK grants the execution role kms:GenerateDataKey under it).
        const context = region && account ? { "kms:EncryptionContext:SourceArn": `arn:aws:logs:${region}:${account}:*` } : {};
        if (policyAllows(keyPolicyOf(ctx, key), { action: "kms:Decrypt", principal: { service: "delivery.logs.amazonaws.com" }, context })) return undefined;
        return (
            `is encrypted with ${key.name} and logs at level ${logging.level}, but the key policy does not let delivery.logs.amazonaws.com kms:Decrypt: ` +
            `its execution logs are not delivered. Add the statement the Step Functions guide documents (Principal Service delivery.logs.amazonaws.com, Action kms:Decrypt)`
        );
    },
};

/** The statements of every policy attached to a role: inline, RolePolicy, managed (AWS or declared). */
export function rolePolicyStatements(ctx: RuleContext, role: RecordedResource): { statements: PolicyStatement[]; unknownManaged: string[] } {
    const isThisRole = (ref: unknown) => ref === role.id || ref === role.outputs.name || ref === role.outputs.arn || ref === role.props.name;
    const statements: PolicyStatement[] = [];
    const unknownManaged: string[] = [];
    const managed = (arn: string) => {
        const declared = ctx.ofType(T.iamPolicy).find((p) => p.outputs.arn === arn);
        if (declared) statements.push(...policyStatements(declared.props.policy));
        else if (AWS_MANAGED_POLICIES[arn]) statements.push(...AWS_MANAGED_POLICIES[arn]);
        else unknownManaged.push(arn);
    };
    for (const inline of list(role.props.inlinePolicies as any[])) statements.push(...policyStatements(inline?.policy));
    for (const arn of list(role.props.managedPolicyArns as string[])) managed(arn);
    for (const p of ctx.ofType(T.iamRolePolicy)) if (isThisRole(p.props.role)) statements.push(...policyStatements(p.props.policy));
    for (const a of ctx.ofType(T.iamRolePolicyAttachment)) if (isThisRole(a.props.role)) managed(a.props.policyArn);
    for (const a of ctx.ofType(T.iamPolicyAttachment)) if (list(a.props.roles as string[]).some(isThisRole)) managed(a.props.policyArn);
    return { statements, unknownManaged };
}

/** The role an instance profile (by ARN or name) carries, if declared here. */
function roleOfProfile(ctx: RuleContext, ref: unknown): { profile?: RecordedResource; role?: RecordedResource } {
    const profile = ctx.ofType(T.iamInstanceProfile).find((p) => p.outputs.arn === ref || p.outputs.name === ref || p.id === ref || p.props.name === ref);
    const role = profile ? ctx.ofType(T.iamRole).find((r) => r.id === profile.props.role || r.outputs.name === profile.props.role || r.outputs.arn === profile.props.role) : undefined;
    return { profile, role };
}

/** The instances an association's targets reach among this evaluation's groups and instances, each with its instance profile reference. */
function associationTargets(ctx: RuleContext, association: RecordedResource): { what: string; profileRef: unknown }[] {
    const found: { what: string; profileRef: unknown }[] = [];
    const fromGroup = (g: RecordedResource) => {
        const lt = launchTemplateOf(ctx, g);
        const spec = lt?.props.iamInstanceProfile;
        found.push({ what: `group ${g.name}`, profileRef: spec ? (spec.arn ?? spec.name) : undefined });
    };
    for (const target of list(association.props.targets as { key: string; values: string[] }[])) {
        const values = list(target.values).map(String);
        if (target.key === "InstanceIds") {
            for (const i of ctx.ofType(T.ec2Instance)) if (values.includes(String(i.id))) found.push({ what: `instance ${i.name}`, profileRef: i.props.iamInstanceProfile });
        } else if (target.key === "tag:aws:autoscaling:groupName") {
            for (const g of ctx.ofType(T.autoscalingGroup)) if (values.includes(g.outputs.name) || values.includes(g.props.name)) fromGroup(g);
        } else if (target.key.startsWith("tag:")) {
            const tag = target.key.slice(4);
            for (const g of ctx.ofType(T.autoscalingGroup)) {
                if (list(g.props.tags as any[]).some((t) => t?.key === tag && values.includes(String(t.value)) && t.propagateAtLaunch !== false)) fromGroup(g);
            }
            for (const i of ctx.ofType(T.ec2Instance)) if (values.includes(String(i.props.tags?.[tag]))) found.push({ what: `instance ${i.name}`, profileRef: i.props.iamInstanceProfile });
        }
    }
    return found;
}

/** A State Manager association only runs on instances whose role lets SSM Agent register, list its associations and fetch the document. */
const associationInstancesCanRun: AwsRule = {
    id: "ssm-association-targets-need-instance-permissions",
    types: [T.ssmAssociation],
    source:
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html: 'By default, AWS Systems Manager doesn't have " +
        "permission to perform actions on your instances' (an instance profile with AmazonSSMManagedInstanceCore, or the account's Default Host " +
        "Management Configuration); the agent calls ssm:UpdateInstanceInformation, ssm:ListInstanceAssociations, ssm:DescribeAssociation, " +
        "ssm:GetDocument and ssm:UpdateInstanceAssociationStatus (AmazonSSMManagedInstanceCore, AWS Managed Policy Reference). Without them the " +
        "association never runs, and nothing fails at pulumi up",
    check(association, ctx) {
        const region = regionOf(association) ?? "us-east-1";
        const account = accountOf(association.outputs.arn, ...ctx.resources.map((r) => r.outputs.arn));
        if (!account) return undefined; // no ARN names the account: nothing to check resources against
        const docName: string = association.props.name;
        const declaredDoc = ctx.ofType(T.ssmDocument).find((d) => d.props.name === docName || d.outputs.name === docName);
        const documentArn = declaredDoc || !/^AWS-|^Amazon/.test(String(docName))
            ? `arn:aws:ssm:${region}:${account}:document/${docName}`
            : `arn:aws:ssm:${region}::document/${docName}`;
        const instanceArn = `arn:aws:ec2:${region}:${account}:instance/i-0123456789abcdef0`;
        const associationArn = `arn:aws:ssm:${region}:${account}:association/*`;
        const resourcesFor: Record<string, string[]> = {
            "ssm:UpdateInstanceInformation": [instanceArn],
            "ssm:ListInstanceAssociations": [instanceArn],
            "ssm:DescribeAssociation": [associationArn, documentArn, instanceArn],
            "ssm:GetDocument": [documentArn],
            "ssm:UpdateInstanceAssociationStatus": [instanceArn, documentArn],
        };
        const problems: string[] = [];
        for (const target of associationTargets(ctx, association)) {
            if (target.profileRef === undefined) {
                problems.push(`targets ${target.what}, whose instances have no instance profile: SSM Agent cannot register them and the association never runs`);
                continue;
            }
            const { profile, role } = roleOfProfile(ctx, target.profileRef);
            if (!profile || !role) continue; // a profile of another stack: not judged here
            const { statements, unknownManaged } = rolePolicyStatements(ctx, role);
            const missing = SSM_ASSOCIATION_INSTANCE_ACTIONS.filter(
                (action) => !resourcesFor[action].some((resource) => policyAllows(statements, { action, resource })),
            );
            if (missing.length > 0) {
                problems.push(
                    `targets ${target.what}, whose role ${role.name} lacks ${missing.join(", ")}${unknownManaged.length ? ` (unknown managed policies: ${unknownManaged.join(", ")})` : ""}: ` +
                    `SSM Agent cannot fetch ${docName} and the association never runs; attach AmazonSSMManagedInstanceCore`,
                );
            }
        }
        return orNone(problems);
    },
};

export const rules: AwsRule[] = [
    principalsMustExist,
    autoscalingNeedsKeyAccess,
    eventBridgeNoSourceConditions,
    snsPublishersAllowedByKey,
    logGroupKeyAllowsLogs,
    encryptedStateMachineLogsNeedDelivery,
    associationInstancesCanRun,
];
