import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface SiteSecretsArgs {
    /** Secret names start with this path, e.g. "genie/primary" → "genie/primary/db-master". */
    namePrefix: string;
    /** The region's customer-managed KMS key that encrypts the secrets. */
    kmsKeyArn: pulumi.Input<string>;
    /**
     * Where the secrets are replicated ("Environment Variables: Encrypted storage", kept in the DR
     * region too): the region and that region's KMS key. None: no replica.
     */
    replica?: { region: string; kmsKeyArn: pulumi.Input<string> };
    /** Master user name of the database. */
    dbMasterUsername?: string;
    /** Days a deleted secret can still be restored (7 to 30). */
    recoveryWindowInDays?: number;
    /** Protect the secrets from deletion by Pulumi (config `protect`). They are always retained on delete. */
    protect: boolean;
}

/** Characters the generated password may contain: RDS refuses '/', '@', '"' and spaces. */
export const PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?";

/**
 * The secrets of a site, in Secrets Manager, encrypted with the region's key and replicated to the
 * DR region with the DR region's key:
 * - `db-master`: the database master credentials `{"username", "password"}`; the password comes from
 *   `@pulumi/random` and only ever travels as a Pulumi secret (state is encrypted, outputs redacted).
 * - `app-env`: the app's environment. The serving path writes its versions (it knows the endpoints);
 *   this component owns the secret, its key, its replica and its deletion protection.
 * Secret values are never exported: only names and ARNs.
 */
export class SiteSecrets extends pulumi.ComponentResource {
    readonly dbMasterUsername: string;
    /** The master password, as a secret Output: give it to the database, never export it. */
    readonly dbMasterPassword: pulumi.Output<string>;
    readonly dbMasterSecretArn: pulumi.Output<string>;
    readonly dbMasterSecretName: pulumi.Output<string>;
    readonly appEnvSecretArn: pulumi.Output<string>;
    readonly appEnvSecretName: pulumi.Output<string>;

    constructor(name: string, args: SiteSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:secrets:SiteSecrets", name, {}, opts);
        const parent = { parent: this };
        const stateful = { parent: this, protect: args.protect, retainOnDelete: true };
        const replicas = args.replica ? [{ region: args.replica.region, kmsKeyId: args.replica.kmsKeyArn }] : [];
        const recoveryWindowInDays = args.recoveryWindowInDays ?? 30;
        this.dbMasterUsername = args.dbMasterUsername ?? "genie_admin";

        const password = new random.RandomPassword(`${name}-db-master-password`, {
            length: 32,
            special: true,
            overrideSpecial: PASSWORD_SPECIALS,
            minLower: 2,
            minUpper: 2,
            minNumeric: 2,
            minSpecial: 2,
        }, parent);
        this.dbMasterPassword = pulumi.secret(password.result);

        const dbMaster = new aws.secretsmanager.Secret(`${name}-db-master`, {
            name: `${args.namePrefix}/db-master`,
            description: "Genie AI Server: database master credentials (username, password)",
            kmsKeyId: args.kmsKeyArn,
            recoveryWindowInDays,
            replicas,
        }, stateful);
        new aws.secretsmanager.SecretVersion(`${name}-db-master`, {
            secretId: dbMaster.id,
            secretString: pulumi.secret(pulumi.jsonStringify({ username: this.dbMasterUsername, password: password.result })),
        }, parent);
        this.dbMasterSecretArn = dbMaster.arn;
        this.dbMasterSecretName = dbMaster.name;

        const appEnv = new aws.secretsmanager.Secret(`${name}-app-env`, {
            name: `${args.namePrefix}/app-env`,
            description: "Genie AI Server: the app's environment variables (JSON object), encrypted",
            kmsKeyId: args.kmsKeyArn,
            recoveryWindowInDays,
            replicas,
        }, stateful);
        this.appEnvSecretArn = appEnv.arn;
        this.appEnvSecretName = appEnv.name;

        this.registerOutputs({
            dbMasterSecretArn: this.dbMasterSecretArn,
            dbMasterSecretName: this.dbMasterSecretName,
            appEnvSecretArn: this.appEnvSecretArn,
            appEnvSecretName: this.appEnvSecretName,
        });
    }
}
