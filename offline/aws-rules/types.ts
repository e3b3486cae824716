/**
 * The shape of the offline runtime's "pretend AWS" rules: what AWS or the provider refuses at
 * `pulumi up`, checked on the resources an evaluation recorded. The mock runtime accepts any input;
 * these rules are what make a green offline plan mean a deployable program.
 *
 * Every rule cites its source (a provider doc comment in node_modules/@pulumi/aws, an AWS guide or
 * API reference page, a provider issue): a rule without a source is a guess, and guesses do not
 * belong here.
 */
import type { RecordedResource } from "../mock-runtime";

/** What a rule sees besides the resource it checks: every other resource of the evaluation. */
export interface RuleContext {
    readonly resources: readonly RecordedResource[];
    /**
     * Custom resources of one type token (e.g. `aws:rds/instance:Instance`) that exist in the account:
     * this stack's, then those of the stack it references (the production stack, for a dr evaluation).
     */
    ofType(type: string): RecordedResource[];
    /**
     * The resource a URN, an id, an ARN or a name given to another resource points at: declared by this
     * stack, or else by the stack it references (the production stack, for a dr evaluation).
     */
    resolve(ref: unknown, type?: string): RecordedResource | undefined;
    /**
     * True when `from` is ordered after a resource matching `target` (dependsOn or an input), at any
     * depth, or when such a resource already exists (declared by the referenced stack).
     */
    dependsOn(from: RecordedResource, target: (r: RecordedResource) => boolean): boolean;
    /**
     * The stack's config as the engine passes it (`project:key` → value): what the operator states
     * about the account that the pretend AWS cannot see (e.g. a service-linked role that already exists).
     */
    readonly config?: Readonly<Record<string, string>>;
    /** True for a resource another stack of the account declares (it exists before this run). */
    declaredElsewhere(r: RecordedResource): boolean;
}

/** A rule on one resource type's create/update inputs (and, where needed, its neighbours). */
export interface AwsRule {
    /** Short stable id, shown in the failure: `rds-replica-subnet-group-needs-arn`. */
    id: string;
    /** The type tokens the rule inspects. */
    types: readonly string[];
    /** Where AWS or the provider says so: a doc path or URL and, ideally, the sentence quoted. */
    source: string;
    /** The refusal, in the words an operator would need to fix it; undefined when the resource passes. */
    check(resource: RecordedResource, ctx: RuleContext): string | string[] | undefined;
}

/** A finding: the resource, the rule and why, as the offline plan reports it. */
export interface AwsRuleViolation {
    rule: string;
    source: string;
    urn: string;
    type: string;
    name: string;
    message: string;
}
