/**
 * Over 300 lines on purpose: one pass per kind of link, each short; split them if a new kind is added.
 * `npm run plan -- <stack> --diagram <file>`: a Mermaid flowchart of the evaluated stack, drawn from the
 * recorded resources (never by hand): one subgraph per region with the site's tiers (edge, app, data,
 * backups, alerts), the replication and copy arrows between regions (S3 replication, RDS read replicas
 * and automated-backup replication, AWS Backup copy actions, ECR replication, secret replicas), the
 * Route 53 failover pair, and the alert routes (alarms and events -> topics, counted per topic).
 *
 * The output depends only on the evaluation: nodes are named after resource names, and every list is
 * sorted, so the committed diagrams (docs/diagrams/*.mmd, embedded in docs/architecture.md) can be
 * compared with what the code produces (test/docs.test.ts).
 *
 * Mermaid syntax: https://mermaid.js.org/syntax/flowchart.html (subgraphs, `id["label"]`, `A -->|"text"| B`,
 * `-.->` dotted links, `%%` comments). GitHub renders ```mermaid blocks in Markdown.
 */
import * as fs from "fs";
import { RecordedResource, StackEvaluation } from "./mock-runtime";
import { AWS_TYPES, ofType } from "../policies/aws-types";

type Tier = "edge" | "app" | "data" | "backups" | "alerts";
const TIERS: Tier[] = ["edge", "app", "data", "backups", "alerts"];

interface Node {
    id: string;
    region: string;
    tier: Tier;
    /** Mermaid shape around the quoted label: [ ], [( )], ([ ]), {{ }}. */
    shape: [string, string];
    label: string;
}

interface Edge {
    from: string;
    to: string;
    label: string;
    /** Dotted: a copy or a route that is not the request path. */
    dotted: boolean;
}

const T = {
    alb: AWS_TYPES.loadBalancer,
    listener: AWS_TYPES.listener,
    healthCheck: AWS_TYPES.healthCheck,
    record: AWS_TYPES.route53Record,
    cdn: AWS_TYPES.cloudfrontDistribution,
    regionSwitch: AWS_TYPES.regionSwitchPlan,
    asg: AWS_TYPES.autoscalingGroup,
    launchTemplate: AWS_TYPES.launchTemplate,
    egress: AWS_TYPES.securityGroupEgressRule,
    ecr: AWS_TYPES.repository,
    ecrTemplate: AWS_TYPES.repositoryCreationTemplate,
    ecrReplication: AWS_TYPES.registryReplication,
    lambda: AWS_TYPES.lambdaFunction,
    db: AWS_TYPES.dbInstance,
    dbBackupsReplication: AWS_TYPES.dbBackupReplication,
    cache: AWS_TYPES.cache,
    bucket: AWS_TYPES.bucket,
    bucketReplication: AWS_TYPES.bucketReplication,
    secret: AWS_TYPES.secret,
    vault: AWS_TYPES.backupVault,
    backupPlan: AWS_TYPES.backupPlan,
    stateMachine: AWS_TYPES.stateMachine,
    ssmDocument: AWS_TYPES.ssmDocument,
    topic: AWS_TYPES.topic,
    alarm: AWS_TYPES.metricAlarm,
    composite: AWS_TYPES.compositeAlarm,
    eventTarget: AWS_TYPES.eventTarget,
    dbEvents: AWS_TYPES.dbEventSubscription,
    vaultNotifications: AWS_TYPES.backupVaultNotifications,
} as const;

const BUCKET_PURPOSES = ["backups", "uploads", "logs", "cache-exports", "status-page"] as const;

/** A Mermaid id: letters, digits and underscores only. */
const idOf = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]+/g, "_")}`;
/** Mermaid labels are quoted: a double quote inside one is written as an entity. */
const quote = (s: string) => `"${s.replace(/"/g, "#quot;")}"`;

function bucketPurpose(r: RecordedResource): string | undefined {
    const tagged = r.props.tags?.purpose;
    if (typeof tagged === "string") return tagged;
    return BUCKET_PURPOSES.find((p) => r.name.endsWith(`-${p}-bucket`) || r.name.endsWith(`-${p.split("-")[0]}-bucket`));
}

