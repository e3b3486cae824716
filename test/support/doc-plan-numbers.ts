/**
 * The plan's numbers in the documents, checked against DR_PLAN the other way round from a list of
 * phrases: every number with a unit (or a unit-less spelling a config key or a prefix gives a unit)
 * that stands in a clause about one of the plan's concepts must equal that concept's DR_PLAN value,
 * unless PLAN_NUMBER_EXCEPTIONS says, with a reason, that it is another number.
 *
 * How a number is placed: its clause (the text between `,` `;` `|` inside one sentence or table row)
 * is searched for each concept's words; if no concept's words are there, a table row's first cell
 * (what the row is about), then the whole sentence or row. The concepts found whose units fit the number's unit are its candidates; the number must equal
 * one of their values (converted). A number with no candidate is not a plan number.
 */
import { DR_PLAN } from "../../infra/dr-plan";

type NumericKey = { [K in keyof typeof DR_PLAN]: (typeof DR_PLAN)[K] extends number ? K : never }[keyof typeof DR_PLAN];
/** s, min, h, d, w, mo, y: durations; images, instances: counts. */
type Unit = "s" | "min" | "h" | "d" | "w" | "mo" | "y" | "images" | "instances";

/**
 * One row per DR_PLAN number: the units it may be written in and the words that say a clause is about
 * it. `notInDocs`: no document states it (the reason), so no check can miss it.
 */
export const PLAN_CONCEPTS: Record<NumericKey, { units: Unit[]; words: RegExp } | { notInDocs: string }> = {
    rpoMinutes: { units: ["min", "h"], words: /\bRPO\b|recovery point|rpoMinutes/i },
    rtoMinutes: { units: ["min", "h"], words: /\bRTO\b|recovery time|rtoMinutes/i },
    maxDowntimeMinutes: { notInDocs: "the documents give RTO and RPO; the maximum downtime appears nowhere" },
    dbBackupIntervalHours: { units: ["h"], words: /\bbackups?\b|backup job|db-dump|\bdumps?\b|pg_dump|snapshot rule|every-6h|frequency|backup-plan/i },
    dbDailyRetentionDays: { units: ["d"], words: /db\/daily|daily backups|\bbackups?\b|backup retention|GLACIER_IR|every-6h|dailyRetentionDays/i },
    dbWeeklyRetentionDays: { units: ["d", "mo", "y"], words: /db\/weekly|\bweekly\b|\bbackups?\b|weeklyRetentionDays/i },
    redisSnapshotIntervalHours: { units: ["h"], words: /redis|elasticache|\bcache\b|cache-snapshot/i },
    redisRetentionDays: { units: ["d"], words: /redis|elasticache|\bcache\b|cache-exports|\bexports\b/i },
    logRetentionDays: { units: ["d"], words: /\blogs?\b|log groups?|logging|retentionInDays/i },
    imageVersionsKept: { units: ["images"], words: /image|version|ECR|registr|\bkeeps?\b/i },
    failoverDetectionSeconds: { units: ["s"], words: /failover|health[ -]check|detect|Route 53|unhealthy/i },
    appMinInstances: { units: ["instances"], words: /instances|minSize|minimum|minInstances/i },
    databaseDownAlertMinutes: { units: ["min"], words: /database[ -]down|databaseDownAlertMinutes/i },
    applicationDownAlertMinutes: { units: ["min"], words: /application down|app down|no-healthy-hosts|applicationDownAlertMinutes/i },
    highErrorRateAlertMinutes: { units: ["min"], words: /error rate|error-rate|\b5XX\b|highErrorRateAlertMinutes/i },
    diskSpaceLowAlertMinutes: { units: ["min", "h"], words: /\bdisk\b|disk space|storage-low|FreeStorageSpace|diskSpaceLowAlertMinutes/i },
    p1ResponseMinutes: { units: ["min", "h"], words: /\bP1\b|response time|acknowledge/i },
    p2ResponseMinutes: { units: ["min", "h"], words: /\bP2\b|response time|acknowledge/i },
    p3ResponseMinutes: { units: ["min", "h"], words: /\bP3\b|response time|acknowledge/i },
    p4ResponseMinutes: { units: ["min", "h"], words: /\bP4\b|response time|acknowledge/i },
    communicationTestIntervalMonths: { notInDocs: 'written as a word ("Quarterly communication test", the months it runs), never as a number' },
    deployFromScratchTestIntervalMonths: { notInDocs: 'written as a word ("Monthly deploy from scratch"), never as a number' },
};

