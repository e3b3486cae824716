import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AWS_RULES, AwsRuleViolation, checkAwsRules } from "../../offline/aws-rules";
import { stack } from "../support/stacks";
import { violationsOf } from "../support/aws-rules";
import { AWS_TYPES } from "../../policies/aws-types";

/** The refusals of evaluating `program` under the production stack's config (none: it evaluated). */
const refusals = (program: () => void) => violationsOf(program);
const ids = (vs: AwsRuleViolation[]) => vs.map((v) => `${v.rule} ${v.name}`);
const b64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * A launch template whose boot script reads a secret, as the app's did before item 7 (`aws
 * secretsmanager get-secret-value --secret-id <the app-env ARN>`), with or without a version of it.
 */
function appLikeProgram(opts: { version: boolean; readBy?: "arn" | "name" | "longer-name"; script?: (ref: string) => string; orderedAfterVersion?: boolean }) {
    return () => {
        const p = new aws.Provider("east", { region: "us-east-1" });
        const secret = new aws.secretsmanager.Secret("app-env", { name: "genie/primary/app-env" }, { provider: p });
        const version = opts.version
            ? new aws.secretsmanager.SecretVersion("app-env", { secretId: secret.id, secretString: JSON.stringify({ DATABASE_HOST: "db" }) }, { provider: p })
            : undefined;
        const ref = opts.readBy === "name" ? pulumi.output("genie/primary/app-env") : opts.readBy === "longer-name" ? pulumi.output("genie/primary/app-env-v2") : secret.arn;
        const script = opts.script ?? ((r: string) => `#!/bin/bash\nset -euo pipefail\naws secretsmanager get-secret-value --secret-id '${r}' --query SecretString --output text > /etc/app.env\n`);
        // As components/secrets.ts does: the user data takes the version's id in, so it waits for the version.
        const userData = version && opts.orderedAfterVersion !== false ? pulumi.all([ref, version.versionId]).apply(([r]) => b64(script(r))) : ref.apply((r) => b64(script(r)));
        new aws.ec2.LaunchTemplate("app", { imageId: "ami-0123", userData }, { provider: p });
    };
}

describe("offline AWS rules: Secrets Manager", () => {
    it("secret-read-at-boot-has-a-value: user data that reads a secret this program declares without a version is refused (item 7)", async () => {
        // The original bad input: the app-env secret had no SecretVersion, the instances read it at boot.
        const refused = await refusals(appLikeProgram({ version: false }));
        expect(ids(refused)).to.deep.equal(["secret-read-at-boot-has-a-value app"]);
        expect(refused[0].message).to.match(/reads the secret genie\/primary\/app-env \(app-env\), which this program declares without a value/);
        expect(refused[0].source).to.match(/CreateSecret/);
        // By name too.
        expect(ids(await refusals(appLikeProgram({ version: false, readBy: "name" })))).to.deep.equal(["secret-read-at-boot-has-a-value app"]);
        // With its version written by the program: accepted.
        expect(await refusals(appLikeProgram({ version: true }))).to.deep.equal([]);
    });

    it("judges only what it can: a longer name, a script that reads no secret, a secret another stack owns", async () => {
        // Another secret whose name starts with this one's is not this one (and is not declared here).
        expect(await refusals(appLikeProgram({ version: false, readBy: "longer-name" }))).to.deep.equal([]);
        // The script names the secret but never reads a secret value.
        expect(await refusals(appLikeProgram({ version: false, script: (r) => `#!/bin/bash\necho '${r}'\n` }))).to.deep.equal([]);
        // A replica from another stack (not declared in this evaluation) is not judged.
        const otherStack = () => {
            const p = new aws.Provider("west", { region: "us-west-2" });
            new aws.ec2.LaunchTemplate("app", { imageId: "ami-0123", userData: b64("aws secretsmanager get-secret-value --secret-id 'genie/primary/app-env'\n") }, { provider: p });
        };
        expect(await refusals(otherStack)).to.deep.equal([]);
    });

    it("an EC2 instance's clear-text user data is read the same way", async () => {
        const program = (version: boolean) => () => {
            const p = new aws.Provider("east", { region: "us-east-1" });
            const secret = new aws.secretsmanager.Secret("token", { name: "genie/primary/token" }, { provider: p });
            const written = version ? new aws.secretsmanager.SecretVersion("token", { secretId: secret.arn, secretString: "t" }, { provider: p }) : undefined;
            new aws.ec2.Instance("worker", {
                ami: "ami-0123",
                instanceType: "t3.micro",
                userData: secret.name.apply((n) => `#!/bin/bash\naws secretsmanager get-secret-value --secret-id ${n}\n`),
            }, { provider: p, dependsOn: written ? [written] : [] });
        };
        expect(ids(await refusals(program(false)))).to.deep.equal(["secret-read-at-boot-has-a-value worker"]);
        expect(await refusals(program(true))).to.deep.equal([]);
    });

    it("secret-read-at-boot-after-its-value: a launch template that reads a secret at boot but is not ordered after its version is refused", async () => {
        // The app's launch template before the fix: user data from the document's digest, not from the version.
        const refused = await refusals(appLikeProgram({ version: true, orderedAfterVersion: false }));
        expect(ids(refused)).to.deep.equal(["secret-read-at-boot-after-its-value app"]);
        expect(refused[0].message).to.match(/reads the secret genie\/primary\/app-env \(app-env\) at boot, but it is not ordered after app-env/);
        // Ordered after it through an input (the version's id in the user data) or dependsOn: accepted.
        expect(await refusals(appLikeProgram({ version: true }))).to.deep.equal([]);
    });

    for (const name of ["production", "dr"] as const) {
        it(`${name}: the app's launch template is ordered after its environment's version; without that order it is refused`, async () => {
            const ev = await stack(name);
            const rule = AWS_RULES.filter((r) => r.id === "secret-read-at-boot-after-its-value");
            expect(checkAwsRules(ev.resources, rule, ev.config)).to.deep.equal([]);
            // The same stack with the launch template's recorded dependency on the version removed (as before the fix).
            const version = ev.resources.find((r) => r.type === AWS_TYPES.secretVersion && /-app-env$/.test(r.name))!;
            const lt = ev.resources.find((r) => r.type === AWS_TYPES.launchTemplate)!;
            const before = ev.resources.map((r) => (r === lt ? { ...r, opts: { ...r.opts, dependsOn: r.opts.dependsOn.filter((u) => u !== version.urn) } } : r));
            expect(ids(checkAwsRules(before, rule, ev.config))).to.deep.equal([`secret-read-at-boot-after-its-value ${lt.name}`]);
        });
    }

    it("the production stack: accepted as built; refused as before item 7 (no version of the app's environment)", async () => {
        const ev = await stack("production");
        const rule = AWS_RULES.filter((r) => r.id === "secret-read-at-boot-has-a-value");
        expect(checkAwsRules(ev.resources, rule)).to.deep.equal([]);
        const before = ev.resources.filter((r) => !(r.type === AWS_TYPES.secretVersion && r.name === "genie-primary-app-env"));
        expect(ids(checkAwsRules(before, rule))).to.deep.equal(["secret-read-at-boot-has-a-value genie-primary-app-lt"]);
    });
});
