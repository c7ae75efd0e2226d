import { describe, expect, it } from "vitest";
import {
  leaveOneFileOut,
  NAB_PROFILES,
  type NabProfile,
  type NabSeries,
  optimiseThreshold,
  prepareSeries,
  probationRows,
  scaledSigmoid,
  scoreAtThreshold,
} from "../../../shared/eval/nab-scorer.js";

const STANDARD = NAB_PROFILES[0] as NabProfile;
const T0 = Date.UTC(2014, 0, 1);

function stamp(i: number): string {
  return new Date(T0 + i * 300_000).toISOString().replace("T", " ").slice(0, 19);
}

/** 1000 rows at 5 minutes (probation 150), windows given as [first row, last row] inclusive. */
function series(windows: [number, number][], detections: number[], name = "s"): NabSeries {
  const n = 1000;
  const scores = new Float64Array(n);
  for (const d of detections) scores[d] = 1;
  return {
    name,
    timestamps: Array.from({ length: n }, (_, i) => stamp(i)),
    scores,
    // Labels carry NAB's ".000000" suffix; data rows do not.
    windows: windows.map(([a, b]) => [`${stamp(a)}.000000`, `${stamp(b)}.000000`] as const),
  };
}

function rawAt(s: NabSeries, profile: NabProfile = STANDARD): number {
  return scoreAtThreshold([prepareSeries(s)], profile, 0.5).raw;
}

describe("NAB scorer", () => {
  it("uses NAB's probation length and sigmoid", () => {
    expect(probationRows(1000)).toBe(150);
    expect(probationRows(10_000)).toBe(750);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(-1)).toBeCloseTo(0.986614, 6);
    expect(scaledSigmoid(3.5)).toBe(-1);
  });

  it.each([
    // [case, windows, detections, expected raw (standard profile)]
    ["a detection at a window's left edge earns A_TP", [[500, 509]], [500], 1],
    // sigma(-1/10) / sigma(-1) = 0.244919 / 0.986614
    ["a detection at a window's right edge earns sigma(-1/W)/sigma(-1)", [[500, 509]], [509], 0.248242],
    ["only the best detection in a window counts", [[500, 509]], [505, 500, 509], 1],
    [
      "a false positive before the first window costs A_FP, the missed window A_FN",
      [[500, 509]],
      [300],
      -1.11,
    ],
    // just after the window: 0.11 * sigma(1/9) = 0.11 * -0.270843
    ["a false positive right after a window costs little", [[500, 509]], [500, 510], 1 - 0.029793],
    ["a false positive far after a window costs A_FP", [[500, 509]], [500, 900], 1 - 0.11],
    ["detections in the probation period are ignored", [[500, 509]], [10, 500], 1],
    [
      "a window with no detection costs A_FN",
      [
        [500, 509],
        [700, 709],
      ],
      [500],
      0,
    ],
  ] as [string, [number, number][], number[], number][])("%s", (_name, windows, detections, expected) => {
    expect(rawAt(series(windows, detections))).toBeCloseTo(expected, 5);
  });

  it("doubles the cost of a miss under reward_low_FN_rate", () => {
    const profile = NAB_PROFILES[2] as NabProfile;
    expect(rawAt(series([[500, 509]], []), profile)).toBe(-2);
  });

  it.each(NAB_PROFILES.map((p) => [p.name, p] as const))(
    "%s: a perfect detector scores 100 and one that never fires scores 0",
    (_name, profile) => {
      const windows: [number, number][] = [
        [400, 449],
        [700, 749],
      ];
      const perfect = [series(windows, [400, 700], "a"), series([[600, 620]], [600], "b")].map(prepareSeries);
      const silent = [series(windows, [], "a"), series([[600, 620]], [], "b")].map(prepareSeries);
      expect(optimiseThreshold(perfect, profile).normalised).toBeCloseTo(100, 9);
      expect(optimiseThreshold(silent, profile).normalised).toBeCloseTo(0, 9);
    },
  );

  it("optimises one threshold over all files, the same as scoring at that threshold", () => {
    const a = series([[500, 549]], []);
    const scores = a.scores as Float64Array;
    scores[520] = 0.9; // a mid-window detection
    scores[300] = 0.95; // a costly false positive above it
    scores[800] = 0.5;
    const prepared = [prepareSeries(a)];
    const best = optimiseThreshold(prepared, STANDARD);
    expect(best.threshold).toBe(0.9);
    for (const t of [0.5, 0.95, 2]) {
      expect(scoreAtThreshold(prepared, STANDARD, t).raw).toBeLessThanOrEqual(best.raw);
    }
  });

  it("refuses a window that holds no rows and scores of the wrong length", () => {
    const s = series([[500, 509]], []);
    expect(() => prepareSeries({ ...s, windows: [["2020-01-01 00:00:00", "2020-01-02 00:00:00"]] })).toThrow(
      /no rows/,
    );
    expect(() => prepareSeries({ ...s, scores: new Float64Array(3) })).toThrow(/3 scores for 1000 rows/);
  });

  it("leave-one-file-out applies to each file what the other files chose, never its own labels", () => {
    // Candidate 0 detects at each window's start; candidate 1 fires only outside windows.
    const good = [
      series([[400, 500]], [400], "a"),
      series([[600, 700]], [600], "b"),
      series([[300, 350]], [300], "c"),
    ];
    const bad = [
      series([[400, 500]], [200], "a"),
      series([[600, 700]], [200], "b"),
      series([[300, 350]], [200], "c"),
    ];
    const result = leaveOneFileOut([good.map(prepareSeries), bad.map(prepareSeries)], STANDARD);
    expect(result.folds.map((f) => f.candidate)).toEqual([0, 0, 0]);
    expect(result.normalised).toBeCloseTo(optimiseThreshold(good.map(prepareSeries), STANDARD).normalised, 6);
    expect(() => leaveOneFileOut([[prepareSeries(good[0] as NabSeries)]], STANDARD)).toThrow(
      /at least 2 files/,
    );
  });
});
