/** Small readers of recorded input values, shared by the rule modules. */

/** A value given as one item or a list, as a list (none for undefined/null). */
export const list = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** True when an input is set (not undefined, null or the empty string). */
export const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** A rule's findings as `AwsRule.check` returns them: undefined when there are none. */
export const orNone = (problems: string[]): string[] | undefined => (problems.length > 0 ? problems : undefined);
