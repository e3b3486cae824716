/**
 * The project's one reader of AWS schedule expressions (policies/schedule.ts): the worst-case gap
 * between two runs of every cron and rate form of the EventBridge cron reference, the examples,
 * clear errors for invalid expressions, and a cross-check against a naive minute-by-minute oracle.
 */
import { expect } from "chai";
import { cronIntervalHours as postureInterval } from "../offline/posture";
import { cronIntervalHours as backupRuleInterval } from "../policies/rules/backup";
import { cronIntervalHours, jobGapHours, parseSchedule, ScheduleError, scheduleError, scheduleGap, scheduleIntervalHours } from "../policies/schedule";

const FROM = 2025;
const hours = (expression: string) => scheduleGap(expression, { fromYear: FROM }).hours;
const DAY = 24;
const WEEK = 7 * DAY;

/**
 * A deliberately naive oracle: walks every day of the window with JS Dates and decides each day
 * field from its plain-language definition, then takes the gaps between all fire instants.
 */
function oracleGapHours(expression: string, fromYear: number, years: number): number {
    const [min, hour, dom, month, dow] = /^cron\((.*)\)$/.exec(expression)![1].trim().split(/\s+/);
    const expand = (field: string, lo: number, hi: number, names: string[] = []): Set<number> => {
        const out = new Set<number>();
        for (const part of field.split(",")) {
            const [range, step] = part.split("/");
            const num = (t: string) => (names.includes(t) ? names.indexOf(t) + 1 : Number(t));
            const [a, end] = range === "*" ? [lo, hi] : range.includes("-") ? range.split("-").map(num) : [num(range), step ? hi : num(range)];
            const b = end < a ? end + hi - lo + 1 : end;
            for (let v = a; v <= b; v += Number(step ?? 1)) out.add(((v - lo) % (hi - lo + 1)) + lo);
        }
        return out;
    };
    const minutes = expand(min, 0, 59);
    const hoursSet = expand(hour, 0, 23);
    const months = expand(month, 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]);
    const dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    const isWeekday = (d: Date) => d.getUTCDay() !== 0 && d.getUTCDay() !== 6;
    const matches = (d: Date): boolean => {
        const y = d.getUTCFullYear();
        const m = d.getUTCMonth();
        const day = d.getUTCDate();
        const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
        if (dom !== "?") {
            if (dom === "L") return day === last;
            if (dom === "LW") {
                // the last day of the month that is a weekday
                for (let k = last; k > 0; k--) if (isWeekday(new Date(Date.UTC(y, m, k)))) return day === k;
            }
            const w = /^(\d+)W$/.exec(dom);
            if (w) {
                // the weekday of this month closest to day n (ties impossible)
                const n = Number(w[1]);
                if (n > last) return false;
                let best = -1;
                for (let k = 1; k <= last; k++) if (isWeekday(new Date(Date.UTC(y, m, k))) && (best < 0 || Math.abs(k - n) < Math.abs(best - n))) best = k;
                return day === best;
            }
            return expand(dom, 1, 31).has(day);
        }
        const weekday = d.getUTCDay() + 1;
        const nth = /^(\w+)#(\d)$/.exec(dow);
        if (nth) return weekday === expand(nth[1], 1, 7, dayNames).values().next().value && Math.ceil(day / 7) === Number(nth[2]);
        const lastOf = /^(\w+)L$/.exec(dow);
        if (lastOf) return weekday === expand(lastOf[1], 1, 7, dayNames).values().next().value && day + 7 > last;
        return expand(dow === "L" ? "7" : dow, 1, 7, dayNames).has(weekday);
    };
    const fires: number[] = [];
    for (let t = Date.UTC(fromYear, 0, 1); t < Date.UTC(fromYear + years, 0, 1); t += 86_400_000) {
        const d = new Date(t);
        if (!months.has(d.getUTCMonth() + 1) || !matches(d)) continue;
        for (const h of [...hoursSet].sort((a, b) => a - b)) for (const mm of [...minutes].sort((a, b) => a - b)) fires.push(t + (h * 60 + mm) * 60_000);
    }
    let worst = 0;
    for (let i = 1; i < fires.length; i++) worst = Math.max(worst, fires[i] - fires[i - 1]);
    return worst / 3_600_000;
}

