import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../shared/alerts/fingerprint.js";
import { AlertManager } from "../../../shared/alerts/manager.js";
import type { DetectorFinding, Notification } from "../../../shared/alerts/types.js";
import type { AlertingConfig } from "../../../shared/config/types.js";
import { SettingsError, StateError } from "../../../shared/errors.js";
import { ALERTING, finding, s } from "./fixtures.js";

/** A step of a scripted timeline: a finding arrives, or the manager is flushed at a time (seconds). */
type Step = DetectorFinding | { flushAt: number };

/** Runs the timeline and returns "t=<seconds> <reason> <status> <alert types>" per notification. */
function run(manager: AlertManager, steps: Step[]): string[] {
  const out: string[] = [];
  for (const step of steps) {
    if ("flushAt" in step) {
      for (const n of manager.flush(s(step.flushAt))) out.push(summarise(n, step.flushAt));
    } else {
      manager.ingest(step);
    }
  }
  return out;
}

function summarise(n: Notification, atS: number): string {
  const alerts = n.alerts.map((a) => `${a.type}${a.entity ? `(${a.entity})` : ""}:${a.status}`).join(",");
  return `t=${atS} ${n.reason} ${n.status} ${alerts}`;
}

const flushes = (...seconds: number[]): Step[] => seconds.map((flushAt) => ({ flushAt }));
const cpuFp = fingerprint("high_cpu", "payment-service", "");

