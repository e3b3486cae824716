/** ECR: "Docker Images: Registry: Container registry with versioning, Retention: Keep last 10 versions of each image". */
import { DR_PLAN } from "../dr-plan";
import { asArray, fix, forTypes, guard, jsonDocument, known, label, pointsAt, regionOf, Rule, settingsOf, T } from "./common";

export const ecrScanOnPush: Rule = {
    name: "ecr-scan-on-push",
    description: "Docker Images, container registry: every repository scans images on push.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.repository, (props, _args, report) => {
        if (props.imageScanningConfiguration?.scanOnPush !== true) report(`imageScanningConfiguration.scanOnPush is not true${fix("set imageScanningConfiguration: { scanOnPush: true }")}`);
    }),
};

/**
 * Problems of an ECR lifecycle policy document that could leave fewer than `keep` versions of an
 * image. ECR semantics (ECR User Guide, LifecyclePolicies): an image is expired by at most one rule,
 * the lowest rulePriority whose selection matches it; untagged images are not versions (the
 * documented pattern "expire untagged images after N days, keep the last N tagged" is fine). Every
 * rule that may expire TAGGED images must count them (imageCountMoreThan) with a count of at least
 * `keep`: expiring tagged images by age can leave fewer than `keep`. And some rule must keep the last
 * `keep` (any or tagged), or nothing says how many are kept.
 */
export function lifecycleProblems(policy: unknown, keep: number): string[] {
    const doc = jsonDocument(policy);
    if (!doc) return ["the lifecycle policy is not a JSON document"];
    const problems: string[] = [];
    const rules = asArray<any>(doc.rules);
    const touchesTagged = (sel: any) => sel.tagStatus !== "untagged";
    for (const r of rules) {
        const sel = r.selection ?? {};
        if (r.action?.type !== "expire" || !touchesTagged(sel)) continue;
        const which = `${sel.tagStatus ?? "any"}${asArray(sel.tagPrefixList).length > 0 ? ` (prefix ${asArray(sel.tagPrefixList).join(",")})` : ""}${asArray(sel.tagPatternList).length > 0 ? ` (pattern ${asArray(sel.tagPatternList).join(",")})` : ""}`;
        if (sel.countType === "sinceImagePushed") problems.push(`rule ${r.rulePriority} expires ${which} images by age (${sel.countNumber} ${sel.countUnit ?? "days"}), which can leave fewer than ${keep}`);
        else if (sel.countType === "imageCountMoreThan" && !(sel.countNumber >= keep)) problems.push(`rule ${r.rulePriority} keeps only ${sel.countNumber} ${which} images, fewer than ${keep}`);
        else if (sel.countType !== "imageCountMoreThan" && sel.countType !== "sinceImagePushed") problems.push(`rule ${r.rulePriority} has countType ${sel.countType ?? "unset"}`);
    }
    if (!rules.some((r) => r.action?.type === "expire" && r.selection?.countType === "imageCountMoreThan" && touchesTagged(r.selection))) {
        problems.push(`no rule keeps the last ${keep} versions (imageCountMoreThan on tagged or any images)`);
    }
    return problems;
}

export const ecrImmutableTags: Rule = {
    name: "ecr-immutable-tags",
    description:
        'Docker Images, "Registry: Container registry with versioning": every repository has immutable tags, so a version tag always names the same image and "the last 10 versions" are real versions: imageTagMutability IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION whose exclusion filters name literal tags only (e.g. "latest"; a wildcard filter such as "*" or "v*" would let version tags move).',
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.repository, (props, _args, report) => {
        guard(report, "imageTagMutability", () => {
            const m = props.imageTagMutability;
            if (m === "IMMUTABLE") return;
            if (m !== "IMMUTABLE_WITH_EXCLUSION") {
                report(`imageTagMutability is ${m ?? "unset (MUTABLE)"}${fix('set imageTagMutability: "IMMUTABLE"')}`);
                return;
            }
            // "imageTagMutabilityExclusionFilters: filters to specify which image tags can override the default tag mutability
            // setting ... can contain a maximum of 2 wildcards (*)" (aws 7.48, ecr Repository): an excluded tag is mutable.
            const filters = asArray<any>(props.imageTagMutabilityExclusionFilters).map((f) => String(f.filter));
            const wild = filters.filter((f) => f.includes("*"));
            if (wild.length > 0) report(`imageTagMutability IMMUTABLE_WITH_EXCLUSION with wildcard exclusion filter(s) ${wild.map((f) => JSON.stringify(f)).join(", ")}: every tag they match can be moved to another image${fix('exclude literal tags only (e.g. "latest"), or use imageTagMutability: "IMMUTABLE"')}`);
        });
    }),
};

