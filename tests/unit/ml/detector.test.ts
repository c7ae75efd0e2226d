import { describe, expect, it } from "vitest";
import type { DetectorFinding } from "../../../shared/alerts/types.js";
import type { MlConfig } from "../../../shared/config/types.js";
import { StateError } from "../../../shared/errors.js";
import type { LogEvent } from "../../../shared/log/schema.js";
import {
  createMlDetector,
  FITS_PER_CALL,
  MAX_SERVICES,
  TrainingRows,
  tailQuantile,
  withoutContamination,
} from "../../../shared/ml/detector.js";
import { FEATURE_COUNT } from "../../../shared/ml/features.js";
import { quantileSelect } from "../../../shared/ml/stream.js";
import { Rng } from "../../../shared/random.js";
import { MIN, T0, traffic } from "./traffic.js";

const CONFIG: MlConfig = {
  enabled: true,
  window_s: 10,
  warmup_windows: 60,
  retrain_every_windows: 60,
  max_training_windows: 512,
  threshold_quantile: 0.995,
  score_margin: 0.02,
  for_windows: 3,
  trees: 100,
  sample_size: 256,
  seed: 1,
  severity: "warning",
  max_services: 1000,
};

function run(events: LogEvent[], config: MlConfig = CONFIG): DetectorFinding[] {
  const detector = createMlDetector(config);
  const findings: DetectorFinding[] = [];
  for (const e of events) findings.push(...detector.observe(e));
  const last = events[events.length - 1];
  if (last) findings.push(...detector.advance(last.timeMs + 60_000));
  return findings;
}

/** Forty minutes of one service whose latency quadruples from minute 25 to 29. */
function latencyShift(): LogEvent[] {
  return traffic(3, ["api"], T0, T0 + 40 * MIN, {
    service: "api",
    fromMs: T0 + 25 * MIN,
    toMs: T0 + 29 * MIN,
    shape: { latencyFactor: 4 },
  });
}

