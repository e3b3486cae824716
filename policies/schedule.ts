// Over 300 lines on purpose: the project's one parser of AWS cron/rate expressions (fields, time zones,
// windows, start and end dates), published with the pack; mostly documented edge cases.
/**
 * AWS schedule expressions, read exactly: the worst-case gap between two consecutive runs of a
 * `cron(...)` or `rate(...)` expression. The ONE parser of the project: every rule of the policy pack
 * and the offline recovery posture use it.
 *
 * Syntax (Amazon EventBridge User Guide, "Cron expressions reference",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html, which AWS Backup's
 * `ScheduleExpression` refers to): six fields `cron(minutes hours day-of-month month day-of-week year)`:
 *
 * | field        | values              | wildcards        |
 * |--------------|---------------------|------------------|
 * | minutes      | 0-59                | , - * /          |
 * | hours        | 0-23                | , - * /          |
 * | day-of-month | 1-31                | , - * ? / L W    |
 * | month        | 1-12 or JAN-DEC     | , - * /          |
 * | day-of-week  | 1-7 or SUN-SAT      | , - * ? L #      |
 * | year         | 1970-2199           | , - * /          |
 *
 * "You can't use * in both the Day-of-month and Day-of-week fields. If you use it in one, you must use
 * ? in the other"; `L` is the last day of the month (day-of-month) or of the week (day-of-week, i.e.
 * SAT; `5L` the month's last Thursday); `3W` the weekday nearest the 3rd (never leaving the month; `LW`
 * the month's last weekday); `3#2` the month's second Tuesday, and "If you use the '#' character, you
 * can define only one expression in the day-of-week field". A range whose end precedes its start wraps
 * (`FRI-MON`, `MON-SUN` = every day), as in Quartz, whose syntax AWS's follows. Rate expressions:
 * `rate(value unit)`, unit minute(s) | hour(s) | day(s), "If the value is equal to 1, then the unit
 * must be singular ... for values greater than 1, the unit must be plural"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html). AWS
 * Backup takes cron only ("A cron expression in UTC specifying when Backup initiates a backup job",
 * BackupRule.ScheduleExpression, AWS Backup API reference).
 *
 * How the gap is computed: the minutes and hours fields give the same set of fire minutes on every day
 * the day fields select; the day fields are evaluated month by month over 29 calendar years (the
 * Gregorian weekday/leap-year cycle repeats every 28 years between 1901 and 2099, so every transition
 * between firing days, `#5` months and 29 Februaries included, occurs in the window), and the worst gap
 * is the larger of the longest gap inside a firing day and the longest from a firing day's last run to
 * the next firing day's first. About 10,600 days per expression: well under a few milliseconds. A
 * schedule that fires on one day only in the window (however many times that day) has an infinite gap.
 * In a time zone other than UTC, the runs around each daylight-saving change are then placed on the real
 * time line (see {@link dstGap}). {@link jobGapHours} adds what a job's own settings add: a flexible or
 * start window, a future start date, an end date.
 */

export class ScheduleError extends Error {
    constructor(
        readonly expression: string,
        readonly problem: string,
    ) {
        super(`schedule ${JSON.stringify(expression)}: ${problem}`);
    }
}

export type ScheduleKind = "cron" | "rate";

export interface ScheduleGap {
    kind: ScheduleKind;
    /** Worst-case minutes between two consecutive runs; Infinity when it runs at most once (or never) in the window, or stops. */
    minutes: number;
    /** The same in hours. */
    hours: number;
    /** Why the gap is infinite, when it is. */
    note?: string;
}

export interface ScheduleOptions {
    /** Which expression kinds are accepted (default both). AWS Backup plans take cron only. */
    kinds?: readonly ScheduleKind[];
    /** First year of the window (default: the current UTC year). */
    fromYear?: number;
    /**
     * The schedule's time zone (AWS Backup `scheduleExpressionTimezone`, EventBridge Scheduler
     * `scheduleExpressionTimezone`); default UTC. A cron expression runs on the zone's wall clock: around
     * each daylight-saving change the runs are placed on the real time line, a run in the skipped hour
     * dropped and a run in the repeated hour counted once (see {@link dstGap}). Rate expressions count
     * real time and are not affected.
     */
    timezone?: string;
}

