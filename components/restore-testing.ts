import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PrebuiltRole } from "./backup-plan";
import { serviceTrustPolicy } from "./iam";

/** Weekly restore test (plan: "Weekly Validation: Restore test"): Mondays 06:00 UTC, newest recovery point. */
export const WEEKLY_RESTORE_TEST_SCHEDULE = "cron(0 6 ? * MON *)";
/** Monthly restore test (plan: "Monthly Tests: Database restore test"): the 1st, 06:00 UTC, a random point. */
export const MONTHLY_RESTORE_TEST_SCHEDULE = "cron(0 6 1 * ? *)";
/** Hours a restored database is kept for validation before AWS Backup deletes it. */
export const RESTORE_VALIDATION_WINDOW_HOURS = 24;

export interface RestoreTestingArgs {
    /** AWS Backup restore-testing names allow letters, digits and underscores only; e.g. "genie_primary". */
    namePrefix: string;
    /** The vault whose recovery points are tested. */
    vaultArn: pulumi.Input<string>;
    /** The weekly test restores the newest point of the last `weeklyWindowDays` days. */
    weeklyWindowDays: number;
    /** The monthly test restores a random point of the last `monthlyWindowDays` days (the daily retention). */
    monthlyWindowDays: number;
    /** Tag that selects the database to restore (the backup plan's selection tag). */
    selectionTag: { key: string; value: string };
    /**
     * Where the restored database lands: the isolated data subnets (the database's DB subnet group) and
     * the database tier's security groups. Without them AWS Backup infers the default VPC, and "if the
     * default is not present, for example the default VPC or subnet has been deleted and no metadata
     * override has been input, the restore will not be successful" (AWS Backup Developer Guide,
     * restore-testing-inferred-metadata.html; `dbSubnetGroupName` and `vpcSecurityGroupIds` are among
     * the overridable keys of "Amazon RDS instances"). A restored copy must not land in a public default
     * VPC either.
     */
    restoreTarget: { dbSubnetGroupName: pulumi.Input<string>; vpcSecurityGroupIds: pulumi.Input<string>[] };
    /**
     * The restore role when the stack declares it outside this component ({@link restoreTestingRole}):
     * a DR site declares it whatever its role, so that a failover run creates no IAM resource. None:
     * the component declares its own (the primary site).
     */
    role?: PrebuiltRole;
}

/**
 * The role AWS Backup restore testing assumes: `<name>-role`, trusted by backup.amazonaws.com, with
 * AWS Backup's service-role policy for restores (`<name>-restores`). It names no plan or vault.
 */
export function restoreTestingRole(name: string, opts: pulumi.CustomResourceOptions): PrebuiltRole {
    const role = new aws.iam.Role(`${name}-role`, {
        assumeRolePolicy: serviceTrustPolicy("backup.amazonaws.com"),
    }, opts);
    const attachment = new aws.iam.RolePolicyAttachment(`${name}-restores`, {
        role: role.name,
        policyArn: "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    }, opts);
    return { arn: role.arn, dependsOn: [attachment] };
}

/**
 * The restore metadata overrides of an RDS restore test: the values are strings, a list as its JSON
 * text (`vpcSecurityGroupIds: "[\"sg-...\"]"`), as the restore job's metadata carries it.
 */
export function rdsRestoreMetadataOverrides(target: RestoreTestingArgs["restoreTarget"]): Record<string, pulumi.Input<string>> {
    return { dbSubnetGroupName: target.dbSubnetGroupName, vpcSecurityGroupIds: pulumi.jsonStringify(pulumi.output(target.vpcSecurityGroupIds)) };
}

/**
 * The plan's restore tests, run by AWS Backup restore testing: a weekly plan that restores the newest
 * recovery point and a monthly plan that restores a random one within the window, each with a
 * selection of the tagged database and a validation window after which the restored copy is deleted.
 * The restored copy lands in the isolated data subnets behind the database tier's security group.
 */
export class RestoreTesting extends pulumi.ComponentResource {
    readonly weeklyPlanName: pulumi.Output<string>;
    readonly monthlyPlanName: pulumi.Output<string>;

    constructor(name: string, args: RestoreTestingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:backup:RestoreTesting", name, {}, opts);
        if (!/^[A-Za-z0-9_]+$/.test(args.namePrefix)) {
            throw new Error(`RestoreTesting ${name}: namePrefix ${JSON.stringify(args.namePrefix)} may hold letters, digits and underscores only`);
        }
        const parent = { parent: this };
        const overrides = rdsRestoreMetadataOverrides(args.restoreTarget);
        // The role AWS Backup restores as: this component's own, or one the stack declared before
        // (a DR site declares it in every role: see restoreTestingRole).
        const role = args.role ?? restoreTestingRole(name, parent);

        const test = (cadence: "weekly" | "monthly", schedule: string, algorithm: string, windowDays: number) => {
            const plan = new aws.backup.RestoreTestingPlan(`${name}-${cadence}`, {
                name: `${args.namePrefix}_${cadence}`,
                scheduleExpression: schedule,
                startWindowHours: 24,
                recoveryPointSelection: {
                    algorithm,
                    includeVaults: [args.vaultArn],
                    recoveryPointTypes: ["SNAPSHOT", "CONTINUOUS"],
                    selectionWindowDays: windowDays,
                },
            }, parent);
            new aws.backup.RestoreTestingSelection(`${name}-${cadence}-database`, {
                name: `${args.namePrefix}_${cadence}_database`,
                restoreTestingPlanName: plan.name,
                protectedResourceType: "RDS",
                protectedResourceArns: ["*"],
                protectedResourceConditions: {
                    stringEquals: [{ key: `aws:ResourceTag/${args.selectionTag.key}`, value: args.selectionTag.value }],
                },
                iamRoleArn: role.arn,
                validationWindowHours: RESTORE_VALIDATION_WINDOW_HOURS,
                restoreMetadataOverrides: overrides,
            }, { parent: this, dependsOn: role.dependsOn });
            return plan;
        };
        this.weeklyPlanName = test("weekly", WEEKLY_RESTORE_TEST_SCHEDULE, "LATEST_WITHIN_WINDOW", args.weeklyWindowDays).name;
        this.monthlyPlanName = test("monthly", MONTHLY_RESTORE_TEST_SCHEDULE, "RANDOM_WITHIN_WINDOW", args.monthlyWindowDays).name;

        this.registerOutputs({ weeklyPlanName: this.weeklyPlanName, monthlyPlanName: this.monthlyPlanName });
    }
}
