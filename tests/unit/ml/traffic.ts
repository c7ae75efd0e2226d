import type { LogEvent } from "../../../shared/log/schema.js";
import { Rng } from "../../../shared/random.js";

/** Synthetic per-service request traffic for ML detector tests, independent of the generator. */

export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
export const MIN = 60_000;

export interface Shape {
  latencyFactor?: number;
  cpuShift?: number;
  errorRatio?: number;
}

/** Baseline traffic for some services, with an optional change of shape in [fromMs, toMs). */
export function traffic(
  seed: number,
  services: string[],
  startMs: number,
  endMs: number,
  change?: { service: string; fromMs: number; toMs: number; shape: Shape },
): LogEvent[] {
  const rng = new Rng(seed);
  const events: LogEvent[] = [];
  let t = startMs;
  while (t < endMs) {
    t += Math.round(rng.uniform(150, 350));
    const service = rng.pick(services);
    const shape =
      change && change.service === service && t >= change.fromMs && t < change.toMs ? change.shape : {};
    const isError = rng.next() < (shape.errorRatio ?? 0.01);
    events.push({
      timestamp: new Date(t).toISOString(),
      timeMs: t,
      service,
      level: isError ? "ERROR" : "INFO",
      event_type: "request",
      message: isError ? "upstream failed" : "ok",
      metrics: {
        cpu_pct: Math.min(100, Math.max(0, rng.normal(40 + (shape.cpuShift ?? 0), 5))),
        memory_pct: Math.min(100, Math.max(0, rng.normal(55, 3))),
        latency_ms: Math.exp(rng.normal(Math.log(100), 0.3)) * (shape.latencyFactor ?? 1),
      },
      status_code: isError ? 503 : 200,
      source_ip: "10.0.0.1",
      user: null,
      request_id: `r${events.length}`,
    });
  }
  return events;
}

/**
 * Workload for the detector contract suite: 40 minutes of one service at ~4 events/s with a
 * 4-minute latency x5 shift after warm-up, so the ML detector fires and resolves once.
 */
export function mlContractWorkload(): LogEvent[] {
  return traffic(11, ["checkout"], T0, T0 + 40 * MIN, {
    service: "checkout",
    fromMs: T0 + 25 * MIN,
    toMs: T0 + 29 * MIN,
    shape: { latencyFactor: 5 },
  });
}
