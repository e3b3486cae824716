/**
 * Renders the `config:` block of Pulumi.yaml from infra/config-schema.ts, so the file can be
 * regenerated after a key changes: `npx ts-node offline/project-config-block.ts`.
 * A test fails when Pulumi.yaml and the schema disagree.
 */
import YAML from "yaml";
import { CONFIG_SCHEMA } from "../infra/config-schema";

export function projectConfigBlock(): Record<string, unknown> {
    const block: Record<string, unknown> = {
        "aws:region": { value: "us-east-1" },
    };
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
        block[key] = {
            type: spec.type,
            ...(spec.type === "array" ? { items: { type: "string" } } : {}),
            description: spec.description,
            ...("default" in spec ? { default: spec.default } : {}),
        };
    }
    return block;
}

if (require.main === module) {
    process.stdout.write(YAML.stringify({ config: projectConfigBlock() }, { lineWidth: 0 }));
}