describe("ML detector", () => {
  it("stays silent during warm-up even on wild data", () => {
    const events = traffic(1, ["api"], T0, T0 + 9 * MIN, {
      service: "api",
      fromMs: T0 + 5 * MIN,
      toMs: T0 + 9 * MIN,
      shape: { latencyFactor: 10, errorRatio: 0.5 },
    });
    // 9 minutes = 54 windows < 60 warm-up windows.
    expect(run(events)).toEqual([]);
  });

  it("stays quiet on an hour of steady traffic", () => {
    const events = traffic(2, ["api", "auth", "db"], T0, T0 + 60 * MIN);
    expect(run(events)).toEqual([]);
  });

  it("fires on a sustained latency shift with latency as the top contribution, then resolves", () => {
    const events = latencyShift();
    const findings = run(events);
    expect(findings.map((f) => f.status)).toEqual(["firing", "resolved"]);
    const [firing, resolved] = findings as [DetectorFinding, DetectorFinding];
    expect(firing.type).toBe("ml_anomaly");
    expect(firing.service).toBe("api");
    expect(firing.entity).toBe("");
    expect(firing.atMs).toBeGreaterThanOrEqual(T0 + 25 * MIN);
    expect(firing.atMs).toBeLessThanOrEqual(T0 + 25 * MIN + 40_000);
    expect(firing.contributions?.[0]?.feature).toBe("latency_p95_ms");
    const latency = firing.contributions?.[0];
    expect(latency?.observed).toBeGreaterThan(latency?.expectedHigh ?? Number.POSITIVE_INFINITY);
    const total = (firing.contributions ?? []).reduce((a, c) => a + c.contribution, 0);
    expect(total).toBeCloseTo(1, 2);
    expect(firing.samples.length).toBeGreaterThan(0);
    expect(firing.samples.length).toBeLessThanOrEqual(5);
    expect(firing.samples.every((line) => line.service === "api" && !("timeMs" in line))).toBe(true);
    expect(firing.summary).toContain("latency_p95_ms");
    expect(resolved.atMs).toBeGreaterThanOrEqual(T0 + 29 * MIN);
    expect(resolved.atMs).toBeLessThanOrEqual(T0 + 29 * MIN + 60_000);
  });

  it("keeps a finding's sample lines from its own window, though the detector reuses window objects", () => {
    const events = latencyShift();
    const detector = createMlDetector(CONFIG);
    let firing: DetectorFinding | undefined;
    let samplesThen: unknown;
    for (const e of events) {
      for (const f of detector.observe(e)) {
        if (f.status !== "firing") continue;
        firing = f;
        samplesThen = structuredClone(f.samples);
      }
    }
    expect(firing).toBeDefined();
    // Later windows of the same service filled (and emptied) the window the samples came from.
    expect(firing?.samples).toEqual(samplesThen);
    expect(firing?.samples.every((line) => Date.parse(line.timestamp) < (firing?.atMs ?? 0))).toBe(true);
    // The reused window is internal: the snapshot holds the open window only.
    const saved = detector.snapshot() as { services: Record<string, unknown>[] };
    expect(saved.services.every((s) => !("spare" in s))).toBe(true);
  });

  // A threshold no score can reach leaves only the feature streams: one feature's shift is
  // anomalous however the forest scores it (a single-feature outlier tops out near 0.7 with six
  // features, which a noisy service's threshold can exceed).
  describe("one feature's stream alarming on its own", () => {
    const unreachable: MlConfig = { ...CONFIG, score_margin: 1 };

    it("fires, says so, and names the feature and the kind of change", () => {
      const events = latencyShift();
      const findings = run(events, unreachable);
      expect(findings.map((f) => f.status)).toEqual(["firing", "resolved"]);
      const firing = findings[0] as DetectorFinding;
      expect(firing.details).toMatchObject({
        trigger: "stream",
        stream_feature: "latency_p95_ms",
        stream_kind: "spike",
      });
      expect(firing.summary).toMatch(
        /latency_p95_ms .* against a recent median of .* \(spike\) for 3 windows/,
      );
      expect(firing.atMs).toBeLessThanOrEqual(T0 + 25 * MIN + 40_000);
    });

    it("stays quiet on ordinary traffic", () => {
      const events = traffic(2, ["api", "auth", "db"], T0, T0 + 60 * MIN);
      expect(run(events, unreachable)).toEqual([]);
    });
  });

  it("catches a mixed degradation that stays under every single rule", () => {
    const events = traffic(4, ["api"], T0, T0 + 40 * MIN, {
      service: "api",
      fromMs: T0 + 25 * MIN,
      toMs: T0 + 29 * MIN,
      shape: { cpuShift: 25, latencyFactor: 2, errorRatio: 0.1 },
    });
    const firing = run(events).filter((f) => f.status === "firing");
    expect(firing).toHaveLength(1);
    const top = new Set((firing[0]?.contributions ?? []).slice(0, 3).map((c) => c.feature));
    expect(top.has("cpu_mean_pct") || top.has("latency_p95_ms") || top.has("error_ratio")).toBe(true);
  });

  it.each([
    ["a one-window latency spike", { latencyFactor: 8 }, 8_000],
    ["a CPU spike to 95% under 10 s", { cpuShift: 55 }, 9_000],
    ["an error blip under 10 s", { errorRatio: 0.6 }, 9_000],
  ])("does not fire on %s (for_windows)", (_name, shape, lengthMs) => {
    const events = traffic(5, ["api"], T0, T0 + 40 * MIN, {
      service: "api",
      fromMs: T0 + 25 * MIN + 5_000,
      toMs: T0 + 25 * MIN + 5_000 + lengthMs,
      shape,
    });
    expect(run(events)).toEqual([]);
  });

  it("is deterministic: the same events give the same findings", () => {
    const events = traffic(6, ["api", "db"], T0, T0 + 35 * MIN, {
      service: "db",
      fromMs: T0 + 20 * MIN,
      toMs: T0 + 25 * MIN,
      shape: { latencyFactor: 5 },
    });
    const first = run(events);
    expect(first.length).toBeGreaterThan(0);
    expect(run(events)).toEqual(first);
  });

  it("continues seamlessly after snapshot and restore through JSON", () => {
    const events = traffic(7, ["api", "db"], T0, T0 + 35 * MIN, {
      service: "api",
      fromMs: T0 + 20 * MIN,
      toMs: T0 + 25 * MIN,
      shape: { latencyFactor: 5 },
    });
    const expected = run(events);
    const cut = events.findIndex((e) => e.timeMs >= T0 + 20 * MIN + 15_000);
    const first = createMlDetector(CONFIG);
    const findings: DetectorFinding[] = [];
    for (const e of events.slice(0, cut)) findings.push(...first.observe(e));
    const second = createMlDetector(CONFIG);
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    for (const e of events.slice(cut)) findings.push(...second.observe(e));
    findings.push(...second.advance((events[events.length - 1]?.timeMs ?? 0) + 60_000));
    expect(findings).toEqual(expected);
  });

  it("closes windows on advance() when no events arrive", () => {
    const detector = createMlDetector({ ...CONFIG, warmup_windows: 2, for_windows: 1 });
    const events = traffic(8, ["api"], T0, T0 + 2 * MIN);
    for (const e of events) detector.observe(e);
    const snapshot = detector.snapshot() as { services: { window: unknown; windowsSeen: number }[] };
    const seenBefore = snapshot.services[0]?.windowsSeen ?? 0;
    detector.advance(T0 + 3 * MIN);
    const after = detector.snapshot() as typeof snapshot;
    expect(after.services[0]?.window).toBeNull();
    expect(after.services[0]?.windowsSeen).toBe(seenBefore + 1);
  });

  describe("a firing service that goes silent", () => {
    // The latency shift starts at 25 min; the service stops sending at 27 min, mid-incident.
    const lastEventMs = T0 + 27 * MIN;
    const events = latencyShift().filter((e) => e.timeMs < lastEventMs);

    function fired(): { detector: ReturnType<typeof createMlDetector>; findings: DetectorFinding[] } {
      const detector = createMlDetector(CONFIG);
      const findings: DetectorFinding[] = [];
      for (const e of events) findings.push(...detector.observe(e));
      expect(findings.map((f) => f.status)).toEqual(["firing"]);
      return { detector, findings };
    }

    it("stays firing through a short gap and resolves with reason no_data after 5 minutes", () => {
      const { detector } = fired();
      expect(detector.advance(lastEventMs + 4 * MIN)).toEqual([]);
      const [resolved, ...rest] = detector.advance(lastEventMs + 5 * MIN + 1000);
      expect(rest).toEqual([]);
      expect(resolved?.status).toBe("resolved");
      expect(resolved?.service).toBe("api");
      expect(resolved?.details.reason).toBe("no_data");
      expect(resolved?.summary).toMatch(/no events for 30\ds/);
      expect(detector.advance(lastEventMs + 10 * MIN)).toEqual([]);
    });

    it("resolves the same way after a snapshot and restore", () => {
      const { detector } = fired();
      const restored = createMlDetector(CONFIG);
      restored.restore(JSON.parse(JSON.stringify(detector.snapshot())));
      const found = restored.advance(lastEventMs + 6 * MIN);
      expect(found.map((f) => [f.status, f.details.reason])).toEqual([["resolved", "no_data"]]);
    });
  });

  it("tracks at most MAX_SERVICES services: a newcomer is refused (pipeline_capacity) while all are active, and takes a stale one's place", () => {
    const detector = createMlDetector(CONFIG);
    const base = traffic(10, ["api"], T0, T0 + MIN)[0] as LogEvent;
    const found = [];
    for (let i = 0; i <= MAX_SERVICES; i++) {
      found.push(...detector.observe({ ...base, service: `svc-${i}`, timeMs: T0 + i }));
    }
    const names = () =>
      (detector.snapshot() as { services: { service: string }[] }).services.map((s) => s.service);
    expect(names()).toHaveLength(MAX_SERVICES);
    expect(names()).toContain("svc-0");
    expect(names()).not.toContain(`svc-${MAX_SERVICES}`);
    expect(found.map((f) => [f.type, f.entity, f.details.cap])).toEqual([
      ["pipeline_capacity", "ml", MAX_SERVICES],
    ]);
    // Ten minutes later every tracked service is stale: a newcomer gets the oldest one's place.
    detector.observe({ ...base, service: "late", timeMs: T0 + 10 * MIN });
    expect(names()).toContain("late");
    expect(names()).not.toContain("svc-0");
  });

  it.each([
    ["not an object", 42, /not an object/],
    ["a wrong version", { detector: "ml", version: 99, services: [] }, /version/],
    ["another detector's state", { detector: "cpu", version: 1, services: [] }, /detector cpu/],
    ["a corrupt model", { detector: "ml", version: 1, services: [corruptService()] }, /forest/],
    [
      "a bad training row",
      { detector: "ml", version: 1, services: [{ ...corruptService(), model: null, training: [[1, 2]] }] },
      /training\[0\]/,
    ],
  ])("refuses to restore %s with a StateError", (_name, state, message) => {
    const detector = createMlDetector(CONFIG);
    expect(() => detector.restore(state)).toThrow(StateError);
    expect(() => detector.restore(state)).toThrow(message);
  });

  it("refuses a snapshot with a bad feature stream, naming it, and keeps its own state", () => {
    const events = traffic(10, ["api"], T0, T0 + 20 * MIN);
    const source = createMlDetector(CONFIG);
    for (const e of events) source.observe(e);
    const snapshot = JSON.parse(JSON.stringify(source.snapshot()));
    snapshot.services[0].streams.features[2].scale = "high";
    const detector = createMlDetector(CONFIG);
    for (const e of events.slice(0, 100)) detector.observe(e);
    const before = JSON.stringify(detector.snapshot());
    expect(() => detector.restore(snapshot)).toThrow(StateError);
    expect(() => detector.restore(snapshot)).toThrow(
      /services\[0\] \(api\)\.streams\.features\[2\] \(latency_p95_ms\).*scale/,
    );
    expect(JSON.stringify(detector.snapshot())).toBe(before);
  });

  it.each([
    ["before the feature streams", undefined],
    ["with the streams' rings listed per feature", [{ values: "AAAAAAAAAAA=" }]],
  ])("restores a snapshot written %s with fresh streams, the rest as it was", (_name, streams) => {
    const events = traffic(10, ["api"], T0, T0 + 20 * MIN);
    const source = createMlDetector(CONFIG);
    for (const e of events) source.observe(e);
    const snapshot = JSON.parse(JSON.stringify(source.snapshot()));
    snapshot.services[0].streams = streams;
    const detector = createMlDetector(CONFIG);
    detector.restore(snapshot);
    const restored = JSON.parse(JSON.stringify(detector.snapshot()));
    expect(restored.services[0].training).toEqual(snapshot.services[0].training);
    // Fresh streams: no history yet.
    expect(restored.services[0].streams.history).toEqual({ runs: [], rows: [] });
    expect(restored.services[0].streams.features[0].rows).toBe(0);
  });

  it("does nothing when disabled", () => {
    const events = traffic(9, ["api"], T0, T0 + 40 * MIN, {
      service: "api",
      fromMs: T0 + 25 * MIN,
      toMs: T0 + 29 * MIN,
      shape: { latencyFactor: 6 },
    });
    expect(run(events, { ...CONFIG, enabled: false })).toEqual([]);
  });
});

