/**
 * Changes between two evaluations of one stack (a change of site role, a config change) that AWS or
 * the provider carries out as a replacement, or refuses: a protected, stateful resource must never
 * need one. `checkTransition(before, after)` compares the resources both declare, by URN.
 */
import type { RecordedResource } from "../mock-runtime";
import {
    BACKUPS_REPLICATION_REPLACE_ON_CHANGE,
    BACKUPS_REPLICATION_REPLACE_ON_CHANGE_SOURCE,
    RDS_REPLACE_ON_CHANGE,
    RDS_REPLACE_ON_CHANGE_SOURCE,
} from "./rds";
import type { AwsRuleViolation } from "./types";

/** A type's inputs whose change replaces the resource (the Terraform provider's ForceNew), with the source. */
export interface ReplaceOnChange {
    inputs: readonly string[];
    source: string;
}

/** Per type token: the inputs whose change forces a replacement. Filled per service. */
export const REPLACE_ON_CHANGE: Record<string, ReplaceOnChange> = {
    "aws:rds/instance:Instance": { inputs: RDS_REPLACE_ON_CHANGE, source: RDS_REPLACE_ON_CHANGE_SOURCE },
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": {
        inputs: BACKUPS_REPLICATION_REPLACE_ON_CHANGE,
        source: BACKUPS_REPLICATION_REPLACE_ON_CHANGE_SOURCE,
    },
};

/** An update AWS or the provider refuses outright (not a replacement): checked on each pair. */
export interface RefusedUpdate {
    id: string;
    types: readonly string[];
    source: string;
    check(before: RecordedResource, after: RecordedResource): string | undefined;
}

export const REFUSED_UPDATES: RefusedUpdate[] = [
    {
        id: "rds-cannot-elect-new-source",
        types: ["aws:rds/instance:Instance"],
        source:
            "hashicorp/terraform-provider-aws internal/service/rds/instance.go, resourceInstanceUpdate: a change of replicate_source_db to \"\" calls PromoteReadReplica, any other change fails with \"cannot elect new source database for replication\"; " +
            "node_modules/@pulumi/aws/rds/instance.d.ts: \"Removing the \`replicateSourceDb\` attribute from an existing RDS Replicate database managed by the provider will promote the database to a fully standalone database\"",
        check(before, after) {
            const was = before.props.replicateSourceDb ?? "";
            const is = after.props.replicateSourceDb ?? "";
            if (was === is || is === "") return undefined;
            return was === ""
                ? `setting replicateSourceDb (${JSON.stringify(is)}) on a standalone instance is refused ("cannot elect new source database for replication"): making it a replica again means deleting it (final snapshot) and creating a new replica`
                : `changing replicateSourceDb from ${JSON.stringify(was)} to ${JSON.stringify(is)} is refused ("cannot elect new source database for replication")`;
        },
    },
];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The violations of going from `before` to `after`: replacements of protected resources and refused
 * updates. An input `after` lists in `ignoreChanges` keeps its old value, as the engine does.
 */
export function checkTransition(before: readonly RecordedResource[], after: readonly RecordedResource[]): AwsRuleViolation[] {
    const previous = new Map(before.filter((r) => r.custom).map((r) => [r.urn, r]));
    const violations: AwsRuleViolation[] = [];
    for (const declared of after) {
        const prev = previous.get(declared.urn);
        if (!prev || !declared.custom) continue;
        const ignored = declared.opts.ignoreChanges ?? [];
        const next: RecordedResource =
            ignored.length === 0 ? declared : { ...declared, props: { ...declared.props, ...Object.fromEntries(ignored.filter((k) => k in prev.props).map((k) => [k, prev.props[k]])) } };
        const replace = REPLACE_ON_CHANGE[next.type];
        if (replace && (prev.opts.protect || next.opts.protect)) {
            const changed = replace.inputs.filter((k) => !same(prev.props[k], next.props[k]));
            if (changed.length > 0) {
                violations.push({
                    rule: "no-replacement-of-protected",
                    source: replace.source,
                    urn: next.urn,
                    type: next.type,
                    name: next.name,
                    message: `changing ${changed.join(", ")} replaces this protected resource (${changed.map((k) => `${k}: ${JSON.stringify(prev.props[k])} -> ${JSON.stringify(next.props[k])}`).join("; ")}); pulumi up refuses to delete a protected resource`,
                });
            }
        }
        for (const refused of REFUSED_UPDATES) {
            if (!refused.types.includes(next.type)) continue;
            const message = refused.check(prev, next);
            if (message) violations.push({ rule: refused.id, source: refused.source, urn: next.urn, type: next.type, name: next.name, message });
        }
    }
    return violations;
}
