/**
 * Secrets Manager: what a deployment that reads secrets at boot needs from AWS to work the first time.
 */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, RuleContext } from "./types";
import { AWS_TYPES } from "../../policies/aws-types";

const SECRET = AWS_TYPES.secret;
const SECRET_VERSION = AWS_TYPES.secretVersion;
const LAUNCH_TEMPLATE = AWS_TYPES.launchTemplate;
const INSTANCE = AWS_TYPES.ec2Instance;

/** Characters a secret name may hold (CreateSecret: "ASCII letters, numbers, and the following characters: /_+=.@-"). */
const NAME_CHAR = "[A-Za-z0-9/_+=.@-]";
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The boot script of a launch template (`userData`, base64) or an instance (`userData` in clear, or `userDataBase64`). */
export function bootScript(r: RecordedResource): string | undefined {
    const decode = (v: unknown) => (typeof v === "string" && v !== "" ? Buffer.from(v, "base64").toString("utf8") : undefined);
    if (r.type === LAUNCH_TEMPLATE) return decode(r.props.userData);
    if (typeof r.props.userData === "string" && r.props.userData !== "") return r.props.userData;
    return decode(r.props.userDataBase64);
}

/** Whether a text names this secret: its ARN, or its name as a whole token (not a longer name that starts with it). */
function names(text: string, secret: RecordedResource): boolean {
    const refs = [secret.outputs.arn, secret.props.name ?? secret.outputs.name].filter((x): x is string => typeof x === "string" && x !== "");
    return refs.some((ref) => new RegExp(`(?<!${NAME_CHAR})${escape(ref)}(?!${NAME_CHAR})`).test(text));
}

/** The SecretVersions this program declares for a secret. */
function versionsOf(secret: RecordedResource, ctx: RuleContext): RecordedResource[] {
    return ctx.ofType(SECRET_VERSION).filter((v) => ctx.resolve(v.props.secretId, SECRET)?.urn === secret.urn);
}

/** GetSecretValue calls in a script: the AWS CLI's `get-secret-value`, an SDK's `GetSecretValue` / `get_secret_value`. */
const READS_SECRETS = /get-secret-value|GetSecretValue|get_secret_value/;

/**
 * The secrets a boot script reads (it calls GetSecretValue and names them, by ARN or name) that this
 * program declares and never gives a value. Secrets it names only inside another secret's value are
 * not seen (the provider marks every SecretVersion's text secret), nor secrets this program does not
 * declare (another stack's replicas): those it cannot judge.
 */
export function secretsReadWithoutValue(script: string, ctx: RuleContext): RecordedResource[] {
    if (!READS_SECRETS.test(script)) return [];
    return ctx.ofType(SECRET).filter((s) => names(script, s) && versionsOf(s, ctx).length === 0);
}

/**
 * The secrets a boot script reads (as {@link secretsReadWithoutValue} finds them) that this program
 * gives a value, paired with their versions: the resource that boots on them must wait for a version.
 */
export function secretsReadAtBoot(script: string, ctx: RuleContext): { secret: RecordedResource; versions: RecordedResource[] }[] {
    if (!READS_SECRETS.test(script)) return [];
    return ctx
        .ofType(SECRET)
        .filter((s) => names(script, s))
        .map((secret) => ({ secret, versions: versionsOf(secret, ctx) }))
        .filter((x) => x.versions.length > 0);
}

export const rules: AwsRule[] = [
    {
        id: "secret-read-at-boot-has-a-value",
        types: [LAUNCH_TEMPLATE, INSTANCE],
        source:
            "Secrets Manager API Reference, CreateSecret: \"If you include SecretString or SecretBinary then Secrets Manager creates an initial " +
            "secret version and automatically attaches the staging label AWSCURRENT to it\"; GetSecretValue: \"If you don't specify either a " +
            "VersionStage or VersionId, then Secrets Manager returns the AWSCURRENT version\"; node_modules/@pulumi/aws/secretsmanager/secretVersion.d.ts: " +
            "the secret's value is an aws.secretsmanager.SecretVersion (aws.secretsmanager.Secret holds the metadata only)",
        check(r, ctx) {
            const script = bootScript(r);
            if (!script) return undefined;
            return secretsReadWithoutValue(script, ctx).map(
                (s) =>
                    `its user data reads the secret ${s.props.name ?? s.name} (${s.name}), which this program declares without a value: no ` +
                    "aws.secretsmanager.SecretVersion writes one, so on a new deployment GetSecretValue finds no AWSCURRENT version, the boot " +
                    "script stops and the app never starts; give the secret its value with a SecretVersion in the program",
            );
        },
    },
    {
        id: "secret-read-at-boot-after-its-value",
        types: [LAUNCH_TEMPLATE, INSTANCE],
        source:
            "Secrets Manager API Reference, GetSecretValue: \"If you don't specify either a VersionStage or VersionId, then Secrets Manager returns " +
            "the AWSCURRENT version\"; PutSecretValue moves AWSCURRENT to the new version only when it runs. Pulumi orders a resource after another " +
            "only through dependsOn or an input that is that resource's output (https://www.pulumi.com/docs/iac/concepts/options/dependson/): a " +
            "launch template built without one may be created (and its instance refresh started) before the version is written",
        check(r, ctx) {
            const script = bootScript(r);
            if (!script) return undefined;
            return secretsReadAtBoot(script, ctx)
                .filter(({ versions }) => !ctx.dependsOn(r, (x) => versions.some((v) => v.urn === x.urn)))
                .map(
                    ({ secret, versions }) =>
                        `its user data reads the secret ${secret.props.name ?? secret.name} (${secret.name}) at boot, but it is not ordered after ` +
                        `${versions.map((v) => v.name).join(" or ")}, which writes its value: instances may boot (and an instance refresh roll) on ` +
                        "the previous value, or on none on a first deployment; take something of the version (its versionId) into the user data, or dependsOn it",
                );
        },
    },
];