const WINDOW_YEARS = 29;
const MAX_YEAR = 2199;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
    name: string;
    min: number;
    max: number;
    names?: string[];
}
const F = {
    minutes: { name: "minutes", min: 0, max: 59 },
    hours: { name: "hours", min: 0, max: 23 },
    dayOfMonth: { name: "day-of-month", min: 1, max: 31 },
    month: { name: "month", min: 1, max: 12, names: MONTHS },
    dayOfWeek: { name: "day-of-week", min: 1, max: 7, names: DAYS },
    year: { name: "year", min: 1970, max: MAX_YEAR },
} satisfies Record<string, FieldSpec>;

/** Day selectors of the day-of-month field beyond plain numbers. */
type DomItem = { kind: "day"; day: number } | { kind: "last" } | { kind: "lastWeekday" } | { kind: "nearestWeekday"; day: number };
/** Day selectors of the day-of-week field beyond plain weekdays (1 = SUN ... 7 = SAT). */
type DowItem = { kind: "weekday"; weekday: number } | { kind: "nth"; weekday: number; nth: number } | { kind: "lastOf"; weekday: number };

export interface CronSchedule {
    kind: "cron";
    minutes: number[];
    hours: number[];
    /** undefined: `?` (the other day field decides). */
    dayOfMonth?: DomItem[];
    months: boolean[];
    dayOfWeek?: DowItem[];
    /** undefined: every year. */
    years?: Set<number>;
}
export interface RateSchedule {
    kind: "rate";
    minutes: number;
}
export type ParsedSchedule = CronSchedule | RateSchedule;

/** Parses a `cron(...)` or `rate(...)` expression; throws a ScheduleError that names the part that is wrong. */
export function parseSchedule(expression: string, kinds: readonly ScheduleKind[] = ["cron", "rate"]): ParsedSchedule {
    const text = expression.trim();
    const rate = /^rate\((.*)\)$/i.exec(text);
    const cron = /^cron\((.*)\)$/i.exec(text);
    const allowed = kinds.map((k) => `${k}(...)`).join(" or ");
    if (rate && kinds.includes("rate")) return parseRate(expression, rate[1]);
    if (cron && kinds.includes("cron")) return parseCron(expression, cron[1]);
    if (rate || cron) throw new ScheduleError(expression, `${rate ? "rate" : "cron"} expressions are not accepted here; use ${allowed}`);
    throw new ScheduleError(expression, `not a schedule expression; use ${allowed}, e.g. cron(0 */6 * * ? *)${kinds.includes("rate") ? " or rate(6 hours)" : ""}`);
}

function parseRate(expression: string, body: string): RateSchedule {
    const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(body);
    if (!m) throw new ScheduleError(expression, "a rate expression is rate(value unit), e.g. rate(6 hours)");
    const [, value, unit] = m;
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new ScheduleError(expression, `rate value ${JSON.stringify(value)} must be a positive whole number`);
    const n = Number(value);
    const units: Record<string, number> = { minute: 1, hour: 60, day: 1440 };
    const singular = unit.replace(/s$/, "");
    if (!(singular in units)) throw new ScheduleError(expression, `rate unit ${JSON.stringify(unit)} must be minute(s), hour(s) or day(s)`);
    if ((n === 1) !== (singular === unit)) {
        throw new ScheduleError(expression, `rate unit must be ${n === 1 ? `singular for 1 (rate(1 ${singular}))` : `plural for values above 1 (rate(${n} ${singular}s))`}`);
    }
    return { kind: "rate", minutes: n * units[singular] };
}

