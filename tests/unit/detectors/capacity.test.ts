import { describe, expect, it } from "vitest";
import type { DetectorFinding } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { PipelineConfig } from "../../../shared/config/types.js";
import { ActivityMap } from "../../../shared/detectors/state.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { at, makeEvent } from "./events.js";

/**
 * `services` services all at 99% CPU, each reporting every `everyS` seconds (round robin), for
 * `seconds` seconds of event time. Returns every finding the pipeline produced.
 */
function hotServices(config: PipelineConfig, services: number, seconds: number, everyS: number) {
  const pipeline = new Pipeline({ config });
  const findings: DetectorFinding[] = [];
  const gapMs = (everyS * 1000) / services;
  const total = Math.floor((seconds * 1000) / gapMs);
  for (let i = 0; i < total; i++) {
    const service = `svc-${String(i % services).padStart(5, "0")}`;
    pipeline.ingestEvent(
      makeEvent({
        timeMs: at(0) + i * gapMs,
        service,
        event_type: "metric",
        status_code: null,
        metrics: { cpu_pct: 99, memory_pct: 40, latency_ms: 10 },
      }),
    );
    if (i % 1000 === 0) findings.push(...pipeline.takeFindings());
  }
  pipeline.advance(at(seconds) + 30_000);
  findings.push(...pipeline.takeFindings());
  return { findings, notifications: pipeline.takeNotifications(), pipeline };
}

const noMl: PipelineConfig = {
  ...DEFAULT_CONFIG,
  detectors: { ...DEFAULT_CONFIG.detectors, ml: { ...DEFAULT_CONFIG.detectors.ml, enabled: false } },
};

function withCpuCap(cap: number): PipelineConfig {
  return {
    ...noMl,
    detectors: {
      ...noMl.detectors,
      cpu: { ...noMl.detectors.cpu, max_services: cap },
      memory: { ...noMl.detectors.memory, max_services: cap },
    },
  };
}

describe("pipeline capacity", () => {
  it("10,000 services at 99% CPU: the services within the cap alert, and a pipeline_capacity alert names the cap and the keys", () => {
    const { findings, notifications } = hotServices(DEFAULT_CONFIG, 10_000, 60, 5);
    const cpuFiring = new Set(
      findings.filter((f) => f.type === "high_cpu" && f.status === "firing").map((f) => f.service),
    );
    expect(cpuFiring.size).toBe(DEFAULT_CONFIG.detectors.cpu.max_services);
    const capacity = findings.filter((f) => f.type === "pipeline_capacity" && f.entity === "high_cpu");
    expect(capacity.length).toBeGreaterThan(0);
    const last = capacity.at(-1);
    expect(last).toMatchObject({ status: "firing", service: "cloud-observability" });
    expect(last?.details).toMatchObject({ cap: 1000, keys: 10_000 });
    expect(last?.summary).toContain("10000");
    const notified = notifications.flatMap((n) => n.alerts).filter((a) => a.type === "pipeline_capacity");
    expect(notified.map((a) => a.entity)).toContain("high_cpu");
  });

  it("the cap is configurable: raised above the number of services, every service alerts and no capacity alert", () => {
    const small = hotServices(withCpuCap(100), 50, 60, 5);
    expect(
      new Set(
        small.findings.filter((f) => f.type === "high_cpu" && f.status === "firing").map((f) => f.service),
      ).size,
    ).toBe(50);
    expect(small.findings.filter((f) => f.type === "pipeline_capacity")).toHaveLength(0);
    const capped = hotServices(withCpuCap(20), 50, 60, 5);
    expect(
      new Set(
        capped.findings.filter((f) => f.type === "high_cpu" && f.status === "firing").map((f) => f.service),
      ).size,
    ).toBe(20);
    const capacity = capped.findings
      .filter((f) => f.type === "pipeline_capacity" && f.entity === "high_cpu")
      .at(-1);
    expect(capacity?.details).toMatchObject({ cap: 20, keys: 50 });
  });

  it("resolves the capacity alert once no key has been refused for a while", () => {
    const config = withCpuCap(20);
    const { pipeline } = hotServices(config, 50, 60, 5);
    pipeline.takeFindings();
    pipeline.advance(at(60) + 30 * 60_000);
    const later = pipeline
      .takeFindings()
      .filter((f) => f.type === "pipeline_capacity" && f.entity === "high_cpu");
    expect(later.map((f) => f.status)).toEqual(["resolved"]);
  });
});

describe("ActivityMap.makeRoom: eviction prefers idle keys", () => {
  type State = { lastSeenMs: number };
  it("evicts the least recently active key when it is idle, and refuses a newcomer when every key is active", () => {
    const map = new ActivityMap<State>();
    map.touch("a", { lastSeenMs: 0 }, 1);
    map.touch("b", { lastSeenMs: 0 }, 50);
    map.touch("c", { lastSeenMs: 0 }, 60);
    const evicted: string[] = [];
    // Idle means not seen since 10: only "a" is.
    expect(map.makeRoom(3, 10, (key) => evicted.push(key))).toBe(true);
    expect(evicted).toEqual(["a"]);
    map.touch("d", { lastSeenMs: 0 }, 70);
    expect(map.makeRoom(3, 10, (key) => evicted.push(key))).toBe(false);
    expect(evicted).toEqual(["a"]);
    expect([...map.entries.keys()]).toEqual(["b", "c", "d"]);
  });
});