function corruptService(): Record<string, unknown> {
  return {
    service: "api",
    window: null,
    windowsSeen: 70,
    windowsSinceTrain: 1,
    trainings: 1,
    training: [],
    model: { forest: "SUZPUgEAAAA=", threshold: 0.6, median: [], low: [], high: [], trainedOn: 60 },
    anomalousStreak: 0,
    normalStreak: 0,
    firing: false,
    sinceMs: 0,
    lastScore: 0,
  };
}

describe("training without contamination", () => {
  // cpu, memory, p95 latency, error ratio, request rate, auth failure rate
  const calm = (i: number) => [
    40 + (i % 5),
    50 + (i % 3),
    120 + (i % 7) * 4,
    i % 10 === 0 ? 0.01 : 0,
    2 + (i % 4) * 0.1,
    0,
  ];

  it("drops the windows of an incident that happened during warm-up", () => {
    const rows = Array.from({ length: 60 }, (_, i) => calm(i));
    for (let i = 0; i < 6; i++) rows[20 + i] = [41, 51, 124, 0.45, 4.5, 0]; // an error burst
    const kept = withoutContamination(rows);
    expect(kept).toHaveLength(54);
    expect(kept.every((row) => (row[3] as number) < 0.1)).toBe(true);
  });

  it("keeps ordinary wobble of a feature that hardly moves (a few errors on a clean service)", () => {
    const rows = Array.from({ length: 60 }, (_, i) => calm(i));
    expect(withoutContamination(rows)).toHaveLength(60);
  });

  it("keeps everything when most of the sample moved: the baseline changed, not an incident", () => {
    const rows = Array.from({ length: 60 }, (_, i) => (i < 35 ? calm(i) : [80, 50, 400, 0, 6, 0]));
    expect(withoutContamination(rows)).toHaveLength(60);
  });
});