function parseCron(expression: string, body: string): CronSchedule {
    const fields = body.trim().split(/\s+/);
    if (fields.length !== 6) {
        throw new ScheduleError(expression, `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has ${fields.length}`);
    }
    const [min, hour, dom, month, dow, year] = fields;
    const err = (field: FieldSpec, problem: string) => new ScheduleError(expression, `${field.name} field: ${problem}`);
    for (const [field, value] of [
        [F.minutes, min],
        [F.hours, hour],
        [F.month, month],
        [F.year, year],
    ] as const) {
        if (value === "?") throw err(field, "'?' is allowed only in day-of-month and day-of-week");
    }
    if (dom === "?" && dow === "?") throw new ScheduleError(expression, "day-of-month and day-of-week are both '?': one of them must name the days");
    if (dom !== "?" && dow !== "?") {
        throw new ScheduleError(expression, `day-of-month (${dom}) and day-of-week (${dow}) are both set: AWS requires '?' in one of them`);
    }
    const minutes = values(F.minutes, min, err);
    const hours = values(F.hours, hour, err);
    const monthSet = values(F.month, month, err);
    const months = Array.from({ length: 13 }, (_, i) => monthSet.includes(i));
    const years = year === "*" ? undefined : new Set(values(F.year, year, err));
    return {
        kind: "cron",
        minutes,
        hours,
        months,
        years,
        dayOfMonth: dom === "?" ? undefined : dayOfMonthItems(dom, err),
        dayOfWeek: dow === "?" ? undefined : dayOfWeekItems(dow, err),
    };
}

type Err = (field: FieldSpec, problem: string) => ScheduleError;

function number(field: FieldSpec, token: string, err: Err): number {
    const named = field.names?.indexOf(token.toUpperCase()) ?? -1;
    if (named >= 0) return named + 1;
    if (!/^\d+$/.test(token)) {
        throw err(field, `${JSON.stringify(token)} is not a number${field.names ? ` or a name (${field.names[0]}-${field.names[field.names.length - 1]})` : ""}`);
    }
    const n = Number(token);
    if (n < field.min || n > field.max) throw err(field, `${n} is outside ${field.min}-${field.max}`);
    return n;
}

/** The values of a field made of `*`, numbers, names, ranges (wrapping when reversed), steps and lists. */
function values(field: FieldSpec, text: string, err: Err): number[] {
    const out = new Set<number>();
    for (const item of text.split(",")) {
        if (item === "") throw err(field, `empty list item in ${JSON.stringify(text)}`);
        for (const v of itemValues(field, item, err)) out.add(v);
    }
    return [...out].sort((a, b) => a - b);
}

