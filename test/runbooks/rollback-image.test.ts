// recovery.sh rollback-image against a stand-in `pulumi` that answers from environment variables and
// records every call: which tag it picks from the stack's record of verified images, and what it runs.
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { imageTagOf, parseVerifiedImages } from "../../components/deploy-verification";
import { applyCommand, CommandInputs, CommandState } from "../support/command-provider";
import { one, stackWith } from "../support/stacks";
import { RECOVERY_SH, baseEnv, run } from "./support/fixtures";

const PULUMI = [
    "#!/bin/bash",
    'echo "pulumi $*" >> "$STANDIN/calls"',
    'args=" $* "',
    'case "$args" in',
    '  *" config get "*) [ -n "${CONFIG_TAG:-}" ] && { echo "$CONFIG_TAG"; exit 0; }; echo "error: configuration key not found" >&2; exit 255;;',
    '  *" stack output "*previousVerifiedAppImageTag*) echo "${PREVIOUS:-}"; exit 0;;',
    '  *" stack output "*verifiedAppImageTag*) echo "${VERIFIED:-}"; exit 0;;',
    '  *" config set "*) exit 0;;',
    '  *" up "*) echo "Updating (production)"; exit "${UP_EXIT:-0}";;',
    "esac",
    "exit 0",
].join("\n");

