import { DEFAULT_INHIBIT_RULES } from "../../../shared/alerts/inhibit.js";
import type { AlertType, DetectorFinding } from "../../../shared/alerts/types.js";
import type { AlertingConfig } from "../../../shared/config/types.js";
import type { LogLine } from "../../../shared/log/schema.js";

export const T0 = Date.parse("2026-03-01T12:00:00Z");
export const s = (seconds: number) => T0 + seconds * 1000;

export const ALERTING: AlertingConfig = {
  group_wait_s: 10,
  group_interval_s: 60,
  repeat_interval_s: 3600,
  silences: [],
  inhibit_rules: [...DEFAULT_INHIBIT_RULES],
};

export function sample(overrides: Partial<LogLine> = {}): LogLine {
  return {
    timestamp: "2026-03-01T11:59:58.000Z",
    service: "payment-service",
    level: "INFO",
    event_type: "metric",
    message: "metrics sample",
    metrics: { cpu_pct: 97, memory_pct: 40, latency_ms: 12 },
    status_code: null,
    source_ip: null,
    user: null,
    request_id: null,
    ...overrides,
  };
}

export function finding(
  type: AlertType,
  status: "firing" | "resolved",
  atMs: number,
  overrides: Partial<DetectorFinding> = {},
): DetectorFinding {
  return {
    status,
    type,
    service: "payment-service",
    entity: "",
    severity: "warning",
    summary: `${type} ${status}`,
    observed: 95,
    threshold: 90,
    unit: "%",
    windowMs: 60_000,
    atMs,
    sinceMs: atMs - 30_000,
    samples: [sample()],
    details: {},
    ...overrides,
  };
}
