import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { StatefulLifecycle } from "./lifecycle";

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
    /**
     * How the secrets end (components/lifecycle.ts): protected, retained and restorable for a recovery
     * window; or, on an ephemeral stack, deleted at once (the provider removes the replicas first, then
     * DeleteSecret with ForceDeleteWithoutRecovery: terraform-provider-aws
     * internal/service/secretsmanager/secret.go, resourceSecretDelete), so the name is free again.
     */
    lifecycle: StatefulLifecycle;
}

/** Characters the generated password may contain: RDS refuses '/', '@', '"' and spaces. */
export const PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?";

/**
 * The secrets of a site, in Secrets Manager, encrypted with the region's key and replicated to the
 * DR region with the DR region's key:
 * - `db-master`: the database master credentials `{"username", "password"}`; the password comes from
 *   `@pulumi/random` and only ever travels as a Pulumi secret (state is encrypted, outputs redacted).
 * - `app-env`: the app's environment. {@link AppEnvironment} writes its versions (the serving path
 *   knows the endpoints); this component owns the secret, its key, its replica and its deletion
 *   protection. A DR site writes its own `genie/dr/app-env` (the replica of this one names the
 *   primary's endpoints, and a replica cannot be written).
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
        const stateful = { parent: this, protect: args.lifecycle.protect, retainOnDelete: args.lifecycle.retainOnDelete };
        const replicas = args.replica ? [{ region: args.replica.region, kmsKeyId: args.replica.kmsKeyArn }] : [];
        const recoveryWindowInDays = args.lifecycle.secretRecoveryWindowDays;
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

/**
 * The app's environment, as the instances' env file reads it (every value a string). Endpoints and
 * the names or ARNs of the secrets that hold credentials: never a password. The instances' user data
 * resolves the credentials (components/app-cluster.ts) into the root-only env file of the container.
 */
export interface AppEnvironmentDocument {
    /** The port the app listens on. */
    PORT: string;
    /** `primary` or `dr`: which site this environment describes. */
    SITE: string;
    AWS_REGION: string;
    DATABASE_HOST: string;
    DATABASE_PORT: string;
    DATABASE_NAME: string;
    /** The database refuses clear-text connections (`rds.force_ssl=1`). */
    DATABASE_SSLMODE: "require";
    /** Secret (ARN, or name of a replica) of `{"username", "password"}`: read at boot, never written here. */
    DATABASE_CREDENTIALS_SECRET: string;
    REDIS_HOST: string;
    REDIS_PORT: string;
    /** In-transit encryption is on: clients must use TLS (`rediss://`). */
    REDIS_TLS: "true";
    /** Secret (ARN) of the Redis AUTH token: read at boot, never written here. */
    REDIS_AUTH_SECRET: string;
}

/** Where the site's endpoints and credential secrets are (Outputs resolve at deploy time). */
export interface AppEnvironmentEndpoints {
    site: string;
    region: string;
    appPort: number;
    database: { host: pulumi.Input<string>; port: pulumi.Input<number>; name: string; credentialsSecretId: pulumi.Input<string> };
    cache: { host: pulumi.Input<string>; port: pulumi.Input<number>; authSecretId: pulumi.Input<string> };
}

/** The document for resolved endpoints; keys in a fixed order, so its digest changes only with a value. */
export function appEnvironmentDocument(e: {
    site: string;
    region: string;
    appPort: number;
    database: { host: string; port: number; name: string; credentialsSecretId: string };
    cache: { host: string; port: number; authSecretId: string };
}): AppEnvironmentDocument {
    return {
        PORT: String(e.appPort),
        SITE: e.site,
        AWS_REGION: e.region,
        DATABASE_HOST: e.database.host,
        DATABASE_PORT: String(e.database.port),
        DATABASE_NAME: e.database.name,
        DATABASE_SSLMODE: "require",
        DATABASE_CREDENTIALS_SECRET: e.database.credentialsSecretId,
        REDIS_HOST: e.cache.host,
        REDIS_PORT: String(e.cache.port),
        REDIS_TLS: "true",
        REDIS_AUTH_SECRET: e.cache.authSecretId,
    };
}