/**
 * Numbers in a clause about a plan concept that are NOT that plan number: the file, a phrase of it
 * (whitespace collapsed to single spaces) that contains the number, and why. An entry that matches
 * nothing is reported, so the list cannot go stale.
 */
export const PLAN_NUMBER_EXCEPTIONS: { file: string; phrase: string; reason: string }[] = [
    // Route 53's own timing around the plan's 30 s detection
    { file: "docs/architecture.md", phrase: "alias TTL 60 s", reason: "Route 53's fixed TTL of alias records to an ALB, after detection" },
    { file: "docs/architecture.md", phrase: "fixed 60 s TTL", reason: "Route 53's fixed TTL of alias records to an ALB" },
    { file: "docs/operations.md", phrase: "alias TTL (60 s)", reason: "Route 53's fixed TTL of alias records to an ALB" },
    { file: "docs/operations.md", phrase: "the 60 s alias TTL", reason: "Route 53's fixed TTL of alias records to an ALB" },
    { file: "docs/architecture.md", phrase: "every 10 s", reason: "the health check's request interval; interval × threshold is the detection time" },
    { file: "docs/operations.md", phrase: "10 s apart", reason: "the health check's request interval; three of them are the 30 s" },
    { file: "docs/architecture.md", phrase: "metric: 60 s periods", reason: "the period of RDS's one-minute metrics (database down, not failover detection)" },
    { file: "docs/architecture.md", phrase: "pages once 4 minutes are missing", reason: "CloudWatch's M-of-N evaluation of the 3-minute alarm: the worst case it pages" },
    // AWS's figures and limits
    { file: "docs/architecture.md", phrase: "`ReplicationLatency` > 15 min", reason: "S3 Replication Time Control's 15-minute threshold (AWS)" },
    { file: "docs/architecture.md", phrase: "within 15 min (Replication Time Control)", reason: "S3 Replication Time Control's 15 minutes (AWS)" },
    { file: "docs/architecture.md", phrase: "24 h validation window", reason: "the restore tests' validation window, not a plan number" },
    { file: "docs/policy-pack.md", phrase: "(unset: 8 hours)", reason: "AWS Backup's default start window" },
    { file: "docs/policy-pack.md", phrase: "forced to 2 days", reason: "CloudWatch Logs' DELIVERY class retention, which the rule refuses" },
    { file: "docs/operations.md", phrase: "an escalation stage to 30 minutes", reason: "Incident Manager's limit per escalation stage (AWS)" },
    { file: "docs/operations.md", phrase: "two 30-minute stages", reason: "the P2 hour as two stages of Incident Manager's 30-minute maximum" },
    // examples and computed figures
    { file: "docs/architecture.md", phrase: "snapshots every 2 hours kept 60 days", reason: "a test's name: config stricter than the plan" },
    { file: "docs/policy-pack.md", phrase: "standbyMinInstances=1", reason: "a standby DR site's minimum (config standbyAppSize), not the plan's" },
    { file: "docs/operations.md", phrase: "Today: 31.5 min = 20 min detection", reason: "the posture's computed regional failover time" },
    { file: "docs/operations.md", phrase: "P1 alarm, 2 min", reason: "the P1 alarm's paging delay, computed by the posture" },
    { file: "docs/operations.md", phrase: "replica lag alarm, 5 min", reason: "the replica lag alarm's paging delay, computed by the posture" },
    { file: "docs/operations.md", phrase: "+ 11.5 min of steps", reason: "the Region switch plan's steps, computed by the posture" },
    { file: "docs/operations.md", phrase: "in parallel, 10 min", reason: "the promotion budget (posture)" },
    { file: "docs/operations.md", phrase: "DNS, 1.5 min", reason: "the DNS step (posture)" },
    { file: "docs/operations.md", phrase: "worst case 75 min", reason: "the posture's worst case at every block's timeout" },
];

