import { describe, expect, it } from "vitest";
import { StateError } from "../../../shared/errors.js";
import { FeatureStreams, MAX_STATE_BYTES } from "../../../shared/ml/feature-streams.js";
import { FEATURE_COUNT } from "../../../shared/ml/features.js";
import { Rng } from "../../../shared/random.js";

/**
 * Window feature vectors of a noisy but stationary service (cpu, memory, p95 latency, error ratio,
 * request rate, failed logins), in FEATURE_NAMES order.
 */
function windows(n: number, seed: number): Float64Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    Float64Array.from([
      40 + rng.normal(0, 4),
      55 + rng.normal(0, 1.5),
      120 * Math.exp(rng.normal(0, 0.25)),
      Math.max(0, rng.normal(0.01, 0.01)),
      Math.max(0, rng.normal(5, 0.7)),
      rng.next() < 0.05 ? 0.1 : 0,
    ]),
  );
}

function feed(streams: FeatureStreams, rows: readonly Float64Array[]) {
  return rows.map((row) => streams.next(row));
}

describe("FeatureStreams (the streaming core on each window feature)", () => {
  // The detector pages on for_windows (3) anomalous windows in a row: a lone alarm in the long
  // tail of the latency p95 (lognormal) is allowed, a run that would page is not.
  it("never alarms three windows in a row on a stationary noisy service, over six hours", () => {
    const alarms = feed(FeatureStreams.create(), windows(6 * 360, 1));
    let longestRun = 0;
    let run = 0;
    for (const alarm of alarms) {
      run = alarm === null ? 0 : run + 1;
      longestRun = Math.max(longestRun, run);
    }
    expect(longestRun).toBeLessThan(3);
    expect(alarms.filter((a) => a !== null).length).toBeLessThanOrEqual(alarms.length / 500);
  });

  it("alarms on every window of a shift of one feature alone, naming it", () => {
    const rows = windows(200, 2);
    for (const row of rows.slice(150, 160)) row[2] = (row[2] as number) * 4;
    const alarms = feed(FeatureStreams.create(), rows);
    expect(alarms.slice(60, 150).filter((a) => a !== null)).toEqual([]);
    // The shift's first window drew a p95 of only 2.4x the baseline; from the second one on:
    for (const alarm of alarms.slice(151, 160)) {
      expect(alarm).toMatchObject({ feature: "latency_p95_ms" });
      expect(alarm?.score).toBeGreaterThanOrEqual(0.5);
    }
    expect(alarms[151]?.kind).toBe("spike");
  });

  it("keeps alarming through an incident whose windows are forgotten", () => {
    const rows = windows(260, 3);
    for (const row of rows.slice(150, 250)) row[0] = (row[0] as number) + 30;
    const streams = FeatureStreams.create();
    const alarms = rows.map((row, i) => {
      const alarm = streams.next(row);
      if (i >= 150 && i < 250) streams.forget();
      return alarm;
    });
    expect(alarms.slice(150, 250).every((a) => a?.feature === "cpu_mean_pct")).toBe(true);
    expect(alarms.slice(252).filter((a) => a !== null)).toEqual([]);
  });

  /** Rows as a row-major matrix, as TrainingRows.toMatrix gives them. */
  function matrix(rows: readonly Float64Array[]): Float64Array {
    const out = new Float64Array(rows.length * FEATURE_COUNT);
    rows.forEach((row, i) => {
      out.set(row, i * FEATURE_COUNT);
    });
    return out;
  }

  it("continues exactly after a snapshot through JSON, within its byte bound", () => {
    const rows = windows(700, 4);
    for (const row of rows.slice(500, 520)) row[3] = 0.3;
    for (const row of rows.slice(386, 392)) row[0] = (row[0] as number) + 25;
    const original = FeatureStreams.create();
    // The training rows the snapshot refers to: the calm windows (not the CPU incident), and not
    // the oldest ones a retrain dropped.
    const training: Float64Array[] = [];
    rows.slice(0, 400).forEach((row, i) => {
      original.next(row);
      if (i % 13 === 7) original.forget();
      else if ((i < 386 || i >= 392) && i !== 300) training.push(row);
    });
    const reference = matrix(training);
    const state = original.toState(reference);
    // Nearly every kept window is a training row: the history is a few runs and the incident's rows.
    expect(state.history.rows).toHaveLength(7);
    expect(state.history.runs).toHaveLength(5);
    const json = JSON.stringify(state);
    expect(json.length).toBeLessThanOrEqual(MAX_STATE_BYTES);
    const restored = FeatureStreams.fromState(JSON.parse(json), reference, "ml", "streams");
    expect(feed(restored, rows.slice(400))).toEqual(feed(original, rows.slice(400)));
  });

  it("keeps a history without training rows as literal rows, within its byte bound", () => {
    const rows = windows(300, 5);
    const original = FeatureStreams.create();
    feed(original, rows.slice(0, 200));
    const state = original.toState(new Float64Array(0));
    expect(state.history.runs).toEqual([[-1, state.history.rows.length]]);
    const json = JSON.stringify(state);
    expect(json.length).toBeLessThanOrEqual(MAX_STATE_BYTES);
    const restored = FeatureStreams.fromState(JSON.parse(json), new Float64Array(0), "ml", "streams");
    expect(feed(restored, rows.slice(200))).toEqual(feed(original, rows.slice(200)));
  });

  it("refuses a bad state with a StateError naming the feature and field", () => {
    const streams = FeatureStreams.create();
    const rows = windows(100, 6);
    feed(streams, rows);
    const reference = matrix(rows);
    const state = streams.toState(reference);
    const broken = { ...state, features: state.features.map((s, f) => (f === 2 ? { ...s, rows: -1 } : s)) };
    expect(() => FeatureStreams.fromState(broken, reference, "ml", "services[0].streams")).toThrow(
      StateError,
    );
    expect(() => FeatureStreams.fromState(broken, reference, "ml", "services[0].streams")).toThrow(
      /services\[0\]\.streams\.features\[2\] \(latency_p95_ms\).*rows/,
    );
    expect(() =>
      FeatureStreams.fromState({ ...state, features: state.features.slice(1) }, reference, "ml", "streams"),
    ).toThrow(new RegExp(`${FEATURE_COUNT} feature streams`));
    // Runs that point past the training rows the snapshot holds.
    expect(() => FeatureStreams.fromState(state, reference.subarray(FEATURE_COUNT), "ml", "streams")).toThrow(
      /streams\.history/,
    );
  });
});
