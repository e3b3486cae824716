/**
 * Checks of the documents' references (test/docs.test.ts): link anchors against the target file's
 * headings, runbook flags against the script's --help, and quoted section names ("Prepare once" in
 * docs/operations.md) against the headings and bold paragraph starts of the file they point at.
 */
import { execFileSync } from "child_process";
import * as path from "path";

/** The text outside fenced code blocks. */
export const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, "");

/**
 * GitHub's heading anchor: the heading's text (inline code and emphasis marks dropped, a link's text
 * kept), lower case, every character but letters, digits, spaces, `-` and `_` dropped, each space a
 * hyphen; a repeated anchor gets -1, -2, ... (github/cmark-gfm's html renderer and GitHub's
 * "Section links" docs: "Any punctuation marks ... are removed ... spaces are replaced by hyphens").
 */
export const slug = (heading: string) =>
    heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");

/** The anchors GitHub gives a document's headings (code blocks left out). */
export function headingAnchors(md: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const [, text] of prose(md).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
        const base = slug(text);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    return anchors;
}

/** Whether a link's #anchor names a heading of its target (the file's text). */
export const anchorProblem = (from: string, target: string, anchor: string, targetMd: string): string | undefined =>
    headingAnchors(targetMd).has(anchor) ? undefined : `${from}: link ${target}#${anchor} names no heading of ${target} (its anchors: ${[...headingAnchors(targetMd)].join(", ")})`;

const RUNBOOK = /(?<![\w-])(?:scripts\/)?(backup|recovery|status)\.sh ([a-z][\w-]*)/g;

/** The code of a document: each inline code span and each line (continuations joined) of its code blocks. */
export function codeOf(md: string): string[] {
    const blocks = [...md.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].flatMap((m) => m[1].replace(/\\\n\s*/g, " ").split("\n"));
    const spans = [...prose(md).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
    return [...blocks, ...spans];
}

/** The flags a runbook command takes: those its own --help names and the script's global options. */
export function runbookFlags(script: string, command: string): string[] {
    const help = (...args: string[]) => execFileSync("bash", [path.join(__dirname, "..", "..", "scripts", `${script}.sh`), ...args], { encoding: "utf8" });
    return [...new Set([...`${help("--help")}\n${help(command, "--help")}`.matchAll(/(?<![\w-])--[a-z][\w-]*/g)].map((m) => m[0]))];
}

/** Each `--flag` written after a runbook command that the command's --help does not name. */
export function flagProblems(file: string, md: string, flagsOf: (script: string, command: string) => string[]): string[] {
    const problems: string[] = [];
    for (const line of codeOf(md)) {
        for (const m of line.matchAll(RUNBOOK)) {
            // the command's own words: up to the next shell operator or comment
            const rest = line.slice(m.index! + m[0].length).split(/\s(?:&&|\|\||[|;#])|\s#|;/)[0].replace(/"[^"]*"|'[^']*'/g, "");
            const allowed = flagsOf(m[1], m[2]);
            for (const [flag] of rest.matchAll(/(?<![\w-])--[a-z][\w-]*/g)) {
                if (!allowed.includes(flag)) problems.push(`${file}: ${m[1]}.sh ${m[2]} ${flag}: not a flag of \`scripts/${m[1]}.sh ${m[2]} --help\` (${allowed.join(" ")})`);
            }
        }
    }
    return [...new Set(problems)];
}

/** The names a document's sections go by: its headings and the bold words that start a paragraph or list item. */
export function sectionNames(md: string): string[] {
    const clean = (s: string) => s.replace(/[`*]/g, "").replace(/[.:]\s*$/, "").trim();
    const text = prose(md);
    return [
        ...[...text.matchAll(/^#{1,6} +(.+?) *#*$/gm)].map((m) => clean(m[1])),
        ...[...text.matchAll(/^\s*(?:[-*] +|\d+\. +)?\*\*([^*\n]+)\*\*/gm)].map((m) => clean(m[1])),
    ];
}

/** Whether a quoted section name names one: equal, or the start of a longer heading or bold run ("Prepare once, after ..."). */
export const namesSection = (ref: string, names: string[]) => names.some((n) => n === ref || (n.startsWith(ref) && /^[ ,.:(]/.test(n.slice(ref.length))));

const LINK_OR_FILE = String.raw`(?:\[[^\]]*\]\(([^)#\s]+)[^)]*\)|\x60([\w./-]+\.md)\x60|(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md)\b)`;

/**
 * Quoted section references and the file each points at: `"X" in [doc](target)`, `[doc](target), "X"`,
 * `docs/operations.md "X"` (code pointers), `"X" above|below` (this file). Whitespace is collapsed first.
 */
export function sectionReferences(file: string, text: string): { ref: string; target: string }[] {
    const flat = text.replace(/\s+/g, " ");
    const dir = path.posix.dirname(file);
    const resolve = (t: string) => path.posix.normalize(path.posix.join(dir, t));
    const refs: { ref: string; target: string }[] = [];
    // a link is relative to its document; a file named in code or plain text is a repository path (`BENCHMARKS.md`)
    const target = (link: string | undefined, named: string | undefined, plain: string | undefined) => (link ? resolve(link) : path.posix.normalize((named ?? plain)!));
    for (const m of flat.matchAll(new RegExp(String.raw`"([^"]{2,80})" in ${LINK_OR_FILE}`, "g"))) refs.push({ ref: m[1], target: target(m[2], m[3], m[4]) });
    for (const m of flat.matchAll(new RegExp(String.raw`${LINK_OR_FILE},? "([^"]{2,80})"`, "g"))) refs.push({ ref: m[4], target: target(m[1], m[2], m[3]) });
    for (const m of flat.matchAll(/"([^"]{2,80})" (?:above|below)\b/g)) refs.push({ ref: m[1], target: file });
    return refs;
}

/** Each quoted section reference that names no heading or bold paragraph start of its target. */
export function sectionReferenceProblems(file: string, text: string, readTarget: (p: string) => string | undefined): string[] {
    const problems: string[] = [];
    for (const { ref, target } of sectionReferences(file, text)) {
        const md = readTarget(target);
        if (md === undefined) problems.push(`${file}: "${ref}" points at ${target}, which does not exist`);
        else if (!namesSection(ref, sectionNames(md))) problems.push(`${file}: "${ref}" names no heading or bold paragraph start of ${target}`);
    }
    return problems;
}
