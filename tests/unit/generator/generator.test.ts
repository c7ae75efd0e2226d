import { describe, expect, it } from "vitest";
import { createGenerator, ML_WARMUP_MS, SERVICE_NAMES } from "../../../shared/generator/index.js";
import {
  type GeneratorOptions,
  type IncidentTruth,
  type LogGenerator,
  SCENARIO_TYPES,
  type ScenarioType,
} from "../../../shared/generator/types.js";
import type { MeasuredEvent as LogEvent } from "../../../shared/log/schema.js";
import type { RemediationAction } from "../../../shared/remediation/types.js";
import { simulateDefaultRules } from "./rule-sim.js";

const START_MS = Date.parse("2026-03-02T09:00:00.000Z");
/** The local acceptance run: --duration 10 --speed 600. */
const ACCEPTANCE_MS = 6_000_000;
const GRACE_MS = 120_000;

function options(overrides: Partial<GeneratorOptions> = {}): GeneratorOptions {
  return { seed: 1, startMs: START_MS, minIntervalS: 0.05, maxIntervalS: 0.2, ...overrides };
}

function take(generator: LogGenerator, untilMs: number): LogEvent[] {
  const events: LogEvent[] = [];
  for (;;) {
    const event = generator.next();
    if (event.timeMs >= untilMs) return events;
    events.push(event);
  }
}

function runAcceptance(seed: number): { events: LogEvent[]; truth: readonly IncidentTruth[] } {
  const generator = createGenerator(options({ seed }));
  const events = take(generator, START_MS + ACCEPTANCE_MS);
  return { events, truth: generator.truth };
}

const runs = new Map<number, ReturnType<typeof runAcceptance>>();
function acceptance(seed: number): ReturnType<typeof runAcceptance> {
  let run = runs.get(seed);
  if (!run) {
    run = runAcceptance(seed);
    runs.set(seed, run);
  }
  return run;
}

function count(truth: readonly IncidentTruth[], scenario: ScenarioType): number {
  return truth.filter((t) => t.scenario === scenario).length;
}

function action(
  type: RemediationAction["type"],
  target: string,
  service: string,
  requestedAtMs = 0,
): RemediationAction {
  return {
    id: `test-${type}-${target}`,
    type,
    alertType: "high_cpu",
    alertFingerprint: "fp",
    service,
    target,
    reason: "test",
    requestedAtMs,
    expiresAtMs: null,
    dryRun: false,
  };
}

function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

