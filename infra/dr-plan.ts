/**
 * The Genie AI Server disaster recovery plan, as numbers: `policies/dr-plan.ts` is the one copy (the
 * policy pack's folder must be self-contained to be published); the program reads it from here.
 */
export { DR_PLAN } from "../policies/dr-plan";
export type { DrPlan } from "../policies/dr-plan";
