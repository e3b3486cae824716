import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config";

/**
 * The production stack's outputs the dr stack reads, each with the config key that can give it
 * instead. A value given in config is never read from the production stack, and the production
 * state is read (through a StackReference) only when a value the site needs is not in config: so a
 * DR site whose values are all in `Pulumi.dr.yaml` comes up while the primary region, or the state
 * backend's copy of the production stack, cannot be reached.
 */
export const PRODUCTION_OUTPUTS = {
    databaseArn: { output: "databaseArn", configKey: "primaryDatabaseArn" },
    databaseBackupsArn: { output: "databaseReplicatedBackupsArn", configKey: "primaryDatabaseBackupsArn" },
    databaseBackupsKmsKeyArn: { output: "databaseReplicatedBackupsKmsKeyArn", configKey: "primaryDatabaseBackupsKmsKeyArn" },
    backupVaultArn: { output: "backupVaultArn", configKey: "primaryBackupVaultArn" },
    drBackupsBucketName: { output: "drBackupsBucketName", configKey: "drBackupsBucketName" },
    appAutoScalingGroupArn: { output: "autoScalingGroupArn", configKey: "primaryAppAutoScalingGroupArn" },
    criticalAlarmArn: { output: "criticalAlarmArn", configKey: "primaryCriticalAlarmArn" },
} as const satisfies Record<keyof StackConfig["productionOverrides"], { output: string; configKey: string }>;

export type ProductionValue = keyof typeof PRODUCTION_OUTPUTS;

export interface ProductionOutputs {
    /** A value of the production stack: from config when given there, else from its state. */
    get(name: ProductionValue): pulumi.Output<string>;
}

export function productionOutputs(config: StackConfig): ProductionOutputs {
    let reference: pulumi.StackReference | undefined;
    return {
        get(name) {
            const fromConfig = config.productionOverrides[name];
            if (fromConfig !== undefined) return pulumi.output(fromConfig);
            reference ??= new pulumi.StackReference(config.productionStack);
            return reference.requireOutput(PRODUCTION_OUTPUTS[name].output).apply((v) => {
                if (typeof v !== "string" || v === "") {
                    throw new Error(
                        `the production stack ${config.productionStack} has no output ${PRODUCTION_OUTPUTS[name].output}; ` +
                            `set ${config.project}:${PRODUCTION_OUTPUTS[name].configKey} in Pulumi.${config.stack}.yaml instead`,
                    );
                }
                return v;
            });
        },
    };
}