describe("AlertManager lifecycle", () => {
  it.each<[string, Step[], string[]]>([
    [
      "dedupes a finding that keeps firing: one notification",
      [finding("high_cpu", "firing", s(0)), finding("high_cpu", "firing", s(5)), ...flushes(10, 20, 300)],
      ["t=10 new firing high_cpu:firing"],
    ],
    [
      "waits group_wait before the first notification",
      [finding("high_cpu", "firing", s(0)), ...flushes(0, 5, 9, 10)],
      ["t=10 new firing high_cpu:firing"],
    ],
    [
      "a CPU+memory burst on one host travels as one notification",
      [finding("high_cpu", "firing", s(0)), finding("high_memory", "firing", s(3)), ...flushes(5, 10)],
      ["t=10 new firing high_cpu:firing,high_memory:firing"],
    ],
    [
      "brute force by IP and by user of one attack travel together",
      [
        finding("brute_force_ip", "firing", s(0), {
          service: "auth-service",
          entity: "203.0.113.7",
          severity: "critical",
        }),
        finding("brute_force_user", "firing", s(2), {
          service: "auth-service",
          entity: "alice",
          severity: "critical",
        }),
        ...flushes(10),
      ],
      ["t=10 new firing brute_force_ip(203.0.113.7):firing,brute_force_user(alice):firing"],
    ],
    [
      "different families on one service are separate notifications",
      [finding("high_cpu", "firing", s(0)), finding("high_error_rate", "firing", s(1)), ...flushes(11)],
      // Sorted by group key: payment-service/errors before payment-service/resources.
      ["t=11 new firing high_error_rate:firing", "t=11 new firing high_cpu:firing"],
    ],
    [
      "resolves after group_interval from the last notification",
      [
        finding("high_cpu", "firing", s(0)),
        ...flushes(10),
        finding("high_cpu", "resolved", s(30)),
        ...flushes(30, 69, 70, 200),
      ],
      ["t=10 new firing high_cpu:firing", "t=70 resolved resolved high_cpu:resolved"],
    ],
    [
      "re-notifies a still-firing group every repeat_interval",
      [finding("high_cpu", "firing", s(0)), ...flushes(10, 3609, 3610, 7209, 7210)],
      [
        "t=10 new firing high_cpu:firing",
        "t=3610 repeat firing high_cpu:firing",
        "t=7210 repeat firing high_cpu:firing",
      ],
    ],
    [
      "an alert joining a notified group waits for group_interval",
      [
        finding("high_cpu", "firing", s(0)),
        ...flushes(10),
        finding("high_memory", "firing", s(20)),
        ...flushes(20, 69, 70),
      ],
      ["t=10 new firing high_cpu:firing", "t=70 group_update firing high_cpu:firing,high_memory:firing"],
    ],
    [
      "one of two resolving is an update that shows it resolved once",
      [
        finding("high_cpu", "firing", s(0)),
        finding("high_memory", "firing", s(1)),
        ...flushes(10),
        finding("high_memory", "resolved", s(40)),
        ...flushes(70, 130, 200),
      ],
      [
        "t=10 new firing high_cpu:firing,high_memory:firing",
        "t=70 group_update firing high_cpu:firing,high_memory:resolved",
      ],
    ],
    [
      "fired and resolved inside group_wait: nothing is sent",
      [finding("high_cpu", "firing", s(0)), finding("high_cpu", "resolved", s(4)), ...flushes(10, 100)],
      [],
    ],
    [
      "a new episode after a resolved notification starts a new group with group_wait",
      [
        finding("high_cpu", "firing", s(0)),
        ...flushes(10),
        finding("high_cpu", "resolved", s(20)),
        ...flushes(70),
        finding("high_cpu", "firing", s(100)),
        ...flushes(105, 110),
      ],
      [
        "t=10 new firing high_cpu:firing",
        "t=70 resolved resolved high_cpu:resolved",
        "t=110 new firing high_cpu:firing",
      ],
    ],
  ])("%s", (_name, steps, expected) => {
    expect(run(new AlertManager(ALERTING), steps)).toEqual(expected);
  });

  it("keeps the alert's start and takes the newest numbers while it keeps firing", () => {
    const manager = new AlertManager(ALERTING);
    manager.ingest(finding("high_cpu", "firing", s(0), { observed: 91 }));
    manager.ingest(finding("high_cpu", "firing", s(5), { observed: 99, severity: "critical" }));
    const [n] = manager.flush(s(10));
    expect(n?.alerts[0]).toMatchObject({
      startsAtMs: s(0),
      severity: "critical",
      annotations: { observed: 99 },
    });
    expect(n?.severity).toBe("critical");
    expect(n?.id).toBe(`payment-service/resources@${s(10)}`);
    expect(n?.alerts[0]?.annotations.runbook).toMatch(/scale out/);
  });

  it("hands out notifications a sink may change without changing the alert behind them", () => {
    const manager = new AlertManager(ALERTING);
    manager.ingest(finding("high_cpu", "firing", s(0), { details: { smoothed_pct: 95.5 } }));
    const [n] = manager.flush(s(10));
    const alert = n?.alerts[0];
    if (alert === undefined) throw new Error("expected a notification with one alert");
    alert.annotations.details.smoothed_pct = 0;
    const line = alert.annotations.samples[0];
    if (line !== undefined) line.metrics.cpu_pct = -1;
    alert.annotations.samples.length = 0;
    const kept = manager.get(cpuFp);
    expect(kept?.annotations.details.smoothed_pct).toBe(95.5);
    expect(kept?.annotations.samples).toHaveLength(1);
    expect(kept?.annotations.samples[0]?.metrics.cpu_pct).not.toBe(-1);
  });

  it("answers isFiring and firing() through the episode", () => {
    const manager = new AlertManager(ALERTING);
    expect(manager.isFiring(cpuFp)).toBe(false);
    manager.ingest(finding("high_cpu", "firing", s(0)));
    expect(manager.isFiring(cpuFp)).toBe(true);
    expect(manager.firing().map((a) => a.fingerprint)).toEqual([cpuFp]);
    manager.ingest(finding("high_cpu", "resolved", s(30)));
    expect(manager.isFiring(cpuFp)).toBe(false);
    expect(manager.firing()).toEqual([]);
    expect(manager.get(cpuFp)?.endsAtMs).toBe(s(30));
  });

  it("counts bad findings by reason and carries on with the batch", () => {
    const manager = new AlertManager(ALERTING);
    manager.ingest({ ...finding("high_cpu", "firing", s(0)), type: "disk_full" as never });
    manager.ingest(finding("high_cpu", "firing", Number.NaN));
    manager.ingest(finding("high_cpu", "firing", s(0), { service: "" }));
    manager.ingest(finding("high_memory", "resolved", s(0)));
    manager.ingest(finding("high_cpu", "firing", s(0)));
    expect(manager.rejectedFindings()).toEqual({
      unknown_type: 1,
      bad_time: 1,
      bad_identity: 1,
      resolve_unknown: 1,
    });
    expect(manager.flush(s(10))).toHaveLength(1);
  });

  it("forgets resolved alerts after the retention period", () => {
    const manager = new AlertManager(ALERTING, { resolvedRetentionMs: 60_000 });
    manager.ingest(finding("high_cpu", "firing", s(0)));
    manager.flush(s(10));
    manager.ingest(finding("high_cpu", "resolved", s(20)));
    manager.flush(s(70));
    expect(manager.get(cpuFp)?.status).toBe("resolved");
    manager.flush(s(80));
    expect(manager.get(cpuFp)).toBeUndefined();
    expect(manager.snapshot()).toMatchObject({ alerts: [], groups: [] });
  });

  it("forgets each resolved alert on time though the scans in between are skipped, restored or not", () => {
    const manager = new AlertManager(ALERTING, { resolvedRetentionMs: 60_000 });
    const ip = (n: number) => fingerprint("brute_force_ip", "payment-service", `198.51.100.${n}`);
    const resolveAt = (n: number, atS: number) => {
      manager.ingest(finding("brute_force_ip", "firing", s(atS - 5), { entity: `198.51.100.${n}` }));
      manager.ingest(finding("brute_force_ip", "resolved", s(atS), { entity: `198.51.100.${n}` }));
    };
    resolveAt(1, 20);
    resolveAt(2, 50);
    const kept = (atS: number) => {
      manager.flush(s(atS));
      return [1, 2].filter((n) => manager.get(ip(n)) !== undefined);
    };
    expect(kept(70)).toEqual([1, 2]);
    expect(kept(80)).toEqual([2]);
    expect(kept(100)).toEqual([2]);
    const restored = new AlertManager(ALERTING, { resolvedRetentionMs: 60_000 });
    restored.restore(manager.snapshot());
    restored.flush(s(110));
    expect(restored.get(ip(2))).toBeUndefined();
    expect(kept(110)).toEqual([]);
  });
});

