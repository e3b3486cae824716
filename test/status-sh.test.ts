/**
 * scripts/status.sh: an operator's note reaches the status page. The AWS CLI is replaced by a stub whose
 * `lambda invoke` runs the status page's function (functions/status-page) in-process against moto_server's
 * S3, so the page the note lands on is the one the function renders.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { baseEnv, Moto, PATH, requireTools, run, startMoto, tmpDir } from "./runbooks/support/fixtures";
import { functionEnv, packagedFunctionDir, requirePython } from "./support/status-page";

const STATUS_SH = path.resolve(__dirname, "..", "scripts", "status.sh");

describe("scripts/status.sh post", function () {
    this.timeout(120_000);
    let moto: Moto;
    let python: string;
    let stubDir: string;
    const bucket = "status-sh-page";

    before(async function () {
        requireTools(this, ["moto_server", "aws", "jq"]);
        python = requirePython(this);
        moto = await startMoto();
        await moto.aws(["s3api", "create-bucket", "--bucket", bucket, "--create-bucket-configuration", "LocationConstraint=us-west-2"], "us-west-2");
        stubDir = tmpDir("status-sh");
        // `aws ... lambda invoke --function-name F --payload fileb://P OUT`: the function's handler on P, its result in OUT.
        fs.writeFileSync(path.join(stubDir, "aws"), `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >> "${stubDir}/calls"
payload=""; out="\${!#}"
while [[ $# -gt 0 ]]; do case $1 in --payload) payload=\${2#fileb://}; shift 2;; *) shift;; esac; done
if "${python}" -c 'import json, sys; sys.path.insert(0, "${packagedFunctionDir()}"); import status_page; json.dump(status_page.handler(json.load(open(sys.argv[1]))), open(sys.argv[2], "w"))' "$payload" "$out" 2>"${stubDir}/err"; then
  echo '{"StatusCode": 200}'
else
  python3 -c 'import json,sys; print(json.dumps({"errorMessage": open(sys.argv[1]).read().strip().splitlines()[-1]}))' "${stubDir}/err" > "$out"
  echo '{"StatusCode": 200, "FunctionError": "Unhandled"}'
fi
`, { mode: 0o755 });
    });
    after(async () => {
        await moto?.stop();
    });

    const statusSh = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
        run("bash", [STATUS_SH, ...args], baseEnv({ ...moto.env, AWS_REGION: "us-west-2", ...functionEnv({ bucket }), PATH: `${stubDir}:${PATH}`, ...extra }));
    const page = () => moto.aws(["s3", "cp", `s3://${bucket}/index.html`, "-"], "us-west-2");

    it("posts a note that appears on the page, and says which", async () => {
        const r = await statusSh(["post", "We are restoring the database from the 06:00 backup", "--status", "identified", "--new", "--title", "Database restore"]);
        expect(r.stderr).to.match(/status\.sh: posting to genie-status-function in us-west-2/);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/^posted: \S+-note\n$/);
        const html = await page();
        expect(html).to.include("<h3>Database restore</h3>");
        expect(html).to.include("<strong>Identified</strong>: We are restoring the database from the 06:00 backup");
        expect(fs.readFileSync(path.join(stubDir, "calls"), "utf8")).to.match(/--region us-west-2 .*lambda invoke --function-name genie-status-function --payload fileb:\/\//);
    });

    it("refuses bad usage with exit 2, naming what is wrong; a refusal of the function is exit 1", async () => {
        const bad = await statusSh(["post", "x", "--status", "fixed"]);
        expect(bad.code).to.equal(2);
        expect(bad.stderr).to.match(/error: --status fixed: allowed: investigating, identified, monitoring, resolved, update/);
        const empty = await statusSh(["post", "   "]);
        expect([empty.code, empty.stderr]).to.deep.equal([2, "error: post needs a MESSAGE (what customers should read)\n"]);
        const noRegion = await statusSh(["post", "x"], { AWS_REGION: "", AWS_DEFAULT_REGION: "" });
        expect(noRegion.stderr).to.match(/missing setting: AWS_REGION/);
        expect(noRegion.code).to.equal(2);
        const refused = await statusSh(["post", "x".repeat(2001)]);
        expect(refused.code).to.equal(1);
        expect(refused.stderr).to.match(/genie-status-function refused the note: .*a note is at most 2000 characters/);
    });
});
