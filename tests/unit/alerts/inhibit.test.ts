import { describe, expect, it } from "vitest";
import {
  compileInhibitRules,
  DEFAULT_INHIBIT_RULES,
  InhibitConfigError,
  inhibitionOf,
} from "../../../shared/alerts/inhibit.js";
import { AlertManager } from "../../../shared/alerts/manager.js";
import type { Alert, AlertType, DetectorFinding } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";

function alert(
  type: AlertType,
  service: string,
  status: "firing" | "resolved" = "firing",
  entity = "",
): Alert {
  return {
    fingerprint: `${type}/${service}/${entity}`,
    type,
    service,
    entity,
    status,
    severity: "warning",
    startsAtMs: 0,
    endsAtMs: null,
    annotations: {
      summary: "",
      observed: 0,
      threshold: 0,
      unit: "",
      windowMs: 0,
      samples: [],
      details: {},
      runbook: "",
    },
  };
}

const DEFAULT_RULES = compileInhibitRules(DEFAULT_INHIBIT_RULES);

describe("inhibit rules (Alertmanager semantics)", () => {
  it.each([
    [
      "a rule alert on the same service inhibits ml_anomaly",
      alert("high_cpu", "api"),
      alert("ml_anomaly", "api"),
      true,
    ],
    ["not on another service (equal: service)", alert("high_cpu", "db"), alert("ml_anomaly", "api"), false],
    ["not once the source resolved", alert("high_cpu", "api", "resolved"), alert("ml_anomaly", "api"), false],
    ["an ML alert never inhibits a rule alert", alert("ml_anomaly", "api"), alert("high_cpu", "api"), false],
    [
      "an ML alert does not inhibit another ML alert",
      alert("ml_anomaly", "api", "firing", "x"),
      alert("ml_anomaly", "api"),
      false,
    ],
  ])("%s", (_, source, target, expected) => {
    expect(inhibitionOf(DEFAULT_RULES, target, [source, target]) !== null).toBe(expected);
  });

  it("supports !=, =~ and !~ matchers and several equal labels", () => {
    const rules = compileInhibitRules([
      {
        source_matchers: ['type=~"high_.*"', 'severity!="info"'],
        target_matchers: ['type!~"brute_.*"'],
        equal: ["service", "entity"],
      },
    ]);
    expect(inhibitionOf(rules, alert("high_error_rate", "api"), [alert("high_memory", "api")])).toEqual({
      rule: 0,
      by: "high_memory/api/",
    });
    expect(inhibitionOf(rules, alert("brute_force_ip", "api"), [alert("high_memory", "api")])).toBeNull();
    expect(
      inhibitionOf(rules, alert("high_error_rate", "api", "firing", "e"), [alert("high_memory", "api")]),
    ).toBeNull();
  });

  it.each([
    [
      { source_matchers: ["type=high_cpu"], target_matchers: ['type="ml_anomaly"'], equal: [] },
      /not a matcher/,
    ],
    [
      { source_matchers: ['colour="red"'], target_matchers: ['type="ml_anomaly"'], equal: [] },
      /unknown label "colour"/,
    ],
    [{ source_matchers: [], target_matchers: ['type="ml_anomaly"'], equal: [] }, /at least one matcher/],
    [{ source_matchers: ['type=~"("'], target_matchers: ['type="ml_anomaly"'], equal: [] }, /bad regex/],
    [
      { source_matchers: ['type="high_cpu"'], target_matchers: ['type="ml_anomaly"'], equal: ["host"] },
      /equal: unknown label "host"/,
    ],
  ])("refuses %j naming the entry", (rule, message) => {
    expect(() => compileInhibitRules([rule])).toThrow(InhibitConfigError);
    expect(() => compileInhibitRules([rule])).toThrow(message);
  });
});

