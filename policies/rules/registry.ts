/** ECR: "Docker Images: Registry: Container registry with versioning, Retention: Keep last 10 versions of each image". */
import { DR_PLAN } from "../../infra/dr-plan";
import { asArray, fix, forTypes, jsonDocument, label, refsOf, regionOf, Rule, settingsOf, T } from "./common";

export const ecrScanOnPush: Rule = {
    name: "ecr-scan-on-push",
    description: "Docker Images, container registry: every repository scans images on push.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(T.repository, (props, _args, report) => {
        if (props.imageScanningConfiguration?.scanOnPush !== true) report(`imageScanningConfiguration.scanOnPush is not true${fix("set imageScanningConfiguration: { scanOnPush: true }")}`);
    }),
};

/**
 * Problems of an ECR lifecycle policy document that could leave fewer than `keep` images: a rule
 * expiring images by age, or by count with a count below `keep`.
 */
export function lifecycleProblems(policy: unknown, keep: number): string[] {
    const doc = jsonDocument(policy);
    if (!doc) return ["the lifecycle policy is not a JSON document"];
    const problems: string[] = [];
    const rules = asArray<any>(doc.rules);
    for (const r of rules) {
        const sel = r.selection ?? {};
        if (r.action?.type !== "expire") continue;
        if (sel.countType === "sinceImagePushed") problems.push(`rule ${r.rulePriority} expires ${sel.tagStatus ?? "any"} images by age (${sel.countNumber} ${sel.countUnit ?? "days"}), which can leave fewer than ${keep}`);
        else if (sel.countType === "imageCountMoreThan" && sel.tagStatus !== "untagged" && !(sel.countNumber >= keep)) problems.push(`rule ${r.rulePriority} keeps only ${sel.countNumber} ${sel.tagStatus ?? "any"} images, fewer than ${keep}`);
    }
    if (!rules.some((r) => r.action?.type === "expire" && r.selection?.countType === "imageCountMoreThan" && r.selection?.tagStatus !== "untagged")) {
        problems.push(`no rule keeps the last ${keep} versions (imageCountMoreThan)`);
    }
    return problems;
}

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
            const refs = refsOf(repo);
            const mine = policies.filter((p) => refs.has(p.props.repository) && regionOf(p) === regionOf(repo));
            const how = `add aws.ecr.LifecyclePolicy { repository: repo.name, policy: rules [{ selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: ${imagesKept} }, action: { type: "expire" } }] }`;
            if (mine.length === 0) report(`${label(repo)}: no lifecycle policy${fix(how)}`, repo.urn);
            for (const p of mine) for (const problem of lifecycleProblems(p.props.policy, imagesKept)) report(`${label(repo)}: ${problem}${fix(how)}`, p.urn);
        }
    },
};

export const REGISTRY_RULES: Rule[] = [ecrScanOnPush, ecrLifecycleKeepsImages];