describe("AlertManager silences", () => {
  const silenced = (
    matchers: AlertingConfig["silences"][number]["matchers"],
    expiresAt: string,
  ): AlertingConfig => ({
    ...ALERTING,
    silences: [{ matchers, expires_at: expiresAt, reason: "maintenance window" }],
  });

  it.each<[string, AlertingConfig, string[]]>([
    [
      "a matching silence mutes the alert until it expires",
      silenced({ type: "high_cpu", service: "payment-service" }, "2026-03-01T12:01:40Z"),
      ["t=100 new firing high_cpu:firing"],
    ],
    [
      "a silence on another service does not match",
      silenced({ service: "order-service" }, "2026-03-01T13:00:00Z"),
      ["t=10 new firing high_cpu:firing"],
    ],
    [
      "an expired silence does not apply",
      silenced({ type: "high_cpu" }, "2026-03-01T11:00:00Z"),
      ["t=10 new firing high_cpu:firing"],
    ],
  ])("%s", (_name, config, expected) => {
    const manager = new AlertManager(config);
    expect(run(manager, [finding("high_cpu", "firing", s(0)), ...flushes(10, 50, 99, 100, 120)])).toEqual(
      expected,
    );
  });

  it("says why a silenced alert was not sent, and still tracks it", () => {
    const manager = new AlertManager(silenced({ severity: "warning" }, "2026-03-01T13:00:00Z"));
    manager.ingest(finding("high_cpu", "firing", s(0)));
    expect(manager.flush(s(10))).toEqual([]);
    expect(manager.isFiring(cpuFp)).toBe(true);
    expect(manager.lastDecisions()).toEqual([
      {
        groupKey: "payment-service/resources",
        atMs: s(10),
        send: false,
        reason: "silenced",
        silenced: [{ fingerprint: cpuFp, silenceId: "config-0", reason: "maintenance window" }],
        inhibited: [],
      },
    ]);
  });

  it("mutes only the silenced member of a group", () => {
    const manager = new AlertManager(ALERTING);
    manager.addSilence({
      matchers: { type: "high_memory" },
      expiresAtMs: s(600),
      reason: "known leak, fix deploying",
    });
    const out = run(manager, [
      finding("high_cpu", "firing", s(0)),
      finding("high_memory", "firing", s(1)),
      ...flushes(10),
    ]);
    expect(out).toEqual(["t=10 new firing high_cpu:firing"]);
  });

  it("a runtime silence added after notification stops repeats", () => {
    const manager = new AlertManager(ALERTING);
    const out = run(manager, [finding("high_cpu", "firing", s(0)), ...flushes(10)]);
    manager.addSilence({ matchers: { type: "high_cpu" }, expiresAtMs: s(4000), reason: "ack" });
    out.push(...run(manager, flushes(3610)));
    expect(out).toEqual(["t=10 new firing high_cpu:firing"]);
    expect(manager.lastDecisions()[0]?.reason).toBe("silenced");
    expect(manager.activeSilences(s(3610))).toHaveLength(1);
    expect(manager.activeSilences(s(4000))).toHaveLength(0);
  });

  it.each<[string, AlertingConfig["silences"][number], RegExp]>([
    [
      "a bad expiry",
      { matchers: { type: "high_cpu" }, expires_at: "tomorrow", reason: "" },
      /silences\[0\].*expires_at/,
    ],
    ["no matchers", { matchers: {}, expires_at: "2026-03-01T13:00:00Z", reason: "" }, /at least one matcher/],
    [
      "an unknown matcher",
      { matchers: { host: "x" } as never, expires_at: "2026-03-01T13:00:00Z", reason: "" },
      /unknown matcher "host"/,
    ],
  ])("refuses a configured silence with %s", (_name, silence, message) => {
    expect(() => new AlertManager({ ...ALERTING, silences: [silence] })).toThrow(SettingsError);
    expect(() => new AlertManager({ ...ALERTING, silences: [silence] })).toThrow(message);
  });
});

