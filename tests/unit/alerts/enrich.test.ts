import { describe, expect, it } from "vitest";
import { alertTitle, enrichFinding, RUNBOOK_HINTS } from "../../../shared/alerts/enrich.js";
import { ALERT_TYPES } from "../../../shared/alerts/types.js";
import { finding, s, sample } from "./fixtures.js";

describe("enrichFinding", () => {
  it.each(ALERT_TYPES.map((t) => [t]))("gives %s a short runbook hint", (type) => {
    const annotations = enrichFinding(finding(type, "firing", s(0)));
    expect(annotations.runbook).toBe(RUNBOOK_HINTS[type]);
    expect(annotations.runbook.length).toBeGreaterThan(20);
    expect(annotations.runbook.length).toBeLessThan(160);
  });

  it("keeps the newest five samples and the measured values", () => {
    const samples = [1, 2, 3, 4, 5, 6, 7].map((i) => sample({ message: `line ${i}` }));
    const annotations = enrichFinding(
      finding("high_cpu", "firing", s(0), { samples, observed: 97.5, threshold: 90 }),
    );
    expect(annotations.samples.map((l) => l.message)).toEqual([
      "line 3",
      "line 4",
      "line 5",
      "line 6",
      "line 7",
    ]);
    expect(annotations).toMatchObject({ observed: 97.5, threshold: 90, unit: "%", windowMs: 60_000 });
  });

  it("orders ML contributions largest first", () => {
    const contributions = [
      { feature: "cpu", contribution: 0.1, observed: 1, expectedLow: 0, expectedHigh: 1 },
      { feature: "latency", contribution: 0.7, observed: 1, expectedLow: 0, expectedHigh: 1 },
      { feature: "errors", contribution: 0.2, observed: 1, expectedLow: 0, expectedHigh: 1 },
    ];
    const annotations = enrichFinding(finding("ml_anomaly", "firing", s(0), { contributions }));
    expect(annotations.contributions?.map((c) => c.feature)).toEqual(["latency", "errors", "cpu"]);
  });
});

describe("alertTitle", () => {
  it.each([
    ["high_cpu", "payment-service", "", "High CPU on payment-service"],
    ["brute_force_user", "auth-service", "alice", "Brute force against user on auth-service (alice)"],
  ] as const)("%s %s %s -> %s", (type, service, entity, expected) => {
    expect(alertTitle(type, service, entity)).toBe(expected);
  });
});
