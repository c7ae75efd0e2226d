import { describe, expect, it } from "vitest";
import { parseRunArgs } from "../../../local/args.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { parseDuration, parseMatchers, silenceCommand } from "../../../shared/history/cli-input.js";
import { humanDuration } from "../../../shared/history/format.js";
import { HistoryEventBuilder } from "../../../shared/history/from-audit.js";
import { SilenceSync, UNTIL_REMOVED } from "../../../shared/history/silence-sync.js";
import type { SilenceRecord } from "../../../shared/history/types.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { finding, s } from "../alerts/fixtures.js";

describe("history command-line input", () => {
  it("reads durations as a person writes them", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    for (const bad of ["", "2", "h", "-2h", "2 hours", "0s", "2h-"]) expect(parseDuration(bad)).toBeNull();
  });

  it("reads matchers and refuses an empty, unknown or repeated one", () => {
    expect(parseMatchers(["service=api", "type=high_cpu"])).toEqual({
      ok: true,
      matchers: { service: "api", type: "high_cpu" },
    });
    expect(parseMatchers(["entity=203.0.113.7=x"])).toEqual({
      ok: true,
      matchers: { entity: "203.0.113.7=x" },
    });
    expect(parseMatchers([])).toMatchObject({ ok: false });
    expect(parseMatchers(["service"])).toMatchObject({ ok: false });
    expect(parseMatchers(["host=a"])).toMatchObject({ ok: false, error: expect.stringContaining("host") });
    expect(parseMatchers(["type=cpu"])).toMatchObject({ ok: false, error: expect.stringContaining("cpu") });
    expect(parseMatchers(["service=a", "service=b"])).toMatchObject({ ok: false });
  });

  it("prints a silence command a shell runs as it is", () => {
    expect(silenceCommand({ service: "api", type: "high_cpu", entity: "" })).toBe(
      'npm run silence -- add --matcher service=api --matcher type=high_cpu --for 2h --reason "..."',
    );
    expect(silenceCommand({ service: "a b", type: "brute_force_user", entity: "o'neil" })).toContain(
      "--matcher 'entity=o'\\''neil'",
    );
  });

  it("shows durations briefly", () => {
    expect(humanDuration(0)).toBe("0s");
    expect(humanDuration(95_000)).toBe("1m35s");
    expect(humanDuration(7_200_000)).toBe("2h");
    expect(humanDuration(null)).toBe("-");
  });
});

describe("local runner history flags", () => {
  it("records by default, into the file given, or not at all", () => {
    const base = parseRunArgs([]);
    expect(base.kind === "run" && base.options.historyPath).toMatch(/history\.sqlite$/);
    expect(parseRunArgs(["--history", "h.db"])).toMatchObject({ options: { historyPath: "h.db" } });
    expect(parseRunArgs(["--no-history"])).toMatchObject({ options: { historyPath: null } });
    expect(parseRunArgs(["--history", "h.db", "--no-history"])).toMatchObject({ kind: "error" });
  });
});

describe("run-time silences applied to a running pipeline", () => {
  const silence = (overrides: Partial<SilenceRecord> = {}): SilenceRecord => ({
    id: "s-1",
    matchers: { service: "payment-service" },
    startsAtMs: 1_000,
    endsAtMs: 10_000,
    reason: "deploy",
    createdBy: "test",
    expiredAtMs: null,
    ...overrides,
  });

  it("puts an active silence in force, mutes the alert once, and lifts it when it ends on the wall clock", async () => {
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG, detectors: [] });
    let stored = [silence()];
    let wall = 2_000;
    let reads = 0;
    const sync = new SilenceSync(
      async () => {
        reads++;
        return stored;
      },
      () => wall,
      1_000,
    );
    expect(await sync.apply(pipeline)).toBe(1);
    expect(pipeline.activeSilences(pipeline.nowMs)).toMatchObject([
      { id: "s-1", expiresAtMs: UNTIL_REMOVED },
    ]);
    // Polled at most once per second of wall time.
    wall += 500;
    expect(await sync.apply(pipeline)).toBe(0);
    expect(reads).toBe(1);

    // Event time far beyond the silence's wall-clock end: still in force (wall clock decides).
    const detector = { alerts: [finding("high_cpu", "firing", s(0))] };
    const p2 = new Pipeline({
      config: DEFAULT_CONFIG,
      detectors: [
        {
          name: "fake",
          observe: () => [],
          advance: () => detector.alerts.splice(0),
          snapshot: () => ({}),
          restore: () => {},
        },
      ],
    });
    wall = 2_000;
    const sync2 = new SilenceSync(
      async () => stored,
      () => wall,
      1_000,
    );
    await sync2.apply(p2);
    p2.advance(s(0));
    p2.advance(s(60));
    expect(p2.takeNotifications()).toEqual([]);
    const muted = p2.takeMuted();
    expect(muted).toHaveLength(1);
    expect(muted[0]).toMatchObject({ silenceId: "s-1", reason: "deploy", alert: { type: "high_cpu" } });
    p2.advance(s(61));
    expect(p2.takeMuted()).toEqual([]);

    // Expired by hand: lifted at the next poll, and the alert is notified.
    stored = [silence({ expiredAtMs: 2_500 })];
    wall = 3_100;
    await sync2.apply(p2);
    p2.advance(s(62));
    p2.advance(s(120));
    expect(p2.takeNotifications().map((n) => n.status)).toEqual(["firing"]);
  });
});

describe("inhibitions in the alert history", () => {
  it("an alert an inhibit rule holds back becomes one 'inhibited' event naming the incident that inhibits it", () => {
    const pending: ReturnType<typeof finding>[] = [];
    const pipeline = new Pipeline({
      config: DEFAULT_CONFIG,
      detectors: [
        {
          name: "fake",
          observe: () => [],
          advance: () => pending.splice(0),
          snapshot: () => ({}),
          restore: () => {},
        },
      ],
    });
    // The default rule: a rule alert on a service inhibits that service's ml_anomaly.
    pending.push(finding("high_cpu", "firing", s(0)), finding("ml_anomaly", "firing", s(0)));
    for (let t = 0; t <= 90; t++) pipeline.advance(s(t));
    const notified = pipeline.takeNotifications().flatMap((n) => n.alerts.map((a) => a.type));
    expect(notified).toEqual(["high_cpu"]);
    const muted = pipeline.takeMuted();
    expect(muted).toHaveLength(1);
    expect(muted[0]).toMatchObject({ kind: "inhibited", rule: 0, alert: { type: "ml_anomaly" } });

    const cpu = pipeline.firingAlerts().find((a) => a.type === "high_cpu");
    const events = new HistoryEventBuilder().fromMuted(muted);
    expect(events).toEqual([
      expect.objectContaining({
        kind: "inhibited",
        type: "ml_anomaly",
        service: "payment-service",
        byIncident: `${cpu?.fingerprint}:${s(0)}`,
        reason: "inhibit rule 0: high_cpu on payment-service is firing",
      }),
    ]);
    // Reported once per episode, not at every flush.
    for (let t = 91; t <= 120; t++) pipeline.advance(s(t));
    expect(pipeline.takeMuted()).toEqual([]);
  });
});
