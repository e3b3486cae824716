// ShellCheck on the runbook scripts and their helpers: any finding fails.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { PATH, REPO, requireTools, run } from "./support/fixtures";

describe("runbooks: shellcheck", function () {
  this.timeout(60_000);
  before(function () {
    requireTools(this, ["shellcheck"]);
  });

  /** The optional checks scripts/README.md excludes, each with a reason (its "ShellCheck" table). */
  const excluded = (): string[] => {
    const readme = fs.readFileSync(path.join(REPO, "scripts", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## ShellCheck"));
    const rows = [...section.matchAll(/^\| (SC\d{4}) \| ([^|]+) \|$/gm)];
    for (const [, code, reason] of rows) expect(reason.trim().length, `${code} needs a reason`).to.be.greaterThan(20);
    return rows.map((m) => m[1]);
  };

  it("scripts/backup.sh, scripts/recovery.sh, scripts/lib/* and .ci/runbook-prereqs.sh are clean with -o all, apart from the checks scripts/README.md lists with a reason", async () => {
    const lib = path.join(REPO, "scripts", "lib");
    const files = [
      path.join(REPO, "scripts", "backup.sh"),
      path.join(REPO, "scripts", "recovery.sh"),
      ...fs.readdirSync(lib).filter((f) => f.endsWith(".sh") || f.endsWith(".env")).map((f) => path.join(lib, f)),
      path.join(REPO, ".ci", "runbook-prereqs.sh"),
    ].filter((f) => fs.existsSync(f));
    expect(files.length).to.be.greaterThanOrEqual(4);
    const r = await run("shellcheck", ["-x", "-o", "all", "--severity=style", "--format=gcc", ...excluded().map((c) => `--exclude=${c}`), ...files], { PATH, HOME: process.env.HOME ?? "/" });
    expect(r.stdout + r.stderr, "shellcheck findings").to.equal("");
    expect(r.code).to.equal(0);
  });

  it("the scripts are executable and use strict mode", () => {
    for (const f of ["backup.sh", "recovery.sh"]) {
      const p = path.join(REPO, "scripts", f);
      expect(fs.statSync(p).mode & 0o111, `${f} executable`).to.not.equal(0);
      expect(fs.readFileSync(p, "utf8")).to.match(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail$/m);
    }
  });
});
