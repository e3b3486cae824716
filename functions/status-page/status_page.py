# Over 300 lines on purpose: a Lambda function deployed as one file (no packaging step): handler, state,
# rendering and conditional writes together.
"""The public status page's function (AWS Lambda, Python 3.12 with the runtime's boto3).

It keeps the page's state in one JSON document (status.json) in the status bucket and renders the page
(index.html) from it server-side, so the page needs no JavaScript. Three kinds of event:

- a CloudWatch "Alarm State Change" event from EventBridge (alarms of every site of the account; the
  primary region forwards its own to this region's default bus): the alarm's component and severity come
  from CLASSIFICATION (components/severity.ts, passed in the environment), never decided here;
- an operator's note, `{"kind": "note", "message": "...", "status": "investigating"}` (scripts/status.sh);
- the quarterly communication test, `{"kind": "communication-test", "phase": "start" | "end"}`.

Customers are told (CUSTOMER_TOPIC_ARN) when an alarm whose severity notifies customers (P1) of a site
that serves traffic (SERVING_SITES) goes to ALARM, once per incident, and when that incident is resolved
(the alarm OK again, whatever states it went through); never for the others, never for a standby site.

Alarm events can arrive late and out of order (EventBridge retries, the primary region's forwarding): an
event whose state is older (detail.state.timestamp) than the one the document holds for the alarm
changes nothing.

Concurrent invocations (a burst of alarm changes) are serialised by S3 conditional writes, not by
reserved concurrency (which a new account cannot set: Lambda keeps 100 unreserved): status.json is
written with If-Match on the ETag it was read with (If-None-Match: * for the first one), and a 412
Precondition Failed or 409 ConditionalRequestConflict means another invocation wrote first: read again,
apply the event again, write again (Amazon S3 user guide, "How to prevent object overwrites with
conditional writes"; PutObject: "If a conflicting operation occurs during the upload S3 returns a 409
ConditionalRequestConflict response. On a 409 failure you should fetch the object's ETag and retry the
upload"). index.html carries the document's revision (metadata) and only moves forward.
"""
import datetime
import html
import json
import os
import random
import re
import time

import boto3
from botocore.exceptions import ClientError

STATUS_KEY = "status.json"
PAGE_KEY = "index.html"
# CloudFront serves the page from its cache for at most this long (the object's Cache-Control), and the
# page reloads itself as often: an update is visible within a minute of the alarm's change.
MAX_AGE_SECONDS = 30
INCIDENTS_KEPT = 20
NOTE_STATUSES = ("investigating", "identified", "monitoring", "resolved", "update")
# Attempts of a read-change-write of status.json before the invocation fails (EventBridge then retries it).
WRITE_ATTEMPTS = 8
# S3's answers to a conditional write that lost the race.
CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")

STATE_ORDER = ("operational", "degraded", "partial-outage", "major-outage")
STATE_TEXT = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "partial-outage": "Partial outage",
    "major-outage": "Major outage",
    "under-test": "Communication test in progress",
}
ALARM_NAME = re.compile(r"^(?P<prefix>[a-z0-9]+)-(?P<site>[a-z0-9]+)-monitoring-(?P<key>[a-z0-9-]+)$")


class BadEvent(ValueError):
    """An event this function does not handle: the invocation fails and says why."""


SETTINGS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "settings.json")


