import type { Alert, Notification } from "../alerts/types.js";
import type { RemediationConfig } from "../config/types.js";
import { silenceCommand } from "../history/cli-input.js";
import { alertAnnotations, rfc3339 } from "./alertmanager.js";
import { formatDuration } from "./format.js";

/** Where the alert comes from, for the reader who gets it by email at 3 a.m. */
export interface EmailContext {
  accountId: string;
  region: string;
  environment: string;
  /** The log group the processor reads (the Logs Insights link queries it). */
  logGroup: string;
  /** The DynamoDB history table, so the silence command works as printed; "" when there is none. */
  historyTable: string;
  /** What the remediation Lambda would do with this alert. */
  remediation: Pick<RemediationConfig, "actions" | "dry_run" | "kill_switch" | "verify_after_s">;
  /** The remediation Lambda is subscribed to the topic (false: nothing acts automatically). */
  remediationEnabled: boolean;
}

/** Log lines around the alert: this much before the condition began and after the message. */
const LOGS_BEFORE_MS = 5 * 60_000;
const LOGS_AFTER_MS = 5 * 60_000;
const SAMPLE_LINES = 3;
const SAMPLE_CHARS = 160;

/**
 * The CloudWatch console's Logs Insights link: the query in the URL fragment, in the console's own
 * encoding (URI escapes with `*` for `%`, and the fragment's `?` and `=` as `$3F` and `$3D`).
 */
export function logsInsightsUrl(
  region: string,
  logGroup: string,
  query: string,
  startMs: number,
  endMs: number,
): string {
  const enc = (text: string) =>
    encodeURIComponent(text)
      .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
      .replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => `*${hex.toLowerCase()}`);
  const detail =
    `~(end~'${enc(rfc3339(endMs))}~start~'${enc(rfc3339(startMs))}~timeType~'ABSOLUTE~tz~'UTC` +
    `~editorString~'${enc(query)}~source~(~'${enc(logGroup)}))`;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:logs-insights$3FqueryDetail$3D${detail}`;
}

/** The Logs Insights query for one alert: its service's lines, and its IP or user when it has one. */
export function alertLogsQuery(alert: Alert): string {
  const quote = (s: string) => JSON.stringify(s);
  const lines = [
    "fields @timestamp, level, event_type, message",
    `| filter service = ${quote(alert.service)}`,
  ];
  if (alert.entity !== "")
    lines.push(`| filter source_ip = ${quote(alert.entity)} or user = ${quote(alert.entity)}`);
  lines.push("| sort @timestamp asc", "| limit 200");
  return lines.join("\n");
}

function remediationLine(alert: Alert, ctx: EmailContext): string {
  if (alert.status === "resolved") {
    return `Resolved at ${rfc3339(alert.endsAtMs ?? alert.startsAtMs)}; nothing more will be done.`;
  }
  const action = ctx.remediation.actions[alert.type];
  if (action === undefined || action === null) return "None: notify only for this alert type.";
  const target = action === "block_ip" || action === "lock_user" ? alert.entity : alert.service;
  if (!ctx.remediationEnabled)
    return `None: remediation is not deployed (the policy would ${action} ${target}).`;
  if (ctx.remediation.kill_switch)
    return `None: the kill switch is on (the policy would ${action} ${target}).`;
  if (ctx.remediation.dry_run) {
    return `Dry run: ${action} on ${target} will be recorded, not executed (remediation.dry_run).`;
  }
  return `${action} on ${target} runs automatically now; whether it worked is checked ${formatDuration(ctx.remediation.verify_after_s * 1000)} later (npm run history -- show).`;
}

function alertBlock(alert: Alert, n: Notification, ctx: EmailContext): string[] {
  const a = alertAnnotations(alert);
  const where = [
    `service ${alert.service}${alert.entity === "" ? "" : ` (${alert.entity})`}`,
    `account ${ctx.accountId}`,
    `region ${ctx.region}`,
    `environment ${ctx.environment}`,
  ].join(", ");
  const ago = Math.max(0, n.atMs - alert.startsAtMs);
  const silence = `${silenceCommand(alert)}${ctx.historyTable === "" ? "" : ` --table ${ctx.historyTable} --region ${ctx.region}`}`;
  const endMs = (alert.endsAtMs ?? n.atMs) + LOGS_AFTER_MS;
  const startMs = alert.startsAtMs - alert.annotations.windowMs - LOGS_BEFORE_MS;
  const lines = [
    `${alert.status === "firing" ? "FIRING" : "RESOLVED"} ${alert.severity}: ${alert.type} on ${alert.service}${alert.entity === "" ? "" : ` ${alert.entity}`}`,
    `Where:       ${where}`,
    `Since:       ${rfc3339(alert.startsAtMs)} (${formatDuration(Math.round(ago / 1000) * 1000)} before this message)${alert.endsAtMs === null ? "" : `, resolved ${rfc3339(alert.endsAtMs)}`}`,
    `Value:       ${a.description}`,
    `What:        ${a.summary}`,
    "",
    `Remediation: ${remediationLine(alert, ctx)}`,
  ];
  if (alert.status === "firing") lines.push(`Silence:     ${silence}`);
  lines.push(
    `Logs:        ${logsInsightsUrl(ctx.region, ctx.logGroup, alertLogsQuery(alert), startMs, endMs)}`,
    `Runbook:     ${a.runbook}`,
  );
  const samples = alert.annotations.samples.slice(-SAMPLE_LINES);
  if (samples.length > 0) {
    lines.push("Evidence:");
    for (const s of samples) {
      const text = `${s.timestamp} ${s.level} ${s.event_type} ${s.message}`;
      lines.push(`  > ${text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS - 3)}...` : text}`);
    }
  }
  return lines;
}

/**
 * The email an on-call engineer acts on: per alert, what fired, where (service, account, region,
 * environment), since when and the value against the threshold first; then what remediation does,
 * the exact command to silence it, a Logs Insights link over the alert's window and the runbook.
 * A compact footer identifies the notification; no JSON (machines get `email-json`). Pure.
 */
export function emailBody(n: Notification, ctx: EmailContext): string {
  const firing = n.alerts.filter((a) => a.status === "firing").length;
  const out: string[] = [];
  if (n.alerts.length > 1) {
    out.push(
      `${n.alerts.length} alerts in group ${n.groupKey}: ${firing} firing, ${n.alerts.length - firing} resolved.`,
      "",
    );
  }
  n.alerts.forEach((alert, i) => {
    if (i > 0) out.push("", "----", "");
    out.push(...alertBlock(alert, n, ctx));
  });
  out.push(
    "",
    "--",
    `notification ${n.id} | ${n.reason} | ${rfc3339(n.atMs)}`,
    `incidents ${n.alerts.map((a) => `${a.fingerprint}:${a.startsAtMs}`).join(", ")} | npm run history -- show INCIDENT${ctx.historyTable === "" ? "" : ` --table ${ctx.historyTable}`}`,
  );
  return out.join("\n");
}
