import { parseArgs } from "node:util";
import { defaultHistoryPath } from "./history/paths.js";
import { INPUT_OPTIONS, type InputFormatOptions, parseInputArgs } from "./input-args.js";

export interface RunOptions {
  /** Wall-clock seconds to run (generated mode). */
  durationS: number;
  minIntervalS: number;
  maxIntervalS: number;
  seed: number;
  /** Simulated seconds per wall second, or "max" for as fast as possible. */
  speed: number | "max";
  /** Simulated start instant (epoch ms); defaults to now. */
  startMs: number | null;
  configPath: string | null;
  /** Replay JSON lines from a file, or "-" for standard input, instead of generating. */
  input: string | null;
  reportPath: string | null;
  alertsPath: string | null;
  auditPath: string | null;
  writeLogsPath: string | null;
  dryRun: boolean;
  quiet: boolean;
  /** Also ship every valid log line to this CloudWatch Logs group (AWS or an emulator). */
  shipLogGroup: string | null;
  shipLogStream: string;
  /** How --input lines are read (--format, --mapping, ...; see local/input-args.ts). */
  inputFormat: InputFormatOptions;
  /** Keep reading the --input file as it grows (tail -F). */
  follow: boolean;
  /** The alert-history SQLite file recorded into; null with --no-history. */
  historyPath: string | null;
  /** `--webhook URL`, repeatable: generic JSON webhooks besides the config's `sinks:`. */
  webhooks: string[];
  /** Serve the live dashboard on this address while the run goes (`--dashboard`). */
  dashboard: { host: string; port: number } | null;
}

export type ArgsResult =
  | { kind: "run"; options: RunOptions }
  | { kind: "help" }
  | { kind: "error"; message: string };

export const USAGE = `Usage: npm run local -- [options]

Runs the cloud-observability pipeline on this machine: generates service logs (or replays yours),
detects anomalies, raises deduplicated alerts and runs simulated remediation with guardrails.

Options:
  --duration SECONDS      wall-clock seconds to run when generating (default 15)
  --speed N|max           simulated seconds per wall second; "max" = as fast as possible (default 1)
  --min-interval SECONDS  smallest simulated gap between generated events (default 0.05)
  --max-interval SECONDS  largest simulated gap between generated events (default 0.2)
  --seed N                seed for every random choice; same seed, same run (default 1)
  --start ISO-8601        simulated start time (default: now)
  --config FILE           detector, alerting and remediation settings (YAML or JSON; see docs/configuration.md)
  --input FILE|-          replay JSON log lines from FILE (or standard input) instead of generating
  --report FILE           write a JSON report (events, rejections, alerts, actions, scenarios, precision, recall)
  --alerts FILE           also append every notification to FILE as JSON lines
  --audit FILE            write the remediation audit trail to FILE as JSON lines
  --write-logs FILE       also write the generated log lines to FILE (replay them later with --input)
  --dry-run               remediation logs what it would do and acts on nothing
  --ship-to-log-group NAME  also send every valid line to this CloudWatch Logs group (created if
                          missing); uses AWS_REGION, the usual AWS credentials and AWS_ENDPOINT_URL
  --log-stream NAME       the log stream for --ship-to-log-group (default local-runner)
  --format NAME           how --input lines are read: auto (default), json, nginx, apache, sshd, lambda,
                          metric-csv (docs/inputs.md)
  --mapping FILE|PRESET   json field mapping (JSON/YAML file) or preset: powertools, ecs, otel, pino, bunyan
  --service NAME          service name for formats that carry none (default: from the file name)
  --timezone ZONE         zone of timestamps without one: UTC (default), +02:00, Europe/Paris
  --year YYYY             year of syslog dates without one (default: inferred from the file time)
  --sshd-mode MODE        fail2ban sshd filter mode: normal (default), ddos, extra, aggressive
  --log-format STRING     nginx log_format / Apache LogFormat of a custom access log
  --metric-field FIELD    metric-csv: the series is cpu_pct or memory_pct, so the rules and ML watch it
  --events-out FILE       write one JSON object per input line, in order: how each line was read
  --follow                keep reading --input as it grows, across rotation and truncation (tail -F)
  --webhook URL           also POST every notification as JSON to URL (repeatable); Slack and
                          Alertmanager receivers go in the config's sinks: section
  --history FILE          record alerts, notifications, actions and silences into this SQLite file
                          (default ${defaultHistoryPath()}; read it with npm run history)
  --no-history            record nothing; run-time silences (npm run silence) then do not apply
  --dashboard             serve a live dashboard while the run goes (see docs/dashboard.md)
  --port N                the dashboard's port (default 8787; 0 picks a free one)
  --host ADDRESS          the dashboard's address (default 127.0.0.1; 0.0.0.0 in a container)
  --quiet                 print only the final summary
  -h, --help              show this help

Exit codes: 0 success, 2 bad arguments, configuration, input or output path, 1 unexpected failure.
Examples:
  npm run local                                            15 s of live traffic in real time
  npm run local -- --duration 10 --speed 600 --report r.json   100 simulated minutes in 10 s
  npm run local -- --input my-service.log --report r.json     your own logs
  npm run local -- --input /var/log/nginx/access.log --format nginx
  npm run local -- --input /var/log/auth.log --format sshd --events-out e.jsonl
  npm run local -- --input /var/log/auth.log --format sshd --follow   watch it live`;

