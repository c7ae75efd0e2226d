import { formatDuration, formatNumber } from "../sinks/format.js";
import { silenceCommand } from "./cli-input.js";
import type { HistoryStats } from "./stats.js";
import type { HistoryEvent, IncidentSummary, SilenceRecord } from "./types.js";
import { silenceActive } from "./types.js";

export const iso = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString());

/** A duration for people: 95s -> "1m35s", 7,200,000 ms -> "2h". */
export function humanDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "-";
  if (ms === 0) return "0s";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (d > 0) parts.push(`${d}d`);
  if (h > 0) parts.push(`${h}h`);
  if (m > 0 && d === 0) parts.push(`${m}m`);
  if (rest > 0 && d === 0 && h === 0) parts.push(`${rest}s`);
  return parts.join("") || "0s";
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** `history list`: one line per incident, newest first. */
export function formatIncidentList(incidents: readonly IncidentSummary[]): string {
  if (incidents.length === 0) return "No alerts in this window.";
  return table(
    ["STARTED", "STATE", "SEVERITY", "TYPE", "SERVICE", "ENTITY", "LASTED", "REMEDIATION", "INCIDENT"],
    incidents.map((s) => [
      iso(s.startsAtMs),
      s.silenced && s.state === "firing" ? "silenced" : s.state,
      s.severity,
      s.type,
      s.service,
      s.entity === "" ? "-" : s.entity,
      s.endsAtMs === null ? "firing" : humanDuration(s.endsAtMs - s.startsAtMs),
      s.lastOutcome ?? (s.actions > 0 ? "acted" : "-"),
      s.incident,
    ]),
  );
}

/** `85%`, `120ms`, but `8 failures`: symbols stick to the number, words do not. */
function withUnit(value: number, unit: string): string {
  const n = formatNumber(value);
  if (unit === "") return n;
  return /^[a-z]{2,}/i.test(unit) && unit !== "ms" ? `${n} ${unit}` : `${n}${unit}`;
}

function describeEvent(e: HistoryEvent): string {
  switch (e.kind) {
    case "first_log":
      return `first sign      first matching log line: ${e.message}`;
    case "transition":
      return e.state === "firing"
        ? `detected        ${e.severity} ${e.summary} (${withUnit(e.observed, e.unit)} vs threshold ${withUnit(e.threshold, e.unit)})`
        : `resolved        ${e.summary}`;
    case "notification":
      return `notified        ${e.sink}: ${e.outcome}${e.attempts > 1 ? ` after ${e.attempts} attempts` : ""} (${e.reason}, ${e.status})${e.error ? ` ${e.error}` : ""}`;
    case "action":
      return `remediation     ${e.actionType} on ${e.target}${e.dryRun ? " [DRY RUN]" : ""}: ${e.outcome} ${e.detail}`;
    case "skip":
      return `not acted       ${e.reason}: ${e.detail}`;
    case "outcome":
      return `outcome         ${e.actionType}: ${e.status} ${e.detail}`;
    case "silenced":
      return `silenced        by ${e.silenceId} (${e.reason})`;
    case "inhibited":
      return `inhibited       by ${e.byIncident} (${e.reason})`;
  }
}

/** `history show`: the incident's header, then its timeline with offsets from the start. */
export function formatTimeline(summary: IncidentSummary | null, events: readonly HistoryEvent[]): string {
  const first = summary ?? null;
  const lines: string[] = [];
  if (first !== null) {
    const who = first.entity === "" ? first.service : `${first.service} ${first.entity}`;
    lines.push(`${first.type} on ${who}: ${first.state}${first.silenced ? " (silenced)" : ""}`);
    lines.push(
      `started ${iso(first.startsAtMs)}${first.endsAtMs === null ? "" : `, resolved ${iso(first.endsAtMs)} (lasted ${humanDuration(first.endsAtMs - first.startsAtMs)})`}`,
    );
    if (first.firstSignMs !== null)
      lines.push(`time to detect ${humanDuration(first.startsAtMs - first.firstSignMs)}`);
    lines.push(`incident ${first.incident}`);
    lines.push(`silence it: ${silenceCommand(first)}`);
    lines.push("");
  }
  const origin = first?.startsAtMs ?? events[0]?.atMs ?? 0;
  for (const e of events) {
    const offset = e.atMs - origin;
    const rel = `${offset < 0 ? "-" : "+"}${humanDuration(Math.abs(offset))}`;
    lines.push(`${iso(e.atMs)}  ${rel.padStart(8)}  ${describeEvent(e)}`);
  }
  return lines.join("\n");
}

export function formatStats(stats: HistoryStats): string {
  const d = (x: { medianMs: number | null; p90Ms: number | null; meanMs: number | null; count: number }) =>
    x.count === 0
      ? "no data"
      : `median ${humanDuration(x.medianMs)}, p90 ${humanDuration(x.p90Ms)}, mean ${humanDuration(x.meanMs)} (n=${x.count})`;
  const lines = [
    `${stats.incidents} incidents, ${stats.stillFiring} still firing`,
    `time to detect:  ${d(stats.timeToDetect)}`,
    `time to resolve: ${d(stats.timeToResolve)}`,
    "",
  ];
  lines.push(
    stats.perDay.length === 0
      ? "No alerts in this window."
      : table(
          ["DAY", "SERVICE", "TYPE", "COUNT"],
          stats.perDay.map((r) => [r.day, r.service, r.type, String(r.count)]),
        ),
  );
  return lines.join("\n");
}

export function formatSilences(silences: readonly SilenceRecord[], nowMs: number): string {
  if (silences.length === 0) return "No silences.";
  return table(
    ["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "BY", "REASON"],
    silences.map((s) => [
      s.id,
      silenceActive(s, nowMs)
        ? "active"
        : s.expiredAtMs !== null && s.expiredAtMs <= nowMs
          ? "expired"
          : s.startsAtMs > nowMs
            ? "pending"
            : "ended",
      Object.entries(s.matchers)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
      iso(s.startsAtMs),
      iso(s.expiredAtMs !== null ? Math.min(s.expiredAtMs, s.endsAtMs) : s.endsAtMs),
      s.createdBy,
      s.reason,
    ]),
  );
}

export { formatDuration };
