/**
 * `npm run diagrams`' last step: renders a committed Mermaid diagram (docs/diagrams/<stack>.mmd, written by
 * `npm run plan -- <stack> --diagram`) to SVG, offline, with the `mermaid` package in the headless Chromium
 * that Debian ships (the one the status page's browser test uses; no browser download). The SVG starts with
 * a comment naming its source and the source's sha256, so a test can tell a stale picture from a current
 * one without depending on the fonts of the machine that renders it.
 *
 *   node -r ./offline/register.js offline/render-svg.ts docs/diagrams/production.mmd docs/diagrams/production.svg
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/** The comment an SVG rendered from `source` starts with. */
export function svgSourceComment(sourcePath: string, source: string): string {
    return `<!-- rendered from ${sourcePath} sha256 ${crypto.createHash("sha256").update(source).digest("hex")} by offline/render-svg.ts -->`;
}

function chromium(): string {
    for (const candidate of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
        if (candidate && fs.existsSync(candidate)) return candidate;
    }
    throw new Error("no headless Chromium: install Debian's chromium (.ci/runbook-prereqs.sh does) or set CHROMIUM");
}

export function renderSvg(inputFile: string, outputFile: string): void {
    const source = fs.readFileSync(inputFile, "utf8");
    const mermaid = require.resolve("mermaid/dist/mermaid.min.js", { paths: [ROOT] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-diagram-"));
    try {
        const page = path.join(dir, "render.html");
        fs.writeFileSync(
            page,
            `<!doctype html><html><head><meta charset="utf-8"><script src="file://${mermaid}"></script></head><body><pre id="out">pending</pre><script>
mermaid.initialize({ startOnLoad: false, securityLevel: "strict", flowchart: { htmlLabels: false } });
mermaid.render("diagram", ${JSON.stringify(source)}).then(({ svg }) => { document.getElementById("out").textContent = svg; }, (e) => { document.getElementById("out").textContent = "ERROR " + e; });
</script></body></html>`,
        );
        const run = spawnSync(chromium(), ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom", `file://${page}`], {
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            timeout: 120_000,
        });
        const match = /<pre id="out">([\s\S]*?)<\/pre>/.exec(run.stdout ?? "");
        const text = match?.[1]
            .replace(/&lt;/g, "<")
            .replace(/&gt;/g, ">")
            .replace(/&quot;/g, '"')
            .replace(/&#39;/g, "'")
            .replace(/&amp;/g, "&");
        if (!text || !text.startsWith("<svg")) {
            throw new Error(`rendering ${inputFile} failed: ${text?.slice(0, 300) ?? `chromium exited ${run.status}: ${(run.stderr ?? "").slice(0, 300)}`}`);
        }
        fs.writeFileSync(outputFile, `${svgSourceComment(path.relative(ROOT, path.resolve(inputFile)), source)}\n${text}\n`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const [input, output] = process.argv.slice(2);
    if (!input || !output) {
        console.error("usage: node -r ./offline/register.js offline/render-svg.ts <diagram.mmd> <out.svg>");
        process.exit(2);
    }
    try {
        renderSvg(input, output);
        console.log(`wrote ${output}`);
    } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        process.exit(1);
    }
}
