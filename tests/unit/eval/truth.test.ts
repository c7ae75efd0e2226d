import { describe, expect, it } from "vitest";
import type { AlertType } from "../../../shared/alerts/types.js";
import { type AlertEpisode, evaluateDetections, evaluateFor } from "../../../shared/eval/truth.js";
import type { IncidentTruth, ScenarioType } from "../../../shared/generator/types.js";

const T0 = Date.parse("2026-03-02T09:00:00.000Z");
const s = (seconds: number) => T0 + seconds * 1000;

const EXPECT: Record<ScenarioType, { alerts: AlertType[]; by: IncidentTruth["detectedBy"] }> = {
  cpu_spike: { alerts: ["high_cpu"], by: "rule" },
  memory_leak: { alerts: ["high_memory"], by: "rule" },
  brute_force: { alerts: ["brute_force_ip"], by: "rule" },
  credential_stuffing: { alerts: ["brute_force_user"], by: "rule" },
  error_burst_after_deploy: { alerts: ["high_error_rate"], by: "rule" },
  latency_degradation: { alerts: ["ml_anomaly"], by: "ml" },
  mixed_degradation: { alerts: ["ml_anomaly"], by: "ml" },
  benign_spike: { alerts: [], by: "none" },
};

function incident(
  id: string,
  scenario: ScenarioType,
  service: string,
  fromS: number,
  toS: number,
  entity = "",
): IncidentTruth {
  return {
    id,
    scenario,
    service,
    entity,
    startMs: s(fromS),
    endMs: s(toS),
    expectedAlerts: [...EXPECT[scenario].alerts],
    detectedBy: EXPECT[scenario].by,
  };
}

function episode(type: AlertType, service: string, atS: number, entity = ""): AlertEpisode {
  return { type, service, entity, startsAtMs: s(atS) };
}

const cpu = incident("cpu", "cpu_spike", "api-gateway", 100, 300);
const brute = incident("bf", "brute_force", "auth-service", 100, 200, "203.0.113.9");
const slow = incident("slow", "latency_degradation", "payment-service", 1000, 1200);
const benign = incident("blip", "benign_spike", "inventory-service", 500, 505);

describe("evaluateDetections matching", () => {
  it.each<[string, IncidentTruth, AlertEpisode, boolean]>([
    ["right type and service inside the incident", cpu, episode("high_cpu", "api-gateway", 140), true],
    ["at the very start", cpu, episode("high_cpu", "api-gateway", 100), true],
    ["just before the start", cpu, episode("high_cpu", "api-gateway", 99.999), false],
    ["at the end of the grace", cpu, episode("high_cpu", "api-gateway", 420), true],
    ["one ms after the grace", cpu, episode("high_cpu", "api-gateway", 420.001), false],
    ["another service", cpu, episode("high_cpu", "payment-service", 140), false],
    ["a type the incident does not expect", cpu, episode("high_memory", "api-gateway", 140), false],
    ["the attacking IP", brute, episode("brute_force_ip", "auth-service", 110, "203.0.113.9"), true],
    ["a different IP", brute, episode("brute_force_ip", "auth-service", 110, "203.0.113.10"), false],
    ["an episode without an entity", brute, episode("brute_force_ip", "auth-service", 110, ""), true],
    ["ML on an ML scenario", slow, episode("ml_anomaly", "payment-service", 1030), true],
  ])("%s -> detected %s", (_name, truth, alert, detected) => {
    const result = evaluateDetections([truth], [alert]);
    expect(result.missed.length).toBe(detected ? 0 : 1);
    expect(result.truePositives).toBe(detected ? 1 : 0);
    expect(result.falsePositives).toBe(detected ? 0 : 1);
    expect(result.precision).toBe(detected ? 1 : 0);
    expect(result.recall).toBe(detected ? 1 : 0);
  });

  it("honours a custom grace", () => {
    const late = episode("high_cpu", "api-gateway", 330);
    expect(evaluateDetections([cpu], [late], { graceMs: 10_000 }).missed).toEqual([cpu]);
    expect(evaluateDetections([cpu], [late], { graceMs: 30_000 }).missed).toEqual([]);
  });
});

describe("false alarms and benign spikes", () => {
  it("counts any alert during a benign spike as a false alarm, and benign spikes are not in recall", () => {
    const alarm = episode("high_cpu", "inventory-service", 503);
    const result = evaluateDetections([benign, cpu], [alarm, episode("high_cpu", "api-gateway", 150)]);
    expect(result.falseAlarms).toEqual([alarm]);
    expect(result.precision).toBe(0.5);
    expect(result.recall).toBe(1);
    expect(result.benign).toEqual({ injected: 1, alerted: 1 });
    expect(result.scenarios.map((row) => row.type)).toEqual(["cpu_spike"]);
  });

  it("a quiet benign spike leaves precision and recall alone", () => {
    const result = evaluateDetections([benign], []);
    expect(result).toMatchObject({
      precision: 1,
      recall: 1,
      falsePositives: 0,
      benign: { injected: 1, alerted: 0 },
    });
  });

  it("an alert in clean traffic is a false alarm", () => {
    const stray = episode("high_error_rate", "payment-service", 3000);
    const result = evaluateDetections([cpu], [episode("high_cpu", "api-gateway", 130), stray]);
    expect(result.falseAlarms).toEqual([stray]);
    expect(result.precision).toBe(0.5);
  });
});

