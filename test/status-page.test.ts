/**
 * The status page's function (functions/status-page/status_page.py) against moto_server's S3 and SNS:
 * alarm state changes become component states and incidents on a page rendered server-side; customers
 * are told of a P1 and of its resolution, once each, and never of P2/P3/P4; operators' notes appear.
 */
import { expect } from "chai";
import { CLASSIFICATION, SEVERITY_LEVELS } from "../components/severity";
import { Moto, requireTools, startMoto } from "./runbooks/support/fixtures";
import { alarmEvent, requirePython, scenario } from "./support/status-page";

const componentState = (html: string | null, component: string) => new RegExp(`data-component="${component}" data-state="([a-z-]+)"`).exec(html ?? "")?.[1];
const keysOf = (sev: string) => Object.entries(CLASSIFICATION).filter(([, c]) => c.severity === sev).map(([k]) => k);

describe("status page function (moto: S3 and SNS)", function () {
    this.timeout(120_000);
    let moto: Moto;
    let python: string;
    const run = (events: object[], site: { servingSites?: string[] } = {}) => scenario(python, moto, events, site);

    before(async function () {
        requireTools(this, ["moto_server"]);
        python = requirePython(this);
        moto = await startMoto();
    });
    after(async () => {
        await moto?.stop();
    });

    it("a P1 (complete outage) shows a major outage, opens an incident and tells customers once; resolving it tells them again", async () => {
        expect(CLASSIFICATION["complete-outage"].severity).to.equal("P1");
        const [alarm, again, ok] = await run([
            alarmEvent("genie-primary-monitoring-complete-outage", "ALARM", "2026-03-01T10:00:00Z"),
            // EventBridge delivers at least once: the same state again tells nobody again.
            alarmEvent("genie-primary-monitoring-complete-outage", "ALARM", "2026-03-01T10:00:30Z"),
            alarmEvent("genie-primary-monitoring-complete-outage", "OK", "2026-03-01T10:40:00Z", "ALARM"),
        ]);
        expect(componentState(alarm.html, "application")).to.equal("major-outage");
        expect(alarm.html).to.match(/id="overall" data-state="major-outage">Major outage</);
        expect(alarm.html).to.include("We are investigating a major outage of Application.");
        expect(alarm.cacheControl, "CloudFront keeps it at most 30 s").to.equal("max-age=30");
        expect(alarm.received.map((m) => m.Subject)).to.deep.equal(["Genie service disruption: Application"]);
        expect(alarm.received[0].Message).to.equal("Genie: major outage of Application since 2026-03-01T10:00:00Z. We are working on it. Updates: https://status.example.com/");
        expect(alarm.received[0].Message.length, "fits one SMS").to.be.at.most(160);
        expect(again.received).to.deep.equal([]);
        expect(componentState(ok.html, "application")).to.equal("operational");
        expect(ok.html).to.match(/All systems operational/);
        expect(ok.html).to.match(/Application: major outage \(resolved\)/);
        expect(ok.received.map((m) => m.Subject)).to.deep.equal(["Genie service restored: Application"]);
        expect(ok.doc.incidents[0].resolved).to.equal("2026-03-01T10:40:00Z");
    });

    it("never tells customers of P2, P3 or P4 alarms; P2 shows a partial outage, P3 degraded, P4 changes nothing public", async () => {
        const steps = await run([...keysOf("P2"), ...keysOf("P3"), ...keysOf("P4")].map((k) => alarmEvent(`genie-primary-monitoring-${k}`, "ALARM")));
        expect(steps.flatMap((s) => s.received), "no customer notice").to.deep.equal([]);
        expect(steps.map((s) => s.error).filter(Boolean)).to.deep.equal([]);
        const last = steps[steps.length - 1].html;
        expect(componentState(last, "application")).to.equal("partial-outage");
        expect(componentState(last, "data-protection")).to.equal("degraded");
        const p4 = await run(keysOf("P4").map((k) => alarmEvent(`genie-primary-monitoring-${k}`, "ALARM")));
        const quiet = p4[p4.length - 1].html;
        expect(quiet).to.match(/All systems operational/);
        expect(quiet).to.include("No recent incidents.");
        expect(SEVERITY_LEVELS.P4.publicState).to.equal("operational");
    });

    it("a standby DR site's alarm shows under the DR site (degraded at most); once the DR site serves, its alarms are the application's", async () => {
        const [standby] = await run([alarmEvent("genie-dr-monitoring-app-no-healthy-hosts", "ALARM")], { servingSites: ["primary"] });
        expect(componentState(standby.html, "application")).to.equal("operational");
        expect(componentState(standby.html, "failover")).to.equal("degraded");
        const [active] = await run([alarmEvent("genie-dr-monitoring-app-no-healthy-hosts", "ALARM")], { servingSites: ["dr"] });
        expect(componentState(active.html, "application")).to.equal("partial-outage");
    });

    it("a standby DR site's P1 tells no customer (it shows under the DR site); once the DR site serves, its P1 does", async () => {
        const [standby, standbyOk] = await run([
            alarmEvent("genie-dr-monitoring-complete-outage", "ALARM", "2026-03-01T10:00:00Z"),
            alarmEvent("genie-dr-monitoring-complete-outage", "OK", "2026-03-01T10:30:00Z", "ALARM"),
        ], { servingSites: ["primary"] });
        expect(componentState(standby.html, "failover")).to.equal("degraded");
        expect(componentState(standby.html, "application")).to.equal("operational");
        expect([...standby.received, ...standbyOk.received], "no customer notice of a standby site").to.deep.equal([]);
        const [active] = await run([alarmEvent("genie-dr-monitoring-complete-outage", "ALARM")], { servingSites: ["dr"] });
        expect(active.received.map((m) => m.Subject)).to.deep.equal(["Genie service disruption: Application"]);
    });

    it("an alarm event older than the state shown (a late retry) changes nothing and tells nobody", async () => {
        const name = "genie-primary-monitoring-complete-outage";
        const [, ok, late, later] = await run([
            alarmEvent(name, "ALARM", "2026-03-01T10:00:00Z"),
            alarmEvent(name, "OK", "2026-03-01T10:40:00Z", "ALARM"),
            // Delivered after the OK, but CloudWatch entered this ALARM at 10:39 (an earlier flap).
            alarmEvent(name, "ALARM", "2026-03-01T10:39:00Z"),
            alarmEvent(name, "ALARM", "2026-03-01T11:00:00Z", "OK"),
        ]);
        expect(ok.received.map((m) => m.Subject)).to.deep.equal(["Genie service restored: Application"]);
        expect(late.result).to.have.property("ignored").that.matches(/older than the OK of 2026-03-01T10:40:00Z/);
        expect(componentState(late.html, "application")).to.equal("operational");
        expect(late.doc.incidents.filter((i: { resolved: string | null }) => !i.resolved)).to.deep.equal([]);
        expect(late.received).to.deep.equal([]);
        // A newer ALARM is a new incident, and customers hear of it.
        expect(componentState(later.html, "application")).to.equal("major-outage");
        expect(later.received.map((m) => m.Subject)).to.deep.equal(["Genie service disruption: Application"]);
    });

    it("ALARM -> INSUFFICIENT_DATA -> OK still tells customers it is restored; ALARM again after INSUFFICIENT_DATA tells them nothing new", async () => {
        const name = "genie-primary-monitoring-complete-outage";
        const [alarm, gap, again, ok] = await run([
            alarmEvent(name, "ALARM", "2026-03-01T10:00:00Z"),
            alarmEvent(name, "INSUFFICIENT_DATA", "2026-03-01T10:05:00Z", "ALARM"),
            alarmEvent(name, "ALARM", "2026-03-01T10:07:00Z", "INSUFFICIENT_DATA"),
            alarmEvent(name, "OK", "2026-03-01T10:10:00Z", "ALARM"),
        ]);
        expect(alarm.received.map((m) => m.Subject)).to.deep.equal(["Genie service disruption: Application"]);
        expect([...gap.received, ...again.received]).to.deep.equal([]);
        expect(ok.received.map((m) => m.Subject)).to.deep.equal(["Genie service restored: Application"]);
        const [, , okAfterGap] = await run([
            alarmEvent(name, "ALARM", "2026-03-01T10:00:00Z"),
            alarmEvent(name, "INSUFFICIENT_DATA", "2026-03-01T10:05:00Z", "ALARM"),
            alarmEvent(name, "OK", "2026-03-01T10:10:00Z", "INSUFFICIENT_DATA"),
        ]);
        expect(okAfterGap.received.map((m) => m.Subject)).to.deep.equal(["Genie service restored: Application"]);
        expect(okAfterGap.doc.incidents[0].resolved).to.equal("2026-03-01T10:10:00Z");
    });

    it("two invocations at once lose no update: the later writer of status.json reads again and reapplies (S3 conditional writes), and the page never goes back", async () => {
        const db = alarmEvent("genie-primary-monitoring-database-down", "ALARM", "2026-03-01T10:00:00Z");
        const errors = alarmEvent("genie-primary-monitoring-high-error-rate", "ALARM", "2026-03-01T10:00:01Z");
        const [doc] = await run([{ race: { first: db, second: errors, at: "document" } }]);
        expect(doc.error).to.equal(undefined);
        expect(Object.keys(doc.doc.alarms).sort()).to.deep.equal(["genie-primary-monitoring-database-down", "genie-primary-monitoring-high-error-rate"]);
        expect((doc.result as any).first.attempts, "the first writer lost the race and retried").to.equal(2);
        expect(componentState(doc.html, "database")).to.equal("partial-outage");
        expect(componentState(doc.html, "application")).to.equal("degraded");
        // The first invocation saves its document, then the second one runs all through before the first writes the page.
        const [page] = await run([{ race: { first: db, second: errors, at: "page" } }]);
        expect(page.error).to.equal(undefined);
        expect(page.doc.revision).to.equal(2);
        expect(componentState(page.html, "database")).to.equal("partial-outage");
        expect(componentState(page.html, "application"), "the older page did not overwrite the newer").to.equal("degraded");
    });

    it("operators' notes appear on the open incident, escaped; a bad note is refused with the reason", async () => {
        const [, note, resolved, empty, badStatus] = await run([
            alarmEvent("genie-primary-monitoring-database-down", "ALARM"),
            { kind: "note", message: "Failing over to <the DR site> & restoring", status: "identified", time: "2026-03-01T10:05:00Z" },
            { kind: "note", message: "All clear", status: "resolved", time: "2026-03-01T11:00:00Z" },
            { kind: "note", message: "  " },
            { kind: "note", message: "x", status: "fixed" },
        ]);
        expect(note.html).to.include("<strong>Identified</strong>: Failing over to &lt;the DR site&gt; &amp; restoring");
        expect(note.html).to.not.include("<the DR site>");
        expect(resolved.doc.incidents[0].resolved).to.equal("2026-03-01T11:00:00Z");
        expect(empty.error).to.match(/a note needs a non-empty "message"/);
        expect(badStatus.error).to.match(/note status 'fixed': allowed: investigating, identified, monitoring, resolved, update/);
    });

    it("ignores alarms of other applications and alarms nobody classified; the communication test marks its component and tells no customer", async () => {
        const [other, unknown, start, end] = await run([
            alarmEvent("other-app-monitoring-database-down", "ALARM"),
            alarmEvent("genie-primary-monitoring-something-new", "ALARM"),
            { kind: "communication-test", phase: "start", time: "2026-04-07T15:00:00Z" },
            { kind: "communication-test", phase: "end", time: "2026-04-07T16:00:00Z" },
        ]);
        expect(other.result).to.have.property("ignored");
        expect(unknown.result).to.have.property("ignored");
        expect(componentState(start.html, "communication-test")).to.equal("under-test");
        expect(start.html).to.include('Last communication test: <time datetime="2026-04-07T15:00:00Z">');
        expect(componentState(end.html, "communication-test")).to.equal("operational");
        expect([...start.received, ...end.received]).to.deep.equal([]);
    });
});
