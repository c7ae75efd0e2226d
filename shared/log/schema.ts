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

export interface LogMetrics {
  /** Host CPU utilisation, 0..100. */
  cpu_pct: number;
  /** Host memory utilisation, 0..100. */
  memory_pct: number;
  /** Request latency in milliseconds, >= 0. */
  latency_ms: number;
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
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Lines longer than this are refused before JSON.parse, so a hostile line cannot cost much. */
export const MAX_LINE_BYTES = 16 * 1024;
