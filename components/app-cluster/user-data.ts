/**
 * What runs on an app instance: the boot script (user data) and the CloudWatch agent's configuration,
 * plus the agent's namespace and metric names, which the group's memory scaling and the disk alarm
 * (components/monitoring.ts) read.
 */
import { PORTS } from "../security-groups";

/** Namespace the CloudWatch agent publishes to; the memory target tracking and the disk alarm read it. */
export const AGENT_NAMESPACE = "CWAgent";
/** The agent's metric names (memory and disk used, percent). */
export const AGENT_METRICS = { memoryUsedPercent: "mem_used_percent", diskUsedPercent: "disk_used_percent" } as const;

export interface UserDataParams {
    imageUri: string;
    /** Name or ARN of the app's environment secret in the instance's region. */
    appEnvSecretId: string;
    /** `sha256:<hex>` of the environment written: a new environment is a new launch template version. */
    appEnvDigest?: string;
    /** PostgreSQL client package to install (for the scheduled dump), e.g. postgresql15; none: not installed. */
    postgresClientPackage?: string;
    logGroupName: string;
    region: string;
}

/** EC2 refuses user data above 16 KB before base64 ("User data is limited to 16 KB, in raw form, before it is base64-encoded", EC2 User Guide, "Run commands when you launch an EC2 instance with user data input"). */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** The CloudWatch agent's configuration: memory and root-disk used percent, per instance and per group. */
export function agentConfig(): object {
    return {
        agent: { metrics_collection_interval: 60 },
        metrics: {
            namespace: AGENT_NAMESPACE,
            // Resolved by the agent on the instance: "${aws:...}" is its syntax, not a template literal.
            append_dimensions: { AutoScalingGroupName: "${aws:AutoScalingGroupName}", InstanceId: "${aws:InstanceId}" },
            // Also published with the group name as the only dimension: what target tracking and alarms read.
            aggregation_dimensions: [["AutoScalingGroupName"]],
            metrics_collected: {
                mem: { measurement: ["used_percent"] },
                disk: { measurement: ["used_percent"], resources: ["/"], drop_device: true },
            },
        },
    };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/**
 * The instances' boot script (bash): Docker, the CloudWatch agent, the app's environment and container.
 *
 * The environment secret holds endpoints and the names of the credential secrets (never a password);
 * the script reads those secrets on the host (the container cannot reach the instance role: IMDS hop
 * limit 1) into `/etc/genie/app.env`, root-only, which Docker passes to the container:
 * `DATABASE_USER`, `DATABASE_PASSWORD`, `DATABASE_URL` (`postgresql://...?sslmode=require`),
 * `REDIS_PASSWORD`, `REDIS_URL` (`rediss://...`), besides every key of the environment document.
 * AWS calls and the image pull are retried (IAM propagation, a version written moments before);
 * anything still failing stops the script (`set -e`): no container starts, the target stays unhealthy,
 * and the group replaces the instance after the health-check grace period.
 */
export function renderUserData(p: UserDataParams): string {
    const script = [
        "#!/bin/bash",
        // Kept as written when the component had one file (it still exports this function): any change of
        // the script is a new launch template version and rolls every instance.
        "# Genie AI Server app instance: rendered by components/app-cluster.ts.",
        "set -euo pipefail",
        `REGION=${shellQuote(p.region)}`,
        `IMAGE=${shellQuote(p.imageUri)}`,
        `APP_ENV_SECRET=${shellQuote(p.appEnvSecretId)}`,
        // Not read by the script: a new environment must change the launch template to roll the group.
        `APP_ENV_DIGEST=${shellQuote(p.appEnvDigest ?? "")}`,
        `LOG_GROUP=${shellQuote(p.logGroupName)}`,
        'REGISTRY="${IMAGE%%/*}"',
        "",
        "# retry ATTEMPTS DELAY COMMAND...: the command's output once it succeeds; its last failure otherwise.",
        "retry() {",
        '  local attempts=$1 delay=$2 i; shift 2',
        '  for (( i = 1; ; i++ )); do',
        '    "$@" && return 0',
        '    [ "$i" -ge "$attempts" ] && return 1',
        '    echo "genie boot: attempt $i/$attempts failed: $1 ... (retrying in ${delay}s)" >&2',
        '    sleep "$delay"',
        "  done",
        "}",
        'secret_string() { aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text; }',
        "",
        "dnf install -y docker amazon-cloudwatch-agent jq",
        "systemctl enable --now docker",
        "",
        "# Memory and disk used percent (CWAgent namespace): memory target tracking, the disk space alarm.",
        "cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CWAGENT'",
        JSON.stringify(agentConfig(), null, 2),
        "CWAGENT",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json",
        "",
        "# The app's environment from Secrets Manager (a JSON object written by Pulumi: endpoints and the",
        "# names of the credential secrets), then the credentials themselves: root-only, never logged.",
        "install -d -m 0700 /etc/genie",
        "umask 077",
        'echo "genie boot: app environment $APP_ENV_SECRET ($APP_ENV_DIGEST)" >&2',
        'APP_ENV_JSON="$(retry 20 15 secret_string "$APP_ENV_SECRET")"',
        String.raw`printf '%s' "$APP_ENV_JSON" | jq -r 'to_entries[] | "\(.key)=\(.value)"' > /etc/genie/app.env`,
        String.raw`DB_SECRET="$(printf '%s' "$APP_ENV_JSON" | jq -r '.DATABASE_CREDENTIALS_SECRET // empty')"`,
        'if [ -n "$DB_SECRET" ]; then',
        '  DB_JSON="$(retry 20 15 secret_string "$DB_SECRET")"',
        String.raw`  printf '%s' "$DB_JSON" | jq -r --argjson env "$APP_ENV_JSON"` + " \\",
        String.raw`    '"DATABASE_USER=\(.username)", "DATABASE_PASSWORD=\(.password)", "DATABASE_URL=postgresql://\(.username | @uri):\(.password | @uri)@\($env.DATABASE_HOST):\($env.DATABASE_PORT)/\($env.DATABASE_NAME)?sslmode=\($env.DATABASE_SSLMODE)"'` + " \\",
        "    >> /etc/genie/app.env",
        "  unset DB_JSON",
        "fi",
        String.raw`REDIS_SECRET="$(printf '%s' "$APP_ENV_JSON" | jq -r '.REDIS_AUTH_SECRET // empty')"`,
        'if [ -n "$REDIS_SECRET" ]; then',
        '  REDIS_TOKEN="$(retry 20 15 secret_string "$REDIS_SECRET")"',
        String.raw`  printf '%s' "$REDIS_TOKEN" | jq -R -r --argjson env "$APP_ENV_JSON"` + " \\",
        String.raw`    '"REDIS_PASSWORD=\(.)", "REDIS_URL=rediss://:\(. | @uri)@\($env.REDIS_HOST):\($env.REDIS_PORT)"' >> /etc/genie/app.env`,
        "  unset REDIS_TOKEN",
        "fi",
        "",
        'TOKEN="$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"',
        'INSTANCE_ID="$(curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)"',
        "",
        'ecr_login() { aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"; }',
        "retry 10 15 ecr_login",
        'retry 10 15 docker pull "$IMAGE"',
        `docker run -d --name genie-app --restart always -p ${PORTS.app}:${PORTS.app} --env-file /etc/genie/app.env \\`,
        '  --log-driver awslogs --log-opt awslogs-region="$REGION" --log-opt awslogs-group="$LOG_GROUP" --log-opt awslogs-stream="$INSTANCE_ID" \\',
        '  "$IMAGE"',
        "",
        ...(p.postgresClientPackage
            ? [
                "# PostgreSQL client tools of the database's major version (psql, pg_dump, pg_restore) for the",
                "# scheduled dump (scripts/backup.sh); after the app, which does not need them.",
                `dnf install -y ${p.postgresClientPackage}`,
                "dnf install -y zstd",
                "",
            ]
            : []),
    ].join("\n");
    const bytes = Buffer.byteLength(script, "utf8");
    if (bytes > USER_DATA_MAX_BYTES) throw new Error(`app user data is ${bytes} bytes; EC2 allows ${USER_DATA_MAX_BYTES} before base64`);
    return script;
}