function itemValues(field: FieldSpec, item: string, err: Err): number[] {
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined) throw err(field, `${JSON.stringify(item)} has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
        if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw err(field, `step ${JSON.stringify(stepText)} in ${JSON.stringify(item)} must be a positive whole number`);
        step = Number(stepText);
    }
    let start: number;
    let end: number;
    if (range === "*") {
        start = field.min;
        end = field.max;
    } else if (range.includes("-")) {
        const [a, b, more] = range.split("-");
        if (more !== undefined || a === "" || b === "") throw err(field, `${JSON.stringify(range)} is not a range a-b`);
        start = number(field, a, err);
        end = number(field, b, err);
    } else {
        start = number(field, range, err);
        // `a/b`: from a to the field's end in steps of b (EventBridge: "1/10 ... the 11th, 21st, and 31st minute").
        end = stepText !== undefined ? field.max : start;
    }
    const span = field.max - field.min + 1;
    const length = end >= start ? end - start : end - start + span; // a reversed range wraps
    const out: number[] = [];
    for (let k = 0; k <= length; k += step) out.push(((start - field.min + k) % span) + field.min);
    return out;
}

function dayOfMonthItems(text: string, err: Err): DomItem[] {
    const items: DomItem[] = [];
    for (const item of text.split(",")) {
        const upper = item.toUpperCase();
        if (upper === "L") items.push({ kind: "last" });
        else if (upper === "LW") items.push({ kind: "lastWeekday" });
        else if (/^\d+W$/.test(upper)) items.push({ kind: "nearestWeekday", day: number(F.dayOfMonth, upper.slice(0, -1), err) });
        else if (/[LW]/.test(upper)) throw err(F.dayOfMonth, `${JSON.stringify(item)}: use L (last day), LW (last weekday) or nW (weekday nearest day n)`);
        else for (const day of values(F.dayOfMonth, item, err)) items.push({ kind: "day", day });
    }
    return items;
}

function dayOfWeekItems(text: string, err: Err): DowItem[] {
    const list = text.split(",");
    if (text.includes("#") && list.length > 1) throw err(F.dayOfWeek, `${JSON.stringify(text)}: with '#' the day-of-week field takes one expression only`);
    const items: DowItem[] = [];
    for (const item of list) {
        const upper = item.toUpperCase();
        const nth = /^([^#]+)#(\d+)$/.exec(upper);
        if (nth) {
            const n = Number(nth[2]);
            if (n < 1 || n > 5) throw err(F.dayOfWeek, `${JSON.stringify(item)}: the occurrence after '#' must be 1-5`);
            items.push({ kind: "nth", weekday: number(F.dayOfWeek, nth[1], err), nth: n });
        } else if (upper === "L") {
            items.push({ kind: "weekday", weekday: 7 }); // "the last day of the week": Saturday
        } else if (/^.+L$/.test(upper)) {
            items.push({ kind: "lastOf", weekday: number(F.dayOfWeek, upper.slice(0, -1), err) });
        } else if (/[#L]/.test(upper)) {
            throw err(F.dayOfWeek, `${JSON.stringify(item)}: use d#n (n-th weekday d of the month), dL (last weekday d of the month) or L`);
        } else {
            for (const weekday of values(F.dayOfWeek, item, err)) items.push({ kind: "weekday", weekday });
        }
    }
    return items;
}

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month]);

function nearestWeekday(day: number, dim: number, firstWeekday: number): number | undefined {
    if (day > dim) return undefined;
    const w = (firstWeekday + day - 1) % 7;
    if (w === 6) return day === 1 ? 3 : day - 1; // Saturday: Friday before, or Monday 3rd for the 1st
    if (w === 0) return day === dim ? day - 2 : day + 1; // Sunday: Monday after, or Friday before at month end
    return day;
}

/**
 * Marks in `days` (index 1-31, cleared by the caller) the days of one month the day fields select;
 * `first` is the weekday of the 1st (0 = Sunday).
 */
function markFiringDays(s: CronSchedule, dim: number, first: number, days: Uint8Array): void {
    for (const item of s.dayOfMonth ?? []) {
        if (item.kind === "day") {
            if (item.day <= dim) days[item.day] = 1;
        } else if (item.kind === "last") {
            days[dim] = 1;
        } else if (item.kind === "lastWeekday") {
            const w = (first + dim - 1) % 7;
            days[w === 6 ? dim - 1 : w === 0 ? dim - 2 : dim] = 1;
        } else {
            const d = nearestWeekday(item.day, dim, first);
            if (d !== undefined) days[d] = 1;
        }
    }
    for (const item of s.dayOfWeek ?? []) {
        const firstOf = 1 + ((item.weekday - 1 - first + 7) % 7);
        if (item.kind === "weekday") for (let d = firstOf; d <= dim; d += 7) days[d] = 1;
        else if (item.kind === "nth") {
            const d = firstOf + 7 * (item.nth - 1);
            if (d <= dim) days[d] = 1;
        } else {
            days[firstOf + 7 * Math.floor((dim - firstOf) / 7)] = 1;
        }
    }
}