function positiveNumber(name: string, raw: string, allowZero = false): number | string {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    return `--${name} must be a ${allowZero ? "non-negative" : "positive"} number, got "${raw}"`;
  }
  return value;
}

/** Parse command-line arguments into options, help, or one clear error message. */
export function parseRunArgs(argv: readonly string[]): ArgsResult {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  const v = parsed.values;
  if (v.help) return { kind: "help" };

  const duration = positiveNumber("duration", v.duration ?? "15");
  if (typeof duration === "string") return { kind: "error", message: duration };
  const minInterval = positiveNumber("min-interval", v["min-interval"] ?? "0.05", true);
  if (typeof minInterval === "string") return { kind: "error", message: minInterval };
  const maxInterval = positiveNumber("max-interval", v["max-interval"] ?? "0.2");
  if (typeof maxInterval === "string") return { kind: "error", message: maxInterval };
  if (minInterval > maxInterval) {
    return {
      kind: "error",
      message: `--min-interval (${minInterval}) must not exceed --max-interval (${maxInterval})`,
    };
  }

  let speed: number | "max" = 1;
  if (v.speed !== undefined && v.speed !== "max") {
    const s = positiveNumber("speed", v.speed);
    if (typeof s === "string") return { kind: "error", message: `${s} (or "max")` };
    speed = s;
  } else if (v.speed === "max") speed = "max";

  const seedRaw = v.seed ?? "1";
  const seed = Number(seedRaw);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    return { kind: "error", message: `--seed must be a whole number from 0 to 4294967295, got "${seedRaw}"` };
  }

  let startMs: number | null = null;
  if (v.start !== undefined) {
    startMs = Date.parse(v.start);
    if (Number.isNaN(startMs)) {
      return {
        kind: "error",
        message: `--start must be an ISO 8601 time such as 2026-01-01T00:00:00Z, got "${v.start}"`,
      };
    }
  }

  for (const [flag, value] of [
    ["ship-to-log-group", v["ship-to-log-group"]],
    ["log-stream", v["log-stream"]],
  ] as const) {
    // CloudWatch Logs names: 1-512 characters, no colon or asterisk (stream) / restricted set (group).
    if (value !== undefined && !/^[^:*]{1,512}$/.test(value)) {
      return {
        kind: "error",
        message: `--${flag} must be 1 to 512 characters without ':' or '*', got "${value}"`,
      };
    }
  }
  if (v.history !== undefined && v["no-history"]) {
    return { kind: "error", message: "--history and --no-history are alternatives: give one" };
  }
  if (v["log-stream"] !== undefined && v["ship-to-log-group"] === undefined) {
    return { kind: "error", message: "--log-stream needs --ship-to-log-group" };
  }
  const inputFormat = parseInputArgs(v, v.input !== undefined);
  if (typeof inputFormat === "string") return { kind: "error", message: inputFormat };

  const dashboard = dashboardOption(v.dashboard, v.port, v.host);
  if (typeof dashboard === "string") return { kind: "error", message: dashboard };

  return {
    kind: "run",
    options: {
      durationS: duration,
      minIntervalS: minInterval,
      maxIntervalS: maxInterval,
      seed,
      speed,
      startMs,
      configPath: v.config ?? null,
      input: v.input ?? null,
      reportPath: v.report ?? null,
      alertsPath: v.alerts ?? null,
      auditPath: v.audit ?? null,
      writeLogsPath: v["write-logs"] ?? null,
      dryRun: v["dry-run"] ?? false,
      quiet: v.quiet ?? false,
      shipLogGroup: v["ship-to-log-group"] ?? null,
      shipLogStream: v["log-stream"] ?? "local-runner",
      inputFormat,
      follow: v.follow ?? false,
      historyPath: v["no-history"] ? null : (v.history ?? defaultHistoryPath()),
      webhooks: v.webhook ?? [],
      dashboard,
    },
  };
}

export const DEFAULT_DASHBOARD_PORT = 8787;

function dashboardOption(
  on: boolean | undefined,
  port: string | undefined,
  host: string | undefined,
): RunOptions["dashboard"] | string {
  if (!on) return port !== undefined || host !== undefined ? "--port and --host need --dashboard" : null;
  const number = Number(port ?? DEFAULT_DASHBOARD_PORT);
  if (!Number.isInteger(number) || number < 0 || number > 65535 || port?.trim() === "") {
    return `--port must be a whole number from 0 to 65535, got "${port}"`;
  }
  if (host !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(host)) {
    return `--host must be an address or host name, got "${host}"`;
  }
  return { host: host ?? "127.0.0.1", port: number };
}

const OPTIONS = {
  duration: { type: "string" },
  speed: { type: "string" },
  "min-interval": { type: "string" },
  "max-interval": { type: "string" },
  seed: { type: "string" },
  start: { type: "string" },
  config: { type: "string" },
  input: { type: "string" },
  "ship-to-log-group": { type: "string" },
  "log-stream": { type: "string" },
  report: { type: "string" },
  alerts: { type: "string" },
  audit: { type: "string" },
  "write-logs": { type: "string" },
  "dry-run": { type: "boolean" },
  ...INPUT_OPTIONS,
  quiet: { type: "boolean" },
  history: { type: "string" },
  webhook: { type: "string", multiple: true },
  "no-history": { type: "boolean" },
  dashboard: { type: "boolean" },
  port: { type: "string" },
  host: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;
