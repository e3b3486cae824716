/**
 * Shared by the status page's tests: the function (functions/status-page/status_page.py) run by a local
 * Python that has boto3, against moto_server (S3 and SNS), with the classification the stacks give it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { statusFunctionAssets, statusFunctionSettings } from "../../components/status-page";
import { baseEnv, IN_CI, Moto, PATH, run, tmpDir } from "../runbooks/support/fixtures";

/** The function under test; STATUS_FUNCTION_DIR points the tests at another copy (a mutant, to see a test fail). */
export const FUNCTION_DIR = process.env.STATUS_FUNCTION_DIR ?? path.resolve(__dirname, "..", "..", "functions", "status-page");

/**
 * A Python 3 with boto3: the one moto_server runs on (pyenv's on the project's machines, the runbook
 * tools' venv in CI: .ci/runbook-prereqs.sh), else python3.
 */
export function statusPython(): string | undefined {
    const candidates = [process.env.STATUS_PAGE_PYTHON, "/opt/genie-runbook-tools/bin/python", "python3"].filter((c): c is string => !!c);
    for (const c of candidates) {
        const r = spawnSync(c, ["-c", "import boto3"], { env: { ...process.env, PATH }, encoding: "utf8" });
        if (r.status === 0) return c;
    }
    return undefined;
}

/** Skip outside CI (loudly), fail under CI=true, when no Python with boto3 is found. */
export function requirePython(ctx: Mocha.Context): string {
    const py = statusPython();
    if (py) return py;
    const msg = "the status page tests need a Python 3 with boto3 (install with: bash .ci/runbook-prereqs.sh)";
    if (IN_CI) throw new Error(`CI=true and a prerequisite is missing: ${msg}`);
    console.warn(`\n  !!! SKIPPING: ${msg}\n`);
    ctx.skip();
    return "";
}

export interface StatusSite {
    bucket: string;
    topicArn?: string;
    servingSites?: string[];
    region?: string;
}

let packaged: string | undefined;
/**
 * The function as Lambda runs it: the code package components/status-page.ts builds (the code, and the
 * settings.json generated from components/severity.ts), in a directory of its own.
 */
export function packagedFunctionDir(): string {
    if (packaged) return packaged;
    const dir = tmpDir("status-function");
    for (const file of Object.keys(statusFunctionAssets())) {
        if (file === "settings.json") fs.writeFileSync(path.join(dir, file), statusFunctionSettings());
        else fs.copyFileSync(path.join(FUNCTION_DIR, file), path.join(dir, file));
    }
    packaged = dir;
    return dir;
}

/** The function's environment as components/status-page.ts sets it (the classification is in the package). */
export function functionEnv(site: StatusSite): Record<string, string> {
    return {
        STATUS_BUCKET: site.bucket,
        SERVING_SITES: (site.servingSites ?? ["primary"]).join(","),
        ALARM_PREFIX: "genie",
        PAGE_TITLE: "Genie status",
        PAGE_URL: "https://status.example.com/",
        ...(site.topicArn ? { CUSTOMER_TOPIC_ARN: site.topicArn } : {}),
    };
}

export interface Step {
    result?: Record<string, unknown>;
    error?: string;
    html: string | null;
    doc?: any;
    cacheControl?: string;
    received: { Subject?: string; Message: string }[];
}

let scenarios = 0;
/**
 * Runs the handler on each event in turn, in one Python process (test/support/status_page_driver.py):
 * a fresh bucket, customer topic and a queue subscribed to it; per event, the result or the error, the
 * page and document after it, and what customers received.
 */
export async function scenario(python: string, moto: Moto, events: object[], site: { servingSites?: string[] } = {}): Promise<Step[]> {
    scenarios += 1;
    const region = "us-west-2";
    const name = `status-${process.pid}-${scenarios}`;
    const env = baseEnv({ ...moto.env, AWS_REGION: region, AWS_DEFAULT_REGION: region, ...functionEnv({ bucket: name, servingSites: site.servingSites }), FUNCTION_DIR: packagedFunctionDir() });
    const r = await run(python, [path.join(__dirname, "status_page_driver.py")], env, { input: JSON.stringify({ region, bucket: name, topic: name, steps: events }), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`status page driver failed (${r.code}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** An EventBridge "CloudWatch Alarm State Change" event (the shape of the CloudWatch user guide's example). */
export function alarmEvent(alarmName: string, state: "OK" | "ALARM" | "INSUFFICIENT_DATA", time = "2026-03-01T10:00:00Z", previous = "OK") {
    return {
        version: "0",
        id: `e-${alarmName}-${state}-${time}`,
        "detail-type": "CloudWatch Alarm State Change",
        source: "aws.cloudwatch",
        account: "123456789012",
        time,
        region: "us-east-1",
        resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
        detail: {
            alarmName,
            state: { value: state, reason: "test", timestamp: time },
            previousState: { value: previous, reason: "test", timestamp: time },
            configuration: { description: "test" },
        },
    };
}