export function renderDiagram(ev: StackEvaluation): string {
    const resources = [...ev.resources].filter((r) => r.custom).sort((a, b) => a.urn.localeCompare(b.urn));
    const of = (type: string) => ofType(resources, type);
    const nodes = new Map<string, Node>();
    const nodeOf = new Map<string, string>(); // resource urn -> node id
    const edges: Edge[] = [];
    const external = new Map<string, string>(); // node id -> label (outside this stack)

    /**
     * The resource of one of `types` that a reference given to another resource (its id, ARN, name,
     * bucket or DNS name) points at. Typed, because a bucket's configuration resources share its id and
     * a topic's policy its ARN.
     */
    const resolve = (ref: unknown, ...types: string[]): RecordedResource | undefined =>
        typeof ref !== "string" || ref === ""
            ? undefined
            : resources.find(
                  (r) =>
                      types.includes(r.type) &&
                      [r.id, r.outputs.arn, r.outputs.bucket, r.outputs.dnsName, r.props.name, r.props.identifier].includes(ref),
              );

    const add = (r: RecordedResource, tier: Tier, label: string, shape: [string, string] = ["[", "]"]) => {
        const id = idOf("r", r.name);
        nodes.set(id, { id, region: r.region ?? "global", tier, shape, label: `${label}<br/>${r.name}` });
        nodeOf.set(r.urn, id);
        return id;
    };
    const edge = (from: string | undefined, to: string | undefined, label: string, dotted = true) => {
        if (from && to && from !== to) edges.push({ from, to, label, dotted });
    };
    const cyl: [string, string] = ["[(", ")]"];

    // ── Tiers
    for (const r of of(T.alb)) add(r, "edge", "ALB");
    for (const r of of(T.healthCheck)) add(r, "edge", `health check ${r.props.type ?? ""} ${r.props.resourcePath ?? ""}`.trim());
    for (const r of of(T.cdn)) add(r, "edge", "CloudFront (status page)");
    for (const r of of(T.regionSwitch)) add(r, "edge", `Region switch plan ${(r.props.regions ?? []).join(" / ")}`);
    for (const r of of(T.asg)) add(r, "app", `app group ${r.props.minSize}..${r.props.maxSize} instances`);
    for (const r of of(T.ecr)) add(r, "app", `ECR ${r.props.name ?? ""}`.trim(), cyl);
    for (const r of of(T.ecrTemplate)) add(r, "app", `ECR creation template (${r.props.prefix ?? ""})`);
    for (const r of of(T.lambda)) add(r, "app", "status page function");
    for (const r of of(T.db)) {
        const kind = r.props.replicateSourceDb ? "PostgreSQL read replica" : `PostgreSQL${r.props.multiAz ? " Multi-AZ" : ""}`;
        add(r, "data", kind, cyl);
    }
    for (const r of of(T.cache)) add(r, "data", `Redis ${r.props.numCacheClusters ?? ""} nodes`.replace("  ", " "), cyl);
    for (const r of of(T.secret)) add(r, "data", `secret ${r.props.name ?? ""}`.trim());
    for (const r of of(T.bucket)) {
        const purpose = bucketPurpose(r) ?? "bucket";
        add(r, purpose === "backups" || purpose === "cache-exports" ? "backups" : purpose === "status-page" ? "edge" : "data", `S3 ${purpose}`, cyl);
    }
    for (const r of of(T.vault)) add(r, "backups", "AWS Backup vault (Vault Lock)", cyl);
    for (const r of of(T.backupPlan)) {
        const rules = (r.props.rules ?? []).map((x: { ruleName?: string }) => x.ruleName).filter(Boolean).sort();
        add(r, "backups", `AWS Backup plan: ${rules.join(", ")}`);
    }
    for (const r of of(T.dbBackupsReplication)) add(r, "backups", "RDS automated backups (replicated)", cyl);
    for (const r of of(T.stateMachine)) add(r, "backups", "Redis snapshot + export job");
    for (const r of of(T.ssmDocument)) add(r, "backups", "scheduled pg_dump (SSM)");
    for (const r of of(T.topic)) add(r, "alerts", "SNS topic", ["([", "])"]);

    // ── Request path: DNS -> ALB -> app group -> data stores (security group rules)
    const records = of(T.record).filter((r) => Array.isArray(r.props.failoverRoutingPolicies));
    for (const name of [...new Set(records.map((r) => String(r.props.name)))].sort()) {
        const dns = idOf("dns", name);
        nodes.set(dns, { id: dns, region: "global", tier: "edge", shape: ["{{", "}}"], label: `Route 53 failover ${name}` });
        const types = new Set<string>();
        for (const r of records.filter((x) => x.props.name === name)) {
            const type = String(r.props.failoverRoutingPolicies[0]?.type);
            types.add(type);
            const alb = resolve(r.props.aliases?.[0]?.name, T.alb);
            edge(dns, alb && nodeOf.get(alb.urn), `${type}${r.props.healthCheckId ? " (health-checked)" : ""}`, false);
            const hc = resolve(r.props.healthCheckId, T.healthCheck);
            if (hc) edge(nodeOf.get(hc.urn), dns, "decides", true);
        }
        for (const other of ["PRIMARY", "SECONDARY"].filter((t) => !types.has(t))) {
            const id = idOf("ext", `${name}-${other}`);
            external.set(id, `${other} record of ${name}<br/>(another stack)`);
            edge(dns, id, other, true);
        }
    }
    for (const hc of of(T.healthCheck)) edge(nodeOf.get(hc.urn), nodeOf.get(resolve(hc.props.fqdn, T.alb)?.urn ?? ""), "probes", true);
    const albOfTargetGroup = new Map<string, RecordedResource>();
    for (const l of of(T.listener)) {
        const alb = resolve(l.props.loadBalancerArn, T.alb);
        for (const a of l.props.defaultActions ?? []) if (alb && a.targetGroupArn) albOfTargetGroup.set(a.targetGroupArn, alb);
    }
    const egress = of(T.egress);
    const storesBehind = (sg: string) =>
        [...of(T.db), ...of(T.cache)].filter((s) => [...(s.props.vpcSecurityGroupIds ?? []), ...(s.props.securityGroupIds ?? [])].includes(sg));
    for (const asg of of(T.asg)) {
        const id = nodeOf.get(asg.urn);
        for (const tg of [...(asg.props.targetGroupArns ?? [])].sort()) edge(nodeOf.get(albOfTargetGroup.get(tg)?.urn ?? ""), id, "HTTPS", false);
        const lt = resolve(asg.props.launchTemplate?.id, T.launchTemplate);
        for (const sg of lt?.props.vpcSecurityGroupIds ?? []) {
            for (const rule of egress.filter((e) => e.props.securityGroupId === sg && e.props.referencedSecurityGroupId)) {
                for (const store of storesBehind(rule.props.referencedSecurityGroupId)) edge(id, nodeOf.get(store.urn), `:${rule.props.fromPort}`, false);
            }
        }
    }
    for (const cdn of of(T.cdn)) {
        for (const o of cdn.props.origins ?? []) {
            const bucket = of(T.bucket).find((b) => typeof o.domainName === "string" && o.domainName.startsWith(`${b.outputs.bucket}.s3.`));
            edge(nodeOf.get(cdn.urn), bucket && nodeOf.get(bucket.urn), "origin", false);
        }
    }

    // ── Replication and copies (the arrows between regions)
    const externalDb = (arn: string) => {
        const id = idOf("ext", arn.split(":").pop() ?? arn);
        external.set(id, `database ${arn.split(":").pop()}<br/>${arn.split(":")[3] ?? ""} (another stack)`);
        return id;
    };
    for (const db of of(T.db).filter((r) => r.props.replicateSourceDb)) {
        const src = resolve(db.props.replicateSourceDb, T.db);
        edge(src ? nodeOf.get(src.urn) : externalDb(String(db.props.replicateSourceDb)), nodeOf.get(db.urn), "RDS replica");
    }
    for (const rep of of(T.dbBackupsReplication)) {
        const src = resolve(rep.props.sourceDbInstanceArn, T.db);
        edge(src ? nodeOf.get(src.urn) : externalDb(String(rep.props.sourceDbInstanceArn)), nodeOf.get(rep.urn), `automated backups ${rep.props.retentionPeriod ?? ""} d`.trim());
    }
    for (const cfg of of(T.bucketReplication)) {
        const src = resolve(cfg.props.bucket, T.bucket);
        for (const rule of cfg.props.rules ?? []) {
            const dst = resolve(rule.destination?.bucket, T.bucket);
            const rtc = rule.destination?.replicationTime?.status === "Enabled" ? ` RTC ${rule.destination.replicationTime.time?.minutes} min` : "";
            edge(src && nodeOf.get(src.urn), dst && nodeOf.get(dst.urn), `S3 replication${rtc}`);
        }
    }
    for (const plan of of(T.backupPlan)) {
        edge(nodeOf.get(plan.urn), nodeOf.get(resolve(plan.props.rules?.[0]?.targetVaultName, T.vault)?.urn ?? ""), "backups", false);
        const copies = new Map<string, string[]>();
        for (const rule of plan.props.rules ?? []) {
            const source = resolve(rule.targetVaultName, T.vault);
            for (const c of rule.copyActions ?? []) {
                const dst = resolve(c.destinationVaultArn, T.vault);
                if (source && dst) copies.set(`${source.urn}\n${dst.urn}`, [...(copies.get(`${source.urn}\n${dst.urn}`) ?? []), rule.ruleName]);
            }
        }
        for (const [key, rules] of copies) {
            const [from, to] = key.split("\n");
            edge(nodeOf.get(from), nodeOf.get(to), `AWS Backup copy: ${rules.sort().join(", ")}`);
        }
    }
    for (const cfg of of(T.ecrReplication)) {
        for (const rule of cfg.props.replicationConfiguration?.rules ?? []) {
            const repos = of(T.ecr).filter((r) => (rule.repositoryFilters ?? []).some((f: { filter: string }) => String(r.props.name ?? "").startsWith(f.filter)));
            for (const d of rule.destinations ?? []) {
                const template = of(T.ecrTemplate).find((t) => t.region === d.region);
                let to = template && nodeOf.get(template.urn);
                if (!to) {
                    to = idOf("ecr_replica", d.region);
                    nodes.set(to, { id: to, region: d.region, tier: "app", shape: cyl, label: "ECR replica (created by replication)" });
                }
                for (const repo of repos) edge(nodeOf.get(repo.urn), to, "ECR replication");
            }
        }
    }
    for (const s of of(T.secret)) {
        for (const rep of [...(s.props.replicas ?? [])].sort((a, b) => String(a.region).localeCompare(String(b.region)))) {
            const id = idOf("replica", `${s.name}-${rep.region}`);
            nodes.set(id, { id, region: rep.region, tier: "data", shape: ["[", "]"], label: `secret replica<br/>${s.props.name}` });
            edge(nodeOf.get(s.urn), id, "secret replica");
        }
    }

    // ── Alert routes, coarse: per region, what notifies each topic (counted)
    const sources = new Map<string, Map<string, Map<string, number>>>(); // region -> target node -> kind -> count
    const route = (region: string | undefined, target: string | undefined, kind: string) => {
        if (!region || !target) return;
        const byTarget = sources.get(region) ?? new Map<string, Map<string, number>>();
        const kinds = byTarget.get(target) ?? new Map<string, number>();
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        byTarget.set(target, kinds);
        sources.set(region, byTarget);
    };
    const srcId = (region: string) => idOf("alerts", region);
    for (const a of of(T.alarm)) for (const t of new Set<string>(a.props.alarmActions ?? [])) route(a.region, nodeOf.get(resolve(t, T.topic)?.urn ?? ""), "alarm");
    for (const a of of(T.composite)) for (const t of new Set<string>(a.props.alarmActions ?? [])) route(a.region, nodeOf.get(resolve(t, T.topic)?.urn ?? ""), "composite alarm");
    for (const s of of(T.dbEvents)) route(s.region, nodeOf.get(resolve(s.props.snsTopic, T.topic)?.urn ?? ""), "RDS event subscription");
    for (const v of of(T.vaultNotifications)) route(v.region, nodeOf.get(resolve(v.props.snsTopicArn, T.topic)?.urn ?? ""), "backup vault");
    for (const t of of(T.eventTarget)) {
        const arn = String(t.props.arn ?? "");
        const target = resolve(arn, T.topic, T.lambda);
        const bus = /^arn:aws:events:([^:]+):[^:]*:event-bus\//.exec(arn);
        const kind = bus ? "forwarded event rule" : target?.type === T.lambda ? "event rule to a function" : "event rule";
        route(t.region, target ? nodeOf.get(target.urn) : bus ? srcId(bus[1]) : undefined, kind);
    }
    for (const [region, byTarget] of sources) {
        const id = srcId(region);
        nodes.set(id, { id, region, tier: "alerts", shape: ["[", "]"], label: "alarms and alert events" });
        for (const [target, kinds] of byTarget) {
            const label = [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}${n === 1 ? "" : "s"}`).join(", ");
            edge(id, target, label, false);
        }
    }

    return render(ev, [...nodes.values()], edges, external);
}

function render(ev: StackEvaluation, nodes: Node[], edges: Edge[], external: Map<string, string>): string {
    const role = ev.config[`${ev.project}:siteRole`] ?? "primary";
    const lines = [
        `%% Generated from the evaluated stack ${ev.stack} (site role ${role}) by: npm run plan -- ${ev.stack} --diagram <file>. Do not edit.`,
        "flowchart LR",
    ];
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    const show = (n: Node, indent: string) => lines.push(`${indent}${n.id}${n.shape[0]}${quote(n.label)}${n.shape[1]}`);
    const regions = [...new Set(nodes.map((n) => n.region))].sort((a, b) => (a === "global" ? -1 : b === "global" ? 1 : a.localeCompare(b)));
    for (const region of regions) {
        const inRegion = nodes.filter((n) => n.region === region);
        if (region === "global") {
            inRegion.sort(byId).forEach((n) => show(n, "    "));
            continue;
        }
        const rid = idOf("region", region);
        lines.push(`    subgraph ${rid}[${quote(region)}]`);
        for (const tier of TIERS) {
            const inTier = inRegion.filter((n) => n.tier === tier).sort(byId);
            if (inTier.length === 0) continue;
            lines.push(`        subgraph ${rid}_${tier}[${quote(tier)}]`);
            inTier.forEach((n) => show(n, "            "));
            lines.push("        end");
        }
        lines.push("    end");
    }
    for (const [id, label] of [...external].sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${id}[/${quote(label)}/]`);
    const seen = new Set<string>();
    const sorted = [...edges].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.label.localeCompare(b.label));
    for (const e of sorted) {
        const line = `    ${e.from} ${e.dotted ? "-." : "--"}${e.dotted ? "->" : ">"}|${quote(e.label)}| ${e.to}`;
        if (seen.has(line)) continue;
        seen.add(line);
        lines.push(line);
    }
    return lines.join("\n") + "\n";
}

