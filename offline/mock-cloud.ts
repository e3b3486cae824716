/**
 * What the mock runtime's pretend AWS answers: deterministic ids, ARNs and the computed outputs the
 * program reads, and the invokes (data sources) the program makes. An invoke it does not know is an
 * error that names the token, never a silent empty answer.
 */

import { createHash } from "crypto";
import { AWS_TYPES } from "../policies/aws-types";

export const MOCK_ACCOUNT_ID = "123456789012";

type Inputs = Record<string, any>;

/** `aws:s3/bucketV2:BucketV2` → `s3`. */
function service(type: string): string {
    return type.split(":")[1]?.split("/")[0] ?? "unknown";
}

/** `aws:s3/bucketV2:BucketV2` → `BucketV2`. */
function kind(type: string): string {
    return type.split(":")[2] ?? type;
}

/** Outputs AWS computes on create, as far as the program reads them. */
export function computedOutputs(type: string, name: string, id: string, region: string | undefined, inputs: Inputs): Inputs {
    const r = region ?? "us-east-1";
    const physical = inputs.name ?? name;
    const out: Inputs = { arn: inputs.arn ?? `arn:aws:${service(type)}:${r}:${MOCK_ACCOUNT_ID}:${kind(type).toLowerCase()}/${physical}` };
    if (inputs.name === undefined && type.startsWith("aws:")) out.name = name;
    switch (type) {
        case AWS_TYPES.bucket:
        case AWS_TYPES.bucketV2: {
            const bucket = inputs.bucket ?? name;
            Object.assign(out, {
                bucket,
                arn: `arn:aws:s3:::${bucket}`,
                bucketDomainName: `${bucket}.s3.amazonaws.com`,
                bucketRegionalDomainName: `${bucket}.s3.${r}.amazonaws.com`,
                region: r,
            });
            break;
        }
        case AWS_TYPES.kmsKey:
        case AWS_TYPES.kmsReplicaKey:
            Object.assign(out, { keyId: `${name}-key-id`, arn: `arn:aws:kms:${r}:${MOCK_ACCOUNT_ID}:key/${name}-key-id` });
            break;
        case AWS_TYPES.iamRole:
        case AWS_TYPES.iamPolicy:
        case AWS_TYPES.iamInstanceProfile:
            out.arn = `arn:aws:iam::${MOCK_ACCOUNT_ID}:${kind(type).charAt(0).toLowerCase() + kind(type).slice(1).replace("InstanceProfile", "instance-profile")}/${physical}`;
            break;
        case AWS_TYPES.logGroup:
            out.arn = `arn:aws:logs:${r}:${MOCK_ACCOUNT_ID}:log-group:${physical}`;
            break;
        case AWS_TYPES.topic:
            out.arn = `arn:aws:sns:${r}:${MOCK_ACCOUNT_ID}:${physical}`;
            break;
        case AWS_TYPES.repository:
            Object.assign(out, {
                arn: `arn:aws:ecr:${r}:${MOCK_ACCOUNT_ID}:repository/${physical}`,
                repositoryUrl: `${MOCK_ACCOUNT_ID}.dkr.ecr.${r}.amazonaws.com/${physical}`,
                registryId: MOCK_ACCOUNT_ID,
            });
            break;
        case AWS_TYPES.dbInstance: {
            const identifier = inputs.identifier ?? name;
            const address = `${identifier}.c0ffee.${r}.rds.amazonaws.com`;
            Object.assign(out, {
                identifier,
                arn: `arn:aws:rds:${r}:${MOCK_ACCOUNT_ID}:db:${identifier}`,
                address,
                endpoint: `${address}:5432`,
                port: inputs.port ?? 5432,
                resourceId: `db-${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
            });
            break;
        }
        case AWS_TYPES.cache:
            Object.assign(out, {
                arn: `arn:aws:elasticache:${r}:${MOCK_ACCOUNT_ID}:replicationgroup:${inputs.replicationGroupId ?? name}`,
                primaryEndpointAddress: `master.${name}.c0ffee.${r}.cache.amazonaws.com`,
                readerEndpointAddress: `replica.${name}.c0ffee.${r}.cache.amazonaws.com`,
                memberClusters: [`${name}-001`, `${name}-002`],
            });
            break;
        case AWS_TYPES.loadBalancer:
            Object.assign(out, {
                arn: `arn:aws:elasticloadbalancing:${r}:${MOCK_ACCOUNT_ID}:loadbalancer/app/${name}/0123456789abcdef`,
                arnSuffix: `app/${name}/0123456789abcdef`,
                dnsName: `${name}-123456789.${r}.elb.amazonaws.com`,
                zoneId: "Z35SXDOTRQ7X7K",
            });
            break;
        case AWS_TYPES.targetGroup:
            Object.assign(out, {
                arn: `arn:aws:elasticloadbalancing:${r}:${MOCK_ACCOUNT_ID}:targetgroup/${name}/0123456789abcdef`,
                arnSuffix: `targetgroup/${name}/0123456789abcdef`,
            });
            break;
        case AWS_TYPES.certificate: {
            const names = [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])];
            out.domainValidationOptions = names.map((domainName: string) => ({
                domainName,
                resourceRecordName: `_0123456789abcdef.${domainName}.`,
                resourceRecordType: "CNAME",
                resourceRecordValue: `_fedcba9876543210.acm-validations.aws.`,
            }));
            break;
        }
        case AWS_TYPES.autoscalingGroup:
            out.arn = `arn:aws:autoscaling:${r}:${MOCK_ACCOUNT_ID}:autoScalingGroup:0000:autoScalingGroupName/${physical}`;
            break;
        case AWS_TYPES.launchTemplate:
            Object.assign(out, { arn: `arn:aws:ec2:${r}:${MOCK_ACCOUNT_ID}:launch-template/lt-${name}`, latestVersion: 1, defaultVersion: 1 });
            break;
        case AWS_TYPES.route53Record:
            out.fqdn = String(inputs.name ?? name).replace(/\.$/, "");
            break;
        case AWS_TYPES.backupVault:
            out.arn = `arn:aws:backup:${r}:${MOCK_ACCOUNT_ID}:backup-vault:${physical}`;
            break;
        case AWS_TYPES.metricAlarm:
        case AWS_TYPES.compositeAlarm:
            out.arn = `arn:aws:cloudwatch:${r}:${MOCK_ACCOUNT_ID}:alarm:${inputs.alarmName ?? inputs.name ?? name}`;
            break;
        case AWS_TYPES.secret:
            out.arn = `arn:aws:secretsmanager:${r}:${MOCK_ACCOUNT_ID}:secret:${physical}-AbCdEf`;
            break;
        case AWS_TYPES.stateMachine:
            // "arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}" (Service
            // Authorization Reference, AWS Step Functions): a policy may name one before it exists.
            out.arn = `arn:aws:states:${r}:${MOCK_ACCOUNT_ID}:stateMachine:${physical}`;
            break;
        case "random:index/randomId:RandomId": {
            // Deterministic for the plan, and a function of the keepers: other keepers (a new incarnation of
            // what the id names) give another value, as the replaced RandomId draws new bytes in AWS's world.
            const prefix = String(inputs.prefix ?? "");
            const bytes = createHash("sha256").update(JSON.stringify([name, inputs.keepers ?? {}, inputs.byteLength])).digest().subarray(0, Number(inputs.byteLength) || 8);
            const b64Url = bytes.toString("base64url");
            Object.assign(out, { hex: prefix + bytes.toString("hex"), dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(), b64Std: prefix + bytes.toString("base64"), b64Url: prefix + b64Url, id: b64Url });
            delete out.arn;
            delete out.name;
            break;
        }
        case "random:index/randomPassword:RandomPassword":
            // Deterministic, recognisable and secret: a test searches the plan's output for it.
            Object.assign(out, { result: `mock-secret-${name}-Zq9`, bcryptHash: "mock-bcrypt" });
            delete out.arn;
            delete out.name;
            break;
        default:
            break;
    }
    return out;
}

/** Answers a data-source invoke, or throws naming the token. */
export function answerInvoke(token: string, inputs: Inputs, region: string | undefined): Inputs {
    const r = region ?? "us-east-1";
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones": {
            const letters = ["a", "b", "c", "d", "e", "f"];
            return {
                id: r,
                names: letters.map((l) => `${r}${l}`),
                zoneIds: letters.map((_, i) => `${r.replace(/-/g, "").slice(0, 4)}-az${i + 1}`),
                state: inputs.state,
            };
        }
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { id: MOCK_ACCOUNT_ID, accountId: MOCK_ACCOUNT_ID, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/offline-plan`, userId: "AIDAOFFLINEPLAN" };
        case "aws:index/getRegion:getRegion":
            return { id: r, name: r, region: r, description: r, endpoint: `ec2.${r}.amazonaws.com` };
        case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        case "aws:ec2/getAmi:getAmi":
            return {
                id: `ami-0${r.replace(/[^a-z0-9]/g, "")}0000000`.slice(0, 21),
                imageId: `ami-0${r.replace(/[^a-z0-9]/g, "")}0000000`.slice(0, 21),
                name: "al2023-ami-2023.9.20251201.0-kernel-6.1-x86_64",
                architecture: "x86_64",
                ownerId: "137112412989",
            };
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                id: MOCK_ACCOUNT_ID,
                authorizationToken: "bW9jazptb2Nr",
                userName: "AWS",
                password: "mock-ecr-password",
                proxyEndpoint: `https://${MOCK_ACCOUNT_ID}.dkr.ecr.${r}.amazonaws.com`,
                expiresAt: "2099-01-01T00:00:00Z",
            };
        default:
            throw new Error(
                `mock runtime: no answer for invoke ${token} (region ${region ?? "default provider"}); ` +
                    "add one to offline/mock-cloud.ts answerInvoke with the outputs the program reads",
            );
    }
}
