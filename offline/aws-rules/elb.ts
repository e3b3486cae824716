/** Rules of this service that AWS or the provider enforces at `pulumi up` (see ./types.ts). */
import type { AwsRule } from "./types";

export const rules: AwsRule[] = [];
