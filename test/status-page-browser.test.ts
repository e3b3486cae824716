/**
 * The status page in a real headless browser (Debian's chromium), scripts refused, against a locally
 * served copy of what the function wrote (moto_server's S3): each state renders, and an update appears
 * on the next load. Outside CI a missing chromium skips this suite loudly; under CI=true it fails
 * (.ci/runbook-prereqs.sh installs chromium).
 */
import { expect } from "chai";
import * as http from "http";
import { AddressInfo } from "net";
import { STATUS_COMPONENTS } from "../components/severity";
import { baseEnv, Moto, requireTools, run, startMoto, tmpDir, which } from "./runbooks/support/fixtures";
import { alarmEvent, requirePython, scenario } from "./support/status-page";

describe("status page in headless Chromium (scripts refused by the page's own Content-Security-Policy)", function () {
    this.timeout(180_000);
    let moto: Moto;
    let python: string;
    let chromium: string;
    let server: http.Server;
    let served: string | null = null;
    let url = "";
    const profile = tmpDir("chromium");

    before(async function () {
        requireTools(this, ["moto_server", "chromium"]);
        python = requirePython(this);
        chromium = which("chromium")!;
        moto = await startMoto();
        // The copy CloudFront would serve: whatever index.html the function wrote last.
        server = http.createServer((_req, res) => {
            res.writeHead(served === null ? 404 : 200, { "content-type": "text/html; charset=utf-8" });
            res.end(served ?? "not yet");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(async () => {
        server?.close();
        await moto?.stop();
    });

    /**
     * The DOM Chromium built from the page. Scripts cannot run: the page's Content-Security-Policy is
     * `script-src 'none'` (Chromium's `--blink-settings=scriptEnabled=false` also stops `--dump-dom`,
     * which prints nothing then), so what renders is the server-side document alone.
     */
    async function browse(): Promise<string> {
        const r = await run(chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
            `--user-data-dir=${profile}`, "--dump-dom", url,
        ], baseEnv({ HOME: profile }), { timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`chromium failed (${r.code}): ${r.stderr.slice(-500)}`);
        return r.stdout;
    }
    const stateIn = (dom: string, component: string) => new RegExp(`data-component="${component}" data-state="([a-z-]+)"`).exec(dom)?.[1];

    it("renders each state, and an update appears on the next load", async () => {
        const steps = await scenario(python, moto, [
            alarmEvent("genie-primary-monitoring-high-error-rate", "ALARM", "2026-03-01T09:00:00Z"),
            alarmEvent("genie-primary-monitoring-database-down", "ALARM", "2026-03-01T09:01:00Z"),
            alarmEvent("genie-primary-monitoring-complete-outage", "ALARM", "2026-03-01T09:02:00Z"),
            { kind: "note", message: "Failover to the DR region started", status: "identified", time: "2026-03-01T09:10:00Z" },
            alarmEvent("genie-primary-monitoring-complete-outage", "OK", "2026-03-01T09:40:00Z", "ALARM"),
            alarmEvent("genie-primary-monitoring-database-down", "OK", "2026-03-01T09:40:00Z", "ALARM"),
            alarmEvent("genie-primary-monitoring-high-error-rate", "OK", "2026-03-01T09:41:00Z", "ALARM"),
        ]);
        const expected: [string, string, string | RegExp][] = [
            ["application", "degraded", "Degraded performance"],
            ["database", "partial-outage", "Partial outage"],
            ["application", "major-outage", "Major outage"],
            ["application", "major-outage", /Identified<\/strong>: Failover to the DR region started/],
            ["database", "partial-outage", "Partial outage"],
            ["database", "operational", "Degraded performance"],
            ["application", "operational", "All systems operational"],
        ];
        let before = "";
        for (const [i, step] of steps.entries()) {
            served = step.html;
            const dom = await browse();
            if (process.env.DEBUG_STATUS_PAGE) console.log(dom);
            const [component, state, text] = expected[i];
            expect(stateIn(dom, component), `step ${i}: ${component}`).to.equal(state);
            if (typeof text === "string") expect(dom, `step ${i}`).to.include(text);
            else expect(dom, `step ${i}`).to.match(text);
            // Every component is listed with a readable state, without any script.
            for (const name of Object.values(STATUS_COMPONENTS)) expect(dom).to.include(name);
            expect(dom).to.not.match(/<script/i);
            expect(dom).to.include(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'none'"`);
            expect(dom, `step ${i}: the page changed`).to.not.equal(before);
            before = dom;
        }
        // The page reloads itself (no script needed), so an open page shows the update within a minute.
        expect(before).to.match(/<meta http-equiv="refresh" content="30">/);
    });
});
