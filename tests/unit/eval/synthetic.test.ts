import { describe, expect, it } from "vitest";
import { MAX_CLEAN_FALSE_ALARMS_PER_1000, runSynthetic } from "../../../local/eval-synthetic.js";
import {
  countDetections,
  SYNTHETIC_KINDS,
  SYNTHETIC_ROWS,
  syntheticBenchmark,
  syntheticSeries,
} from "../../../shared/eval/synthetic.js";

describe("synthetic benchmark", () => {
  it("is seeded: the same seed gives the same series, another seed another", () => {
    const a = syntheticSeries("drift", true, true, 3);
    expect(syntheticSeries("drift", true, true, 3)).toEqual(a);
    expect(syntheticSeries("drift", true, true, 4).values).not.toEqual(a.values);
    expect(a.values).toHaveLength(SYNTHETIC_ROWS);
    expect(a.window[0]).toBeLessThan(a.anomalyRow);
    expect(a.window[1]).toBeGreaterThan(a.anomalyRow);
  });

  it("covers every kind on seasonal and flat bases, clean and noisy", () => {
    const all = syntheticBenchmark(1);
    expect(all).toHaveLength(SYNTHETIC_KINDS.length * 4);
    expect(new Set(all.map((s) => `${s.seasonal}-${s.noisy}`)).size).toBe(4);
  });

  it("counts a hit inside the window, false alarms outside it, and late alarms after a persisting change", () => {
    const spike = syntheticSeries("spike", false, false, 1);
    const shift = syntheticSeries("level_shift", false, false, 1);
    const scores = [spike, shift].map((s) => {
      const row = new Float64Array(s.values.length);
      row[s.anomalyRow] = 1;
      row[100] = 1; // before the anomaly: false
      row[s.window[1] + 5] = 1; // after the window: false for a spike, late for a shift
      return row;
    });
    const counts = countDetections([spike, shift], scores, 0.5, 60);
    expect(counts.detected.spike).toEqual({ hit: 1, total: 1 });
    expect(counts.detected.level_shift).toEqual({ hit: 1, total: 1 });
    expect(counts.clean.falseAlarms).toBe(3);
    expect(counts.lateAlarms).toBe(1);
  });

  it("the streaming core catches seed 1 of every case, with under 1 false alarm per 1,000 clean rows", () => {
    // The full benchmark (5 seeds per case) runs as `npm run eval:synthetic` (tests/e2e).
    const report = runSynthetic(undefined, 1, () => {});
    for (const kind of SYNTHETIC_KINDS) {
      const { hit, total } = report.counts.detected[kind];
      expect(hit, kind).toBe(total);
    }
    const { falseAlarms, rows } = report.counts.clean;
    expect((1000 * falseAlarms) / rows).toBeLessThan(MAX_CLEAN_FALSE_ALARMS_PER_1000);
  });
});
