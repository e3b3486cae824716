/** What the runbook benchmarks share about the PostgreSQL they time. */
import { Postgres, run } from "../test/runbooks/support/fixtures";

/** Same starting point for every timed step: dirty buffers flushed to disk. */
export async function settle(pg: Postgres): Promise<void> {
    await pg.psql("postgres", "CHECKPOINT");
    await run("sync", [], { PATH: process.env.PATH });
}
