/** Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts). */
import type { RecordedResource } from "../mock-runtime";
import type { AwsRule, RuleContext } from "./types";
import { list, orNone } from "./values";
import { AWS_TYPES } from "../../policies/aws-types";

const TEMPLATE = AWS_TYPES.repositoryCreationTemplate;
const REPLICATION = AWS_TYPES.registryReplication;
const REPOSITORY = AWS_TYPES.repository;


const PREFIX_DOC =
    'ECR API Reference, CreateRepositoryCreationTemplate, prefix: "a prefix of prod would apply to all repositories beginning with prod/ ... To apply a template to all repositories in your registry that don\'t have an associated creation template, you can use ROOT as the prefix. There is always an assumed / applied to the end of the prefix"; ECR User Guide, "Repository creation templates": "When there isn\'t a repository creation template that matches ..., Amazon ECR uses the default settings for the new repository"';

/** True when a creation template's prefix applies to a repository name (ROOT, or `<prefix>/...`). */
export function templateApplies(prefix: string, repositoryName: string): boolean {
    if (prefix === "ROOT") return true;
    return repositoryName.startsWith(`${prefix.replace(/\/$/, "")}/`);
}

/** Does a replication filter select a repository name? PREFIX_MATCH: the name starts with the filter (no "/" added). */
function filterSelects(filter: any, name: string): boolean {
    return filter?.filterType === "PREFIX_MATCH" && typeof filter.filter === "string" && name.startsWith(filter.filter);
}

/**
 * The repositories of this evaluation that a replication configuration copies into `region` of this
 * account's registry (ECR creates them there): per replication resource, the names it replicates.
 */
function replicatedInto(ctx: RuleContext, region: string | undefined): { replication: RecordedResource; names: string[] }[] {
    const repositories = ctx.ofType(REPOSITORY).map((r) => String(r.props.name ?? r.outputs.name));
    return ctx.ofType(REPLICATION).map((replication) => {
        const rules = list<any>(replication.props.replicationConfiguration?.rules);
        const names = rules
            .filter((rule) => list<any>(rule.destinations).some((d) => region === undefined || d.region === region))
            .flatMap((rule) => {
                const filters = list<any>(rule.repositoryFilters);
                return repositories.filter((name) => filters.length === 0 || filters.some((f) => filterSelects(f, name)));
            });
        return { replication, names: [...new Set(names)] };
    });
}

const appliesToReplication = (t: RecordedResource) => list<string>(t.props.appliedFors).includes("REPLICATION");

export const rules: AwsRule[] = [
    {
        id: "ecr-creation-template-prefix-matches",
        types: [TEMPLATE],
        source: PREFIX_DOC,
        check(template, ctx) {
            if (!appliesToReplication(template)) return undefined;
            const prefix = String(template.props.prefix ?? "");
            const replicated = replicatedInto(ctx, template.region).flatMap((r) => r.names);
            if (replicated.length === 0) return undefined;
            const unmatched = replicated.filter((name) => !templateApplies(prefix, name));
            if (unmatched.length < replicated.length) return undefined;
            return (
                `creation template prefix "${prefix}" applies to repositories named "${prefix.replace(/\/$/, "")}/...", not to the replicated ${unmatched.map((n) => `"${n}"`).join(", ")} ` +
                "(ECR appends \"/\" to a prefix): ECR creates the replica with its defaults (mutable tags, no lifecycle policy, AWS-managed key). Use ROOT, or a namespace the repository lives in"
            );
        },
    },
    {
        id: "ecr-creation-template-role",
        types: [TEMPLATE],
        source: 'ECR User Guide, "Repository creation templates", Repository creation role: "This role must be provided when using repository tags and/or KMS in the template, otherwise the repository creation will fail"',
        check(template) {
            const kms = list<any>(template.props.encryptionConfigurations).some((e) => typeof e.encryptionType === "string" && e.encryptionType.startsWith("KMS"));
            const tags = template.props.resourceTags && Object.keys(template.props.resourceTags).length > 0;
            if ((!kms && !tags) || template.props.customRoleArn) return undefined;
            return `the template uses ${kms ? "KMS encryption" : "resource tags"} without customRoleArn: ECR cannot create the repository from it`;
        },
    },
    {
        id: "ecr-replication-after-creation-template",
        types: [REPLICATION],
        source: PREFIX_DOC,
        check(replication, ctx) {
            const problems: string[] = [];
            for (const rule of list<any>(replication.props.replicationConfiguration?.rules)) {
                for (const destination of list<any>(rule.destinations)) {
                    const templates = ctx.ofType(TEMPLATE).filter((t) => appliesToReplication(t) && t.region === destination.region);
                    const names = replicatedInto(ctx, destination.region).find((r) => r.replication === replication)?.names ?? [];
                    const governing = templates.filter((t) => names.some((n) => templateApplies(String(t.props.prefix), n)));
                    for (const template of governing) {
                        if (!ctx.dependsOn(replication, (r) => r.urn === template.urn)) {
                            problems.push(
                                `replication to ${destination.region} is not ordered after the creation template ${template.name}: an image pushed before the template exists creates the replica with ECR's defaults; add dependsOn: [the template]`,
                            );
                        }
                    }
                }
            }
            return orNone(problems);
        },
    },
];