/** The marker line in a Markdown file after which the stack's ```mermaid block sits. */
export const diagramMarker = (stack: string) => `<!-- diagram: ${stack} -->`;

/** The mermaid block that follows a stack's marker in a Markdown text, or undefined. */
export function embeddedDiagram(markdown: string, stack: string): string | undefined {
    const at = markdown.indexOf(diagramMarker(stack));
    if (at < 0) return undefined;
    const m = /^\s*```mermaid\n([\s\S]*?)```/.exec(markdown.slice(at + diagramMarker(stack).length));
    return m?.[1];
}

/**
 * Writes the diagram to a file: a `.md` file keeps its text, and the ```mermaid block after the stack's
 * marker is replaced (or inserted); any other file gets the diagram alone.
 */
export function writeDiagram(file: string, stack: string, diagram: string): void {
    if (!file.endsWith(".md")) {
        fs.writeFileSync(file, diagram);
        return;
    }
    const text = fs.readFileSync(file, "utf8");
    const marker = diagramMarker(stack);
    const at = text.indexOf(marker);
    if (at < 0) throw new Error(`${file} has no line ${marker} to put the diagram after`);
    const rest = text.slice(at + marker.length);
    const block = /^\s*```mermaid\n[\s\S]*?```/.exec(rest);
    const after = block ? rest.slice(block[0].length) : rest;
    fs.writeFileSync(file, `${text.slice(0, at)}${marker}\n\`\`\`mermaid\n${diagram}\`\`\`${after}`);
}