def _packaged():
    """The classification and components, generated from components/severity.ts into the code package."""
    try:
        with open(SETTINGS_FILE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _settings():
    env = os.environ
    packaged = _packaged()
    classification = json.loads(env["CLASSIFICATION"]) if env.get("CLASSIFICATION") else packaged.get("classification")
    components = json.loads(env["COMPONENTS"]) if env.get("COMPONENTS") else packaged.get("components")
    missing = [k for k, v in (("STATUS_BUCKET", env.get("STATUS_BUCKET")), ("classification", classification), ("components", components)) if not v]
    if missing:
        raise RuntimeError(f"missing setting(s): {', '.join(missing)} (environment, or settings.json next to the function)")
    return {
        "bucket": env["STATUS_BUCKET"],
        "classification": classification,
        "components": components,
        "serving_sites": [s for s in env.get("SERVING_SITES", "primary").split(",") if s],
        "customer_topic": env.get("CUSTOMER_TOPIC_ARN") or None,
        "prefix": env.get("ALARM_PREFIX", "genie"),
        "title": env.get("PAGE_TITLE", "Genie status"),
    }


def _now(event):
    t = event.get("time") if isinstance(event, dict) else None
    if isinstance(t, str) and t:
        return t
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_document(components):
    return {
        "updated": None,
        "revision": 0,
        "components": {key: {"name": name, "state": "operational"} for key, name in components.items()},
        "alarms": {},
        "incidents": [],
        "lastCommunicationTest": None,
    }


def load(s3, bucket, components):
    """The document and the ETag it was read with (None when there is none yet)."""
    try:
        obj = s3.get_object(Bucket=bucket, Key=STATUS_KEY)
    except s3.exceptions.NoSuchKey:
        return empty_document(components), None
    doc = json.loads(obj["Body"].read())
    doc.setdefault("revision", 0)
    # Components added since the document was written start operational.
    for key, name in components.items():
        doc["components"].setdefault(key, {"name": name, "state": "operational"})
        doc["components"][key]["name"] = name
    return doc, obj["ETag"]


def _parse_time(value):
    """An event or alarm-state timestamp ("2026-03-01T10:00:00Z", "2019-10-02T17:04:40.985+0000") as a datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"Z$", "+00:00", value.strip())
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def _recompute(doc, settings):
    """Each component's state: the worst public state among its alarms in ALARM."""
    worst = {key: "operational" for key in doc["components"]}
    for alarm in doc["alarms"].values():
        if alarm["state"] != "ALARM":
            continue
        comp = alarm["component"]
        if comp not in worst:
            continue
        if STATE_ORDER.index(alarm["publicState"]) > STATE_ORDER.index(worst[comp]):
            worst[comp] = alarm["publicState"]
    for key, comp in doc["components"].items():
        if comp.get("state") == "under-test":
            continue
        comp["state"] = worst[key]


def _public(settings, site, info):
    """Alarms of a site that does not serve (a standby DR site) show under the DR site, at most degraded."""
    if site in settings["serving_sites"]:
        return info["component"], info["publicState"]
    state = "degraded" if info["publicState"] != "operational" else "operational"
    return ("failover" if "failover" in settings["components"] else info["component"]), state


def apply_alarm(doc, event, settings, now):
    detail = event.get("detail") or {}
    name = detail.get("alarmName")
    new_state = (detail.get("state") or {}).get("value")
    if not name or new_state not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
        raise BadEvent("an Alarm State Change event needs detail.alarmName and detail.state.value")
    m = ALARM_NAME.match(name)
    if not m or m.group("prefix") != settings["prefix"]:
        return {"ignored": f"{name}: not an alarm of this application"}
    key = m.group("key")
    info = settings["classification"].get(key)
    if info is None:
        return {"ignored": f"{name}: alarm {key!r} has no severity (components/severity.ts)"}
    site = m.group("site")
    component, public_state = _public(settings, site, info)
    # When the alarm entered this state (CloudWatch's detail.state.timestamp), else when the event was sent.
    state_time = (detail.get("state") or {}).get("timestamp") or now
    stored = doc["alarms"].get(name, {})
    stored_time = _parse_time(stored.get("stateTimestamp"))
    new_time = _parse_time(state_time)
    if stored_time is not None and new_time is not None and new_time < stored_time:
        return {"ignored": f"{name}: {new_state} of {state_time} is older than the {stored.get('state')} of {stored.get('stateTimestamp')} already shown"}
    previous = stored.get("state")
    doc["alarms"][name] = {
        "state": new_state,
        "since": now,
        "stateTimestamp": state_time,
        "severity": info["severity"],
        "component": component,
        "publicState": public_state,
        "site": site,
    }
    notices = []
    if previous == new_state:
        return {"alarm": name, "changed": False, "notices": notices}
    comp_name = doc["components"].get(component, {}).get("name", component)
    open_incident = next((i for i in doc["incidents"] if i.get("alarm") == name and not i.get("resolved")), None)
    # Customers hear of a serving site only: a standby DR site's outage is not theirs.
    tell_customers = bool(info.get("notifyCustomers")) and site in settings["serving_sites"]
    if new_state == "ALARM" and public_state != "operational":
        if open_incident is None:
            open_incident = {
                "id": f"{now}-{key}",
                "alarm": name,
                "severity": info["severity"],
                "component": component,
                "title": f"{comp_name}: {STATE_TEXT[public_state].lower()}",
                "opened": now,
                "resolved": None,
                "customersNotified": False,
                "updates": [{"time": now, "status": "investigating", "text": f"We are investigating a {STATE_TEXT[public_state].lower()} of {comp_name}."}],
            }
            doc["incidents"].insert(0, open_incident)
        # Once per incident: back to ALARM after INSUFFICIENT_DATA tells nobody again.
        if tell_customers and not open_incident.get("customersNotified"):
            open_incident["customersNotified"] = True
            notices.append(("ALARM", comp_name, public_state))
    elif new_state == "OK" and open_incident is not None:
        open_incident["resolved"] = now
        open_incident["updates"].insert(0, {"time": now, "status": "resolved", "text": f"{comp_name} is operating normally again."})
        # Whoever was told of the disruption is told it is over, whatever states the alarm went through.
        if open_incident.get("customersNotified"):
            notices.append(("OK", comp_name, public_state))
    del doc["incidents"][INCIDENTS_KEPT:]
    return {"alarm": name, "changed": True, "notices": notices}


def apply_note(doc, event, now):
    message = (event.get("message") or "").strip()
    status = event.get("status") or "update"
    if not message:
        raise BadEvent('a note needs a non-empty "message"')
    if status not in NOTE_STATUSES:
        raise BadEvent(f'note status {status!r}: allowed: {", ".join(NOTE_STATUSES)}')
    if len(message) > 2000:
        raise BadEvent("a note is at most 2000 characters")
    target = next((i for i in doc["incidents"] if not i.get("resolved")), None)
    if target is None or event.get("new"):
        target = {"id": f"{now}-note", "alarm": None, "severity": None, "component": None, "title": event.get("title") or "Notice", "opened": now, "resolved": None, "updates": []}
        doc["incidents"].insert(0, target)
    target["updates"].insert(0, {"time": now, "status": status, "text": message})
    if status == "resolved":
        target["resolved"] = now
    del doc["incidents"][INCIDENTS_KEPT:]
    return {"note": target["id"]}


def apply_communication_test(doc, event, now):
    phase = event.get("phase", "start")
    comp = doc["components"].get("communication-test")
    if comp is None:
        raise BadEvent("no communication-test component on this page")
    if phase == "start":
        comp["state"] = "under-test"
        doc["lastCommunicationTest"] = now
    elif phase == "end":
        comp["state"] = "operational"
    else:
        raise BadEvent(f"communication-test phase {phase!r}: allowed: start, end")
    return {"communicationTest": phase}


def _overall(doc):
    states = [c["state"] for c in doc["components"].values() if c["state"] in STATE_ORDER]
    worst = max(states, key=STATE_ORDER.index) if states else "operational"
    return worst


def render(doc, title):
    """The page: plain HTML and CSS, no script; it reloads itself every MAX_AGE_SECONDS."""
    e = html.escape
    overall = _overall(doc)
    banner = "All systems operational" if overall == "operational" else STATE_TEXT[overall]
    rows = "\n".join(
        f'      <li class="component state-{e(c["state"])}" data-component="{e(key)}" data-state="{e(c["state"])}">'
        f'<span class="name">{e(c["name"])}</span> <span class="state">{e(STATE_TEXT.get(c["state"], c["state"]))}</span></li>'
        for key, c in doc["components"].items()
    )
    incidents = []
    for i in doc["incidents"]:
        updates = "\n".join(
            f'          <li><time datetime="{e(u["time"])}">{e(u["time"])}</time> <strong>{e(u["status"].capitalize())}</strong>: {e(u["text"])}</li>'
            for u in i["updates"]
        )
        state = "resolved" if i.get("resolved") else "open"
        incidents.append(
            f'      <article class="incident {state}" data-incident="{e(i["id"])}">\n'
            f'        <h3>{e(i["title"])}{" (resolved)" if i.get("resolved") else ""}</h3>\n'
            f"        <ul>\n{updates}\n        </ul>\n      </article>"
        )
    incidents_html = "\n".join(incidents) if incidents else "      <p>No recent incidents.</p>"
    test = doc.get("lastCommunicationTest")
    test_html = f'    <p class="test">Last communication test: <time datetime="{e(test)}">{e(test)}</time> (a test message, no incident).</p>\n' if test else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="refresh" content="{MAX_AGE_SECONDS}">
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'none'">
  <title>{e(title)}: {e(banner)}</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }}
    .banner {{ padding: 1rem; border-radius: .5rem; color: #fff; background: #2e7d32; }}
    .banner.degraded {{ background: #b26a00; }} .banner.partial-outage {{ background: #c62828; }} .banner.major-outage {{ background: #7f0000; }}
    ul.components {{ list-style: none; padding: 0; }} .component {{ display: flex; justify-content: space-between; padding: .6rem 0; border-bottom: 1px solid #ddd; }}
    .state-operational .state {{ color: #2e7d32; }} .state-degraded .state {{ color: #b26a00; }}
    .state-partial-outage .state, .state-major-outage .state {{ color: #c62828; font-weight: bold; }} .state-under-test .state {{ color: #1565c0; }}
    .incident {{ border-left: 4px solid #c62828; padding-left: 1rem; margin: 1rem 0; }} .incident.resolved {{ border-color: #2e7d32; }}
  </style>
</head>
<body>
  <h1>{e(title)}</h1>
  <p class="banner {e(overall)}" id="overall" data-state="{e(overall)}">{e(banner)}</p>
  <section>
    <h2>Components</h2>
    <ul class="components">
{rows}
    </ul>
  </section>
  <section id="incidents">
    <h2>Recent incidents</h2>
{incidents_html}
  </section>
  <footer>
{test_html}    <p>Updated <time id="updated" datetime="{e(doc.get("updated") or "")}">{e(doc.get("updated") or "never")}</time>. This page reloads itself every {MAX_AGE_SECONDS} seconds.</p>
  </footer>
</body>
</html>
"""


def customer_message(kind, component, public_state, now, page_url):
    """The customer notice template (subject, message): short enough for SMS."""
    if kind == "ALARM":
        subject = f"Genie service disruption: {component}"
        text = (f"Genie: {STATE_TEXT[public_state].lower()} of {component} since {now}. "
                f"We are working on it. Updates: {page_url}")
    else:
        subject = f"Genie service restored: {component}"
        text = f"Genie: {component} is working normally again ({now}). Details: {page_url}"
    return subject, text


class Conflict(Exception):
    """Another invocation wrote the object first."""


_HEADERS = {"IfMatch": "If-Match", "IfNoneMatch": "If-None-Match"}


def _put(s3, conditions, **params):
    """PutObject with conditions (IfMatch / IfNoneMatch); a lost race raises Conflict.

    An SDK whose model predates conditional writes gets the headers added to the request instead.
    """
    members = s3.meta.service_model.operation_model("PutObject").input_shape.members
    try:
        if all(k in members for k in conditions):
            return s3.put_object(**params, **conditions)

        def add_headers(request, **_):
            for k, v in conditions.items():
                request.headers[_HEADERS[k]] = v

        s3.meta.events.register("before-sign.s3.PutObject", add_headers)
        try:
            return s3.put_object(**params)
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObject", add_headers)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in CONFLICT_CODES or status in ("409", "412"):
            raise Conflict(code or status) from e
        raise


def _pause(attempt):
    time.sleep(min(0.05 * 2 ** attempt, 1.0) * random.random())


def save_document(s3, bucket, doc, etag):
    """Writes status.json only over the version it was read from."""
    conditions = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    _put(s3, conditions, Bucket=bucket, Key=STATUS_KEY, Body=json.dumps(doc, indent=1).encode(), ContentType="application/json",
         CacheControl=f"max-age={MAX_AGE_SECONDS}")


def publish_page(s3, bucket, doc, title):
    """Writes index.html of the document's revision unless the page already shows a later one."""
    revision = doc["revision"]
    for attempt in range(WRITE_ATTEMPTS):
        try:
            head = s3.head_object(Bucket=bucket, Key=PAGE_KEY)
            shown = int((head.get("Metadata") or {}).get("revision", "0") or 0)
            conditions = {"IfMatch": head["ETag"]}
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code")) not in ("404", "NoSuchKey", "NotFound"):
                raise
            shown, conditions = -1, {"IfNoneMatch": "*"}
        if shown >= revision:
            return False
        try:
            _put(s3, conditions, Bucket=bucket, Key=PAGE_KEY, Body=render(doc, title).encode(), ContentType="text/html; charset=utf-8",
                 CacheControl=f"max-age={MAX_AGE_SECONDS}", Metadata={"revision": str(revision)})
            return True
        except Conflict:
            _pause(attempt)
    raise RuntimeError(f"{PAGE_KEY} kept changing: not written after {WRITE_ATTEMPTS} attempts")


def _apply(doc, event, settings, now):
    if event.get("detail-type") == "CloudWatch Alarm State Change":
        return apply_alarm(doc, event, settings, now)
    if event.get("kind") == "note":
        return apply_note(doc, event, now)
    if event.get("kind") == "communication-test":
        return apply_communication_test(doc, event, now)
    raise BadEvent("not an Alarm State Change, a note or a communication test event")


def handler(event, context=None, s3=None, sns=None):
    settings = _settings()
    s3 = s3 or boto3.client("s3")
    now = _now(event)
    for attempt in range(WRITE_ATTEMPTS):
        doc, etag = load(s3, settings["bucket"], settings["components"])
        result = _apply(doc, event, settings, now)
        if "ignored" in result:
            return result
        _recompute(doc, settings)
        doc["updated"] = now
        doc["revision"] = doc.get("revision", 0) + 1
        try:
            save_document(s3, settings["bucket"], doc, etag)
            break
        except Conflict:
            # Another invocation wrote first: read its document and apply this event to it.
            _pause(attempt)
    else:
        raise RuntimeError(f"{STATUS_KEY} kept changing: not written after {WRITE_ATTEMPTS} attempts (EventBridge retries the event)")
    result["attempts"] = attempt + 1
    publish_page(s3, settings["bucket"], doc, settings["title"])
    sent = []
    for kind, component, public_state in result.get("notices", []):
        if not settings["customer_topic"]:
            continue
        sns = sns or boto3.client("sns")
        subject, text = customer_message(kind, component, public_state, now, os.environ.get("PAGE_URL", ""))
        sns.publish(TopicArn=settings["customer_topic"], Subject=subject, Message=text)
        sent.append(kind)
    result["notices"] = sent
    return result
