/** What the runbook benchmarks share: the PostgreSQL they time, and how a step is timed. */
import { Postgres, run } from "../test/runbooks/support/fixtures";

/** Same starting point for every timed step: dirty buffers flushed to disk. */
export async function settle(pg: Postgres): Promise<void> {
    await pg.psql("postgres", "CHECKPOINT");
    await run("sync", [], { PATH: process.env.PATH });
}

/** Milliseconds as seconds with one decimal, as the benchmark tables print them. */
export const secs = (ms: number): string => (ms / 1000).toFixed(1);

/** Runs one benchmark step (3 h at most), fails on a non-zero exit, logs its time to stderr. */
export async function timed(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stderr: string }> {
    process.stderr.write(`bench: ${label} ...\n`);
    const t0 = process.hrtime.bigint();
    const r = await run(cmd, args, env, { timeoutMs: 3 * 3600_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.code !== 0) throw new Error(`${label} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    process.stderr.write(`bench: ${label}: ${secs(ms)} s\n`);
    return { ms, stderr: r.stderr };
}
