import type { LogLine } from "../log/schema.js";

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_TYPES = [
  "high_cpu",
  "high_memory",
  "brute_force_ip",
  "brute_force_user",
  "high_error_rate",
  "ml_anomaly",
  /** The pipeline itself: a detector tracks as many keys as its cap allows and refuses the rest. */
  "pipeline_capacity",
  "http_probing",
  "request_flood",
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** Per-feature share of an ML alert's anomaly score, with what the model expected. */
export interface FeatureContribution {
  feature: string;
  /** Fraction of the explanation attributed to this feature, 0..1; contributions sum to about 1. */
  contribution: number;
  observed: number;
  /** The range the model saw on this service's normal data (for example its 1st..99th percentile). */
  expectedLow: number;
  expectedHigh: number;
}

/**
 * A state change reported by a detector. The identifying fields (type, service, entity) make the
 * alert's fingerprint; everything else is annotation and may change between reports.
 */
export interface DetectorFinding {
  status: "firing" | "resolved";
  type: AlertType;
  service: string;
  /** What the alert is about within the service: an IP, a user, or "" when the service itself. */
  entity: string;
  severity: Severity;
  summary: string;
  observed: number;
  threshold: number;
  unit: string;
  /** The evaluation window or hold duration that produced the finding. */
  windowMs: number;
  /** Event time of the transition. */
  atMs: number;
  /** Event time the condition began (the start of "pending"). */
  sinceMs: number;
  /** A few log lines that show the condition, newest last; at most 5. */
  samples: LogLine[];
  /** Counts and other measured values worth showing (for example failures per user). */
  details: Record<string, number | string>;
  /** Present on ML findings: which features drove the score. */
  contributions?: FeatureContribution[];
}

/** An alert as the lifecycle tracks it, keyed by fingerprint. */
export interface Alert {
  fingerprint: string;
  type: AlertType;
  service: string;
  entity: string;
  status: "firing" | "resolved";
  severity: Severity;
  startsAtMs: number;
  /** Set when resolved. */
  endsAtMs: number | null;
  /** The latest finding's measured values and context (enriched). */
  annotations: AlertAnnotations;
}

export interface AlertAnnotations {
  summary: string;
  observed: number;
  threshold: number;
  unit: string;
  windowMs: number;
  samples: LogLine[];
  details: Record<string, number | string>;
  runbook: string;
  contributions?: FeatureContribution[];
}

export type NotificationReason = "new" | "repeat" | "resolved" | "group_update";

/** One message to send: a group of alerts that share a cause (same group key). */
export interface Notification {
  /** Stable id: group key plus the event time it was built at; sinks may use it for idempotency. */
  id: string;
  groupKey: string;
  reason: NotificationReason;
  status: "firing" | "resolved";
  severity: Severity;
  title: string;
  alerts: Alert[];
  atMs: number;
}