describe("runbooks: rollback-image", function () {
    this.timeout(60_000);
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "genie-rollback-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "pulumi"), PULUMI, { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const env = (vars: Record<string, string>) => {
        const e = baseEnv(vars);
        return { ...e, PATH: `${path.join(dir, "bin")}:${e.PATH}`, STANDIN: dir };
    };
    const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []);
    const repo = path.resolve(path.dirname(RECOVERY_SH), "..");

    it("after a rollout that never verified: back to the last verified tag, then pulumi up (one instance refresh, awaited)", async () => {
        const r = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--yes"], env({ CONFIG_TAG: "1.5.0", VERIFIED: "1.4.2", PREVIOUS: "1.4.1" }));
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout.trim()).to.equal("rollback-image ok: stack production runs 1.4.2 again (was 1.5.0), rollout verified by pulumi up");
        expect(r.stderr).to.include("imageTag 1.5.0 was never verified on this site; 1.4.2 was the last");
        expect(calls().filter((c) => / config set | up /.test(` ${c} `))).to.deep.equal([
            `pulumi -C ${repo} config set -s production imageTag 1.4.2`,
            `pulumi -C ${repo} up -s production --yes`,
        ]);
    });

    it("after a rollout that verified but is bad: back to the image verified before it", async () => {
        const r = await run(RECOVERY_SH, ["rollback-image", "--stack", "dr", "--yes", "--cwd", "/srv/infra"], env({ CONFIG_TAG: "1.5.0", VERIFIED: "1.5.0", PREVIOUS: "1.4.2" }));
        expect(r.code, r.stderr).to.equal(0);
        expect(calls()).to.include("pulumi -C /srv/infra config set -s dr imageTag 1.4.2");
        expect(calls()).to.include("pulumi -C /srv/infra up -s dr --yes");
    });

    it("a verified-but-bad image, end to end: the record the command provider keeps through two real rollouts takes rollback-image back to the image before", async () => {
        // The production stack's deploy verification at two image tags, run as pulumi-command runs it
        // (test/support/command-provider.ts): a create, then whatever step the provider takes for the
        // second rollout. A replacement (a change of triggers) would start with no record.
        const verifyAt = async (imageTag: string) =>
            one(await stackWith("production", { config: { imageTag } }), "command:local:Command", "genie-primary-verify-health").props as CommandInputs;
        fs.writeFileSync(path.join(dir, "bin", "aws"), [
            "#!/bin/bash",
            'case "$1 $2" in',
            '  "autoscaling describe-auto-scaling-groups") printf "i-new1\\t1\\n";;', // on the mock's launch template version 1
            '  "elbv2 describe-target-health") echo i-new1;;',
            "esac",
        ].join("\n"), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "curl"), "#!/bin/bash\nexit 0\n", { mode: 0o755 });
        const runScript = (script: string, vars: Record<string, string>) => {
            const r = spawnSync("/bin/bash", ["-c", script], { env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, ...vars }, encoding: "utf8" });
            return { status: r.status, stdout: r.stdout, stderr: r.stderr };
        };
        // The stack outputs verifiedAppImageTag / previousVerifiedAppImageTag, as infra/serving-path.ts derives them.
        const outputs = (state: CommandState) => {
            const record = parseVerifiedImages(state.stdout);
            return { VERIFIED: imageTagOf(record.verified) ?? "", PREVIOUS: imageTagOf(record.previous) ?? "" };
        };

        const first = applyCommand(undefined, await verifyAt("1.4.2"), runScript);
        expect(first.status, first.stderr).to.equal(0);
        const second = applyCommand(first.state, await verifyAt("1.5.0"), runScript);
        expect(second.step).to.equal("update");
        expect(second.status, second.stderr).to.equal(0);
        expect(outputs(second.state)).to.deep.equal({ VERIFIED: "1.5.0", PREVIOUS: "1.4.2" });

        // 1.5.0 verified healthy but is bad: the runbook returns to 1.4.2.
        const r = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--yes"], env({ CONFIG_TAG: "1.5.0", ...outputs(second.state) }));
        expect(r.code, r.stderr).to.equal(0);
        expect(calls()).to.include(`pulumi -C ${repo} config set -s production imageTag 1.4.2`);
        // Its pulumi up verifies 1.4.2 again, an update too: the record then names both.
        const back = applyCommand(second.state, await verifyAt("1.4.2"), runScript);
        expect(back.step).to.equal("update");
        expect(outputs(back.state)).to.deep.equal({ VERIFIED: "1.4.2", PREVIOUS: "1.5.0" });
    });

    it("--dry-run says what it would do and changes nothing; --to picks the tag", async () => {
        const r = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--dry-run", "--to", "1.3.0"], env({ CONFIG_TAG: "1.5.0", VERIFIED: "1.5.0", PREVIOUS: "1.4.2" }));
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.include("dry-run: rollback-image would (nothing has been changed)");
        expect(r.stdout).to.include("config set -s production imageTag 1.3.0   (now 1.5.0: chosen with --to)");
        expect(calls().some((c) => / config set | up /.test(` ${c} `))).to.equal(false);
    });

    it("refuses when no earlier verified image is recorded, when already there, and without confirmation off a terminal", async () => {
        const none = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--yes"], env({ CONFIG_TAG: "1.0.0", VERIFIED: "1.0.0", PREVIOUS: "" }));
        expect(none.code).to.equal(1);
        expect(none.stderr).to.match(/error: no earlier verified image recorded for stack production .*pass --to TAG/);
        const same = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--to", "1.0.0", "--yes"], env({ CONFIG_TAG: "1.0.0" }));
        expect(same.code).to.equal(1);
        expect(same.stderr).to.match(/already has imageTag 1\.0\.0/);
        const unconfirmed = await run(RECOVERY_SH, ["rollback-image", "--stack", "production"], env({ CONFIG_TAG: "1.5.0", VERIFIED: "1.4.2" }));
        expect(unconfirmed.code).to.equal(2);
        expect(unconfirmed.stderr).to.match(/refusing to continue without confirmation: not a terminal, pass --yes/);
        expect(calls().some((c) => / config set | up /.test(` ${c} `))).to.equal(false);
    });

    it("a failed pulumi up is reported as such; a missing stack is a usage error; --help documents it", async () => {
        const failed = await run(RECOVERY_SH, ["rollback-image", "--stack", "production", "--yes"], env({ CONFIG_TAG: "1.5.0", VERIFIED: "1.4.2", UP_EXIT: "1" }));
        expect(failed.code).to.equal(1);
        expect(failed.stderr).to.match(/error: pulumi up -s production failed with imageTag 1\.4\.2/);
        const usage = await run(RECOVERY_SH, ["rollback-image"], env({}));
        expect(usage.code).to.equal(2);
        expect(usage.stderr).to.match(/missing setting: PULUMI_STACK/);
        const help = await run(RECOVERY_SH, ["rollback-image", "--help"], env({}));
        expect(help.code).to.equal(0);
        expect(help.stdout).to.match(/^Usage: recovery\.sh rollback-image/).and.to.match(/Example/).and.to.match(/terraform-provider-aws #34189/);
    });
});