describe("AlertManager snapshot/restore", () => {
  it("continues a firing episode across a cold start without a duplicate notification", () => {
    const before = new AlertManager(ALERTING);
    const out = run(before, [finding("high_cpu", "firing", s(0)), ...flushes(10)]);
    before.addSilence({ matchers: { type: "high_memory" }, expiresAtMs: s(5000), reason: "ack" });

    const after = new AlertManager(ALERTING);
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(after.isFiring(cpuFp)).toBe(true);
    out.push(
      ...run(after, [
        finding("high_cpu", "firing", s(20)),
        finding("high_memory", "firing", s(21)),
        ...flushes(100, 3609, 3610),
        finding("high_cpu", "resolved", s(3700)),
        ...flushes(3700, 4999, 7210),
      ]),
    );
    expect(out).toEqual([
      "t=10 new firing high_cpu:firing",
      "t=3610 repeat firing high_cpu:firing",
      // CPU resolves while memory is still silenced: a resolved notification, memory stays muted...
      "t=3700 resolved resolved high_cpu:resolved",
      // ...and once the silence has lifted (t=5000) memory is news of its own.
      "t=7210 new firing high_memory:firing",
    ]);
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a wrong version", { version: 2, alerts: [], groups: [], silences: [] }],
    ["alerts not an array", { version: 1, alerts: {}, groups: [], silences: [] }],
    ["a malformed group", { version: 1, alerts: [], groups: [{ key: 1 }], silences: [] }],
  ])("refuses %s with StateError and keeps its state", (_name, state) => {
    const manager = new AlertManager(ALERTING);
    manager.ingest(finding("high_cpu", "firing", s(0)));
    expect(() => manager.restore(state)).toThrow(StateError);
    expect(manager.isFiring(cpuFp)).toBe(true);
  });
});