/** The local calendar days (days since 1970-01-01) the day fields select over the window, in order. */
function firingDaysOf(s: CronSchedule, fromYear: number): number[] {
    const out: number[] = [];
    const days = new Uint8Array(32);
    let day = Date.UTC(fromYear, 0, 1) / 86_400_000; // days since 1970-01-01 of the current month's 1st
    let first = new Date(Date.UTC(fromYear, 0, 1)).getUTCDay();
    for (let year = fromYear; year < fromYear + WINDOW_YEARS; year++) {
        for (let month = 1; month <= 12; month++) {
            const dim = daysIn(year, month);
            if (s.months[month]) {
                days.fill(0);
                markFiringDays(s, dim, first, days);
                for (let d = 1; d <= dim; d++) if (days[d] !== 0) out.push(day + d - 1);
            }
            day += dim;
            first = (first + dim) % 7;
        }
    }
    return out;
}

function cronGap(s: CronSchedule, fromYear: number, timezone?: string): { minutes: number; note?: string } {
    if (s.years) {
        for (let y = fromYear; y <= MAX_YEAR; y++) {
            if (!s.years.has(y)) return { minutes: Infinity, note: `the year field leaves out ${y}: no run that year` };
        }
    }
    const fire = s.hours.flatMap((h) => s.minutes.map((m) => h * 60 + m)).sort((a, b) => a - b);
    const days = firingDaysOf(s, fromYear);
    const window = `${fromYear}-${fromYear + WINDOW_YEARS - 1}`;
    if (days.length === 0) return { minutes: Infinity, note: `never runs in ${window}` };
    // One firing day in 29 years (the 5th Sunday of a February) is no recurring schedule, however often it fires that day.
    if (days.length === 1) return { minutes: Infinity, note: `runs on one day only in ${window}` };
    let worst = 0;
    for (let i = 1; i < fire.length; i++) worst = Math.max(worst, fire[i] - fire[i - 1]);
    for (let i = 1; i < days.length; i++) worst = Math.max(worst, (days[i] - days[i - 1]) * 1440 - fire[fire.length - 1] + fire[0]);
    if (!timezone || isUtc(timezone)) return { minutes: worst };
    return { minutes: Math.max(worst, dstGap(fire, days, worst, zoneOf(timezone), fromYear)) };
}

/*
 * Time zones. EventBridge Scheduler (and AWS Backup's `scheduleExpressionTimezone`) evaluate a cron
 * expression on the zone's wall clock: "When the time shifts forward in Spring, your schedule
 * invocation gets skipped if the cron expression falls on a non-existent date and time. When the time
 * shifts back in the Fall, your schedule runs only once and doesn't repeat its invocation"
 * (https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst; EventBridge Scheduler User
 * Guide, schedule-types, "Daylight saving time"). Rate expressions count real time ("days represents a
 * 24-hour duration"): no effect. So, around each offset change of the zone in the window, the runs are
 * placed on the real time line exactly: a run in the spring-forward gap is dropped (the gap around it
 * grows by a whole interval), a run in the repeated hour counts once (at the worse of its two
 * instants: AWS does not say which), and a gap across the change grows or shrinks by the shift.
 */
const isUtc = (timezone: string) => /^(utc|uct|gmt|z|etc\/utc|etc\/uct|etc\/gmt)$/i.test(timezone);

interface Zone {
    name: string;
    /** Local minus UTC, in minutes, at a UTC minute (since the epoch). */
    offsetAt(minute: number): number;
}
const zones = new Map<string, Zone>();
function zoneOf(timezone: string): Zone {
    const cached = zones.get(timezone);
    if (cached) return cached;
    let format: Intl.DateTimeFormat;
    try {
        format = new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    } catch {
        throw new ScheduleError(timezone, `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/Paris)`);
    }
    const zone: Zone = {
        name: timezone,
        offsetAt(minute: number): number {
            const p = Object.fromEntries(format.formatToParts(minute * 60_000).map((x) => [x.type, x.value]));
            return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute)) / 60_000 - minute;
        },
    };
    zones.set(timezone, zone);
    return zone;
}