describe("determinism and ordering", () => {
  it("replays byte-identical lines for the same seed", () => {
    const a = take(createGenerator(options({ seed: 42 })), START_MS + 300_000);
    const b = take(createGenerator(options({ seed: 42 })), START_MS + 300_000);
    expect(a.length).toBeGreaterThan(1000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it("gives a different stream and plan for a different seed", () => {
    const a = createGenerator(options({ seed: 1 }));
    const b = createGenerator(options({ seed: 2 }));
    const linesA = take(a, START_MS + 600_000);
    const linesB = take(b, START_MS + 600_000);
    expect(JSON.stringify(linesB)).not.toBe(JSON.stringify(linesA));
    expect(b.truth.map((t) => t.startMs)).not.toEqual(a.truth.map((t) => t.startMs));
  });

  it("emits events in non-decreasing time, with timestamp and timeMs in step", () => {
    const { events } = acceptance(1);
    for (let i = 1; i < events.length; i++) {
      const previous = events[i - 1] as LogEvent;
      const event = events[i] as LogEvent;
      if (event.timeMs < previous.timeMs) throw new Error(`event ${i} goes back in time`);
      if (Date.parse(event.timestamp) !== event.timeMs) throw new Error(`event ${i} timestamp mismatch`);
    }
    expect(events[0]?.timeMs).toBe(START_MS);
  });

  it.each([
    [0.05, 0.2],
    [1, 1],
    [0.5, 2],
  ])("without incidents, gaps stay within [%s, %s] s", (minIntervalS, maxIntervalS) => {
    const generator = createGenerator(options({ minIntervalS, maxIntervalS, incidents: false }));
    const events = take(generator, START_MS + 1_200_000);
    const gaps = events.slice(1).map((e, i) => e.timeMs - (events[i] as LogEvent).timeMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(Math.round(minIntervalS * 1000));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(Math.round(maxIntervalS * 1000));
    expect(generator.truth).toEqual([]);
  });

  it.each([
    [{ minIntervalS: 0 }, /minIntervalS/],
    [{ minIntervalS: 0.5, maxIntervalS: 0.2 }, /maxIntervalS/],
    [{ seed: 1.5 }, /seed/],
    [{ startMs: Number.NaN }, /startMs/],
  ])("refuses bad options %o with a clear error", (bad, message) => {
    expect(() => createGenerator(options(bad))).toThrow(message);
  });
});

describe("baseline traffic", () => {
  it("covers five services with their own CPU and latency levels and few errors", () => {
    const generator = createGenerator(options({ incidents: false }));
    const events = take(generator, START_MS + 1_800_000);
    expect(new Set(events.map((e) => e.service))).toEqual(new Set(SERVICE_NAMES));
    expect(SERVICE_NAMES.length).toBeGreaterThanOrEqual(5);
    const requests = events.filter((e) => e.event_type === "request");
    const errors = requests.filter((e) => (e.status_code ?? 0) >= 500);
    expect(errors.length / requests.length).toBeLessThan(0.03);
    expect(Math.max(...events.map((e) => e.metrics.cpu_pct))).toBeLessThan(80);
    const latency = (service: string) =>
      mean(requests.filter((e) => e.service === service).map((e) => e.metrics.latency_ms));
    expect(latency("payment-service")).toBeGreaterThan(2 * latency("inventory-service"));
    const ips = new Set(events.flatMap((e) => (e.source_ip === null ? [] : [e.source_ip])));
    for (const ip of ips) expect(ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/);
    expect(events.some((e) => e.event_type === "auth_failure")).toBe(true);
    expect(events.some((e) => e.event_type === "auth_success")).toBe(true);
  });

  it("never fires a default rule on clean traffic, even with scattered mistyped passwords", () => {
    const events = take(createGenerator(options({ seed: 3, incidents: false })), START_MS + ACCEPTANCE_MS);
    expect(events.filter((e) => e.event_type === "auth_failure").length).toBeGreaterThan(20);
    expect(simulateDefaultRules(events)).toEqual([]);
  });

  it("follows a daily curve: afternoon CPU is higher than night CPU", () => {
    const cpuAt = (isoHour: string) => {
      const generator = createGenerator(options({ startMs: Date.parse(isoHour), incidents: false }));
      return mean(take(generator, Date.parse(isoHour) + 300_000).map((e) => e.metrics.cpu_pct));
    };
    expect(cpuAt("2026-03-02T16:00:00Z")).toBeGreaterThan(cpuAt("2026-03-02T04:00:00Z") + 10);
  });
});

describe("incident schedule over the 6,000 s acceptance run", () => {
  it.each([1, 2, 3])("seed %i injects >= 20 rule incidents, >= 3 of each ML type, >= 3 benign", (seed) => {
    const { truth } = acceptance(seed);
    expect(truth.filter((t) => t.detectedBy === "rule").length).toBeGreaterThanOrEqual(20);
    expect(count(truth, "latency_degradation")).toBeGreaterThanOrEqual(3);
    expect(count(truth, "mixed_degradation")).toBeGreaterThanOrEqual(3);
    expect(count(truth, "benign_spike")).toBeGreaterThanOrEqual(3);
    for (const scenario of SCENARIO_TYPES) expect(count(truth, scenario)).toBeGreaterThan(0);
  });

  it("starts ML-only scenarios only after the warm-up, and never overlaps incidents on one service", () => {
    const { truth } = acceptance(1);
    for (const t of truth.filter((i) => i.detectedBy === "ml")) {
      expect(t.startMs - START_MS).toBeGreaterThanOrEqual(ML_WARMUP_MS);
    }
    for (const service of SERVICE_NAMES) {
      const own = truth.filter((t) => t.service === service);
      for (let i = 1; i < own.length; i++) {
        expect((own[i] as IncidentTruth).startMs).toBeGreaterThan((own[i - 1] as IncidentTruth).endMs);
      }
    }
    expect(truth.map((t) => t.startMs)).toEqual([...truth.map((t) => t.startMs)].sort((a, b) => a - b));
  });

  it("labels every incident with what should detect it", () => {
    const expected: Record<ScenarioType, [string[], string]> = {
      cpu_spike: [["high_cpu"], "rule"],
      memory_leak: [["high_memory"], "rule"],
      brute_force: [["brute_force_ip"], "rule"],
      credential_stuffing: [["brute_force_user"], "rule"],
      error_burst_after_deploy: [["high_error_rate"], "rule"],
      latency_degradation: [["ml_anomaly"], "ml"],
      mixed_degradation: [["ml_anomaly"], "ml"],
      benign_spike: [[], "none"],
    };
    for (const t of acceptance(1).truth) {
      expect([t.expectedAlerts, t.detectedBy]).toEqual(expected[t.scenario]);
      const hasEntity = t.scenario === "brute_force" || t.scenario === "credential_stuffing";
      expect(t.entity !== "").toBe(hasEntity);
    }
  });

  it("keeps benign spikes shorter than 10 s", () => {
    const benign = acceptance(1).truth.filter((t) => t.scenario === "benign_spike");
    for (const t of benign) expect(t.endMs - t.startMs).toBeLessThan(10_000);
  });

  it("never writes the ground truth into the lines", () => {
    const { events, truth } = acceptance(1);
    const text = JSON.stringify(events);
    for (const word of [...SCENARIO_TYPES, "incident", "inc-", "benign", "attack", "scenario"]) {
      expect(text.includes(word), word).toBe(false);
    }
    expect(truth.length).toBeGreaterThan(0);
  });
});

describe("scenario effects in the lines", () => {
  const { events, truth } = acceptance(1);
  const during = (t: IncidentTruth) =>
    events.filter((e) => e.service === t.service && e.timeMs >= t.startMs && e.timeMs < t.endMs);
  const firstOf = (scenario: ScenarioType) => {
    const found = truth.find((t) => t.scenario === scenario);
    if (!found) throw new Error(`no ${scenario} in the seed-1 run`);
    return found;
  };

  it("cpu_spike holds CPU above 90% on its service", () => {
    const spike = firstOf("cpu_spike");
    const cpu = during(spike).map((e) => e.metrics.cpu_pct);
    expect(spike.endMs - spike.startMs).toBeGreaterThanOrEqual(120_000);
    expect(mean(cpu)).toBeGreaterThan(90);
  });

  it("memory_leak ramps memory past 93% and holds it", () => {
    const leak = firstOf("memory_leak");
    const memory = during(leak).map((e) => e.metrics.memory_pct);
    expect(memory[0]).toBeLessThan(70);
    expect(mean(memory.slice(-20))).toBeGreaterThan(93);
  });

  it("brute_force sends 1-3 failed logins a second from one IP against several users", () => {
    const attack = truth.filter((t) => t.scenario === "brute_force")[1] ?? firstOf("brute_force");
    const failures = during(attack).filter(
      (e) => e.event_type === "auth_failure" && e.source_ip === attack.entity,
    );
    const perSecond = failures.length / ((attack.endMs - attack.startMs) / 1000);
    expect(perSecond).toBeGreaterThan(0.7);
    expect(perSecond).toBeLessThan(3.5);
    expect(new Set(failures.map((e) => e.user)).size).toBeGreaterThanOrEqual(3);
  });

  it("credential_stuffing targets one user from many IPs", () => {
    const stuffing = firstOf("credential_stuffing");
    const failures = during(stuffing).filter(
      (e) => e.event_type === "auth_failure" && e.user === stuffing.entity,
    );
    expect(failures.length).toBeGreaterThan(40);
    expect(new Set(failures.map((e) => e.source_ip)).size).toBeGreaterThan(20);
  });

  it("error_burst_after_deploy starts with a deploy and fails 30-60% of requests", () => {
    const burst =
      truth.filter((t) => t.scenario === "error_burst_after_deploy")[1] ??
      firstOf("error_burst_after_deploy");
    const lines = during(burst);
    expect(lines[0]?.event_type).toBe("deploy");
    const requests = lines.filter((e) => e.event_type === "request");
    const ratio = requests.filter((e) => (e.status_code ?? 0) >= 500).length / requests.length;
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(0.65);
  });

  it("latency_degradation multiplies latency and leaves CPU, memory and errors alone", () => {
    const slow = firstOf("latency_degradation");
    const before = events.filter(
      (e) =>
        e.service === slow.service &&
        e.event_type === "request" &&
        e.timeMs < slow.startMs &&
        e.timeMs >= slow.startMs - 300_000,
    );
    const inside = during(slow).filter((e) => e.event_type === "request");
    const ratio =
      mean(inside.map((e) => e.metrics.latency_ms)) / mean(before.map((e) => e.metrics.latency_ms));
    expect(ratio).toBeGreaterThan(2.5);
    expect(ratio).toBeLessThan(7);
    expect(
      Math.abs(mean(inside.map((e) => e.metrics.cpu_pct)) - mean(before.map((e) => e.metrics.cpu_pct))),
    ).toBeLessThan(5);
    expect(inside.filter((e) => (e.status_code ?? 0) >= 500).length / inside.length).toBeLessThan(0.03);
  });

  it("mixed_degradation raises CPU, latency and errors together, each under its rule", () => {
    const mixed = firstOf("mixed_degradation");
    const before = events.filter(
      (e) =>
        e.service === mixed.service &&
        e.event_type === "request" &&
        e.timeMs < mixed.startMs &&
        e.timeMs >= mixed.startMs - 300_000,
    );
    const inside = during(mixed).filter((e) => e.event_type === "request");
    expect(
      mean(inside.map((e) => e.metrics.cpu_pct)) - mean(before.map((e) => e.metrics.cpu_pct)),
    ).toBeGreaterThan(15);
    expect(mean(inside.map((e) => e.metrics.cpu_pct))).toBeLessThan(80);
    const latencyRatio =
      mean(inside.map((e) => e.metrics.latency_ms)) / mean(before.map((e) => e.metrics.latency_ms));
    expect(latencyRatio).toBeGreaterThan(1.6);
    const errorRatio = inside.filter((e) => (e.status_code ?? 0) >= 500).length / inside.length;
    expect(errorRatio).toBeGreaterThan(0.06);
    expect(errorRatio).toBeLessThan(0.14);
  });

  it.each([1, 2, 3])(
    "seed %i: default rules catch every finished rule incident and fire nowhere else",
    (seed) => {
      const run = acceptance(seed);
      const firings = simulateDefaultRules(run.events);
      const lastMs = START_MS + ACCEPTANCE_MS;
      const explains = (f: (typeof firings)[number], t: IncidentTruth) =>
        t.service === f.service &&
        t.expectedAlerts.includes(f.type) &&
        (t.entity === "" || t.entity === f.entity) &&
        f.atMs >= t.startMs &&
        f.atMs <= t.endMs + GRACE_MS;
      const unexplained = firings.filter((f) => !run.truth.some((t) => explains(f, t)));
      expect(unexplained).toEqual([]);
      const finished = run.truth.filter((t) => t.detectedBy === "rule" && t.endMs + GRACE_MS < lastMs);
      const missed = finished.filter((t) => !firings.some((f) => explains(f, t))).map((t) => t.id);
      expect(missed).toEqual([]);
    },
  );
});

describe("the first seconds of a default run (npm run local: 15 s at speed 1)", () => {
  it.each([1, 2, 7, 99])(
    "seed %i: a brute force and an error burst both cross their rules within ~15 s",
    (seed) => {
      const generator = createGenerator(options({ seed }));
      const events = take(generator, START_MS + 15_000);
      const firings = simulateDefaultRules(events);
      expect(generator.truth.slice(0, 2).map((t) => [t.scenario, t.startMs - START_MS])).toEqual([
        ["brute_force", 2_000],
        ["error_burst_after_deploy", 4_000],
      ]);
      const bruteForce = firings.find((f) => f.type === "brute_force_ip");
      const errors = firings.find((f) => f.type === "high_error_rate");
      expect(bruteForce?.atMs).toBeLessThanOrEqual(START_MS + 12_000);
      expect(errors?.atMs).toBeLessThanOrEqual(START_MS + 15_000);
    },
  );
});

describe("applyRemediation", () => {
  it("block_ip on the attacking IP ends the brute force; its IP goes quiet", () => {
    const generator = createGenerator(options());
    take(generator, START_MS + 20_000);
    const attack = generator.truth[0] as IncidentTruth;
    expect(attack.scenario).toBe("brute_force");
    expect(generator.applyRemediation(action("block_ip", "192.0.2.250", "auth-service"))).toBe(false);
    expect(generator.applyRemediation(action("lock_user", attack.entity, "auth-service"))).toBe(false);
    // The runner draws one event ahead, so the ban is requested a little before the generator's clock.
    expect(
      generator.applyRemediation(action("block_ip", attack.entity, "auth-service", START_MS + 19_990)),
    ).toBe(true);
    expect(attack.endMs).toBe(START_MS + 19_990);
    const after = take(generator, START_MS + 120_000);
    expect(after.filter((e) => e.source_ip === attack.entity)).toEqual([]);
    // Already ended: a second ban changes nothing.
    expect(generator.applyRemediation(action("block_ip", attack.entity, "auth-service"))).toBe(false);
  });

  it.each([
    ["cpu_spike", "scale_out"],
    ["memory_leak", "restart_service"],
    ["error_burst_after_deploy", "rollback_deploy"],
    ["credential_stuffing", "lock_user"],
  ] as const)("%s ends early on %s", (scenario, verb) => {
    const generator = createGenerator(options());
    const planned = acceptance(1).truth.find((t) => t.scenario === scenario && t.startMs > START_MS + 60_000);
    if (!planned) throw new Error(`seed 1 has no ${scenario}`);
    const midMs = planned.startMs + 30_000;
    take(generator, midMs);
    const incident = generator.truth.find((t) => t.id === planned.id) as IncidentTruth;
    expect(incident.endMs).toBe(planned.endMs);
    const target = scenario === "credential_stuffing" ? incident.entity : incident.service;
    expect(generator.applyRemediation(action(verb, target, incident.service))).toBe(true);
    expect(incident.endMs).toBeLessThan(planned.endMs);
    expect(incident.endMs).toBeGreaterThan(midMs - 1_000);
    const after = take(generator, midMs + 60_000).filter((e) => e.service === incident.service);
    if (scenario === "cpu_spike") expect(mean(after.map((e) => e.metrics.cpu_pct))).toBeLessThan(70);
    if (scenario === "memory_leak")
      expect(Math.max(...after.map((e) => e.metrics.memory_pct))).toBeLessThan(75);
    if (scenario === "error_burst_after_deploy") {
      const requests = after.filter((e) => e.event_type === "request");
      expect(requests.filter((e) => (e.status_code ?? 0) >= 500).length / requests.length).toBeLessThan(0.05);
    }
    if (scenario === "credential_stuffing") {
      expect(
        after.filter((e) => e.event_type === "auth_failure" && e.user === incident.entity).length,
      ).toBeLessThan(3);
    }
  });

  it("ignores a dry run: nothing was executed", () => {
    const generator = createGenerator(options());
    take(generator, START_MS + 10_000);
    const attack = generator.truth[0] as IncidentTruth;
    const planned = attack.endMs;
    expect(
      generator.applyRemediation({ ...action("block_ip", attack.entity, "auth-service"), dryRun: true }),
    ).toBe(false);
    expect(attack.endMs).toBe(planned);
  });

  it("does not touch an incident on another service or before it starts", () => {
    const generator = createGenerator(options());
    take(generator, START_MS + 1_000);
    expect(generator.truth).toEqual([]);
    expect(generator.applyRemediation(action("block_ip", "203.0.113.1", "auth-service"))).toBe(false);
    take(generator, START_MS + 30_000);
    expect(generator.applyRemediation(action("rollback_deploy", "payment-service", "payment-service"))).toBe(
      false,
    );
    expect(generator.truth.every((t) => t.endMs > START_MS + 30_000)).toBe(true);
  });
});