describe("AWS schedule expressions (policies/schedule.ts)", () => {
    it("computes the issue's examples: gaps overnight, monthly '#', quarterly weekdays, wrapping weekday ranges", () => {
        // 08:00, 14:00, 20:00: then nothing until 08:00 the next day.
        expect(hours("cron(0 8/6 * * ? *)")).to.equal(12);
        // The first Sunday of the month: four or five weeks apart.
        expect(hours("cron(0 5 ? * SUN#1 *)")).to.equal(5 * WEEK);
        // Sundays of January, April, July and October only: ten weeks from late January to early April.
        expect(hours("cron(0 5 ? 1/3 SUN *)")).to.equal(10 * WEEK);
        // MON-SUN wraps to every day of the week.
        expect(hours("cron(0 0/6 ? * MON-SUN *)")).to.equal(6);
    });

    it("reads hour and minute steps, lists and ranges as the runs they make", () => {
        expect(hours("cron(0 */6 * * ? *)")).to.equal(6);
        expect(hours("cron(0 0,6,12,18 * * ? *)")).to.equal(6);
        expect(hours("cron(0 1,13 * * ? *)")).to.equal(12);
        expect(hours("cron(0 1,2 * * ? *)")).to.equal(23);
        expect(hours("cron(30 3/12 * * ? *)")).to.equal(12);
        expect(hours("cron(0 8-17 * * ? *)")).to.equal(15);
        expect(hours("cron(0 22-2 * * ? *)")).to.equal(20); // wraps midnight: 22, 23, 0, 1, 2
        expect(hours("cron(0/15 * * * ? *)")).to.equal(0.25);
        expect(hours("cron(0,45 * * * ? *)")).to.equal(0.75);
        expect(hours("cron(0 0 * * ? *)")).to.equal(DAY);
    });

    it("reads weekday fields: names, numbers 1-7 = SUN-SAT, ranges, lists, L and dL", () => {
        expect(hours("cron(0 3 ? * SUN *)")).to.equal(WEEK);
        expect(hours("cron(0 3 ? * 1 *)")).to.equal(WEEK);
        expect(hours("cron(0 5 ? * MON-FRI *)")).to.equal(3 * DAY); // Friday to Monday
        expect(hours("cron(0 5 ? * 2-6 *)")).to.equal(3 * DAY);
        expect(hours("cron(0 5 ? * FRI-MON *)")).to.equal(4 * DAY); // wraps: Mon to Fri
        expect(hours("cron(0 5 ? * MON,THU *)")).to.equal(4 * DAY);
        expect(hours("cron(0 5 ? * sun,wed *)")).to.equal(4 * DAY);
        expect(hours("cron(0 5 ? * L *)")).to.equal(WEEK); // the last day of the week: Saturday
        expect(hours("cron(0 5 ? * 6L *)")).to.equal(5 * WEEK); // last Friday of the month
        expect(hours("cron(0 5 ? * 1#5 *)")).to.be.greaterThan(12 * WEEK); // fifth Sundays are months apart
    });

    it("reads day-of-month fields: days, steps, L, LW and nW, with the months' real lengths", () => {
        expect(hours("cron(0 5 1 * ? *)")).to.equal(31 * DAY);
        expect(hours("cron(0 5 1,15 * ? *)")).to.equal(17 * DAY); // the 15th to the 1st after a 31-day month
        expect(hours("cron(0 5 1/10 * ? *)")).to.equal(10 * DAY); // 1, 11, 21, 31 then the 1st: after a 30-day month's 21st
        expect(hours("cron(0 5 31 * ? *)")).to.equal(61 * DAY); // only months with 31 days: Aug 31 -> Oct 31
        expect(hours("cron(0 5 L * ? *)")).to.equal(31 * DAY);
        expect(hours("cron(0 5 LW * ? *)")).to.be.within(31 * DAY, 34 * DAY);
        expect(hours("cron(0 5 15W * ? *)")).to.be.within(29 * DAY, 33 * DAY);
        expect(hours("cron(0 0 29 2 ? *)")).to.equal(4 * 365 * DAY + DAY); // leap days only
        expect(hours("cron(0 5 1 1/3 ? *)")).to.equal(92 * DAY); // quarterly
        expect(hours("cron(0 5 1 JAN ? *)")).to.equal(366 * DAY); // yearly, across a leap year
    });

    it("agrees with a naive day-by-day oracle on every day-field form", () => {
        const expressions = [
            "cron(0 8/6 * * ? *)",
            "cron(15 2,9 ? * TUE-THU *)",
            "cron(0 5 ? 1/3 SUN *)",
            "cron(0 5 ? * 3#2 *)",
            "cron(0 5 ? * SUN#5 *)",
            "cron(0 5 ? * 5L *)",
            "cron(0 5 1W * ? *)",
            "cron(0 5 31W * ? *)",
            "cron(0 5 LW * ? *)",
            "cron(0 5 L 2 ? *)",
            "cron(10/20 */7 2-5,20 JUN-AUG ? *)",
            "cron(0 23 ? NOV-FEB SAT-SUN *)",
        ];
        for (const e of expressions) expect(hours(e), e).to.equal(oracleGapHours(e, FROM, 29));
    });

    it("reads rate expressions, and the cron-only reader refuses them", () => {
        expect(hours("rate(1 hour)")).to.equal(1);
        expect(hours("rate(6 hours)")).to.equal(6);
        expect(hours("rate(5 minutes)")).to.equal(5 / 60);
        expect(hours("rate(1 day)")).to.equal(DAY);
        expect(hours("rate(2 days)")).to.equal(2 * DAY);
        expect(scheduleIntervalHours("rate(12 hours)")).to.equal(12);
        expect(cronIntervalHours("rate(6 hours)")).to.equal(undefined);
        expect(scheduleError("rate(6 hours)", ["cron"])).to.match(/rate expressions are not accepted here; use cron\(\.\.\.\)/);
    });

    it("gives an infinite gap to a schedule that never runs again, runs once, or stops with its year field", () => {
        expect(scheduleGap("cron(0 0 30 2 ? *)", { fromYear: FROM })).to.include({ minutes: Infinity }).and.have.property("note").that.matches(/never runs/);
        expect(scheduleGap("cron(0 5 * * ? 2025)", { fromYear: FROM }).note).to.match(/year field leaves out 2026/);
        expect(hours("cron(0 5 * * ? 2020-2199)")).to.equal(DAY);
        expect(hours("cron(0 5 * * ? */1)")).to.equal(DAY);
        // Every hour of one day in 28 years (February's 5th Sunday: 2032, 2060) is no recurring schedule, however often it runs that day.
        expect(scheduleGap("cron(0 * ? 2 SUN#5 *)", { fromYear: FROM })).to.include({ minutes: Infinity }).and.have.property("note").that.matches(/one day only/);
        expect(hours("cron(0 * ? 2 SUN#5 *)")).to.equal(Infinity);
    });

    it("refuses invalid expressions with an error naming the part that is wrong", () => {
        const cases: [string, RegExp][] = [
            ["cron(0 5 * * * *)", /day-of-month \(\*\) and day-of-week \(\*\) are both set: AWS requires '\?' in one of them/],
            ["cron(0 5 ? * ? *)", /both '\?'/],
            ["cron(0 5 * * ?)", /6 fields .* this one has 5/],
            ["cron(60 5 * * ? *)", /minutes field: 60 is outside 0-59/],
            ["cron(0 24 * * ? *)", /hours field: 24 is outside 0-23/],
            ["cron(0 5 32 * ? *)", /day-of-month field: 32 is outside 1-31/],
            ["cron(0 5 ? 13 MON *)", /month field: 13 is outside 1-12/],
            ["cron(0 5 ? * 8 *)", /day-of-week field: 8 is outside 1-7/],
            ["cron(0 5 ? * FUN *)", /day-of-week field: "FUN" is not a number or a name \(SUN-SAT\)/],
            ["cron(0 5 ? JANUARY MON *)", /month field: "JANUARY" is not a number or a name \(JAN-DEC\)/],
            ["cron(0 5 ? * 1#1,2#2 *)", /with '#' the day-of-week field takes one expression only/],
            ["cron(0 5 ? * 2#6 *)", /occurrence after '#' must be 1-5/],
            ["cron(0 5 L-3 * ? *)", /day-of-month field: "L-3"/],
            ["cron(0 */0 * * ? *)", /hours field: step "0"/],
            ["cron(? 5 * * ? *)", /minutes field: '\?' is allowed only in day-of-month and day-of-week/],
            ["cron(0 5 * * ? 1969)", /year field: 1969 is outside 1970-2199/],
            ["rate(1 hours)", /singular for 1/],
            ["rate(6 hour)", /plural for values above 1/],
            ["rate(0 minutes)", /positive whole number/],
            ["rate(6 weeks)", /unit "weeks" must be minute\(s\), hour\(s\) or day\(s\)/],
            ["every 6 hours", /not a schedule expression; use cron\(\.\.\.\) or rate\(\.\.\.\)/],
        ];
        for (const [expression, message] of cases) {
            expect(() => parseSchedule(expression), expression).to.throw(ScheduleError, message);
            expect(scheduleError(expression), expression).to.match(message);
            expect(scheduleIntervalHours(expression), expression).to.equal(undefined);
        }
        expect(scheduleError(undefined)).to.match(/not a string/);
        expect(scheduleError("cron(0 5 * * ? *)")).to.equal(undefined);
    });

    it("places the runs of a schedule in a daylight-saving time zone on the real time line: skipped in the spring gap, once in the repeated hour", () => {
        const tz = (expression: string, timezone: string) => scheduleGap(expression, { fromYear: FROM, timezone }).hours;
        expect(tz("cron(0 5 * * ? *)", "UTC")).to.equal(DAY);
        expect(tz("cron(0 5 * * ? *)", "Etc/UTC")).to.equal(DAY);
        expect(tz("cron(0 5 * * ? *)", "Europe/Paris"), "the autumn day lasts 25 h").to.equal(DAY + 1);
        expect(tz("cron(0 5 * * ? *)", "Asia/Tokyo"), "no daylight saving").to.equal(DAY);
        // 02:30 does not exist on the spring-forward day in New York: that run is skipped (repost.aws eventbridge-scheduler-adjust-dst).
        expect(tz("cron(30 2/12 * * ? *)", "America/New_York"), "14:30 the day before to 14:30 the spring day").to.equal(23);
        expect(tz("cron(30 2 * * ? *)", "America/New_York"), "a daily 02:30 run skipped: two days minus the lost hour").to.equal(2 * DAY - 1);
        expect(tz("cron(30 2/6 * * ? *)", "America/New_York")).to.equal(11);
        expect(tz("cron(30 3/6 * * ? *)", "America/New_York"), "03:30 exists: only the shift").to.equal(7);
        // The repeated hour in autumn runs once: every-minute runs leave one 61-minute gap.
        expect(tz("cron(0/1 * * * ? *)", "Europe/Paris") * 60).to.be.closeTo(61, 1e-9);
        // A half-hour shift (Lord Howe Island).
        expect(tz("cron(0 */6 * * ? *)", "Australia/Lord_Howe")).to.equal(6.5);
        // Rate expressions count real time.
        expect(tz("rate(12 hours)", "America/New_York")).to.equal(12);
        expect(() => scheduleGap("cron(0 5 * * ? *)", { timezone: "Mars/Olympus" })).to.throw(/unknown time zone "Mars\/Olympus"/);
        expect(() => scheduleGap("rate(1 day)", { timezone: "Mars/Olympus" })).to.throw(/unknown time zone/);
    });

    it("counts what makes a scheduled job run later than its expression: a late start window, a future start date, an end date", () => {
        const NOW = Date.UTC(2026, 0, 1);
        expect(jobGapHours("cron(30 3/12 * * ? *)", { fromYear: FROM, lateMinutes: 240 })?.hours, "a FLEXIBLE 4-hour window").to.equal(16);
        expect(jobGapHours("cron(0 0/6 * * ? *)", { fromYear: FROM, lateMinutes: 420 }, ["cron"])?.hours, "an AWS Backup start window").to.equal(13);
        expect(jobGapHours("rate(12 hours)", { endDate: "2027-01-01T00:00:00Z", now: NOW })).to.include({ hours: Infinity }).and.have.property("note").that.matches(/endDate/);
        expect(jobGapHours("rate(12 hours)", { startDate: "2026-01-03T00:00:00Z", now: NOW })?.hours, "two days until it starts").to.equal(12 + 2 * DAY);
        expect(jobGapHours("rate(12 hours)", { startDate: "2025-06-01T00:00:00Z", now: NOW })?.hours, "a start date in the past").to.equal(12);
        expect(jobGapHours("rate(12 hours)", {}, ["cron"]), "AWS Backup takes cron only").to.equal(undefined);
        expect(jobGapHours(undefined)).to.equal(undefined);
    });

    it("is the one reader: the backup rules and the recovery posture answer the same", () => {
        for (const e of ["cron(0 8/6 * * ? *)", "cron(0 5 ? * SUN#1 *)", "cron(0 0/6 ? * MON-SUN *)"]) {
            expect(backupRuleInterval(e), e).to.equal(scheduleIntervalHours(e));
            expect(postureInterval(e), e).to.equal(scheduleIntervalHours(e));
        }
        expect(postureInterval("rate(2 hours)")).to.equal(2);
    });

    it("takes a few milliseconds per expression at most", () => {
        const expressions = ["cron(0/1 * * * ? *)", "cron(0 8/6 * * ? *)", "cron(0 5 ? * SUN#1 *)", "cron(10/20 */7 2-5,20 JUN-AUG ? *)"];
        for (const e of expressions) scheduleGap(e); // warm up
        const started = process.hrtime.bigint();
        const runs = 50;
        for (let i = 0; i < runs; i++) for (const e of expressions) scheduleGap(e);
        const perExpressionMs = Number(process.hrtime.bigint() - started) / 1e6 / (runs * expressions.length);
        expect(perExpressionMs).to.be.below(5);
    });
});
