import { describe, expect, it } from "vitest";
import { ALERT_TYPES, type DetectorFinding, SEVERITIES } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { Detector } from "../../../shared/detectors/detector.js";
import { createRuleDetectors } from "../../../shared/detectors/index.js";
import { StateError } from "../../../shared/errors.js";
import type { LogEvent } from "../../../shared/log/schema.js";
import { createMlDetector } from "../../../shared/ml/detector.js";
import { Rng } from "../../../shared/random.js";
import { mlContractWorkload } from "../ml/traffic.js";
import { run, type Step } from "./events.js";
import { mixedWorkload } from "./workload.js";

/**
 * Every detector, rule or ML, must honour these. To add one, append a factory; the workload must
 * make it fire and resolve at least once, or the suite fails rather than passing vacuously.
 */
const DETECTORS: { name: string; create: () => Detector; workload: () => Step[] }[] = createRuleDetectors(
  DEFAULT_CONFIG,
).map((detector, index) => ({
  name: detector.name,
  create: () => createRuleDetectors(DEFAULT_CONFIG)[index] as Detector,
  workload: () => mixedWorkload(),
}));
DETECTORS.push({
  name: "ml",
  create: () => createMlDetector(DEFAULT_CONFIG.detectors.ml),
  workload: () => mlContractWorkload(),
});

const WORKLOAD_CACHE = new Map<string, Step[]>();
function workloadFor(entry: (typeof DETECTORS)[number]): Step[] {
  let steps = WORKLOAD_CACHE.get(entry.name);
  if (steps === undefined) {
    steps = entry.workload();
    WORKLOAD_CACHE.set(entry.name, steps);
  }
  return steps;
}

function expectWellFormed(finding: DetectorFinding): void {
  expect(ALERT_TYPES).toContain(finding.type);
  expect(SEVERITIES).toContain(finding.severity);
  expect(["firing", "resolved"]).toContain(finding.status);
  expect(finding.service).not.toBe("");
  expect(finding.summary.length).toBeGreaterThan(10);
  for (const value of [
    finding.observed,
    finding.threshold,
    finding.windowMs,
    finding.atMs,
    finding.sinceMs,
  ]) {
    expect(Number.isFinite(value)).toBe(true);
  }
  expect(finding.windowMs).toBeGreaterThan(0);
  expect(finding.sinceMs).toBeLessThanOrEqual(finding.atMs);
  expect(finding.unit).not.toBe("");
  expect(finding.samples.length).toBeGreaterThan(0);
  expect(finding.samples.length).toBeLessThanOrEqual(5);
  for (const sample of finding.samples) expect(sample).not.toHaveProperty("timeMs");
  expect(Object.keys(finding.details).length).toBeGreaterThan(0);
}

