import { ALERT_FAMILY } from "../alerts/grouping.js";
import type { Alert, Notification } from "../alerts/types.js";
import { formatDuration, formatNumber } from "./format.js";

/** Go's zero time, which Alertmanager sends as `endsAt` while an alert is firing. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface AlertmanagerAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook message, version 4 (prometheus/alertmanager notify/webhook), field for field. */
export interface AlertmanagerWebhookMessage {
  receiver: string;
  status: "firing" | "resolved";
  alerts: AlertmanagerAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
}

export interface AlertmanagerFormatOptions {
  /** The receiver name the message says it is for (Alertmanager's `receiver`). */
  receiver: string;
  /** Backlink for the receiver (Alertmanager's own URL there); "" when there is none. */
  externalURL?: string;
  /** At most this many alerts per message, the rest counted in `truncatedAlerts`; 0 = all. */
  maxAlerts?: number;
  /** Where the alert came from (a logs query, a dashboard); "" when unknown. */
  generatorURL?: (alert: Alert) => string;
}

/** RFC 3339 in UTC, as Alertmanager writes times. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The alert's labels: its identity (alertname = alert type, service, entity when there is one), its
 * family (the grouping) and severity. Label values are strings, as in Prometheus.
 */
export function alertLabels(alert: Alert): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: alert.type,
    family: ALERT_FAMILY[alert.type],
    service: alert.service,
    severity: alert.severity,
  };
  if (alert.entity !== "") labels.entity = alert.entity;
  return labels;
}

/** The alert's annotations: what a person reads (summary, description, runbook) and the numbers. */
export function alertAnnotations(alert: Alert): Record<string, string> {
  const a = alert.annotations;
  const unit = a.unit === "" ? "" : /^[a-z]{2,}/i.test(a.unit) && a.unit !== "ms" ? ` ${a.unit}` : a.unit;
  return {
    summary: a.summary,
    description: `observed ${formatNumber(a.observed)}${unit} vs threshold ${formatNumber(a.threshold)}${unit} over ${formatDuration(a.windowMs)}`,
    runbook: a.runbook,
    observed: String(a.observed),
    threshold: String(a.threshold),
    unit: a.unit,
  };
}

/** Alertmanager's group key: the route (here the root, `{}`) and the group's labels, sorted. */
export function alertmanagerGroupKey(groupLabels: Record<string, string>): string {
  const pairs = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`);
  return `{}:{${pairs.join(", ")}}`;
}

function common(maps: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(first)) {
    if (rest.every((m) => m[key] === value)) out[key] = value;
  }
  return out;
}

/**
 * The notification as Alertmanager's webhook JSON, so receivers written for Alertmanager accept it.
 * The group is one service and alert family, so the group labels (and the group key) are the same
 * for every message about the group, from the first firing one to the last resolved one.
 */
export function alertmanagerMessage(
  n: Notification,
  options: AlertmanagerFormatOptions,
): AlertmanagerWebhookMessage {
  const max = options.maxAlerts ?? 0;
  const kept = max > 0 ? n.alerts.slice(0, max) : n.alerts;
  const alerts = kept.map(
    (alert): AlertmanagerAlert => ({
      status: alert.status,
      labels: alertLabels(alert),
      annotations: alertAnnotations(alert),
      startsAt: rfc3339(alert.startsAtMs),
      endsAt: alert.status === "firing" || alert.endsAtMs === null ? ZERO_TIME : rfc3339(alert.endsAtMs),
      generatorURL: options.generatorURL?.(alert) ?? "",
      fingerprint: alert.fingerprint,
    }),
  );
  const first = n.alerts[0];
  const [service, family] = first ? [first.service, ALERT_FAMILY[first.type]] : splitGroupKey(n.groupKey);
  const groupLabels = { family, service };
  return {
    receiver: options.receiver,
    status: n.status,
    alerts,
    groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: options.externalURL ?? "",
    version: "4",
    groupKey: alertmanagerGroupKey(groupLabels),
    truncatedAlerts: n.alerts.length - kept.length,
  };
}

function splitGroupKey(groupKey: string): [string, string] {
  const at = groupKey.lastIndexOf("/");
  return at < 0 ? [groupKey, ""] : [groupKey.slice(0, at), groupKey.slice(at + 1)];
}
