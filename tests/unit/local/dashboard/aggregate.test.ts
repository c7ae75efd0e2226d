import { describe, expect, it } from "vitest";
import {
  LATENCY_BUCKET_MS,
  LiveAggregator,
  MAX_SERVICES,
  OTHER_SERVICES,
} from "../../../../local/dashboard/aggregate.js";
import { classifyTraffic } from "../../../../shared/detectors/error-rate.js";
import { EVENT_TYPES, type LogEvent } from "../../../../shared/log/schema.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

function event(
  overrides: Partial<LogEvent> & { cpu?: number; memory?: number; latency?: number } = {},
): LogEvent {
  const { cpu = 30, memory = 50, latency = 20, ...rest } = overrides;
  return {
    timestamp: new Date(T0).toISOString(),
    timeMs: T0,
    service: "api",
    level: "INFO",
    event_type: "request",
    message: "GET / 200",
    metrics: { cpu_pct: cpu, memory_pct: memory, latency_ms: latency },
    status_code: 200,
    source_ip: null,
    user: null,
    request_id: null,
    ...rest,
  };
}

describe("LiveAggregator", () => {
  it("turns one interval of events into per-service CPU, memory, p95 latency and error rate", () => {
    const agg = new LiveAggregator();
    agg.open(T0);
    // 100 requests on api: latencies 1..100 ms, 5 of them 5xx, CPU alternating 20/40.
    for (let i = 1; i <= 100; i++) {
      agg.observe(event({ latency: i, cpu: i % 2 === 0 ? 20 : 40, status_code: i <= 5 ? 503 : 200 }));
    }
    // Metrics samples count for CPU and memory but are not user traffic.
    agg.observe(
      event({ service: "db", event_type: "metric", status_code: null, cpu: 90, memory: 70, latency: 0 }),
    );
    const point = agg.close(T0 + 2000, {});
    expect(point).not.toBeNull();
    expect(point?.events).toBe(101);
    expect(point?.eventsPerSecond).toBe(50.5);
    expect(point?.spanMs).toBe(2000);
    expect(point?.services.api).toEqual({
      events: 100,
      cpuPct: 30,
      memoryPct: 50,
      // The 95th of 1..100 ms is 95 ms, which lies in the 90..100 ms bucket: its upper edge.
      latencyP95Ms: 100,
      errorRate: 0.05,
    });
    expect(point?.services.db).toEqual({
      events: 1,
      cpuPct: 90,
      memoryPct: 70,
      latencyP95Ms: null,
      errorRate: null,
    });
  });

  it("starts every interval from zero and leaves out services that were quiet", () => {
    const agg = new LiveAggregator();
    agg.open(T0);
    agg.observe(event({ service: "a" }));
    agg.close(T0 + 1000, {});
    agg.observe(event({ service: "b", latency: 5 }));
    const second = agg.close(T0 + 2000, {});
    expect(Object.keys(second?.services ?? {})).toEqual(["b"]);
    expect(second?.services.b?.latencyP95Ms).toBe(LATENCY_BUCKET_MS);
    expect(agg.close(T0 + 3000, {})?.events).toBe(0);
  });

  it("reports new alerts per type as the increase of the pipeline's running totals", () => {
    const agg = new LiveAggregator();
    agg.open(T0);
    expect(agg.close(T0 + 1000, { high_cpu: 2 })?.alertsByType).toMatchObject({ high_cpu: 2, ml_anomaly: 0 });
    expect(agg.close(T0 + 2000, { high_cpu: 3, ml_anomaly: 1 })?.alertsByType).toMatchObject({
      high_cpu: 1,
      ml_anomaly: 1,
      high_memory: 0,
    });
  });

  it("returns no point before an interval is open or when no time passed", () => {
    const agg = new LiveAggregator();
    agg.observe(event());
    expect(agg.close(T0, {})).toBeNull();
    expect(agg.close(T0, {})).toBeNull();
    agg.observe(event());
    expect(agg.close(T0 + 1000, {})?.events).toBe(1);
  });

  it("keeps huge latencies in the overflow bucket and folds services beyond the cap into one", () => {
    const agg = new LiveAggregator();
    agg.open(T0);
    agg.observe(event({ latency: 1e12 }));
    for (let i = 0; i < MAX_SERVICES + 20; i++) agg.observe(event({ service: `svc-${i}` }));
    const point = agg.close(T0 + 1000, {});
    expect(point?.services.api?.latencyP95Ms).toBeGreaterThanOrEqual(10_000);
    expect(Object.keys(point?.services ?? {}).length).toBe(MAX_SERVICES + 1);
    expect(point?.services[OTHER_SERVICES]?.events).toBe(21);
  });

  it("counts traffic and errors exactly as the error-rate detector classifies them", () => {
    for (const event_type of EVENT_TYPES) {
      for (const status_code of [null, 200, 401, 500, 503]) {
        const agg = new LiveAggregator();
        agg.open(T0);
        const e = event({ event_type, status_code });
        agg.observe(e);
        const service = agg.close(T0 + 1000, {})?.services.api;
        const expected = classifyTraffic(e);
        expect(service?.errorRate, `${event_type} ${status_code}`).toBe(
          expected === null ? null : expected === "error" ? 1 : 0,
        );
      }
    }
  });
});
