/**
 * IAM documents the components share. A role that one AWS service assumes trusts that service's
 * principal only (IAM User Guide, "Creating a role to delegate permissions to an AWS service").
 */

/** The trust policy of a role that `service` (e.g. "lambda.amazonaws.com") assumes. */
export function serviceTrustPolicy(service: string): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });
}