interface Transition {
    /** UTC minute (since the epoch) from which `after` applies. */
    at: number;
    before: number;
    after: number;
}
const transitionCache = new Map<string, Transition[]>();
/** The zone's offset changes over the window: weekly samples, then bisection to the minute. */
function transitionsOf(zone: Zone, fromYear: number): Transition[] {
    const key = `${zone.name}|${fromYear}`;
    const cached = transitionCache.get(key);
    if (cached) return cached;
    const out: Transition[] = [];
    const WEEK = 7 * 1440;
    const start = Date.UTC(fromYear, 0, 1) / 60_000 - WEEK;
    const end = Date.UTC(fromYear + WINDOW_YEARS, 0, 1) / 60_000 + WEEK;
    let previous = zone.offsetAt(start);
    for (let t = start + WEEK; t <= end; t += WEEK) {
        const offset = zone.offsetAt(t);
        if (offset === previous) continue;
        let lo = t - WEEK; // `previous` applies at lo, `offset` at hi
        let hi = t;
        while (hi - lo > 1) {
            const mid = Math.floor((lo + hi) / 2);
            if (zone.offsetAt(mid) === previous) lo = mid;
            else hi = mid;
        }
        out.push({ at: hi, before: previous, after: offset });
        previous = offset;
    }
    transitionCache.set(key, out);
    return out;
}

/** The UTC minutes at which a local wall-clock minute occurs near a transition: none (skipped), one, or two (repeated). */
function utcOf(local: number, t: Transition): number[] {
    const out: number[] = [];
    if (local - t.before < t.at) out.push(local - t.before);
    if (local - t.after >= t.at) out.push(local - t.after);
    return out;
}

/** The worst gap between runs on the real time line around each offset change of the zone. */
function dstGap(fire: number[], days: number[], localWorst: number, zone: Zone, fromYear: number): number {
    let worst = 0;
    const span = Math.ceil(localWorst / 1440) + 2;
    for (const t of transitionsOf(zone, fromYear)) {
        const centre = Math.floor((t.at + Math.max(t.before, t.after)) / 1440);
        const lo = lowerBound(days, centre - span);
        const hi = lowerBound(days, centre + span + 1);
        for (const pick of [0, 1]) {
            let previous: number | undefined;
            for (let k = lo; k < hi; k++) {
                for (const m of fire) {
                    const instants = utcOf(days[k] * 1440 + m, t);
                    if (instants.length === 0) continue; // skipped: it falls in the spring-forward gap
                    const at = instants[pick * (instants.length - 1)];
                    if (previous !== undefined) worst = Math.max(worst, at - previous);
                    previous = at;
                }
            }
        }
    }
    return worst;
}

function lowerBound(sorted: number[], value: number): number {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] < value) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/** The worst-case gap between consecutive runs of a schedule expression; throws a ScheduleError when it is not valid. */
export function scheduleGap(expression: string, options: ScheduleOptions = {}): ScheduleGap {
    const parsed = parseSchedule(expression, options.kinds);
    const fromYear = options.fromYear ?? new Date().getUTCFullYear();
    if (options.timezone !== undefined && !isUtc(options.timezone)) zoneOf(options.timezone); // an unknown zone is an error, whatever the expression
    const { minutes, note } = parsed.kind === "rate" ? { minutes: parsed.minutes, note: undefined } : cronGap(parsed, fromYear, options.timezone);
    return { kind: parsed.kind, minutes, hours: minutes / 60, ...(note ? { note } : {}) };
}

/** What is wrong with a schedule expression (the ScheduleError message), or undefined when it is valid. */
export function scheduleError(expression: unknown, kinds: readonly ScheduleKind[] = ["cron", "rate"]): string | undefined {
    if (typeof expression !== "string") return `schedule ${JSON.stringify(expression)} is not a string`;
    try {
        parseSchedule(expression, kinds);
        return undefined;
    } catch (e) {
        if (e instanceof ScheduleError) return e.message;
        throw e;
    }
}