describe("fits spread over calls", () => {
  it("a fleet whose warm-ups end in the same window fits at most FITS_PER_CALL services per call, and every one gets its model", () => {
    // One-second windows give every service the same phase, so all twelve fall due together.
    const config: MlConfig = {
      ...CONFIG,
      window_s: 1,
      warmup_windows: 20,
      retrain_every_windows: 20,
      trees: 4,
      sample_size: 16,
    };
    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    const template = traffic(4, ["x"], T0, T0 + 30 * MIN);
    const detector = createMlDetector(config);
    const trainings = () =>
      (detector.snapshot() as { services: { trainings: number }[] }).services.reduce(
        (sum, s) => sum + s.trainings,
        0,
      );
    let before = 0;
    let largestStep = 0;
    for (let i = 0; i < 12 * 4 * 30; i++) {
      const base = template[i % template.length] as LogEvent;
      const timeMs = T0 + Math.floor(i * (250 / 12));
      detector.observe({ ...base, service: names[i % 12] as string, timeMs });
      // The warm-ups end at the 20th window; a snapshot per call is slow, so only around then.
      if (timeMs < T0 + 19_000 || timeMs > T0 + 25_000) continue;
      const now = trainings();
      largestStep = Math.max(largestStep, now - before);
      before = now;
    }
    expect(largestStep).toBe(FITS_PER_CALL);
    const services = (detector.snapshot() as { services: { trainings: number }[] }).services;
    expect(services).toHaveLength(12);
    for (const s of services) expect(s.trainings).toBeGreaterThanOrEqual(1);
  });

  it("a snapshot taken while fits wait restores the queue: the run continues as if it never stopped", () => {
    const config: MlConfig = {
      ...CONFIG,
      window_s: 1,
      warmup_windows: 20,
      retrain_every_windows: 20,
      trees: 4,
      sample_size: 16,
    };
    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    const template = traffic(4, ["x"], T0, T0 + 30 * MIN);
    const events: LogEvent[] = [];
    for (let i = 0; i < 12 * 4 * 30; i++) {
      const base = template[i % template.length] as LogEvent;
      // From 24 s on, svc-3's latency is ten times its usual: something for the models to find.
      const slow = i % 12 === 3 && i * (250 / 12) > 24_000;
      events.push({
        ...base,
        service: names[i % 12] as string,
        timeMs: T0 + Math.floor(i * (250 / 12)),
        metrics: { ...base.metrics, latency_ms: (base.metrics?.latency_ms ?? 100) * (slow ? 10 : 1) },
      });
    }
    const straight = createMlDetector(config);
    const expected = events.flatMap((e) => [...straight.observe(e)]);
    let detector = createMlDetector(config);
    const findings: DetectorFinding[] = [];
    let restoredWithQueue = false;
    for (const e of events) {
      findings.push(...detector.observe(e));
      const snapshot = detector.snapshot() as { pendingFits: string[] };
      // Restore once, in the middle of the warm-up fits (some done, some waiting).
      if (!restoredWithQueue && snapshot.pendingFits.length > 3 && snapshot.pendingFits.length < 10) {
        restoredWithQueue = true;
        detector = createMlDetector(config);
        detector.restore(JSON.parse(JSON.stringify(snapshot)));
      }
    }
    expect(restoredWithQueue).toBe(true);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings).toEqual(expected);
    expect(detector.snapshot()).toEqual(straight.snapshot());
  });
});

