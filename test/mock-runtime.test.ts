import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { evaluateStack, EvaluationError, REDACTED } from "../offline/mock-runtime";
import { AWS_TYPES } from "../policies/aws-types";

async function failureOf(promise: Promise<unknown>): Promise<Error> {
    try {
        await promise;
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected the evaluation to fail");
}

describe("mock runtime", () => {
    const provider = () => new aws.Provider("test-region", { region: "eu-west-1" });

    it("records the options the engine receives: protect, retainOnDelete, dependsOn, parent, provider and region", async () => {
        const ev = await evaluateStack("production", {
            program: () => {
                const p = provider();
                const first = new aws.s3.BucketV2("first", {}, { provider: p });
                new aws.s3.BucketV2("second", {}, { provider: p, protect: true, retainOnDelete: true, dependsOn: [first] });
            },
        });
        const first = ev.resources.find((r) => r.name === "first")!;
        const second = ev.resources.find((r) => r.name === "second")!;
        expect(first.opts).to.include({ protect: false, retainOnDelete: false });
        expect(second.opts).to.include({ protect: true, retainOnDelete: true });
        expect(second.opts.dependsOn).to.deep.equal([first.urn]);
        expect(second.region).to.equal("eu-west-1");
        expect(second.provider).to.match(/pulumi:providers:aws::test-region$/);
        expect(second.parent).to.match(/pulumi:pulumi:Stack::genie-infra-production$/);
        expect(second.outputs.arn).to.equal("arn:aws:s3:::second");
    });

    it("fails an invoke it has no answer for, naming the token", async () => {
        const err = await failureOf(
            evaluateStack("production", {
                program: () => {
                    const p = provider();
                    const vpc = aws.ec2.getVpcOutput({ default: true }, { provider: p });
                    new aws.ec2.SecurityGroup("sg", { vpcId: vpc.id }, { provider: p });
                },
            }),
        );
        expect(err).to.be.instanceOf(EvaluationError);
        expect(err.message).to.include("no answer for invoke aws:ec2/getVpc:getVpc");
    });

    it("fails a resource whose input holds a stringified Output", async () => {
        const err = await failureOf(
            evaluateStack("production", {
                program: () => {
                    const p = provider();
                    const bucket = new aws.s3.BucketV2("logs", {}, { provider: p });
                    // The classic bug: an Output in a template literal (what the lint rule forbids).
                    const prefix = "" + (bucket.arn as unknown as string) + "/";
                    new aws.s3.BucketV2("copy", { tags: { source: prefix } }, { provider: p });
                },
            }),
        );
        expect(err.message).to.include("aws:s3/bucketV2:BucketV2 copy: an input holds a stringified Output");
    });

    it("never records a secret in plain text", async () => {
        const ev = await evaluateStack("production", {
            program: () => {
                const p = provider();
                const password = new random.RandomPassword("db-password", { length: 32 });
                const secret = new aws.secretsmanager.Secret("db", {}, { provider: p });
                new aws.secretsmanager.SecretVersion("db", { secretId: secret.id, secretString: password.result }, { provider: p });
                return { password: password.result };
            },
        });
        const version = ev.resources.find((r) => r.type === AWS_TYPES.secretVersion)!;
        expect(version.props.secretString).to.equal(REDACTED);
        expect(version.secretProps).to.deep.equal(["secretString"]);
        expect(JSON.stringify(ev)).not.to.include("mock-secret-db-password");
        expect(ev.outputs.password).to.equal(REDACTED);
    });

    it("answers a StackReference with the given outputs, or fails it as an outage", async () => {
        const program = () => {
            const ref = new pulumi.StackReference("organization/genie-infra/production");
            return { dbArn: ref.getOutput("databaseArn") };
        };
        const ok = await evaluateStack("dr", { program, stackReference: { databaseArn: "arn:aws:rds:us-east-1:123456789012:db:genie" } });
        expect(ok.outputs.dbArn).to.equal("arn:aws:rds:us-east-1:123456789012:db:genie");
        const err = await failureOf(evaluateStack("dr", { program, stackReference: "unavailable" }));
        expect(err.message).to.include("cannot be read");
    });

    it("skips the SDK's per-promise debug stack offline, and keeps it (naming the program's frame) with GENIE_PROMISE_STACKS=1", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const debuggable = require("@pulumi/pulumi/runtime/debuggable");
        const original = debuggable.debuggablePromise;
        const stackOfAPromiseMadeHere = async () => {
            let trace = "";
            await evaluateStack("production", {
                program: async () => {
                    const made: any = Promise.resolve(1);
                    await debuggable.debuggablePromise(made, "made by the test program");
                    trace = made._debugStackTrace;
                },
            });
            return trace;
        };
        expect(await stackOfAPromiseMadeHere()).to.equal("Error");
        process.env.GENIE_PROMISE_STACKS = "1";
        try {
            expect(await stackOfAPromiseMadeHere()).to.include("mock-runtime.test.ts");
        } finally {
            delete process.env.GENIE_PROMISE_STACKS;
        }
        // Put back after every evaluation: the SDK outside an evaluation is untouched.
        expect(debuggable.debuggablePromise).to.equal(original);
    });

    it("a failed evaluation's late errors stay its own: the next evaluation is not failed by them", async () => {
        const err = await failureOf(evaluateStack("production", { config: { appMinSize: "0" } }));
        expect(err.message).to.include("appMinSize");
        const next = await evaluateStack("production");
        expect(next.resources.length).to.be.greaterThan(100);
    });

    it("names the stacks it knows when asked for another", async () => {
        const err = await failureOf(evaluateStack("staging"));
        expect(err.message).to.match(/unknown stack "staging".*stacks: dr, production/);
    });
});
