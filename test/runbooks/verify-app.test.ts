// recovery.sh verify-app against tiny HTTP servers on 127.0.0.1.
import { expect } from "chai";
import * as http from "http";
import { AddressInfo } from "net";
import { RECOVERY_SH, baseEnv, freePort, requireTools, run } from "./support/fixtures";

function healthServer(failures: number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    if (req.url !== "/api/health") {
      res.writeHead(404).end();
    } else if (hits <= failures) {
      res.writeHead(503, { "content-type": "application/json" }).end('{"status":"starting"}');
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    }
  });
  return new Promise((resolve) => {
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => srv.close(() => r())) });
    });
  });
}

describe("runbooks: verify-app", function () {
  this.timeout(60_000);
  before(function () {
    requireTools(this, ["curl"]);
  });

  it("reports healthy after the server recovers (fails twice, then 200)", async () => {
    const s = await healthServer(2);
    try {
      const r = await run(RECOVERY_SH, ["verify-app", "--retries", "5", "--delay", "0.2"], baseEnv({ APP_URL: s.url }));
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.trim()).to.equal(`healthy: ${s.url}/api/health after 3 attempt(s) (HTTP 200)`);
      expect(r.stderr).to.match(/attempt 1\/5: HTTP 503/);
    } finally {
      await s.close();
    }
  });

  it("reports unhealthy with the last error after bounded retries", async () => {
    const s = await healthServer(1000);
    try {
      const r = await run(RECOVERY_SH, ["verify-app", "--url", `${s.url}/api/health`, "--retries", "3", "--delay", "0.1"], baseEnv());
      expect(r.code).to.equal(4);
      expect(r.stdout.trim()).to.equal(`unhealthy: ${s.url}/api/health after 3 attempt(s): HTTP 503`);
      expect(s.hits()).to.equal(3);
    } finally {
      await s.close();
    }
  });

  it("reports unhealthy when nothing listens", async () => {
    const url = `http://127.0.0.1:${await freePort()}/api/health`;
    const r = await run(RECOVERY_SH, ["verify-app", "--url", url, "--retries", "2", "--delay", "0"], baseEnv());
    expect(r.code).to.equal(4);
    expect(r.stdout).to.match(/^unhealthy: .* after 2 attempt\(s\): no response/);
  });

  it("needs APP_URL or --url", async () => {
    const r = await run(RECOVERY_SH, ["verify-app"], baseEnv());
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/missing setting: APP_URL/);
  });

  it("every command has --help", async () => {
    for (const [script, cmds] of [
      ["backup.sh", ["db-dump", "db-snapshot", "redis", "verify"]],
      ["recovery.sh", ["restore-dump", "pitr", "promote", "verify-app"]],
    ] as const) {
      const path = script === "backup.sh" ? RECOVERY_SH.replace("recovery.sh", "backup.sh") : RECOVERY_SH;
      for (const c of cmds) {
        const r = await run(path, [c, "--help"], baseEnv());
        expect(r.code, `${script} ${c} --help`).to.equal(0);
        expect(r.stdout).to.match(new RegExp(`^Usage: ${script.replace(".", "\\.")} ${c}`));
        expect(r.stdout).to.match(/Example/);
      }
      const r = await run(path, ["--help"], baseEnv());
      expect(r.code).to.equal(0);
    }
  });
});