describe("AlertManager repeated decisions", () => {
  // A flush after which nothing changed repeats the last decisions instead of deciding again. The
  // oracle: a manager restored from a snapshot taken just before each flush has no earlier
  // decisions to repeat, so it decides every group afresh; both must agree at every second.
  it("decides as afresh at every second, across findings, silences, holds and timers", () => {
    const config: AlertingConfig = { ...ALERTING, group_interval_s: 30, repeat_interval_s: 120 };
    const manager = new AlertManager(config);
    const at = (
      seconds: number,
      service: string,
      type: DetectorFinding["type"],
      status: "firing" | "resolved",
    ) => ({
      seconds,
      apply: () => manager.ingest(finding(type, status, s(seconds), { service })),
    });
    const events = [
      at(0, "a", "high_cpu", "firing"),
      // An ML alert held for a source until t=65, then inhibited by the memory alert at t=40.
      at(5, "b", "ml_anomaly", "firing"),
      // One with no source: held until t=100, then sent.
      at(40, "c", "ml_anomaly", "firing"),
      at(40, "b", "high_memory", "firing"),
      {
        seconds: 20,
        apply: () => manager.addSilence({ matchers: { service: "a" }, expiresAtMs: s(90.5), reason: "x" }),
      },
      at(150, "a", "high_cpu", "resolved"),
    ].sort((x, y) => x.seconds - y.seconds);
    let next = 0;
    for (let t = 0; t <= 400; t++) {
      while (next < events.length && events[next]!.seconds <= t) events[next++]!.apply();
      const fresh = new AlertManager(config);
      fresh.restore(structuredClone(manager.snapshot()));
      expect(manager.flush(s(t)), `t=${t}`).toEqual(fresh.flush(s(t)));
      expect(manager.lastDecisions(), `t=${t}`).toEqual(fresh.lastDecisions());
      const muted = manager.lastDecisions().some((d) => d.silenced.length + d.inhibited.length > 0);
      expect(manager.mutedAtLastFlush(), `t=${t}`).toBe(muted);
    }
  });

  it("dates repeated decisions to their flush and leaves those already read alone", () => {
    const manager = new AlertManager(ALERTING);
    run(manager, [finding("high_cpu", "firing", s(0)), ...flushes(10, 11)]);
    const read = manager.lastDecisions();
    run(manager, flushes(12));
    expect(read[0]).toMatchObject({ atMs: s(11), reason: "repeat_interval" });
    expect(manager.lastDecisions()[0]).toMatchObject({ atMs: s(12), reason: "repeat_interval" });
  });
});

describe("AlertManager memory bound", () => {
  it("keeps at most maxResolvedAlerts resolved alerts, dropping the oldest", () => {
    const manager = new AlertManager(ALERTING, { maxResolvedAlerts: 2 });
    const ips = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    ips.forEach((ip, i) => {
      manager.ingest(finding("brute_force_ip", "firing", s(i), { entity: ip }));
      manager.ingest(finding("brute_force_ip", "resolved", s(i + 1), { entity: ip }));
    });
    manager.flush(s(20));
    const kept = ips.filter(
      (ip) => manager.get(fingerprint("brute_force_ip", "payment-service", ip)) !== undefined,
    );
    expect(kept).toEqual(["198.51.100.2", "198.51.100.3"]);
  });
});