/** ECR replication filter semantics: PREFIX_MATCH on the repository name (ECR API ReplicationConfiguration, RepositoryFilter). No filter: every repository. */
const filterMatches = (rule: any, name: string) => {
    const filters = asArray<any>(rule.repositoryFilters);
    return filters.length === 0 || filters.some((f) => (f.filterType ?? "PREFIX_MATCH") === "PREFIX_MATCH" && name.startsWith(String(f.filter)));
};

export const ecrReplication: Rule = {
    name: "ecr-replication",
    description:
        'Docker Images, "Registry: Container registry with versioning" in the recovery region: every repository of the serving site is replicated to another region by a registry replication rule whose repository filter matches its name.',
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const configs = args.resources.filter((r) => r.type === T.registryReplication);
        for (const repo of args.resources.filter((r) => r.type === T.repository)) {
            guard(report, `${label(repo)}: its replication`, () => {
                const name = known(() => repo.props.name) as string;
                const home = regionOf(repo);
                const ok = configs.filter((c) => regionOf(c) === home).some((c) =>
                    asArray<any>(c.props.replicationConfiguration?.rules).some((r) => filterMatches(r, name) && asArray<any>(r.destinations).some((d) => d.region && d.region !== home)),
                );
                if (!ok) report(`${label(repo)}: no registry replication rule of ${home ?? "its region"} matches "${name}" and replicates it to another region${fix(`add to aws.ecr.ReplicationConfiguration a rule { destinations: [{ region: <DR region>, registryId }], repositoryFilters: [{ filter: "${name}", filterType: "PREFIX_MATCH" }] }`)}`, repo.urn);
            }, repo.urn);
        }
    },
};
export const ecrLifecycleKeepsImages: Rule = {
    name: "ecr-lifecycle-keeps-images",
    description: 'Docker Images, "Retention: Keep last 10 versions of each image": every repository has a lifecycle policy that expires images only beyond the last 10.',
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { imagesKept: { type: "integer", default: DR_PLAN.imageVersionsKept, description: "Least number of image versions a repository keeps." } },
    },
    validateStack: (args, report) => {
        const { imagesKept } = settingsOf<{ imagesKept: number }>(ecrLifecycleKeepsImages.configSchema!, args);
        const policies = args.resources.filter((r) => r.type === T.repositoryLifecycle);
        for (const repo of args.resources.filter((r) => r.type === T.repository)) {
            const mine = policies.filter((p) => pointsAt(p, "repository", known(() => p.props.repository), repo) !== false && regionOf(p) === regionOf(repo));
            const how = `add aws.ecr.LifecyclePolicy { repository: repo.name, policy: rules [{ selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: ${imagesKept} }, action: { type: "expire" } }] }`;
            if (mine.length === 0) report(`${label(repo)}: no lifecycle policy${fix(how)}`, repo.urn);
            // Each policy in its own guard: one document unknown in a preview leaves the others decided.
            for (const p of mine) guard(report, `${label(p)}: its lifecycle policy`, () => {
                for (const problem of lifecycleProblems(p.props.policy, imagesKept)) report(`${label(repo)}: ${problem}${fix(how)}`, p.urn);
            }, p.urn);
        }
    },
};

export const REGISTRY_RULES: Rule[] = [ecrScanOnPush, ecrImmutableTags, ecrLifecycleKeepsImages, ecrReplication];