/**
 * The worst-case gap in hours between two runs of a `cron(...)` or `rate(...)` expression (EventBridge
 * rules and EventBridge Scheduler take both); undefined when it is not a valid one; Infinity when it
 * runs at most once, never, or stops (a year field). The posture and the pack's scheduled-job rules use it.
 */
export function scheduleIntervalHours(schedule: unknown, options: Omit<ScheduleOptions, "kinds"> = {}): number | undefined {
    return intervalHours(schedule, { ...options, kinds: ["cron", "rate"] });
}

/**
 * The same for a `cron(...)` expression only (AWS Backup plan rules take cron only): undefined for a
 * rate expression or anything unreadable, Infinity when it runs at most once, never, or stops.
 */
export function cronIntervalHours(schedule: unknown, options: Omit<ScheduleOptions, "kinds"> = {}): number | undefined {
    return intervalHours(schedule, { ...options, kinds: ["cron"] });
}

function intervalHours(schedule: unknown, options: ScheduleOptions): number | undefined {
    if (typeof schedule !== "string") return undefined;
    try {
        return scheduleGap(schedule, options).hours;
    } catch (e) {
        if (e instanceof ScheduleError) return undefined;
        throw e;
    }
}

/** When and how late a scheduled job runs, beyond its expression. */
export interface JobTiming extends Omit<ScheduleOptions, "kinds"> {
    /**
     * Minutes a run may start after its scheduled time: EventBridge Scheduler's FLEXIBLE
     * `flexibleTimeWindow.maximumWindowInMinutes` ("EventBridge Scheduler invokes your target within the
     * window after the scheduled time", EventBridge Scheduler User Guide, managing-schedule-flexible-time-windows),
     * AWS Backup's `startWindow` ("A value in minutes after a backup is scheduled before a job will be
     * canceled if it doesn't start successfully", AWS Backup API, BackupRule.StartWindowMinutes). One
     * run on time and the next this late: the gap grows by it.
     */
    lateMinutes?: number;
    /** The schedule's `startDate` (ISO 8601): no run before it. */
    startDate?: string;
    /** The schedule's `endDate` (ISO 8601): no run after it, so the job stops. */
    endDate?: string;
    /** Now, in ms since the epoch (default Date.now()). */
    now?: number;
}

/**
 * The worst-case gap in hours between two runs of a scheduled job: its expression's (see
 * {@link scheduleGap}), plus how late a run may start, plus the wait until a future start date; Infinity
 * for a job with an end date (it stops: the plan's schedules have none); undefined for an expression
 * that is not valid (or not of the `kinds` given).
 */
export function jobGapHours(schedule: unknown, timing: JobTiming = {}, kinds: readonly ScheduleKind[] = ["cron", "rate"]): { hours: number; note?: string } | undefined {
    if (typeof schedule !== "string") return undefined;
    let gap: ScheduleGap;
    try {
        gap = scheduleGap(schedule, { kinds, fromYear: timing.fromYear, timezone: timing.timezone });
    } catch (e) {
        if (e instanceof ScheduleError) return undefined;
        throw e;
    }
    if (timing.endDate !== undefined && timing.endDate !== null && timing.endDate !== "") return { hours: Infinity, note: `it stops at its endDate ${timing.endDate}` };
    let minutes = gap.minutes + Math.max(0, timing.lateMinutes ?? 0);
    const notes = gap.note ? [gap.note] : [];
    if (timing.lateMinutes) notes.push(`a run may start up to ${timing.lateMinutes} min late`);
    const start = timing.startDate ? Date.parse(timing.startDate) : NaN;
    const now = timing.now ?? Date.now();
    if (Number.isFinite(start) && start > now) {
        minutes += (start - now) / 60_000;
        notes.push(`its startDate ${timing.startDate} is in the future`);
    }
    return { hours: minutes / 60, ...(notes.length > 0 ? { note: notes.join("; ") } : {}) };
}
