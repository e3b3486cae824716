// scripts/lib/plan.env: the DR plan's numbers the runbooks use, generated from DR_PLAN
// (infra/dr-plan.ts) so that the number lives in one place. test/runbooks/restore-safety.test.ts
// (test 6) checks the file equals this output. Regenerate after changing DR_PLAN:
//   node -r ./offline/register.js test/runbooks/support/plan-env.ts
import * as fs from "fs";
import * as path from "path";
import { DR_PLAN } from "../../../infra/dr-plan";

export const PLAN_ENV = path.resolve(__dirname, "..", "..", "..", "scripts", "lib", "plan.env");

export function planEnv(): string {
  return [
    "# shellcheck shell=bash",
    "# Generated from DR_PLAN (infra/dr-plan.ts) by test/runbooks/support/plan-env.ts: do not edit.",
    "# Regenerate: node -r ./offline/register.js test/runbooks/support/plan-env.ts",
    "# The plan's retention of daily database backups: recovery.sh promote sets it on the promoted instance.",
    "# shellcheck disable=SC2034 # read by recovery.sh",
    `readonly PLAN_DB_DAILY_RETENTION_DAYS=${DR_PLAN.dbDailyRetentionDays}`,
    "",
  ].join("\n");
}

if (require.main === module) {
  fs.writeFileSync(PLAN_ENV, planEnv());
  console.log(`wrote ${PLAN_ENV}`);
}