describe("TrainingRows", () => {
  const row = (v: number) => Array.from({ length: FEATURE_COUNT }, (_, f) => v * 10 + f);
  const firstColumn = (rows: TrainingRows) => rows.toArrays().map((r) => r[0]);

  it("keeps the newest rows, oldest first, past the point where it grows and wraps", () => {
    const rows = new TrainingRows(100);
    for (let i = 0; i < 250; i++) rows.push(row(i));
    expect(rows.length).toBe(100);
    expect(firstColumn(rows)).toEqual(Array.from({ length: 100 }, (_, i) => (150 + i) * 10));
    expect(rows.toArrays()[99]).toEqual(row(249));
  });

  it("assign() takes a matrix oldest first and keeps the newest capacity rows", () => {
    const rows = new TrainingRows(3);
    const matrix = new Float64Array(5 * FEATURE_COUNT);
    for (let i = 0; i < 5; i++) matrix.set(row(i), i * FEATURE_COUNT);
    rows.assign(matrix);
    expect(firstColumn(rows)).toEqual([20, 30, 40]);
    rows.push(row(5));
    expect(firstColumn(rows)).toEqual([30, 40, 50]);
  });
});

describe("tailQuantile", () => {
  // The training percentiles and the threshold must not change with the faster way to find them.
  it("gives exactly quantileSelect's value, strided columns, ties and every q included", () => {
    const rng = new Rng(5);
    for (const n of [1, 2, 3, 10, 61, 512]) {
      const matrix = new Float64Array(n * 3);
      // Column 0 continuous, column 1 mostly zero (ties), column 2 a few distinct values.
      for (let i = 0; i < n; i++) {
        matrix[i * 3] = rng.normal();
        matrix[i * 3 + 1] = rng.next() < 0.9 ? 0 : rng.next();
        matrix[i * 3 + 2] = Math.floor(rng.next() * 4);
      }
      for (const q of [0, 0.001, 0.01, 0.05, 0.5, 0.9, 0.99, 0.995, 1]) {
        for (let f = 0; f < 3; f++) {
          const column = Float64Array.from({ length: n }, (_, i) => matrix[i * 3 + f] as number);
          expect(tailQuantile(matrix, n, q, f, 3)).toBe(quantileSelect(column, q));
        }
      }
    }
  });

  it("leaves its input in place and gives 0 for no values", () => {
    const scores = [0.5, 0.1, 0.9, 0.3];
    expect(tailQuantile(scores, scores.length, 0.99)).toBeCloseTo(0.888, 9);
    expect(scores).toEqual([0.5, 0.1, 0.9, 0.3]);
    expect(tailQuantile([], 0, 0.5)).toBe(0);
  });
});
