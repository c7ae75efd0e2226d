import type { Alert, Notification, Severity } from "../alerts/types.js";
import type { LogLine } from "../log/schema.js";
import { alertLabels } from "./alertmanager.js";
import { showControlCharacters as shown } from "./escape.js";

export interface FormatOptions {
  /** ANSI colours; only for a terminal. */
  color: boolean;
  /** Sample lines shown per alert (newest last). */
  maxSamples?: number;
}

/** Longest sample message shown; a log line is evidence, not the whole story. */
const SAMPLE_MESSAGE_MAX = 120;
const SUBJECT_MAX = 100;
const DEFAULT_MAX_SAMPLES = 3;

const ANSI = {
  reset: "\u001b[0m",
  bold: "\u001b[1m",
  dim: "\u001b[2m",
  red: "\u001b[31m",
  yellow: "\u001b[33m",
  green: "\u001b[32m",
  cyan: "\u001b[36m",
};

/**
 * A notification as readable multi-line text: status and severity, title, then per alert what was
 * observed against what threshold over which window, the runbook hint and a few sample lines.
 * Pure; the console sink prints it and the SNS publisher uses it as the message body. Everything
 * that comes from log content passes through `showControlCharacters`, so a line cannot drive the
 * reader's terminal; the only escape codes in the result are our own colours.
 */
export function formatNotificationText(n: Notification, options: FormatOptions): string {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${ANSI.reset}` : text);
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const statusColour = n.status === "resolved" ? ANSI.green : severityColour(n.severity);
  const lines: string[] = [];
  lines.push(
    `${paint(ANSI.bold + statusColour, `${n.status.toUpperCase()} ${n.severity.toUpperCase()}`)} ${shown(n.title)}`,
  );
  lines.push(
    paint(ANSI.dim, `group ${shown(n.groupKey)} | ${n.reason} | at ${isoTime(n.atMs)} | id ${shown(n.id)}`),
  );
  for (const alert of n.alerts) {
    lines.push(...formatAlert(alert, paint, maxSamples));
  }
  return lines.join("\n");
}

function formatAlert(
  alert: Alert,
  paint: (code: string, text: string) => string,
  maxSamples: number,
): string[] {
  const a = alert.annotations;
  const who = shown(alert.entity === "" ? alert.service : `${alert.service} ${alert.entity}`);
  const state =
    alert.status === "firing"
      ? paint(severityColour(alert.severity), "firing")
      : paint(ANSI.green, "resolved");
  const out = [`- ${shown(alert.type)} on ${who}: ${state} since ${isoTime(alert.startsAtMs)}`];
  if (alert.endsAtMs !== null) out[0] += ` until ${isoTime(alert.endsAtMs)}`;
  out.push(`  ${shown(a.summary)}`);
  out.push(
    shown(
      `  labels: ${Object.entries(alertLabels(alert))
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
    ),
  );
  out.push(
    shown(
      `  observed ${withUnit(a.observed, a.unit)} vs threshold ${withUnit(a.threshold, a.unit)} over ${formatDuration(a.windowMs)}`,
    ),
  );
  if (a.contributions !== undefined && a.contributions.length > 0) {
    const top = a.contributions
      .slice(0, 3)
      .map(
        (c) =>
          `${shown(c.feature)} ${Math.round(c.contribution * 100)}% (${formatNumber(c.observed)}, normal ${formatNumber(c.expectedLow)}..${formatNumber(c.expectedHigh)})`,
      );
    out.push(`  drivers: ${top.join(", ")}`);
  }
  out.push(`  ${paint(ANSI.cyan, "runbook:")} ${shown(a.runbook)}`);
  for (const sample of a.samples.slice(Math.max(0, a.samples.length - maxSamples))) {
    out.push(paint(ANSI.dim, `  > ${shown(formatSample(sample))}`));
  }
  return out;
}

/** Short subject line (at most 100 characters) for email-style sinks such as SNS. */
export function notificationSubject(n: Notification): string {
  const subject = `[${n.status.toUpperCase()}][${n.severity}] ${n.title.replace(/^\[[A-Z]+:\d+\] /, "")}`;
  // SNS rejects control characters in subjects; titles come from service names we do not control.
  const clean = Array.from(subject, (ch) => (isControl(ch) ? " " : ch)).join("");
  return clean.length <= SUBJECT_MAX ? clean : `${clean.slice(0, SUBJECT_MAX - 3)}...`;
}

function isControl(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

function formatSample(line: LogLine): string {
  const message =
    line.message.length > SAMPLE_MESSAGE_MAX
      ? `${line.message.slice(0, SAMPLE_MESSAGE_MAX - 3)}...`
      : line.message;
  const who = [line.source_ip, line.user].filter((v) => v !== null).join(" ");
  const status = line.status_code === null ? "" : ` ${line.status_code}`;
  return `${line.timestamp} ${line.level} ${line.event_type}${status}${who === "" ? "" : ` ${who}`} ${message}`;
}

function severityColour(severity: Severity): string {
  return severity === "critical" ? ANSI.red : severity === "warning" ? ANSI.yellow : ANSI.cyan;
}

function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "unknown time";
}

/** `85%`, `120ms`, but `8 failures` and `0.467 ratio`: symbols stick to the number, words do not. */
function withUnit(value: number, unit: string): string {
  if (unit === "") return formatNumber(value);
  return /^[a-z]{2,}/i.test(unit) && unit !== "ms"
    ? `${formatNumber(value)} ${unit}`
    : `${formatNumber(value)}${unit}`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) < 1 ? 3 : 1);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "an instant";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