const SECONDS: Partial<Record<Unit, number>> = { s: 1, min: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** A plan value in the unit its key names. */
function planValue(key: NumericKey): { n: number; unit: Unit } {
    const n = DR_PLAN[key] as number;
    if (key.endsWith("Seconds")) return { n, unit: "s" };
    if (key.endsWith("Minutes")) return { n, unit: "min" };
    if (key.endsWith("Hours")) return { n, unit: "h" };
    if (key.endsWith("Days")) return { n, unit: "d" };
    if (key.endsWith("Months")) return { n, unit: "mo" };
    return { n, unit: key === "imageVersionsKept" ? "images" : "instances" };
}

/** Whether `n unit` states the plan value (months: to the nearest whole month of days). */
export function agrees(n: number, unit: Unit, key: NumericKey): boolean {
    const plan = planValue(key);
    if (unit === plan.unit) return n === plan.n;
    if (unit === "mo" && plan.unit === "d") return Math.round(plan.n / (365 / 12)) === n;
    if (plan.unit === "mo") return false;
    const a = SECONDS[unit], b = SECONDS[plan.unit];
    return a !== undefined && b !== undefined && n * a === plan.n * b;
}

const UNIT_OF: [RegExp, Unit][] = [
    [/^(?:seconds?|secs?|s)$/, "s"], [/^(?:minutes?|mins?)$/, "min"], [/^(?:hours?|hourly|h)$/, "h"],
    [/^(?:days?|d)$/, "d"], [/^weeks?$/, "w"], [/^months?$/, "mo"], [/^years?$/, "y"],
    [/^(?:images|versions)$/, "images"], [/instances?$/, "instances"],
];
const unitOf = (word: string): Unit => UNIT_OF.find(([re]) => re.test(word))![1];

/** A config key or property's unit, from its name. */
function keyUnit(name: string): Unit | undefined {
    if (/^(?:imagesKept|imageCountMoreThan)$/.test(name)) return "images";
    if (/^(?:minSize|minInstances|standbyMinInstances)$/.test(name)) return "instances";
    if (name === "deleteAfter") return "d";
    for (const [suffix, unit] of [["Seconds", "s"], ["Minutes", "min"], ["Hours", "h"], ["Days", "d"], ["Months", "mo"]] as const) {
        if (name.includes(suffix)) return unit;
    }
    return undefined;
}

export interface NumberToken { index: number; length: number; n: number; unit: Unit; key?: NumericKey }

/** Every number with a unit in a sentence, in all the spellings the documents use. */
export function numberTokens(text: string): NumberToken[] {
    const tokens: NumberToken[] = [];
    const add = (index: number, length: number, n: string, unit: Unit | undefined, key?: NumericKey) => {
        if (unit && !tokens.some((t) => index < t.index + t.length && t.index < index + length)) tokens.push({ index, length, n: Number(n), unit, key });
    };
    // `DR_PLAN.key` = 3, rpoMinutes=60, minRetentionDays ≥ 30, `deleteAfter` 365, `imageCountMoreThan` 10
    for (const m of text.matchAll(/(?:`DR_PLAN\.)?\b([a-z]\w*)`?\s*(?:=|≥|≤)?\s*(\d+)\b(?![.\d])/g)) {
        const name = m[1];
        if (!(name in DR_PLAN) && !/(?:Seconds|Minutes|Hours|Days|Months|Kept|MoreThan|Instances|^minSize|^deleteAfter)/.test(name)) continue;
        if (!/[=≥≤`]/.test(m[0].slice(name.length))) continue;
        add(m.index! + m[0].length - m[2].length, m[2].length, m[2], keyUnit(name), name in DR_PLAN ? (name as NumericKey) : undefined);
    }
    // 30 days, 6-hourly, 30-day, 12 months, last 10 images, at least 2 app instances
    const unit = /(?<![\w./+-])(\d+(?:\.\d+)?)(?: |-)((?:app |application )?instances?|seconds?|secs?|s|minutes?|mins?|hours?|hourly|h|days?|d|weeks?|months?|years?|images|versions)(?![\w-])/g;
    for (const m of text.matchAll(unit)) add(m.index!, m[0].length, m[1], unitOf(m[2]));
    // unit-less days: "expires after 365", "redis/ after 7", the pack's defaults "db/daily/ 30, ...; logs 90"
    for (const m of text.matchAll(/(?:\bafter|\/|\bcache-exports|\blogs) (\d+)(?![\d.]|\s*[\w%×+])/g)) add(m.index! + m[0].length - m[1].length, m[1].length, m[1], "d");
    // RPO 60 / RTO 240 min
    for (const m of text.matchAll(/\b(?:RPO|RTO) (\d+)(?= \/ RTO \d+ min)/g)) add(m.index! + m[0].length - m[1].length, m[1].length, m[1], "min");
    // A factor of a product (10 s × 3) is not the plan number; the product is.
    return tokens.filter((t) => !/^\s*×/.test(text.slice(t.index + t.length)) && !/×\s*$/.test(text.slice(0, t.index)));
}

/** The documents' prose as sentences and table rows, whitespace collapsed, code blocks and comments left out. */
export function sentences(md: string): string[] {
    const text = md.replace(/^```[\s\S]*?^```/gm, "\n").replace(/<!--[\s\S]*?-->/g, "");
    const out: string[] = [];
    for (const block of text.split(/\n\s*\n/)) {
        // a table row, a list item or a heading starts a unit of its own
        const units = block.split(/\n(?=\s*(?:\||[-*] |\d+\. |#))/);
        for (const u of units) {
            const flat = u.replace(/\s+/g, " ").trim();
            if (flat.startsWith("|")) out.push(flat);
            else out.push(...flat.split(/(?<=[.!?])\s+(?=[A-Z`"*([])/));
        }
    }
    return out.filter((s) => s !== "");
}

/** Every plan number the documents state that disagrees with DR_PLAN, unused exceptions, and plan numbers stated nowhere. */
export function planNumberProblems(docs: Record<string, string>, exceptions = PLAN_NUMBER_EXCEPTIONS): string[] {
    const problems: string[] = [];
    const used = new Set<number>();
    const stated = new Set<NumericKey>();
    const concepts = Object.entries(PLAN_CONCEPTS).flatMap(([key, c]) => ("words" in c ? [{ key: key as NumericKey, ...c }] : []));
    for (const [file, md] of Object.entries(docs)) {
        for (const sentence of sentences(md)) {
            const clauses = [...sentence.matchAll(/[^,;|]+/g)].map((m) => ({ start: m.index!, end: m.index! + m[0].length, text: m[0] }));
            for (const t of numberTokens(sentence)) {
                const fits = (text: string) => concepts.filter((c) => c.units.includes(t.unit) && c.words.test(text)).map((c) => c.key);
                const clause = clauses.find((c) => c.start <= t.index && t.index < c.end)!;
                // the clause; in a table row then the row's first cell (what the row is about); then the sentence or row
                const firstCell = sentence.startsWith("|") ? sentence.split("|")[1] : "";
                const candidates: NumericKey[] = t.key ? [t.key] : [clause.text, firstCell, sentence].map(fits).find((c) => c.length > 0) ?? [];
                if (candidates.length === 0) continue;
                const said = sentence.slice(t.index, t.index + t.length);
                if (candidates.some((k) => agrees(t.n, t.unit, k))) {
                    candidates.filter((k) => agrees(t.n, t.unit, k)).forEach((k) => stated.add(k));
                    continue;
                }
                const excepted = exceptions.findIndex((e) => e.file === file && [...sentence.matchAll(new RegExp(e.phrase.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "g"))].some((m) => m.index! <= t.index && t.index + t.length <= m.index! + m[0].length));
                if (excepted >= 0) {
                    used.add(excepted);
                    continue;
                }
                const plan = candidates.map((k) => `DR_PLAN.${k} = ${DR_PLAN[k]}`).join(" or ");
                problems.push(`${file}: "${said}" in "${clause.text.trim()}" disagrees with ${plan} (another number? add it to PLAN_NUMBER_EXCEPTIONS with the reason)`);
            }
        }
    }
    exceptions.forEach((e, i) => {
        if (!used.has(i)) problems.push(`PLAN_NUMBER_EXCEPTIONS: ${e.file} "${e.phrase}" excepts no number any more: remove it`);
    });
    for (const c of concepts) if (!stated.has(c.key)) problems.push(`no document states DR_PLAN.${c.key} = ${DR_PLAN[c.key]} in a clause its words (${c.words}) find: reworded? update PLAN_CONCEPTS`);
    return problems;
}