function finding(
  type: AlertType,
  service: string,
  atMs: number,
  status: "firing" | "resolved" = "firing",
): DetectorFinding {
  return {
    status,
    type,
    service,
    entity: "",
    severity: "warning",
    summary: `${type} on ${service}`,
    observed: 1,
    threshold: 0,
    unit: "",
    windowMs: 10_000,
    atMs,
    sinceMs: atMs,
    samples: [],
    details: {},
  };
}

describe("AlertManager with inhibition", () => {
  it("pages a CPU spike once: the ML alert on the same service is inhibited, counted and listed", () => {
    const manager = new AlertManager(DEFAULT_CONFIG.alerting);
    manager.ingest(finding("high_cpu", "api", 1_000));
    manager.ingest(finding("ml_anomaly", "api", 5_000));
    const sent = [...manager.flush(20_000), ...manager.flush(40_000)];
    expect(sent.flatMap((n) => n.alerts.map((a) => a.type))).toEqual(["high_cpu"]);
    expect(manager.inhibitedAlerts()).toEqual({ ml_anomaly: 1 });
    const mlDecision = manager.lastDecisions().find((d) => d.inhibited.length > 0);
    const ml = manager.firing().find((a) => a.type === "ml_anomaly");
    const cpu = manager.firing().find((a) => a.type === "high_cpu");
    expect(mlDecision?.inhibited).toEqual([{ fingerprint: ml?.fingerprint, rule: 0, by: cpu?.fingerprint }]);
    // Still an alert: firing, and it resolves normally.
    expect(
      manager
        .firing()
        .map((a) => a.type)
        .sort(),
    ).toEqual(["high_cpu", "ml_anomaly"]);
  });

  it("pages the ML alert of a service with no rule alert, and none when inhibition is turned off", () => {
    const manager = new AlertManager(DEFAULT_CONFIG.alerting);
    manager.ingest(finding("high_cpu", "db", 1_000));
    manager.ingest(finding("ml_anomaly", "api", 1_000));
    // The ML alert is held for the default rule's hold_s (60 s) in case a rule alert follows.
    const early = manager.flush(20_000).flatMap((n) => n.alerts.map((a) => `${a.type}/${a.service}`));
    expect(early).toEqual(["high_cpu/db"]);
    const types = [
      ...early,
      ...manager.flush(61_000).flatMap((n) => n.alerts.map((a) => `${a.type}/${a.service}`)),
    ];
    expect(types.sort()).toEqual(["high_cpu/db", "ml_anomaly/api"]);
    const off = new AlertManager({ ...DEFAULT_CONFIG.alerting, inhibit_rules: [] });
    off.ingest(finding("high_cpu", "api", 1_000));
    off.ingest(finding("ml_anomaly", "api", 1_000));
    expect(off.flush(20_000).flatMap((n) => n.alerts)).toHaveLength(2);
    expect(off.inhibitedAlerts()).toEqual({});
  });

  it("holds a new ML alert so a CPU rule that fires after it still inhibits it: one page", () => {
    const manager = new AlertManager(DEFAULT_CONFIG.alerting);
    manager.ingest(finding("ml_anomaly", "api", 0));
    expect(manager.flush(15_000)).toEqual([]);
    manager.ingest(finding("high_cpu", "api", 20_000));
    const sent = [30_000, 60_000, 90_000].flatMap((t) => manager.flush(t));
    expect(sent.flatMap((n) => n.alerts.map((a) => a.type))).toEqual(["high_cpu"]);
    // The CPU alert resolves first; the ML episode stays inhibited rather than paging late.
    manager.ingest(finding("high_cpu", "api", 100_000, "resolved"));
    const after = [110_000, 200_000].flatMap((t) => manager.flush(t));
    expect(after.flatMap((n) => n.alerts.filter((a) => a.status === "firing").map((a) => a.type))).toEqual(
      [],
    );
    expect(manager.inhibitedAlerts()).toEqual({ ml_anomaly: 1 });
  });
});