export interface AppEnvironmentArgs extends AppEnvironmentEndpoints {
    /**
     * The secret the environment is written to: an existing one (the primary site's `app-env`, owned
     * and replicated by {@link SiteSecrets}), or one created here (a DR site: the replica of the
     * primary's secret is read-only and names the primary's endpoints).
     */
    secret:
        | { existing: { arn: pulumi.Input<string>; name: pulumi.Input<string> } }
        | { create: { name: string; kmsKeyArn: pulumi.Input<string>; lifecycle: StatefulLifecycle } };
}

/**
 * The app's environment of a site, written by the program as a version of the site's `app-env`
 * secret ("Environment Variables: Encrypted storage"): the site's own database and cache endpoints,
 * ports, and the secrets that hold the credentials. A new endpoint (a promoted or restored DR
 * database, a rebuilt cache) is a new version at the next `pulumi up`; `digest` (SHA-256 of the
 * document) goes into the launch template, so a new version also rolls the instances, which read
 * the environment at boot.
 *
 * Without a version, `GetSecretValue` has nothing to return: CreateSecret makes the initial version
 * only "If you include SecretString or SecretBinary" (Secrets Manager API Reference, CreateSecret),
 * and the provider's `aws.secretsmanager.Secret` takes no value (its doc: "To manage secret
 * metadata"; values are `aws.secretsmanager.SecretVersion`'s).
 */
export class AppEnvironment extends pulumi.ComponentResource {
    readonly secretArn: pulumi.Output<string>;
    readonly secretName: pulumi.Output<string>;
    /** The version this deployment wrote. */
    readonly versionId: pulumi.Output<string>;
    readonly document: pulumi.Output<AppEnvironmentDocument>;
    /** `sha256:<hex>` of the document as written; known only once the version is written (it depends on it). */
    readonly digest: pulumi.Output<string>;

    constructor(name: string, args: AppEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:secrets:AppEnvironment", name, {}, opts);
        let secretArn: pulumi.Input<string>;
        let secretName: pulumi.Input<string>;
        if ("existing" in args.secret) {
            secretArn = args.secret.existing.arn;
            secretName = args.secret.existing.name;
        } else {
            const c = args.secret.create;
            // Protected like every secret, but neither retained nor kept in a recovery window when
            // the stack is destroyed on purpose: everything in it is derived from the stack and
            // written again by `pulumi up`, and a secret kept (or scheduled for deletion) under this
            // name would make the rebuilt stack's CreateSecret fail. The provider doc: "This value
            // can be `0` to force deletion without recovery" (secretsmanager/secret.d.ts).
            const secret = new aws.secretsmanager.Secret(name, {
                name: c.name,
                description: `Genie AI Server: the app's environment on the ${args.site} site (JSON object, written by Pulumi; no passwords)`,
                kmsKeyId: c.kmsKeyArn,
                recoveryWindowInDays: 0,
            }, { parent: this, protect: c.lifecycle.protect });
            secretArn = secret.arn;
            secretName = secret.name;
        }

        const e = args;
        this.document = pulumi
            .all([e.database.host, e.database.port, e.database.credentialsSecretId, e.cache.host, e.cache.port, e.cache.authSecretId])
            .apply(([dbHost, dbPort, dbSecret, cacheHost, cachePort, cacheSecret]) =>
                appEnvironmentDocument({
                    site: e.site,
                    region: e.region,
                    appPort: e.appPort,
                    database: { host: dbHost, port: dbPort, name: e.database.name, credentialsSecretId: dbSecret },
                    cache: { host: cacheHost, port: cachePort, authSecretId: cacheSecret },
                }),
            );
        const text = this.document.apply((d) => JSON.stringify(d));
        const version = new aws.secretsmanager.SecretVersion(name, { secretId: secretArn, secretString: text }, { parent: this });
        // The digest is read through the version resource (its versionId), not from the document alone:
        // whatever puts it in its inputs (the launch template's user data) then depends on the version
        // and is created or updated only after PutSecretValue. From the document alone, the launch
        // template, and with it the instance refresh, could run before the new environment exists, and
        // new instances would boot on the old one (or, on a first deploy, on none: `set -e` stops the boot).
        this.digest = pulumi.all([text, version.versionId]).apply(([t]) => `sha256:${createHash("sha256").update(t).digest("hex")}`);

        this.secretArn = pulumi.output(secretArn);
        this.secretName = pulumi.output(secretName);
        this.versionId = version.versionId;
        this.registerOutputs({ secretArn: this.secretArn, secretName: this.secretName, digest: this.digest });
    }
}
