/**
 * Measures a command: wall time, and peak memory as the largest total RSS of its whole process tree
 * (sampled from /proc every 50 ms, so short spikes can be missed; the figure is a lower bound).
 */
import { spawn } from "child_process";
import * as fs from "fs";

export interface Measurement {
    wallSeconds: number;
    peakMemoryMb: number;
    exitCode: number | null;
}

function children(): Map<number, number[]> {
    const tree = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            tree.set(ppid, [...(tree.get(ppid) ?? []), Number(entry)]);
        } catch {
            /* the process ended meanwhile */
        }
    }
    return tree;
}

function treeRssKb(root: number): number {
    const tree = children();
    let total = 0;
    const stack = [root];
    while (stack.length > 0) {
        const pid = stack.pop()!;
        try {
            const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
            total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        } catch {
            /* ended */
        }
        stack.push(...(tree.get(pid) ?? []));
    }
    return total;
}

export function measure(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Measurement> {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(command, args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
        let peakKb = 0;
        const timer = setInterval(() => {
            if (child.pid) peakKb = Math.max(peakKb, treeRssKb(child.pid));
        }, 50);
        child.on("error", reject);
        child.on("close", (code) => {
            clearInterval(timer);
            const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
            if (code !== 0) {
                reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${stderr}`));
                return;
            }
            resolve({ wallSeconds, peakMemoryMb: peakKb / 1024, exitCode: code });
        });
    });
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Replaces (or appends) the `## heading` section of a Markdown file, leaving the other sections alone. */
export function writeSection(file: string, heading: string, body: string): void {
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n\nMeasured figures, written by `npm run bench`.\n";
    const marker = `## ${heading}`;
    const start = text.indexOf(`${marker}\n`);
    const section = `${marker}\n\n${body.trim()}\n`;
    if (start < 0) {
        fs.writeFileSync(file, `${text.trimEnd()}\n\n${section}`);
        return;
    }
    const next = text.indexOf("\n## ", start + marker.length);
    const rest = next < 0 ? "" : text.slice(next + 1);
    fs.writeFileSync(file, `${text.slice(0, start)}${section}${rest ? `\n${rest}` : ""}`);
}
