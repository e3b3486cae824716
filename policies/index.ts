/**
 * The policy pack's entry: `pulumi preview --policy-pack policies`. The ONLY file that constructs the
 * PolicyPack (constructing one starts the analyzer's gRPC server); rules live in ./rules.
 */
import { PolicyPack } from "@pulumi/policy";
import { ALL_RULES } from "./rules";

new PolicyPack("genie-dr-policies", {
    description: "Genie AI Server disaster recovery plan: retention, replication, protection, high availability and alerting rules.",
    enforcementLevel: "mandatory",
    policies: ALL_RULES,
});