describe.each(DETECTORS)("detector contract: $name", (entry) => {
  it("fires and resolves on its workload, with every finding field filled", () => {
    const found = run(entry.create(), workloadFor(entry));
    expect(found.filter((f) => f.status === "firing").length).toBeGreaterThan(0);
    expect(found.filter((f) => f.status === "resolved").length).toBeGreaterThan(0);
    for (const finding of found) expectWellFormed(finding);
    // Samples are newest last.
    for (const finding of found) {
      const times = finding.samples.map((s) => Date.parse(s.timestamp));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it("alternates firing and resolved per alert, and leaves nothing firing once time moves on", () => {
    const detector = entry.create();
    const found = run(detector, workloadFor(entry));
    const last = Math.max(...found.map((f) => f.atMs));
    const all = [...found, ...detector.advance(last + 60 * 60_000)];
    const status = new Map<string, DetectorFinding["status"]>();
    for (const finding of all) {
      const key = `${finding.type}|${finding.service}|${finding.entity}`;
      // A key starts resolved; each finding must flip it.
      expect(finding.status).not.toBe(status.get(key) ?? "resolved");
      status.set(key, finding.status);
    }
    expect([...status.values()].filter((s) => s === "firing")).toEqual([]);
    // Idle lets the pipeline skip quiet seconds in one step; a detector that never says so makes
    // every replay tick second by second up to its settle bound (a week of event time).
    expect(detector.idle?.()).toBe(true);
  });

  it("is not idle while an alert it raised is firing (time alone must be able to resolve it)", () => {
    const detector = entry.create();
    for (const step of workloadFor(entry)) {
      const out = "advanceTo" in step ? detector.advance(step.advanceTo) : detector.observe(step);
      if (out.some((f) => f.status === "firing")) {
        // A detector without idle() is ticked every second, which is always safe.
        expect(detector.idle?.() ?? false).toBe(false);
        return;
      }
    }
    throw new Error("the workload never fired");
  });

  it("while idle, ends up where one advance to the last tick does, finding nothing (the pipeline defers idle ticks)", () => {
    const workload = workloadFor(entry);
    const lastMs = Math.max(...workload.map((step) => ("advanceTo" in step ? step.advanceTo : step.timeMs)));
    // An hour of quiet at the end: every detector is idle then (see above).
    const steps: Step[] = [...workload, { advanceTo: lastMs + 60 * 60_000 }];
    const detector = entry.create();
    let nowMs = Number.NEGATIVE_INFINITY;
    let checked = 0;
    let nextCheck = 0;
    for (let i = 0; i < steps.length && checked < 20; i++) {
      const step = steps[i] as Step;
      run(detector, [step]);
      nowMs = Math.max(nowMs, "advanceTo" in step ? step.advanceTo : step.timeMs);
      if (i < nextCheck || detector.idle?.() !== true) continue;
      nextCheck = i + 97;
      const saved = detector.snapshot();
      const everyTick = entry.create();
      everyTick.restore(saved);
      const once = entry.create();
      once.restore(saved);
      // Consecutive ticks, then jumps such as the pipeline's idle skips.
      const ticks = [1, 2, 3, 4, 30, 31, 600].map((s) => (Math.floor(nowMs / 1000) + s) * 1000);
      for (const tickMs of ticks) {
        expect(everyTick.advance(tickMs)).toEqual([]);
        expect(everyTick.idle?.()).toBe(true);
      }
      expect(once.advance(ticks[ticks.length - 1] as number)).toEqual([]);
      expect(JSON.stringify(everyTick.snapshot())).toBe(JSON.stringify(once.snapshot()));
      const next = steps.slice(i + 1, i + 300);
      expect(run(everyTick, next)).toEqual(run(once, next));
      checked++;
    }
    // A detector without idle() is ticked every second and needs none of this.
    if (entry.create().idle !== undefined) expect(checked).toBeGreaterThan(0);
  });

  it("gives the same findings for the same input (determinism)", () => {
    const steps = workloadFor(entry);
    expect(run(entry.create(), steps)).toEqual(run(entry.create(), steps));
  });

  it.each([0.15, 0.33, 0.5, 0.8])(
    "continues identically after snapshot, JSON round trip and restore at %s of the run",
    (fraction) => {
      const steps = workloadFor(entry);
      const uninterrupted = run(entry.create(), steps);
      const cut = Math.floor(steps.length * fraction);
      const first = entry.create();
      const before = run(first, steps.slice(0, cut));
      const saved = JSON.parse(JSON.stringify(first.snapshot())) as unknown;
      const second = entry.create();
      second.restore(saved);
      const after = run(second, steps.slice(cut));
      expect([...before, ...after]).toEqual(uninterrupted);
    },
  );

  it("takes its own snapshot twice without drift (snapshot is a pure read)", () => {
    const detector = entry.create();
    run(detector, workloadFor(entry).slice(0, 5000));
    expect(JSON.stringify(detector.snapshot())).toBe(JSON.stringify(detector.snapshot()));
  });

  const garbage: [string, unknown][] = [
    ["null", null],
    ["a number", 42],
    ["a string", "state"],
    ["an array", []],
    ["an empty object", {}],
    ["a future version", { detector: entry.name, version: 99 }],
    ["another detector's state", { detector: "someone_else", version: 1 }],
  ];
  it.each(garbage)("refuses %s with StateError", (_label, state) => {
    expect(() => entry.create().restore(state)).toThrow(StateError);
  });

  it("refuses a snapshot with a corrupted field and keeps its previous state", () => {
    const steps = workloadFor(entry);
    const detector = entry.create();
    run(detector, steps.slice(0, 4000));
    const good = detector.snapshot();
    const corrupted = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    // Corrupt the first list of per-key state, whatever the detector calls it.
    const listKey = Object.keys(corrupted).find((key) => Array.isArray(corrupted[key]));
    expect(listKey).toBeDefined();
    corrupted[listKey as string] = [{ nonsense: true }];
    expect(() => detector.restore(corrupted)).toThrow(StateError);
    expect(JSON.stringify(detector.snapshot())).toBe(JSON.stringify(good));
  });

  it("survives out-of-order and very late events without throwing", () => {
    const rng = new Rng(3);
    const events = workloadFor(entry).filter((step): step is LogEvent => !("advanceTo" in step));
    const shuffled = events.slice(0, 6000);
    // Swap neighbours often, and send some events ten minutes late.
    for (let i = 1; i < shuffled.length; i++) {
      if (rng.next() < 0.3) {
        const previous = shuffled[i - 1] as LogEvent;
        shuffled[i - 1] = shuffled[i] as LogEvent;
        shuffled[i] = previous;
      }
    }
    for (let i = 0; i < 50; i++) {
      const late = shuffled[rng.int(1000)] as LogEvent;
      shuffled.splice(3000 + rng.int(3000), 0, late);
    }
    const detector = entry.create();
    const found = run(detector, shuffled);
    for (const finding of found) expect(ALERT_TYPES).toContain(finding.type);
    expect(() => detector.advance(Number.NaN)).not.toThrow();
  });
});
