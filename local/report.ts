import type { AlertType } from "../shared/alerts/types.js";
import type { Evaluation } from "../shared/eval/truth.js";
import type { ScenarioType } from "../shared/generator/types.js";
import type { RejectReason } from "../shared/log/schema.js";
import type { Pipeline } from "../shared/pipeline.js";
import type { SkipReason } from "../shared/remediation/types.js";
import type { RunOptions } from "./args.js";
import type { RunHistoryReport } from "./history/run-history.js";
import { formatInputSummary, type InputSummary } from "./ingest-input.js";
import type { ShippingReport } from "./log-shipping.js";
import type { ActionTally, Responder } from "./responder.js";

/** Scenarios only the per-service ML detector is meant to catch. */
const ML_SCENARIOS: ReadonlySet<ScenarioType> = new Set(["latency_degradation", "mixed_degradation"]);

export interface ScenarioRow {
  type: ScenarioType;
  injected: number;
  detected: number;
  median_time_to_detect_s: number | null;
}

/** The `--report FILE` document; docs/runbook.md describes every field. */
export interface LocalReport {
  mode: "generated" | "replay";
  seed: number | null;
  speed: number | "max" | null;
  wall_seconds: number;
  simulated_seconds: number;
  first_event: string | null;
  last_event: string | null;
  events: number;
  events_per_wall_second: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Accepted lines more than `time.allowed_lateness_s` behind their source's clock (still processed). */
  late: number;
  alerts: Partial<Record<AlertType, number>>;
  /** Alerts kept from paging by an inhibit rule (alerting.inhibit_rules), by type: still counted in `alerts`. */
  inhibited: Partial<Record<AlertType, number>>;
  notifications: number;
  sink_failures: Record<string, number>;
  actions: Partial<Record<string, ActionTally>>;
  skipped_actions: Partial<Record<SkipReason, number>>;
  escalations: number;
  /** `--ship-to-log-group` only. */
  shipping: ShippingReport | null;
  /** `--input` only: how its lines were read (format, skips, first rejected lines, a format hint). */
  input: InputSummary | null;
  /** The alert-history file recorded into (null with --no-history). */
  history: RunHistoryReport | null;
  /** Generated runs only (null on replay: there is no ground truth). */
  scenarios: ScenarioRow[] | null;
  precision: number | null;
  recall: number | null;
  recall_rule_scenarios: number | null;
  recall_ml_scenarios: number | null;
  false_alarms: { type: AlertType; service: string; entity: string; at: string }[];
  missed: { scenario: ScenarioType; service: string; entity: string; start: string }[];
}