describe("ML episodes during rule incidents", () => {
  it("is not a false alarm, but does not detect the rule incident either", () => {
    const result = evaluateDetections([cpu], [episode("ml_anomaly", "api-gateway", 120)]);
    expect(result.falsePositives).toBe(0);
    expect(result.truePositives).toBe(1);
    expect(result.precision).toBe(1);
    expect(result.missed).toEqual([cpu]);
    expect(result.recall).toBe(0);
  });

  it("during a benign spike it is a false alarm", () => {
    const result = evaluateDetections([benign], [episode("ml_anomaly", "inventory-service", 504)]);
    expect(result.falsePositives).toBe(1);
  });

  it("on another service than the incident it is a false alarm", () => {
    const result = evaluateDetections([cpu], [episode("ml_anomaly", "payment-service", 120)]);
    expect(result.falsePositives).toBe(1);
  });
});

describe("per-scenario rows, time to detect and families", () => {
  const cpu2 = incident("cpu2", "cpu_spike", "payment-service", 2000, 2200);
  const cpu3 = incident("cpu3", "cpu_spike", "notification-service", 4000, 4200);
  const truth = [cpu, brute, slow, benign, cpu2, cpu3];
  const alerts = [
    episode("high_cpu", "api-gateway", 145),
    episode("high_cpu", "api-gateway", 130), // a second, earlier episode for the same incident
    episode("brute_force_ip", "auth-service", 104, "203.0.113.9"),
    episode("high_cpu", "payment-service", 2050),
  ];
  const result = evaluateDetections(truth, alerts);

  it("reports injected, detected and the median time to detect per scenario", () => {
    expect(result.scenarios).toEqual([
      { type: "cpu_spike", injected: 3, detected: 2, median_time_to_detect_s: 40 },
      { type: "brute_force", injected: 1, detected: 1, median_time_to_detect_s: 4 },
      { type: "latency_degradation", injected: 1, detected: 0, median_time_to_detect_s: null },
    ]);
    expect(result.recall).toBe(3 / 5);
    expect(result.precision).toBe(1);
    expect(result.missed.map((m) => m.id)).toEqual(["slow", "cpu3"]);
  });

  it("splits recall by the family meant to detect each incident", () => {
    expect(result.byFamily).toEqual({
      rule: { injected: 4, detected: 3, recall: 0.75 },
      ml: { injected: 1, detected: 0, recall: 0 },
    });
    expect(evaluateFor("ml", truth, [...alerts, episode("ml_anomaly", "payment-service", 1010)])).toEqual({
      injected: 1,
      detected: 1,
      recall: 1,
    });
    expect(evaluateFor("rule", [slow], [])).toEqual({ injected: 0, detected: 0, recall: null });
  });

  it("credits back-to-back incidents on one service to the one that started last", () => {
    const first = incident("first", "cpu_spike", "api-gateway", 0, 60);
    const second = incident("second", "cpu_spike", "api-gateway", 150, 300);
    const both = evaluateDetections([first, second], [episode("high_cpu", "api-gateway", 170)]);
    expect(both.missed.map((m) => m.id)).toEqual(["first"]);
    expect(both.scenarios[0]?.median_time_to_detect_s).toBe(20);
  });
});

describe("unscored tail of a run", () => {
  const early = incident("early", "cpu_spike", "api-gateway", 100, 300);
  const late = incident("late", "brute_force", "auth-service", 5900, 6000, "203.0.113.5");
  const lateSlow = incident("late-slow", "latency_degradation", "payment-service", 5900, 6100);

  it("drops late incidents from recall and ignores the episodes they explain", () => {
    const alerts = [
      episode("high_cpu", "api-gateway", 130),
      episode("brute_force_ip", "auth-service", 5905, "203.0.113.5"),
      episode("ml_anomaly", "payment-service", 5950),
      episode("high_memory", "payment-service", 5960),
    ];
    const result = evaluateDetections([early, late, lateSlow], alerts, { unscoredFromMs: s(5700) });
    expect(result.ignoredEpisodes).toBe(2);
    expect(result.truePositives).toBe(1);
    // An alert the late incidents do not explain is still a false alarm.
    expect(result.falseAlarms.map((a) => a.type)).toEqual(["high_memory"]);
    expect(result.precision).toBe(0.5);
    expect(result.recall).toBe(1);
    expect(result.scenarios.map((row) => row.type)).toEqual(["cpu_spike"]);
  });

  it("without the option, the same late episodes count in full", () => {
    const result = evaluateDetections(
      [early, late],
      [episode("brute_force_ip", "auth-service", 5905, "203.0.113.5")],
    );
    expect(result.ignoredEpisodes).toBe(0);
    expect(result.truePositives).toBe(1);
    expect(result.recall).toBe(0.5);
  });
});
