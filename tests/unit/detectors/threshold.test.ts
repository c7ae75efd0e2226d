import { describe, expect, it } from "vitest";
import type { ThresholdRuleConfig } from "../../../shared/config/types.js";
import { NO_FINDINGS } from "../../../shared/detectors/detector.js";
import {
  createCpuDetector,
  createMemoryDetector,
  ThresholdRuleDetector,
} from "../../../shared/detectors/threshold.js";
import { at, brief, makeEvent, readings, run, type Step } from "./events.js";

const CPU: ThresholdRuleConfig = {
  threshold_pct: 85,
  recovery_pct: 70,
  for_s: 30,
  smoothing_s: 15,
  severity: "warning",
  max_services: 1000,
};

/** Baseline readings, then `value` from `fromS` for `durationS` seconds, then baseline again. */
function spike(base: number, value: number, fromS: number, durationS: number, untilS = fromS + 240): Step[] {
  return readings("cpu_pct", 0, untilS, (s) => (s >= fromS && s < fromS + durationS ? value : base));
}

describe("threshold rule (high CPU / high memory)", () => {
  it("goes pending when the smoothed value crosses and fires only after `for_s` more", () => {
    const detector = createCpuDetector(CPU);
    // 40% until 60 s, then 95%: the 15 s mean first reaches 85% at 72 s (12 high readings of 15).
    const steps = readings("cpu_pct", 0, 200, (s) => (s < 60 ? 40 : 95));
    const before = run(detector, steps.slice(0, 102));
    expect(before).toEqual([]);
    const found = run(detector, steps.slice(102));
    expect(brief(found)).toEqual(["firing high_cpu checkout @102"]);
    const [firing] = found;
    expect(firing?.sinceMs).toBe(at(72));
    expect(firing?.observed).toBe(95);
    expect(firing?.threshold).toBe(85);
    expect(firing?.windowMs).toBe(30_000);
    expect(firing?.entity).toBe("");
    expect(firing?.samples.map((s) => s.metrics.cpu_pct)).toEqual([95, 95, 95, 95, 95]);
    expect(firing?.samples.at(-1)?.timestamp).toBe(new Date(at(102)).toISOString());
    expect(firing?.details).toMatchObject({ smoothed_pct: 95, latest_pct: 95, for_s: 30, smoothing_s: 15 });
  });

  it.each([
    // [label, baseline, spike value, spike seconds]
    ["a 9 s spike to 95% over a 40% baseline", 40, 95, 9],
    ["a 9 s spike to 100% over an 84% baseline", 84, 100, 9],
    ["a 29 s spike to 100% over an 84% baseline", 84, 100, 29],
    ["a 25 s spike to 100% over an 80% baseline", 80, 100, 25],
  ])(
    "never fires on %s (shorter than for_s, however smoothing drags it out)",
    (_label, base, value, seconds) => {
      expect(run(createCpuDetector(CPU), spike(base, value, 60, seconds))).toEqual([]);
    },
  );

  it("does fire when the same spike lasts for_s (the boundary is exact), then holds above recovery", () => {
    // 31 readings of 100% (60..90 s) fire at 90 s; the 84% baseline after is above recovery (70%).
    const found = run(createCpuDetector(CPU), spike(84, 100, 60, 31));
    expect(brief(found)).toEqual(["firing high_cpu checkout @90"]);
  });

  it("restarts the hold when the value dips below the threshold between two spikes", () => {
    const steps = readings("cpu_pct", 0, 200, (s) =>
      (s >= 60 && s < 80) || (s >= 90 && s < 110) ? 100 : 40,
    );
    expect(run(createCpuDetector(CPU), steps)).toEqual([]);
  });

  it("holds firing while the value wanders between recovery and threshold (hysteresis)", () => {
    const detector = createCpuDetector(CPU);
    const steps = readings("cpu_pct", 0, 400, (s) => {
      if (s < 60) return 40;
      if (s < 120) return 95;
      if (s < 300) return s % 2 === 0 ? 72 : 84; // mean 78: below 85, above 70
      return 40;
    });
    const found = run(detector, steps);
    expect(brief(found)).toEqual(["firing high_cpu checkout @102", "resolved high_cpu checkout @303"]);
    const resolved = found[1];
    expect(resolved?.observed).toBeLessThan(70);
    expect(resolved?.threshold).toBe(70);
    expect(resolved?.sinceMs).toBe(at(72));
    expect(resolved?.details).toMatchObject({ reason: "recovered", peak_pct: 95 });
    expect(resolved?.samples.at(-1)?.metrics.cpu_pct).toBe(40);
  });

  it("does not re-fire after resolving while the value stays under the threshold", () => {
    const steps = readings("cpu_pct", 0, 600, (s) => {
      if (s < 60) return 40;
      if (s < 120) return 95;
      if (s < 150) return 40;
      return s % 2 === 0 ? 80 : 84;
    });
    expect(brief(run(createCpuDetector(CPU), steps))).toEqual([
      "firing high_cpu checkout @102",
      // The 15 s mean of 95s and 40s first drops under 70% with 7 readings of 40%.
      "resolved high_cpu checkout @126",
    ]);
  });

  it("keeps services apart", () => {
    const steps = [
      ...readings("cpu_pct", 0, 100, 95, { service: "search" }),
      ...readings("cpu_pct", 0, 100, 30, { service: "checkout" }),
    ].sort((a, b) => a.timeMs - b.timeMs);
    const found = run(createCpuDetector(CPU), steps);
    expect(brief(found)).toEqual(["firing high_cpu search @30"]);
  });

  it("fires high_memory on a memory ramp, reading memory_pct only", () => {
    const steps = readings("memory_pct", 0, 300, (s) => Math.min(99, 60 + s * 0.2));
    const found = run(createMemoryDetector({ ...CPU, threshold_pct: 90, recovery_pct: 80 }), steps);
    expect(found.map((f) => [f.status, f.type, f.service])).toEqual([["firing", "high_memory", "checkout"]]);
    expect(found[0]?.summary).toMatch(/^Memory on checkout at 9\d\.\d% \(15s mean\) for 30s, threshold 90%$/);
  });

  it("returns the shared empty result on the common path", () => {
    const detector = createCpuDetector(CPU);
    expect(detector.observe(makeEvent({ t: 0 }))).toBe(NO_FINDINGS);
    expect(detector.observe(makeEvent({ t: 1 }))).toBe(NO_FINDINGS);
    expect(detector.advance(at(2))).toBe(NO_FINDINGS);
  });

  it("ignores readings that are not finite numbers", () => {
    const detector = createCpuDetector(CPU);
    const bad = makeEvent({ t: 0, metrics: { cpu_pct: Number.NaN } });
    expect(detector.observe(bad)).toBe(NO_FINDINGS);
    expect((detector.snapshot() as { services: unknown[] }).services).toEqual([]);
  });

  it("resolves a firing service that goes silent, after the stale period, via advance", () => {
    const detector = createCpuDetector(CPU);
    const found = run(detector, [
      ...readings("cpu_pct", 0, 60, 95),
      { advanceTo: at(120) },
      { advanceTo: at(358) },
      { advanceTo: at(359 + 1) },
    ]);
    expect(brief(found)).toEqual(["firing high_cpu checkout @30", "resolved high_cpu checkout @360"]);
    expect(found[1]?.details.reason).toBe("no_data");
  });

  it("drops a pending service back when its window empties, so the hold restarts", () => {
    const detector = createCpuDetector(CPU);
    const found = run(detector, [
      ...readings("cpu_pct", 0, 20, 95), // pending from 0 s
      { advanceTo: at(40) }, // 20 s silence: window empty, pending ends
      ...readings("cpu_pct", 40, 80, 95),
    ]);
    expect(brief(found)).toEqual(["firing high_cpu checkout @70"]);
  });

  it("evicts idle services so memory stays bounded", () => {
    const detector = createCpuDetector(CPU);
    run(detector, [makeEvent({ t: 0, service: "a" }), makeEvent({ t: 1, service: "b" })]);
    expect((detector.snapshot() as { services: unknown[] }).services).toHaveLength(2);
    // Stale after 300 s: at 300.5 s only "a" (last seen at 0 s) has been idle that long.
    detector.advance(at(300.5));
    expect((detector.snapshot() as { services: unknown[] }).services).toHaveLength(1);
    detector.advance(at(1000));
    expect((detector.snapshot() as { services: unknown[] }).services).toHaveLength(0);
  });

  it("caps the number of services: a newcomer is refused while all are active, and takes an idle one's place", () => {
    const detector = new ThresholdRuleDetector({
      name: "high_cpu",
      type: "high_cpu",
      metric: "cpu_pct",
      label: "CPU",
      config: CPU,
      maxServices: 2,
    });
    const found = run(detector, [
      ...readings("cpu_pct", 0, 40, 95, { service: "hot" }),
      makeEvent({ t: 41, service: "b" }),
      makeEvent({ t: 42, service: "c" }),
      { advanceTo: at(43) },
      makeEvent({ t: 60, service: "d" }),
    ]);
    // "c" arrives at 42 s while "hot" (seen at 40 s) and "b" are active: refused, and the pipeline
    // says so. At 60 s "hot" has been quiet for a whole smoothing window: "d" takes its place.
    expect(brief(found)).toEqual([
      "firing high_cpu hot @30",
      "firing pipeline_capacity cloud-observability/high_cpu @42",
      "resolved high_cpu hot @60",
    ]);
    expect(found[1]?.details).toMatchObject({ cap: 2, keys: 3 });
    expect(found[2]?.details.reason).toBe("evicted");
  });

  it("counts a late reading inside the window and ignores one older than the window", () => {
    const detector = createCpuDetector(CPU);
    run(detector, readings("cpu_pct", 0, 40, 40));
    // 14 s late: still inside the 15 s window; 100 s late: ignored, no crash.
    expect(detector.observe(makeEvent({ t: 26, metrics: { cpu_pct: 100 } }))).toBe(NO_FINDINGS);
    expect(detector.observe(makeEvent({ t: -60, metrics: { cpu_pct: 100 } }))).toBe(NO_FINDINGS);
    const state = detector.snapshot() as { services: { window: { totalA: number; totalB: number } }[] };
    expect(state.services[0]?.window.totalB).toBe(16);
    expect(state.services[0]?.window.totalA).toBe(15 * 40 + 100);
  });

  it("rejects a config whose recovery is above its threshold", () => {
    expect(() => createCpuDetector({ ...CPU, recovery_pct: 90 })).toThrow(RangeError);
  });
});
