// Real test fixtures for the runbook scripts: a PostgreSQL server, moto_server (local AWS API),
// redis-server, all bound to 127.0.0.1 on free ports, started in before() and stopped in after().
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const REPO = path.resolve(__dirname, "..", "..", "..");
/** RUNBOOK_SCRIPTS_DIR runs the suites against another copy of scripts/ (to see a test fail on an older version). */
const SCRIPTS = process.env.RUNBOOK_SCRIPTS_DIR ?? path.join(REPO, "scripts");
export const BACKUP_SH = path.join(SCRIPTS, "backup.sh");
export const RECOVERY_SH = path.join(SCRIPTS, "recovery.sh");
export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? "");

/** Extra PATH entries where the tools live on this kind of machine. */
const EXTRA_PATH = [
  path.join(os.homedir(), ".pyenv", "shims"),
  "/root/.pyenv/shims",
  "/usr/lib/postgresql/15/bin",
];
/**
 * Where pyenv's shims of the Python tools point: first on PATH, so each `aws` call runs the CLI itself
 * instead of pyenv's shell shim choosing the version first (~0.05 s of every call, and the scripts make
 * hundreds in the suites; issue 17). The same version the shim would pick; none without pyenv.
 */
function pyenvToolDirs(): string[] {
  const r = spawnSync("bash", ["-c", "command -v pyenv >/dev/null || exit 0; for t in aws moto_server; do pyenv which \"$t\" 2>/dev/null; done"], {
    env: { ...process.env, PATH: [process.env.PATH ?? "", ...EXTRA_PATH].join(":") },
    encoding: "utf8",
  });
  return [...new Set(r.stdout.split("\n").filter((l) => l.startsWith("/")).map((l) => path.dirname(l)))];
}
export const PATH = [...pyenvToolDirs(), ...(process.env.PATH ?? "/usr/bin:/bin").split(":"), ...EXTRA_PATH].join(":");

export function which(cmd: string): string | undefined {
  const r = spawnSync("bash", ["-c", `command -v ${cmd}`], { env: { ...process.env, PATH }, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * A missing prerequisite: outside CI skip the suite loudly; under CI=true fail.
 * Call from a before() hook: `requireTools(this, ["psql", ...])`.
 */
export function requireTools(ctx: Mocha.Context, tools: string[]): void {
  const missing = tools.filter((t) => !which(t));
  if (missing.length === 0) return;
  const msg = `runbook tests need: ${missing.join(", ")} (install with: bash .ci/runbook-prereqs.sh)`;
  if (IN_CI) throw new Error(`CI=true and a prerequisite is missing: ${msg}`);
  console.warn(`\n  !!! SKIPPING: ${msg}\n`);
  ctx.skip();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command asynchronously (so in-process HTTP servers keep answering). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 300_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** Base environment for the scripts: nothing inherited that could reach real AWS. */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH,
    HOME: process.env.HOME ?? "/root",
    LANG: "C.UTF-8",
    TMPDIR: os.tmpdir(),
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_MAX_ATTEMPTS: "2",
    AWS_EC2_METADATA_DISABLED: "true",
    RDS_POLL_INTERVAL: "1",
    ...extra,
  };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `genie-${prefix}-`));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ------------------------------------------------------------------------------- PostgreSQL
export interface Postgres {
  port: number;
  dir: string;
  env: NodeJS.ProcessEnv; // PGHOST/PGPORT/PGUSER for the scripts
  psql(db: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

export function pgBinDir(): string | undefined {
  const candidates = [process.env.PG_BIN, "/usr/lib/postgresql/15/bin"].filter((x): x is string => !!x);
  return candidates.find((d) => fs.existsSync(path.join(d, "pg_ctl")) && fs.existsSync(path.join(d, "initdb")));
}

/** Start a throwaway PostgreSQL 15 on 127.0.0.1 at a free port (as user postgres when we are root). */
export async function startPostgres(settings: string[] = []): Promise<Postgres> {
  const bin = pgBinDir();
  if (!bin) throw new Error("PostgreSQL server binaries not found (apt-get install postgresql-15, or set PG_BIN)");
  const dir = tmpDir("pg");
  const isRoot = process.getuid?.() === 0;
  const asPg = (args: string[]): [string, string[]] => (isRoot ? ["runuser", ["-u", "postgres", "--", ...args]] : [args[0], args.slice(1)]);
  if (isRoot) {
    fs.chmodSync(dir, 0o755);
    spawnSync("chown", ["postgres:postgres", dir]);
  }
  const data = path.join(dir, "data");
  const env = { ...process.env, PATH, LANG: "C.UTF-8" };
  let [c, a] = asPg([path.join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]);
  let r = await run(c, a, env);
  if (r.code !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
  // The port is picked just before the start, and picked again if another process (a parallel test
  // worker) took it in between: the server's log then says it could not bind.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const opts = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c fsync=on", ...settings.map((s) => `-c ${s}`)].join(" ");
    [c, a] = asPg([path.join(bin, "pg_ctl"), "-D", data, "-l", path.join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"]);
    r = await run(c, a, env);
    if (r.code === 0) break;
    const log = fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8") : "";
    if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
    throw new Error(`pg_ctl start failed: ${r.stderr || r.stdout}\n${log}`);
  }
  const pgEnv = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres" };
  let stopped = false;
  return {
    port,
    dir,
    env: pgEnv,
    async psql(db: string, sql: string): Promise<string> {
      const res = await run("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "-"], { ...env, ...pgEnv }, { input: sql });
      if (res.code !== 0) throw new Error(`psql failed: ${res.stderr}`);
      return res.stdout.trim();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      const [sc, sa] = asPg([path.join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
      await run(sc, sa, env).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------- moto_server
export interface Moto {
  url: string;
  env: NodeJS.ProcessEnv; // AWS_ENDPOINT_URL, AWS_REGION
  aws(args: string[], region?: string): Promise<string>;
  stop(): Promise<void>;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn(which("moto_server") ?? "moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, PATH },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "moto_server",
      async () => {
        if (child.exitCode !== null) throw new Error(`moto_server exited: ${err}`);
        try {
          const res = await fetch(`${url}/moto-api/`);
          return res.status < 500;
        } catch {
          return false;
        }
      },
      30_000,
    );
  } catch (e) {
    await killChild(child);
    throw e;
  }
  const env = { AWS_ENDPOINT_URL: url, AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-1" };
  return {
    url,
    env,
    async aws(args: string[], region = "us-east-1"): Promise<string> {
      const r = await run("aws", ["--endpoint-url", url, "--region", region, "--output", "json", ...args], baseEnv(env));
      if (r.code !== 0) throw new Error(`aws ${args.join(" ")} failed: ${r.stderr}`);
      return r.stdout;
    },
    stop: () => killChild(child),
  };
}

// ------------------------------------------------------------------------------- redis-server
export interface Redis {
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = tmpDir("redis");
  const child = spawn(which("redis-server") ?? "redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", "", "--appendonly", "no"], {
    env: { ...process.env, PATH },
    stdio: ["ignore", "ignore", "ignore"],
  });
  await waitFor(
    "redis-server",
    async () => (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"], { ...process.env, PATH })).stdout.includes("PONG"),
    15_000,
  );
  return {
    port,
    async stop() {
      await killChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