function ratio(rows: readonly ScenarioRow[]): number | null {
  const injected = rows.reduce((sum, row) => sum + row.injected, 0);
  return injected === 0 ? null : rows.reduce((sum, row) => sum + row.detected, 0) / injected;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function buildReport(input: {
  options: RunOptions;
  pipeline: Pipeline;
  responder: Responder;
  evaluation: Evaluation | null;
  firstEventMs: number | null;
  lastEventMs: number | null;
  shipping: ShippingReport | null;
  wallSeconds: number;
  input?: InputSummary | null;
  history?: RunHistoryReport | null;
}): LocalReport {
  const { options, pipeline, responder, evaluation } = input;
  const scenarios =
    evaluation?.scenarios.map((row) => ({
      ...row,
      median_time_to_detect_s: roundOrNull(row.median_time_to_detect_s, 1),
    })) ?? null;
  return {
    mode: options.input === null ? "generated" : "replay",
    seed: options.input === null ? options.seed : null,
    speed: options.input === null ? options.speed : null,
    wall_seconds: round(input.wallSeconds, 3),
    simulated_seconds:
      input.firstEventMs === null || input.lastEventMs === null
        ? 0
        : round((input.lastEventMs - input.firstEventMs) / 1000, 3),
    first_event: iso(input.firstEventMs),
    last_event: iso(input.lastEventMs),
    events: pipeline.stats.events,
    events_per_wall_second: Math.round(pipeline.stats.events / Math.max(input.wallSeconds, 0.001)),
    rejected: { ...pipeline.stats.rejected },
    late: pipeline.stats.late,
    alerts: { ...pipeline.stats.alertsByType },
    inhibited: pipeline.inhibitedAlerts(),
    notifications: responder.stats.notifications,
    sink_failures: { ...responder.stats.sinkFailures },
    actions: structuredClone(responder.stats.actions),
    skipped_actions: { ...responder.stats.skipped },
    escalations: responder.stats.escalations,
    shipping: input.shipping,
    input: input.input ?? null,
    history: input.history ?? null,
    scenarios,
    precision: evaluation ? round(evaluation.precision, 4) : null,
    recall: evaluation ? round(evaluation.recall, 4) : null,
    recall_rule_scenarios: scenarios
      ? roundOrNull(ratio(scenarios.filter((s) => !ML_SCENARIOS.has(s.type))))
      : null,
    recall_ml_scenarios: scenarios
      ? roundOrNull(ratio(scenarios.filter((s) => ML_SCENARIOS.has(s.type))))
      : null,
    false_alarms: (evaluation?.falseAlarms ?? []).map((a) => ({
      type: a.type,
      service: a.service,
      entity: a.entity,
      at: new Date(a.startsAtMs).toISOString(),
    })),
    missed: (evaluation?.missed ?? []).map((m) => ({
      scenario: m.scenario,
      service: m.service,
      entity: m.entity,
      start: new Date(m.startMs).toISOString(),
    })),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function roundOrNull(value: number | null, digits = 4): number | null {
  return value === null ? null : round(value, digits);
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** The end-of-run summary printed to the terminal. */
export function formatSummary(report: LocalReport): string {
  const parts: string[] = [];
  const rejectedTotal = Object.values(report.rejected).reduce((s, n) => s + (n ?? 0), 0);
  parts.push(
    `Summary (${report.mode}): ${report.events.toLocaleString("en-US")} events in ${report.wall_seconds.toFixed(1)} s wall ` +
      `(${report.simulated_seconds.toFixed(0)} s simulated, ${report.events_per_wall_second.toLocaleString("en-US")} events/s), ` +
      `${rejectedTotal} rejected, ${report.notifications} notifications, ${report.escalations} escalations`,
  );
  if (rejectedTotal > 0) {
    parts.push(
      table(
        ["rejected reason", "lines"],
        Object.entries(report.rejected).map(([k, v]) => [k, v ?? 0]),
      ),
    );
  }
  const alertRows = Object.entries(report.alerts).map(([k, v]) => [
    k,
    v ?? 0,
    report.inhibited[k as AlertType] ?? 0,
  ]);
  parts.push(
    alertRows.length
      ? table(["alert type", "episodes", "inhibited (not paged)"], alertRows)
      : "No alerts fired.",
  );
  const actionRows = Object.entries(report.actions).map(([type, t]) => [
    type,
    t?.executed ?? 0,
    t?.failed ?? 0,
    Object.entries(t?.outcomes ?? {})
      .map(([o, n]) => `${o}=${n}`)
      .join(" ") || "-",
  ]);
  if (actionRows.length) parts.push(table(["action", "executed", "failed", "outcomes"], actionRows));
  const skipped = Object.entries(report.skipped_actions);
  if (skipped.length) parts.push(`Guardrail skips: ${skipped.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (report.scenarios && report.scenarios.length === 0) {
    parts.push(
      "Detection not scored: no incident started early enough (incidents starting in the last 300 simulated\n" +
        "seconds are left out). Run longer or faster, e.g. --duration 10 --speed 600, for precision and recall.",
    );
  } else if (report.scenarios) {
    parts.push(
      table(
        ["scenario", "injected", "detected", "median time to detect (s)"],
        report.scenarios.map((s) => [
          s.type,
          s.injected,
          s.detected,
          s.median_time_to_detect_s === null ? "-" : s.median_time_to_detect_s.toFixed(1),
        ]),
      ),
    );
    const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);
    parts.push(
      `Precision ${pct(report.precision)}, recall ${pct(report.recall)} ` +
        `(rule scenarios ${pct(report.recall_rule_scenarios)}, ML scenarios ${pct(report.recall_ml_scenarios)})`,
    );
  }
  if (report.shipping) {
    const ship = report.shipping;
    parts.push(
      `Shipped to log group ${ship.log_group} (stream ${ship.log_stream}): ${ship.sent.toLocaleString("en-US")} lines ` +
        `in ${ship.calls} calls, ${ship.refused} refused by CloudWatch, ${ship.failed} failed` +
        (ship.first_error ? ` (first error: ${ship.first_error})` : ""),
    );
  }
  // A mostly rejected input is the first thing to read: nothing after it means much.
  if (report.input)
    parts.splice(report.input.rejected * 2 > report.input.lines ? 0 : 1, 0, formatInputSummary(report.input));
  if (report.history) {
    const h = report.history;
    parts.push(
      `History: ${h.events.toLocaleString("en-US")} events recorded to ${h.path}` +
        (h.write_failures > 0 ? ` (${h.write_failures} writes failed)` : "") +
        (h.silences_applied > 0 ? `, ${h.silences_applied} run-time silences applied` : "") +
        "; see npm run history -- list",
    );
  }
  return parts.join("\n\n");
}
