import type { DetectorFinding } from "../../../shared/alerts/types.js";
import type { Detector } from "../../../shared/detectors/detector.js";
import type { LogEvent, LogMetrics } from "../../../shared/log/schema.js";

/** A fixed origin for test clocks: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);

/** Milliseconds for `s` seconds after T0. */
export function at(s: number): number {
  return T0 + s * 1000;
}

export interface EventOverrides extends Partial<Omit<LogEvent, "metrics">> {
  metrics?: Partial<LogMetrics>;
  /** Seconds after T0; sets timeMs and timestamp together. */
  t?: number;
}

/** A valid, unremarkable request event; override only what a test is about. */
export function makeEvent(overrides: EventOverrides = {}): LogEvent {
  const { t, metrics, ...rest } = overrides;
  const timeMs = rest.timeMs ?? (t === undefined ? T0 : at(t));
  return {
    timestamp: new Date(timeMs).toISOString(),
    service: "checkout",
    level: "INFO",
    event_type: "request",
    message: "GET /cart 200",
    status_code: 200,
    source_ip: "10.0.0.1",
    user: null,
    request_id: "req-1",
    ...rest,
    timeMs,
    metrics: { cpu_pct: 30, memory_pct: 40, latency_ms: 20, ...metrics },
  };
}

/** One step of a scripted run: an event to observe, or a time to advance to. */
export type Step = LogEvent | { advanceTo: number };

/** Feed the steps in order and collect every finding. */
export function run(detector: Detector, steps: readonly Step[]): DetectorFinding[] {
  const found: DetectorFinding[] = [];
  for (const step of steps) {
    const out = "advanceTo" in step ? detector.advance(step.advanceTo) : detector.observe(step);
    found.push(...out);
  }
  return found;
}

/** Compact view of findings for table assertions: "firing high_cpu checkout @30". */
export function brief(findings: readonly DetectorFinding[]): string[] {
  return findings.map((f) => {
    const entity = f.entity === "" ? "" : `/${f.entity}`;
    return `${f.status} ${f.type} ${f.service}${entity} @${(f.atMs - T0) / 1000}`;
  });
}

/** Readings of one metric at a steady rate: one event every `everyS` seconds over [fromS, toS). */
export function readings(
  metric: "cpu_pct" | "memory_pct",
  fromS: number,
  toS: number,
  value: number | ((s: number) => number),
  options: { everyS?: number; service?: string } = {},
): LogEvent[] {
  const every = options.everyS ?? 1;
  const out: LogEvent[] = [];
  for (let s = fromS; s < toS; s += every) {
    const v = typeof value === "function" ? value(s) : value;
    out.push(
      makeEvent({
        t: s,
        service: options.service ?? "checkout",
        event_type: "metric",
        status_code: null,
        metrics: { [metric]: v },
      }),
    );
  }
  return out;
}
