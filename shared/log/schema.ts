/**
 * The structured log entry every part of the pipeline speaks. One JSON object per line.
 * docs/log-format.md is the user-facing description of these fields; keep the two in step.
 */

export const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const EVENT_TYPES = [
  "request",
  "auth_success",
  "auth_failure",
  "error",
  "deploy",
  "health_check",
  "metric",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Measurements of one event. A format that does not carry a measurement leaves it null (missing),
 * never 0: detectors and ML features skip events without the field they need (docs/inputs.md).
 */
export interface LogMetrics {
  /** Host CPU utilisation, 0..100; null when the source does not report it. */
  cpu_pct: number | null;
  /** Host memory utilisation, 0..100; null when the source does not report it. */
  memory_pct: number | null;
  /** Request latency in milliseconds, >= 0; null when not logged. */
  latency_ms: number | null;
}

/** Request details read from access logs; absent for other sources. */
export interface HttpDetails {
  method: string | null;
  /** The request path without the query string. */
  path: string;
  /** Virtual host (nginx $host / Apache %v) when logged. */
  vhost: string | null;
  user_agent: string | null;
  bytes: number | null;
}

/** A named measurement (Embedded Metric Format, metric-csv): event_type "metric". */
export interface MetricSample {
  name: string;
  value: number;
  unit: string | null;
}

export interface LogEvent {
  /** ISO 8601 with a zone, as written. */
  timestamp: string;
  /** Milliseconds since the epoch, derived from `timestamp` by the parser; never written to a line. */
  timeMs: number;
  service: string;
  level: LogLevel;
  event_type: EventType;
  message: string;
  metrics: LogMetrics;
  /** HTTP status; null for events that are not requests (deploy, metric). */
  status_code: number | null;
  source_ip: string | null;
  user: string | null;
  request_id: string | null;
  /** The peer as a host name when a log names it instead of an address (sshd with UseDNS). */
  source_host?: string | null;
  /** Which input format produced the event ("json", "sshd", "nginx", ...); absent for native lines. */
  origin?: string;
  http?: HttpDetails;
  /** Named measurements of a metric event (EMF, metric-csv). */
  measurements?: MetricSample[];
}

/** An event whose measurements are all present: what the generator writes. */
export interface MeasuredEvent extends LogEvent {
  metrics: { cpu_pct: number; memory_pct: number; latency_ms: number };
}

/** What a line looks like on disk: everything but the derived `timeMs`. */
export type LogLine = Omit<LogEvent, "timeMs">;

/** Why a line was refused. Counted by reason in every report. */
export const REJECT_REASONS = [
  "empty_line",
  "line_too_long",
  "malformed_json",
  "not_an_object",
  "missing_field",
  "wrong_type",
  "out_of_range",
  "bad_timestamp",
  "unknown_enum",
  "timestamp_in_future",
  // Reasons of the format adapters (shared/ingest/, docs/inputs.md).
  "unrecognised_line",
  "ambiguous_format",
  "no_timestamp",
  "bad_access_log",
  "bad_lambda_line",
  "bad_metric_csv",
  "mapping_failed",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Lines longer than this are refused before JSON.parse, so a hostile line cannot cost much. */
export const MAX_LINE_BYTES = 16 * 1024;
